//! Access-token verification (`portico_oauth::jwt::verify`), as introspection and the resource
//! servers' path run it, against real key rings (EdDSA, ES256, RS256) made once per process.
//!
//! - Raw strings: never a valid token (no one but the ring can sign).
//! - Claims of the fuzzer's choosing, really signed by a ring: accepted exactly when issuer,
//!   audience and lifetime are right, and whatever is accepted has them right (duplicate keys,
//!   odd types and numbers included).
//! - A really signed token with one edit (a byte, a segment, a truncation): never accepted, and
//!   no ring but the signer's ever accepts a token.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;

#[path = "timing.rs"]
mod timing;
use portico_domain::FailureBudget;
use portico_oauth::jwt::{AccessClaims, verify};
use portico_oauth::keys::{KeyRing, MasterKey, generate_key};
use portico_oauth::{OAuthSettings, SigningAlgorithm};
use std::sync::LazyLock;

const ISSUER: &str = "https://portico.test";
const AUDIENCE: &str = "urn:portico:api";
const LEEWAY: i64 = 5;

struct Fixture {
    rings: Vec<KeyRing>,
    settings: OAuthSettings,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let rings = [
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
    ]
    .into_iter()
    .map(|alg| {
        let record = generate_key(alg, &master, now).unwrap();
        KeyRing::build(std::slice::from_ref(&record), &master, now, 3600).unwrap()
    })
    .collect();
    let settings = OAuthSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        signing_algorithm: SigningAlgorithm::EdDSA,
        access_token_ttl: 3600,
        refresh_token_ttl: 86400,
        authorization_code_ttl: 60,
        request_token_ttl: 86400,
        revocation_cache_entries: 100,
        client_failures: FailureBudget::new(20, 10),
    };
    Fixture { rings, settings }
});

