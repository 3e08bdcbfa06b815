//! DPoP proofs (RFC 9449 §4.2, checked as in §4.3).
//!
//! The proof's own `jwk` header is the key (that is DPoP's point: the client proves it holds
//! the key the token is bound to); the caller compares [`VerifiedProof::jkt`] with the
//! token's `cnf.jkt`, checks [`VerifiedProof::nonce`] if it requires nonces (see
//! [`crate::nonce`]) and records `(jkt, jti)` against replay for `max_age + future_skew`
//! seconds (shared state, so not here).

use aws_lc_rs::digest;
use serde_json::{Map, Value};
use url::Url;

use crate::jwk::{JwkError, PublicJwk};
use crate::jws::{Jws, JwsError, b64url, numeric_date, valid_identifier};

/// Proofs longer than this are refused before anything is decoded.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// The request a proof must match, and the time rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofCheck<'a> {
    /// The request's HTTP method, compared exactly with `htm` (methods are case-sensitive,
    /// RFC 9110 §9.1).
    pub method: &'a str,
    /// The request's absolute URI as the client addressed it (the server's public base URL
    /// and the path); compared with `htu` after [`normalize_htu`].
    pub uri: &'a str,
    /// Unix time, in seconds.
    pub now: i64,
    /// `iat` may be at most this many seconds old.
    pub max_age: i64,
    /// `iat` may be at most this many seconds in the future (clock skew).
    pub future_skew: i64,
    /// The access token presented with the proof, if any: then `ath` is required and checked
    /// (RFC 9449 §4.3 step 12). Without one, an `ath` is ignored.
    pub access_token: Option<&'a str>,
}

impl<'a> ProofCheck<'a> {
    /// Default `max_age`, in seconds.
    pub const DEFAULT_MAX_AGE: i64 = 60;
    /// Default `future_skew`, in seconds.
    pub const DEFAULT_FUTURE_SKEW: i64 = 5;

    /// A check with the default time rules and no access token (the token endpoint).
    pub fn new(method: &'a str, uri: &'a str, now: i64) -> Self {
        Self {
            method,
            uri,
            now,
            max_age: Self::DEFAULT_MAX_AGE,
            future_skew: Self::DEFAULT_FUTURE_SKEW,
            access_token: None,
        }
    }

    /// The same check for a request that presents `access_token` (a resource server).
    pub fn with_access_token(self, access_token: &'a str) -> Self {
        Self {
            access_token: Some(access_token),
            ..self
        }
    }
}

/// A proof that passed every check except replay and nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 thumbprint of the header `jwk`: the token's `cnf.jkt`.
    pub jkt: String,
    /// The `jti`, to record against replay.
    pub jti: String,
    /// The `iat` claim.
    pub iat: i64,
    /// The `nonce` claim, if sent; whether one is required is the caller's decision.
    pub nonce: Option<String>,
}

/// Why a DPoP proof was refused. `Display` is a short, safe reason for the
/// `error_description` of `invalid_dpop_proof`; it never repeats the proof's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// Longer than [`MAX_PROOF_BYTES`].
    #[error("DPoP proof is too large")]
    TooLarge,
    /// Not three base64url parts, or header or claims not a JSON object.
    #[error("DPoP proof is not a well-formed signed JWT")]
    Malformed,
    /// `typ` other than `dpop+jwt`.
    #[error("DPoP proof typ must be dpop+jwt")]
    WrongType,
    /// `alg` missing, `none`, HMAC or anything but ES256, EdDSA, RS256, PS256.
    #[error("DPoP proof alg must be ES256, EdDSA (Ed25519), RS256 or PS256")]
    UnsupportedAlgorithm,
    /// A `crit` header.
    #[error("DPoP proof crit header is not supported")]
    CriticalHeader,
    /// No `jwk` header.
    #[error("DPoP proof lacks the jwk header")]
    MissingJwk,
    /// The `jwk` header is not an accepted public key.
    #[error("DPoP proof jwk header is invalid: {0}")]
    InvalidJwk(JwkError),
    /// The `jwk` header does not accept the `alg`.
    #[error("DPoP proof jwk does not match its alg")]
    AlgorithmMismatch,
    /// The signature does not verify with the `jwk` header.
    #[error("DPoP proof signature is invalid")]
    BadSignature,
    /// A required claim is missing.
    #[error("DPoP proof lacks the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or form.
    #[error("DPoP proof {0} claim is malformed")]
    InvalidClaim(&'static str),
    /// `htm` is not the request's method.
    #[error("DPoP proof htm does not match the request method")]
    MethodMismatch,
    /// `htu` is not the request's URI.
    #[error("DPoP proof htu does not match the request URI")]
    UriMismatch,
    /// The server's own request URI could not be normalised (a configuration error).
    #[error("the request URI cannot be compared with htu")]
    BadRequestUri,
    /// `iat` older than `max_age`.
    #[error("DPoP proof is too old")]
    TooOld,
    /// `iat` further in the future than `future_skew`.
    #[error("DPoP proof iat is in the future")]
    IssuedInFuture,
    /// An access token was presented but the proof has no `ath`.
    #[error("DPoP proof lacks the ath claim for the access token")]
    MissingAth,
    /// `ath` is not the hash of the presented access token.
    #[error("DPoP proof ath does not match the access token")]
    AthMismatch,
}

