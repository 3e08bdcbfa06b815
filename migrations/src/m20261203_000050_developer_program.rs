//! The developer program (issue 17): a client company that staff allow to build apps for its
//! own use (`companies.own_use_apps`); a certified app's production registration, linked to
//! the sandbox app it was certified from (`partner_apps.certified_from`, one production
//! registration per sandbox app); and sandbox sign-up requests waiting for staff
//! (`sandbox_requests`; a login id can wait in one pending request at a time). And the source
//! address of audited requests (`audit_log.source`).
//!
//! Added columns have defaults and the table is new: nodes of the previous release keep
//! working on this schema (they never read them).

use crate::m20261122_000001_registry::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(C::Companies)
                .add_column(boolean(C::OwnUseApps).default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(C::PartnerApps)
                .add_column(uuid_null(C::CertifiedFrom))
                .to_owned(),
        )
        .await?;
        // Operability (issue 15): where an audited request came from.
        m.alter_table(
            Table::alter()
                .table(C::AuditLog)
                .add_column(text_null(C::Source))
                .to_owned(),
        )
        .await?;
        index(
            m,
            C::PartnerApps,
            "idx_partner_apps_certified_from",
            &[C::CertifiedFrom],
            true,
        )
        .await?;
        // A production registration is named as its sandbox app: names are unique among a
        // company's sandbox apps and among its production registrations, each on its own.
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_partner_apps_sandbox_name ON partner_apps (company_id, name) \
             WHERE certified_from IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_partner_apps_production_name \
             ON partner_apps (company_id, name) WHERE certified_from IS NOT NULL",
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("uq_partner_apps_company_name")
                .table(C::PartnerApps)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(C::SandboxRequests)
                .col(uuid(C::Id).primary_key())
                .col(text(C::LoginId))
                .col(text(C::DisplayName))
                .col(text(C::CompanyName))
                .col(text(C::Edition))
                .col(text(C::PasswordHash))
                .col(text(C::Status))
                .col(text(C::Source))
                .col(timestamp_with_time_zone(C::CreatedAt))
                .col(timestamp_with_time_zone_null(C::DecidedAt))
                .col(uuid_null(C::DecidedBy))
                .col(text_null(C::Reason))
                .col(uuid_null(C::CompanyId))
                .to_owned(),
        )
        .await?;
        // One pending request per login id; decided requests keep theirs for the record.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_sandbox_requests_pending_login \
                 ON sandbox_requests (login_id) WHERE status = 'pending'",
            )
            .await?;
        index(
            m,
            C::SandboxRequests,
            "idx_sandbox_requests_status",
            &[C::Status, C::CreatedAt],
            false,
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(C::SandboxRequests).to_owned())
            .await?;
        let db = m.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX uq_partner_apps_company_name ON partner_apps (company_id, name)",
            "DROP INDEX uq_partner_apps_production_name",
            "DROP INDEX uq_partner_apps_sandbox_name",
        ] {
            db.execute_unprepared(sql).await?;
        }
        m.drop_index(
            Index::drop()
                .name("idx_partner_apps_certified_from")
                .table(C::PartnerApps)
                .to_owned(),
        )
        .await?;
        for (table, column) in [
            (C::AuditLog, C::Source),
            (C::PartnerApps, C::CertifiedFrom),
            (C::Companies, C::OwnUseApps),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum C {
    AuditLog,
    Companies,
    PartnerApps,
    SandboxRequests,
    OwnUseApps,
    CertifiedFrom,
    Id,
    LoginId,
    DisplayName,
    CompanyName,
    Edition,
    PasswordHash,
    Status,
    Source,
    CreatedAt,
    DecidedAt,
    DecidedBy,
    Reason,
    CompanyId,
}
