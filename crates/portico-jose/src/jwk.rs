//! Public JWKs (RFC 7517) as Portico accepts them from partners, and registered key sets.
//!
//! Accepted: EC P-256 (ES256), OKP Ed25519 (EdDSA), RSA of 2048 to 8192 bits (RS256, PS256).
//! Everything else is refused with an error naming the member, so an admin can fix the key.
//! Keys are parsed once: a [`PublicJwk`] holds the verification key already parsed by
//! aws-lc-rs (and a jsonwebtoken [`DecodingKey`] for callers that verify with jsonwebtoken),
//! so a signature check does no parsing.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA256, RsaParameters, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value, json};

use crate::jws::b64url;

/// At most this many keys in a registered set.
pub const MAX_KEYS: usize = 10;
/// At most this many bytes of JSON in a registered set.
pub const MAX_JWKS_BYTES: usize = 16 * 1024;
/// RSA moduli below this are refused (NIST SP 800-131A; RFC 7518 §3.3 requires 2048).
pub const MIN_RSA_BITS: usize = 2048;
/// RSA moduli above this are refused: aws-lc-rs verifies up to 8192 bits.
pub const MAX_RSA_BITS: usize = 8192;

/// Members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const ES256_ONLY: &[Algorithm] = &[Algorithm::ES256];
const EDDSA_ONLY: &[Algorithm] = &[Algorithm::EdDSA];
const RSA_ALGS: &[Algorithm] = &[Algorithm::RS256, Algorithm::PS256];
const RS256_ONLY: &[Algorithm] = &[Algorithm::RS256];
const PS256_ONLY: &[Algorithm] = &[Algorithm::PS256];

/// What is wrong with a JWK member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkProblem {
    /// The key is not a JSON object.
    #[error("must be a JSON object")]
    NotObject,
    /// A required member is missing.
    #[error("is required")]
    Missing,
    /// A member that must be a string is not.
    #[error("must be a string")]
    NotString,
    /// `kty: "oct"`: a shared secret, never a registered key.
    #[error("symmetric (oct) keys are not accepted; register a public key (EC, OKP or RSA)")]
    SymmetricKey,
    /// A `kty` other than EC, OKP and RSA.
    #[error("must be EC, OKP or RSA")]
    UnsupportedKeyType,
    /// A private key member (`d`, `p`, ...).
    #[error("is a private key member; only the public key may be sent")]
    PrivateMember,
    /// An EC curve other than P-256.
    #[error("only P-256 is accepted for EC keys")]
    UnsupportedEcCurve,
    /// An OKP curve other than Ed25519.
    #[error("only Ed25519 is accepted for OKP keys")]
    UnsupportedOkpCurve,
    /// Not base64url without padding.
    #[error("must be base64url without padding")]
    BadBase64,
    /// A coordinate of the wrong length.
    #[error("must decode to 32 bytes")]
    Not32Bytes,
    /// The EC point or Ed25519 key was refused by the crypto library.
    #[error("is not a valid public key")]
    InvalidKey,
    /// RSA modulus below [`MIN_RSA_BITS`].
    #[error("RSA keys must be at least 2048 bits")]
    RsaTooShort,
    /// RSA modulus above [`MAX_RSA_BITS`].
    #[error("RSA keys must be at most 8192 bits")]
    RsaTooLong,
    /// A base64urlUInt with a leading zero octet (RFC 7518 §2 requires the minimal form).
    #[error("must not have leading zero octets")]
    LeadingZero,
    /// RSA exponent not odd, below 3 or above 2^32 - 1.
    #[error("must be an odd public exponent between 3 and 2^32 - 1")]
    BadExponent,
    /// `use` other than `sig`.
    #[error("must be \"sig\"")]
    UseNotSig,
    /// `key_ops` not an array of strings.
    #[error("must be an array of strings")]
    NotStringArray,
    /// `key_ops` without `verify`.
    #[error("must include \"verify\"")]
    KeyOpsWithoutVerify,
    /// `alg: none` or an HMAC algorithm on a public key.
    #[error("none and HMAC (HS256, HS384, HS512) are not accepted")]
    SymmetricAlgorithm,
    /// An `alg` the key type does not support.
    #[error("must be ES256 for P-256 keys")]
    AlgNotEs256,
    /// An `alg` the key type does not support.
    #[error("must be EdDSA for Ed25519 keys")]
    AlgNotEdDsa,
    /// An `alg` the key type does not support.
    #[error("must be RS256 or PS256 for RSA keys")]
    AlgNotRsa,
    /// A `kid` that is empty, too long or has control characters.
    #[error("must be 1 to 256 bytes without control characters")]
    BadKid,
}

