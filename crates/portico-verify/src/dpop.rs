//! DPoP at the resource server (RFC 9449 §7): configuration, the checks around
//! [`portico_jose::verify_proof`], server nonces (§9) and the per-process `jti` replay cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_lc_rs::digest;
use portico_jose::{NonceKey, ProofCheck, normalize_htu, verify_proof};
use reqwest::Url;

use crate::claims::Claims;
use crate::error::VerifyError;

/// Upper bound for [`DpopConfig::proof_max_age`]: a longer window only helps replays and
/// grows the replay cache.
pub const MAX_PROOF_AGE: Duration = Duration::from_secs(300);

/// Shorter secrets make the stateless nonces guessable.
const MIN_NONCE_SECRET_BYTES: usize = 32;

/// DPoP settings: the API's public URL, and whether DPoP is required and nonces are used.
///
/// ```
/// use portico_verify::DpopConfig;
///
/// let dpop = DpopConfig::new("https://api.example.com")
///     .required(true)
///     .nonce_secret(*b"the same 32+ random bytes on every node");
/// # let _ = dpop;
/// ```
#[derive(Clone)]
#[must_use]
pub struct DpopConfig {
    public_url: String,
    required: bool,
    nonce_secret: Option<Vec<u8>>,
    proof_max_age: Duration,
}

impl DpopConfig {
    /// Accepts DPoP-bound tokens (next to bearer tokens). `public_url` is the API's external
    /// base URL as clients address it, e.g. `https://api.example.com` or, behind a gateway
    /// that strips a prefix, `https://gw.example.com/expense`: a proof's `htu` must be this
    /// URL followed by the request's path (query and fragment are not compared). It is
    /// configured rather than taken from `Host`, which behind proxies is not what the client
    /// used and which a client can set to make a proof for another API pass here.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            required: false,
            nonce_secret: None,
            proof_max_age: Duration::from_secs(ProofCheck::DEFAULT_MAX_AGE.unsigned_abs()),
        }
    }

    /// Refuses bearer tokens outright (401 with a DPoP challenge). Default false. For single
    /// routes, use [`RequireDpop`](crate::RequireDpop) instead.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Requires server nonces (RFC 9449 §9) made with this secret: a proof without a valid
    /// `nonce` gets 401 `use_dpop_nonce` with a fresh `DPoP-Nonce`. At least 32 random bytes;
    /// give every instance of the API the same secret, so that any instance accepts any
    /// instance's nonce. Default: no nonces.
    pub fn nonce_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.nonce_secret = Some(secret.into());
        self
    }

    /// How old a proof's `iat` may be. Default 60 s; capped at [`MAX_PROOF_AGE`]. Proofs may
    /// also be up to 5 s in the future (clock skew).
    pub fn proof_max_age(mut self, max_age: Duration) -> Self {
        self.proof_max_age = max_age.min(MAX_PROOF_AGE);
        self
    }
}

/// The nonce secret stays out of logs.
impl fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopConfig")
            .field("public_url", &self.public_url)
            .field("required", &self.required)
            .field(
                "nonce_secret",
                &self.nonce_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("proof_max_age", &self.proof_max_age)
            .finish()
    }
}

/// The verifier's DPoP state.
pub(crate) struct Dpop {
    /// The normalised public URL without a trailing `/`; request paths are appended.
    base: String,
    pub(crate) required: bool,
    nonces: Option<NonceKey>,
    max_age: i64,
    future_skew: i64,
    replay: ReplayCache,
}

impl Dpop {
    pub(crate) fn new(config: DpopConfig) -> Result<Self, VerifyError> {
        let bad = |why: &str| VerifyError::Config(format!("DPoP public URL: {why}"));
        let url = Url::parse(&config.public_url).map_err(|_| bad("not an absolute URL"))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        let normalized = normalize_htu(url.as_str())
            .ok_or_else(|| bad("must be http or https with a host and no user information"))?;
        if let Some(secret) = &config.nonce_secret
            && secret.len() < MIN_NONCE_SECRET_BYTES
        {
            return Err(VerifyError::Config(format!(
                "the DPoP nonce secret must have at least {MIN_NONCE_SECRET_BYTES} bytes"
            )));
        }
        let max_age = i64::try_from(config.proof_max_age.as_secs()).unwrap_or(i64::MAX);
        if max_age == 0 {
            return Err(VerifyError::Config(
                "the DPoP proof max age must be at least 1 s".into(),
            ));
        }
        let future_skew = ProofCheck::DEFAULT_FUTURE_SKEW;
        Ok(Self {
            base: normalized.trim_end_matches('/').to_owned(),
            required: config.required,
            nonces: config.nonce_secret.as_deref().map(NonceKey::new),
            max_age,
            future_skew,
            replay: ReplayCache::new(max_age, future_skew),
        })
    }

    /// The absolute URI a proof's `htu` must name for a request to `path`.
    pub(crate) fn request_uri(&self, path: &str) -> String {
        let mut uri = String::with_capacity(self.base.len() + path.len() + 1);
        uri.push_str(&self.base);
        if !path.starts_with('/') {
            uri.push('/');
        }
        uri.push_str(path);
        uri
    }

