//! Token verification against a real (fixture) issuer: RFC 9068 checks, the algorithm
//! allow-list, JWKS caching, refetching and rotation.

mod common;

use std::time::Duration;

use common::{AUDIENCE, CLIENT_ID, COMPANY_ID, Issuer, TestKey, USER_ID, hs256_token, now};
use jsonwebtoken::Algorithm;
use portico_verify::{PrincipalType, Verifier, VerifyError};
use serde_json::json;

async fn issuer_with(alg: Algorithm) -> (Issuer, TestKey, Verifier) {
    let key = TestKey::generate(alg);
    let issuer = Issuer::start(&[&key]).await;
    let verifier = issuer.verifier().build().await.expect("verifier");
    (issuer, key, verifier)
}

#[tokio::test]
async fn valid_tokens_verify_with_every_default_algorithm() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        let (issuer, key, verifier) = issuer_with(alg).await;
        let claims =
            issuer.user_claims("expense.report.read travel.profile.read travel.profile.passport");
        let verified = verifier
            .verify(&key.token(&claims))
            .await
            .expect("valid token");
        assert_eq!(verified.issuer(), issuer.url);
        assert_eq!(verified.subject(), USER_ID);
        assert_eq!(verified.client_id(), CLIENT_ID);
        assert_eq!(verified.principal_type(), PrincipalType::User);
        assert_eq!(verified.company_id(), Some(COMPANY_ID));
        assert_eq!(verified.audience(), [AUDIENCE.to_owned()]);
        assert_eq!(verified.jti(), claims["jti"].as_str().unwrap());
        assert_eq!(verified.expires_at(), claims["exp"].as_u64().unwrap());
        assert_eq!(verified.grant_id(), Some("grant-42"));
        assert!(verified.scopes().contains("expense.report.read"));
        assert!(verified.has_scope("travel.profile.read"));
        assert!(!verified.has_scope("quickexpense.writeonly"));
        assert_eq!(
            verified.sensitive_data_groups().iter().collect::<Vec<_>>(),
            ["travel.profile.passport"]
        );
        // One fetch at build time, none per request.
        assert_eq!(issuer.jwks_fetches(), 1, "{alg:?}");
    }
}

#[tokio::test]
async fn app_tokens_have_no_company() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let mut claims = issuer.user_claims("expense.report.read");
    claims["principal_type"] = json!("app");
    claims["sub"] = json!(CLIENT_ID);
    claims.as_object_mut().unwrap().remove("company_id");
    claims.as_object_mut().unwrap().remove("sid");
    let verified = verifier.verify(&key.token(&claims)).await.unwrap();
    assert_eq!(verified.principal_type(), PrincipalType::App);
    assert_eq!(verified.company_id(), None);
    assert_eq!(verified.grant_id(), None);
}

#[tokio::test]
async fn expired_tokens_are_rejected_beyond_the_leeway() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let mut claims = issuer.user_claims("expense.report.read");
    claims["exp"] = json!(now() - 120);
    let err = verifier.verify(&key.token(&claims)).await.unwrap_err();
    assert!(matches!(err, VerifyError::Expired), "{err:?}");

    // Within the default 30 s leeway.
    claims["exp"] = json!(now() - 10);
    verifier
        .verify(&key.token(&claims))
        .await
        .expect("within leeway");

    // With no leeway the same token is refused.
    let strict = issuer
        .verifier()
        .leeway(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let err = strict.verify(&key.token(&claims)).await.unwrap_err();
    assert!(matches!(err, VerifyError::Expired), "{err:?}");
}

