//! Following Portico's revocation feed (`portico_revocation_feed_endpoint`): a Server-Sent
//! Events stream of what became invalid (tokens, grants, apps, companies, users, enablements)
//! and of key changes, so that locally verified tokens are refused within a second of the
//! change instead of at their expiry.
//!
//! A background task holds the stream open, applies each event atomically to an in-memory deny
//! state, and reconnects with `Last-Event-ID` so no event is missed. The deny state fails
//! closed: it has no capacity bound, and entries with an expiry are pruned only once no token
//! they cover can still be accepted.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::claims::{Claims, PrincipalType};
use crate::http::{form_urlencode, unix_now};
use crate::introspection::Introspector;
use crate::jwks::KeyCache;
use crate::sse::{SseMessage, SseParser};

/// A snapshot lists every revoked token still alive; this bounds memory against a broken or
/// hostile stream while leaving room for millions of entries.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// The stream is reopened (resuming losslessly) at least this often, since reqwest applies a
/// total timeout per request.
const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// At most one "accepting without the feed" warning per this interval.
const DOWN_WARNING_INTERVAL_MS: u64 = 5_000;
/// Expired entries are pruned after this many events, or this long after the last prune.
const PRUNE_EVERY_EVENTS: u32 = 256;
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What [`Verifier::verify`](crate::Verifier::verify) does while the feed is down
/// (disconnected, stale, or not yet synchronised).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeedDown {
    /// Introspect each locally valid token at the issuer (RFC 7662) with the feed's
    /// credentials; the issuer's answer decides. Safe, but one round trip per request.
    #[default]
    Introspect,
    /// Accept locally valid tokens (still refusing what the last known deny state lists) and
    /// log a rate-limited warning: revocations made meanwhile are seen only at expiry.
    AcceptUntilExpiry,
}

/// Revocation-feed settings: the resource server's own client credentials (the same app as
/// for introspection, marked as a resource server by Portico) and the failure policy.
#[derive(Clone)]
#[must_use]
pub struct RevocationFeedConfig {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) when_down: FeedDown,
    pub(crate) stale_after: Duration,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
}

impl RevocationFeedConfig {
    /// Follows the feed with these client credentials; down policy [`FeedDown::Introspect`],
    /// stale after 15 s, reconnect backoff 100 ms to 5 s.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            when_down: FeedDown::Introspect,
            stale_after: Duration::from_secs(15),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }

    /// What to do while the feed is down. Default [`FeedDown::Introspect`].
    pub fn when_down(mut self, policy: FeedDown) -> Self {
        self.when_down = policy;
        self
    }

    /// The feed counts as down when nothing (event or heartbeat) arrived for this long.
    /// Default 15 s (Portico sends a heartbeat every 5 s); at least 1 ms.
    pub fn stale_after(mut self, stale_after: Duration) -> Self {
        self.stale_after = stale_after.max(Duration::from_millis(1));
        self
    }

    /// Delay before reconnecting: starts at `min`, doubles per failed attempt up to `max`,
    /// with jitter. Default 100 ms to 5 s; `min` is at least 1 ms so a failing issuer is never
    /// hammered in a loop.
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min.max(Duration::from_millis(1));
        self.backoff_max = max.max(self.backoff_min);
        self
    }
}

/// The secret stays out of logs.
impl fmt::Debug for RevocationFeedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationFeedConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("when_down", &self.when_down)
            .field("stale_after", &self.stale_after)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .finish()
    }
}

/// The feed's health, for readiness endpoints and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedStatus {
    /// Connected, synchronised (a snapshot was applied) and not stale: the deny state is
    /// current and tokens are checked against it.
    pub up: bool,
    /// The `id` of the last event applied; the stream resumes after it.
    pub last_event_id: Option<u64>,
    /// Time since anything (event or heartbeat) last arrived; `None` before the first.
    pub last_message_age: Option<Duration>,
    /// The policy applied while the feed is down.
    pub when_down: FeedDown,
    /// Why the last connection ended or failed, if it did.
    pub last_error: Option<String>,
}