    /// A nonce for the current slot, if nonces are on.
    pub(crate) fn fresh_nonce(&self, now: i64) -> Option<String> {
        self.nonces.as_ref().map(|key| key.issue(now))
    }

    pub(crate) fn uses_nonces(&self) -> bool {
        self.nonces.is_some()
    }

    /// RFC 9449 §7 for a token whose own checks passed: the proof (§4.3, with `ath`), the key
    /// binding, the nonce, and last the replay check, so that only proofs that pass everything
    /// else take a place in the cache.
    pub(crate) fn check(
        &self,
        claims: &Claims,
        token: &str,
        proof: &str,
        method: &str,
        uri: &str,
        now: i64,
    ) -> Result<(), VerifyError> {
        let jkt = claims.dpop_jkt().ok_or(VerifyError::NotDpopBound)?;
        let check = ProofCheck {
            max_age: self.max_age,
            future_skew: self.future_skew,
            ..ProofCheck::new(method, uri, now).with_access_token(token)
        };
        let proof = verify_proof(proof, &check).map_err(VerifyError::InvalidProof)?;
        if proof.jkt != jkt {
            return Err(VerifyError::ProofKeyMismatch);
        }
        if let Some(key) = &self.nonces
            && !proof.nonce.as_deref().is_some_and(|n| key.accepts(n, now))
        {
            return Err(VerifyError::UseDpopNonce {
                nonce: key.issue(now),
            });
        }
        if !self
            .replay
            .first_use(&proof.jkt, &proof.jti, proof.iat, now)
        {
            return Err(VerifyError::ProofReplayed);
        }
        Ok(())
    }
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("public_url", &self.base)
            .field("required", &self.required)
            .field("nonces", &self.nonces.is_some())
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of `jkt`, a separator and `jti`: fixed-size entries whatever the `jti` length
/// (RFC 9449 §11.1), and one client cannot use up another client's `jti`.
type ReplayKey = [u8; 32];

/// The `jti`s of accepted proofs, each kept until no clock reading within the skew could
/// still accept its proof: `iat + max_age + future_skew`. Bounded by time, never by count
/// (evicting a live entry would re-open a replay): it holds about rate × (max_age +
/// 2 × future_skew) entries of roughly 80 bytes. Entries sit in a ring of one-second buckets
/// by expiry, so pruning touches only what expires.
pub(crate) struct ReplayCache {
    /// Longest time an entry can live past "now" at insertion, plus margin; the ring size.
    slots: i64,
    max_age: i64,
    future_skew: i64,
    state: Mutex<ReplayState>,
}

struct ReplayState {
    expiries: HashMap<ReplayKey, i64>,
    /// `buckets[expiry mod slots]` lists the keys expiring in that second (or a later lap).
    buckets: Vec<Vec<ReplayKey>>,
    /// Every second up to and including this one has been pruned.
    pruned_through: Option<i64>,
}

impl ReplayCache {
    pub(crate) fn new(max_age: i64, future_skew: i64) -> Self {
        let future_skew = future_skew.max(0);
        // iat ≤ now + skew, so an entry expires at most max_age + 2 skew after insertion.
        let slots = max_age
            .saturating_add(future_skew.saturating_mul(2))
            .saturating_add(2);
        let len = usize::try_from(slots).unwrap_or(usize::MAX).min(1 << 16);
        Self {
            slots: i64::try_from(len).unwrap_or(i64::MAX),
            max_age,
            future_skew,
            state: Mutex::new(ReplayState {
                expiries: HashMap::new(),
                buckets: vec![Vec::new(); len],
                pruned_through: None,
            }),
        }
    }

