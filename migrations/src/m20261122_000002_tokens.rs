//! The token service: signing keys, grants (refresh-token families), refresh tokens,
//! authorization codes, company request tokens, revoked access tokens.
//!
//! Times here are Unix seconds (BIGINT): they are compared on every token request, and an
//! integer compares the same way on SQLite and PostgreSQL. Opaque tokens are stored only as
//! SHA-256 digests (hex).

use crate::m20261122_000001_registry::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SigningKeys::Table)
                .col(string_len(SigningKeys::Kid, 64).primary_key())
                .col(string_len(SigningKeys::Algorithm, 16))
                .col(text(SigningKeys::PublicJwk))
                // AES-256-GCM under the master key; the kid is the associated data.
                .col(text(SigningKeys::SealedPrivateKey))
                .col(big_integer(SigningKeys::CreatedAt))
                .col(big_integer_null(SigningKeys::RetiredAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Grants::Table)
                .col(string_len(Grants::Id, 64).primary_key())
                .col(uuid(Grants::AppId))
                .col(uuid(Grants::CompanyId))
                .col(uuid_null(Grants::UserId))
                .col(text(Grants::Scope))
                .col(big_integer(Grants::CreatedAt))
                .col(big_integer_null(Grants::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Grants::Table, Grants::AppId)
                        .to(PartnerApps::Table, PartnerApps::Id),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            Grants::Table,
            "idx_grants_user_app",
            &[Grants::UserId, Grants::AppId],
            false,
        )
        .await?;
        index(
            m,
            Grants::Table,
            "idx_grants_revoked",
            &[Grants::RevokedAt],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(string_len(RefreshTokens::Digest, 64).primary_key())
                .col(string_len(RefreshTokens::GrantId, 64))
                .col(big_integer(RefreshTokens::IssuedAt))
                .col(big_integer(RefreshTokens::ExpiresAt))
                .col(big_integer_null(RefreshTokens::RotatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RefreshTokens::Table, RefreshTokens::GrantId)
                        .to(Grants::Table, Grants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            RefreshTokens::Table,
            "idx_refresh_tokens_grant",
            &[RefreshTokens::GrantId],
            false,
        )
        .await?;
        index(
            m,
            RefreshTokens::Table,
            "idx_refresh_tokens_expiry",
            &[RefreshTokens::ExpiresAt],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuthorizationCodes::Table)
                .col(string_len(AuthorizationCodes::Digest, 64).primary_key())
                .col(uuid(AuthorizationCodes::AppId))
                .col(uuid(AuthorizationCodes::UserId))
                .col(uuid(AuthorizationCodes::CompanyId))
                .col(text(AuthorizationCodes::RedirectUri))
                .col(text(AuthorizationCodes::Scope))
                .col(text(AuthorizationCodes::PkceChallenge))
                .col(big_integer(AuthorizationCodes::ExpiresAt))
                .col(big_integer_null(AuthorizationCodes::RedeemedAt))
                .col(string_len_null(AuthorizationCodes::GrantId, 64))
                .to_owned(),
        )
        .await?;
        index(
            m,
            AuthorizationCodes::Table,
            "idx_codes_expiry",
            &[AuthorizationCodes::ExpiresAt],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RequestTokens::Table)
                .col(string_len(RequestTokens::Digest, 64).primary_key())
                .col(uuid(RequestTokens::AppId))
                .col(uuid(RequestTokens::CompanyId))
                .col(uuid(RequestTokens::CreatedBy))
                .col(big_integer(RequestTokens::CreatedAt))
                .col(big_integer(RequestTokens::ExpiresAt))
                .to_owned(),
        )
        .await?;
        index(
            m,
            RequestTokens::Table,
            "idx_request_tokens_expiry",
            &[RequestTokens::ExpiresAt],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RevokedAccessTokens::Table)
                .col(string_len(RevokedAccessTokens::Jti, 64).primary_key())
                .col(big_integer(RevokedAccessTokens::ExpiresAt))
                .col(big_integer(RevokedAccessTokens::RevokedAt))
                .to_owned(),
        )
        .await?;
        index(
            m,
            RevokedAccessTokens::Table,
            "idx_revoked_access_expiry",
            &[RevokedAccessTokens::ExpiresAt],
            false,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            RevokedAccessTokens::Table.into_iden(),
            RequestTokens::Table.into_iden(),
            AuthorizationCodes::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Grants::Table.into_iden(),
            SigningKeys::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PartnerApps {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum SigningKeys {
    Table,
    Kid,
    Algorithm,
    PublicJwk,
    SealedPrivateKey,
    CreatedAt,
    RetiredAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Grants {
    Table,
    Id,
    AppId,
    CompanyId,
    UserId,
    Scope,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RefreshTokens {
    Table,
    Digest,
    GrantId,
    IssuedAt,
    ExpiresAt,
    RotatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuthorizationCodes {
    Table,
    Digest,
    AppId,
    UserId,
    CompanyId,
    RedirectUri,
    Scope,
    PkceChallenge,
    ExpiresAt,
    RedeemedAt,
    GrantId,
}

#[derive(DeriveIden, Clone, Copy)]
enum RequestTokens {
    Table,
    Digest,
    AppId,
    CompanyId,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RevokedAccessTokens {
    Table,
    Jti,
    ExpiresAt,
    RevokedAt,
}
