//! Sandbox sign-ups: the new sandbox in one transaction, and the requests that wait for staff.

use super::{apps, companies, corrupt, record, users};
use crate::{
    Store,
    entity::{company, enablement, sandbox_request, user},
    storage, unique_or_storage,
};
use async_trait::async_trait;
use portico_domain::{
    AuditEvent, Change, CompanyId, DomainError, DomainResult, Edition, SandboxRequest,
    SandboxRequestStatus, UserId,
    repo::{NewSandbox, SandboxStore},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};

fn to_domain(m: sandbox_request::Model) -> DomainResult<SandboxRequest> {
    Ok(SandboxRequest {
        id: m.id,
        edition: Edition::parse(&m.edition).ok_or_else(|| corrupt("edition", &m.edition))?,
        status: SandboxRequestStatus::parse(&m.status)
            .ok_or_else(|| corrupt("request status", &m.status))?,
        login_id: m.login_id,
        display_name: m.display_name,
        company_name: m.company_name,
        source: m.source,
        created_at: m.created_at,
        decided_at: m.decided_at,
        decided_by: m.decided_by.map(UserId),
        reason: m.reason,
        company_id: m.company_id.map(CompanyId),
    })
}

fn login_taken(e: sea_orm::DbErr) -> DomainError {
    unique_or_storage(e, "login_id_taken", "that login id is already in use")
}

/// Marks a pending request decided; nothing if it was decided meanwhile.
async fn decide(txn: &sea_orm::DatabaseTransaction, decided: &SandboxRequest) -> DomainResult<()> {
    let written = sandbox_request::Entity::update_many()
        .col_expr(
            sandbox_request::Column::Status,
            Expr::value(decided.status.as_str()),
        )
        .col_expr(
            sandbox_request::Column::DecidedAt,
            Expr::value(decided.decided_at),
        )
        .col_expr(
            sandbox_request::Column::DecidedBy,
            Expr::value(decided.decided_by.map(|u| u.0)),
        )
        .col_expr(
            sandbox_request::Column::Reason,
            Expr::value(decided.reason.clone()),
        )
        .col_expr(
            sandbox_request::Column::Edition,
            Expr::value(decided.edition.as_str()),
        )
        .col_expr(
            sandbox_request::Column::CompanyId,
            Expr::value(decided.company_id.map(|c| c.0)),
        )
        .filter(sandbox_request::Column::Id.eq(decided.id))
        .filter(sandbox_request::Column::Status.eq(SandboxRequestStatus::Pending.as_str()))
        .exec(txn)
        .await
        .map_err(storage)?;
    if written.rows_affected != 1 {
        return Err(DomainError::conflict(
            "not_pending",
            "this sign-up request was decided already",
        ));
    }
    Ok(())
}

#[async_trait]
impl SandboxStore for Store {
    async fn insert_sandbox(
        &self,
        sandbox: &NewSandbox,
        approving: Option<&SandboxRequest>,
        audits: &[AuditEvent],
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        if let Some(decided) = approving {
            decide(&txn, decided).await?;
        }
        company::Entity::insert(companies::to_model(&sandbox.company).into_active_model())
            .exec(&txn)
            .await
            .map_err(|e| unique_or_storage(e, "domain_taken", "a company of that domain exists"))?;
        let mut admin = users::to_active(&sandbox.admin);
        admin.password_hash = Set(sandbox.password_hash.clone());
        user::Entity::insert(admin)
            .exec(&txn)
            .await
            .map_err(login_taken)?;
        apps::insert_app_row(&txn, &sandbox.app, &sandbox.secret_hash).await?;
        enablement::Entity::insert(apps::enablement_model(&sandbox.enablement))
            .exec(&txn)
            .await
            .map_err(storage)?;
        for audit in audits {
            record(&txn, audit).await?;
        }
        self.commit(txn, &[Change::App(sandbox.app.id)])
            .await
            .map_err(storage)
    }

    async fn insert_sandbox_request(
        &self,
        r: &SandboxRequest,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        sandbox_request::Entity::insert(sandbox_request::ActiveModel {
            id: Set(r.id),
            login_id: Set(r.login_id.clone()),
            display_name: Set(r.display_name.clone()),
            company_name: Set(r.company_name.clone()),
            edition: Set(r.edition.as_str().to_owned()),
            password_hash: Set(password_hash.to_owned()),
            status: Set(r.status.as_str().to_owned()),
            source: Set(r.source.clone()),
            created_at: Set(r.created_at),
            decided_at: Set(r.decided_at),
            decided_by: Set(r.decided_by.map(|u| u.0)),
            reason: Set(r.reason.clone()),
            company_id: Set(r.company_id.map(|c| c.0)),
        })
        .exec(&txn)
        .await
        .map_err(login_taken)?;
        record(&txn, audit).await?;
        self.commit(txn, &[]).await.map_err(storage)
    }

    async fn sandbox_request(
        &self,
        id: uuid::Uuid,
    ) -> DomainResult<Option<(SandboxRequest, String)>> {
        sandbox_request::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|m| {
                let hash = m.password_hash.clone();
                to_domain(m).map(|r| (r, hash))
            })
            .transpose()
    }

    async fn sandbox_requests(
        &self,
        status: Option<SandboxRequestStatus>,
    ) -> DomainResult<Vec<SandboxRequest>> {
        let mut q = sandbox_request::Entity::find();
        if let Some(status) = status {
            q = q.filter(sandbox_request::Column::Status.eq(status.as_str()));
        }
        q.order_by_asc(sandbox_request::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn reject_sandbox_request(
        &self,
        rejected: &SandboxRequest,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        decide(&txn, rejected).await?;
        record(&txn, audit).await?;
        self.commit(txn, &[]).await.map_err(storage)
    }

    async fn login_id_in_use(&self, login_id: &str) -> DomainResult<bool> {
        let users = user::Entity::find()
            .filter(user::Column::LoginId.eq(login_id))
            .count(&self.db)
            .await
            .map_err(storage)?;
        if users > 0 {
            return Ok(true);
        }
        let waiting = sandbox_request::Entity::find()
            .filter(sandbox_request::Column::LoginId.eq(login_id))
            .filter(sandbox_request::Column::Status.eq(SandboxRequestStatus::Pending.as_str()))
            .count(&self.db)
            .await
            .map_err(storage)?;
        Ok(waiting > 0)
    }
}
