//! The refresh grace window: a client that lost the answer to a refresh (a timeout, two
//! workers racing) may present the token it just rotated again, briefly, and gets the same
//! answer instead of losing its grant. The answer is stored with the rotated token, sealed
//! (AES-256-GCM) under a key derived from that token's plaintext: the database holds only the
//! token's digest, so neither a reader of the database nor anyone but the token's holder can
//! open it.

use crate::issue::IssuedTokens;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use portico_domain::PlainSecret;
use serde::{Deserialize, Serialize};

/// Domain separation: the key is never the token's stored digest (plain SHA-256).
const KEY_LABEL: &[u8] = b"portico refresh grace reply v1\0";
const AAD: &[u8] = b"refresh-reply";

#[derive(Serialize, Deserialize)]
struct Reply {
    access_token: String,
    /// Absolute, so a replay reports the time the token really has left.
    expires_at: i64,
    scope: String,
    refresh_token: Option<String>,
    refresh_expires_at: Option<i64>,
    id_token: Option<String>,
    /// A DPoP-bound answer (absent in replies sealed before DPoP: Bearer).
    #[serde(default)]
    dpop: bool,
}

fn key(old_token: &str) -> LessSafeKey {
    let mut input = KEY_LABEL.to_vec();
    input.extend_from_slice(old_token.as_bytes());
    let k = digest(&SHA256, &input);
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, k.as_ref()).expect("a 32-byte AES key"))
}

/// Seals `tokens` (issued at `now`) so that only the holder of `old_token` can open them.
pub(crate) fn seal(old_token: &str, tokens: &IssuedTokens, now: i64) -> Vec<u8> {
    let reply = Reply {
        access_token: tokens.access_token.clone(),
        expires_at: now + tokens.expires_in,
        scope: tokens.scope.clone(),
        refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose().to_owned()),
        refresh_expires_at: tokens.refresh_expires_at,
        id_token: tokens.id_token.clone(),
        dpop: tokens.token_type == "DPoP",
    };
    let mut buf = serde_json::to_vec(&reply).expect("a reply serializes");
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .expect("the operating system's random number generator failed");
    key(old_token)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(AAD),
            &mut buf,
        )
        .expect("AES-GCM sealing of a short buffer cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out
}

/// The sealed answer again, as of `now`; `None` if it does not open with `old_token`.
pub(crate) fn open(old_token: &str, raw: &[u8], now: i64) -> Option<IssuedTokens> {
    if raw.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ct) = raw.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = ct.to_vec();
    let plain = key(old_token)
        .open_in_place(nonce, Aad::from(AAD), &mut buf)
        .ok()?;
    let reply: Reply = serde_json::from_slice(plain).ok()?;
    Some(IssuedTokens {
        access_token: reply.access_token,
        expires_in: (reply.expires_at - now).max(0),
        scope: reply.scope,
        refresh_token: reply.refresh_token.map(PlainSecret::from_string),
        refresh_expires_at: reply.refresh_expires_at,
        id_token: reply.id_token,
        token_type: if reply.dpop { "DPoP" } else { "Bearer" },
        principal_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> IssuedTokens {
        IssuedTokens {
            access_token: "at".into(),
            expires_in: 3600,
            scope: "expense.report.read".into(),
            refresh_token: Some(PlainSecret::from_string("next".into())),
            refresh_expires_at: Some(99),
            id_token: None,
            token_type: "DPoP",
            principal_type: Some("user"),
        }
    }

    #[test]
    fn only_the_old_tokens_holder_opens_the_reply() {
        let sealed = seal("old-token", &tokens(), 1000);
        let again = open("old-token", &sealed, 1003).expect("opens");
        assert_eq!(again.access_token, "at");
        assert_eq!(again.expires_in, 3597);
        assert_eq!(again.refresh_token.unwrap().expose(), "next");
        assert_eq!(again.token_type, "DPoP");
        assert!(open("other-token", &sealed, 1003).is_none());
        // Tampered or truncated: nothing.
        let mut bad = sealed.clone();
        let last = bad.len() - 2;
        bad[last] ^= 1;
        assert!(open("old-token", &bad, 1003).is_none());
        assert!(open("old-token", &sealed[..sealed.len() - 1], 1003).is_none());
        assert!(open("old-token", b"abc", 1003).is_none());
    }
}
