//! What the token endpoints look up on every request, cached: apps (with their secret hashes),
//! enablements, companies, users, and the revocation lists. Every node drops an entry the
//! moment it hears the entry changed (see `portico_domain::Notice`); a load that raced with a
//! change is not cached, so a stale value cannot be put back after its eviction.
//!
//! Two kinds of memory, and they forget differently:
//! - the caches of what is stored (apps, enablements, companies, users, request tokens, fresh
//!   refresh tokens) hold values read from the database; dropping any of them, wholesale or
//!   not, costs a reload and never changes an answer;
//! - the revocation lists are refusals: they are never dropped to make room. Each entry lives
//!   until the token it concerns could no longer be used; past the size cap, or after a missed
//!   notice, a list knows it is incomplete and the database answers what it cannot.

use crate::error::OAuthResult;
use portico_domain::{
    AppId, Change, Company, CompanyId, FailureBudget, Notice, PartnerApp, RefreshTokenRecord,
    RequestTokenRecord, TokenDigest, TokenGrant, User, UserId,
    repo::{
        ChangeNotices, ClientSecrets, FeedStore, PushedRequestStore, RegistryStore, ReplayStore,
        TokenStore,
    },
};
use portico_guard::Limiter;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Everything the token service reads from storage.
pub trait OAuthStore:
    RegistryStore + TokenStore + ReplayStore + PushedRequestStore + FeedStore + ChangeNotices
{
}
impl<T> OAuthStore for T where
    T: RegistryStore + TokenStore + ReplayStore + PushedRequestStore + FeedStore + ChangeNotices
{
}

/// Caches of stored values are dropped wholesale past this many entries: crude, but it bounds
/// memory without an eviction policy on the hot path, and a dropped value is only reloaded.
const MAX_ENTRIES: usize = 50_000;

/// A registered app as the token endpoints need it, plus the secrets verified recently.
pub struct ClientEntry {
    pub app: PartnerApp,
    pub(crate) secrets: ClientSecrets,
    /// Digests of (client_id, secret) pairs that passed argon2, with the time until which each
    /// stays valid (None: as long as this entry lives, i.e. until the app changes).
    pub(crate) verified: Mutex<Vec<(TokenDigest, Option<i64>)>>,
    /// One verification at a time per presented secret: concurrent first requests with the
    /// same secret wait and then hit `verified`. Entries live while a verification runs.
    pub(crate) verifying: Mutex<HashMap<TokenDigest, Arc<tokio::sync::Mutex<()>>>>,
    /// The app's public keys for `private_key_jwt`, parsed once.
    pub(crate) keys: Option<portico_jose::JwkSet>,
}

struct Cache<K, V> {
    map: RwLock<HashMap<K, V>>,
    max: usize,
    /// For the hit and miss counts.
    name: &'static str,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn new(name: &'static str) -> Self {
        Self::bounded(name, MAX_ENTRIES)
    }

    fn bounded(name: &'static str, max: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            max,
            name,
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

/// Whether a revocation list knows the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Revoked,
    NotRevoked,
    /// The list is incomplete (over its cap, or a notice may have been missed): ask storage.
    Unknown,
}

/// Revocations of one kind (access tokens by jti, grants by id), each with the time until which
/// it matters. Bounded by time (an entry goes once it no longer matters) and by `cap`: a
/// revocation that does not fit is not kept, and the list says it is incomplete until a full
/// reload from storage fits again. It never forgets a revocation that matters and still claims
/// to be complete.
struct RevocationList {
    state: RwLock<RevocationState>,
    cap: usize,
}

struct RevocationState {
    until: HashMap<String, i64>,
    complete: bool,
    /// Bumped whenever the list may have missed something; a reload that started before the
    /// bump cannot declare the list complete.
    generation: u64,
    pruned_at: i64,
}

