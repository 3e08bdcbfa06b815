//! Portico's OAuth 2.0 service: the token endpoint's grants, one module each (`grants`), over
//! one client authentication (`client`); the authorization endpoint (`authorize`) and pushed
//! authorization requests (`par`, RFC 9126); JWT access tokens and their keys; introspection
//! (RFC 7662), revocation (RFC 7009), metadata (RFC 8414); and the caches that keep the hot
//! path off the database (`directory`). oxide-auth runs the authorization request and the code
//! exchange, behind one module (`oxide`).
//!
//! It depends on the domain, its storage ports, and `portico-guard` (argon2 pool, failure
//! budgets, password checks); the registry's use cases and permission checks are not its
//! business.

mod authorize;
mod client;
pub mod directory;
mod dpop;
pub mod error;
pub mod feed;
mod grace;
mod grants;
mod id_token;
mod introspect;
mod issue;
pub mod jwt;
pub mod keys;
mod metadata;
mod oxide;
mod par;
pub mod params;
pub mod settings;
pub mod telemetry;
mod token;
mod userinfo;

/// How long the change log keeps what the revocation feed replays (seconds).
pub const CHANGE_LOG_RETENTION: i64 = 86_400;

pub use authorize::{AuthorizeStep, Consent, ConsentScope, Decision, SignedInUser};
pub use client::{AuthMethod, PresentedClient};
pub use dpop::{DpopHeader, ResourceRequest, TokenScheme};
pub use error::{OAuthError, OAuthResult};
pub use introspect::{BearerError, Introspection};
pub use issue::IssuedTokens;
pub use par::PushedAuthorization;
pub use settings::{OAuthSettings, PushedAuthorizationSettings, SigningAlgorithm};