/// A refused JWK: the member at fault (`None` for the key as a whole) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", MemberDisplay(*.member, *.problem))]
pub struct JwkError {
    /// The member at fault, e.g. `"crv"`; `None` when the key itself is wrong.
    pub member: Option<&'static str>,
    /// What is wrong with it.
    pub problem: JwkProblem,
}

struct MemberDisplay(Option<&'static str>, JwkProblem);

impl fmt::Display for MemberDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(member) => write!(f, "{member}: {}", self.1),
            None => write!(f, "{}", self.1),
        }
    }
}

fn err(member: &'static str, problem: JwkProblem) -> JwkError {
    JwkError {
        member: Some(member),
        problem,
    }
}

/// The key type and its public members, kept as sent (already validated) for the RFC 7638
/// thumbprint and [`PublicJwk::to_public_json`].
#[derive(Clone)]
enum KeyParams {
    Ec { x: String, y: String },
    Ed { x: String },
    Rsa { n: String, e: String, bits: usize },
}

/// A validated public signing key.
#[derive(Clone)]
pub struct PublicJwk {
    params: KeyParams,
    kid: Option<String>,
    alg: Option<Algorithm>,
    key_use: bool,
    key_ops: Option<Vec<String>>,
    algorithms: &'static [Algorithm],
    thumbprint: String,
    /// One parsed key per accepted algorithm: aws-lc-rs binds the padding to an RSA key.
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
    decoding_key: DecodingKey,
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kty", &self.kty())
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

impl PublicJwk {
    /// Parses and validates one JWK.
    pub fn from_value(value: &Value) -> Result<Self, JwkError> {
        let obj = value.as_object().ok_or(JwkError {
            member: None,
            problem: JwkProblem::NotObject,
        })?;
        let kty = required_str(obj, "kty")?;
        // Before the private-member check, so that a shared secret is named as such.
        if kty == "oct" {
            return Err(err("kty", JwkProblem::SymmetricKey));
        }
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
            return Err(err(member, JwkProblem::PrivateMember));
        }
        let kid = match optional_str(obj, "kid")? {
            Some(kid) if crate::jws::valid_identifier(kid) => Some(kid.to_owned()),
            Some(_) => return Err(err("kid", JwkProblem::BadKid)),
            None => None,
        };
        let key_use = match optional_str(obj, "use")? {
            Some("sig") => true,
            Some(_) => return Err(err("use", JwkProblem::UseNotSig)),
            None => false,
        };
        let key_ops = key_ops(obj)?;
        let alg = optional_str(obj, "alg")?;
        if matches!(alg, Some("none" | "HS256" | "HS384" | "HS512")) {
            return Err(err("alg", JwkProblem::SymmetricAlgorithm));
        }