impl From<JwsError> for DpopError {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::TooLarge => Self::TooLarge,
            JwsError::Malformed => Self::Malformed,
            JwsError::UnsupportedAlgorithm => Self::UnsupportedAlgorithm,
            JwsError::CriticalHeader => Self::CriticalHeader,
        }
    }
}

/// Verifies a DPoP proof (the `DPoP` request header) for the request described by `check`.
pub fn verify_proof(proof: &str, check: &ProofCheck<'_>) -> Result<VerifiedProof, DpopError> {
    let jws = Jws::parse(proof, MAX_PROOF_BYTES)?;
    // Exactly this value: explicit typing keeps other JWTs from passing as proofs (RFC 8725
    // §3.11).
    if jws.header_str("typ")? != Some("dpop+jwt") {
        return Err(DpopError::WrongType);
    }
    let jwk = jws.header.get("jwk").ok_or(DpopError::MissingJwk)?;
    let key = PublicJwk::from_value(jwk).map_err(DpopError::InvalidJwk)?;
    if !key.accepts(jws.alg) {
        return Err(DpopError::AlgorithmMismatch);
    }
    if !jws.verify(&key) {
        return Err(DpopError::BadSignature);
    }

    let claims = jws.claims()?;
    let jti = required_str(&claims, "jti")?;
    if !valid_identifier(jti) {
        return Err(DpopError::InvalidClaim("jti"));
    }
    if required_str(&claims, "htm")? != check.method {
        return Err(DpopError::MethodMismatch);
    }
    let htu = normalize_htu(required_str(&claims, "htu")?).ok_or(DpopError::InvalidClaim("htu"))?;
    let uri = normalize_htu(check.uri).ok_or(DpopError::BadRequestUri)?;
    if htu != uri {
        return Err(DpopError::UriMismatch);
    }
    let iat = claims.get("iat").ok_or(DpopError::MissingClaim("iat"))?;
    let iat = numeric_date(iat).ok_or(DpopError::InvalidClaim("iat"))?;
    if iat < check.now.saturating_sub(check.max_age) {
        return Err(DpopError::TooOld);
    }
    if iat > check.now.saturating_add(check.future_skew) {
        return Err(DpopError::IssuedInFuture);
    }
    if let Some(token) = check.access_token {
        let ath = match claims.get("ath") {
            None => return Err(DpopError::MissingAth),
            Some(Value::String(ath)) => ath,
            Some(_) => return Err(DpopError::InvalidClaim("ath")),
        };
        // Not secret (the token travels with the proof): a plain comparison is fine.
        if *ath != b64url(digest::digest(&digest::SHA256, token.as_bytes()).as_ref()) {
            return Err(DpopError::AthMismatch);
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(DpopError::InvalidClaim("nonce")),
    };

    Ok(VerifiedProof {
        jkt: key.thumbprint().to_owned(),
        jti: jti.to_owned(),
        iat,
        nonce,
    })
}

fn required_str<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, DpopError> {
    match claims.get(name) {
        None => Err(DpopError::MissingClaim(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DpopError::InvalidClaim(name)),
    }
}

/// The form in which `htu` and the request URI are compared (RFC 9449 §4.3 step 9, RFC 3986
/// §6.2.2 and §6.2.3): parsed as a URL, scheme and host lowercased, default port dropped, dot
/// segments resolved, an empty path made `/`, query and fragment removed. `None` for anything
/// but an absolute `http`/`https` URL without user information.
pub fn normalize_htu(uri: &str) -> Option<String> {
    let mut url = Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    // A request target never carries credentials; a proof that names some is not for us.
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}
