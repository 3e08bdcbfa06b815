use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_apps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: Uuid,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub visibility: String,
    pub review_status: String,
    pub review_reason: Option<String>,
    pub submitted_at: Option<DateTimeUtc>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTimeUtc>,
    /// JSON array of `ApiSelection`.
    pub apis: String,
    /// JSON array of strings.
    pub redirect_uris: String,
    /// JSON array of grant type names.
    pub grant_types: String,
    pub resource_server: bool,
    pub resource_uri: Option<String>,
    /// A production registration's sandbox app.
    pub certified_from: Option<Uuid>,
    /// `RS256`, `ES256` or `EdDSA`.
    pub id_token_alg: String,
    /// JSON array of client authentication method names.
    pub auth_methods: String,
    /// The app's public keys (a validated JWKS document).
    pub jwks: Option<String>,
    pub dpop_bound: bool,
    pub require_par: bool,
    pub secret_hash: String,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_valid_until: Option<DateTimeUtc>,
    pub secret_rotated_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Bumped by every write; writes are compare-and-set on it.
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
