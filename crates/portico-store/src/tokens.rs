//! The token service's repositories.

use crate::{
    Store,
    entity::{
        authorization_code as code, grant, refresh_token as refresh, request_token,
        revoked_access_token as revoked, signing_key,
    },
    registry::record,
    storage, unique_or_storage,
};
use async_trait::async_trait;
use portico_domain::{
    AppId, AuditEvent, AuthorizationCodeRecord, Change, CodeRedemption, CompanyId, DomainResult,
    RefreshTokenRecord, RequestTokenRecord, Rotation, SigningKeyRecord, TokenDigest, TokenGrant,
    UserId,
    repo::{Purge, RequestTokenStore, TokenStore},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement, TransactionTrait, sea_query::Expr,
};

/// PostgreSQL: a grant and its first refresh token in one statement (see `insert_grant`).
const INSERT_GRANT_PG: &str = "WITH g AS (\
    INSERT INTO grants (id, app_id, company_id, user_id, scope, created_at, revoked_at, resources, auth_time, dpop_jkt) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $13, $14, $15)) \
    INSERT INTO refresh_tokens (digest, grant_id, issued_at, expires_at, rotated_at) \
    VALUES ($8, $9, $10, $11, $12)";

/// PostgreSQL: claim the old refresh token, if its grant is not revoked, and insert its
/// successor in one statement (see `rotate_refresh_token`); one row inserted means rotated,
/// none means already rotated or revoked.
///
/// The grant is read by its primary key alone (`GRANT_NOT_REVOKED`): written as `EXISTS (…
/// WHERE id = $4 AND revoked_at IS NULL)`, the planner may walk the index on `revoked_at`
/// through every live grant instead (seen on a table not yet analyzed: a rotation costing
/// O(live grants)).
const ROTATE_REFRESH_PG: &str = "WITH claimed AS (\
    UPDATE refresh_tokens SET rotated_at = $1, successor = $3, reply = $8 \
    WHERE digest = $2 AND grant_id = $4 AND rotated_at IS NULL \
    AND (SELECT g.revoked_at FROM grants g WHERE g.id = $4) IS NULL \
    RETURNING 1) \
    INSERT INTO refresh_tokens (digest, grant_id, issued_at, expires_at, rotated_at) \
    SELECT $3, $4, $5, $6, $7 FROM claimed";

fn grant_to_domain(g: grant::Model) -> TokenGrant {
    TokenGrant {
        id: g.id,
        app_id: AppId(g.app_id),
        company_id: CompanyId(g.company_id),
        user_id: g.user_id.map(UserId),
        scope: g.scope,
        created_at: g.created_at,
        revoked_at: g.revoked_at,
        resources: g.resources,
        auth_time: g.auth_time,
        dpop_jkt: g.dpop_jkt,
    }
}

fn refresh_to_domain(r: refresh::Model) -> RefreshTokenRecord {
    RefreshTokenRecord {
        digest: TokenDigest(r.digest),
        grant_id: r.grant_id,
        issued_at: r.issued_at,
        expires_at: r.expires_at,
        rotated_at: r.rotated_at,
        successor: r.successor.map(TokenDigest),
        reply: r.reply,
    }
}

fn refresh_model(r: &RefreshTokenRecord) -> refresh::ActiveModel {
    refresh::ActiveModel {
        digest: Set(r.digest.0.clone()),
        grant_id: Set(r.grant_id.clone()),
        issued_at: Set(r.issued_at),
        expires_at: Set(r.expires_at),
        rotated_at: Set(r.rotated_at),
        successor: Set(r.successor.as_ref().map(|d| d.0.clone())),
        reply: Set(r.reply.clone()),
    }
}

fn grant_exists(e: sea_orm::DbErr) -> portico_domain::DomainError {
    unique_or_storage(e, "grant_exists", "a grant of this id exists")
}

impl Store {
    /// Why a rotation claimed nothing: the grant was revoked, or the token was used already.
    async fn why_not_rotated(&self, old: &TokenDigest) -> DomainResult<Rotation> {
        let found = self.find_refresh_token(old).await?;
        Ok(match found {
            Some((_, grant)) if grant.revoked_at.is_some() => Rotation::GrantRevoked,
            _ => Rotation::AlreadyRotated,
        })
    }
}

