use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    pub app_id: Uuid,
    pub user_id: Uuid,
    pub company_id: Uuid,
    pub redirect_uri: String,
    pub scope: String,
    pub pkce_challenge: String,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
    pub grant_id: Option<String>,
    pub nonce: Option<String>,
    pub auth_time: Option<i64>,
    pub resources: Option<String>,
    pub dpop_jkt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
