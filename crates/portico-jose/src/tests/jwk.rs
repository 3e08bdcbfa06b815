use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::{b64, ec_key, ed_key, rsa_key};
use crate::jwk::{JwkError, JwkProblem, JwkSet, JwksError, MAX_JWKS_BYTES, PublicJwk};

fn refused(jwk: Value) -> JwkError {
    PublicJwk::from_value(&jwk).unwrap_err()
}

fn assert_refused(jwk: Value, member: &str, problem: JwkProblem) {
    let e = refused(jwk);
    assert_eq!((e.member, e.problem), (Some(member), problem), "{e}");
}

fn with(mut jwk: Value, member: &str, value: Value) -> Value {
    jwk[member] = value;
    jwk
}

/// RFC 7638 §3.1.
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

#[test]
fn rfc7638_thumbprint_vector() {
    let jwk =
        json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
    let key = PublicJwk::from_value(&jwk).unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(key.rsa_bits(), Some(2048));
    assert_eq!(key.algorithms(), &[Algorithm::RS256]);
    assert_eq!(key.kid(), Some("2011-04-29"));
}

#[test]
fn thumbprint_ignores_member_order_and_optional_members() {
    let k = ec_key();
    let plain = PublicJwk::from_value(&k.jwk).unwrap();
    let reordered = json!({
        "y": k.jwk["y"], "x": k.jwk["x"], "kid": "k1", "use": "sig", "alg": "ES256",
        "crv": "P-256", "kty": "EC", "x5c": ["ignored"]
    });
    let other = PublicJwk::from_value(&reordered).unwrap();
    assert_eq!(plain.thumbprint(), other.thumbprint());
    // And matches jsonwebtoken's own RFC 7638 implementation.
    let theirs: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.jwk.clone()).unwrap();
    assert_eq!(
        plain.thumbprint(),
        theirs
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap()
    );
    let ed = ed_key();
    let theirs: jsonwebtoken::jwk::Jwk = serde_json::from_value(ed.jwk.clone()).unwrap();
    assert_eq!(
        PublicJwk::from_value(&ed.jwk).unwrap().thumbprint(),
        theirs
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap()
    );
}

#[test]
fn each_key_type_is_accepted() {
    let ec = PublicJwk::from_value(&ec_key().jwk).unwrap();
    assert_eq!((ec.kty(), ec.algorithms()), ("EC", &[Algorithm::ES256][..]));
    assert!(ec.accepts(Algorithm::ES256) && !ec.accepts(Algorithm::ES384));
    let ed = PublicJwk::from_value(&ed_key().jwk).unwrap();
    assert_eq!(
        (ed.kty(), ed.algorithms()),
        ("OKP", &[Algorithm::EdDSA][..])
    );
    let rsa = PublicJwk::from_value(&rsa_key().jwk).unwrap();
    assert_eq!(
        (rsa.kty(), rsa.algorithms()),
        ("RSA", &[Algorithm::RS256, Algorithm::PS256][..])
    );
    assert!(!rsa.accepts(Algorithm::RS512));
    let ps = PublicJwk::from_value(&with(rsa_key().jwk.clone(), "alg", "PS256".into())).unwrap();
    assert_eq!(ps.algorithms(), &[Algorithm::PS256]);
    assert!(ec.kid().is_none());
}

#[test]
fn public_json_keeps_only_public_members() {
    let k = ec_key();
    let mut jwk = k.jwk_with_kid("k1");
    jwk["use"] = "sig".into();
    jwk["key_ops"] = json!(["verify"]);
    jwk["x5c"] = json!(["MIIB..."]);
    jwk["ext"] = true.into();
    let key = PublicJwk::from_value(&jwk).unwrap();
    let expected = json!({
        "kty": "EC", "crv": "P-256", "x": k.jwk["x"], "y": k.jwk["y"],
        "kid": "k1", "use": "sig", "key_ops": ["verify"]
    });
    assert_eq!(key.to_public_json(), expected);
    // Round trip.
    let again = PublicJwk::from_value(&key.to_public_json()).unwrap();
    assert_eq!(again.thumbprint(), key.thumbprint());
    let rsa = PublicJwk::from_value(&with(rsa_key().jwk.clone(), "alg", "RS256".into())).unwrap();
    assert_eq!(rsa.to_public_json()["alg"], "RS256");
    assert!(rsa.to_public_json().get("d").is_none());
}

