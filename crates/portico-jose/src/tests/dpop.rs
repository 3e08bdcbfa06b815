use aws_lc_rs::digest;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use super::{TestKey, b64, ec_key, ed_key, garbage, rsa_key, sign, sign_with, unsigned};
use crate::dpop::{
    DpopError, MAX_PROOF_BYTES, ProofCheck, VerifiedProof, normalize_htu, verify_proof,
};
use crate::jwk::{JwkProblem, PublicJwk};

const NOW: i64 = 1_750_000_000;
const URI: &str = "https://server.example.com/oauth2/v0/token";
const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

fn check() -> ProofCheck<'static> {
    ProofCheck::new("POST", URI, NOW)
}

fn header(key: &TestKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": crate::algorithm_name(key.alg), "jwk": key.jwk})
}

fn claims() -> Value {
    json!({"jti": "-BwC3ESc6acc2lTc", "htm": "POST", "htu": URI, "iat": NOW})
}

fn claims_with(member: &str, value: Value) -> Value {
    let mut c = claims();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(member);
    } else {
        c[member] = value;
    }
    c
}

fn proof(key: &TestKey, claims: &Value) -> String {
    sign(&header(key), claims, key)
}

fn refused_with(member: &str, value: Value) -> DpopError {
    let k = ec_key();
    verify_proof(&proof(&k, &claims_with(member, value)), &check()).unwrap_err()
}

fn ath(token: &str) -> String {
    b64(digest::digest(&digest::SHA256, token.as_bytes()))
}

#[test]
fn each_key_type_is_accepted() {
    let rsa = rsa_key();
    for key in [&ec_key(), &ed_key(), rsa, &rsa.with_alg(Algorithm::PS256)] {
        let v = verify_proof(&proof(key, &claims()), &check())
            .unwrap_or_else(|e| panic!("{:?}: {e}", key.alg));
        assert_eq!(
            v,
            VerifiedProof {
                jkt: PublicJwk::from_value(&key.jwk).unwrap().thumbprint().into(),
                jti: "-BwC3ESc6acc2lTc".into(),
                iat: NOW,
                nonce: None,
            }
        );
    }
}

#[test]
fn nonce_is_returned() {
    let k = ec_key();
    let v = verify_proof(
        &proof(&k, &claims_with("nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v".into())),
        &check(),
    )
    .unwrap();
    assert_eq!(v.nonce.as_deref(), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
    assert_eq!(
        refused_with("nonce", json!(1)),
        DpopError::InvalidClaim("nonce")
    );
}

#[test]
fn typ_must_be_dpop_jwt() {
    let k = ec_key();
    for typ in [
        json!("JWT"),
        json!("DPoP+JWT"),
        json!("application/dpop+jwt"),
        json!(1),
    ] {
        let mut h = header(&k);
        h["typ"] = typ.clone();
        let e = verify_proof(&sign(&h, &claims(), &k), &check()).unwrap_err();
        assert!(
            matches!(e, DpopError::WrongType | DpopError::Malformed),
            "{typ}: {e:?}"
        );
    }
    let mut h = header(&k);
    h.as_object_mut().unwrap().remove("typ");
    assert_eq!(
        verify_proof(&sign(&h, &claims(), &k), &check()),
        Err(DpopError::WrongType)
    );
}

#[test]
fn jwk_header_required_public_and_matching() {
    let k = ec_key();
    let mut h = header(&k);
    h.as_object_mut().unwrap().remove("jwk");
    assert_eq!(
        verify_proof(&sign(&h, &claims(), &k), &check()),
        Err(DpopError::MissingJwk)
    );

    // The private key in the header.
    let mut h = header(&k);
    h["jwk"]["d"] = b64([9u8; 32]).into();
    let e = verify_proof(&sign(&h, &claims(), &k), &check()).unwrap_err();
    let DpopError::InvalidJwk(jwk_error) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (jwk_error.member, jwk_error.problem),
        (Some("d"), JwkProblem::PrivateMember)
    );
    assert_eq!(
        e.to_string(),
        "DPoP proof jwk header is invalid: d: is a private key member; only the public key may be sent"
    );

    // A symmetric key, and a jwk that is not an object.
    for jwk in [
        json!({"kty": "oct", "k": b64(b"secret")}),
        json!("key"),
        json!({"kty": "EC", "crv": "P-384"}),
    ] {
        let mut h = header(&k);
        h["jwk"] = jwk;
        assert!(matches!(
            verify_proof(&sign(&h, &claims(), &k), &check()),
            Err(DpopError::InvalidJwk(_))
        ));
    }

    // An EC jwk and an EdDSA signature.
    let ed = ed_key();
    let mut h = header(&ed);
    h["jwk"] = k.jwk.clone();
    assert_eq!(
        verify_proof(&sign(&h, &claims(), &ed), &check()),
        Err(DpopError::AlgorithmMismatch)
    );
}

