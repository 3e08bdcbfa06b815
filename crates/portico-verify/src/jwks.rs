//! The issuer's signing keys: fetched from `jwks_uri`, turned into `DecodingKey`s once, and
//! refreshed when a token names an unknown `kid` or the set grows old.
//!
//! Refetches are single-flight (concurrent misses wait for one fetch and then reuse its result)
//! and rate-limited (at most one attempt per `min_refetch_interval`), so a flood of tokens with
//! made-up `kid`s costs at most one request to the issuer per interval.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use reqwest::Url;
use serde::Deserialize;

use crate::error::VerifyError;
use crate::http::read_json;

/// More keys than any sane rotation needs; the rest are ignored.
const MAX_KEYS: usize = 64;
/// RSA keys below 2048 bits are not trusted.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// The cryptographic key type, which fixes the algorithms a key can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Ed25519,
    P256,
    P384,
    Rsa,
}

impl KeyKind {
    fn supports(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyKind::Ed25519 => alg == EdDSA,
            KeyKind::P256 => alg == ES256,
            KeyKind::P384 => alg == ES384,
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
        }
    }
}

/// One usable verification key.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    key: DecodingKey,
    kind: KeyKind,
    /// The JWK's own `alg`: it may narrow what the key is used for, never widen it.
    alg: Option<Algorithm>,
}

impl KeyEntry {
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }

    /// Whether a token with header `alg` may be verified with this key. The caller has already
    /// checked `alg` against the allow-list.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        self.kind.supports(alg) && self.alg.is_none_or(|own| own == alg)
    }
}

/// An immutable snapshot of the JWKS.
#[derive(Debug)]
struct KeySet {
    keys: HashMap<String, Arc<KeyEntry>>,
    fetched_at: Instant,
    /// Bumped on every successful fetch, so waiters can tell that a fetch happened meanwhile.
    generation: u64,
}

#[derive(Deserialize)]
struct RawJwks {
    /// Parsed one by one, so that one odd key does not make the whole set unusable.
    keys: Vec<serde_json::Value>,
}

/// Builds the usable keys of a JWKS; unusable keys are skipped with a debug log.
fn build_keys(raw: RawJwks, allowed: &[Algorithm]) -> HashMap<String, Arc<KeyEntry>> {
    let mut keys = HashMap::new();
    for value in raw.keys.into_iter().take(MAX_KEYS) {
        let jwk: Jwk = match serde_json::from_value(value) {
            Ok(jwk) => jwk,
            Err(e) => {
                tracing::debug!(error = %e, "skipping an unparsable JWK");
                continue;
            }
        };
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        match key_entry(&jwk, allowed) {
            Ok(entry) if !kid.is_empty() => match keys.entry(kid) {
                Entry::Vacant(slot) => {
                    slot.insert(Arc::new(entry));
                }
                Entry::Occupied(slot) => tracing::warn!(
                    kid = %slot.key(),
                    "duplicate kid in the JWKS; keeping the first key"
                ),
            },
            Ok(_) => tracing::debug!("skipping a JWK without kid"),
            Err(reason) => tracing::debug!(%kid, reason, "skipping a JWK"),
        }
    }
    keys
}

/// Checks one JWK and pre-builds its `DecodingKey`.
fn key_entry(jwk: &Jwk, allowed: &[Algorithm]) -> Result<KeyEntry, &'static str> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Err("not a signature key (use)");
    }
    if jwk
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Err("not a verification key (key_ops)");
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            KeyKind::Ed25519
        }
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => KeyKind::P256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => KeyKind::P384,
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        // Symmetric ("oct") keys would enable HMAC with a published secret: never used.
        AlgorithmParameters::OctetKey(_) => return Err("symmetric key"),
        _ => return Err("unsupported key type or curve"),
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(key_alg) => {
            let alg = Algorithm::try_from(key_alg).map_err(|_| "unsupported alg")?;
            if !allowed.contains(&alg) || !kind.supports(alg) {
                return Err("alg not allowed or not matching the key type");
            }
            Some(alg)
        }
    };
    if !allowed.iter().any(|a| kind.supports(*a)) {
        return Err("no allowed algorithm for this key type");
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "bad key parameters")?;
    let well_formed = match (kind, key.kind()) {
        (KeyKind::Ed25519, DecodingKeyKind::SecretOrDer(x)) => x.len() == 32,
        (KeyKind::P256, DecodingKeyKind::SecretOrDer(point)) => point.len() == 65,
        (KeyKind::P384, DecodingKeyKind::SecretOrDer(point)) => point.len() == 97,
        (KeyKind::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            let significant = n.iter().skip_while(|b| **b == 0).count();
            significant >= MIN_RSA_MODULUS_BYTES && !e.is_empty()
        }
        _ => false,
    };
    if !well_formed {
        return Err("key material of the wrong size");
    }
    Ok(KeyEntry { key, kind, alg })
}

