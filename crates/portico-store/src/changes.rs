//! How caches on every node learn about changes. Each node tells its own observers what it
//! changed right after the commit, before the call returns; on PostgreSQL it also NOTIFYs, and
//! every node LISTENs and relays what it hears. After a lost LISTEN connection observers get
//! [`Notice::Resync`] and drop everything they cached.

use portico_domain::Change;
pub use portico_domain::Notice;
use portico_domain::repo::NoticeObserver;
use sea_orm::sqlx::{PgPool, postgres::PgListener};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub(crate) const CHANNEL: &str = "portico_changes";
/// Each node NOTIFYs a heartbeat here every few seconds and times its own coming back: the
/// change-notice lag (`portico_change_notice_lag_seconds`), without comparing clocks.
/// Older nodes do not LISTEN to it.
const HEARTBEAT: &str = "portico_heartbeat";
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Default)]
pub(crate) struct ChangeFeed {
    observers: Arc<RwLock<Vec<NoticeObserver>>>,
}

impl ChangeFeed {
    pub(crate) fn observe(&self, observer: NoticeObserver) {
        self.observers
            .write()
            .expect("observers lock")
            .push(observer);
    }

    fn notify(&self, notice: Notice) {
        for o in self.observers.read().expect("observers lock").iter() {
            o(&notice);
        }
    }

    pub(crate) fn publish(&self, change: Change) {
        self.notify(Notice::Change(change));
    }

    pub(crate) fn resync(&self) {
        metrics::counter!("portico_change_notice_resyncs_total").increment(1);
        self.notify(Notice::Resync);
    }
}

/// This process's heartbeat id, and when its heartbeats left, in ms since the epoch.
fn heartbeat_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
}

fn epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn send_heartbeats(pool: PgPool) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tick.tick().await;
        let payload = format!("{}:{}", heartbeat_id(), epoch_ms());
        if let Err(e) = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
            .bind(HEARTBEAT)
            .bind(payload)
            .execute(&pool)
            .await
        {
            tracing::debug!(error = %e, "heartbeat not sent");
        }
    }
}

/// Records the lag of one of this node's own heartbeats; other nodes' are ignored.
fn heartbeat_back(payload: &str) {
    let Some((id, sent)) = payload.split_once(':') else {
        return;
    };
    if id != heartbeat_id() {
        return;
    }
    if let Ok(sent) = sent.parse::<i64>() {
        let lag = (epoch_ms() - sent).max(0) as f64 / 1000.0;
        metrics::histogram!("portico_change_notice_lag_seconds").record(lag);
        metrics::gauge!("portico_change_notice_last_lag_seconds").set(lag);
    }
}

/// Runs for the life of the process: LISTEN, relay, and on any break reconnect and resync.
pub(crate) async fn relay_notifications(pool: PgPool, feed: ChangeFeed) {
    let heartbeats = tokio::spawn(send_heartbeats(pool.clone()));
    let _stop = AbortOnDrop(heartbeats);
    loop {
        match listen(&pool, &feed).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "change notifications interrupted; reconnecting"),
        }
        feed.resync();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn listen(pool: &PgPool, feed: &ChangeFeed) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, HEARTBEAT]).await?;
    // Anything changed between the last notice and this LISTEN is unknown: start clean.
    feed.resync();
    loop {
        match listener.try_recv().await? {
            Some(n) if n.channel() == HEARTBEAT => heartbeat_back(n.payload()),
            Some(n) => match n.payload().parse::<Change>() {
                Ok(change) => {
                    tracing::debug!(change = n.payload(), "change notice received");
                    feed.publish(change)
                }
                Err(()) => tracing::warn!(payload = n.payload(), "unknown change notice ignored"),
            },
            // The connection was lost; sqlx reconnects on the next call, but notices sent in
            // between are gone.
            None => feed.resync(),
        }
    }
}

/// Stops the heartbeats when the relay ends (the store is dropped with its runtime).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// SQLite: every change is in the change log (the same transaction as the change), so a
/// process follows the others' by reading it: one query every half second. Its own changes
/// come round again, which only drops a cache entry twice. If what comes next is not the
/// next entry (the log was pruned past what was read), everything cached is forgotten (a
/// resync), as after a lost LISTEN: a cache only ever forgets, so a refusal is never undone.
pub(crate) async fn follow_change_log(store: crate::Store) {
    use portico_domain::repo::FeedStore;
    const EVERY: Duration = Duration::from_millis(500);
    const BATCH: u64 = 500;
    let mut last = loop {
        match store.change_log_bounds().await {
            Ok((_, max)) => break max,
            Err(_) => tokio::time::sleep(EVERY).await,
        }
    };
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        loop {
            let Ok(batch) = store.changes_after(last, BATCH).await else {
                break;
            };
            if batch.first().is_some_and(|(seq, _)| *seq > last + 1) {
                store.publish_resync();
            }
            let full = batch.len() as u64 == BATCH;
            for (seq, text) in batch {
                last = seq;
                match text.parse::<Change>() {
                    Ok(change) => store.publish_change(change),
                    Err(()) => tracing::warn!(change = %text, "unknown change in the log ignored"),
                }
            }
            if !full {
                break;
            }
        }
    }
}
