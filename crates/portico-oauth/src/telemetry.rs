//! What the token service counts, by name, in one place (Prometheus names, through the
//! `metrics` facade: a no-op until the binary installs a recorder). Labels are bounded: grant
//! and principal types, RFC error codes, authentication methods and outcomes, cache names;
//! per-app series only when the operator opts in, and then for a bounded number of apps.

use metrics::{Counter, Label, counter, gauge};
use portico_domain::AppId;
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, OnceLock, RwLock};

/// Counters of one name by their static label values, each registered with the recorder once:
/// the hot paths then pay a read lock and a short (Fx) hash per count, not the recorder's key
/// building (allocations) and lookup. Handles made before the recorder is installed would
/// count nowhere, so the binary installs it before anything records.
pub struct Counters<const N: usize> {
    name: &'static str,
    keys: [&'static str; N],
    handles: RwLock<FxHashMap<[&'static str; N], Counter>>,
}

impl<const N: usize> Counters<N> {
    pub fn new(name: &'static str, keys: [&'static str; N]) -> Self {
        Self {
            name,
            keys,
            handles: RwLock::new(FxHashMap::default()),
        }
    }

    pub fn increment(&self, values: [&'static str; N]) {
        if let Some(c) = self
            .handles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&values)
        {
            c.increment(1);
            return;
        }
        let labels: Vec<Label> = self
            .keys
            .iter()
            .zip(values)
            .map(|(k, v)| Label::new(*k, v))
            .collect();
        let c = counter!(self.name, labels);
        c.increment(1);
        self.handles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(values, c);
    }
}

static TOKENS_ISSUED: LazyLock<Counters<2>> = LazyLock::new(|| {
    Counters::new(
        "portico_tokens_issued_total",
        ["grant_type", "principal_type"],
    )
});
static TOKEN_ERRORS: LazyLock<Counters<1>> =
    LazyLock::new(|| Counters::new("portico_token_errors_total", ["error"]));
static CLIENT_AUTHENTICATIONS: LazyLock<Counters<2>> = LazyLock::new(|| {
    Counters::new(
        "portico_client_authentications_total",
        ["method", "outcome"],
    )
});
static CACHE_LOOKUPS: LazyLock<Counters<2>> =
    LazyLock::new(|| Counters::new("portico_cache_lookups_total", ["cache", "result"]));

/// Per-app series (`portico_app_*`, labelled `client_id`): off unless configured, and then for
/// the first `max` apps seen; the rest are counted under `client_id="other"`, so a flood of
/// Keys cannot make the series grow without end.
struct AppLabels {
    max: usize,
    seen: Mutex<HashSet<AppId>>,
}

static APP_LABELS: OnceLock<AppLabels> = OnceLock::new();

/// Turns per-app series on for at most `max` apps (once, at start).
pub fn count_per_app(max: usize) {
    let _ = APP_LABELS.set(AppLabels {
        max,
        seen: Mutex::new(HashSet::new()),
    });
}

fn app_label(app: AppId) -> Option<String> {
    let labels = APP_LABELS.get()?;
    let mut seen = labels.seen.lock().unwrap_or_else(|e| e.into_inner());
    if seen.contains(&app) || seen.len() < labels.max {
        seen.insert(app);
        Some(app.to_string())
    } else {
        Some("other".to_owned())
    }
}

pub(crate) fn token_issued(grant: &'static str, principal: &'static str, app: AppId) {
    TOKENS_ISSUED.increment([grant, principal]);
    if let Some(client_id) = app_label(app) {
        counter!("portico_app_tokens_issued_total", "client_id" => client_id).increment(1);
    }
}

/// A refresh answered again within its grace window (the same tokens as before).
pub(crate) fn refresh_replayed() {
    counter!("portico_refresh_replays_total").increment(1);
}

pub(crate) fn token_refused(error: &'static str, app: Option<AppId>) {
    TOKEN_ERRORS.increment([error]);
    if let Some(client_id) = app.and_then(app_label) {
        counter!("portico_app_token_errors_total", "client_id" => client_id, "error" => error)
            .increment(1);
    }
}

pub(crate) fn client_authentication(method: &'static str, outcome: &'static str) {
    CLIENT_AUTHENTICATIONS.increment([method, outcome]);
}

pub(crate) fn cache_lookup(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    CACHE_LOOKUPS.increment([cache, result]);
}

/// The signing keys and their age, sampled when metrics are read.
pub(crate) fn signing_keys(keys: &[(String, i64, bool)], now: i64) {
    let signing = keys.iter().filter(|(_, _, s)| *s).count();
    gauge!("portico_signing_keys", "state" => "signing").set(signing as f64);
    gauge!("portico_signing_keys", "state" => "published").set(keys.len() as f64);
    for (kid, created_at, _) in keys {
        gauge!("portico_signing_key_age_seconds", "kid" => kid.clone())
            .set((now - created_at).max(0) as f64);
    }
}
