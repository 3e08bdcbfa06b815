//! What the token endpoints look up on every request, cached: apps (with their secret hashes),
//! enablements, companies, users, and the revocation lists. Every node drops an entry the
//! moment it hears the entry changed (see `portico_domain::Notice`); a load that raced with a
//! change is not cached, so a stale value cannot be put back after its eviction.

use crate::error::OAuthResult;
use portico_domain::{
    AppId, Change, Company, CompanyId, Notice, PartnerApp, RefreshTokenRecord, RequestTokenRecord,
    TokenDigest, TokenGrant, User, UserId,
    repo::{ChangeNotices, ClientSecrets, RegistryStore, TokenStore},
};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Everything the token service reads from storage.
pub trait OAuthStore: RegistryStore + TokenStore + ChangeNotices {}
impl<T: RegistryStore + TokenStore + ChangeNotices> OAuthStore for T {}

/// Caches are dropped wholesale past this many entries: crude, but it bounds memory without an
/// eviction policy on the hot path.
const MAX_ENTRIES: usize = 50_000;

/// A registered app as the token endpoints need it, plus the secrets verified recently.
pub struct ClientEntry {
    pub app: PartnerApp,
    pub(crate) secrets: ClientSecrets,
    /// Digests of (client_id, secret) pairs that passed argon2, with the time until which each
    /// stays valid (None: as long as this entry lives, i.e. until the app changes).
    pub(crate) verified: Mutex<Vec<(TokenDigest, Option<i64>)>>,
    /// One argon2 run at a time per app: concurrent first requests wait and then hit the cache.
    pub(crate) verifying: tokio::sync::Mutex<()>,
}

struct Cache<K, V> {
    map: RwLock<HashMap<K, V>>,
    max: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Self::bounded(MAX_ENTRIES)
    }

    fn bounded(max: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            max,
        }
    }

    fn take(&self, k: &K) -> Option<V> {
        self.map.write().expect("cache lock").remove(k)
    }

    fn get(&self, k: &K) -> Option<V> {
        self.map.read().expect("cache lock").get(k).cloned()
    }

    fn put(&self, k: K, v: V) {
        let mut m = self.map.write().expect("cache lock");
        if m.len() >= self.max {
            m.clear();
        }
        m.insert(k, v);
    }

    fn remove(&self, k: &K) {
        self.map.write().expect("cache lock").remove(k);
    }

    fn retain(&self, f: impl FnMut(&K, &mut V) -> bool) {
        self.map.write().expect("cache lock").retain(f);
    }

    fn clear(&self) {
        self.map.write().expect("cache lock").clear();
    }
}

pub struct Directory {
    store: Arc<dyn OAuthStore>,
    /// Bumped by every eviction; a load only caches its result if no eviction happened while it
    /// ran.
    epoch: AtomicU64,
    apps: Cache<AppId, Arc<ClientEntry>>,
    enablements: Cache<(CompanyId, AppId), Option<bool>>,
    companies: Cache<CompanyId, Arc<Company>>,
    users: Cache<UserId, Arc<User>>,
    /// Revoked access tokens still within their lifetime: jti → exp.
    revoked_jtis: Cache<String, i64>,
    /// Grants revoked recently enough that access tokens of theirs may be alive: id → when.
    revoked_grants: Cache<String, i64>,
    /// Company request tokens by digest. A stored request token never changes (it is only
    /// inserted, and deleted once expired), so a cached one needs no notice; callers check its
    /// expiry on every use, as they do a stored one's.
    request_tokens: Cache<TokenDigest, Arc<RequestTokenRecord>>,
    /// Refresh tokens this node issued and nobody has presented yet, with their grant and when
    /// they were issued. A refresh usually presents the token the same node issued last time;
    /// knowing its grant saves the lookup. The rotation stays the authority on whether the
    /// token was used before, and revocations of the last `window` seconds are in
    /// `revoked_grants` on every node, so an entry is trusted for that long at most.
    fresh_refresh: Cache<TokenDigest, (RefreshTokenRecord, TokenGrant, i64)>,
}

/// Fresh refresh tokens are one per live grant on this node; a few thousand cover a busy node
/// and stay well inside the memory budget (about 500 bytes each).
const MAX_FRESH_REFRESH: usize = 10_000;

impl Directory {
    pub fn new(store: Arc<dyn OAuthStore>) -> Self {
        Self {
            store,
            epoch: AtomicU64::new(0),
            apps: Cache::new(),
            enablements: Cache::new(),
            companies: Cache::new(),
            users: Cache::new(),
            revoked_jtis: Cache::new(),
            revoked_grants: Cache::new(),
            request_tokens: Cache::new(),
            fresh_refresh: Cache::bounded(MAX_FRESH_REFRESH),
        }
    }

    pub fn store(&self) -> &dyn OAuthStore {
        &*self.store
    }

