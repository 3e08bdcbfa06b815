use super::corrupt;
use crate::{Store, entity::audit_log, storage};
use async_trait::async_trait;
use portico_domain::{
    AuditAction, AuditEntry, AuditEvent, AuditQuery, CompanyId, DomainResult, UserId,
    repo::AuditStore,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

fn to_domain(m: audit_log::Model) -> DomainResult<AuditEntry> {
    let action: AuditAction = serde_json::from_value(serde_json::Value::String(m.action.clone()))
        .map_err(|_| corrupt("audit action", &m.action))?;
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(AuditEntry {
        id: m.id,
        event: AuditEvent {
            at: m.at,
            actor_user_id: m.actor_user_id.map(UserId),
            actor_login: m.actor_login,
            company_id: m.company_id.map(CompanyId),
            action,
            target_type: m.target_type,
            target_id: m.target_id,
            before: json(m.before),
            after: json(m.after),
            source: m.source,
        },
    })
}

#[async_trait]
impl AuditStore for Store {
    async fn record_event(&self, event: &AuditEvent) -> DomainResult<()> {
        super::record(&self.db, event).await
    }

    async fn audit_entries(&self, q: &AuditQuery) -> DomainResult<Vec<AuditEntry>> {
        let mut select = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
        if let Some(company) = q.company_id {
            select = select.filter(audit_log::Column::CompanyId.eq(company.0));
        }
        if let Some(before) = q.before_id {
            select = select.filter(audit_log::Column::Id.lt(before));
        }
        select
            .limit(q.limit)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(to_domain)
            .collect()
    }
}
