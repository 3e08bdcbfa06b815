//! A version on every registry row that is changed by read-modify-write (companies, users,
//! partner apps): each write bumps it, and a write is applied only if the row still has the
//! version the writer read, so concurrent writes cannot undo each other (issue 10).
//! Also an index to end all sessions of a user at once.

use crate::m20261122_000001_registry::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per column and table: SQLite adds one column per statement.
        for table in [
            Versioned::Companies,
            Versioned::Users,
            Versioned::PartnerApps,
        ] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(big_integer(Versioned::Version).default(1))
                    .to_owned(),
            )
            .await?;
        }
        index(
            m,
            Versioned::AdminSessions,
            "idx_admin_sessions_user",
            &[Versioned::UserId],
            false,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_admin_sessions_user")
                .table(Versioned::AdminSessions)
                .to_owned(),
        )
        .await?;
        for table in [
            Versioned::Companies,
            Versioned::Users,
            Versioned::PartnerApps,
        ] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .drop_column(Versioned::Version)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Versioned {
    Companies,
    Users,
    PartnerApps,
    AdminSessions,
    Version,
    UserId,
}
