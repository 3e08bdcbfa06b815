use sea_orm::entity::prelude::*;

/// A sandbox sign-up waiting for staff, or decided.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sandbox_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub login_id: String,
    pub display_name: String,
    pub company_name: String,
    pub edition: String,
    /// The developer's password, argon2id; it becomes the admin's on approval.
    pub password_hash: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub source: String,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<Uuid>,
    pub reason: Option<String>,
    pub company_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
