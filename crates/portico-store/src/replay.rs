//! Used `jti`s: one insert decides, on every node at once, whether a client assertion or a
//! DPoP proof was seen before (the primary key refuses the second).

use crate::{Store, entity::used_jti, storage};
use async_trait::async_trait;
use portico_domain::{DomainResult, TokenDigest, repo::ReplayStore};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::OnConflict};

#[async_trait]
impl ReplayStore for Store {
    async fn first_use(&self, digest: &TokenDigest, expires_at: i64) -> DomainResult<bool> {
        let inserted = used_jti::Entity::insert(used_jti::ActiveModel {
            digest: Set(digest.0.clone()),
            expires_at: Set(expires_at),
        })
        .on_conflict(
            OnConflict::column(used_jti::Column::Digest)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(storage)?;
        Ok(inserted == 1)
    }

    async fn purge_used(&self, now: i64) -> DomainResult<u64> {
        Ok(used_jti::Entity::delete_many()
            .filter(used_jti::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected)
    }
}
