use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{TestKey, b64, ec_key, ed_key, garbage, rsa_key, rsa_key_2, sign, sign_with, unsigned};
use crate::assertion::{
    AssertionError, AssertionRules, MAX_ASSERTION_BYTES, VerifiedAssertion, verify_client_assertion,
};
use crate::jwk::{JwkSet, PublicJwk};

const CLIENT: &str = "client-123";
const ISSUER: &str = "https://portico.example.com";
const TOKEN_URL: &str = "https://portico.example.com/oauth2/v0/token";
const NOW: i64 = 1_750_000_000;

fn claims() -> Value {
    json!({"iss": CLIENT, "sub": CLIENT, "aud": TOKEN_URL, "jti": "j-1", "iat": NOW, "exp": NOW + 60})
}

fn set_of(keys: Vec<Value>) -> JwkSet {
    JwkSet::from_value(&json!({ "keys": keys })).unwrap()
}

fn verify(token: &str, keys: &JwkSet) -> Result<VerifiedAssertion, AssertionError> {
    verify_client_assertion(
        token,
        keys,
        CLIENT,
        &[ISSUER, TOKEN_URL],
        NOW,
        &AssertionRules::default(),
    )
}

/// Signed by `key`, with `kid` in the header when given.
fn token(key: &TestKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": crate::algorithm_name(key.alg), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = kid.into();
    }
    sign(&header, claims, key)
}

/// The claims with `member` set (or removed, for `Value::Null`).
fn claims_with(member: &str, value: Value) -> Value {
    let mut c = claims();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(member);
    } else {
        c[member] = value;
    }
    c
}

fn refused_with(member: &str, value: Value) -> AssertionError {
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    verify(&token(&k, None, &claims_with(member, value)), &keys).unwrap_err()
}

#[test]
fn each_key_type_and_algorithm_is_accepted() {
    // Signed by jsonwebtoken's own encode, as a partner's library would.
    let (ec, ed, rsa) = (ec_key(), ed_key(), rsa_key());
    for (key, kid) in [
        (&ec, "ec"),
        (&ed, "ed"),
        (rsa, "rsa"),
        (&rsa.with_alg(Algorithm::PS256), "rsa"),
    ] {
        let keys = set_of(vec![
            ec.jwk_with_kid("ec"),
            ed.jwk_with_kid("ed"),
            rsa.jwk_with_kid("rsa"),
        ]);
        let mut header = Header::new(key.alg);
        header.kid = Some(kid.into());
        let t = jsonwebtoken::encode(&header, &claims(), &key.encoding).unwrap();
        let v = verify(&t, &keys).unwrap_or_else(|e| panic!("{:?}: {e}", key.alg));
        let expected = PublicJwk::from_value(&key.jwk).unwrap();
        assert_eq!(
            v,
            VerifiedAssertion {
                jti: "j-1".into(),
                exp: NOW + 60,
                iat: Some(NOW),
                replay_until: NOW + 60 + AssertionRules::DEFAULT_LEEWAY,
                kid: Some(kid.into()),
                key_thumbprint: expected.thumbprint().into(),
            }
        );
    }
}

#[test]
fn without_kid_each_key_accepting_the_alg_is_tried() {
    let (a, b) = (ec_key(), ec_key());
    let keys = set_of(vec![a.jwk_with_kid("a"), b.jwk_with_kid("b")]);
    assert_eq!(
        verify(&token(&b, None, &claims()), &keys)
            .unwrap()
            .kid
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        verify(&token(&a, None, &claims()), &keys)
            .unwrap()
            .kid
            .as_deref(),
        Some("a")
    );
    // A single key without kid.
    let single = set_of(vec![a.jwk.clone()]);
    assert_eq!(
        verify(&token(&a, None, &claims()), &single).unwrap().kid,
        None
    );
    // Signed by a key that is not registered.
    let stranger = ec_key();
    assert_eq!(
        verify(&token(&stranger, None, &claims()), &keys),
        Err(AssertionError::BadSignature)
    );
    assert_eq!(
        verify(&token(&ed_key(), None, &claims()), &keys),
        Err(AssertionError::NoKeyForAlgorithm)
    );
}

