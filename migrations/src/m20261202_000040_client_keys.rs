//! Keyless and sender-constrained clients (issue 13): an app lists the client authentication
//! methods it may use and may register public keys (`private_key_jwt`), require DPoP-bound
//! tokens and pushed authorization requests; a grant bound to a DPoP key keeps its thumbprint,
//! so its refresh tokens need a proof of the same key (and a code bound to a key with
//! `dpop_jkt`, RFC 9449 §10, keeps it for the exchange); the `jti`s of client assertions and
//! DPoP proofs are kept (as digests) until they expire, so a replay is refused on every node;
//! a pushed authorization request waits for its single use under the digest of its
//! `request_uri`.
//!
//! Added columns have defaults and new tables are new: nodes of the previous release keep
//! working on this schema (they never read them).

use crate::m20261122_000001_registry::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            (
                C::PartnerApps,
                text(C::AuthMethods)
                    .default(r#"["client_secret_basic","client_secret_post"]"#)
                    .to_owned(),
            ),
            (C::PartnerApps, text_null(C::Jwks)),
            (
                C::PartnerApps,
                boolean(C::DpopBound).default(false).to_owned(),
            ),
            (
                C::PartnerApps,
                boolean(C::RequirePar).default(false).to_owned(),
            ),
            (C::Grants, text_null(C::DpopJkt)),
            (C::AuthorizationCodes, text_null(C::DpopJkt)),
        ];
        for (table, column) in columns {
            m.alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        m.create_table(
            Table::create()
                .table(C::UsedJtis)
                .col(text(C::Digest).primary_key())
                .col(big_integer(C::ExpiresAt))
                .to_owned(),
        )
        .await?;
        index(
            m,
            C::UsedJtis,
            "idx_used_jtis_expires",
            &[C::ExpiresAt],
            false,
        )
        .await?;
        m.create_table(
            Table::create()
                .table(C::PushedRequests)
                .col(text(C::Digest).primary_key())
                .col(uuid(C::AppId))
                .col(text(C::Params))
                .col(big_integer(C::ExpiresAt))
                .to_owned(),
        )
        .await?;
        index(
            m,
            C::PushedRequests,
            "idx_pushed_requests_expires",
            &[C::ExpiresAt],
            false,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [C::PushedRequests, C::UsedJtis] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for (table, column) in [
            (C::PartnerApps, C::AuthMethods),
            (C::PartnerApps, C::Jwks),
            (C::PartnerApps, C::DpopBound),
            (C::PartnerApps, C::RequirePar),
            (C::Grants, C::DpopJkt),
            (C::AuthorizationCodes, C::DpopJkt),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum C {
    PartnerApps,
    Grants,
    AuthorizationCodes,
    UsedJtis,
    PushedRequests,
    AuthMethods,
    Jwks,
    DpopBound,
    RequirePar,
    DpopJkt,
    Digest,
    ExpiresAt,
    AppId,
    Params,
}