#[test]
fn symmetric_keys_are_refused() {
    assert_refused(
        json!({"kty": "oct", "k": b64([7u8; 32])}),
        "kty",
        JwkProblem::SymmetricKey,
    );
    assert_refused(json!({"kty": "oct"}), "kty", JwkProblem::SymmetricKey);
}

#[test]
fn private_members_are_refused() {
    let ec = ec_key().jwk;
    assert_refused(
        with(ec.clone(), "d", b64([1u8; 32]).into()),
        "d",
        JwkProblem::PrivateMember,
    );
    assert_refused(
        with(ed_key().jwk, "d", b64([1u8; 32]).into()),
        "d",
        JwkProblem::PrivateMember,
    );
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        assert_refused(
            with(rsa_key().jwk.clone(), member, "AQAB".into()),
            member,
            JwkProblem::PrivateMember,
        );
    }
    assert_refused(with(ec, "k", "AQAB".into()), "k", JwkProblem::PrivateMember);
}

#[test]
fn other_key_types_and_curves_are_refused() {
    let ec = ec_key().jwk;
    assert_refused(
        with(ec.clone(), "crv", "P-384".into()),
        "crv",
        JwkProblem::UnsupportedEcCurve,
    );
    assert_refused(
        with(ec.clone(), "crv", "secp256k1".into()),
        "crv",
        JwkProblem::UnsupportedEcCurve,
    );
    assert_refused(
        with(ed_key().jwk, "crv", "X25519".into()),
        "crv",
        JwkProblem::UnsupportedOkpCurve,
    );
    assert_refused(
        with(ed_key().jwk, "crv", "Ed448".into()),
        "crv",
        JwkProblem::UnsupportedOkpCurve,
    );
    assert_refused(
        with(ec.clone(), "kty", "AKP".into()),
        "kty",
        JwkProblem::UnsupportedKeyType,
    );
    assert_refused(
        with(ec.clone(), "kty", 1.into()),
        "kty",
        JwkProblem::NotString,
    );
    let mut no_kty = ec;
    no_kty.as_object_mut().unwrap().remove("kty");
    assert_refused(no_kty, "kty", JwkProblem::Missing);
    for not_object in [json!([]), json!("EC"), json!(null), json!(1)] {
        let e = refused(not_object);
        assert_eq!((e.member, e.problem), (None, JwkProblem::NotObject));
    }
}

#[test]
fn bad_coordinates_are_refused() {
    let ec = ec_key().jwk;
    assert_refused(
        with(ec.clone(), "x", b64([1u8; 31]).into()),
        "x",
        JwkProblem::Not32Bytes,
    );
    assert_refused(
        with(ec.clone(), "y", b64([1u8; 33]).into()),
        "y",
        JwkProblem::Not32Bytes,
    );
    let padded = format!("{}=", ec["x"].as_str().unwrap());
    assert_refused(
        with(ec.clone(), "x", padded.into()),
        "x",
        JwkProblem::BadBase64,
    );
    assert_refused(
        with(ec.clone(), "y", "not+base64/url".into()),
        "y",
        JwkProblem::BadBase64,
    );
    // A point that is not on the curve.
    assert_refused(
        with(ec.clone(), "y", b64([1u8; 32]).into()),
        "x",
        JwkProblem::InvalidKey,
    );
    let mut no_y = ec;
    no_y.as_object_mut().unwrap().remove("y");
    assert_refused(no_y, "y", JwkProblem::Missing);
    assert_refused(
        with(ed_key().jwk, "x", b64([1u8; 31]).into()),
        "x",
        JwkProblem::Not32Bytes,
    );
    assert_refused(
        with(ed_key().jwk, "x", json!(["x"])),
        "x",
        JwkProblem::NotString,
    );
}