#[test]
fn kid_selects_the_key() {
    let (a, b) = (ec_key(), ed_key());
    let keys = set_of(vec![a.jwk_with_kid("a"), b.jwk_with_kid("b")]);
    assert_eq!(
        verify(&token(&a, Some("zz"), &claims()), &keys),
        Err(AssertionError::UnknownKid)
    );
    // Right key, wrong kid: not tried with the other keys.
    let a2 = ec_key();
    let keys2 = set_of(vec![a.jwk_with_kid("a"), a2.jwk_with_kid("a2")]);
    assert_eq!(
        verify(&token(&a2, Some("a"), &claims()), &keys2),
        Err(AssertionError::BadSignature)
    );
    // kid of an EC key, EdDSA signature.
    assert_eq!(
        verify(&token(&b, Some("a"), &claims()), &keys),
        Err(AssertionError::KeyAlgorithmMismatch)
    );
    let mut header = json!({"alg": "ES256", "kid": 7});
    assert_eq!(
        verify(&sign(&header, &claims(), &a), &keys),
        Err(AssertionError::Malformed)
    );
    header["kid"] = "a".into();
    assert!(verify(&sign(&header, &claims(), &a), &keys).is_ok());
}

#[test]
fn rsa_key_restricted_by_alg() {
    let rsa = rsa_key();
    let keys = set_of(vec![{
        let mut j = rsa.jwk.clone();
        j["alg"] = "RS256".into();
        j
    }]);
    assert!(verify(&token(rsa, None, &claims()), &keys).is_ok());
    let ps = rsa.with_alg(Algorithm::PS256);
    assert_eq!(
        verify(&token(&ps, None, &claims()), &keys),
        Err(AssertionError::NoKeyForAlgorithm)
    );
    // Another RSA key's signature.
    assert_eq!(
        verify(&token(rsa_key_2(), None, &claims()), &keys),
        Err(AssertionError::BadSignature)
    );
}

