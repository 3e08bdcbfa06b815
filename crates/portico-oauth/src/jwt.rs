//! Access tokens: JWTs per RFC 9068 (`typ: at+jwt`).

use crate::error::OAuthResult;
use crate::keys::KeyRing;
use crate::settings::OAuthSettings;
use aws_lc_rs::digest;
use jsonwebtoken::{Validation, decode, decode_header};
use portico_domain::{CompanyId, PrincipalType};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// Seconds of clock skew allowed on `exp` and `nbf`.
const LEEWAY: i64 = 5;

/// A token's `aud`: one resource as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn of(resources: &[String]) -> Self {
        match resources {
            [one] => Self::One(one.clone()),
            many => Self::Many(many.to_vec()),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let all: &[String] = match self {
            Self::One(a) => std::slice::from_ref(a),
            Self::Many(m) => m,
        };
        all.iter().map(String::as_str)
    }

    pub fn contains(&self, resource: &str) -> bool {
        self.iter().any(|a| a == resource)
    }
}

/// The claims of an access token (see docs/tokens.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    /// The resources the token is for (RFC 8707), or the configured default audience.
    pub aud: Audience,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub principal_type: PrincipalType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<CompanyId>,
    #[serde(default)]
    pub sensitive_data_groups: Vec<String>,
    /// The grant (refresh-token family) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The key a DPoP-bound token is bound to (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800's confirmation claim, as DPoP uses it: the JWK SHA-256 thumbprint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl AccessClaims {
    pub fn sign(&self, keys: &KeyRing) -> String {
        let json = serde_json::to_vec(self).expect("claims serialize");
        keys.sign(&json)
    }
}

/// Checks a token's signature (with a published key), `typ`, issuer and lifetime; its audience
/// is the caller's to check against the resource asking (introspection).
/// Anything wrong is simply "not a valid token": callers answer inactive or invalid_token.
pub fn verify(
    token: &str,
    keys: &KeyRing,
    settings: &OAuthSettings,
) -> OAuthResult<Option<AccessClaims>> {
    Ok(verify_with_kid(token, keys, settings).map(|(_, claims)| claims))
}

/// `verify`, also returning the kid of the key that verified the token.
fn verify_with_kid(
    token: &str,
    keys: &KeyRing,
    settings: &OAuthSettings,
) -> Option<(String, AccessClaims)> {
    let header = decode_header(token).ok()?;
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    let kid = header.kid?;
    let (alg, key) = keys.verifier(&kid)?;
    if !typ_ok || header.alg != *alg {
        return None;
    }
    let mut v = Validation::new(*alg);
    v.set_issuer(&[&settings.issuer]);
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    v.leeway = LEEWAY as u64;
    let claims = decode::<AccessClaims>(token, key, &v).ok()?.claims;
    Some((kid, claims))
}

/// `verify`, remembering tokens that passed: introspection sees the same tokens again and
/// again, and the signature check (an Ed25519 verification, tens of microseconds) is most of
/// its cost. What passed once stays valid except for the clock and the keys, so a remembered
/// token is checked again for those: its `exp`/`nbf` with the same leeway, and its key still in
/// the ring. Revocation and enablement are the caller's to check on every call, as before.
pub(crate) fn verify_remembered(
    token: &str,
    keys: &KeyRing,
    settings: &OAuthSettings,
    seen: &VerifiedTokens,
    now: i64,
) -> Option<Arc<AccessClaims>> {
    let fingerprint = VerifiedTokens::fingerprint(token);
    let remembered = seen.get(&fingerprint);
    crate::telemetry::cache_lookup("verified_tokens", remembered.is_some());
    if let Some((kid, claims)) = remembered {
        let live = claims.exp >= now - LEEWAY && claims.nbf <= now + LEEWAY;
        return (live && keys.verifier(&kid).is_some()).then_some(claims);
    }
    let (kid, claims) = verify_with_kid(token, keys, settings)?;
    let claims = Arc::new(claims);
    seen.put(fingerprint, Arc::from(kid), claims.clone());
    Some(claims)
}

/// How many verified tokens each of the two generations of `VerifiedTokens` holds.
const GENERATION: usize = 4096;

/// Access tokens that passed `verify`, by the SHA-256 of the whole token (so a token that
/// differs in any byte, a forged signature say, is never taken for a remembered one). Bounded
/// without an eviction policy on the hot path: new entries go to the current generation; when
/// it is full it becomes the previous one and the old previous one is dropped. A token in use
/// is verified again at most once per generation. Only tokens that verified are remembered, so
/// junk cannot push them out.
#[derive(Default)]
pub(crate) struct VerifiedTokens {
    // Fx: the keys are SHA-256 digests of tokens that verified, so nobody picks them.
    generations: RwLock<[FxHashMap<[u8; 32], Verified>; 2]>,
}

