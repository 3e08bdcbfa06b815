//! The verifier: RFC 9068 checks on a JWT access token, optionally followed by introspection.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, Validation};

use crate::claims::{Claims, RawClaims};
use crate::config::VerifierBuilder;
use crate::discovery::Metadata;
use crate::dpop::Dpop;
use crate::error::{DpopMode, VerifyError};
use crate::feed::{FeedStatus, FeedVerdict, RevocationFeed};
use crate::http::unix_now;
use crate::introspection::Introspector;
use crate::jwks::KeyCache;

/// The audience Portico puts in access tokens unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "urn:portico:api";

/// Far above any Portico token (about 1 KiB); checked before any parsing.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verifies Portico access tokens. Cheap to clone (one `Arc`); build one per process with
/// [`Verifier::builder`] and share it.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) metadata: Metadata,
    pub(crate) expect: Expectations,
    /// One prepared `Validation` per allowed algorithm: jsonwebtoken insists that every
    /// algorithm in a `Validation` belongs to the key's family.
    pub(crate) validations: Vec<(Algorithm, Validation)>,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) introspection: Option<Introspector>,
    pub(crate) revocation_feed: Option<RevocationFeed>,
    pub(crate) dpop: Option<Dpop>,
}

/// What every token must say about whom it is for.
#[derive(Debug)]
pub(crate) struct Expectations {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway_secs: u64,
}

impl Expectations {
    /// Checks the claims of an active introspection response, which jsonwebtoken never sees.
    pub(crate) fn check_introspected(&self, raw: RawClaims) -> Result<Claims, VerifyError> {
        match raw.iss.as_deref() {
            Some(iss) if iss == self.issuer => {}
            Some(_) => return Err(VerifyError::WrongIssuer),
            None => return Err(VerifyError::InvalidClaims),
        }
        match &raw.aud {
            Some(aud) if aud.contains(&self.audience) => {}
            Some(_) => return Err(VerifyError::WrongAudience),
            None => return Err(VerifyError::InvalidClaims),
        }
        match raw.exp {
            Some(exp) if exp.saturating_add(self.leeway_secs) >= unix_now() => {}
            Some(_) => return Err(VerifyError::Expired),
            None => return Err(VerifyError::InvalidClaims),
        }
        raw.into_claims().ok_or(VerifyError::InvalidClaims)
    }
}

impl Verifier {
    /// Starts configuring a verifier for tokens of `issuer` (exactly as it appears in `iss`).
    pub fn builder(issuer: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder::new(issuer.into())
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The issuer's metadata as discovered at build time.
    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// The configured audience.
    pub fn audience(&self) -> &str {
        &self.inner.expect.audience
    }

    /// Whether tokens are also introspected.
    pub fn introspects(&self) -> bool {
        self.inner.introspection.is_some()
    }

    /// The revocation feed's health, if the verifier follows it.
    pub fn revocation_feed_status(&self) -> Option<FeedStatus> {
        self.inner
            .revocation_feed
            .as_ref()
            .map(RevocationFeed::status)
    }

    /// Whether DPoP-bound tokens are accepted ([`VerifierBuilder::dpop`]).
    pub fn accepts_dpop(&self) -> bool {
        self.inner.dpop.is_some()
    }

    /// Whether only DPoP-bound tokens are accepted ([`DpopConfig::required`](crate::DpopConfig::required)).
    pub fn requires_dpop(&self) -> bool {
        self.inner.dpop.as_ref().is_some_and(|d| d.required)
    }

    /// A fresh `DPoP-Nonce` value, if nonces are configured; for callers outside axum that
    /// hand nonces out themselves (the layer adds one to every response to a DPoP request).
    pub fn dpop_nonce(&self) -> Option<String> {
        self.inner
            .dpop
            .as_ref()
            .and_then(|d| d.fresh_nonce(now_secs()))
    }

    pub(crate) fn dpop(&self) -> Option<&Dpop> {
        self.inner.dpop.as_ref()
    }

    pub(crate) fn dpop_mode(&self) -> DpopMode {
        match &self.inner.dpop {
            None => DpopMode::Off,
            Some(d) if d.required => DpopMode::Required,
            Some(_) => DpopMode::Allowed,
        }
    }

    /// Verifies a bearer token (`Authorization: Bearer`) and returns its claims.
    ///
    /// With introspection configured, a token is accepted only if the issuer says it is
    /// active (or said so within the cache TTL); by default its signature and claims are
    /// checked locally first, so forgeries never reach the issuer.
    ///
    /// With the revocation feed (and no introspection), a locally valid token is then checked
    /// against the feed's deny state ([`VerifyError::Revoked`]); while the feed is down the
    /// configured [`FeedDown`](crate::FeedDown) policy applies.
    ///
    /// A DPoP-bound token is refused ([`VerifyError::DpopBoundToken`]): without its proof it
    /// must not work (RFC 9449 §7.2); use [`verify_dpop`](Self::verify_dpop). When DPoP is
    /// required, every call fails with [`VerifyError::DpopRequired`].
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let result = if self.requires_dpop() {
            Err(VerifyError::DpopRequired)
        } else {
            match self.verify_token(token).await {
                Ok(claims) if claims.is_dpop_bound() => Err(VerifyError::DpopBoundToken),
                other => other,
            }
        };
        logged(result)
    }