#[test]
fn none_and_hmac_are_refused_before_keys() {
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    for alg in ["none", "None", "NONE", ""] {
        let t = unsigned(&json!({"alg": alg}), &claims());
        assert_eq!(
            verify(&t, &keys),
            Err(AssertionError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    assert_eq!(
        verify(&unsigned(&json!({"typ": "JWT"}), &claims()), &keys),
        Err(AssertionError::UnsupportedAlgorithm)
    );
    // HMAC with the public key (raw point, or its JWK text) as the secret: key confusion.
    let secrets = [
        k.public_bytes.clone(),
        k.jwk.to_string().into_bytes(),
        serde_json::to_vec(&k.jwk["x"]).unwrap(),
    ];
    for secret in secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let t = sign_with(
                &json!({"alg": crate::algorithm_name(alg)}),
                &claims(),
                &EncodingKey::from_secret(&secret),
                alg,
            );
            assert_eq!(verify(&t, &keys), Err(AssertionError::UnsupportedAlgorithm));
        }
    }
    let rsa = rsa_key();
    let rkeys = set_of(vec![rsa.jwk.clone()]);
    let t = sign_with(
        &json!({"alg": "HS256"}),
        &claims(),
        &EncodingKey::from_secret(&rsa.public_bytes),
        Algorithm::HS256,
    );
    assert_eq!(
        verify(&t, &rkeys),
        Err(AssertionError::UnsupportedAlgorithm)
    );
    // Algorithms of the right families we do not accept.
    for alg in [Algorithm::ES384, Algorithm::RS512, Algorithm::PS384] {
        let t = unsigned(&json!({"alg": crate::algorithm_name(alg)}), &claims());
        assert_eq!(
            verify(&format!("{t}AAAA"), &rkeys),
            Err(AssertionError::UnsupportedAlgorithm)
        );
    }
}

#[test]
fn header_keys_are_never_used() {
    let registered = ec_key();
    let attacker = ec_key();
    let keys = set_of(vec![registered.jwk.clone()]);
    let header = json!({
        "alg": "ES256", "jwk": attacker.jwk, "jku": "https://evil.example/jwks", "x5u": "https://evil.example/x5u"
    });
    assert_eq!(
        verify(&sign(&header, &claims(), &attacker), &keys),
        Err(AssertionError::BadSignature)
    );
    // The same headers on a token signed by the registered key change nothing.
    assert!(verify(&sign(&header, &claims(), &registered), &keys).is_ok());
}

#[test]
fn crit_header_is_refused() {
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    let t = sign(
        &json!({"alg": "ES256", "crit": ["b64"], "b64": false}),
        &claims(),
        &k,
    );
    assert_eq!(verify(&t, &keys), Err(AssertionError::CriticalHeader));
}

#[test]
fn tampered_tokens_are_refused() {
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    let t = token(&k, None, &claims());
    let (input, sig) = t.rsplit_once('.').unwrap();
    let (header, _) = input.split_once('.').unwrap();
    let other = b64(serde_json::to_vec(&claims_with("sub", "someone-else".into())).unwrap());
    assert_eq!(
        verify(&format!("{header}.{other}.{sig}"), &keys),
        Err(AssertionError::BadSignature)
    );
    let mut raw = super::b64_decode(sig);
    raw[10] ^= 1;
    assert_eq!(
        verify(&format!("{input}.{}", b64(&raw)), &keys),
        Err(AssertionError::BadSignature)
    );
    assert_eq!(
        verify(&format!("{input}.{}", b64(&raw[..63])), &keys),
        Err(AssertionError::BadSignature)
    );
    // Claims that are not an object, validly signed.
    let header = json!({"alg": "ES256"});
    let h = b64(serde_json::to_vec(&header).unwrap());
    let input = format!("{h}.{}", b64(b"[1,2]"));
    let s = jsonwebtoken::crypto::sign(input.as_bytes(), &k.encoding, Algorithm::ES256).unwrap();
    assert_eq!(
        verify(&format!("{input}.{s}"), &keys),
        Err(AssertionError::Malformed)
    );
}

#[test]
fn issuer_subject_and_audience() {
    assert_eq!(
        refused_with("iss", "other".into()),
        AssertionError::WrongIssuer
    );
    assert_eq!(
        refused_with("iss", Value::Null),
        AssertionError::MissingClaim("iss")
    );
    assert_eq!(
        refused_with("iss", json!([CLIENT])),
        AssertionError::InvalidClaim("iss")
    );
    assert_eq!(
        refused_with("sub", "other".into()),
        AssertionError::WrongSubject
    );
    assert_eq!(
        refused_with("sub", Value::Null),
        AssertionError::MissingClaim("sub")
    );
    assert_eq!(
        refused_with("aud", "https://elsewhere.example/token".into()),
        AssertionError::WrongAudience
    );
    assert_eq!(
        refused_with("aud", format!("{TOKEN_URL}/").into()),
        AssertionError::WrongAudience
    );
    assert_eq!(
        refused_with("aud", json!(["a", "b"])),
        AssertionError::WrongAudience
    );
    assert_eq!(
        refused_with("aud", json!([])),
        AssertionError::InvalidClaim("aud")
    );
    assert_eq!(
        refused_with("aud", json!([TOKEN_URL, 1])),
        AssertionError::InvalidClaim("aud")
    );
    assert_eq!(
        refused_with("aud", json!(1)),
        AssertionError::InvalidClaim("aud")
    );
    assert_eq!(
        refused_with("aud", Value::Null),
        AssertionError::MissingClaim("aud")
    );

    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    for aud in [
        json!(ISSUER),
        json!(["https://x.example", ISSUER]),
        json!([TOKEN_URL]),
    ] {
        assert!(
            verify(&token(&k, None, &claims_with("aud", aud.clone())), &keys).is_ok(),
            "{aud}"
        );
    }
    // No audience configured: nothing matches.
    let t = token(&k, None, &claims());
    let r = verify_client_assertion(&t, &keys, CLIENT, &[], NOW, &AssertionRules::default());
    assert_eq!(r, Err(AssertionError::WrongAudience));
    // Another client's id.
    let r = verify_client_assertion(
        &t,
        &keys,
        "client-999",
        &[TOKEN_URL],
        NOW,
        &AssertionRules::default(),
    );
    assert_eq!(r, Err(AssertionError::WrongIssuer));
}

#[test]
fn expiry_and_lifetime() {
    let leeway = AssertionRules::DEFAULT_LEEWAY;
    assert_eq!(
        refused_with("exp", Value::Null),
        AssertionError::MissingClaim("exp")
    );
    assert_eq!(
        refused_with("exp", json!("soon")),
        AssertionError::InvalidClaim("exp")
    );
    // Expired beyond the leeway; iat removed so that only exp counts.
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    let at = |exp: i64, iat: Option<i64>| {
        let mut c = claims_with("exp", exp.into());
        match iat {
            Some(iat) => c["iat"] = iat.into(),
            None => {
                c.as_object_mut().unwrap().remove("iat");
            }
        }
        verify(&token(&k, None, &c), &keys)
    };
    assert_eq!(at(NOW - leeway, None), Err(AssertionError::Expired));
    assert_eq!(at(NOW - 3600, None), Err(AssertionError::Expired));
    assert!(at(NOW - leeway + 1, None).is_ok());
    // exp within the short maximum.
    assert!(at(NOW + 300, None).is_ok());
    assert!(at(NOW + 300 + leeway, None).is_ok());
    assert_eq!(
        at(NOW + 301 + leeway, None),
        Err(AssertionError::LifetimeTooLong)
    );
    assert_eq!(at(NOW + 86_400, None), Err(AssertionError::LifetimeTooLong));
    assert_eq!(at(i64::MAX, None), Err(AssertionError::LifetimeTooLong));
    assert_eq!(at(i64::MIN, None), Err(AssertionError::Expired));
    // With iat: exp - iat bounded too, iat not in the future.
    assert_eq!(
        at(NOW + 200, Some(NOW - 200)),
        Err(AssertionError::LifetimeTooLong)
    );
    assert!(at(NOW + 200, Some(NOW - 100)).is_ok());
    assert_eq!(
        at(NOW + 60, Some(NOW + leeway + 1)),
        Err(AssertionError::IssuedInFuture)
    );
    assert!(at(NOW + 60, Some(NOW + leeway)).is_ok());
    assert_eq!(
        at(NOW + 5, Some(NOW + 8)),
        Err(AssertionError::InvalidClaim("iat"))
    );
    assert_eq!(
        refused_with("iat", json!("now")),
        AssertionError::InvalidClaim("iat")
    );
    // Fractional NumericDates are accepted.
    assert!(
        verify(
            &token(&k, None, &claims_with("exp", json!(NOW as f64 + 30.5))),
            &keys
        )
        .is_ok()
    );
    // Custom rules.
    let strict = AssertionRules {
        leeway: 0,
        max_lifetime: 60,
    };
    let t = token(&k, None, &claims_with("exp", (NOW + 120).into()));
    let r = verify_client_assertion(&t, &keys, CLIENT, &[TOKEN_URL], NOW, &strict);
    assert_eq!(r, Err(AssertionError::LifetimeTooLong));
}

#[test]
fn not_before() {
    let leeway = AssertionRules::DEFAULT_LEEWAY;
    assert_eq!(
        refused_with("nbf", (NOW + leeway + 1).into()),
        AssertionError::NotYetValid
    );
    assert_eq!(
        refused_with("nbf", json!(true)),
        AssertionError::InvalidClaim("nbf")
    );
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    assert!(
        verify(
            &token(&k, None, &claims_with("nbf", (NOW + leeway).into())),
            &keys
        )
        .is_ok()
    );
}

#[test]
fn jti_is_required_and_bounded() {
    assert_eq!(
        refused_with("jti", Value::Null),
        AssertionError::MissingClaim("jti")
    );
    assert_eq!(
        refused_with("jti", "".into()),
        AssertionError::InvalidClaim("jti")
    );
    assert_eq!(
        refused_with("jti", "j".repeat(257).into()),
        AssertionError::InvalidClaim("jti")
    );
    assert_eq!(
        refused_with("jti", "a\u{0}b".into()),
        AssertionError::InvalidClaim("jti")
    );
    assert_eq!(
        refused_with("jti", 42.into()),
        AssertionError::InvalidClaim("jti")
    );
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    let v = verify(
        &token(&k, None, &claims_with("jti", "é".repeat(128).into())),
        &keys,
    )
    .unwrap();
    assert_eq!(v.jti.len(), 256);
}

#[test]
fn oversized_and_garbage_tokens() {
    let k = ec_key();
    let keys = set_of(vec![k.jwk.clone()]);
    let big = claims_with("pad", "x".repeat(MAX_ASSERTION_BYTES).into());
    assert_eq!(
        verify(&token(&k, None, &big), &keys),
        Err(AssertionError::TooLarge)
    );
    assert_eq!(
        verify(&"a".repeat(MAX_ASSERTION_BYTES + 1), &keys),
        Err(AssertionError::TooLarge)
    );
    for g in garbage() {
        let e = verify(&g, &keys).unwrap_err();
        assert!(
            matches!(
                e,
                AssertionError::Malformed
                    | AssertionError::UnsupportedAlgorithm
                    | AssertionError::BadSignature
            ),
            "{g:?}: {e:?}"
        );
    }
}

#[test]
fn error_messages_are_safe() {
    let e = refused_with("iss", "<script>".into());
    assert_eq!(e.to_string(), "client assertion iss must be the client_id");
    assert_eq!(
        AssertionError::MissingClaim("jti").to_string(),
        "client assertion lacks the jti claim"
    );
}