impl RevocationList {
    fn new(cap: usize) -> Self {
        Self {
            state: RwLock::new(RevocationState {
                until: HashMap::new(),
                // Nothing is known until the first load.
                complete: false,
                generation: 0,
                pruned_at: 0,
            }),
            cap: cap.max(1),
        }
    }

    fn lookup(&self, key: &str, now: i64) -> Known {
        let s = self.state.read().expect("revocation lock");
        match s.until.get(key) {
            Some(until) if *until > now => Known::Revoked,
            _ if s.complete => Known::NotRevoked,
            _ => Known::Unknown,
        }
    }

    fn add(&self, key: String, until: i64, now: i64) {
        if until <= now {
            return;
        }
        let mut s = self.state.write().expect("revocation lock");
        Self::insert(&mut s, self.cap, key, until, now);
    }

    /// Keeps the revocation if it fits; if not, the list is incomplete from now on. Returns
    /// whether it was kept.
    fn insert(s: &mut RevocationState, cap: usize, key: String, until: i64, now: i64) -> bool {
        if s.until.len() >= cap && !s.until.contains_key(&key) {
            // Make room by time only, at most once a second.
            if s.pruned_at < now {
                s.until.retain(|_, u| *u > now);
                s.pruned_at = now;
            }
            if s.until.len() >= cap {
                s.complete = false;
                return false;
            }
        }
        let entry = s.until.entry(key).or_insert(until);
        *entry = (*entry).max(until);
        true
    }

    /// Something may have been missed (a lost notice connection): storage answers until the
    /// next full reload.
    fn mark_incomplete(&self) {
        let mut s = self.state.write().expect("revocation lock");
        s.complete = false;
        s.generation += 1;
    }

    fn generation(&self) -> u64 {
        self.state.read().expect("revocation lock").generation
    }

    /// Merges every revocation storage holds that still matters (read after `generation` was
    /// taken); complete again if they all fit and nothing was missed meanwhile.
    fn load(&self, entries: Vec<(String, i64)>, generation: u64, now: i64) {
        let mut s = self.state.write().expect("revocation lock");
        s.until.retain(|_, u| *u > now);
        let mut fits = true;
        for (key, until) in entries {
            if until > now {
                fits &= Self::insert(&mut s, self.cap, key, until, now);
            }
        }
        if s.generation == generation && fits {
            s.complete = true;
        }
    }

    fn prune(&self, now: i64) {
        self.state
            .write()
            .expect("revocation lock")
            .until
            .retain(|_, u| *u > now);
    }

    fn is_complete(&self) -> bool {
        self.state.read().expect("revocation lock").complete
    }
}

pub struct Directory {
    store: Arc<dyn OAuthStore>,
    /// Failed client authentications, counted in storage (see `authenticate`).
    pub(crate) limiter: Limiter,
    pub(crate) client_failures: FailureBudget,
    /// Bumped by every eviction; a load only caches its result if no eviction happened while it
    /// ran.
    epoch: AtomicU64,
    apps: Cache<AppId, Arc<ClientEntry>>,
    enablements: Cache<(CompanyId, AppId), Option<bool>>,
    companies: Cache<CompanyId, Arc<Company>>,
    users: Cache<UserId, Arc<User>>,
    /// Apps staff marked as resource servers, by resource URI (found ones only; a change to
    /// the app drops its entry).
    resource_servers: Cache<String, Arc<PartnerApp>>,
    /// Revoked access tokens still within their lifetime: jti → exp.
    revoked_jtis: RevocationList,
    /// Grants revoked recently enough that access tokens of theirs may be alive: id → until
    /// (revoked at + the access-token lifetime). Their refresh tokens are refused by storage.
    revoked_grants: RevocationList,
    /// Company request tokens by digest (dropping one costs a lookup). A stored request token never changes (it is only
    /// inserted, and deleted once expired), so a cached one needs no notice; callers check its
    /// expiry on every use, as they do a stored one's.
    request_tokens: Cache<TokenDigest, Arc<RequestTokenRecord>>,
    /// Refresh tokens this node issued and nobody has presented yet, with their grant and when
    /// they were issued. A refresh usually presents the token the same node issued last time;
    /// knowing its grant saves the lookup. The rotation stays the authority on whether the
    /// token was used before, and revocations of the last `window` seconds are in
    /// `revoked_grants` on every node, so an entry is trusted for that long at most; the
    /// rotation itself refuses a revoked grant in storage. Dropping one costs a lookup.
    fresh_refresh: Cache<TokenDigest, (RefreshTokenRecord, TokenGrant, i64)>,
}

