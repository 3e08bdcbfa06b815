//! Secrets at rest: what is generated, how it is stored, how it is compared.
//!
//! Client secrets and passwords are kept only as argon2id PHC strings (slow on purpose); refresh
//! tokens, request tokens, session tokens and authorization codes are high-entropy random
//! values, so a SHA-256 digest is enough to store them and lets the server look them up by digest.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use aws_lc_rs::{digest, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use std::fmt;

/// A freshly generated secret value. It is shown to its owner once and then dropped; its
/// `Debug` form never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// 256 bits from the OS RNG, base64url without padding (43 characters).
    pub fn generate() -> Self {
        Self(random_token(32))
    }

    pub fn from_string(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// `bytes` random bytes from the OS RNG as base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// The SHA-256 digest of a token, hex-encoded: the form in which opaque tokens are stored and
/// looked up.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub String);

impl TokenDigest {
    pub fn of(token: &str) -> Self {
        Self(hex(
            digest::digest(&digest::SHA256, token.as_bytes()).as_ref()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest is not the token, but there is no reason to spread it either.
        write!(f, "TokenDigest({}…)", &self.0[..8.min(self.0.len())])
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// Hashes a secret or password as an argon2id PHC string with a fresh salt. CPU-bound for tens
/// of milliseconds: async callers run it on a blocking thread.
/// How many run at once is the caller's business (`portico-guard`'s pool bounds it).
pub fn hash_secret(secret: &str) -> String {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .expect("argon2 with default parameters cannot fail on a byte string")
        .to_string()
}

/// Checks a secret against a stored PHC string. A malformed stored hash verifies as false.
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A PHC string of a random value, used to spend the same time on an unknown login id as on a
/// known one so the two cannot be told apart by timing.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_secret(&random_token(16)))
}

/// Compares two byte strings in constant time (for the length of the shorter).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = PlainSecret::generate();
        let b = PlainSecret::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn hash_then_verify() {
        let phc = hash_secret("correct horse");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse", &phc));
        assert!(!verify_secret("wrong horse", &phc));
        assert!(!verify_secret("correct horse", "not a phc string"));
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            TokenDigest::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_checks_length_and_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
