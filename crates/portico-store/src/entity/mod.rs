//! sea-orm entities, one per table. They mirror the schema in `migrations/`; conversion to and
//! from domain types happens in the repository modules.

pub mod admin_session;
pub mod audit_log;
pub mod company;
pub mod enablement;
pub mod partner_app;
pub mod user;