/// Why one connection to the feed ended. The texts go to logs and [`FeedStatus`]; they never
/// contain the credentials.
#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error("the revocation feed rejected the client credentials (401)")]
    Unauthorized,
    #[error("the revocation feed refused access (403): the app is not a resource server")]
    Forbidden,
    #[error("the revocation feed is unavailable: {0}")]
    Unavailable(String),
    #[error("the revocation feed sent nothing for {0:?}")]
    Stale(Duration),
    #[error("the revocation feed ended the stream")]
    Ended,
    #[error("the revocation feed sent an invalid message: {0}")]
    Protocol(String),
}

// ---------------------------------------------------------------------------------------------
// Wire format.

#[derive(Debug, Deserialize)]
struct JtiEntry {
    jti: String,
    exp: u64,
}

#[derive(Debug, Deserialize)]
struct GrantEntry {
    grant_id: String,
    until: u64,
}

#[derive(Debug, Deserialize)]
struct EnablementEntry {
    company_id: String,
    client_id: String,
}

/// Missing lists are empty: a server may leave out what it has nothing for.
#[derive(Debug, Default, Deserialize)]
struct Snapshot {
    #[serde(default)]
    revoked_jtis: Vec<JtiEntry>,
    #[serde(default)]
    revoked_grants: Vec<GrantEntry>,
    #[serde(default)]
    disabled_apps: Vec<String>,
    #[serde(default)]
    disabled_companies: Vec<String>,
    #[serde(default)]
    disabled_users: Vec<String>,
    #[serde(default)]
    disabled_enablements: Vec<EnablementEntry>,
}

#[derive(Debug, Deserialize)]
struct AppEvent {
    client_id: String,
    serving: bool,
}

#[derive(Debug, Deserialize)]
struct CompanyEvent {
    company_id: String,
    enabled: bool,
}

#[derive(Debug, Deserialize)]
struct UserEvent {
    user_id: String,
    enabled: bool,
}

#[derive(Debug, Deserialize)]
struct EnablementEvent {
    company_id: String,
    client_id: String,
    enabled: bool,
}

/// One parsed event, ready to be applied under the write lock.
#[derive(Debug)]
enum Change {
    Snapshot(Snapshot),
    Jti(JtiEntry),
    Grant(GrantEntry),
    App(AppEvent),
    Company(CompanyEvent),
    User(UserEvent),
    Enablement(EnablementEvent),
    Keys,
    Unknown,
}

