//! The change log and the deny state, for the revocation feed.

use crate::{
    Store,
    entity::{change_log, company, enablement, partner_app, user},
    storage,
};
use async_trait::async_trait;
use portico_domain::{
    AppId, CompanyId, DomainResult, UserId,
    repo::{DenyState, FeedStore, TokenStore},
};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Func},
};
use std::collections::HashSet;

#[async_trait]
impl FeedStore for Store {
    async fn change_log_bounds(&self) -> DomainResult<(Option<i64>, i64)> {
        let (min, max): (Option<i64>, Option<i64>) = change_log::Entity::find()
            .select_only()
            .column_as(
                Expr::from(Func::min(Expr::col(change_log::Column::Seq))),
                "min",
            )
            .column_as(
                Expr::from(Func::max(Expr::col(change_log::Column::Seq))),
                "max",
            )
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(storage)?
            .unwrap_or((None, None));
        Ok((min, max.unwrap_or(0)))
    }

    async fn changes_after(&self, after: i64, limit: u64) -> DomainResult<Vec<(i64, String)>> {
        change_log::Entity::find()
            .select_only()
            .column(change_log::Column::Seq)
            .column(change_log::Column::Change)
            .filter(change_log::Column::Seq.gt(after))
            .order_by_asc(change_log::Column::Seq)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(storage)
    }

    async fn deny_state(&self, now: i64, grants_since: i64) -> DomainResult<DenyState> {
        let disabled_companies: Vec<uuid::Uuid> = company::Entity::find()
            .select_only()
            .column(company::Column::Id)
            .filter(company::Column::Enabled.eq(false))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(storage)?;
        let disabled: HashSet<uuid::Uuid> = disabled_companies.iter().copied().collect();
        // Inactive apps, and every app of a disabled company (its owner stops it).
        let apps: Vec<(uuid::Uuid, uuid::Uuid, bool)> = partner_app::Entity::find()
            .select_only()
            .column(partner_app::Column::Id)
            .column(partner_app::Column::CompanyId)
            .column(partner_app::Column::Active)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(storage)?;
        let unserved_apps = apps
            .into_iter()
            .filter(|(_, owner, active)| !active || disabled.contains(owner))
            .map(|(id, ..)| AppId(id))
            .collect();
        let disabled_users: Vec<uuid::Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Enabled.eq(false))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(storage)?;
        let disabled_enablements: Vec<(uuid::Uuid, uuid::Uuid)> = enablement::Entity::find()
            .select_only()
            .column(enablement::Column::CompanyId)
            .column(enablement::Column::AppId)
            .filter(enablement::Column::Enabled.eq(false))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(storage)?;
        Ok(DenyState {
            revoked_jtis: self.revoked_access_tokens(now).await?,
            revoked_grants: self.revoked_grants_since(grants_since).await?,
            unserved_apps,
            disabled_companies: disabled_companies.into_iter().map(CompanyId).collect(),
            disabled_users: disabled_users.into_iter().map(UserId).collect(),
            disabled_enablements: disabled_enablements
                .into_iter()
                .map(|(c, a)| (CompanyId(c), AppId(a)))
                .collect(),
        })
    }
}