        let (params, algorithms, verifiers, decoding_key) = match kty {
            "EC" => {
                if required_str(obj, "crv")? != "P-256" {
                    return Err(err("crv", JwkProblem::UnsupportedEcCurve));
                }
                let algorithms = match alg {
                    None | Some("ES256") => ES256_ONLY,
                    Some(_) => return Err(err("alg", JwkProblem::AlgNotEs256)),
                };
                let x = required_str(obj, "x")?;
                let y = required_str(obj, "y")?;
                let xb = coordinate(x, "x")?;
                let yb = coordinate(y, "y")?;
                // SEC 1 uncompressed point; aws-lc-rs checks that it is on the curve.
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&xb);
                point.extend_from_slice(&yb);
                let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                    .map_err(|_| err("x", JwkProblem::InvalidKey))?;
                let params = KeyParams::Ec {
                    x: x.to_owned(),
                    y: y.to_owned(),
                };
                (
                    params,
                    algorithms,
                    vec![(Algorithm::ES256, parsed)],
                    DecodingKey::from_ec_der(&point),
                )
            }
            "OKP" => {
                if required_str(obj, "crv")? != "Ed25519" {
                    return Err(err("crv", JwkProblem::UnsupportedOkpCurve));
                }
                let algorithms = match alg {
                    None | Some("EdDSA" | "Ed25519") => EDDSA_ONLY,
                    Some(_) => return Err(err("alg", JwkProblem::AlgNotEdDsa)),
                };
                let x = required_str(obj, "x")?;
                let xb = coordinate(x, "x")?;
                let parsed = ParsedPublicKey::new(&ED25519, &xb)
                    .map_err(|_| err("x", JwkProblem::InvalidKey))?;
                let params = KeyParams::Ed { x: x.to_owned() };
                (
                    params,
                    algorithms,
                    vec![(Algorithm::EdDSA, parsed)],
                    DecodingKey::from_ed_der(&xb),
                )
            }
            "RSA" => {
                let algorithms = match alg {
                    None => RSA_ALGS,
                    Some("RS256") => RS256_ONLY,
                    Some("PS256") => PS256_ONLY,
                    Some(_) => return Err(err("alg", JwkProblem::AlgNotRsa)),
                };
                let n = required_str(obj, "n")?;
                let e = required_str(obj, "e")?;
                let nb = uint(n, "n")?;
                let eb = uint(e, "e")?;
                let bits = bit_length(&nb);
                if bits < MIN_RSA_BITS {
                    return Err(err("n", JwkProblem::RsaTooShort));
                }
                if bits > MAX_RSA_BITS {
                    return Err(err("n", JwkProblem::RsaTooLong));
                }
                // A small odd exponent: a huge one would make every verification slow.
                let odd = eb.last().is_some_and(|b| b & 1 == 1);
                if eb.len() > 4 || !odd || eb.as_slice() == [1] {
                    return Err(err("e", JwkProblem::BadExponent));
                }
                let components = RsaPublicKeyComponents {
                    n: nb.as_slice(),
                    e: eb.as_slice(),
                };
                let mut verifiers = Vec::with_capacity(algorithms.len());
                for &a in algorithms {
                    let params: &'static RsaParameters = match a {
                        Algorithm::PS256 => &RSA_PSS_2048_8192_SHA256,
                        _ => &RSA_PKCS1_2048_8192_SHA256,
                    };
                    let parsed = components
                        .to_parsed_public_key(params)
                        .map_err(|_| err("n", JwkProblem::InvalidKey))?;
                    verifiers.push((a, parsed));
                }
                let decoding_key = DecodingKey::from_rsa_raw_components(&nb, &eb);
                let params = KeyParams::Rsa {
                    n: n.to_owned(),
                    e: e.to_owned(),
                    bits,
                };
                (params, algorithms, verifiers, decoding_key)
            }
            _ => return Err(err("kty", JwkProblem::UnsupportedKeyType)),
        };

        let thumbprint = thumbprint_of(&params);
        Ok(Self {
            params,
            kid,
            // With `alg` set, `algorithms` holds just that one.
            alg: alg.and(algorithms.first().copied()),
            key_use,
            key_ops,
            algorithms,
            thumbprint,
            verifiers,
            decoding_key,
        })
    }

    /// Parses and validates one JWK from JSON text.
    pub fn parse(json: &str) -> Result<Self, JwkError> {
        let value: Value = serde_json::from_str(json).map_err(|_| JwkError {
            member: None,
            problem: JwkProblem::NotObject,
        })?;
        Self::from_value(&value)
    }

    /// `kty`: `"EC"`, `"OKP"` or `"RSA"`.
    pub fn kty(&self) -> &'static str {
        match self.params {
            KeyParams::Ec { .. } => "EC",
            KeyParams::Ed { .. } => "OKP",
            KeyParams::Rsa { .. } => "RSA",
        }
    }

    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithms this key verifies: its `alg` if set, else every one its type supports.
    pub fn algorithms(&self) -> &[Algorithm] {
        self.algorithms
    }

    /// Whether this key verifies signatures made with `alg`.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// For RSA keys, the modulus length in bits.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self.params {
            KeyParams::Rsa { bits, .. } => Some(bits),
            _ => None,
        }
    }

    /// RFC 7638 JWK SHA-256 thumbprint, base64url without padding (the DPoP `jkt`).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The key for jsonwebtoken's `decode`, built once at parse time.
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding_key
    }

    /// Verifies a JWS signature (`signing_input` is `header.payload`, `signature` the decoded
    /// third part). False if the key does not accept `alg`.
    pub fn verify_signature(&self, alg: Algorithm, signing_input: &[u8], signature: &[u8]) -> bool {
        self.verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .is_some_and(|(_, key)| key.verify_sig(signing_input, signature).is_ok())
    }

    /// The public members only (key type members, `kid`, `use`, `alg`, `key_ops`), for
    /// storing or showing; anything else that was sent (`x5c`, unknown members) is dropped.
    pub fn to_public_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("kty".into(), self.kty().into());
        match &self.params {
            KeyParams::Ec { x, y } => {
                obj.insert("crv".into(), "P-256".into());
                obj.insert("x".into(), x.as_str().into());
                obj.insert("y".into(), y.as_str().into());
            }
            KeyParams::Ed { x } => {
                obj.insert("crv".into(), "Ed25519".into());
                obj.insert("x".into(), x.as_str().into());
            }
            KeyParams::Rsa { n, e, .. } => {
                obj.insert("n".into(), n.as_str().into());
                obj.insert("e".into(), e.as_str().into());
            }
        }
        if let Some(kid) = &self.kid {
            obj.insert("kid".into(), kid.as_str().into());
        }
        if self.key_use {
            obj.insert("use".into(), "sig".into());
        }
        if let Some(alg) = self.alg {
            obj.insert("alg".into(), crate::algorithm_name(alg).into());
        }
        if let Some(ops) = &self.key_ops {
            obj.insert("key_ops".into(), json!(ops));
        }
        Value::Object(obj)
    }
}

/// RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace. The
/// values are validated base64url (no characters to escape), so formatting is exact.
fn thumbprint_of(params: &KeyParams) -> String {
    let canonical = match params {
        KeyParams::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
        KeyParams::Ed { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        KeyParams::Rsa { n, e, .. } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
    };
    b64url(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    member: &'static str,
) -> Result<&'a str, JwkError> {
    optional_str(obj, member)?.ok_or(err(member, JwkProblem::Missing))
}

fn optional_str<'a>(
    obj: &'a Map<String, Value>,
    member: &'static str,
) -> Result<Option<&'a str>, JwkError> {
    match obj.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(err(member, JwkProblem::NotString)),
    }
}

fn key_ops(obj: &Map<String, Value>) -> Result<Option<Vec<String>>, JwkError> {
    let Some(value) = obj.get("key_ops") else {
        return Ok(None);
    };
    let ops = value
        .as_array()
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or(err("key_ops", JwkProblem::NotStringArray))?;
    if !ops.iter().any(|op| op == "verify") {
        return Err(err("key_ops", JwkProblem::KeyOpsWithoutVerify));
    }
    Ok(Some(ops))
}

fn decode(value: &str, member: &'static str) -> Result<Vec<u8>, JwkError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| err(member, JwkProblem::BadBase64))
}

/// A 32-byte coordinate (P-256 x/y, RFC 7518 §6.2.1.2 requires the full length; Ed25519 x).
fn coordinate(value: &str, member: &'static str) -> Result<Vec<u8>, JwkError> {
    let bytes = decode(value, member)?;
    if bytes.len() != 32 {
        return Err(err(member, JwkProblem::Not32Bytes));
    }
    Ok(bytes)
}

/// A base64urlUInt (RFC 7518 §2): non-empty, minimal (no leading zero octet).
fn uint(value: &str, member: &'static str) -> Result<Vec<u8>, JwkError> {
    let bytes = decode(value, member)?;
    match bytes.first() {
        None => Err(err(member, JwkProblem::Missing)),
        Some(0) => Err(err(member, JwkProblem::LeadingZero)),
        Some(_) => Ok(bytes),
    }
}

/// Bits of a big-endian integer without leading zero octets.
fn bit_length(bytes: &[u8]) -> usize {
    let Some(first) = bytes.first() else {
        return 0;
    };
    let lead = usize::try_from(first.leading_zeros()).unwrap_or(8);
    bytes.len().saturating_mul(8).saturating_sub(lead)
}

/// Why a registered key set was refused. [`JwksError::field`] names the JSON field at fault
/// (`keys[1].crv`), and `Display` starts with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// More than [`MAX_JWKS_BYTES`] of JSON.
    #[error("the JWKS must be at most 16384 bytes of JSON")]
    TooLarge,
    /// Not JSON, or not an object.
    #[error("the JWKS must be a JSON object {{\"keys\": [...]}}")]
    NotObject,
    /// No `keys` array.
    #[error("keys: is required and must be an array")]
    MissingKeys,
    /// An empty `keys` array.
    #[error("keys: must hold at least one key")]
    Empty,
    /// More than [`MAX_KEYS`] keys.
    #[error("keys: at most 10 keys")]
    TooManyKeys,
    /// One key was refused.
    #[error("keys[{index}]{}", KeyErrorDisplay(*.error))]
    Key {
        /// Index in `keys`.
        index: usize,
        /// What is wrong with it.
        error: JwkError,
    },
    /// Two keys with the same `kid`.
    #[error("keys[{index}].kid: duplicates the kid of keys[{first}]")]
    DuplicateKid {
        /// Index of the second key with that kid.
        index: usize,
        /// Index of the first.
        first: usize,
    },
    /// A key without `kid` in a set of several keys.
    #[error("keys[{index}].kid: is required when the set holds more than one key")]
    MissingKid {
        /// Index of the key without kid.
        index: usize,
    },
}

