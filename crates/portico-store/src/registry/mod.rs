//! The registry's repositories: companies, users, partner apps, enablements, audit, sessions.

mod apps;
mod audit;
mod companies;
mod sandbox;
mod sessions;
mod users;

use crate::{entity::audit_log, storage};
use portico_domain::{AuditEvent, DomainError, DomainResult};
use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, Set};

/// Writes the audit row of a change, inside the change's transaction.
pub(crate) async fn record(db: &impl ConnectionTrait, event: &AuditEvent) -> DomainResult<()> {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    audit_log::ActiveModel {
        id: NotSet,
        at: Set(event.at),
        actor_user_id: Set(event.actor_user_id.map(|u| u.0)),
        actor_login: Set(event.actor_login.clone()),
        company_id: Set(event.company_id.map(|c| c.0)),
        action: Set(event.action.as_str().to_owned()),
        target_type: Set(event.target_type.clone()),
        target_id: Set(event.target_id.clone()),
        before: Set(json(&event.before)),
        after: Set(json(&event.after)),
        source: Set(event.source.clone()),
    }
    .insert(db)
    .await
    .map_err(storage)?;
    Ok(())
}

/// A stored value that does not parse back: the database was changed behind our back.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> DomainError {
    DomainError::storage(format!("stored {what} is malformed: {detail}"))
}
