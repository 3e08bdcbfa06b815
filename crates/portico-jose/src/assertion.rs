//! `private_key_jwt` client authentication: a JWT signed by the client with a key it
//! registered (RFC 7523 §2.2 and §3, OpenID Connect Core §9, RFC 7521 §4.2).
//!
//! The key comes only from the registered [`JwkSet`]: `jwk`, `jku`, `x5u` and `x5c` headers
//! are never read. `typ` is ignored (RFC 7523 does not define one).
//!
//! **Replay is the caller's business**: a verified assertion's `jti` must be recorded (in
//! the shared database, so that every node sees it) until [`VerifiedAssertion::replay_until`],
//! and an assertion whose `jti` is already recorded refused. After that time this function
//! refuses the assertion as expired, so the record can be dropped.

use serde_json::{Map, Value};

use crate::jwk::JwkSet;
use crate::jws::{Jws, JwsError, numeric_date, valid_identifier};

/// Assertions longer than this are refused before anything is decoded.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// Time rules for client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionRules {
    /// Clock skew tolerated, in seconds, on `exp` (after), `iat` and `nbf` (before now).
    /// Default 10: enough for servers kept on NTP, short enough to keep the replay window
    /// (`exp` + leeway) small.
    pub leeway: i64,
    /// How far `exp` may be after now (plus leeway) and after `iat`, in seconds. Default 300:
    /// an assertion is made for one token request, so a long-lived one is a stolen-token risk.
    pub max_lifetime: i64,
}

impl AssertionRules {
    /// Default leeway, in seconds.
    pub const DEFAULT_LEEWAY: i64 = 10;
    /// Default maximum lifetime, in seconds.
    pub const DEFAULT_MAX_LIFETIME: i64 = 300;
}

impl Default for AssertionRules {
    fn default() -> Self {
        Self {
            leeway: Self::DEFAULT_LEEWAY,
            max_lifetime: Self::DEFAULT_MAX_LIFETIME,
        }
    }
}

/// A client assertion that passed every check except replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The `jti`, to record against replay.
    pub jti: String,
    /// The `exp` claim.
    pub exp: i64,
    /// The `iat` claim, if sent.
    pub iat: Option<i64>,
    /// Record the `jti` until this time (`exp` + leeway): until then the assertion would pass.
    pub replay_until: i64,
    /// The `kid` of the registered key that verified the signature, if it has one.
    pub kid: Option<String>,
    /// RFC 7638 thumbprint of that key.
    pub key_thumbprint: String,
}

/// Why a client assertion was refused. `Display` is short and safe for an
/// `error_description` (it never repeats the token's content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Longer than [`MAX_ASSERTION_BYTES`].
    #[error("client assertion is too large")]
    TooLarge,
    /// Not three base64url parts, or header or claims not a JSON object.
    #[error("client assertion is not a well-formed signed JWT")]
    Malformed,
    /// `alg` missing, `none`, HMAC or anything but ES256, EdDSA, RS256, PS256.
    #[error("client assertion alg must be ES256, EdDSA (Ed25519), RS256 or PS256")]
    UnsupportedAlgorithm,
    /// A `crit` header.
    #[error("client assertion crit header is not supported")]
    CriticalHeader,
    /// A `kid` that names no registered key.
    #[error("client assertion kid matches no registered key")]
    UnknownKid,
    /// The key named by `kid` does not accept the header's `alg`.
    #[error("the registered key for this kid does not accept the assertion's alg")]
    KeyAlgorithmMismatch,
    /// No `kid`, and no registered key accepts the header's `alg`.
    #[error("no registered key accepts the assertion's alg")]
    NoKeyForAlgorithm,
    /// The signature does not verify.
    #[error("client assertion signature is invalid")]
    BadSignature,
    /// A required claim is missing.
    #[error("client assertion lacks the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or form.
    #[error("client assertion {0} claim is malformed")]
    InvalidClaim(&'static str),
    /// `iss` is not the client_id.
    #[error("client assertion iss must be the client_id")]
    WrongIssuer,
    /// `sub` is not the client_id.
    #[error("client assertion sub must be the client_id")]
    WrongSubject,
    /// `aud` names none of the accepted audiences.
    #[error("client assertion aud must name this server")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("client assertion has expired")]
    Expired,
    /// `exp` further than the maximum lifetime from now or from `iat`.
    #[error("client assertion exp is too far in the future")]
    LifetimeTooLong,
    /// `iat` after now (beyond the leeway).
    #[error("client assertion iat is in the future")]
    IssuedInFuture,
    /// `nbf` after now (beyond the leeway).
    #[error("client assertion is not yet valid (nbf)")]
    NotYetValid,
}

impl From<JwsError> for AssertionError {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::TooLarge => Self::TooLarge,
            JwsError::Malformed => Self::Malformed,
            JwsError::UnsupportedAlgorithm => Self::UnsupportedAlgorithm,
            JwsError::CriticalHeader => Self::CriticalHeader,
        }
    }
}

