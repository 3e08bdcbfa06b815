//! Stateless server nonces for `DPoP-Nonce` (RFC 9449 §8).
//!
//! A nonce is the number of the current time slot and an HMAC-SHA256 of it under a secret
//! every node shares: any node checks any node's nonce without storage. A nonce is accepted in
//! its own slot and the next, so it lives between [`SLOT_SECONDS`] and twice that.

use std::fmt;

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Length of a time slot, in seconds.
pub const SLOT_SECONDS: i64 = 60;

/// Tag bytes kept from the HMAC: 128 bits cannot be guessed within a slot.
const TAG_LEN: usize = 16;
/// 8 bytes of slot and the tag, base64url: 32 characters.
const NONCE_LEN: usize = 32;
/// Keeps these tags apart from any other HMAC made with the same secret.
const CONTEXT: &[u8] = b"portico dpop-nonce v1\0";

/// Issues and checks nonces with one secret.
#[derive(Clone)]
pub struct NonceKey {
    key: hmac::Key,
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceKey([redacted])")
    }
}

impl NonceKey {
    /// A key from a shared secret (at least 32 random bytes; every node must use the same).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The nonce for the slot of `now` (Unix seconds).
    pub fn issue(&self, now: i64) -> String {
        let slot = slot_of(now);
        let mut bytes = Vec::with_capacity(8 + TAG_LEN);
        bytes.extend_from_slice(&slot.to_be_bytes());
        bytes.extend_from_slice(&self.tag(slot));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` was issued with this key in the current or the previous slot.
    pub fn accepts(&self, nonce: &str, now: i64) -> bool {
        if nonce.len() != NONCE_LEN {
            return false;
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((slot, tag)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let slot = i64::from_be_bytes(*slot);
        let current = slot_of(now);
        if slot != current && slot != current.saturating_sub(1) {
            return false;
        }
        constant_time::verify_slices_are_equal(tag, &self.tag(slot)).is_ok()
    }

    fn tag(&self, slot: i64) -> [u8; TAG_LEN] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(CONTEXT);
        ctx.update(&slot.to_be_bytes());
        let full = ctx.sign();
        let mut tag = [0u8; TAG_LEN];
        if let Some(prefix) = full.as_ref().get(..TAG_LEN) {
            tag.copy_from_slice(prefix);
        }
        tag
    }
}

/// Floor division: the slot of a time before 1970 is still well defined.
fn slot_of(now: i64) -> i64 {
    now.checked_div_euclid(SLOT_SECONDS).unwrap_or(0)
}
