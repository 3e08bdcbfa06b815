//! How caches on every node learn about changes. Each node tells its own observers what it
//! changed right after the commit, before the call returns; on PostgreSQL it also NOTIFYs, and
//! every node LISTENs and relays what it hears. After a lost LISTEN connection observers get
//! [`Notice::Resync`] and drop everything they cached.

use portico_domain::Change;
pub use portico_domain::Notice;
use portico_domain::repo::NoticeObserver;
use sea_orm::sqlx::{Connection, PgConnection, PgPool, postgres::PgListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub(crate) const CHANNEL: &str = "portico_changes";
/// Each node NOTIFYs a heartbeat here and hears it come back on its LISTEN connection. Its
/// return proves that every change committed before it was sent has reached this node's
/// observers (PostgreSQL delivers notifications in commit order), which is what the caches'
/// lease rests on; it also times the change-notice lag
/// (`portico_change_notice_lag_seconds`) without comparing clocks. Older nodes ignore
/// heartbeats that are not their own.
const HEARTBEAT: &str = "portico_heartbeat";
const HEARTBEAT_EVERY: Duration = Duration::from_millis(250);
/// How long caches are trusted after the last heartbeat that came back: within the README's
/// promise that a change on one node holds on every other within a second, with room for the
/// poll that notices it; two heartbeats may be late before it lapses. A LISTEN connection that
/// goes silent (a partition, a stopped backend: nothing tells the socket) lapses the lease, and
/// the node answers from storage, or not at all, instead of from what it cached.
pub(crate) const LEASE: Duration = Duration::from_millis(750);

#[derive(Clone, Default)]
pub(crate) struct ChangeFeed {
    observers: Arc<RwLock<Vec<NoticeObserver>>>,
    lease: Arc<Lease>,
}

/// Whether this node's caches may answer (see [`LEASE`]). Without a relay (SQLite, or a store
/// that does not listen) every change a cache must hear comes from this process, synchronously,
/// or from the change log it follows: always current.
#[derive(Default)]
struct Lease {
    relayed: AtomicBool,
    /// One more than the process time (ns) at which the last heartbeat that came back was
    /// sent; 0 before the first.
    confirmed: AtomicU64,
}

/// Nanoseconds since this process first asked: a monotonic clock that heartbeats carry.
fn process_nanos() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
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

    /// Whether every change committed on any node more than [`LEASE`] ago has reached this
    /// node's observers.
    pub(crate) fn current(&self) -> bool {
        if !self.lease.relayed.load(Ordering::Acquire) {
            return true;
        }
        match self.lease.confirmed.load(Ordering::Acquire) {
            0 => false,
            c => process_nanos().saturating_sub(c - 1) < LEASE.as_nanos() as u64,
        }
    }

    /// Whether a lease this node had has run out (not before the first heartbeat came back:
    /// starting is not a lapse).
    fn lapsed(&self) -> bool {
        self.lease.confirmed.load(Ordering::Acquire) != 0 && !self.current()
    }

    /// From now on caches answer only within the lease.
    fn relayed(&self) {
        self.lease.relayed.store(true, Ordering::Release);
    }

    /// One of this node's heartbeats, sent at `sent` (process ns), came back.
    fn confirmed(&self, sent: u64) {
        self.lease.confirmed.fetch_max(sent + 1, Ordering::AcqRel);
    }
}

/// This process's heartbeat id.
fn heartbeat_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Sends heartbeats on a connection of their own, so a busy pool cannot delay them into a
/// lapsed lease; any failure reconnects. Each tick at which the lease had lapsed is counted
/// (`portico_change_notice_lease_lapses_total`, a quarter second each): the time this node
/// answered from storage instead of its caches.
async fn send_heartbeats(pool: PgPool, feed: ChangeFeed) {
    let options = pool.connect_options();
    loop {
        let mut conn = match tokio::time::timeout(LEASE, PgConnection::connect_with(&options)).await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "heartbeat connection failed");
                tokio::time::sleep(HEARTBEAT_EVERY).await;
                continue;
            }
            Err(_) => continue,
        };
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if feed.lapsed() {
                metrics::counter!("portico_change_notice_lease_lapses_total").increment(1);
            }
            let payload = format!("{}:{}", heartbeat_id(), process_nanos());
            let sent = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                .bind(HEARTBEAT)
                .bind(payload)
                .execute(&mut conn);
            match tokio::time::timeout(LEASE, sent).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "heartbeat not sent");
                    break;
                }
                Err(_) => {
                    tracing::debug!("heartbeat timed out");
                    break;
                }
            }
        }
    }
}

/// One of this node's own heartbeats came back: it renews the lease and records the lag;
/// other nodes' are ignored.
fn heartbeat_back(feed: &ChangeFeed, payload: &str) {
    let Some((id, sent)) = payload.split_once(':') else {
        return;
    };
    if id != heartbeat_id() {
        return;
    }
    if let Ok(sent) = sent.parse::<u64>() {
        feed.confirmed(sent);
        let lag = process_nanos().saturating_sub(sent) as f64 / 1e9;
        metrics::histogram!("portico_change_notice_lag_seconds").record(lag);
        metrics::gauge!("portico_change_notice_last_lag_seconds").set(lag);
    }
}

/// Runs for the life of the process: LISTEN, relay, and on any break reconnect and resync.
pub(crate) async fn relay_notifications(pool: PgPool, feed: ChangeFeed) {
    feed.relayed();
    let heartbeats = tokio::spawn(send_heartbeats(pool.clone(), feed.clone()));
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
            Some(n) if n.channel() == HEARTBEAT => heartbeat_back(feed, n.payload()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_lasts_a_second_from_the_last_heartbeat_that_came_back() {
        let feed = ChangeFeed::default();
        assert!(
            feed.current(),
            "without a relay every change is this process's own"
        );
        feed.relayed();
        assert!(!feed.current(), "relayed, and no heartbeat back yet");
        let sent = process_nanos();
        feed.confirmed(sent);
        assert!(feed.current());
        // A heartbeat overtaken by a newer one does not move the lease back.
        feed.confirmed(0);
        assert!(feed.current());
        // One sent longer ago than the lease proves too little.
        while process_nanos() < LEASE.as_nanos() as u64 + 5_000_000 {
            std::thread::sleep(Duration::from_millis(50));
        }
        let stale = ChangeFeed::default();
        stale.relayed();
        assert!(
            !stale.current() && !stale.lapsed(),
            "starting is not a lapse"
        );
        stale.confirmed(process_nanos() - LEASE.as_nanos() as u64 - 1_000_000);
        assert!(!stale.current() && stale.lapsed());
        stale.confirmed(process_nanos());
        assert!(stale.current() && !stale.lapsed());
    }
}
