//! Portico's schema. Each migration is applied once, in order; applied versions are recorded
//! in `seaql_migrations`. The same statements run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_registry;
mod m20261122_000002_tokens;
mod m20261202_000003_failure_budgets;
mod m20261202_000010_versions;
mod m20261202_000020_oidc;
mod m20261202_000030_connections;
mod m20261202_000040_client_keys;
mod m20261203_000050_developer_program;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_registry::Migration),
            Box::new(m20261122_000002_tokens::Migration),
            Box::new(m20261202_000003_failure_budgets::Migration),
            Box::new(m20261202_000010_versions::Migration),
            Box::new(m20261202_000020_oidc::Migration),
            Box::new(m20261202_000030_connections::Migration),
            Box::new(m20261202_000040_client_keys::Migration),
            Box::new(m20261203_000050_developer_program::Migration),
        ]
    }
}