#[derive(Debug, Default)]
struct Attempts {
    last: Option<Instant>,
    last_failed: bool,
}

/// The cached key set with its refresh policy.
#[derive(Debug)]
pub(crate) struct KeyCache {
    client: reqwest::Client,
    jwks_uri: Url,
    allowed: Vec<Algorithm>,
    min_refetch_interval: Duration,
    max_age: Duration,
    current: RwLock<Arc<KeySet>>,
    /// Held for the duration of a fetch: the single-flight gate.
    fetch_lock: tokio::sync::Mutex<()>,
    attempts: Mutex<Attempts>,
    background_running: AtomicBool,
    /// A refetch the issuer asked for (revocation feed `keys` event) is waiting to run.
    forced_pending: AtomicBool,
    /// A task is running the forced refetches.
    forced_running: AtomicBool,
}

impl KeyCache {
    /// Fetches the key set for the first time. That fetch does not count against the refetch
    /// rate limit, so a key rotated in right after start-up is still picked up at once.
    pub(crate) async fn load(
        client: reqwest::Client,
        jwks_uri: Url,
        allowed: Vec<Algorithm>,
        min_refetch_interval: Duration,
        max_age: Duration,
    ) -> Result<Arc<Self>, VerifyError> {
        let keys = fetch_keys(&client, &jwks_uri, &allowed).await?;
        if keys.is_empty() {
            tracing::warn!("the issuer's JWKS has no usable key for the allowed algorithms");
        }
        let set = KeySet {
            keys,
            fetched_at: Instant::now(),
            generation: 0,
        };
        Ok(Arc::new(Self {
            client,
            jwks_uri,
            allowed,
            min_refetch_interval,
            max_age,
            current: RwLock::new(Arc::new(set)),
            fetch_lock: tokio::sync::Mutex::new(()),
            attempts: Mutex::new(Attempts::default()),
            background_running: AtomicBool::new(false),
            forced_pending: AtomicBool::new(false),
            forced_running: AtomicBool::new(false),
        }))
    }

    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The key for `kid`, refetching the JWKS once (subject to the rate limit) if it is unknown.
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<KeyEntry>, VerifyError> {
        let snapshot = self.snapshot();
        if snapshot.fetched_at.elapsed() >= self.max_age {
            self.refresh_in_background();
        }
        if let Some(entry) = snapshot.keys.get(kid) {
            return Ok(Arc::clone(entry));
        }
        self.refetch_for_unknown_kid(kid, snapshot.generation).await
    }

    async fn refetch_for_unknown_kid(
        &self,
        kid: &str,
        seen_generation: u64,
    ) -> Result<Arc<KeyEntry>, VerifyError> {
        let _single_flight = self.fetch_lock.lock().await;
        let snapshot = self.snapshot();
        if snapshot.generation != seen_generation {
            // Someone fetched while we waited; their set is as fresh as ours would be.
            return lookup(&snapshot, kid);
        }
        if !self.claim_attempt() {
            return Err(if self.last_attempt_failed() {
                VerifyError::Unavailable("the last JWKS refresh failed".into())
            } else {
                VerifyError::UnknownKey
            });
        }
        tracing::debug!("unknown kid; refetching the JWKS");
        let set = self.refresh_locked(snapshot.generation).await?;
        lookup(&set, kid)
    }