/// Fresh refresh tokens are one per live grant on this node; a few thousand cover a busy node
/// and stay well inside the memory budget (about 500 bytes each).
const MAX_FRESH_REFRESH: usize = 10_000;

impl Directory {
    /// `revocation_cap`: how many revocations of each kind a node keeps in memory.
    pub fn new(
        store: Arc<dyn OAuthStore>,
        revocation_cap: usize,
        client_failures: FailureBudget,
    ) -> Self {
        Self {
            limiter: Limiter::new(store.clone()),
            client_failures,
            store,
            epoch: AtomicU64::new(0),
            apps: Cache::new("apps"),
            enablements: Cache::new("enablements"),
            companies: Cache::new("companies"),
            users: Cache::new("users"),
            resource_servers: Cache::new("resource_servers"),
            revoked_jtis: RevocationList::new(revocation_cap),
            revoked_grants: RevocationList::new(revocation_cap),
            request_tokens: Cache::new("request_tokens"),
            fresh_refresh: Cache::bounded("fresh_refresh", MAX_FRESH_REFRESH),
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
        self.cached_as_of(self.store.notices_current(), cache, key, load)
            .await
    }

    /// [`Self::cached`] with the lease already read (`current`, see
    /// `ChangeNotices::notices_current`): outside it nothing cached answers and nothing loaded
    /// is kept, since a change this node may not hear of could follow the load.
    async fn cached_as_of<K, V>(
        &self,
        current: bool,
        cache: &Cache<K, V>,
        key: K,
        load: impl Future<Output = OAuthResult<Option<V>>>,
    ) -> OAuthResult<Option<V>>
    where
        K: Eq + Hash + Clone,
        V: Clone,
    {
        if current && let Some(v) = cache.get(&key) {
            crate::telemetry::cache_lookup(cache.name, true);
            return Ok(Some(v));
        }
        crate::telemetry::cache_lookup(cache.name, false);
        let epoch = self.epoch.load(Ordering::Acquire);
        let found = load.await?;
        if let Some(v) = &found
            && current
            && self.epoch.load(Ordering::Acquire) == epoch
        {
            cache.put(key, v.clone());
        }
        Ok(found)
    }

    /// The app with this Key, if registered.
    pub async fn client(&self, id: AppId) -> OAuthResult<Option<Arc<ClientEntry>>> {
        let current = self.store.notices_current();
        let remembered = (!current).then(|| self.apps.get(&id)).flatten();
        self.cached_as_of(current, &self.apps, id, async {
            let (app, secrets) = (
                self.store.app(id).await?,
                self.store.client_secrets(id).await?,
            );
            Ok(app.zip(secrets).map(|(app, secrets)| {
                // Read again outside the lease: if storage still says what the cached entry
                // says, that entry (with the secrets it already verified) answers, so a lapsed
                // lease costs a round trip, not an argon2 verification per request.
                match remembered {
                    Some(entry) if entry.app == app && entry.secrets == secrets => entry,
                    _ => Arc::new(ClientEntry {
                        keys: app.spec.security.keys(),
                        app,
                        secrets,
                        verified: Mutex::new(Vec::new()),
                        verifying: Mutex::new(HashMap::new()),
                    }),
                }
            }))
        })
        .await
    }

    /// The company's own enablement choice for `app`, if it made one.
    pub async fn enablement(
        &self,
        app: &PartnerApp,
        company: CompanyId,
    ) -> OAuthResult<Option<bool>> {
        Ok(self
            .cached(&self.enablements, (company, app.id), async {
                Ok(Some(self.store.enablement(company, app.id).await?))
            })
            .await?
            .flatten())
    }

    /// Whether `app` is enabled for `company` now (its own choice, or a global app's default).
    pub async fn is_enabled_for(&self, app: &PartnerApp, company: CompanyId) -> OAuthResult<bool> {
        let choice = self.enablement(app, company).await?;
        Ok(portico_domain::standing(app, company, choice).is_enabled())
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

    /// The app that is the resource server of `resource_uri` (RFC 8707), if any.
    pub async fn resource_server(
        &self,
        resource_uri: &str,
    ) -> OAuthResult<Option<Arc<PartnerApp>>> {
        self.cached(&self.resource_servers, resource_uri.to_owned(), async {
            Ok(self
                .store
                .resource_server_app(resource_uri)
                .await?
                .map(Arc::new))
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
        let taken = self.fresh_refresh.take(digest);
        taken
            .filter(|_| self.store.notices_current())
            .filter(|(_, _, issued)| now - issued < window)
            .map(|(record, grant, _)| (record, grant))
    }

    /// Whether this access token was revoked: from memory, or storage when memory is
    /// incomplete.
    pub async fn is_access_token_revoked(&self, jti: &str, now: i64) -> OAuthResult<bool> {
        match self.known(&self.revoked_jtis, jti, now) {
            Known::Revoked => Ok(true),
            Known::NotRevoked => Ok(false),
            Known::Unknown => Ok(self.store.is_access_token_revoked(jti).await?),
        }
    }

    /// Whether this grant was revoked, as [`Self::is_access_token_revoked`].
    pub async fn is_grant_revoked(&self, grant_id: &str, now: i64) -> OAuthResult<bool> {
        match self.known(&self.revoked_grants, grant_id, now) {
            Known::Revoked => Ok(true),
            Known::NotRevoked => Ok(false),
            Known::Unknown => Ok(self.store.is_grant_revoked(grant_id).await?),
        }
    }

    /// What memory knows of `key`'s revocation: nothing outside the lease.
    fn known(&self, list: &RevocationList, key: &str, now: i64) -> Known {
        match list.lookup(key, now) {
            // A revocation once heard stays true: only "not revoked" needs the lease.
            Known::NotRevoked if !self.store.notices_current() => Known::Unknown,
            known => known,
        }
    }

    /// Whether either list must ask storage (a full reload may make it complete again).
    pub fn revocations_incomplete(&self) -> bool {
        !self.revoked_jtis.is_complete() || !self.revoked_grants.is_complete()
    }

    /// Loads the revocation lists: revoked access tokens not yet expired, and grants revoked
    /// within the last `window` seconds (older ones have no live access tokens). Merged into
    /// what notices already brought, so a revocation announced while this runs is kept.
    pub async fn load_revocations(&self, now: i64, window: i64) -> OAuthResult<()> {
        let (jti_gen, grant_gen) = (
            self.revoked_jtis.generation(),
            self.revoked_grants.generation(),
        );
        let jtis = self.store.revoked_access_tokens(now).await?;
        let grants = self.store.revoked_grants_since(now - window).await?;
        self.revoked_jtis.load(jtis, jti_gen, now);
        let grants = grants
            .into_iter()
            .map(|(id, at)| (id, at + window))
            .collect();
        self.revoked_grants.load(grants, grant_gen, now);
        Ok(())
    }

    /// Forgets revocations that no longer matter, and request tokens that expired.
    pub fn prune_revocations(&self, now: i64, window: i64) {
        self.revoked_jtis.prune(now);
        self.revoked_grants.prune(now);
        self.request_tokens.retain(|_, t| t.expires_at > now);
        self.fresh_refresh
            .retain(|_, (_, _, issued)| now - *issued < window);
    }

    /// Applies a notice from this or another node. Returns true when the signing keys changed.
    /// `window` is the access-token lifetime: how long a grant's revocation matters.
    pub fn apply(&self, notice: &Notice, now: i64, window: i64) -> bool {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match notice {
            Notice::Resync => {
                // Notices may have been missed: storage answers until the lists are reloaded.
                self.revoked_jtis.mark_incomplete();
                self.revoked_grants.mark_incomplete();
                self.fresh_refresh.clear();
                self.apps.clear();
                self.enablements.clear();
                self.companies.clear();
                self.users.clear();
                self.resource_servers.clear();
                true
            }
            Notice::Change(change) => {
                match change {
                    Change::App(id) => {
                        self.apps.remove(id);
                        self.resource_servers.retain(|_, rs| rs.id != *id);
                        // Visibility and activity decide enablement too.
                        self.enablements.retain(|(_, app), _| app != id);
                    }
                    Change::Enablement(c, a) => self.enablements.remove(&(*c, *a)),
                    Change::Company(id) => self.companies.remove(id),
                    Change::User(id) => self.users.remove(id),
                    Change::AccessTokenRevoked { jti, exp } => {
                        self.revoked_jtis.add(jti.clone(), *exp, now);
                    }
                    Change::GrantRevoked { grant_id } => {
                        self.revoked_grants.add(grant_id.clone(), now + window, now)
                    }
                    Change::Keys => return true,
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_list_never_forgets_and_says_it_is_incomplete() {
        let list = RevocationList::new(3);
        list.load(Vec::new(), list.generation(), 0);
        list.add("first".into(), 100, 0);
        assert_eq!(list.lookup("first", 1), Known::Revoked);
        assert_eq!(list.lookup("other", 1), Known::NotRevoked);
        for i in 0..10 {
            list.add(format!("t{i}"), 100, 1);
        }
        // The first revocation is still there; what did not fit makes the list ask storage.
        assert_eq!(list.lookup("first", 2), Known::Revoked);
        assert_eq!(list.lookup("t9", 2), Known::Unknown);
        assert_eq!(list.lookup("never-revoked", 2), Known::Unknown);
        // Entries go by time only: once they no longer matter there is room again, but the
        // list stays incomplete until a reload that fits.
        list.add("late".into(), 300, 150);
        assert_eq!(list.lookup("late", 151), Known::Revoked);
        assert_eq!(list.lookup("t9", 151), Known::Unknown);
        let generation = list.generation();
        list.load(
            vec![("late".into(), 300), ("x".into(), 300)],
            generation,
            151,
        );
        assert_eq!(list.lookup("t9", 151), Known::NotRevoked);
        assert_eq!(list.lookup("x", 151), Known::Revoked);
    }

    #[test]
    fn a_reload_that_overflows_or_races_a_resync_stays_incomplete() {
        let list = RevocationList::new(2);
        let entries = |n: usize| (0..n).map(|i| (format!("j{i}"), 100)).collect::<Vec<_>>();
        list.load(entries(3), list.generation(), 0);
        assert_eq!(list.lookup("nope", 1), Known::Unknown);
        let list = RevocationList::new(10);
        let before = list.generation();
        list.mark_incomplete(); // a Resync while the reload's query ran
        list.load(entries(3), before, 0);
        assert_eq!(list.lookup("nope", 1), Known::Unknown);
        assert_eq!(list.lookup("j1", 1), Known::Revoked);
        list.load(entries(3), list.generation(), 0);
        assert_eq!(list.lookup("nope", 1), Known::NotRevoked);
    }

    #[test]
    fn expired_entries_do_not_count_as_revoked() {
        let list = RevocationList::new(10);
        list.load(vec![("old".into(), 10)], list.generation(), 0);
        assert_eq!(list.lookup("old", 5), Known::Revoked);
        assert_eq!(list.lookup("old", 10), Known::NotRevoked);
        list.add("gone".into(), 5, 6);
        assert_eq!(list.lookup("gone", 6), Known::NotRevoked);
    }
}