#[derive(Arbitrary, Debug)]
enum Text {
    Right,
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct BuiltClaims {
    iss: Text,
    aud: Text,
    sub: String,
    client_id: String,
    scope: String,
    jti: String,
    iat: i32,
    nbf: i32,
    exp: i32,
    principal: u8,
    company: Option<u128>,
    groups: Vec<String>,
    sid: Option<String>,
}

#[derive(Arbitrary, Debug)]
enum Claims {
    /// Claims of the right shape, with values of the fuzzer's choosing (times relative to now).
    Built(BuiltClaims),
    /// Any bytes as the payload.
    Json(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Flip {
        at: usize,
        bit: u8,
    },
    Insert {
        at: usize,
        byte: u8,
    },
    Delete {
        at: usize,
    },
    Truncate {
        at: usize,
    },
    /// Replace one of the three segments with fuzz text (base64url-encoded or not).
    Segment {
        which: u8,
        text: Vec<u8>,
        encode: bool,
    },
}

/// The input, chosen by its first byte so that seeds stay readable:
/// `r<token>` a raw token (also any other first byte: the whole input is the token);
/// `j<ring><json>` the JSON payload signed by ring `<ring> % 3` (EdDSA, ES256, RS256);
/// `e<ring><edit...><json>` the same, then edited; `b<ring><claims...>` built claims.
#[derive(Debug)]
enum Input {
    Raw(String),
    Signed {
        ring: u8,
        claims: Claims,
        edit: Option<Edit>,
    },
}

fn read(data: &[u8]) -> arbitrary::Result<Input> {
    let raw = |b: &[u8]| Input::Raw(String::from_utf8_lossy(b).into_owned());
    let Some((&mode, rest)) = data.split_first() else {
        return Ok(raw(data));
    };
    let mut u = Unstructured::new(rest);
    Ok(match mode {
        b'r' => raw(rest),
        b'j' | b'e' | b'b' => {
            let ring = u.arbitrary::<u8>()?;
            let edit = if mode == b'e' {
                Some(u.arbitrary::<Edit>()?)
            } else {
                None
            };
            let claims = if mode == b'b' {
                Claims::Built(u.arbitrary()?)
            } else {
                Claims::Json(u.take_rest().to_vec())
            };
            Input::Signed { ring, claims, edit }
        }
        _ => raw(data),
    })
}

fn text(t: &Text, right: &str) -> String {
    match t {
        Text::Right => right.to_owned(),
        Text::Other(s) => s.clone(),
    }
}

fn edit(token: &str, e: &Edit) -> String {
    let mut b = token.as_bytes().to_vec();
    let n = b.len();
    match e {
        Edit::Flip { at, bit } => b[at % n] ^= 1 << (bit % 8),
        Edit::Insert { at, byte } => b.insert(at % (n + 1), *byte),
        Edit::Delete { at } => {
            b.remove(at % n);
        }
        Edit::Truncate { at } => b.truncate(at % n),
        Edit::Segment {
            which,
            text,
            encode,
        } => {
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            let i = *which as usize % parts.len();
            parts[i] = if *encode {
                URL_SAFE_NO_PAD.encode(text)
            } else {
                String::from_utf8_lossy(text).into_owned()
            };
            return parts.join(".");
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Whatever verifies carries our issuer and audience and is live (with the leeway, and a
/// second's slack for the time the check took).
fn check_accepted(c: &AccessClaims, now: i64) {
    assert_eq!(c.iss, ISSUER);
    assert_eq!(c.aud, AUDIENCE);
    assert!(
        c.exp >= now - LEEWAY - 1,
        "expired token accepted: exp {} now {now}",
        c.exp
    );
    assert!(
        c.nbf <= now + LEEWAY + 1,
        "immature token accepted: nbf {} now {now}",
        c.nbf
    );
}

fn verify_all(token: &str) -> Vec<Option<AccessClaims>> {
    let f = &*FIXTURE;
    f.rings
        .iter()
        .map(|ring| verify(token, ring, &f.settings).expect("verify never errs"))
        .collect()
}

fuzz_target!(|data: &[u8]| timing::timed(data, || {
    let f = &*FIXTURE;
    let Ok(input) = read(data) else {
        return;
    };
    match input {
        Input::Raw(token) => {
            for r in verify_all(&token) {
                assert!(r.is_none(), "an unsigned token verified: {token:?}");
            }
        }
        Input::Signed {
            ring,
            claims,
            edit: e,
        } => {
            let signer = ring as usize % f.rings.len();
            let now = chrono::Utc::now().timestamp();
            let (payload, built) = match &claims {
                Claims::Built(b) => {
                    let c = AccessClaims {
                        iss: text(&b.iss, ISSUER),
                        sub: b.sub.clone(),
                        aud: text(&b.aud, AUDIENCE),
                        client_id: b.client_id.clone(),
                        scope: b.scope.clone(),
                        jti: b.jti.clone(),
                        iat: now + i64::from(b.iat),
                        nbf: now + i64::from(b.nbf),
                        exp: now + i64::from(b.exp),
                        principal_type: match b.principal % 3 {
                            0 => portico_domain::PrincipalType::User,
                            1 => portico_domain::PrincipalType::Company,
                            _ => portico_domain::PrincipalType::App,
                        },
                        company_id: b.company.map(|u| portico_domain::CompanyId(uuid_from(u))),
                        sensitive_data_groups: b.groups.clone(),
                        sid: b.sid.clone(),
                    };
                    (serde_json::to_vec(&c).unwrap(), Some(c))
                }
                Claims::Json(bytes) => (bytes.clone(), None),
            };
            let signed = f.rings[signer].sign(&payload);
            let token = match &e {
                Some(e) => edit(&signed, e),
                None => signed.clone(),
            };
            let results = verify_all(&token);
            let checked_at = chrono::Utc::now().timestamp();
            for (i, r) in results.iter().enumerate() {
                if i != signer {
                    assert!(r.is_none(), "ring {i} accepted a token of ring {signer}");
                }
            }
            let mine = &results[signer];
            if token != signed {
                // Any change to the signed string is refused (base64url decoding is canonical,
                // the signed input is the text as sent, Ed25519 and RSA signatures are unique;
                // ECDSA's (r, n-s) twin is out of a fuzzer's reach).
                assert!(mine.is_none(), "an edited token verified: {token:?}");
            }
            if let Some(c) = mine {
                check_accepted(c, checked_at);
                if let Some(b) = &built {
                    assert_eq!(c, b, "claims changed in verification");
                }
            }
            if token == signed
                && let Some(b) = &built
            {
                let right = b.iss == ISSUER && b.aud == AUDIENCE;
                // Far enough from the edges that the clock moving during the check is no issue.
                let live = b.exp > now + 10 && b.nbf < now && b.nbf >= 0;
                let dead = b.exp < now - LEEWAY - 10 || b.nbf > now + LEEWAY + 10;
                if right && live {
                    assert!(mine.is_some(), "a valid token was refused: {b:?}");
                }
                if !right || dead {
                    assert!(mine.is_none(), "an invalid token was accepted: {b:?}");
                }
            }
        }
    }
}));

fn uuid_from(u: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(u)
}