#[test]
fn weak_or_malformed_rsa_keys_are_refused() {
    let rsa = &rsa_key().jwk;
    // 1024 bits.
    let mut short = vec![0xc5u8; 128];
    short[127] = 0x01;
    assert_refused(
        with(rsa.clone(), "n", b64(&short).into()),
        "n",
        JwkProblem::RsaTooShort,
    );
    // 2047 bits.
    let mut n2047 = vec![0xffu8; 256];
    n2047[0] = 0x7f;
    assert_refused(
        with(rsa.clone(), "n", b64(&n2047).into()),
        "n",
        JwkProblem::RsaTooShort,
    );
    assert_refused(
        with(rsa.clone(), "n", b64(vec![0xffu8; 1025]).into()),
        "n",
        JwkProblem::RsaTooLong,
    );
    let mut leading_zero = vec![0u8];
    leading_zero.extend_from_slice(&rsa_key().public_bytes);
    assert_refused(
        with(rsa.clone(), "n", b64(&leading_zero).into()),
        "n",
        JwkProblem::LeadingZero,
    );
    assert_refused(
        with(rsa.clone(), "e", b64([1, 0, 0]).into()),
        "e",
        JwkProblem::BadExponent,
    );
    assert_refused(
        with(rsa.clone(), "e", "AQ".into()),
        "e",
        JwkProblem::BadExponent,
    );
    assert_refused(
        with(rsa.clone(), "e", b64([1u8; 5]).into()),
        "e",
        JwkProblem::BadExponent,
    );
    assert_refused(with(rsa.clone(), "e", "".into()), "e", JwkProblem::Missing);
}

#[test]
fn use_alg_and_key_ops_are_checked() {
    let ec = ec_key().jwk;
    assert_refused(
        with(ec.clone(), "use", "enc".into()),
        "use",
        JwkProblem::UseNotSig,
    );
    assert!(PublicJwk::from_value(&with(ec.clone(), "use", "sig".into())).is_ok());
    for alg in ["none", "HS256", "HS384", "HS512"] {
        assert_refused(
            with(ec.clone(), "alg", alg.into()),
            "alg",
            JwkProblem::SymmetricAlgorithm,
        );
    }
    for alg in ["ES384", "RS256", "EdDSA", "es256"] {
        assert_refused(
            with(ec.clone(), "alg", alg.into()),
            "alg",
            JwkProblem::AlgNotEs256,
        );
    }
    assert_refused(
        with(ed_key().jwk, "alg", "ES256".into()),
        "alg",
        JwkProblem::AlgNotEdDsa,
    );
    assert_refused(
        with(rsa_key().jwk.clone(), "alg", "RS512".into()),
        "alg",
        JwkProblem::AlgNotRsa,
    );
    assert_refused(
        with(rsa_key().jwk.clone(), "alg", "RSA-OAEP".into()),
        "alg",
        JwkProblem::AlgNotRsa,
    );
    assert_refused(
        with(ec.clone(), "key_ops", json!(["sign"])),
        "key_ops",
        JwkProblem::KeyOpsWithoutVerify,
    );
    assert_refused(
        with(ec.clone(), "key_ops", json!([])),
        "key_ops",
        JwkProblem::KeyOpsWithoutVerify,
    );
    assert_refused(
        with(ec.clone(), "key_ops", json!("verify")),
        "key_ops",
        JwkProblem::NotStringArray,
    );
    assert_refused(
        with(ec.clone(), "key_ops", json!(["verify", 1])),
        "key_ops",
        JwkProblem::NotStringArray,
    );
    assert!(PublicJwk::from_value(&with(ec.clone(), "key_ops", json!(["verify"]))).is_ok());
    assert_refused(
        with(ec.clone(), "kid", "".into()),
        "kid",
        JwkProblem::BadKid,
    );
    assert_refused(
        with(ec.clone(), "kid", "a\nb".into()),
        "kid",
        JwkProblem::BadKid,
    );
    assert_refused(
        with(ec.clone(), "kid", "k".repeat(257).into()),
        "kid",
        JwkProblem::BadKid,
    );
    assert_refused(with(ec, "kid", 3.into()), "kid", JwkProblem::NotString);
}

