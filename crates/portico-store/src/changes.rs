//! How caches on every node learn about changes. Each node publishes what it changed to its own
//! subscribers at once; on PostgreSQL it also NOTIFYs, and every node LISTENs and relays what it
//! hears. A subscriber that may have missed notices (a lost LISTEN connection, a lagging
//! receiver) gets [`Notice::Resync`] and drops everything it cached.

use portico_domain::Change;
pub use portico_domain::Notice;
use sea_orm::sqlx::{PgPool, postgres::PgListener};
use std::time::Duration;
use tokio::sync::broadcast;

pub(crate) const CHANNEL: &str = "portico_changes";

#[derive(Clone)]
pub(crate) struct ChangeFeed {
    tx: broadcast::Sender<Notice>,
}

impl ChangeFeed {
    pub(crate) fn new() -> Self {
        Self {
            tx: broadcast::channel(4096).0,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }

    pub(crate) fn publish(&self, change: Change) {
        // No subscriber is fine: nothing is cached yet.
        let _ = self.tx.send(Notice::Change(change));
    }

    fn resync(&self) {
        let _ = self.tx.send(Notice::Resync);
    }
}

/// Runs for the life of the process: LISTEN, relay, and on any break reconnect and resync.
pub(crate) async fn relay_notifications(pool: PgPool, feed: ChangeFeed) {
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
    listener.listen(CHANNEL).await?;
    // Anything changed between the last notice and this LISTEN is unknown: start clean.
    feed.resync();
    loop {
        match listener.try_recv().await? {
            Some(n) => match n.payload().parse::<Change>() {
                Ok(change) => feed.publish(change),
                Err(()) => tracing::warn!(payload = n.payload(), "unknown change notice ignored"),
            },
            // The connection was lost; sqlx reconnects on the next call, but notices sent in
            // between are gone.
            None => feed.resync(),
        }
    }
}
