//! OpenID Connect and resource indicators (issue 12): an authorization code carries the
//! request's `nonce`, when the user signed in, and the resources asked; a grant keeps the
//! resources it is bound to and the sign-in time its ID tokens report; an app marked as a
//! resource server has a resource URI of its own, unique among apps; an app chooses how its ID
//! tokens are signed (RS256 by default).

use crate::m20261122_000001_registry::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per column: SQLite adds one column per statement.
        let columns = [
            (Oidc::AuthorizationCodes, text_null(Oidc::Nonce)),
            (Oidc::AuthorizationCodes, big_integer_null(Oidc::AuthTime)),
            (Oidc::AuthorizationCodes, text_null(Oidc::Resources)),
            (Oidc::Grants, text_null(Oidc::Resources)),
            (Oidc::Grants, big_integer_null(Oidc::AuthTime)),
            (Oidc::PartnerApps, text_null(Oidc::ResourceUri)),
            (
                Oidc::PartnerApps,
                text(Oidc::IdTokenAlg).default("RS256").to_owned(),
            ),
        ];
        for (table, column) in columns {
            m.alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        index(
            m,
            Oidc::PartnerApps,
            "idx_partner_apps_resource_uri",
            &[Oidc::ResourceUri],
            true,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_partner_apps_resource_uri")
                .table(Oidc::PartnerApps)
                .to_owned(),
        )
        .await?;
        for (table, column) in [
            (Oidc::AuthorizationCodes, Oidc::Nonce),
            (Oidc::AuthorizationCodes, Oidc::AuthTime),
            (Oidc::AuthorizationCodes, Oidc::Resources),
            (Oidc::Grants, Oidc::Resources),
            (Oidc::Grants, Oidc::AuthTime),
            (Oidc::PartnerApps, Oidc::ResourceUri),
            (Oidc::PartnerApps, Oidc::IdTokenAlg),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Oidc {
    AuthorizationCodes,
    Grants,
    PartnerApps,
    Nonce,
    AuthTime,
    Resources,
    ResourceUri,
    IdTokenAlg,
}
