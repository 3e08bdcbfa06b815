use crate::{Store, entity::admin_session, storage};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use portico_domain::{
    DomainResult, TokenDigest, UserId,
    repo::{AdminSession, SessionStore},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

#[async_trait]
impl SessionStore for Store {
    async fn insert_session(&self, s: &AdminSession) -> DomainResult<()> {
        admin_session::Entity::insert(admin_session::ActiveModel {
            token_digest: Set(s.digest.0.clone()),
            user_id: Set(s.user_id.0),
            created_at: Set(s.created_at),
            expires_at: Set(s.expires_at),
        })
        .exec(&self.db)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn session(&self, digest: &TokenDigest) -> DomainResult<Option<AdminSession>> {
        Ok(admin_session::Entity::find_by_id(digest.0.clone())
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|m| AdminSession {
                digest: TokenDigest(m.token_digest),
                user_id: UserId(m.user_id),
                created_at: m.created_at,
                expires_at: m.expires_at,
            }))
    }

    async fn delete_session(&self, digest: &TokenDigest) -> DomainResult<()> {
        admin_session::Entity::delete_by_id(digest.0.clone())
            .exec(&self.db)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn delete_sessions_of(&self, user: UserId) -> DomainResult<u64> {
        delete_sessions_of(&self.db, &[user.0]).await
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> DomainResult<u64> {
        Ok(admin_session::Entity::delete_many()
            .filter(admin_session::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected)
    }
}

/// Ends every session of these users, inside the caller's transaction when given one.
pub(crate) async fn delete_sessions_of(
    db: &impl ConnectionTrait,
    users: &[uuid::Uuid],
) -> DomainResult<u64> {
    if users.is_empty() {
        return Ok(0);
    }
    Ok(admin_session::Entity::delete_many()
        .filter(admin_session::Column::UserId.is_in(users.iter().copied()))
        .exec(db)
        .await
        .map_err(storage)?
        .rows_affected)
}
