//! Connections (live grants), disconnects and remembered consents.

use crate::{
    Store,
    entity::{consent, grant, refresh_token as refresh},
    registry::record,
    storage,
};
use async_trait::async_trait;
use portico_domain::{
    AppId, AuditEvent, Change, CompanyId, Connection, ConnectionFilter, DomainResult,
    RememberedConsent, ScopeSet, UserId, repo::ConnectionStore,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, OnConflict},
};

/// The grants a filter names (revoked or not; callers add what they need).
fn grants_matching(f: &ConnectionFilter<'_>) -> Select<grant::Entity> {
    let mut q = grant::Entity::find();
    if let Some(c) = f.company {
        q = q.filter(grant::Column::CompanyId.eq(c.0));
    }
    if let Some(a) = f.app {
        q = q.filter(grant::Column::AppId.eq(a.0));
    }
    if let Some(u) = f.user {
        q = q.filter(grant::Column::UserId.eq(u.0));
    }
    if let Some(g) = f.grant {
        q = q.filter(grant::Column::Id.eq(g));
    }
    q
}

#[async_trait]
impl ConnectionStore for Store {
    async fn connections(
        &self,
        filter: &ConnectionFilter<'_>,
        now: i64,
        limit: u64,
    ) -> DomainResult<Vec<Connection>> {
        // A live grant has exactly one unrotated, unexpired refresh token: its issue time is
        // the grant's last use, its expiry the grant's.
        let rows = grants_matching(filter)
            .find_also_related(refresh::Entity)
            .filter(grant::Column::RevokedAt.is_null())
            .filter(refresh::Column::RotatedAt.is_null())
            .filter(refresh::Column::ExpiresAt.gt(now))
            .order_by_desc(refresh::Column::IssuedAt)
            .order_by_asc(grant::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(storage)?;
        Ok(rows
            .into_iter()
            .filter_map(|(g, r)| {
                let r = r?;
                Some(Connection {
                    grant_id: g.id,
                    app_id: AppId(g.app_id),
                    company_id: CompanyId(g.company_id),
                    user_id: g.user_id.map(UserId),
                    scope: g.scope,
                    created_at: g.created_at,
                    last_used_at: r.issued_at,
                    expires_at: r.expires_at,
                })
            })
            .collect())
    }

    async fn disconnect(
        &self,
        filter: &ConnectionFilter<'_>,
        audit: &AuditEvent,
        now: i64,
    ) -> DomainResult<u64> {
        let txn = self.begin().await?;
        let ids: Vec<(String, uuid::Uuid, Option<uuid::Uuid>)> = grants_matching(filter)
            .select_only()
            .column(grant::Column::Id)
            .column(grant::Column::AppId)
            .column(grant::Column::UserId)
            .filter(grant::Column::RevokedAt.is_null())
            .into_tuple()
            .all(&txn)
            .await
            .map_err(storage)?;
        for chunk in ids.chunks(500) {
            grant::Entity::update_many()
                .col_expr(grant::Column::RevokedAt, Expr::value(now))
                .filter(grant::Column::Id.is_in(chunk.iter().map(|(id, ..)| id.clone())))
                .exec(&txn)
                .await
                .map_err(storage)?;
        }
        // The consent goes with the connection: one grant's user and app (none for a company
        // grant), or everything the filter names.
        let withdraw = match filter.grant {
            Some(_) => ids.first().and_then(|(_, app, user)| {
                user.map(|u| {
                    consent::Entity::delete_many()
                        .filter(consent::Column::UserId.eq(u))
                        .filter(consent::Column::AppId.eq(*app))
                })
            }),
            None => {
                let mut d = consent::Entity::delete_many();
                if let Some(c) = filter.company {
                    d = d.filter(consent::Column::CompanyId.eq(c.0));
                }
                if let Some(a) = filter.app {
                    d = d.filter(consent::Column::AppId.eq(a.0));
                }
                if let Some(u) = filter.user {
                    d = d.filter(consent::Column::UserId.eq(u.0));
                }
                Some(d)
            }
        };
        if let Some(d) = withdraw {
            d.exec(&txn).await.map_err(storage)?;
        }
        self.finish_disconnect(txn, &ids, audit).await
    }

    async fn consent(&self, user: UserId, app: AppId) -> DomainResult<Option<RememberedConsent>> {
        let Some(c) = consent::Entity::find_by_id((user.0, app.0))
            .one(&self.db)
            .await
            .map_err(storage)?
        else {
            return Ok(None);
        };
        // A stored scope that no longer parses is no consent: the page asks again.
        Ok(ScopeSet::parse(&c.scope)
            .ok()
            .map(|scope| RememberedConsent {
                user_id: UserId(c.user_id),
                app_id: AppId(c.app_id),
                company_id: CompanyId(c.company_id),
                scope,
                granted_at: c.granted_at,
            }))
    }

    async fn remember_consent(&self, c: &RememberedConsent) -> DomainResult<()> {
        consent::Entity::insert(consent::ActiveModel {
            user_id: Set(c.user_id.0),
            app_id: Set(c.app_id.0),
            company_id: Set(c.company_id.0),
            scope: Set(c.scope.to_string()),
            granted_at: Set(c.granted_at),
        })
        .on_conflict(
            OnConflict::columns([consent::Column::UserId, consent::Column::AppId])
                .update_columns([
                    consent::Column::CompanyId,
                    consent::Column::Scope,
                    consent::Column::GrantedAt,
                ])
                .to_owned(),
        )
        .exec(&self.db)
        .await
        .map_err(storage)?;
        Ok(())
    }
}

impl Store {
    async fn finish_disconnect(
        &self,
        txn: sea_orm::DatabaseTransaction,
        ids: &[(String, uuid::Uuid, Option<uuid::Uuid>)],
        audit: &AuditEvent,
    ) -> DomainResult<u64> {
        let mut audit = audit.clone();
        // The audit row says how many grants the action ended.
        if let Some(serde_json::Value::Object(after)) = audit.after.as_mut() {
            after.insert("grants_revoked".into(), ids.len().into());
        }
        record(&txn, &audit).await?;
        let changes: Vec<Change> = ids
            .iter()
            .map(|(id, ..)| Change::GrantRevoked {
                grant_id: id.clone(),
            })
            .collect();
        self.commit(txn, &changes).await.map_err(storage)?;
        Ok(ids.len() as u64)
    }
}