    /// Verifies a DPoP-bound token (`Authorization: DPoP`) with its proof (the one `DPoP`
    /// request header) for a request with `method` to `uri`, the absolute URL as the client
    /// addressed it: the API's public URL and the path (query and fragment are ignored). The
    /// token is checked as by [`verify`](Self::verify), then the proof (RFC 9449 §4.3, with
    /// `ath`), its key against the token's `cnf.jkt`, the nonce if configured, and the proof's
    /// `jti` against replay within this process.
    ///
    /// Needs [`VerifierBuilder::dpop`]; the axum integration calls it with the configured
    /// public URL.
    pub async fn verify_dpop(
        &self,
        token: &str,
        proof: &str,
        method: &str,
        uri: &str,
    ) -> Result<Claims, VerifyError> {
        let result = match &self.inner.dpop {
            None => Err(VerifyError::Config("DPoP is not configured".into())),
            Some(dpop) => match self.verify_token(token).await {
                Ok(claims) => dpop
                    .check(&claims, token, proof, method, uri, now_secs())
                    .map(|()| claims),
                Err(e) => Err(e),
            },
        };
        logged(result)
    }

    /// The token's own checks, whatever scheme presents it.
    async fn verify_token(&self, token: &str) -> Result<Claims, VerifyError> {
        match (&self.inner.introspection, &self.inner.revocation_feed) {
            // Introspection is authoritative; the feed only reports status and key changes.
            (Some(introspector), _) => self.verify_introspected(introspector, token).await,
            (None, Some(feed)) => self.verify_with_feed(feed, token).await,
            (None, None) => self.verify_jwt(token).await,
        }
    }

    async fn verify_introspected(
        &self,
        introspector: &Introspector,
        token: &str,
    ) -> Result<Claims, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let digest = Introspector::digest(token);
        if let Some(cached) = introspector.cached(&digest) {
            return cached;
        }
        if introspector.local_precheck() {
            self.verify_jwt(token).await?;
        }
        introspector
            .introspect(token, digest, &self.inner.expect)
            .await
    }

    async fn verify_with_feed(
        &self,
        feed: &RevocationFeed,
        token: &str,
    ) -> Result<Claims, VerifyError> {
        let claims = self.verify_jwt(token).await?;
        match feed.check(&claims) {
            FeedVerdict::Accept => Ok(claims),
            FeedVerdict::Revoked => Err(VerifyError::Revoked),
            FeedVerdict::Introspect(introspector) => {
                introspector
                    .introspect(token, Introspector::digest(token), &self.inner.expect)
                    .await
            }
        }
    }

    /// Local RFC 9068 verification.
    async fn verify_jwt(&self, token: &str) -> Result<Claims, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        // An unknown `alg` (including "none") fails to parse here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(VerifyError::WrongType);
        }
        if header.crit.is_some() {
            return Err(VerifyError::UnsupportedCritical);
        }
        // The allow-list is checked before the key lookup, so tokens with a refused alg can
        // never trigger a JWKS refetch.
        let validation = self
            .inner
            .validations
            .iter()
            .find_map(|(alg, v)| (*alg == header.alg).then_some(v))
            .ok_or(VerifyError::AlgorithmNotAllowed)?;
        let kid = header
            .kid
            .as_deref()
            .filter(|kid| !kid.is_empty())
            .ok_or(VerifyError::MissingKeyId)?;
        let key = self.inner.keys.key(kid).await?;
        if !key.accepts(header.alg) {
            return Err(VerifyError::KeyMismatch);
        }
        let data = jsonwebtoken::decode::<RawClaims>(token, key.decoding_key(), validation)
            .map_err(|e| VerifyError::from_jwt(&e))?;
        // RFC 9068 §2.2 requires iat; jsonwebtoken only knows exp/nbf/iss/aud/sub.
        if data.claims.iat.is_none() {
            return Err(VerifyError::InvalidClaims);
        }
        data.claims.into_claims().ok_or(VerifyError::InvalidClaims)
    }
}

fn logged(result: Result<Claims, VerifyError>) -> Result<Claims, VerifyError> {
    if let Err(e) = &result {
        // The reason only; the token itself is never logged.
        tracing::debug!(error = %e, "access token rejected");
    }
    result
}

/// Unix seconds as the proof checks count them.
pub(crate) fn now_secs() -> i64 {
    i64::try_from(unix_now()).unwrap_or(i64::MAX)
}

/// RFC 9068 §4: `typ` is `at+jwt`, compared case-insensitively, `application/` prefix allowed.
fn is_access_token_type(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}

/// Builds the `Validation` used for tokens signed with `alg`.
pub(crate) fn validation_for(alg: Algorithm, expect: &Expectations) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[&expect.issuer]);
    validation.set_audience(&[&expect.audience]);
    validation.leeway = expect.leeway_secs;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.expect.issuer)
            .field("audience", &self.inner.expect.audience)
            .field(
                "algorithms",
                &self
                    .inner
                    .validations
                    .iter()
                    .map(|(a, _)| a)
                    .collect::<Vec<_>>(),
            )
            .field("introspection", &self.inner.introspection.is_some())
            .field("revocation_feed", &self.inner.revocation_feed.is_some())
            .field("dpop", &self.inner.dpop)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::is_access_token_type;

    #[test]
    fn access_token_types() {
        for ok in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/AT+JWT",
        ] {
            assert!(is_access_token_type(ok), "{ok}");
        }
        for bad in ["JWT", "jwt", "at+jwt ", "application/jwt", ""] {
            assert!(!is_access_token_type(bad), "{bad}");
        }
    }
}