#[tokio::test]
async fn tokens_not_valid_yet_are_rejected() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let mut claims = issuer.user_claims("expense.report.read");
    claims["nbf"] = json!(now() + 300);
    let err = verifier.verify(&key.token(&claims)).await.unwrap_err();
    assert!(matches!(err, VerifyError::NotYetValid), "{err:?}");
    claims["nbf"] = json!(now() + 10);
    verifier
        .verify(&key.token(&claims))
        .await
        .expect("within leeway");
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let (issuer, key, verifier) = issuer_with(Algorithm::ES256).await;
    let mut claims = issuer.user_claims("expense.report.read");
    claims["aud"] = json!("urn:other:api");
    let err = verifier.verify(&key.token(&claims)).await.unwrap_err();
    assert!(matches!(err, VerifyError::WrongAudience), "{err:?}");

    // An array containing our audience is fine; one without it is not.
    claims["aud"] = json!(["urn:other:api", AUDIENCE]);
    verifier
        .verify(&key.token(&claims))
        .await
        .expect("aud array");
    claims["aud"] = json!(["urn:other:api"]);
    assert!(matches!(
        verifier.verify(&key.token(&claims)).await,
        Err(VerifyError::WrongAudience)
    ));

    // A verifier for another audience refuses our default-audience tokens.
    let other = issuer
        .verifier()
        .audience("urn:other:api")
        .build()
        .await
        .unwrap();
    let err = other
        .verify(&key.token(&issuer.user_claims("x")))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::WrongAudience), "{err:?}");
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    for iss in [
        "https://evil.example.com".to_owned(),
        format!("{}/", issuer.url),
        issuer.url.to_uppercase(),
    ] {
        let mut claims = issuer.user_claims("expense.report.read");
        claims["iss"] = json!(iss);
        let err = verifier.verify(&key.token(&claims)).await.unwrap_err();
        assert!(matches!(err, VerifyError::WrongIssuer), "{iss}: {err:?}");
    }
}

#[tokio::test]
async fn forged_signatures_are_rejected() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let claims = issuer.user_claims("expense.report.read");

    // An attacker's own key, claiming the issuer's kid.
    let attacker = TestKey::generate(Algorithm::EdDSA).with_kid(&key.kid);
    let err = verifier.verify(&attacker.token(&claims)).await.unwrap_err();
    assert!(matches!(err, VerifyError::InvalidSignature), "{err:?}");

    // A genuine token whose payload was changed (scope added) after signing.
    let genuine = key.token(&claims);
    let mut widened = claims.clone();
    widened["scope"] = json!("expense.report.read quickexpense.writeonly");
    let forged_payload = common::b64(widened.to_string().as_bytes());
    let parts: Vec<&str> = genuine.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let err = verifier.verify(&tampered).await.unwrap_err();
    assert!(matches!(err, VerifyError::InvalidSignature), "{err:?}");

    // A genuine token with its signature cut off.
    let unsigned = format!("{}.{}.", parts[0], parts[1]);
    assert!(verifier.verify(&unsigned).await.is_err());
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let claims = issuer.user_claims("expense.report.read");
    for alg in ["none", "None", "NONE"] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": key.kid });
        let token = format!("{}.", common::signing_input(&header, &claims));
        let err = verifier.verify(&token).await.unwrap_err();
        assert!(matches!(err, VerifyError::Malformed), "{alg}: {err:?}");
        // Not even with a genuine signature appended.
        let genuine_sig = key.token(&claims).rsplit('.').next().unwrap().to_owned();
        let err = verifier
            .verify(&format!("{token}{genuine_sig}"))
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Malformed), "{alg}: {err:?}");
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    for alg in [Algorithm::EdDSA, Algorithm::RS256] {
        let (issuer, key, verifier) = issuer_with(alg).await;
        let claims = issuer.user_claims("expense.report.read");
        let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": key.kid });
        // The classic confusion attack, with every encoding of the public key an attacker
        // might guess the verifier uses as HMAC secret.
        let jwk = key.jwk();
        let secrets: Vec<Vec<u8>> = vec![
            key.public_key_bytes(),
            jwk.to_string().into_bytes(),
            jwk["x"]
                .as_str()
                .or(jwk["n"].as_str())
                .unwrap()
                .as_bytes()
                .to_vec(),
        ];
        for secret in secrets {
            let token = hs256_token(&header, &claims, &secret);
            let err = verifier.verify(&token).await.unwrap_err();
            assert!(matches!(err, VerifyError::AlgorithmNotAllowed), "{err:?}");
        }
        // Refused before any key lookup: no refetch either.
        assert_eq!(issuer.jwks_fetches(), 1);
    }
}

#[tokio::test]
async fn hmac_algorithms_cannot_be_configured() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    for allowed in [
        vec![Algorithm::HS256],
        vec![Algorithm::EdDSA, Algorithm::HS256],
        vec![Algorithm::HS512, Algorithm::RS256],
    ] {
        let err = issuer
            .verifier()
            .algorithms(allowed)
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Config(_)), "{err:?}");
    }
}

