//! Connections (issue 14): a rotated refresh token remembers its successor and, for the grace
//! window only, the answer that carried it (binary: it is read back only by Portico), sealed
//! under a key only the old token's holder can derive; a user's consent to an app is remembered until a disconnect withdraws it; every
//! change that caches and resource servers must hear of is logged in commit order, so the
//! revocation feed can resume from any point it still holds; grants are listed by company.

use crate::m20261122_000001_registry::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [text_null(C::Successor), blob_null(C::Reply)] {
            m.alter_table(
                Table::alter()
                    .table(C::RefreshTokens)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(C::Consents)
                .col(uuid(C::UserId))
                .col(uuid(C::AppId))
                .col(uuid(C::CompanyId))
                .col(text(C::Scope))
                .col(big_integer(C::GrantedAt))
                .primary_key(Index::create().col(C::UserId).col(C::AppId))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(C::ChangeLog)
                .col(big_pk_auto(C::Seq))
                .col(text(C::Change))
                .col(big_integer(C::At))
                .to_owned(),
        )
        .await?;
        index(m, C::ChangeLog, "idx_change_log_at", &[C::At], false).await?;
        index(
            m,
            C::Grants,
            "idx_grants_company_app",
            &[C::CompanyId, C::AppId],
            false,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_grants_company_app")
                .table(C::Grants)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(C::ChangeLog).to_owned())
            .await?;
        m.drop_table(Table::drop().table(C::Consents).to_owned())
            .await?;
        for column in [C::Successor, C::Reply] {
            m.alter_table(
                Table::alter()
                    .table(C::RefreshTokens)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum C {
    RefreshTokens,
    Successor,
    Reply,
    Consents,
    UserId,
    AppId,
    CompanyId,
    Scope,
    GrantedAt,
    ChangeLog,
    Seq,
    Change,
    At,
    Grants,
}