struct KeyErrorDisplay(JwkError);

impl fmt::Display for KeyErrorDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.member {
            Some(member) => write!(f, ".{member}: {}", self.0.problem),
            None => write!(f, ": {}", self.0.problem),
        }
    }
}

impl JwksError {
    /// The reason alone, without the field: for an error response that names the field
    /// separately (see [`JwksError::field`]).
    pub fn reason(&self) -> String {
        match self {
            Self::Key { error, .. } => error.problem.to_string(),
            Self::MissingKeys => "is required and must be an array".to_owned(),
            Self::Empty => "must hold at least one key".to_owned(),
            Self::TooManyKeys => "at most 10 keys".to_owned(),
            Self::DuplicateKid { first, .. } => format!("duplicates the kid of keys[{first}]"),
            Self::MissingKid { .. } => {
                "is required when the set holds more than one key".to_owned()
            }
            Self::TooLarge | Self::NotObject => self.to_string(),
        }
    }

    /// The JSON field at fault, for an error response naming it: `""` (the document),
    /// `"keys"`, `"keys[1]"`, `"keys[1].crv"`.
    pub fn field(&self) -> String {
        match self {
            Self::TooLarge | Self::NotObject => String::new(),
            Self::MissingKeys | Self::Empty | Self::TooManyKeys => "keys".to_owned(),
            Self::Key {
                index,
                error:
                    JwkError {
                        member: Some(member),
                        ..
                    },
            } => {
                format!("keys[{index}].{member}")
            }
            Self::Key {
                index,
                error: JwkError { member: None, .. },
            } => format!("keys[{index}]"),
            Self::DuplicateKid { index, .. } | Self::MissingKid { index } => {
                format!("keys[{index}].kid")
            }
        }
    }
}

/// A validated set of 1 to [`MAX_KEYS`] public keys, as registered by a partner.
#[derive(Debug, Clone)]
pub struct JwkSet {
    keys: Vec<PublicJwk>,
}

impl JwkSet {
    /// Parses and validates a JWKS document `{"keys": [...]}`.
    pub fn parse(json: &str) -> Result<Self, JwksError> {
        if json.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        let value: Value = serde_json::from_str(json).map_err(|_| JwksError::NotObject)?;
        Self::validate(&value)
    }

    /// Validates a JWKS document already parsed as JSON; the size limit applies to its
    /// compact serialization.
    pub fn from_value(value: &Value) -> Result<Self, JwksError> {
        let size = serde_json::to_vec(value)
            .map_err(|_| JwksError::NotObject)?
            .len();
        if size > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        Self::validate(value)
    }

    fn validate(value: &Value) -> Result<Self, JwksError> {
        let obj = value.as_object().ok_or(JwksError::NotObject)?;
        let entries = obj
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::MissingKeys)?;
        if entries.is_empty() {
            return Err(JwksError::Empty);
        }
        if entries.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys);
        }
        let mut keys: Vec<PublicJwk> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let key =
                PublicJwk::from_value(entry).map_err(|error| JwksError::Key { index, error })?;
            // Several keys: each needs a kid so that a partner can rotate (and we can pick
            // the key) by kid.
            if entries.len() > 1 && key.kid.is_none() {
                return Err(JwksError::MissingKid { index });
            }
            if let Some(kid) = key.kid()
                && let Some(first) = keys.iter().position(|k| k.kid() == Some(kid))
            {
                return Err(JwksError::DuplicateKid { index, first });
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// The keys, in the order registered.
    pub fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&PublicJwk> {
        self.keys.iter().find(|k| k.kid() == Some(kid))
    }

    /// The keys to try for a JWS: the one with `kid` when given (if it accepts `alg`), else
    /// every key that accepts `alg`.
    pub fn candidates<'a, 'k>(
        &'a self,
        kid: Option<&'k str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a PublicJwk> + use<'a, 'k> {
        self.keys
            .iter()
            .filter(move |k| kid.is_none_or(|kid| k.kid() == Some(kid)) && k.accepts(alg))
    }

    /// The public JWKS `{"keys": [...]}` (see [`PublicJwk::to_public_json`]).
    pub fn to_json(&self) -> Value {
        json!({ "keys": self.keys.iter().map(PublicJwk::to_public_json).collect::<Vec<_>>() })
    }
}