#[tokio::test]
async fn a_symmetric_key_in_the_jwks_is_never_used() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    let secret = b"a shared secret of thirty-two by";
    issuer.set_jwks(json!({ "keys": [
        key.jwk(),
        { "kty": "oct", "kid": "hmac-key", "alg": "HS256", "k": common::b64(secret) },
    ]}));
    let verifier = issuer
        .verifier()
        .jwks_refetch_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let claims = issuer.user_claims("expense.report.read");
    let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": "hmac-key" });
    let err = verifier
        .verify(&hs256_token(&header, &claims, secret))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::AlgorithmNotAllowed), "{err:?}");
    // Even under an allowed alg, the oct key is not in the key set at all.
    let header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "hmac-key" });
    let err = verifier
        .verify(&key.sign(&header, &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey), "{err:?}");
}

#[tokio::test]
async fn the_typ_header_must_be_at_jwt() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let claims = issuer.user_claims("expense.report.read");
    for typ in [
        json!("JWT"),
        json!("jwt"),
        json!("application/jwt"),
        json!(42),
    ] {
        let header = json!({ "alg": "EdDSA", "typ": typ, "kid": key.kid });
        let err = verifier
            .verify(&key.sign(&header, &claims))
            .await
            .unwrap_err();
        // A non-string typ does not even parse as a JOSE header.
        assert!(
            matches!(err, VerifyError::WrongType | VerifyError::Malformed),
            "{typ}: {err:?}"
        );
    }
    let header = json!({ "alg": "EdDSA", "kid": key.kid });
    let err = verifier
        .verify(&key.sign(&header, &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::WrongType), "{err:?}");

    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+JWT",
    ] {
        let header = json!({ "alg": "EdDSA", "typ": typ, "kid": key.kid });
        verifier
            .verify(&key.sign(&header, &claims))
            .await
            .unwrap_or_else(|e| panic!("{typ}: {e:?}"));
    }
}

#[tokio::test]
async fn required_claims_must_be_present_and_well_typed() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "principal_type",
    ] {
        let mut claims = issuer.user_claims("expense.report.read");
        claims.as_object_mut().unwrap().remove(claim);
        let err = verifier.verify(&key.token(&claims)).await.unwrap_err();
        assert!(
            matches!(err, VerifyError::InvalidClaims),
            "{claim}: {err:?}"
        );
    }
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("iss", json!([issuer.url.clone()])),
        ("principal_type", json!("robot")),
        ("scope", json!(["expense.report.read"])),
        ("sensitive_data_groups", json!("travel.profile.passport")),
    ] {
        let mut claims = issuer.user_claims("expense.report.read");
        claims[claim] = value;
        let err = verifier.verify(&key.token(&claims)).await.unwrap_err();
        assert!(
            matches!(err, VerifyError::InvalidClaims),
            "{claim}: {err:?}"
        );
    }
}

#[tokio::test]
async fn header_must_name_a_key_and_no_critical_extensions() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let claims = issuer.user_claims("expense.report.read");
    let header = json!({ "alg": "EdDSA", "typ": "at+jwt" });
    let err = verifier
        .verify(&key.sign(&header, &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::MissingKeyId), "{err:?}");

    let header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": key.kid, "crit": ["exp"] });
    let err = verifier
        .verify(&key.sign(&header, &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::UnsupportedCritical), "{err:?}");
}

#[tokio::test]
async fn the_key_type_must_match_the_algorithm() {
    let ed = TestKey::generate(Algorithm::EdDSA);
    let ec = TestKey::generate(Algorithm::ES256);
    let issuer = Issuer::start(&[&ed, &ec]).await;
    let verifier = issuer.verifier().build().await.unwrap();
    let claims = issuer.user_claims("expense.report.read");
    // Signed with the EC key, but naming the Ed25519 key.
    let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": ed.kid });
    let err = verifier
        .verify(&ec.sign(&header, &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::KeyMismatch), "{err:?}");
    // RS256 header naming the EC key.
    let header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": ec.kid });
    let err = verifier
        .verify(&ec.sign(&header, &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::KeyMismatch), "{err:?}");
}

#[tokio::test]
async fn a_jwk_alg_never_widens_the_allow_list() {
    let ec = TestKey::generate(Algorithm::ES256); // its JWK says "alg": "ES256"
    let issuer = Issuer::start(&[&ec]).await;
    let verifier = issuer
        .verifier()
        .algorithms([Algorithm::EdDSA])
        .build()
        .await
        .unwrap();
    let err = verifier
        .verify(&ec.token(&issuer.user_claims("expense.report.read")))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::AlgorithmNotAllowed), "{err:?}");
}

