//! Introspection mode against the fixture issuer's RFC 7662 endpoint.

mod common;

use std::time::Duration;

use axum::response::IntoResponse;
use common::{AUDIENCE, INTROSPECT_CLIENT_ID, INTROSPECT_CLIENT_SECRET, Issuer, TestKey, USER_ID};
use jsonwebtoken::Algorithm;
use portico_verify::{IntrospectionConfig, PrincipalType, Verifier, VerifyError};
use serde_json::json;

fn credentials() -> IntrospectionConfig {
    IntrospectionConfig::new(INTROSPECT_CLIENT_ID, INTROSPECT_CLIENT_SECRET)
}

async fn setup(config: IntrospectionConfig) -> (Issuer, TestKey, Verifier) {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    let verifier = issuer
        .verifier()
        .introspection(config)
        .build()
        .await
        .unwrap();
    assert!(verifier.introspects());
    (issuer, key, verifier)
}

#[tokio::test]
async fn an_active_token_is_accepted_with_the_introspected_claims() {
    let (issuer, key, verifier) = setup(credentials()).await;
    let claims = issuer.user_claims("expense.report.read travel.profile.read travel.profile.tsa");
    let token = key.token(&claims);
    issuer.set_introspection(&token, Issuer::active(&claims));
    let verified = verifier.verify(&token).await.unwrap();
    assert_eq!(verified.subject(), USER_ID);
    assert_eq!(verified.principal_type(), PrincipalType::User);
    assert!(verified.has_scope("travel.profile.read"));
    assert!(
        verified
            .sensitive_data_groups()
            .contains("travel.profile.tsa")
    );
    assert_eq!(verified.audience(), [AUDIENCE.to_owned()]);
    assert_eq!(issuer.introspections(), 1);
}

#[tokio::test]
async fn anything_but_active_true_is_invalid() {
    let (issuer, key, verifier) = setup(credentials()).await;
    let claims = issuer.user_claims("expense.report.read");
    let token = key.token(&claims);
    // Unknown to the endpoint: {"active": false}.
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Inactive), "{err:?}");
    let response = err.into_response();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with(r#"Bearer error="invalid_token""#)
    );

    for active in [json!("true"), json!(1), json!(null)] {
        let mut answer = Issuer::active(&claims);
        answer["active"] = active.clone();
        issuer.set_introspection(&token, answer);
        let err = verifier.verify(&token).await.unwrap_err();
        assert!(matches!(err, VerifyError::Inactive), "{active}: {err:?}");
    }
    let mut answer = Issuer::active(&claims);
    answer.as_object_mut().unwrap().remove("active");
    issuer.set_introspection(&token, answer);
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::Inactive)
    ));
}

#[tokio::test]
async fn without_a_cache_a_revocation_is_seen_at_once() {
    let (issuer, key, verifier) = setup(credentials()).await;
    let claims = issuer.user_claims("expense.report.read");
    let token = key.token(&claims);
    issuer.set_introspection(&token, Issuer::active(&claims));
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    assert_eq!(issuer.introspections(), 2, "TTL 0: every request asks");

    issuer.set_introspection(&token, json!({ "active": false }));
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Inactive), "{err:?}");
    assert_eq!(issuer.introspections(), 3);
}

#[tokio::test]
async fn the_cache_ttl_is_honoured() {
    let ttl = Duration::from_millis(700);
    let (issuer, key, verifier) = setup(credentials().cache_ttl(ttl)).await;
    let claims = issuer.user_claims("expense.report.read");
    let token = key.token(&claims);
    issuer.set_introspection(&token, Issuer::active(&claims));
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    assert_eq!(issuer.introspections(), 1, "second answer from the cache");

    // Revoked at the issuer: still served from the cache until the TTL passes ...
    issuer.set_introspection(&token, json!({ "active": false }));
    verifier.verify(&token).await.expect("cached within TTL");
    assert_eq!(issuer.introspections(), 1);

    // ... then asked again, and refused.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Inactive), "{err:?}");
    assert_eq!(issuer.introspections(), 2);

    // The inactive answer is cached too.
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::Inactive)
    ));
    assert_eq!(issuer.introspections(), 2);

    // Another token is not served from this token's entry.
    let other_claims = issuer.user_claims("expense.report.read");
    let other = key.token(&other_claims);
    issuer.set_introspection(&other, Issuer::active(&other_claims));
    verifier.verify(&other).await.unwrap();
    assert_eq!(issuer.introspections(), 3);
}