    /// Keeps serving the current set while one task refreshes it, so an old set never blocks
    /// requests and removed keys stop being accepted without a restart.
    fn refresh_in_background(self: &Arc<Self>) {
        if !self.may_attempt() || self.background_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.background_running.store(false, Ordering::Release);
            return;
        };
        let cache = Arc::clone(self);
        runtime.spawn(async move {
            {
                let _single_flight = cache.fetch_lock.lock().await;
                let snapshot = cache.snapshot();
                if snapshot.fetched_at.elapsed() >= cache.max_age && cache.claim_attempt() {
                    // A failure is logged in refresh_locked; the old set stays in use.
                    let _ = cache.refresh_locked(snapshot.generation).await;
                }
            }
            cache.background_running.store(false, Ordering::Release);
        });
    }

    /// Refetches now, regardless of the rate limit, because the issuer announced that its keys
    /// changed (the revocation feed's `keys` event): a removed key must stop working at once.
    /// Runs in the background behind the single-flight gate; announcements made while a
    /// forced fetch waits for the gate share it, and one made during a fetch gets another.
    pub(crate) fn refresh_now(self: &Arc<Self>) {
        self.forced_pending.store(true, Ordering::Release);
        if self.forced_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.forced_running.store(false, Ordering::Release);
            return;
        };
        let cache = Arc::clone(self);
        runtime.spawn(async move {
            loop {
                {
                    let _single_flight = cache.fetch_lock.lock().await;
                    // Cleared under the gate: the fetch below starts after every announcement
                    // seen here, and later ones set the flag again.
                    if cache.forced_pending.swap(false, Ordering::AcqRel) {
                        cache.attempts_lock().last = Some(Instant::now());
                        let generation = cache.snapshot().generation;
                        // A failure is logged in refresh_locked; the old set stays in use.
                        let _ = cache.refresh_locked(generation).await;
                    }
                }
                cache.forced_running.store(false, Ordering::Release);
                // An announcement between the swap and the store above found this task still
                // running and left the work to it.
                if !cache.forced_pending.load(Ordering::Acquire)
                    || cache.forced_running.swap(true, Ordering::AcqRel)
                {
                    break;
                }
            }
        });
    }

    /// Fetches and installs a new set. Call with `fetch_lock` held.
    async fn refresh_locked(&self, generation: u64) -> Result<Arc<KeySet>, VerifyError> {
        let result = fetch_keys(&self.client, &self.jwks_uri, &self.allowed).await;
        self.attempts_lock().last_failed = result.is_err();
        let keys = result.inspect_err(|e| {
            tracing::warn!(error = %e, "JWKS refresh failed; keeping the previous keys");
        })?;
        let set = Arc::new(KeySet {
            keys,
            fetched_at: Instant::now(),
            generation: generation.wrapping_add(1),
        });
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&set);
        Ok(set)
    }

    fn attempts_lock(&self) -> std::sync::MutexGuard<'_, Attempts> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn may_attempt(&self) -> bool {
        self.attempts_lock()
            .last
            .is_none_or(|last| last.elapsed() >= self.min_refetch_interval)
    }

    /// Takes the one attempt the rate limit allows, if it is available.
    fn claim_attempt(&self) -> bool {
        let mut attempts = self.attempts_lock();
        if attempts
            .last
            .is_some_and(|last| last.elapsed() < self.min_refetch_interval)
        {
            return false;
        }
        attempts.last = Some(Instant::now());
        true
    }

    fn last_attempt_failed(&self) -> bool {
        self.attempts_lock().last_failed
    }
}

fn lookup(set: &KeySet, kid: &str) -> Result<Arc<KeyEntry>, VerifyError> {
    set.keys.get(kid).cloned().ok_or(VerifyError::UnknownKey)
}

async fn fetch_keys(
    client: &reqwest::Client,
    jwks_uri: &Url,
    allowed: &[Algorithm],
) -> Result<HashMap<String, Arc<KeyEntry>>, VerifyError> {
    let response = client
        .get(jwks_uri.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| VerifyError::Unavailable(format!("fetching the JWKS: {e}")))?;
    if !response.status().is_success() {
        return Err(VerifyError::Unavailable(format!(
            "the JWKS endpoint answered {}",
            response.status()
        )));
    }
    let raw: RawJwks = read_json(response, "the JWKS").await?;
    Ok(build_keys(raw, allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: &[Algorithm] = &[Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];
    // RFC 8037 A.2 public key.
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn keys(value: serde_json::Value, allowed: &[Algorithm]) -> HashMap<String, Arc<KeyEntry>> {
        build_keys(serde_json::from_value(value).unwrap(), allowed)
    }

    #[test]
    fn symmetric_and_odd_keys_are_skipped_but_good_ones_kept() {
        let set = keys(
            json!({"keys": [
                {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": ED_X},
                {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
                {"kty": "OKP", "crv": "Ed25519", "x": ED_X},
                {"kty": "weird"},
                42,
                {"kty": "OKP", "crv": "Ed25519", "kid": "good", "use": "sig", "x": ED_X},
            ]}),
            ALL,
        );
        assert_eq!(set.keys().collect::<Vec<_>>(), vec!["good"]);
        assert!(set["good"].accepts(Algorithm::EdDSA));
        assert!(!set["good"].accepts(Algorithm::ES256));
    }

    #[test]
    fn a_jwk_alg_narrows_but_never_widens() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "EdDSA", "x": ED_X});
        // EdDSA not allowed: the key's own alg does not add it.
        assert!(keys(json!({"keys": [jwk.clone()]}), &[Algorithm::ES256]).is_empty());
        // A key claiming an alg of another key type is refused.
        let mut wrong = jwk;
        wrong["alg"] = json!("RS256");
        assert!(keys(json!({"keys": [wrong]}), ALL).is_empty());
    }
}