#[tokio::test]
async fn an_unknown_key_costs_one_refetch_then_is_rejected() {
    let (issuer, _key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let stranger = TestKey::generate(Algorithm::EdDSA);
    let claims = issuer.user_claims("expense.report.read");
    let err = verifier.verify(&stranger.token(&claims)).await.unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey), "{err:?}");
    assert_eq!(issuer.jwks_fetches(), 2, "build + one refetch");

    // Within the refetch interval, further unknown kids cost nothing.
    let another = TestKey::generate(Algorithm::EdDSA);
    let err = verifier.verify(&another.token(&claims)).await.unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey), "{err:?}");
    assert_eq!(issuer.jwks_fetches(), 2);
}

// Two worker threads, so the misses really race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_forged_kids_causes_at_most_one_or_two_fetches() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let claims = issuer.user_claims("expense.report.read");
    let mut tasks = Vec::new();
    for i in 0..100 {
        let header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": format!("forged-{i}") });
        let token = key.sign(&header, &claims);
        let verifier = verifier.clone();
        tasks.push(tokio::spawn(async move { verifier.verify(&token).await }));
    }
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, VerifyError::UnknownKey), "{err:?}");
    }
    let refetches = issuer.jwks_fetches() - 1;
    assert!((1..=2).contains(&refetches), "{refetches} refetches");
    // The real key still works.
    verifier.verify(&key.token(&claims)).await.unwrap();
}

#[tokio::test]
async fn a_rotated_in_key_is_picked_up_without_restart() {
    let old = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&old]).await;
    let verifier = issuer.verifier().build().await.unwrap();
    let claims = issuer.user_claims("expense.report.read");
    verifier.verify(&old.token(&claims)).await.unwrap();

    // Portico rotates: the new key is published next to the old one.
    let new = TestKey::generate(Algorithm::ES256);
    issuer.set_keys(&[&old, &new]);
    verifier.verify(&new.token(&claims)).await.expect("new key");
    verifier
        .verify(&old.token(&claims))
        .await
        .expect("old key still published");
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_removed_key_stops_working_once_the_set_is_refreshed() {
    let old = TestKey::generate(Algorithm::EdDSA);
    let new = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&old, &new]).await;
    let verifier = issuer
        .verifier()
        .jwks_max_age(Duration::from_millis(100))
        .jwks_refetch_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let claims = issuer.user_claims("expense.report.read");
    let old_token = old.token(&claims);
    verifier.verify(&old_token).await.unwrap();

    issuer.set_keys(&[&new]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    // The set is old: this request is still served from it and starts a background refresh.
    verifier
        .verify(&old_token)
        .await
        .expect("served from the old set");
    for _ in 0..100 {
        if issuer.jwks_fetches() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = verifier.verify(&old_token).await.unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey), "{err:?}");
    verifier.verify(&new.token(&claims)).await.unwrap();
}

#[tokio::test]
async fn discovery_checks_the_issuer_in_the_metadata() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    issuer.advertise_issuer("https://evil.example.com");
    let err = issuer.verifier().build().await.unwrap_err();
    assert!(
        matches!(&err, VerifyError::IssuerMismatch { found, .. } if found == "https://evil.example.com"),
        "{err:?}"
    );
    assert_eq!(
        issuer.jwks_fetches(),
        0,
        "keys of a mismatching issuer are never fetched"
    );
}

#[tokio::test]
async fn an_unreachable_issuer_fails_the_build() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = Verifier::builder(url)
        .http_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn garbage_never_panics_and_never_verifies() {
    let (issuer, key, verifier) = issuer_with(Algorithm::EdDSA).await;
    let genuine = key.token(&issuer.user_claims("expense.report.read"));
    let header_only = genuine.split('.').next().unwrap().to_owned();
    let garbage = [
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        "a.b.c".into(),
        "a.b.c.d".into(),
        "%%%.***.$$$".into(),
        "é.ü.ñ".into(),
        header_only.clone(),
        format!("{header_only}."),
        format!("{header_only}.."),
        format!("{}.e30.", common::b64(b"not json")),
        format!("{}.e30.", common::b64(b"[1,2,3]")),
        format!("{}.{}.AAAA", header_only, common::b64(b"not json")),
        format!("{}.{}.AAAA", header_only, common::b64(b"null")),
        format!("{genuine}x"),
        "x".repeat(100_000),
        format!("{genuine}{}", ".".repeat(10)),
    ];
    for token in &garbage {
        assert!(verifier.verify(token).await.is_err(), "{token:.40}");
    }
    // The oversized token is refused before parsing.
    assert!(matches!(
        verifier.verify(&"x".repeat(100_000)).await,
        Err(VerifyError::TooLarge)
    ));
}