    /// Records the proof; `false` if it was seen while still live (a replay).
    pub(crate) fn first_use(&self, jkt: &str, jti: &str, iat: i64, now: i64) -> bool {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(jkt.as_bytes());
        ctx.update(b"\0");
        ctx.update(jti.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        let expiry = iat
            .saturating_add(self.max_age)
            .saturating_add(self.future_skew);

        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.prune(&mut state, now);
        if state.expiries.get(&key).is_some_and(|e| *e >= now) {
            return false;
        }
        state.expiries.insert(key, expiry);
        let slot = self.slot(expiry);
        if let Some(bucket) = state.buckets.get_mut(slot) {
            bucket.push(key);
        }
        true
    }

    /// Drops the entries that expired before `now`.
    fn prune(&self, state: &mut ReplayState, now: i64) {
        let last = now.saturating_sub(1);
        let first = match state.pruned_through {
            // A clock that went back prunes nothing until it passes its old reading.
            Some(done) if done >= last => return,
            Some(done) => done.saturating_add(1),
            None => last,
        };
        state.pruned_through = Some(last);
        if last.saturating_sub(first) >= self.slots {
            // Idle for a whole lap: rebuild from what is still live (normally nothing; more
            // only if the clock stepped back before the last insertions).
            state.expiries.retain(|_, expiry| *expiry >= now);
            for bucket in &mut state.buckets {
                bucket.clear();
            }
            let live: Vec<(ReplayKey, i64)> =
                state.expiries.iter().map(|(k, e)| (*k, *e)).collect();
            for (key, expiry) in live {
                let slot = self.slot(expiry);
                if let Some(bucket) = state.buckets.get_mut(slot) {
                    bucket.push(key);
                }
            }
            return;
        }
        for second in first..=last {
            let slot = self.slot(second);
            let Some(bucket) = state.buckets.get_mut(slot) else {
                continue;
            };
            let keys = std::mem::take(bucket);
            let mut kept = Vec::new();
            for key in keys {
                match state.expiries.get(&key) {
                    Some(expiry) if *expiry <= second => {
                        state.expiries.remove(&key);
                    }
                    // Expires on a later lap of the ring (possible only after a clock step).
                    Some(_) => kept.push(key),
                    // Already gone (a duplicate left by a re-insertion).
                    None => {}
                }
            }
            if let Some(bucket) = state.buckets.get_mut(slot) {
                *bucket = kept;
            }
        }
    }

    fn slot(&self, second: i64) -> usize {
        usize::try_from(second.rem_euclid(self.slots)).unwrap_or(0)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expiries
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    #[test]
    fn a_jti_is_refused_while_live_and_forgotten_after() {
        let cache = ReplayCache::new(60, 5);
        assert!(cache.first_use("k", "a", NOW, NOW));
        assert!(!cache.first_use("k", "a", NOW, NOW));
        // Another key may use the same jti.
        assert!(cache.first_use("k2", "a", NOW, NOW));
        // Still refused at the last second of its life (iat + max_age + skew)...
        assert!(!cache.first_use("k", "a", NOW, NOW + 65));
        // ...and pruned after it, when no check could accept the proof any more.
        assert!(cache.first_use("k", "b", NOW + 66, NOW + 66));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn entries_are_never_evicted_early_however_many() {
        let cache = ReplayCache::new(60, 5);
        for i in 0..10_000 {
            // iat anywhere in the accepted window, including the future skew.
            let iat = NOW - 60 + (i % 66);
            assert!(cache.first_use("k", &i.to_string(), iat, NOW));
        }
        // Each entry is refused up to its expiry (iat + 65) and accepted after it.
        for second in [NOW, NOW + 5, NOW + 6, NOW + 40, NOW + 70, NOW + 71] {
            for i in 0..10_000 {
                let iat = NOW - 60 + (i % 66);
                let live = iat + 65 >= second;
                assert_eq!(
                    cache.first_use("k", &i.to_string(), iat, second),
                    !live,
                    "{i} at {second}"
                );
            }
        }
        assert_eq!(cache.len(), 10_000);
    }

    #[test]
    fn pruning_follows_time_and_survives_idle_laps_and_clock_steps() {
        let cache = ReplayCache::new(60, 5);
        for i in 0..100 {
            assert!(cache.first_use("k", &format!("a{i}"), NOW + i, NOW + i));
        }
        // a0..=a33 expired (iat + 65 < NOW + 99) and went as time passed.
        assert_eq!(cache.len(), 66);
        assert!(cache.first_use("k", "x", NOW + 149, NOW + 149));
        // Expired: a0..=a83 (iat + 65 < NOW + 149).
        assert_eq!(cache.len(), 100 - 84 + 1);
        // A clock step back: the entry is live by its own expiry, nothing is lost.
        assert!(!cache.first_use("k", "x", NOW + 149, NOW + 100));
        // Idle for much longer than a lap: everything is gone.
        assert!(cache.first_use("k", "y", NOW + 10_000, NOW + 10_000));
        assert_eq!(cache.len(), 1);
        assert!(!cache.first_use("k", "y", NOW + 10_000, NOW + 10_001));
    }

    #[test]
    fn the_public_url_is_validated_and_joined_with_paths() {
        let dpop = Dpop::new(DpopConfig::new("HTTPS://API.example.com:443/")).unwrap();
        assert_eq!(
            dpop.request_uri("/expense/reports"),
            "https://api.example.com/expense/reports"
        );
        let prefixed = Dpop::new(DpopConfig::new("https://gw.example.com/expense/")).unwrap();
        assert_eq!(
            prefixed.request_uri("/reports"),
            "https://gw.example.com/expense/reports"
        );
        for bad in [
            "api.example.com",
            "/expense",
            "ftp://api.example.com",
            "https://user:pw@api.example.com",
            "https://api.example.com/?a=b",
            "https://api.example.com/#x",
        ] {
            assert!(
                matches!(Dpop::new(DpopConfig::new(bad)), Err(VerifyError::Config(_))),
                "{bad}"
            );
        }
        let short = DpopConfig::new("https://api.example.com").nonce_secret(*b"short");
        assert!(matches!(Dpop::new(short), Err(VerifyError::Config(_))));
        let config = DpopConfig::new("https://api.example.com").nonce_secret([7u8; 32]);
        assert!(!format!("{config:?}").contains("7, 7"));
        assert!(Dpop::new(config).unwrap().uses_nonces());
        assert_eq!(
            DpopConfig::new("https://a.example")
                .proof_max_age(Duration::from_secs(3600))
                .proof_max_age,
            MAX_PROOF_AGE
        );
    }
}