#[tokio::test]
async fn a_cache_entry_never_outlives_the_token() {
    let (issuer, key, verifier) = setup(credentials().cache_ttl(Duration::from_secs(10))).await;
    let mut claims = issuer.user_claims("expense.report.read");
    // Expires in one second; the 30 s leeway keeps it acceptable locally and remotely.
    claims["exp"] = json!(common::now() + 1);
    let token = key.token(&claims);
    issuer.set_introspection(&token, Issuer::active(&claims));
    verifier.verify(&token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(
        issuer.introspections(),
        2,
        "entry dropped at exp, not after 10 s"
    );
}

#[tokio::test]
async fn rejected_client_credentials_are_an_error() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    let verifier = issuer
        .verifier()
        .introspection(IntrospectionConfig::new(
            INTROSPECT_CLIENT_ID,
            "wrong secret",
        ))
        .build()
        .await
        .unwrap();
    let claims = issuer.user_claims("expense.report.read");
    let token = key.token(&claims);
    issuer.set_introspection(&token, Issuer::active(&claims));
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(
        matches!(err, VerifyError::IntrospectionUnauthorized),
        "{err:?}"
    );
    assert_eq!(issuer.introspections(), 1);
    // The API answers 500: the token may be fine, the resource server is misconfigured.
    assert_eq!(err.into_response().status(), 500);
}

#[tokio::test]
async fn forgeries_are_refused_locally_without_a_round_trip() {
    let (issuer, key, verifier) = setup(credentials()).await;
    let claims = issuer.user_claims("expense.report.read");
    let forged = TestKey::generate(Algorithm::EdDSA)
        .with_kid(&key.kid)
        .token(&claims);
    // Even if the endpoint would (wrongly) say active, the local check comes first.
    issuer.set_introspection(&forged, Issuer::active(&claims));
    let err = verifier.verify(&forged).await.unwrap_err();
    assert!(matches!(err, VerifyError::InvalidSignature), "{err:?}");
    assert_eq!(issuer.introspections(), 0);
}

#[tokio::test]
async fn without_the_local_precheck_the_issuer_decides() {
    let (issuer, key, verifier) = setup(credentials().local_precheck(false)).await;
    let claims = issuer.user_claims("expense.report.read");
    let forged = TestKey::generate(Algorithm::EdDSA)
        .with_kid(&key.kid)
        .token(&claims);
    let err = verifier.verify(&forged).await.unwrap_err();
    assert!(matches!(err, VerifyError::Inactive), "{err:?}");
    assert_eq!(issuer.introspections(), 1);
}

#[tokio::test]
async fn an_active_answer_for_another_audience_or_issuer_is_refused() {
    let (issuer, key, verifier) = setup(credentials().local_precheck(false)).await;
    let claims = issuer.user_claims("expense.report.read");
    let token = key.token(&claims);

    let mut answer = Issuer::active(&claims);
    answer["aud"] = json!("urn:other:api");
    issuer.set_introspection(&token, answer);
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::WrongAudience), "{err:?}");

    let mut answer = Issuer::active(&claims);
    answer["iss"] = json!("https://evil.example.com");
    issuer.set_introspection(&token, answer);
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::WrongIssuer), "{err:?}");

    let mut answer = Issuer::active(&claims);
    answer["token_type"] = json!("N_A");
    issuer.set_introspection(&token, answer);
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::WrongType), "{err:?}");
}