#[test]
fn jwk_error_messages_name_the_member() {
    let e = refused(with(ec_key().jwk, "crv", "P-521".into()));
    assert_eq!(e.to_string(), "crv: only P-256 is accepted for EC keys");
    assert_eq!(refused(json!([])).to_string(), "must be a JSON object");
}

#[test]
fn jwks_with_one_or_several_keys() {
    let (ec, ed, rsa) = (ec_key(), ed_key(), rsa_key());
    let one = JwkSet::from_value(&json!({"keys": [ec.jwk]})).unwrap();
    assert_eq!(one.keys().len(), 1);
    let doc = json!({"keys": [ec.jwk_with_kid("a"), ed.jwk_with_kid("b"), rsa.jwk_with_kid("c")]});
    let set = JwkSet::parse(&doc.to_string()).unwrap();
    assert_eq!(set.keys().len(), 3);
    assert_eq!(set.get("b").unwrap().kty(), "OKP");
    assert!(set.get("z").is_none());
    let kids = |kid: Option<&str>, alg| {
        set.candidates(kid, alg)
            .map(|k| k.kid().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(kids(None, Algorithm::PS256), ["c"]);
    assert_eq!(kids(Some("a"), Algorithm::ES256), ["a"]);
    assert!(kids(Some("a"), Algorithm::EdDSA).is_empty());
    assert!(kids(Some("z"), Algorithm::ES256).is_empty());
    // to_json round-trips, dropping nothing public.
    let again = JwkSet::from_value(&set.to_json()).unwrap();
    assert_eq!(again.to_json(), set.to_json());
    assert_eq!(set.to_json()["keys"][2]["n"], rsa.jwk["n"]);
}

#[test]
fn jwks_errors_name_key_index_and_member() {
    let ec = ec_key();
    let bad = with(ec_key().jwk_with_kid("b"), "crv", "P-384".into());
    let e = JwkSet::from_value(&json!({"keys": [ec.jwk_with_kid("a"), bad]})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "keys[1].crv: only P-256 is accepted for EC keys"
    );
    assert_eq!(e.field(), "keys[1].crv");
    assert_eq!(e.reason(), "only P-256 is accepted for EC keys");

    let e = JwkSet::from_value(&json!({"keys": [ec.jwk_with_kid("a"), [1]]})).unwrap_err();
    assert_eq!(e.to_string(), "keys[1]: must be a JSON object");
    assert_eq!(e.field(), "keys[1]");

    let private = with(ec.jwk.clone(), "d", b64([2u8; 32]).into());
    let e = JwkSet::from_value(&json!({"keys": [private]})).unwrap_err();
    assert_eq!(e.field(), "keys[0].d");
}

#[test]
fn jwks_kids_unique_and_required_with_several_keys() {
    let (a, b) = (ec_key(), ed_key());
    let e = JwkSet::from_value(&json!({"keys": [a.jwk_with_kid("k"), b.jwk_with_kid("k")]}))
        .unwrap_err();
    assert_eq!(e, JwksError::DuplicateKid { index: 1, first: 0 });
    assert_eq!(e.field(), "keys[1].kid");
    assert_eq!(e.to_string(), "keys[1].kid: duplicates the kid of keys[0]");
    assert_eq!(format!("{}: {}", e.field(), e.reason()), e.to_string());

    let e = JwkSet::from_value(&json!({"keys": [a.jwk_with_kid("k"), b.jwk]})).unwrap_err();
    assert_eq!(e, JwksError::MissingKid { index: 1 });
    let e = JwkSet::from_value(&json!({"keys": [a.jwk, b.jwk_with_kid("k")]})).unwrap_err();
    assert_eq!(e, JwksError::MissingKid { index: 0 });
    assert_eq!(e.field(), "keys[0].kid");
}

#[test]
fn jwks_shape_and_size_limits() {
    let ec = ec_key();
    assert_eq!(
        JwkSet::from_value(&json!({"keys": []})).unwrap_err(),
        JwksError::Empty
    );
    assert_eq!(
        JwkSet::from_value(&json!({"key": [ec.jwk]})).unwrap_err(),
        JwksError::MissingKeys
    );
    assert_eq!(
        JwkSet::from_value(&json!({"keys": ec.jwk})).unwrap_err(),
        JwksError::MissingKeys
    );
    assert_eq!(
        JwkSet::from_value(&json!([ec.jwk])).unwrap_err(),
        JwksError::NotObject
    );
    assert_eq!(
        JwkSet::parse("{\"keys\": [").unwrap_err(),
        JwksError::NotObject
    );
    assert_eq!(JwkSet::parse("").unwrap_err(), JwksError::NotObject);
    assert_eq!(JwksError::MissingKeys.field(), "keys");

    let eleven: Vec<Value> = (0..11).map(|i| ec.jwk_with_kid(&format!("k{i}"))).collect();
    assert_eq!(
        JwkSet::from_value(&json!({"keys": eleven})).unwrap_err(),
        JwksError::TooManyKeys
    );
    let ten: Vec<Value> = (0..10).map(|i| ec.jwk_with_kid(&format!("k{i}"))).collect();
    assert_eq!(
        JwkSet::from_value(&json!({"keys": ten}))
            .unwrap()
            .keys()
            .len(),
        10
    );

    let padded = json!({"keys": [ec.jwk], "comment": "x".repeat(MAX_JWKS_BYTES)});
    assert_eq!(
        JwkSet::from_value(&padded).unwrap_err(),
        JwksError::TooLarge
    );
    assert_eq!(
        JwkSet::parse(&padded.to_string()).unwrap_err(),
        JwksError::TooLarge
    );
    let spaces = format!(
        "{}{}",
        " ".repeat(MAX_JWKS_BYTES),
        json!({"keys": [ec.jwk]})
    );
    assert_eq!(JwkSet::parse(&spaces).unwrap_err(), JwksError::TooLarge);
}

#[test]
fn verify_signature_with_prebuilt_keys() {
    let k = ec_key();
    let key = PublicJwk::from_value(&k.jwk).unwrap();
    let signature = jsonwebtoken::crypto::sign(b"a.b", &k.encoding, Algorithm::ES256).unwrap();
    let raw = super::b64_decode(&signature);
    assert!(key.verify_signature(Algorithm::ES256, b"a.b", &raw));
    assert!(!key.verify_signature(Algorithm::ES256, b"a.c", &raw));
    assert!(!key.verify_signature(Algorithm::EdDSA, b"a.b", &raw));
    // The jsonwebtoken DecodingKey works too.
    assert!(
        jsonwebtoken::crypto::verify(&signature, b"a.b", key.decoding_key(), Algorithm::ES256)
            .unwrap()
    );
    let r = rsa_key();
    let rkey = PublicJwk::from_value(&r.jwk).unwrap();
    let sig = jsonwebtoken::crypto::sign(b"m", &r.encoding, Algorithm::PS256).unwrap();
    assert!(rkey.verify_signature(Algorithm::PS256, b"m", &super::b64_decode(&sig)));
    assert!(!rkey.verify_signature(Algorithm::RS256, b"m", &super::b64_decode(&sig)));
    assert!(
        jsonwebtoken::crypto::verify(&sig, b"m", rkey.decoding_key(), Algorithm::PS256).unwrap()
    );
    let e = ed_key();
    let ekey = PublicJwk::from_value(&e.jwk).unwrap();
    let sig = jsonwebtoken::crypto::sign(b"m", &e.encoding, Algorithm::EdDSA).unwrap();
    assert!(
        jsonwebtoken::crypto::verify(&sig, b"m", ekey.decoding_key(), Algorithm::EdDSA).unwrap()
    );
}