#[async_trait]
impl RequestTokenStore for Store {
    async fn insert_request_token(
        &self,
        t: &RequestTokenRecord,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        request_token::Entity::insert(request_token::ActiveModel {
            digest: Set(t.digest.0.clone()),
            app_id: Set(t.app_id.0),
            company_id: Set(t.company_id.0),
            created_by: Set(t.created_by.0),
            created_at: Set(t.created_at),
            expires_at: Set(t.expires_at),
        })
        .exec(&txn)
        .await
        .map_err(storage)?;
        record(&txn, audit).await?;
        self.commit(txn, &[]).await.map_err(storage)
    }

    async fn find_request_token(
        &self,
        digest: &TokenDigest,
    ) -> DomainResult<Option<RequestTokenRecord>> {
        Ok(request_token::Entity::find_by_id(digest.0.clone())
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|t| RequestTokenRecord {
                digest: TokenDigest(t.digest),
                app_id: AppId(t.app_id),
                company_id: CompanyId(t.company_id),
                created_by: UserId(t.created_by),
                created_at: t.created_at,
                expires_at: t.expires_at,
            }))
    }
}

#[async_trait]
impl TokenStore for Store {
    async fn insert_code(&self, c: &AuthorizationCodeRecord) -> DomainResult<()> {
        code::Entity::insert(code::ActiveModel {
            digest: Set(c.digest.0.clone()),
            app_id: Set(c.app_id.0),
            user_id: Set(c.user_id.0),
            company_id: Set(c.company_id.0),
            redirect_uri: Set(c.redirect_uri.clone()),
            scope: Set(c.scope.clone()),
            pkce_challenge: Set(c.pkce_challenge.clone()),
            expires_at: Set(c.expires_at),
            redeemed_at: Set(None),
            grant_id: Set(None),
            nonce: Set(c.nonce.clone()),
            auth_time: Set(c.auth_time),
            resources: Set(c.resources.clone()),
            dpop_jkt: Set(c.dpop_jkt.clone()),
        })
        .exec(&self.db)
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        client: AppId,
        grant_id: &str,
        now: i64,
    ) -> DomainResult<CodeRedemption> {
        // The conditional update is the single-use guarantee (of two concurrent redemptions,
        // exactly one changes the row) and binds the grant in the same statement, so a replay
        // always finds the grant to revoke. Another client's attempt changes nothing.
        let claimed = code::Entity::update_many()
            .col_expr(code::Column::RedeemedAt, Expr::value(now))
            .col_expr(code::Column::GrantId, Expr::value(grant_id))
            .filter(code::Column::Digest.eq(digest.0.as_str()))
            .filter(code::Column::RedeemedAt.is_null())
            .filter(code::Column::AppId.eq(client.0))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        let Some(row) = code::Entity::find_by_id(digest.0.clone())
            .one(&self.db)
            .await
            .map_err(storage)?
        else {
            return Ok(CodeRedemption::Unknown);
        };
        if row.app_id != client.0 {
            return Ok(CodeRedemption::OtherClient);
        }
        let bound = row.grant_id.clone();
        let record = AuthorizationCodeRecord {
            digest: TokenDigest(row.digest),
            app_id: AppId(row.app_id),
            user_id: UserId(row.user_id),
            company_id: CompanyId(row.company_id),
            redirect_uri: row.redirect_uri,
            scope: row.scope,
            pkce_challenge: row.pkce_challenge,
            expires_at: row.expires_at,
            nonce: row.nonce,
            auth_time: row.auth_time,
            resources: row.resources,
            dpop_jkt: row.dpop_jkt,
        };
        Ok(if claimed == 1 {
            CodeRedemption::Redeemed(record)
        } else {
            CodeRedemption::AlreadyRedeemed {
                record,
                grant_id: bound,
            }
        })
    }

