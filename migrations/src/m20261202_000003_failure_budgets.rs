//! Failure budgets for client authentication and sign-in, shared by every node: one row per
//! counted key (a client, a source network, a login id digest) holding its state in
//! milliseconds (see `portico_domain::FailureBudget`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(FailureBudgets::Table)
                .col(string_len(FailureBudgets::Key, 80).primary_key())
                .col(big_integer(FailureBudgets::State))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(FailureBudgets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum FailureBudgets {
    Table,
    Key,
    State,
}
