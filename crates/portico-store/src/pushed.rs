//! Pushed authorization requests (RFC 9126): inserted once, then read or taken. Taking is one
//! `DELETE … RETURNING` (PostgreSQL, and SQLite from 3.35): the row goes to whichever caller
//! deletes it, so two nodes can never both use a request.

use crate::{Store, entity::pushed_request, storage};
use async_trait::async_trait;
use portico_domain::{
    AppId, DomainResult, TokenDigest,
    repo::{PushedRequest, PushedRequestStore},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement,
    Value,
};

const TAKE_PG: &str = "DELETE FROM pushed_requests \
    WHERE digest = $1 AND app_id = $2 AND expires_at > $3 RETURNING params";
const TAKE_SQLITE: &str = "DELETE FROM pushed_requests \
    WHERE digest = ? AND app_id = ? AND expires_at > ? RETURNING params";

#[async_trait]
impl PushedRequestStore for Store {
    async fn insert_pushed_request(&self, r: &PushedRequest) -> DomainResult<()> {
        pushed_request::Entity::insert(pushed_request::ActiveModel {
            digest: Set(r.digest.0.clone()),
            app_id: Set(r.app_id.0),
            params: Set(r.params.clone()),
            expires_at: Set(r.expires_at),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        digest: &TokenDigest,
        client: AppId,
        now: i64,
    ) -> DomainResult<Option<String>> {
        let backend = self.backend();
        let sql = if backend == DbBackend::Postgres {
            TAKE_PG
        } else {
            TAKE_SQLITE
        };
        // Bound as the entity binds them, so the uuid compares in the stored form.
        let values: [Value; 3] = [digest.0.clone().into(), client.0.into(), now.into()];
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(storage)?;
        row.map(|r| r.try_get_by_index::<String>(0))
            .transpose()
            .map_err(storage)
    }

    async fn pushed_request(
        &self,
        digest: &TokenDigest,
        client: AppId,
        now: i64,
    ) -> DomainResult<Option<String>> {
        Ok(pushed_request::Entity::find_by_id(digest.0.clone())
            .filter(pushed_request::Column::AppId.eq(client.0))
            .filter(pushed_request::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|m| m.params))
    }
}