type Verified = (Arc<str>, Arc<AccessClaims>);

impl VerifiedTokens {
    fn fingerprint(token: &str) -> [u8; 32] {
        let d = digest::digest(&digest::SHA256, token.as_bytes());
        d.as_ref().try_into().expect("SHA-256 is 32 bytes")
    }

    fn get(&self, fingerprint: &[u8; 32]) -> Option<Verified> {
        let g = self.generations.read().expect("verified tokens lock");
        g[0].get(fingerprint)
            .or_else(|| g[1].get(fingerprint))
            .cloned()
    }

    fn put(&self, fingerprint: [u8; 32], kid: Arc<str>, claims: Arc<AccessClaims>) {
        let mut g = self.generations.write().expect("verified tokens lock");
        if g[0].len() >= GENERATION {
            g[1] = std::mem::take(&mut g[0]);
        }
        g[0].insert(fingerprint, (kid, claims));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyRing, MasterKey};
    use crate::settings::SigningAlgorithm;

    fn settings() -> OAuthSettings {
        OAuthSettings {
            issuer: "https://portico.test".into(),
            audience: "urn:portico:api".into(),
            signing_algorithm: SigningAlgorithm::EdDSA,
            access_token_ttl: 3600,
            refresh_token_ttl: 86400,
            refresh_grace: 5,
            refresh_reuse_detection: 30 * 86_400,
            authorization_code_ttl: 60,
            revocation_cache_entries: 100,
            client_failures: portico_domain::FailureBudget::new(20, 10),
            dpop: Default::default(),
            par: Default::default(),
        }
    }

    fn claims(now: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://portico.test".into(),
            sub: "app".into(),
            aud: Audience::One("urn:portico:api".into()),
            client_id: "app".into(),
            scope: "expense.report.read".into(),
            jti: "j1".into(),
            iat: now,
            nbf: now,
            exp: now + 3600,
            principal_type: PrincipalType::App,
            company_id: None,
            sensitive_data_groups: vec![],
            sid: None,
            cnf: None,
        }
    }

    #[test]
    fn remembered_tokens_are_checked_for_time_and_keys() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let now = chrono::Utc::now().timestamp();
        let uses = crate::keys::KeyUse {
            access: SigningAlgorithm::EdDSA,
        };
        let set = crate::keys::key_set(&master, SigningAlgorithm::EdDSA, now);
        let ring = KeyRing::build(&set, &master, now, 3600, uses).unwrap();
        let token = claims(now).sign(&ring);
        let seen = VerifiedTokens::default();
        let s = settings();

        let first = verify_remembered(&token, &ring, &s, &seen, now).unwrap();
        assert_eq!(*first, claims(now));
        // Remembered: the same claims, without a second signature check.
        assert!(seen.get(&VerifiedTokens::fingerprint(&token)).is_some());
        assert_eq!(
            verify_remembered(&token, &ring, &s, &seen, now),
            Some(first)
        );
        // Past exp (beyond the leeway), or before nbf: refused, as a fresh check would.
        assert_eq!(
            verify_remembered(&token, &ring, &s, &seen, now + 3600 + 6),
            None
        );
        assert_eq!(verify_remembered(&token, &ring, &s, &seen, now - 6), None);
        // Its key no longer in the ring: refused.
        let others = crate::keys::key_set(&master, SigningAlgorithm::EdDSA, now);
        let new_ring = KeyRing::build(&others, &master, now, 3600, uses).unwrap();
        assert_eq!(verify_remembered(&token, &new_ring, &s, &seen, now), None);
        // A token that differs in any byte is not the remembered one, and fails verification.
        let at = token.rfind('.').unwrap() + 5;
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
        assert_eq!(verify_remembered(&forged, &ring, &s, &seen, now), None);
    }

    #[test]
    fn verified_tokens_stay_bounded() {
        let seen = VerifiedTokens::default();
        let c = Arc::new(claims(0));
        for i in 0..(3 * GENERATION) {
            seen.put(
                VerifiedTokens::fingerprint(&i.to_string()),
                "k".into(),
                c.clone(),
            );
        }
        let g = seen.generations.read().unwrap();
        assert!(g[0].len() + g[1].len() <= 2 * GENERATION);
        // The most recent ones are still there.
        drop(g);
        let last = (3 * GENERATION - 1).to_string();
        assert!(seen.get(&VerifiedTokens::fingerprint(&last)).is_some());
    }
}
