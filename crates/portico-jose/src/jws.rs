//! JWS compact serialization, parsed by hand: jsonwebtoken's `decode` would parse the header
//! into its own types (including any `jwk` header) and re-create a verifier per call; here the
//! header stays a JSON object, and the signature is checked once against a prebuilt key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::accepted_algorithm;
use crate::jwk::PublicJwk;

/// Why a compact JWS could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwsError {
    TooLarge,
    Malformed,
    UnsupportedAlgorithm,
    CriticalHeader,
}

/// A compact JWS whose header is read and whose `alg` is one of [`crate::ALGORITHMS`];
/// the signature is not verified yet.
pub(crate) struct Jws<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) alg: Algorithm,
    signing_input: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// Splits and reads the header. The size cap comes first so that nothing is decoded from
    /// an oversized input; `alg` is checked before any key is touched.
    pub(crate) fn parse(token: &'a str, max_len: usize) -> Result<Self, JwsError> {
        if token.len() > max_len {
            return Err(JwsError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header = decode_object(header_b64)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(accepted_algorithm)
            .ok_or(JwsError::UnsupportedAlgorithm)?;
        // RFC 7515 §4.1.11: extensions we do not understand must be refused; we know none.
        if header.contains_key("crit") {
            return Err(JwsError::CriticalHeader);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| JwsError::Malformed)?;
        if signature.is_empty() {
            return Err(JwsError::Malformed);
        }
        // header.payload, without the final '.'.
        let signing_input = token
            .get(
                ..header_b64
                    .len()
                    .saturating_add(1)
                    .saturating_add(payload.len()),
            )
            .ok_or(JwsError::Malformed)?;
        Ok(Self {
            header,
            alg,
            signing_input,
            payload,
            signature,
        })
    }

    /// The header member `name` as a string, `Ok(None)` when absent, an error when not a string.
    pub(crate) fn header_str(&self, name: &str) -> Result<Option<&str>, JwsError> {
        match self.header.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(JwsError::Malformed),
        }
    }

    /// Verifies the signature with `key` (which must accept `alg`).
    pub(crate) fn verify(&self, key: &PublicJwk) -> bool {
        key.verify_signature(self.alg, self.signing_input.as_bytes(), &self.signature)
    }

    /// The claims set; to be read only after [`Jws::verify`].
    pub(crate) fn claims(&self) -> Result<Map<String, Value>, JwsError> {
        decode_object(self.payload)
    }
}

/// base64url (no padding, canonical) of a JSON object.
fn decode_object(b64: &str) -> Result<Map<String, Value>, JwsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| JwsError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwsError::Malformed),
    }
}

/// A JWT NumericDate (RFC 7519 §2): an integer or a finite number of seconds, floored.
pub(crate) fn numeric_date(value: &Value) -> Option<i64> {
    if let Some(i) = value.as_i64() {
        return Some(i);
    }
    match value.as_f64() {
        // `as` saturates: a huge value becomes i64::MAX/MIN and fails the time checks.
        Some(f) if f.is_finite() => Some(f.floor() as i64),
        _ => None,
    }
}

/// `jti` and similar identifiers: non-empty, at most 256 bytes, no control characters (they
/// end up in a database key and in logs).
pub(crate) fn valid_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control)
}

/// base64url without padding, as everywhere in JOSE.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