    /// Looks `key` up, loading it on a miss. Only found values are cached (junk ids must not be
    /// able to push real entries out), and only if nothing was evicted while the load ran.
    async fn cached<K, V>(
        &self,
        cache: &Cache<K, V>,
        key: K,
        load: impl Future<Output = OAuthResult<Option<V>>>,
    ) -> OAuthResult<Option<V>>
    where
        K: Eq + Hash + Clone,
        V: Clone,
    {
        if let Some(v) = cache.get(&key) {
            return Ok(Some(v));
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let found = load.await?;
        if let Some(v) = &found
            && self.epoch.load(Ordering::Acquire) == epoch
        {
            cache.put(key, v.clone());
        }
        Ok(found)
    }

    /// The app with this Key, if registered.
    pub async fn client(&self, id: AppId) -> OAuthResult<Option<Arc<ClientEntry>>> {
        self.cached(&self.apps, id, async {
            let (app, secrets) = (
                self.store.app(id).await?,
                self.store.client_secrets(id).await?,
            );
            Ok(app.zip(secrets).map(|(app, secrets)| {
                Arc::new(ClientEntry {
                    app,
                    secrets,
                    verified: Mutex::new(Vec::new()),
                    verifying: tokio::sync::Mutex::new(()),
                })
            }))
        })
        .await
    }

    /// Whether `app` is enabled for `company` now (its own choice, or a global app's default).
    pub async fn is_enabled_for(&self, app: &PartnerApp, company: CompanyId) -> OAuthResult<bool> {
        let choice = self
            .cached(&self.enablements, (company, app.id), async {
                Ok(Some(self.store.enablement(company, app.id).await?))
            })
            .await?
            .flatten();
        Ok(app.is_enabled_for(company, choice))
    }

    pub async fn company(&self, id: CompanyId) -> OAuthResult<Option<Arc<Company>>> {
        self.cached(&self.companies, id, async {
            Ok(self.store.company(id).await?.map(Arc::new))
        })
        .await
    }

    pub async fn user(&self, id: UserId) -> OAuthResult<Option<Arc<User>>> {
        self.cached(&self.users, id, async {
            Ok(self.store.user(id).await?.map(Arc::new))
        })
        .await
    }

    /// The request token with this digest, if stored (a found one is cached, see
    /// `request_tokens`); saves the exchange a database round trip.
    pub async fn request_token(
        &self,
        digest: &TokenDigest,
    ) -> OAuthResult<Option<Arc<RequestTokenRecord>>> {
        self.cached(&self.request_tokens, digest.clone(), async {
            Ok(self.store.find_request_token(digest).await?.map(Arc::new))
        })
        .await
    }

    /// Remembers a refresh token this node just issued (see `fresh_refresh`).
    pub(crate) fn remember_refresh(
        &self,
        record: &RefreshTokenRecord,
        grant: &TokenGrant,
        now: i64,
    ) {
        self.fresh_refresh
            .put(record.digest.clone(), (record.clone(), grant.clone(), now));
    }

    /// The refresh token with this digest if this node issued it less than `window` seconds
    /// ago and has not seen it since; it is forgotten either way (a token is presented once).
    pub(crate) fn take_fresh_refresh(
        &self,
        digest: &TokenDigest,
        now: i64,
        window: i64,
    ) -> Option<(RefreshTokenRecord, TokenGrant)> {
        self.fresh_refresh
            .take(digest)
            .filter(|(_, _, issued)| now - issued < window)
            .map(|(record, grant, _)| (record, grant))
    }

    pub fn is_access_token_revoked(&self, jti: &str) -> bool {
        self.revoked_jtis.get(&jti.to_owned()).is_some()
    }

    pub fn is_grant_revoked(&self, grant_id: &str) -> bool {
        self.revoked_grants.get(&grant_id.to_owned()).is_some()
    }

    /// Loads the revocation lists: revoked access tokens not yet expired, and grants revoked
    /// within the last `window` seconds (older ones have no live access tokens).
    pub async fn load_revocations(&self, now: i64, window: i64) -> OAuthResult<()> {
        let jtis = self.store.revoked_access_tokens(now).await?;
        let grants = self.store.revoked_grants_since(now - window).await?;
        self.revoked_jtis.clear();
        for (jti, exp) in jtis {
            self.revoked_jtis.put(jti, exp);
        }
        self.revoked_grants.clear();
        for g in grants {
            self.revoked_grants.put(g, now);
        }
        Ok(())
    }

    /// Forgets revocations that no longer matter, and request tokens that expired.
    pub fn prune_revocations(&self, now: i64, window: i64) {
        self.revoked_jtis.retain(|_, exp| *exp > now);
        self.revoked_grants.retain(|_, at| *at + window > now);
        self.request_tokens.retain(|_, t| t.expires_at > now);
        self.fresh_refresh
            .retain(|_, (_, _, issued)| now - *issued < window);
    }

    /// Applies a notice from this or another node. Returns true when the signing keys changed.
    pub fn apply(&self, notice: &Notice, now: i64) -> bool {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match notice {
            Notice::Resync => {
                self.fresh_refresh.clear();
                self.apps.clear();
                self.enablements.clear();
                self.companies.clear();
                self.users.clear();
                true
            }
            Notice::Change(change) => {
                match change {
                    Change::App(id) => {
                        self.apps.remove(id);
                        // Visibility and activity decide enablement too.
                        self.enablements.retain(|(_, app), _| app != id);
                    }
                    Change::Enablement(c, a) => self.enablements.remove(&(*c, *a)),
                    Change::Company(id) => self.companies.remove(id),
                    Change::User(id) => self.users.remove(id),
                    Change::AccessTokenRevoked { jti, exp } => {
                        self.revoked_jtis.put(jti.clone(), *exp);
                    }
                    Change::GrantRevoked { grant_id } => {
                        self.revoked_grants.put(grant_id.clone(), now)
                    }
                    Change::Keys => return true,
                }
                false
            }
        }
    }
}