    async fn revoke_code_grant(
        &self,
        c: &AuthorizationCodeRecord,
        grant_id: &str,
        now: i64,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        grant::Entity::insert(grant::ActiveModel {
            id: Set(grant_id.to_owned()),
            app_id: Set(c.app_id.0),
            company_id: Set(c.company_id.0),
            user_id: Set(Some(c.user_id.0)),
            scope: Set(c.scope.clone()),
            created_at: Set(now),
            revoked_at: Set(Some(now)),
            resources: Set(c.resources.clone()),
            auth_time: Set(c.auth_time),
            dpop_jkt: Set(None),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(grant::Column::Id)
                .update_column(grant::Column::RevokedAt)
                .to_owned(),
        )
        .exec(&txn)
        .await
        .map_err(storage)?;
        let change = Change::GrantRevoked {
            grant_id: grant_id.to_owned(),
        };
        self.commit(txn, &[change]).await.map_err(storage)
    }

    async fn insert_grant(&self, g: &TokenGrant, r: &RefreshTokenRecord) -> DomainResult<()> {
        if self.backend() == DbBackend::Postgres {
            // One statement (its own transaction) instead of BEGIN, two INSERTs and COMMIT: a
            // round trip to the server instead of four, on every token exchange that starts a
            // grant. The refresh token's foreign key is checked at the end of the statement,
            // when the grant row exists.
            let values = [
                g.id.clone().into(),
                g.app_id.0.into(),
                g.company_id.0.into(),
                g.user_id.map(|u| u.0).into(),
                g.scope.clone().into(),
                g.created_at.into(),
                g.revoked_at.into(),
                r.digest.0.clone().into(),
                r.grant_id.clone().into(),
                r.issued_at.into(),
                r.expires_at.into(),
                r.rotated_at.into(),
                g.resources.clone().into(),
                g.auth_time.into(),
                g.dpop_jkt.clone().into(),
            ];
            self.db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    INSERT_GRANT_PG,
                    values,
                ))
                .await
                .map_err(grant_exists)?;
            return Ok(());
        }
        let txn = self.begin().await?;
        grant::Entity::insert(grant::ActiveModel {
            id: Set(g.id.clone()),
            app_id: Set(g.app_id.0),
            company_id: Set(g.company_id.0),
            user_id: Set(g.user_id.map(|u| u.0)),
            scope: Set(g.scope.clone()),
            created_at: Set(g.created_at),
            revoked_at: Set(g.revoked_at),
            resources: Set(g.resources.clone()),
            auth_time: Set(g.auth_time),
            dpop_jkt: Set(g.dpop_jkt.clone()),
        })
        .exec(&txn)
        .await
        .map_err(grant_exists)?;
        refresh::Entity::insert(refresh_model(r))
            .exec(&txn)
            .await
            .map_err(storage)?;
        txn.commit().await.map_err(storage)
    }

    async fn find_refresh_token(
        &self,
        digest: &TokenDigest,
    ) -> DomainResult<Option<(RefreshTokenRecord, TokenGrant)>> {
        Ok(refresh::Entity::find_by_id(digest.0.clone())
            .find_also_related(grant::Entity)
            .one(&self.db)
            .await
            .map_err(storage)?
            .and_then(|(r, g)| Some((refresh_to_domain(r), grant_to_domain(g?)))))
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        new: &RefreshTokenRecord,
        reply: Option<&[u8]>,
        now: i64,
    ) -> DomainResult<Rotation> {
        if self.backend() == DbBackend::Postgres {
            // One statement instead of BEGIN, UPDATE, INSERT, COMMIT (one round trip instead of
            // four): the conditional UPDATE claims the old token, and its successor is inserted
            // only if the claim succeeded, in the statement's own transaction. Of two concurrent
            // rotations the second waits on the row lock, then finds `rotated_at` set and
            // inserts nothing, exactly as with the explicit transaction below.
            let values = [
                now.into(),
                old.0.clone().into(),
                new.digest.0.clone().into(),
                new.grant_id.clone().into(),
                new.issued_at.into(),
                new.expires_at.into(),
                new.rotated_at.into(),
                reply.map(<[u8]>::to_vec).into(),
            ];
            let inserted = self
                .db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    ROTATE_REFRESH_PG,
                    values,
                ))
                .await
                .map_err(storage)?
                .rows_affected();
            return if inserted == 1 {
                Ok(Rotation::Rotated)
            } else {
                self.why_not_rotated(old).await
            };
        }
        // SQLite has no data-modifying CTEs: an explicit transaction.
        let txn = self.db.begin().await.map_err(storage)?;
        let claimed = refresh::Entity::update_many()
            .col_expr(refresh::Column::RotatedAt, Expr::value(now))
            .col_expr(
                refresh::Column::Successor,
                Expr::value(new.digest.0.clone()),
            )
            .col_expr(
                refresh::Column::Reply,
                Expr::value(reply.map(<[u8]>::to_vec)),
            )
            .filter(refresh::Column::Digest.eq(old.0.as_str()))
            .filter(refresh::Column::RotatedAt.is_null())
            // The successor's grant is the old token's, not revoked: read by its primary key
            // alone, as on PostgreSQL (an index on revoked_at must not be the way in).
            .filter(refresh::Column::GrantId.eq(new.grant_id.as_str()))
            .filter(Expr::cust_with_values(
                "(SELECT g.revoked_at FROM grants g WHERE g.id = ?) IS NULL",
                [new.grant_id.clone()],
            ))
            .exec(&txn)
            .await
            .map_err(storage)?
            .rows_affected;
        if claimed == 0 {
            txn.rollback().await.map_err(storage)?;
            return self.why_not_rotated(old).await;
        }
        refresh::Entity::insert(refresh_model(new))
            .exec(&txn)
            .await
            .map_err(storage)?;
        txn.commit().await.map_err(storage)?;
        Ok(Rotation::Rotated)
    }

    async fn revoke_grants(&self, ids: &[String], now: i64) -> DomainResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let txn = self.begin().await?;
        // By primary key only, keeping the first revocation's time (a filter on revoked_at
        // could lead the planner through the index on it, every live grant).
        grant::Entity::update_many()
            .col_expr(
                grant::Column::RevokedAt,
                Expr::from(sea_orm::sea_query::Func::coalesce([
                    Expr::col(grant::Column::RevokedAt),
                    Expr::val(now),
                ])),
            )
            .filter(grant::Column::Id.is_in(ids.iter().cloned()))
            .exec(&txn)
            .await
            .map_err(storage)?;
        let changes: Vec<Change> = ids
            .iter()
            .map(|id| Change::GrantRevoked {
                grant_id: id.clone(),
            })
            .collect();
        self.commit(txn, &changes).await.map_err(storage)
    }

    async fn grants_of(&self, user: UserId, app: AppId) -> DomainResult<Vec<String>> {
        grant::Entity::find()
            .select_only()
            .column(grant::Column::Id)
            .filter(grant::Column::UserId.eq(user.0))
            .filter(grant::Column::AppId.eq(app.0))
            .filter(grant::Column::RevokedAt.is_null())
            .into_tuple::<String>()
            .all(&self.db)
            .await
            .map_err(storage)
    }

    async fn revoked_grants_since(&self, since: i64) -> DomainResult<Vec<(String, i64)>> {
        grant::Entity::find()
            .select_only()
            .column(grant::Column::Id)
            .column(grant::Column::RevokedAt)
            .filter(grant::Column::RevokedAt.gte(since))
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await
            .map_err(storage)
    }

    async fn is_grant_revoked(&self, grant_id: &str) -> DomainResult<bool> {
        Ok(grant::Entity::find_by_id(grant_id.to_owned())
            .select_only()
            .column(grant::Column::RevokedAt)
            .into_tuple::<Option<i64>>()
            .one(&self.db)
            .await
            .map_err(storage)?
            .flatten()
            .is_some())
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64, now: i64) -> DomainResult<()> {
        let txn = self.begin().await?;
        revoked::Entity::insert(revoked::ActiveModel {
            jti: Set(jti.to_owned()),
            expires_at: Set(expires_at),
            revoked_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(&txn)
        .await
        .map_err(storage)?;
        let change = Change::AccessTokenRevoked {
            jti: jti.to_owned(),
            exp: expires_at,
        };
        self.commit(txn, &[change]).await.map_err(storage)
    }

    async fn revoked_access_tokens(&self, now: i64) -> DomainResult<Vec<(String, i64)>> {
        revoked::Entity::find()
            .select_only()
            .column(revoked::Column::Jti)
            .column(revoked::Column::ExpiresAt)
            .filter(revoked::Column::ExpiresAt.gt(now))
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await
            .map_err(storage)
    }

    async fn is_access_token_revoked(&self, jti: &str) -> DomainResult<bool> {
        Ok(revoked::Entity::find_by_id(jti.to_owned())
            .one(&self.db)
            .await
            .map_err(storage)?
            .is_some())
    }

    async fn signing_keys(&self) -> DomainResult<Vec<SigningKeyRecord>> {
        Ok(signing_key::Entity::find()
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|k| SigningKeyRecord {
                kid: k.kid,
                algorithm: k.algorithm,
                public_jwk: k.public_jwk,
                sealed_private_key: k.sealed_private_key,
                created_at: k.created_at,
                retired_at: k.retired_at,
            })
            .collect())
    }

    async fn add_signing_keys(
        &self,
        keys: &[SigningKeyRecord],
        now: i64,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RetiredAt, Expr::value(now))
            .filter(signing_key::Column::RetiredAt.is_null())
            .exec(&txn)
            .await
            .map_err(storage)?;
        for k in keys {
            signing_key::Entity::insert(signing_key::ActiveModel {
                kid: Set(k.kid.clone()),
                algorithm: Set(k.algorithm.clone()),
                public_jwk: Set(k.public_jwk.clone()),
                sealed_private_key: Set(k.sealed_private_key.clone()),
                created_at: Set(k.created_at),
                retired_at: Set(None),
            })
            .exec(&txn)
            .await
            .map_err(storage)?;
        }
        crate::registry::record(&txn, audit).await?;
        self.commit(txn, &[Change::Keys]).await.map_err(storage)
    }

    async fn purge_expired(&self, purge: &Purge) -> DomainResult<u64> {
        let Purge {
            now,
            grants_revoked_before,
            rotated_before,
            replies_before,
            changes_before,
        } = *purge;
        let mut n = 0;
        // A rotated token is kept to detect its reuse (which ends its grant) for the reuse
        // detection window; after that, presenting it is merely an unknown token.
        n += refresh::Entity::delete_many()
            .filter(refresh::Column::RotatedAt.lt(rotated_before))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        // A sealed answer serves the grace window only; the rotated token itself stays (its
        // reuse must still end the grant) until it expires.
        n += refresh::Entity::update_many()
            .col_expr(refresh::Column::Reply, Expr::value(Option::<Vec<u8>>::None))
            .filter(refresh::Column::Reply.is_not_null())
            .filter(refresh::Column::RotatedAt.lt(replies_before))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        n += crate::entity::change_log::Entity::delete_many()
            .filter(crate::entity::change_log::Column::At.lt(changes_before))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        n += code::Entity::delete_many()
            .filter(code::Column::ExpiresAt.lt(now - 3600))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        n += crate::entity::pushed_request::Entity::delete_many()
            .filter(crate::entity::pushed_request::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        n += request_token::Entity::delete_many()
            .filter(request_token::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        n += revoked::Entity::delete_many()
            .filter(revoked::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        n += refresh::Entity::delete_many()
            .filter(refresh::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        // A revoked grant's refresh tokens can never be used again; they go once no access
        // token of the grant can be alive, so that a node of an earlier version (which deletes
        // any grant without refresh tokens a day old) never forgets a recent revocation during
        // a rolling upgrade.
        n += refresh::Entity::delete_many()
            .filter(
                refresh::Column::GrantId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(grant::Column::Id)
                        .from(grant::Entity)
                        .and_where(grant::Column::RevokedAt.lt(grants_revoked_before))
                        .to_owned(),
                ),
            )
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        // A grant without refresh tokens is over once no access token of it can be alive: not
        // revoked (its last refresh token expired, so its last access token long before), or
        // revoked longer ago than an access token lives.
        let empty = Condition::all().add(
            grant::Column::Id.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(refresh::Column::GrantId)
                    .from(refresh::Entity)
                    .to_owned(),
            ),
        );
        n += grant::Entity::delete_many()
            .filter(empty)
            .filter(
                Condition::any()
                    .add(grant::Column::RevokedAt.is_null())
                    .add(grant::Column::RevokedAt.lt(grants_revoked_before)),
            )
            .filter(grant::Column::CreatedAt.lt(now - 86_400))
            .exec(&self.db)
            .await
            .map_err(storage)?
            .rows_affected;
        Ok(n)
    }
}
