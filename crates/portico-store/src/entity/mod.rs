//! sea-orm entities, one per table. They mirror the schema in `migrations/`; conversion to and
//! from domain types happens in the repository modules.

pub mod admin_session;
pub mod audit_log;
pub mod authorization_code;
pub mod change_log;
pub mod company;
pub mod consent;
pub mod enablement;
pub mod grant;
pub mod partner_app;
pub mod pushed_request;
pub mod refresh_token;
pub mod request_token;
pub mod revoked_access_token;
pub mod sandbox_request;
pub mod signing_key;
pub mod used_jti;
pub mod user;
