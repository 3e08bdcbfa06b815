//! The registry: companies, users, partner apps, enablements, the audit log, admin sessions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Companies::Table)
                .col(pk_uuid(Companies::Id))
                .col(string_len(Companies::Name, 200))
                .col(string_len(Companies::Domain, 253))
                .col(string_len(Companies::Edition, 16))
                .col(boolean(Companies::DevelopmentPartner))
                .col(boolean(Companies::Enabled))
                .col(timestamp_with_time_zone(Companies::CreatedAt))
                .col(timestamp_with_time_zone(Companies::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_uuid(Users::Id))
                .col(uuid(Users::CompanyId))
                .col(string_len_uniq(Users::LoginId, 254))
                .col(string_len(Users::DisplayName, 200))
                .col(text(Users::PasswordHash))
                .col(boolean(Users::Enabled))
                .col(boolean(Users::WebServicesAdministrator))
                .col(boolean(Users::CanAdminister))
                .col(boolean(Users::Staff))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Users::Table, Users::CompanyId)
                        .to(Companies::Table, Companies::Id),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            Users::Table,
            "idx_users_company",
            &[Users::CompanyId],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PartnerApps::Table)
                .col(pk_uuid(PartnerApps::Id))
                .col(uuid(PartnerApps::CompanyId))
                .col(string_len(PartnerApps::Name, 100))
                .col(text(PartnerApps::Description))
                .col(boolean(PartnerApps::Active))
                .col(string_len(PartnerApps::Visibility, 16))
                .col(string_len(PartnerApps::ReviewStatus, 16))
                .col(text_null(PartnerApps::ReviewReason))
                .col(timestamp_with_time_zone_null(PartnerApps::SubmittedAt))
                .col(uuid_null(PartnerApps::ReviewedBy))
                .col(timestamp_with_time_zone_null(PartnerApps::ReviewedAt))
                // JSON documents kept as text: read and written whole, never queried into.
                .col(text(PartnerApps::Apis))
                .col(text(PartnerApps::RedirectUris))
                .col(text(PartnerApps::GrantTypes))
                .col(boolean(PartnerApps::ResourceServer))
                .col(text(PartnerApps::SecretHash))
                .col(text_null(PartnerApps::PreviousSecretHash))
                .col(timestamp_with_time_zone_null(
                    PartnerApps::PreviousSecretValidUntil,
                ))
                .col(timestamp_with_time_zone(PartnerApps::SecretRotatedAt))
                .col(timestamp_with_time_zone(PartnerApps::CreatedAt))
                .col(timestamp_with_time_zone(PartnerApps::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(PartnerApps::Table, PartnerApps::CompanyId)
                        .to(Companies::Table, Companies::Id),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            PartnerApps::Table,
            "uq_partner_apps_company_name",
            &[PartnerApps::CompanyId, PartnerApps::Name],
            true,
        )
        .await?;
        index(
            m,
            PartnerApps::Table,
            "idx_partner_apps_visibility",
            &[PartnerApps::Visibility],
            false,
        )
        .await?;
        index(
            m,
            PartnerApps::Table,
            "idx_partner_apps_review",
            &[PartnerApps::ReviewStatus],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Enablements::Table)
                .col(uuid(Enablements::CompanyId))
                .col(uuid(Enablements::AppId))
                .col(boolean(Enablements::Enabled))
                .col(timestamp_with_time_zone(Enablements::UpdatedAt))
                .col(uuid_null(Enablements::UpdatedBy))
                .primary_key(
                    Index::create()
                        .col(Enablements::CompanyId)
                        .col(Enablements::AppId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Enablements::Table, Enablements::CompanyId)
                        .to(Companies::Table, Companies::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Enablements::Table, Enablements::AppId)
                        .to(PartnerApps::Table, PartnerApps::Id),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            Enablements::Table,
            "idx_enablements_app",
            &[Enablements::AppId],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(big_pk_auto(AuditLog::Id))
                .col(timestamp_with_time_zone(AuditLog::At))
                .col(uuid_null(AuditLog::ActorUserId))
                .col(string_len(AuditLog::ActorLogin, 254))
                .col(uuid_null(AuditLog::CompanyId))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len(AuditLog::TargetType, 64))
                .col(string_len(AuditLog::TargetId, 128))
                .col(text_null(AuditLog::Before))
                .col(text_null(AuditLog::After))
                .to_owned(),
        )
        .await?;
        index(
            m,
            AuditLog::Table,
            "idx_audit_company",
            &[AuditLog::CompanyId, AuditLog::Id],
            false,
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AdminSessions::Table)
                .col(string_len(AdminSessions::TokenDigest, 64).primary_key())
                .col(uuid(AdminSessions::UserId))
                .col(timestamp_with_time_zone(AdminSessions::CreatedAt))
                .col(timestamp_with_time_zone(AdminSessions::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(AdminSessions::Table, AdminSessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            AdminSessions::Table,
            "idx_admin_sessions_expiry",
            &[AdminSessions::ExpiresAt],
            false,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AdminSessions::Table.into_iden(),
            AuditLog::Table.into_iden(),
            Enablements::Table.into_iden(),
            PartnerApps::Table.into_iden(),
            Users::Table.into_iden(),
            Companies::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

pub(crate) async fn index<T: Iden + Copy + 'static>(
    m: &SchemaManager<'_>,
    table: T,
    name: &str,
    cols: &[T],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for c in cols {
        stmt.col(*c);
    }
    if unique {
        stmt.unique();
    }
    m.create_index(stmt).await
}

#[derive(DeriveIden, Clone, Copy)]
enum Companies {
    Table,
    Id,
    Name,
    Domain,
    Edition,
    DevelopmentPartner,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    CompanyId,
    LoginId,
    DisplayName,
    PasswordHash,
    Enabled,
    WebServicesAdministrator,
    CanAdminister,
    Staff,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PartnerApps {
    Table,
    Id,
    CompanyId,
    Name,
    Description,
    Active,
    Visibility,
    ReviewStatus,
    ReviewReason,
    SubmittedAt,
    ReviewedBy,
    ReviewedAt,
    Apis,
    RedirectUris,
    GrantTypes,
    ResourceServer,
    SecretHash,
    PreviousSecretHash,
    PreviousSecretValidUntil,
    SecretRotatedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Enablements {
    Table,
    CompanyId,
    AppId,
    Enabled,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorUserId,
    ActorLogin,
    CompanyId,
    Action,
    TargetType,
    TargetId,
    Before,
    After,
}

#[derive(DeriveIden, Clone, Copy)]
enum AdminSessions {
    Table,
    TokenDigest,
    UserId,
    CreatedAt,
    ExpiresAt,
}