#[test]
fn signature_by_another_key_than_the_header_jwk() {
    let (holder, other) = (ec_key(), ec_key());
    let mut h = header(&holder);
    h["jwk"] = other.jwk.clone();
    assert_eq!(
        verify_proof(&sign(&h, &claims(), &holder), &check()),
        Err(DpopError::BadSignature)
    );
    let t = proof(&holder, &claims());
    let (input, _) = t.rsplit_once('.').unwrap();
    let forged =
        jsonwebtoken::crypto::sign(input.as_bytes(), &other.encoding, Algorithm::ES256).unwrap();
    assert_eq!(
        verify_proof(&format!("{input}.{forged}"), &check()),
        Err(DpopError::BadSignature)
    );
}

#[test]
fn none_and_hmac_are_refused() {
    let k = ec_key();
    let mut h = header(&k);
    h["alg"] = "none".into();
    assert_eq!(
        verify_proof(&unsigned(&h, &claims()), &check()),
        Err(DpopError::UnsupportedAlgorithm)
    );
    h["alg"] = "HS256".into();
    let t = sign_with(
        &h,
        &claims(),
        &EncodingKey::from_secret(&k.public_bytes),
        Algorithm::HS256,
    );
    assert_eq!(
        verify_proof(&t, &check()),
        Err(DpopError::UnsupportedAlgorithm)
    );
    h["crit"] = json!(["exp"]);
    h["alg"] = "ES256".into();
    assert_eq!(
        verify_proof(&sign(&h, &claims(), &k), &check()),
        Err(DpopError::CriticalHeader)
    );
}

#[test]
fn htm_must_match_exactly() {
    assert_eq!(refused_with("htm", "GET".into()), DpopError::MethodMismatch);
    assert_eq!(
        refused_with("htm", "post".into()),
        DpopError::MethodMismatch
    );
    assert_eq!(
        refused_with("htm", Value::Null),
        DpopError::MissingClaim("htm")
    );
    assert_eq!(
        refused_with("htm", json!(["POST"])),
        DpopError::InvalidClaim("htm")
    );
}

#[test]
fn htu_is_compared_after_normalisation() {
    let k = ec_key();
    let ok = |htu: &str| verify_proof(&proof(&k, &claims_with("htu", htu.into())), &check());
    for same in [
        "https://server.example.com/oauth2/v0/token?x=1",
        "https://server.example.com/oauth2/v0/token#frag",
        "https://server.example.com/oauth2/v0/token?a=b#c",
        "HTTPS://Server.EXAMPLE.com:443/oauth2/v0/token",
        "https://server.example.com/oauth2/v0/./token",
    ] {
        assert!(ok(same).is_ok(), "{same}");
    }
    for other in [
        "https://server.example.com/oauth2/v0/token/",
        "https://server.example.com/OAUTH2/v0/token",
        "http://server.example.com/oauth2/v0/token",
        "https://server.example.com:8443/oauth2/v0/token",
        "https://other.example.com/oauth2/v0/token",
        "https://server.example.com/oauth2/v0/authorize",
    ] {
        assert_eq!(ok(other), Err(DpopError::UriMismatch), "{other}");
    }
    for bad in [
        "/oauth2/v0/token",
        "not a uri",
        "ftp://server.example.com/oauth2/v0/token",
        "https://u:p@server.example.com/oauth2/v0/token",
    ] {
        assert_eq!(ok(bad), Err(DpopError::InvalidClaim("htu")), "{bad}");
    }
    assert_eq!(
        refused_with("htu", Value::Null),
        DpopError::MissingClaim("htu")
    );
    // The request URI with a query matches a proof without one.
    let c = ProofCheck {
        uri: "https://server.example.com/oauth2/v0/token?grant=x",
        ..check()
    };
    assert!(verify_proof(&proof(&k, &claims()), &c).is_ok());
    let c = ProofCheck {
        uri: "relative",
        ..check()
    };
    assert_eq!(
        verify_proof(&proof(&k, &claims()), &c),
        Err(DpopError::BadRequestUri)
    );
}

