//! RFC 7662 token introspection with a short, bounded cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::ACCEPT;
use serde_json::Value;

use crate::claims::{Claims, RawClaims};
use crate::error::VerifyError;
use crate::http::{form_urlencode, read_json, unix_now};
use crate::verifier::Expectations;

/// Upper bound for the cache TTL: the point of introspection is to see a revocation quickly.
pub const MAX_INTROSPECTION_CACHE_TTL: Duration = Duration::from_secs(10);

/// Introspection settings: the resource server's own client credentials (Portico must have
/// marked that app as a resource server) and the cache policy.
#[derive(Clone)]
#[must_use]
pub struct IntrospectionConfig {
    client_id: String,
    client_secret: String,
    cache_ttl: Duration,
    cache_capacity: usize,
    local_precheck: bool,
}

impl IntrospectionConfig {
    /// Introspection with these client credentials, no cache, and local JWT pre-checks.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            cache_ttl: Duration::ZERO,
            cache_capacity: 10_000,
            local_precheck: true,
        }
    }

    /// How long an answer may be reused. Default 0 (every request asks the issuer); values
    /// above [`MAX_INTROSPECTION_CACHE_TTL`] are capped to it. An entry never outlives the
    /// token's `exp`.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl.min(MAX_INTROSPECTION_CACHE_TTL);
        self
    }

    /// The most answers kept at once. Default 10 000.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Whether the JWT is verified locally (signature, `typ`, `iss`, `aud`, times) before it is
    /// introspected. Default true: forgeries are refused without a round trip.
    pub fn local_precheck(mut self, enabled: bool) -> Self {
        self.local_precheck = enabled;
        self
    }
}

/// The secret stays out of logs.
impl fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_capacity", &self.cache_capacity)
            .field("local_precheck", &self.local_precheck)
            .finish()
    }
}

/// SHA-256 of a token: the cache never holds a usable token.
pub(crate) type TokenDigest = [u8; 32];

struct CacheEntry {
    /// `None` records an inactive token.
    claims: Option<Claims>,
    expires: Instant,
}

pub(crate) struct Introspector {
    client: reqwest::Client,
    endpoint: Url,
    /// Already form-urlencoded for HTTP Basic (RFC 6749 §2.3.1).
    basic_user: String,
    basic_password: String,
    ttl: Duration,
    capacity: usize,
    local_precheck: bool,
    cache: Mutex<HashMap<TokenDigest, CacheEntry>>,
}

impl Introspector {
    pub(crate) fn new(config: IntrospectionConfig, endpoint: Url, client: reqwest::Client) -> Self {
        Self {
            client,
            endpoint,
            basic_user: form_urlencode(&config.client_id),
            basic_password: form_urlencode(&config.client_secret),
            ttl: config.cache_ttl,
            capacity: config.cache_capacity,
            local_precheck: config.local_precheck,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn local_precheck(&self) -> bool {
        self.local_precheck
    }

    pub(crate) fn digest(token: &str) -> TokenDigest {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    /// A still-fresh cached answer, if any.
    pub(crate) fn cached(&self, digest: &TokenDigest) -> Option<Result<Claims, VerifyError>> {
        if self.ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = cache.get(digest).filter(|e| e.expires > Instant::now())?;
        Some(entry.claims.clone().ok_or(VerifyError::Inactive))
    }

    /// Asks the issuer about `token` and caches a definite answer (active or inactive).
    pub(crate) async fn introspect(
        &self,
        token: &str,
        digest: TokenDigest,
        expect: &Expectations,
    ) -> Result<Claims, VerifyError> {
        let response = self
            .client
            .post(self.endpoint.clone())
            .basic_auth(&self.basic_user, Some(&self.basic_password))
            .header(ACCEPT, "application/json")
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| {
                VerifyError::Unavailable(format!("calling the introspection endpoint: {e}"))
            })?;
        match response.status() {
            status if status.is_success() => {}
            reqwest::StatusCode::UNAUTHORIZED => {
                tracing::warn!("the introspection endpoint rejected our client credentials");
                return Err(VerifyError::IntrospectionUnauthorized);
            }
            status => {
                return Err(VerifyError::Unavailable(format!(
                    "the introspection endpoint answered {status}"
                )));
            }
        }
        let body: Value = read_json(response, "the introspection response").await?;
        // Anything but a JSON `true` is inactive, including "true" as a string.
        if body.get("active") != Some(&Value::Bool(true)) {
            self.remember(digest, None, None);
            return Err(VerifyError::Inactive);
        }
        // A DPoP-bound token is reported as `token_type: "DPoP"` with `cnf.jkt`; the binding
        // itself is `cnf`, so a `DPoP` type without it is refused rather than taken as bearer.
        let dpop_type = match body.get("token_type").and_then(Value::as_str) {
            None => false,
            Some(t) if t.eq_ignore_ascii_case("bearer") => false,
            Some(t) if t.eq_ignore_ascii_case("dpop") => true,
            Some(_) => return Err(VerifyError::WrongType),
        };
        let raw: RawClaims =
            serde_json::from_value(body).map_err(|_| VerifyError::InvalidClaims)?;
        let claims = expect.check_introspected(raw)?;
        if dpop_type && !claims.is_dpop_bound() {
            return Err(VerifyError::InvalidClaims);
        }
        self.remember(digest, Some(claims.clone()), Some(claims.expires_at()));
        Ok(claims)
    }

    fn remember(&self, digest: TokenDigest, claims: Option<Claims>, exp: Option<u64>) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let now = Instant::now();
        let lifetime = match exp {
            Some(exp) => self
                .ttl
                .min(Duration::from_secs(exp.saturating_sub(unix_now()))),
            None => self.ttl,
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= self.capacity {
            cache.retain(|_, entry| entry.expires > now);
        }
        // Still full of live entries: skip caching rather than evict; entries live ≤ 10 s.
        if cache.len() < self.capacity {
            cache.insert(
                digest,
                CacheEntry {
                    claims,
                    expires: now + lifetime,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_capped_and_secret_not_printed() {
        let config = IntrospectionConfig::new("rs", "hunter2").cache_ttl(Duration::from_secs(60));
        assert_eq!(config.cache_ttl, MAX_INTROSPECTION_CACHE_TTL);
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn digests_differ_per_token() {
        assert_ne!(Introspector::digest("a"), Introspector::digest("b"));
        assert_eq!(Introspector::digest("a"), Introspector::digest("a"));
    }
}
