//! Portico's storage: sea-orm over SQLite (the embedded default) or PostgreSQL (production),
//! through one code path. [`Store`] implements the domain's storage ports; every write commits
//! its audit row in the same transaction and announces what changed (see [`changes`]).

pub mod changes;
mod connections;
mod entity;
mod failures;
mod feed;
mod pushed;
mod registry;
mod replay;
mod tokens;

use changes::ChangeFeed;
use portico_domain::{Change, DomainError};
use portico_migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqlErr, Statement, TransactionTrait,
};
use std::time::Duration;

/// How long a request waits for a database connection unless configured otherwise.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    feed: ChangeFeed,
    replay: std::sync::Arc<replay::ReplayGate>,
}

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, or `postgres://...`). A SQLite
    /// file and its directory are created if missing; SQLite runs in WAL mode so readers do not
    /// wait for the writer.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbErr> {
        Self::connect_with(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Store::connect`], waiting at most `acquire_timeout` for a connection. While the
    /// database is down, sqlx retries connecting until then: this bounds how long a request
    /// that needs the database waits before it is answered 503 (never a hang).
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, DbErr> {
        let url = prepare_sqlite_url(url)?;
        let mut opt = ConnectOptions::new(url);
        opt.max_connections(max_connections.max(1))
            .min_connections(1)
            .connect_timeout(acquire_timeout)
            .acquire_timeout(acquire_timeout)
            // sqlx pings every connection it hands out by default: a round trip (on SQLite, a
            // hop to the connection's thread) before every statement outside a transaction.
            // Only connections idle this long are checked; a dead one still fails its query.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        let mut db = Database::connect(opt).await?;
        // Every statement's time, for `portico_db_query_duration_seconds` (a no-op unless
        // the binary installed a metrics recorder).
        db.set_metric_callback(|info| {
            let outcome = if info.failed { "error" } else { "ok" };
            metrics::histogram!("portico_db_query_duration_seconds", "outcome" => outcome)
                .record(info.elapsed.as_secs_f64());
        });
        Ok(Self {
            db,
            feed: ChangeFeed::default(),
            replay: Default::default(),
        })
    }

    /// Applies pending migrations; idempotent.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        portico_migration::Migrator::up(&self.db, None).await
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }

    /// Sets the connection pool's gauges (read when metrics are scraped).
    pub fn sample_metrics(&self) {
        let (size, idle, max) = match self.backend() {
            DbBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
            _ => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
        };
        let in_use = (size as usize).saturating_sub(idle);
        metrics::gauge!("portico_db_pool_connections", "state" => "in_use").set(in_use as f64);
        metrics::gauge!("portico_db_pool_connections", "state" => "idle").set(idle as f64);
        metrics::gauge!("portico_db_pool_max_connections").set(f64::from(max));
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.db.close().await
    }

    /// Relays changes made by other processes on this database into the observers: on
    /// PostgreSQL other nodes' (LISTEN/NOTIFY); on SQLite, which has no notifications, those of
    /// a CLI next to the server, read from the change log twice a second.
    pub fn listen_for_changes(&self) -> Option<tokio::task::JoinHandle<()>> {
        Some(if self.backend() == DbBackend::Postgres {
            let pool = self.db.get_postgres_connection_pool().clone();
            tokio::spawn(changes::relay_notifications(pool, self.feed.clone()))
        } else {
            tokio::spawn(changes::follow_change_log(self.clone()))
        })
    }

    /// Publishes to this process's observers (the change-log follower on SQLite).
    pub(crate) fn publish_change(&self, change: Change) {
        self.feed.publish(change);
    }

    pub(crate) fn publish_resync(&self) {
        self.feed.resync();
    }

    /// Commits `txn` and announces `changes`: on PostgreSQL inside the transaction (NOTIFY is
    /// delivered on commit, so other nodes never hear of a change that rolled back), and to this
    /// node's observers right after the commit.
    async fn commit(&self, txn: DatabaseTransaction, changes: &[Change]) -> Result<(), DbErr> {
        if !changes.is_empty() {
            log_changes(&txn, changes).await?;
        }
        if txn.get_database_backend() == DbBackend::Postgres {
            for change in changes {
                tracing::debug!(change = %change.encode(), "change notice sent");
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [changes::CHANNEL.into(), change.encode().into()],
                ))
                .await?;
            }
        }
        txn.commit().await?;
        for change in changes {
            self.feed.publish(change.clone());
        }
        Ok(())
    }

    /// A write transaction. On SQLite it takes the write lock at `BEGIN` (IMMEDIATE), waiting
    /// up to the busy timeout: a deferred transaction that read first could not upgrade while
    /// another one writes (SQLite answers "database is locked" at once, without waiting, or
    /// with SQLITE_BUSY_SNAPSHOT), which made concurrent admin writes fail with 503 and 500.
    /// PostgreSQL ignores the mode.
    async fn begin(&self) -> Result<DatabaseTransaction, DomainError> {
        self.db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(storage)
    }
}

/// The change log is the revocation feed's memory: a reader that has seen `seq` N must never
/// later find a smaller one committed. Its `seq` is taken from a sequence at insert time, so on
/// PostgreSQL the inserting transactions take one advisory lock until they commit (log order =
/// commit order); SQLite has one writer at a time anyway. The lock is taken last, after every
/// row lock of the transaction, so it cannot deadlock; only registry writes and revocations
/// pass here, never the token endpoint's hot path.
async fn log_changes(txn: &DatabaseTransaction, changes: &[Change]) -> Result<(), DbErr> {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({CHANGE_LOG_LOCK})"),
        ))
        .await?;
    }
    let at = chrono::Utc::now().timestamp();
    entity::change_log::Entity::insert_many(changes.iter().map(|c| {
        entity::change_log::ActiveModel {
            change: Set(c.encode()),
            at: Set(at),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    Ok(())
}

/// The advisory lock that orders change-log writers ("PRTC").
const CHANGE_LOG_LOCK: i64 = 0x5052_5443;

/// Observers hear of changes made by this node and, on PostgreSQL once
/// [`Store::listen_for_changes`] runs, by every other node.
impl portico_domain::repo::ChangeNotices for Store {
    fn observe_changes(&self, observer: portico_domain::repo::NoticeObserver) {
        self.feed.observe(observer);
    }

    fn notices_current(&self) -> bool {
        self.feed.current()
    }
}

/// `sqlite://data/portico.db` → the same with `?mode=rwc`, after creating `data/`.
fn prepare_sqlite_url(url: &str) -> Result<String, DbErr> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(url.to_owned());
    };
    let path = rest.trim_start_matches("//");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create the directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    if query.contains("mode=") {
        Ok(url.to_owned())
    } else if query.is_empty() {
        Ok(format!("{url}?mode=rwc"))
    } else {
        Ok(format!("{url}&mode=rwc"))
    }
}

