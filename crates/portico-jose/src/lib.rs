//! Pure JOSE checks shared by the authorization server, the resource-server library and the
//! domain: no I/O, no clock, no storage. Every function takes the current time as an argument
//! and every malformed input is an error value, never a panic.
//!
//! - [`jwk`]: public JWKs ([`PublicJwk`]) and registered key sets ([`JwkSet`]): EC P-256,
//!   Ed25519 and RSA ≥ 2048 bits only, private members refused, RFC 7638 thumbprints.
//! - [`assertion`]: `private_key_jwt` client assertions (RFC 7523 §2.2 and §3, OIDC Core §9).
//! - [`dpop`]: DPoP proofs (RFC 9449 §4.2 and §4.3).
//! - [`nonce`]: stateless `DPoP-Nonce` values (RFC 9449 §8) shared by every node with the
//!   same secret.
//!
//! Only asymmetric algorithms are ever accepted: ES256, EdDSA (Ed25519), RS256 and PS256
//! ([`ALGORITHMS`]). `none` and HMAC are refused before any key is looked at.
//!
//! Replay (`jti`) is the caller's business: these checks are pure, the replay cache is shared
//! state (a database table) that the caller keeps.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Untrusted input reaches every function here: no panicking shortcuts outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod assertion;
pub mod dpop;
pub mod jwk;
mod jws;
pub mod nonce;

#[cfg(test)]
mod tests;

pub use assertion::{AssertionError, AssertionRules, VerifiedAssertion, verify_client_assertion};
pub use dpop::{DpopError, ProofCheck, VerifiedProof, normalize_htu, verify_proof};
pub use jsonwebtoken::Algorithm;
pub use jwk::{JwkError, JwkProblem, JwkSet, JwksError, PublicJwk};
pub use nonce::NonceKey;

/// The JWS algorithms accepted anywhere in this crate, in order of preference.
pub const ALGORITHMS: &[Algorithm] = &[
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// The `alg` names accepted (and advertised): RFC 9864's fully specified `Ed25519` beside
/// `EdDSA`, which it deprecates but every client still sends.
pub const ALGORITHM_NAMES: &[&str] = &["ES256", "EdDSA", "Ed25519", "RS256", "PS256"];

/// The JWS `alg` name of an accepted algorithm (as in a JOSE header or JWK).
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::RS256 => "RS256",
        Algorithm::PS256 => "PS256",
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES384 => "ES384",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        _ => "unknown",
    }
}

/// Parses a JOSE `alg` value, returning it only if it is one of [`ALGORITHMS`].
pub fn accepted_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "ES256" => Some(Algorithm::ES256),
        // RFC 9864 §2.2: Ed25519 is EdDSA with the Ed25519 curve, the only one accepted.
        "EdDSA" | "Ed25519" => Some(Algorithm::EdDSA),
        "RS256" => Some(Algorithm::RS256),
        "PS256" => Some(Algorithm::PS256),
        _ => None,
    }
}