impl Change {
    fn parse(message: &SseMessage) -> Result<Self, FeedError> {
        fn json<T: DeserializeOwned>(message: &SseMessage) -> Result<T, FeedError> {
            serde_json::from_str(&message.data).map_err(|e| {
                FeedError::Protocol(format!("bad `{}` event data: {e}", message.event))
            })
        }
        Ok(match message.event.as_str() {
            "snapshot" => Change::Snapshot(json(message)?),
            "jti" => Change::Jti(json(message)?),
            "grant" => Change::Grant(json(message)?),
            "app" => Change::App(json(message)?),
            "company" => Change::Company(json(message)?),
            "user" => Change::User(json(message)?),
            "enablement" => Change::Enablement(json(message)?),
            "keys" => Change::Keys,
            _ => Change::Unknown,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The deny state.

/// UUIDs are compared as lower-case strings.
fn lower(value: &str) -> String {
    value.to_ascii_lowercase()
}

/// Calls `f` with `value` in lower case, allocating only if it has upper-case letters (Portico
/// issues lower-case UUIDs, so the hot path does not allocate).
fn with_lower<R>(value: &str, f: impl FnOnce(&str) -> R) -> R {
    if value.bytes().any(|b| b.is_ascii_uppercase()) {
        f(&value.to_ascii_lowercase())
    } else {
        f(value)
    }
}

/// Everything that is currently refused. No capacity bound, no eviction: forgetting an entry
/// would accept a revoked token.
#[derive(Debug, Default)]
struct DenyState {
    /// jti → exp.
    jtis: HashMap<String, u64>,
    /// grant id (`sid`) → until.
    grants: HashMap<String, u64>,
    apps: HashSet<String>,
    /// Lower case.
    companies: HashSet<String>,
    /// Lower case.
    users: HashSet<String>,
    /// Company id (lower case) → client ids disabled for it.
    enablements: HashMap<String, HashSet<String>>,
}

impl DenyState {
    fn from_snapshot(snapshot: Snapshot, keep_after: u64) -> Self {
        let mut state = DenyState::default();
        for entry in snapshot.revoked_jtis {
            state.deny_jti(entry, keep_after);
        }
        for entry in snapshot.revoked_grants {
            state.deny_grant(entry, keep_after);
        }
        state.apps = snapshot.disabled_apps.into_iter().collect();
        state.companies = snapshot
            .disabled_companies
            .iter()
            .map(|c| lower(c))
            .collect();
        state.users = snapshot.disabled_users.iter().map(|u| lower(u)).collect();
        for entry in snapshot.disabled_enablements {
            state.set_enablement(&entry.company_id, entry.client_id, false);
        }
        state
    }

    /// `keep_after`: entries expiring before it cover no token that could still be accepted.
    fn deny_jti(&mut self, entry: JtiEntry, keep_after: u64) {
        if entry.exp >= keep_after {
            let exp = self.jtis.entry(entry.jti).or_insert(entry.exp);
            *exp = (*exp).max(entry.exp);
        }
    }

    fn deny_grant(&mut self, entry: GrantEntry, keep_after: u64) {
        if entry.until >= keep_after {
            let until = self.grants.entry(entry.grant_id).or_insert(entry.until);
            *until = (*until).max(entry.until);
        }
    }

    fn set_enablement(&mut self, company_id: &str, client_id: String, enabled: bool) {
        let company = lower(company_id);
        if enabled {
            if let Some(clients) = self.enablements.get_mut(&company) {
                clients.remove(&client_id);
                if clients.is_empty() {
                    self.enablements.remove(&company);
                }
            }
        } else {
            self.enablements
                .entry(company)
                .or_default()
                .insert(client_id);
        }
    }

    fn apply(&mut self, change: Change, keep_after: u64) {
        match change {
            Change::Snapshot(snapshot) => *self = DenyState::from_snapshot(snapshot, keep_after),
            Change::Jti(entry) => self.deny_jti(entry, keep_after),
            Change::Grant(entry) => self.deny_grant(entry, keep_after),
            Change::App(e) => toggle(&mut self.apps, e.client_id, e.serving),
            Change::Company(e) => toggle(&mut self.companies, lower(&e.company_id), e.enabled),
            Change::User(e) => toggle(&mut self.users, lower(&e.user_id), e.enabled),
            Change::Enablement(e) => self.set_enablement(&e.company_id, e.client_id, e.enabled),
            Change::Keys | Change::Unknown => {}
        }
    }

    fn prune(&mut self, keep_after: u64) {
        self.jtis.retain(|_, exp| *exp >= keep_after);
        self.grants.retain(|_, until| *until >= keep_after);
    }

    /// Whether the token is refused. Allocation-free for lower-case ids.
    fn denies(&self, claims: &Claims) -> bool {
        if self.jtis.contains_key(claims.jti()) || self.apps.contains(claims.client_id()) {
            return true;
        }
        if claims
            .grant_id()
            .is_some_and(|g| self.grants.contains_key(g))
        {
            return true;
        }
        if claims.principal_type() == PrincipalType::User
            && with_lower(claims.subject(), |sub| self.users.contains(sub))
        {
            return true;
        }
        claims.company_id().is_some_and(|company| {
            with_lower(company, |company| {
                self.companies.contains(company)
                    || self
                        .enablements
                        .get(company)
                        .is_some_and(|clients| clients.contains(claims.client_id()))
            })
        })
    }

    fn len(&self) -> usize {
        self.jtis.len()
            + self.grants.len()
            + self.apps.len()
            + self.companies.len()
            + self.users.len()
            + self.enablements.values().map(HashSet::len).sum::<usize>()
    }
}

/// `enabled` (or `serving`) lifts the entry; otherwise it is denied.
fn toggle(set: &mut HashSet<String>, key: String, enabled: bool) {
    if enabled {
        set.remove(&key);
    } else {
        set.insert(key);
    }
}

// ---------------------------------------------------------------------------------------------
// State shared by the verifier and the background task.

/// How the first connection went, for `build()` to stop waiting early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Startup {
    Waiting,
    Up,
    Refused,
}

#[derive(Debug, Default)]
struct Info {
    last_event_id: Option<u64>,
    last_error: Option<String>,
}

pub(crate) struct FeedShared {
    state: RwLock<DenyState>,
    when_down: FeedDown,
    stale_after: Duration,
    /// Base for the millisecond clocks below.
    epoch: Instant,
    /// A snapshot was applied and every event since then: the deny state can be trusted.
    synced: AtomicBool,
    /// The current connection is open and has delivered something.
    connected: AtomicBool,
    /// Milliseconds since `epoch` plus one when anything last arrived; 0 = never.
    last_message_ms: AtomicU64,
    last_down_warning_ms: AtomicU64,
    info: Mutex<Info>,
    startup: watch::Sender<Startup>,
}

impl FeedShared {
    fn new(when_down: FeedDown, stale_after: Duration) -> Self {
        Self {
            state: RwLock::new(DenyState::default()),
            when_down,
            stale_after,
            epoch: Instant::now(),
            synced: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            last_message_ms: AtomicU64::new(0),
            last_down_warning_ms: AtomicU64::new(0),
            info: Mutex::new(Info::default()),
            startup: watch::Sender::new(Startup::Waiting),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last_message_ms
            .store(self.now_ms().saturating_add(1), Ordering::Release);
    }

    fn last_message_age(&self) -> Option<Duration> {
        match self.last_message_ms.load(Ordering::Acquire) {
            0 => None,
            at => Some(Duration::from_millis(
                self.now_ms().saturating_sub(at.saturating_sub(1)),
            )),
        }
    }

    /// Checked on every request as well as by the task, so a stuck task still reads as down.
    fn is_up(&self) -> bool {
        self.synced.load(Ordering::Acquire)
            && self.connected.load(Ordering::Acquire)
            && self
                .last_message_age()
                .is_some_and(|age| age < self.stale_after)
    }

    fn info(&self) -> std::sync::MutexGuard<'_, Info> {
        self.info.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The feed as the verifier holds it. Dropping it (with the last `Verifier` clone) stops the
/// background task.
pub(crate) struct RevocationFeed {
    shared: Arc<FeedShared>,
    /// Set with [`FeedDown::Introspect`].
    fallback: Option<Introspector>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RevocationFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the verifier does with a locally valid token.
pub(crate) enum FeedVerdict<'a> {
    Accept,
    Revoked,
    Introspect(&'a Introspector),
}

pub(crate) struct FeedParams {
    pub(crate) config: RevocationFeedConfig,
    pub(crate) endpoint: Url,
    pub(crate) client: reqwest::Client,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) fallback: Option<Introspector>,
    pub(crate) http_timeout: Duration,
    /// The verifier's leeway: a token stays acceptable until `exp + leeway`.
    pub(crate) leeway_secs: u64,
}

impl RevocationFeed {
    /// Starts the background task and waits up to the HTTP timeout for the first snapshot;
    /// without it the verifier starts with the feed down.
    pub(crate) async fn start(params: FeedParams) -> Self {
        let config = params.config;
        let shared = Arc::new(FeedShared::new(config.when_down, config.stale_after));
        let follower = Follower {
            shared: Arc::clone(&shared),
            client: params.client,
            endpoint: params.endpoint,
            basic_user: form_urlencode(&config.client_id),
            basic_password: form_urlencode(&config.client_secret),
            keys: params.keys,
            http_timeout: params.http_timeout,
            backoff_min: config.backoff_min,
            backoff_max: config.backoff_max,
            leeway_secs: params.leeway_secs,
            last_id: None,
            events_since_prune: 0,
            last_prune: Instant::now(),
        };
        let mut startup = shared.startup.subscribe();
        let task = tokio::spawn(follower.run());
        let waited = tokio::time::timeout(
            params.http_timeout,
            startup.wait_for(|s| *s != Startup::Waiting),
        )
        .await;
        if !matches!(waited, Ok(Ok(s)) if *s == Startup::Up) {
            tracing::warn!(
                policy = ?config.when_down,
                "no revocation feed snapshot yet; starting with the feed down"
            );
        }
        Self {
            shared,
            fallback: params.fallback,
            task,
        }
    }

    /// The hot path: one atomic check, then a read lock and a few hash lookups.
    pub(crate) fn check(&self, claims: &Claims) -> FeedVerdict<'_> {
        let up = self.shared.is_up();
        if up || self.shared.when_down == FeedDown::AcceptUntilExpiry {
            // Down and accepting: still refuse what the last known state lists, since
            // revocations of tokens and grants are final.
            let denied = self
                .shared
                .state
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .denies(claims);
            if denied {
                return FeedVerdict::Revoked;
            }
            if !up {
                self.warn_accepting();
            }
            return FeedVerdict::Accept;
        }
        match &self.fallback {
            Some(introspector) => FeedVerdict::Introspect(introspector),
            // Not reached: build() sets the fallback for this policy.
            None => FeedVerdict::Accept,
        }
    }

    fn warn_accepting(&self) {
        let now = self.shared.now_ms().saturating_add(1);
        let last = self.shared.last_down_warning_ms.load(Ordering::Acquire);
        if last != 0 && now.saturating_sub(last) < DOWN_WARNING_INTERVAL_MS {
            return;
        }
        if self
            .shared
            .last_down_warning_ms
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::warn!(
                "the revocation feed is down; accepting locally valid tokens until they expire"
            );
        }
    }

    pub(crate) fn status(&self) -> FeedStatus {
        let info = self.shared.info();
        FeedStatus {
            up: self.shared.is_up(),
            last_event_id: info.last_event_id,
            last_message_age: self.shared.last_message_age(),
            when_down: self.shared.when_down,
            last_error: info.last_error.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The background task.

struct Follower {
    shared: Arc<FeedShared>,
    client: reqwest::Client,
    endpoint: Url,
    /// Already form-urlencoded for HTTP Basic (RFC 6749 §2.3.1), as for introspection.
    basic_user: String,
    basic_password: String,
    keys: Arc<KeyCache>,
    http_timeout: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
    leeway_secs: u64,
    last_id: Option<u64>,
    events_since_prune: u32,
    last_prune: Instant,
}

impl Follower {
    async fn run(mut self) {
        let mut backoff = self.backoff_min;
        loop {
            let mut delivered = false;
            let error = self.follow(&mut delivered).await;
            let was_connected = self.shared.connected.swap(false, Ordering::AcqRel);
            self.shared.info().last_error = Some(error.to_string());
            match &error {
                FeedError::Unauthorized | FeedError::Forbidden => {
                    tracing::error!(error = %error, "revocation feed: configuration error");
                    self.shared.startup.send_if_modified(|s| {
                        let first = *s == Startup::Waiting;
                        if first {
                            *s = Startup::Refused;
                        }
                        first
                    });
                }
                FeedError::Protocol(_) => tracing::error!(error = %error, "revocation feed"),
                _ if was_connected => tracing::warn!(error = %error, "revocation feed down"),
                _ => tracing::debug!(error = %error, "revocation feed still down"),
            }
            // A connection that worked resets the backoff; one that keeps sending invalid
            // events must not turn into a reconnect loop.
            if delivered && !matches!(error, FeedError::Protocol(_)) {
                backoff = self.backoff_min;
            }
            tokio::time::sleep(jittered(backoff)).await;
            backoff = backoff.saturating_mul(2).min(self.backoff_max);
        }
    }

    /// One connection, until it fails or goes stale.
    async fn follow(&mut self, delivered: &mut bool) -> FeedError {
        let mut request = self
            .client
            .get(self.endpoint.clone())
            .basic_auth(&self.basic_user, Some(&self.basic_password))
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache")
            // Overrides the client's total timeout, which would cut the stream.
            .timeout(MAX_STREAM_LIFETIME);
        // Resume only from a state we trust; otherwise ask for a fresh snapshot.
        if self.shared.synced.load(Ordering::Acquire)
            && let Some(id) = self.last_id
        {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let mut response = match tokio::time::timeout(self.http_timeout, request.send()).await {
            Err(_) => {
                return FeedError::Unavailable(format!("no answer within {:?}", self.http_timeout));
            }
            Ok(Err(e)) => return FeedError::Unavailable(format!("connecting: {e}")),
            Ok(Ok(response)) => response,
        };
        match response.status() {
            status if status.is_success() => {}
            reqwest::StatusCode::UNAUTHORIZED => return FeedError::Unauthorized,
            reqwest::StatusCode::FORBIDDEN => return FeedError::Forbidden,
            status => return FeedError::Unavailable(format!("the endpoint answered {status}")),
        }
        let is_event_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
            });
        if !is_event_stream {
            return FeedError::Protocol("the response is not text/event-stream".into());
        }
        let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
        let mut messages = Vec::new();
        loop {
            let chunk = match tokio::time::timeout(self.shared.stale_after, response.chunk()).await
            {
                Err(_) => return FeedError::Stale(self.shared.stale_after),
                Ok(Err(e)) => return FeedError::Unavailable(format!("reading the stream: {e}")),
                Ok(Ok(None)) => return FeedError::Ended,
                Ok(Ok(Some(chunk))) => chunk,
            };
            if let Err(e) = parser.push(&chunk, &mut messages) {
                return FeedError::Protocol(e.to_string());
            }
            for message in messages.drain(..) {
                if let Err(e) = self.apply(&message) {
                    return e;
                }
            }
            // Any bytes, heartbeats included, prove the stream alive. Marked connected only
            // after the chunk's events are applied, so a resumed stream's backlog comes first.
            self.shared.touch();
            *delivered = true;
            if self.shared.synced.load(Ordering::Acquire)
                && !self.shared.connected.swap(true, Ordering::AcqRel)
            {
                tracing::info!(last_event_id = ?self.last_id, "revocation feed up");
            }
        }
    }

    /// Applies one message atomically. An event that cannot be parsed is not skipped: the
    /// connection is dropped and the stream resumed before it, and the feed stays down.
    fn apply(&mut self, message: &SseMessage) -> Result<(), FeedError> {
        let id = match message.id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match raw.parse::<u64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    return Err(FeedError::Protocol(format!(
                        "non-numeric event id in a `{}` event",
                        message.event
                    )));
                }
            },
        };
        let change = Change::parse(message)?;
        let is_snapshot = matches!(change, Change::Snapshot(_));
        // A replayed older event could undo a newer one (a lift after a deny); a snapshot
        // always applies, since it replaces everything.
        if !is_snapshot
            && self.shared.synced.load(Ordering::Acquire)
            && let (Some(id), Some(last)) = (id, self.last_id)
            && id <= last
        {
            tracing::debug!(id, last, "skipping an already applied feed event");
            return Ok(());
        }
        let keep_after = unix_now().saturating_sub(self.leeway_secs.saturating_add(1));
        match change {
            Change::Keys => self.keys.refresh_now(),
            Change::Unknown => {
                tracing::debug!(event = %message.event, "ignoring an unknown feed event")
            }
            change => {
                let mut state = self
                    .shared
                    .state
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                state.apply(change, keep_after);
                if is_snapshot {
                    tracing::info!(entries = state.len(), "revocation feed snapshot applied");
                }
            }
        }
        if let Some(id) = id {
            self.last_id = Some(id);
        } else if is_snapshot {
            // A snapshot without id cannot be resumed after.
            self.last_id = None;
        }
        self.shared.info().last_event_id = self.last_id;
        if is_snapshot {
            self.shared.synced.store(true, Ordering::Release);
            self.shared.startup.send_replace(Startup::Up);
            self.events_since_prune = 0;
            self.last_prune = Instant::now();
        } else {
            self.maybe_prune(keep_after);
        }
        Ok(())
    }

    fn maybe_prune(&mut self, keep_after: u64) {
        self.events_since_prune += 1;
        if self.events_since_prune < PRUNE_EVERY_EVENTS && self.last_prune.elapsed() < PRUNE_EVERY {
            return;
        }
        self.events_since_prune = 0;
        self.last_prune = Instant::now();
        self.shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .prune(keep_after);
    }
}

/// Between half and all of `delay`, so that many resource servers do not reconnect in step.
fn jittered(delay: Duration) -> Duration {
    let mut byte = [0u8; 1];
    // Without randomness the full delay is fine.
    if aws_lc_rs::rand::fill(&mut byte).is_err() {
        return delay;
    }
    // Scaled down before multiplying, so even Duration::MAX cannot overflow.
    delay / 2 + delay / 2 / 255 * u32::from(byte[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::RawClaims;
    use serde_json::json;

    fn claims(value: serde_json::Value) -> Claims {
        let mut base = json!({
            "iss": "https://id.example.com", "aud": "urn:portico:api", "exp": 2_000_000_000u64,
            "sub": "7d1c4a52-3f0e-4b7a-9a55-0c4be7b1d001", "client_id": "app-1", "jti": "j-1",
            "principal_type": "user", "company_id": "a3f2e1d0-5b6c-4d7e-8f90-1a2b3c4d5e6f",
            "sid": "g-1",
        });
        for (k, v) in value.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value::<RawClaims>(base)
            .unwrap()
            .into_claims()
            .unwrap()
    }

    fn change(event: &str, data: serde_json::Value) -> Change {
        Change::parse(&SseMessage {
            id: None,
            event: event.into(),
            data: data.to_string(),
        })
        .unwrap()
    }

    #[test]
    fn events_deny_and_lift() {
        let mut state = DenyState::default();
        let token = claims(json!({}));
        assert!(!state.denies(&token));
        state.apply(
            change("app", json!({"client_id": "app-1", "serving": false})),
            0,
        );
        assert!(state.denies(&token));
        state.apply(
            change("app", json!({"client_id": "app-1", "serving": true})),
            0,
        );
        assert!(!state.denies(&token));
        // Upper-case UUIDs on either side match.
        state.apply(
            change(
                "enablement",
                json!({"company_id": "A3F2E1D0-5B6C-4D7E-8F90-1A2B3C4D5E6F", "client_id": "app-1", "enabled": false}),
            ),
            0,
        );
        assert!(state.denies(&token));
        assert!(!state.denies(&claims(json!({"client_id": "app-2"}))));
        assert!(state.denies(&claims(
            json!({"company_id": "A3F2E1D0-5B6C-4D7E-8F90-1A2B3C4D5E6F"})
        )));
        state.apply(
            change(
                "enablement",
                json!({"company_id": "a3f2e1d0-5b6c-4d7e-8f90-1a2b3c4d5e6f", "client_id": "app-1", "enabled": true}),
            ),
            0,
        );
        assert!(!state.denies(&token));
        assert!(state.enablements.is_empty());
        // A user id denies user tokens only.
        state.apply(
            change(
                "user",
                json!({"user_id": "7D1C4A52-3F0E-4B7A-9A55-0C4BE7B1D001", "enabled": false}),
            ),
            0,
        );
        assert!(state.denies(&token));
        assert!(!state.denies(&claims(json!({"principal_type": "company"}))));
    }

    #[test]
    fn expiring_entries_are_pruned_only_after_their_expiry() {
        let mut state = DenyState::default();
        state.apply(change("jti", json!({"jti": "old", "exp": 100})), 50);
        state.apply(change("jti", json!({"jti": "gone", "exp": 10})), 50);
        state.apply(
            change("grant", json!({"grant_id": "g-1", "until": 200})),
            50,
        );
        assert_eq!(
            state.len(),
            2,
            "an entry already past keep_after is not stored"
        );
        assert!(state.denies(&claims(json!({"jti": "old"}))));
        assert!(
            state.denies(&claims(json!({"jti": "other"}))),
            "via sid g-1"
        );
        state.prune(100);
        assert_eq!(state.len(), 2);
        state.prune(101);
        assert_eq!(state.len(), 1);
        state.prune(201);
        assert_eq!(state.len(), 0);
    }

    #[test]
    fn bad_event_data_is_a_protocol_error_and_unknown_types_are_ignored() {
        let bad = SseMessage {
            id: Some("3".into()),
            event: "jti".into(),
            data: "{\"jti\": 5}".into(),
        };
        assert!(matches!(Change::parse(&bad), Err(FeedError::Protocol(_))));
        let unknown = SseMessage {
            id: Some("4".into()),
            event: "future".into(),
            data: "not json".into(),
        };
        assert!(matches!(Change::parse(&unknown), Ok(Change::Unknown)));
    }

    #[test]
    fn config_clamps_and_hides_the_secret() {
        let config = RevocationFeedConfig::new("rs", "hunter2")
            .reconnect_backoff(Duration::ZERO, Duration::ZERO)
            .stale_after(Duration::ZERO);
        assert_eq!(config.backoff_min, Duration::from_millis(1));
        assert_eq!(config.backoff_max, Duration::from_millis(1));
        assert_eq!(config.stale_after, Duration::from_millis(1));
        assert!(!format!("{config:?}").contains("hunter2"));
        let d = Duration::from_millis(100);
        for _ in 0..20 {
            let j = jittered(d);
            assert!(j >= d / 2 && j <= d, "{j:?}");
        }
    }
}