/// Verifies a `client_assertion` for `client_id` against its registered `keys`.
///
/// `audiences` are the values accepted in `aud` (the issuer identifier and the endpoint URL);
/// one match is enough, by exact string comparison. `now` is Unix time in seconds.
///
/// The signature is verified once with the key named by `kid`; without `kid`, with each
/// registered key that accepts the `alg` (at most [`crate::jwk::MAX_KEYS`]) until one
/// verifies. Claims are read only after the signature verified.
pub fn verify_client_assertion(
    token: &str,
    keys: &JwkSet,
    client_id: &str,
    audiences: &[&str],
    now: i64,
    rules: &AssertionRules,
) -> Result<VerifiedAssertion, AssertionError> {
    let jws = Jws::parse(token, MAX_ASSERTION_BYTES)?;
    let kid = jws.header_str("kid")?;
    let key = match kid {
        Some(kid) => {
            let key = keys.get(kid).ok_or(AssertionError::UnknownKid)?;
            if !key.accepts(jws.alg) {
                return Err(AssertionError::KeyAlgorithmMismatch);
            }
            if !jws.verify(key) {
                return Err(AssertionError::BadSignature);
            }
            key
        }
        None => {
            let mut candidates = keys.candidates(None, jws.alg).peekable();
            if candidates.peek().is_none() {
                return Err(AssertionError::NoKeyForAlgorithm);
            }
            candidates
                .find(|key| jws.verify(key))
                .ok_or(AssertionError::BadSignature)?
        }
    };

    let claims = jws.claims()?;
    if required_str(&claims, "iss")? != client_id {
        return Err(AssertionError::WrongIssuer);
    }
    if required_str(&claims, "sub")? != client_id {
        return Err(AssertionError::WrongSubject);
    }
    check_audience(&claims, audiences)?;

    let leeway = rules.leeway;
    let exp = required_date(&claims, "exp")?;
    if now >= exp.saturating_add(leeway) {
        return Err(AssertionError::Expired);
    }
    if exp.saturating_sub(now) > rules.max_lifetime.saturating_add(leeway) {
        return Err(AssertionError::LifetimeTooLong);
    }
    let iat = optional_date(&claims, "iat")?;
    if let Some(iat) = iat {
        if iat > now.saturating_add(leeway) {
            return Err(AssertionError::IssuedInFuture);
        }
        if exp < iat {
            return Err(AssertionError::InvalidClaim("iat"));
        }
        if exp.saturating_sub(iat) > rules.max_lifetime {
            return Err(AssertionError::LifetimeTooLong);
        }
    }
    if let Some(nbf) = optional_date(&claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(AssertionError::NotYetValid);
    }
    let jti = required_str(&claims, "jti")?;
    if !valid_identifier(jti) {
        return Err(AssertionError::InvalidClaim("jti"));
    }

    Ok(VerifiedAssertion {
        jti: jti.to_owned(),
        exp,
        iat,
        replay_until: exp.saturating_add(leeway),
        kid: key.kid().map(str::to_owned),
        key_thumbprint: key.thumbprint().to_owned(),
    })
}

fn required_str<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, AssertionError> {
    match claims.get(name) {
        None => Err(AssertionError::MissingClaim(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(AssertionError::InvalidClaim(name)),
    }
}

fn optional_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, AssertionError> {
    claims
        .get(name)
        .map(|v| numeric_date(v).ok_or(AssertionError::InvalidClaim(name)))
        .transpose()
}

fn required_date(claims: &Map<String, Value>, name: &'static str) -> Result<i64, AssertionError> {
    optional_date(claims, name)?.ok_or(AssertionError::MissingClaim(name))
}

/// `aud` is a string or a non-empty array of strings (RFC 7519 §4.1.3); one of them must be
/// one of `audiences`.
fn check_audience(claims: &Map<String, Value>, audiences: &[&str]) -> Result<(), AssertionError> {
    let matches = |aud: &str| audiences.contains(&aud);
    match claims.get("aud") {
        None => Err(AssertionError::MissingClaim("aud")),
        Some(Value::String(aud)) if matches(aud) => Ok(()),
        Some(Value::String(_)) => Err(AssertionError::WrongAudience),
        Some(Value::Array(list)) => {
            let mut found = false;
            for entry in list {
                let aud = entry.as_str().ok_or(AssertionError::InvalidClaim("aud"))?;
                found |= matches(aud);
            }
            if list.is_empty() {
                Err(AssertionError::InvalidClaim("aud"))
            } else if found {
                Ok(())
            } else {
                Err(AssertionError::WrongAudience)
            }
        }
        Some(_) => Err(AssertionError::InvalidClaim("aud")),
    }
}