/// A database failure the caller cannot fix: logged by the layer that answers, never shown.
pub(crate) fn storage(e: DbErr) -> DomainError {
    if unavailable(&e) {
        tracing::warn!(error = %e, "the database is unavailable");
        return DomainError::Unavailable {
            retry_after_seconds: 1,
        };
    }
    DomainError::storage(e)
}

/// Whether an error is the database's outage (down, restarting, unreachable, the pool out of
/// connections) rather than this request's: such errors are answered 503 with Retry-After, and
/// the request can be retried as it is.
fn unavailable(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error as X};
    let x = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(x))
        | DbErr::Exec(RuntimeErr::SqlxError(x))
        | DbErr::Query(RuntimeErr::SqlxError(x)) => x,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match &**x {
        X::Io(_) | X::PoolTimedOut | X::PoolClosed | X::WorkerCrashed | X::Tls(_) => true,
        // PostgreSQL: class 08 (connection exception) and 57P (admin or crash shutdown,
        // cannot connect now); SQLite (codes of at most 4 digits, where PostgreSQL's are 5
        // characters): busy or locked past the busy timeout, extended codes included
        // (517, BUSY_SNAPSHOT: a read transaction that tried to write).
        X::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08")
                || c.starts_with("57P")
                || (c.len() <= 4 && c.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)))
        }),
        _ => false,
    }
}

/// A unique-key violation becomes a conflict the caller can act on; anything else is storage.
pub(crate) fn unique_or_storage(e: DbErr, code: &'static str, message: &str) -> DomainError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => DomainError::conflict(code, message),
        _ => storage(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = std::env::temp_dir().join(format!("portico-url-{}", std::process::id()));
        let url = format!("sqlite://{}/x.db", dir.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
        assert_eq!(
            prepare_sqlite_url("postgres://x/y").unwrap(),
            "postgres://x/y"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn an_outage_is_unavailable_not_a_server_error() {
        use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};
        let down = |e: sqlx::Error| DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(e)));
        for e in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            down(sqlx::Error::PoolTimedOut),
            down(sqlx::Error::PoolClosed),
            down(sqlx::Error::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            ))),
        ] {
            assert!(
                matches!(storage(e), DomainError::Unavailable { .. }),
                "an outage"
            );
        }
        // A bad statement or a broken row is a server error, never a 503 to retry.
        for e in [
            DbErr::Custom("bug".into()),
            DbErr::RecordNotFound("x".into()),
            down(sqlx::Error::RowNotFound),
        ] {
            assert!(matches!(storage(e), DomainError::Storage(_)));
        }
    }

    /// An outage through the real driver: nothing listens on the port.
    #[tokio::test]
    async fn a_database_that_is_down_is_answered_quickly() {
        let started = std::time::Instant::now();
        let err = Store::connect_with(
            "postgres://postgres@127.0.0.1:1/none",
            1,
            Duration::from_millis(300),
        )
        .await
        .err()
        .expect("nothing listens on port 1");
        assert!(matches!(storage(err), DomainError::Unavailable { .. }));
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
