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

    fn resync(&self) {
        self.notify(Notice::Resync);
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