use directory::{Directory, OAuthStore};
use keys::{KeyError, KeyRing, MasterKey};
use portico_domain::{ApiCatalog, Notice};
use portico_guard::PasswordCheck;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::Notify;

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The token service; cheap to clone.
#[derive(Clone)]
pub struct OAuthService {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) settings: OAuthSettings,
    pub(crate) catalog: Arc<ApiCatalog>,
    pub(crate) directory: Directory,
    /// The password grant's checks, shared with the admin sign-in.
    pub(crate) passwords: Arc<PasswordCheck>,
    keys: RwLock<Arc<KeyRing>>,
    /// Access tokens introspected recently whose signature checked out (see `jwt`).
    pub(crate) verified: jwt::VerifiedTokens,
    master: MasterKey,
    /// Wakes the task that reloads what cannot be reloaded inside a notice: keys, revocations.
    reload: Arc<Notify>,
    reload_revocations: AtomicBool,
    /// Bumped on every change notice: wakes the revocation feed's readers.
    pub(crate) feed_wake: tokio::sync::watch::Sender<u64>,
    /// Set on shutdown: the feed's streams end (their readers resume on another node).
    pub(crate) feeds_closed: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("signing keys: {0}")]
    Keys(#[from] KeyError),
    #[error("{0}")]
    Storage(#[from] OAuthError),
}

impl Inner {
    pub(crate) fn keys(&self) -> Arc<KeyRing> {
        self.keys.read().expect("key ring lock").clone()
    }

    /// How long a retired key stays published: as long as its tokens may live, plus a margin.
    fn keep_retired(&self) -> i64 {
        self.settings.access_token_ttl + 300
    }

    /// Rebuilds the key ring if the stored keys changed (a rotation on this or another node).
    async fn reload_keys(&self) -> Result<(), StartError> {
        let records = self
            .directory
            .store()
            .signing_keys()
            .await
            .map_err(OAuthError::from)?;
        if self.keys().is_current(&records) {
            return Ok(());
        }
        let ring = KeyRing::build(
            &records,
            &self.master,
            now(),
            self.keep_retired(),
            self.settings.key_use(),
        )?;
        tracing::info!(kid = ring.kid(), "signing keys reloaded");
        *self.keys.write().expect("key ring lock") = Arc::new(ring);
        Ok(())
    }
}

impl OAuthService {
    /// Sets the gauges read when metrics are scraped: the signing keys and their age.
    pub fn sample_metrics(&self) {
        telemetry::signing_keys(self.inner.keys().published(), now());
    }

    /// Loads (or on first start, makes) the signing keys and the revocation lists, subscribes to
    /// change notices, and starts the background work: reloading keys after a rotation,
    /// purging expired tokens.
    pub async fn start(
        settings: OAuthSettings,
        store: Arc<dyn OAuthStore>,
        catalog: Arc<ApiCatalog>,
        passwords: Arc<PasswordCheck>,
        master: MasterKey,
    ) -> Result<Self, StartError> {
        let now = now();
        let mut records = store.signing_keys().await.map_err(OAuthError::from)?;
        let uses = settings.key_use();
        if !uses.is_served_by(&records) {
            // First start, or the operator chose another algorithm (or this version signs ID
            // tokens with a key the store lacks): a new set of keys takes over and the old ones
            // stay published while their tokens live.
            rotate_keys(&*store, &master, uses).await?;
            records = store.signing_keys().await.map_err(OAuthError::from)?;
        }
        let keep_retired = settings.access_token_ttl + 300;
        let ring = KeyRing::build(&records, &master, now, keep_retired, uses)?;
        let directory = Directory::new(
            store.clone(),
            settings.revocation_cache_entries,
            settings.client_failures,
        );
        directory
            .load_revocations(now, settings.access_token_ttl)
            .await?;
        let inner = Arc::new(Inner {
            settings,
            catalog,
            directory,
            passwords,
            keys: RwLock::new(Arc::new(ring)),
            verified: jwt::VerifiedTokens::default(),
            master,
            reload: Arc::new(Notify::new()),
            reload_revocations: AtomicBool::new(false),
            feed_wake: tokio::sync::watch::Sender::new(0),
            feeds_closed: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&inner);
        store.observe_changes(Arc::new(move |notice: &Notice| {
            if let Some(inner) = weak.upgrade() {
                inner.on_notice(notice);
            }
        }));
        tokio::spawn(reloader(Arc::downgrade(&inner), inner.reload.clone()));
        tokio::spawn(housekeeping(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.inner.settings
    }

    /// Ends every revocation feed stream (at shutdown).
    pub fn close_feeds(&self) {
        self.inner.feeds_closed.store(true, Ordering::Release);
        self.inner.feed_wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The JWKS document.
    pub fn jwks(&self) -> String {
        self.inner.keys().jwks().to_owned()
    }

    /// Adds a new signing key; it signs from now on, on every node, and the old one stays
    /// published while its tokens live.
    pub async fn rotate_keys(&self) -> Result<String, StartError> {
        rotate_keys(
            self.inner.directory.store(),
            &self.inner.master,
            self.inner.settings.key_use(),
        )
        .await?;
        self.inner.reload_keys().await?;
        Ok(self.inner.keys().kid().to_owned())
    }
}

/// Adds a new active key for each algorithm in use, retiring the old ones (also used by
/// `portico keys rotate` without a running server). Returns the access-token key's kid.
pub async fn rotate_keys(
    store: &dyn OAuthStore,
    master: &MasterKey,
    uses: keys::KeyUse,
) -> Result<String, StartError> {
    let now = now();
    let mut set = Vec::new();
    for alg in uses.algorithms() {
        let key = keys::generate_key(alg, master, now)?;
        tracing::info!(kid = %key.kid, algorithm = %key.algorithm, "new signing key");
        set.push(key);
    }
    // Audited with the kids and algorithms only: the keys themselves never leave the store.
    let audit = portico_domain::AuditEvent::new::<(), _>(
        None,
        None,
        portico_domain::AuditAction::KeysRotate,
        ("signing_keys", set[0].kid.clone()),
        None,
        Some(&serde_json::json!({
            "keys": set.iter().map(|k| serde_json::json!({ "kid": k.kid, "algorithm": k.algorithm })).collect::<Vec<_>>(),
        })),
    );
    store
        .add_signing_keys(&set, now, &audit)
        .await
        .map_err(OAuthError::from)?;
    Ok(set[0].kid.clone())
}

impl Inner {
    /// Applies a notice to the caches at once; what needs the database is left to `reloader`.
    fn on_notice(&self, notice: &Notice) {
        self.feed_wake.send_modify(|n| *n = n.wrapping_add(1));
        if self
            .directory
            .apply(notice, now(), self.settings.access_token_ttl)
        {
            if *notice == Notice::Resync {
                self.reload_revocations.store(true, Ordering::Release);
            }
            self.reload.notify_one();
        }
    }
}

/// Holds only a weak reference between wake-ups, so a dropped service is not kept alive.
async fn reloader(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(inner) = inner.upgrade() else { return };
        if let Err(e) = inner.reload_keys().await {
            tracing::error!(error = %e, "reloading signing keys failed");
        }
        if inner.reload_revocations.swap(false, Ordering::AcqRel)
            && let Err(e) = inner
                .directory
                .load_revocations(now(), inner.settings.access_token_ttl)
                .await
        {
            tracing::error!(error = %e, "reloading revocations failed");
        }
    }
}

/// Every few seconds: notice key rotations made by another process (the CLI on SQLite, where
/// there is no NOTIFY). Every few minutes: drop what has expired.
async fn housekeeping(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut rounds: u64 = 0;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        if let Err(e) = inner.reload_keys().await {
            tracing::warn!(error = %e, "checking signing keys failed");
        }
        rounds += 1;
        // A revocation list that overflowed (or missed notices) asks the database for what it
        // cannot answer; once a minute, try to make it whole again.
        if rounds.is_multiple_of(12)
            && inner.directory.revocations_incomplete()
            && let Err(e) = inner
                .directory
                .load_revocations(now(), inner.settings.access_token_ttl)
                .await
        {
            tracing::warn!(error = %e, "reloading revocations failed");
        }
        if rounds.is_multiple_of(120) {
            let now = now();
            inner
                .directory
                .prune_revocations(now, inner.settings.access_token_ttl);
            // Sealed grace replies are useless once their window has passed; the change log
            // is kept a day (a feed reader further behind gets a snapshot instead).
            let purge = portico_domain::repo::Purge {
                now,
                grants_revoked_before: now - inner.settings.access_token_ttl - 300,
                rotated_before: now - inner.settings.refresh_reuse_detection,
                replies_before: now - inner.settings.refresh_grace.max(0) - 1,
                changes_before: now - CHANGE_LOG_RETENTION,
            };
            match inner.directory.store().purge_expired(&purge).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired tokens purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired tokens failed"),
            }
            if let Err(e) = inner.directory.store().purge_used(now).await {
                tracing::warn!(error = %e, "purging used jtis failed");
            }
            if let Err(e) = inner.directory.limiter.purge(now * 1000).await {
                tracing::warn!(error = %e, "purging failure budgets failed");
            }
        }
    }
}
