//! Used `jti`s: one insert decides, on every node at once, whether a client assertion or a
//! DPoP proof was seen before (the primary key refuses the second).
//!
//! Every private_key_jwt authentication and DPoP proof needs that decision committed before it
//! is accepted, which made one write transaction per request the most expensive part of those
//! paths (on SQLite, writers also queue for the one write lock). So the inserts are
//! group-committed: concurrent callers on this node join one pending batch, one task writes
//! the batch as a single `INSERT … ON CONFLICT DO NOTHING RETURNING digest`, and each caller
//! is answered from what that statement returned, after it committed. Nothing is decided in
//! memory: a `jti` is accepted only if this statement inserted it, so the database stays the
//! one shared truth, and a failed batch refuses all of its callers (fail closed).

use crate::{Store, entity::used_jti, storage};
use async_trait::async_trait;
use portico_domain::{DomainError, DomainResult, TokenDigest, repo::ReplayStore};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Rows per statement: well under either backend's bound on bound parameters (the batch is
/// one JSON parameter anyway) and small enough that one statement stays short.
const MAX_BATCH: usize = 512;

/// The pending batch of this node's replay checks.
#[derive(Default)]
pub(crate) struct ReplayGate {
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    pending: Vec<Waiter>,
    /// Whether a writer task is running; it takes whatever is pending when it starts a batch.
    writing: bool,
}

struct Waiter {
    digest: String,
    expires_at: i64,
    answer: oneshot::Sender<DomainResult<bool>>,
}

impl ReplayGate {
    async fn first_use(
        self: &Arc<Self>,
        db: &DatabaseConnection,
        digest: &TokenDigest,
        expires_at: i64,
    ) -> DomainResult<bool> {
        let (answer, answered) = oneshot::channel();
        let start_writer = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.pending.push(Waiter {
                digest: digest.0.clone(),
                expires_at,
                answer,
            });
            !std::mem::replace(&mut state.writing, true)
        };
        if start_writer {
            // A task of its own, so a caller that goes away (its client hung up) cannot
            // abandon the batch the others wait for.
            tokio::spawn(Arc::clone(self).write_pending(db.clone()));
        }
        // A writer that ended without answering (the runtime is shutting down): refused.
        answered.await.unwrap_or(Err(DomainError::Unavailable {
            retry_after_seconds: 1,
        }))
    }

    /// Writes batches until nothing is pending; callers arriving meanwhile join the next one.
    async fn write_pending(self: Arc<Self>, db: DatabaseConnection) {
        loop {
            let batch: Vec<Waiter> = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if state.pending.is_empty() {
                    state.writing = false;
                    return;
                }
                let take = state.pending.len().min(MAX_BATCH);
                state.pending.drain(..take).collect()
            };
            write_batch(&db, batch).await;
        }
    }
}

/// Inserts the batch's digests in one statement and answers every waiter. A digest twice in
/// one batch is sent once: its first caller gets what the database says, the others `false`.
async fn write_batch(db: &DatabaseConnection, batch: Vec<Waiter>) {
    let mut seen = HashSet::with_capacity(batch.len());
    let rows: Vec<serde_json::Value> = batch
        .iter()
        .filter(|w| seen.insert(w.digest.as_str()))
        .map(|w| serde_json::json!([w.digest, w.expires_at]))
        .collect();
    match insert_new(db, serde_json::Value::Array(rows).to_string()).await {
        Ok(inserted) => {
            let mut inserted: HashSet<String> = inserted.into_iter().collect();
            for w in batch {
                // `remove`: only the first caller of a digest may have inserted it.
                let first = inserted.remove(&w.digest);
                let _ = w.answer.send(Ok(first));
            }
        }
        Err(e) => {
            let e = storage(e);
            for w in batch {
                let _ = w.answer.send(Err(same_error(&e)));
            }
        }
    }
}

/// The digests the statement inserted (the others were there already).
async fn insert_new(db: &DatabaseConnection, rows: String) -> Result<Vec<String>, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    // One parameter whatever the batch size, so each backend prepares this statement once.
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO used_jtis (digest, expires_at) \
             SELECT r->>0, (r->>1)::bigint FROM json_array_elements($1::json) AS r \
             ON CONFLICT (digest) DO NOTHING RETURNING digest"
        }
        // SQLite needs a WHERE before ON CONFLICT when the rows come from a SELECT.
        _ => {
            "INSERT INTO used_jtis (digest, expires_at) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') \
             FROM json_each(?1) WHERE true \
             ON CONFLICT (digest) DO NOTHING RETURNING digest"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [rows.into()]))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "digest"))
        .collect()
}

fn same_error(e: &DomainError) -> DomainError {
    match e {
        DomainError::Unavailable {
            retry_after_seconds,
        } => DomainError::Unavailable {
            retry_after_seconds: *retry_after_seconds,
        },
        other => DomainError::Storage(other.to_string()),
    }
}

#[async_trait]
impl ReplayStore for Store {
    async fn first_use(&self, digest: &TokenDigest, expires_at: i64) -> DomainResult<bool> {
        self.replay.first_use(&self.db, digest, expires_at).await
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