#[test]
fn normalize_htu_forms() {
    assert_eq!(
        normalize_htu("HTTPS://A.Example:443/p?q#f").as_deref(),
        Some("https://a.example/p")
    );
    assert_eq!(
        normalize_htu("http://a.example:80").as_deref(),
        Some("http://a.example/")
    );
    assert_eq!(
        normalize_htu("http://a.example:8080/P").as_deref(),
        Some("http://a.example:8080/P")
    );
    assert_eq!(
        normalize_htu("https://a.example/a/../b").as_deref(),
        Some("https://a.example/b")
    );
    assert_eq!(normalize_htu("urn:x:y"), None);
    assert_eq!(normalize_htu(""), None);
    assert_eq!(normalize_htu("https://user@a.example/"), None);
}

#[test]
fn iat_window() {
    let k = ec_key();
    let at = |iat: Value| verify_proof(&proof(&k, &claims_with("iat", iat)), &check());
    assert!(at((NOW - 60).into()).is_ok());
    assert_eq!(at((NOW - 61).into()), Err(DpopError::TooOld));
    assert!(at((NOW + 5).into()).is_ok());
    assert_eq!(at((NOW + 6).into()), Err(DpopError::IssuedInFuture));
    assert_eq!(at(i64::MIN.into()), Err(DpopError::TooOld));
    assert_eq!(at(json!(u64::MAX)), Err(DpopError::IssuedInFuture));
    assert_eq!(at(json!("now")), Err(DpopError::InvalidClaim("iat")));
    assert_eq!(
        refused_with("iat", Value::Null),
        DpopError::MissingClaim("iat")
    );
    let c = ProofCheck {
        max_age: 300,
        future_skew: 0,
        ..check()
    };
    assert!(verify_proof(&proof(&k, &claims_with("iat", (NOW - 299).into())), &c).is_ok());
    assert_eq!(
        verify_proof(&proof(&k, &claims_with("iat", (NOW + 1).into())), &c),
        Err(DpopError::IssuedInFuture)
    );
}

#[test]
fn ath_with_an_access_token() {
    let k = ec_key();
    let c = ProofCheck::new("GET", "https://api.example.com/expense/reports", NOW)
        .with_access_token(TOKEN);
    let base = json!({"jti": "e1j3V_bKic8-LAEB", "htm": "GET", "htu": "https://api.example.com/expense/reports", "iat": NOW});
    let mut good = base.clone();
    good["ath"] = ath(TOKEN).into();
    assert!(verify_proof(&proof(&k, &good), &c).is_ok());

    let mut wrong = base.clone();
    wrong["ath"] = ath("another-token").into();
    assert_eq!(
        verify_proof(&proof(&k, &wrong), &c),
        Err(DpopError::AthMismatch)
    );
    wrong["ath"] = json!(5);
    assert_eq!(
        verify_proof(&proof(&k, &wrong), &c),
        Err(DpopError::InvalidClaim("ath"))
    );
    assert_eq!(
        verify_proof(&proof(&k, &base), &c),
        Err(DpopError::MissingAth)
    );
    // Without an access token (token endpoint), ath is ignored.
    let no_token = ProofCheck {
        access_token: None,
        ..c
    };
    assert!(verify_proof(&proof(&k, &wrong), &no_token).is_ok());
    assert!(verify_proof(&proof(&k, &good), &no_token).is_ok());
}

#[test]
fn jti_is_required_and_bounded() {
    assert_eq!(
        refused_with("jti", Value::Null),
        DpopError::MissingClaim("jti")
    );
    assert_eq!(
        refused_with("jti", "".into()),
        DpopError::InvalidClaim("jti")
    );
    assert_eq!(
        refused_with("jti", "j".repeat(257).into()),
        DpopError::InvalidClaim("jti")
    );
    assert_eq!(
        refused_with("jti", json!(1)),
        DpopError::InvalidClaim("jti")
    );
}

#[test]
fn oversized_and_garbage_proofs() {
    let k = ec_key();
    let big = claims_with("pad", "x".repeat(MAX_PROOF_BYTES).into());
    assert_eq!(
        verify_proof(&proof(&k, &big), &check()),
        Err(DpopError::TooLarge)
    );
    for g in garbage() {
        let e = verify_proof(&g, &check()).unwrap_err();
        assert!(
            matches!(
                e,
                DpopError::Malformed
                    | DpopError::UnsupportedAlgorithm
                    | DpopError::WrongType
                    | DpopError::MissingJwk
                    | DpopError::InvalidJwk(_)
            ),
            "{g:?}: {e:?}"
        );
    }
    // Valid signature over claims that are not an object.
    let h = b64(serde_json::to_vec(&header(&k)).unwrap());
    let input = format!("{h}.{}", b64(b"\"claims\""));
    let s = jsonwebtoken::crypto::sign(input.as_bytes(), &k.encoding, Algorithm::ES256).unwrap();
    assert_eq!(
        verify_proof(&format!("{input}.{s}"), &check()),
        Err(DpopError::Malformed)
    );
}
