//! The axum integration: layer, extractors and RFC 6750 answers, exercised through the sample
//! expense API (examples/expense_api.rs, mounted here as a module).

mod common;

#[allow(dead_code)]
#[path = "../examples/expense_api.rs"]
mod expense_api;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use common::{Issuer, SENSITIVE_DATA_GROUPS, TestKey, USER_ID, now};
use jsonwebtoken::Algorithm;
use portico_verify::{AccessToken, Scoped};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    answer(app.clone().oneshot(request).await.unwrap()).await
}

async fn answer(response: axum::response::Response) -> Answer {
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
    }
}

async fn sample_api() -> (Issuer, TestKey, Router) {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    let verifier = issuer.verifier().build().await.unwrap();
    (issuer, key, expense_api::app(verifier))
}

#[tokio::test]
async fn a_missing_token_gets_a_bare_bearer_challenge() {
    let (_issuer, _key, app) = sample_api().await;
    for path in ["/expense/reports", "/travel/profile"] {
        let answer = call(&app, "GET", path, None, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.challenge.as_deref(), Some("Bearer"), "{path}");
        assert_eq!(answer.body["error"], "unauthorized");
        assert!(answer.body["error_description"].is_string());
    }
    // Another scheme carries no bearer token either.
    let request = Request::get("/expense/reports")
        .header(AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .body(Body::empty())
        .unwrap();
    let answer = answer(app.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    // The unprotected route stays open.
    let request = Request::get("/health").body(Body::empty()).unwrap();
    assert_eq!(
        app.clone().oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn invalid_and_expired_tokens_get_invalid_token() {
    let (issuer, key, app) = sample_api().await;
    let answer = call(&app, "GET", "/expense/reports", Some("not-a-jwt"), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="invalid_token", error_description="the token is malformed""#)
    );
    assert_eq!(
        answer.body,
        json!({ "error": "invalid_token", "error_description": "the token is malformed" })
    );

    let mut claims = issuer.user_claims("expense.report.read");
    claims["exp"] = json!(now() - 3600);
    let answer = call(
        &app,
        "GET",
        "/expense/reports",
        Some(&key.token(&claims)),
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="invalid_token", error_description="the token has expired""#)
    );
    assert_eq!(answer.body["error"], "invalid_token");

    let forged = TestKey::generate(Algorithm::EdDSA).with_kid(&key.kid);
    let claims = issuer.user_claims("expense.report.read");
    let answer = call(
        &app,
        "GET",
        "/expense/reports",
        Some(&forged.token(&claims)),
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        answer
            .challenge
            .unwrap()
            .starts_with(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn a_malformed_authorization_header_is_a_bad_request() {
    let (_issuer, _key, app) = sample_api().await;
    let request = Request::get("/expense/reports")
        .header(AUTHORIZATION, "Bearer a")
        .header(AUTHORIZATION, "Bearer b")
        .body(Body::empty())
        .unwrap();
    let answer = answer(app.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer
            .challenge
            .unwrap()
            .starts_with(r#"Bearer error="invalid_request""#)
    );
    assert_eq!(answer.body["error"], "invalid_request");
}

#[tokio::test]
async fn a_missing_scope_gets_403_insufficient_scope_naming_the_scope() {
    let (issuer, key, app) = sample_api().await;
    let token = key.token(&issuer.user_claims("travel.profile.read"));
    for (method, path, scope, body) in [
        ("GET", "/expense/reports", "expense.report.read", None),
        (
            "POST",
            "/quickexpense",
            "quickexpense.writeonly",
            Some(json!({ "amount": 12.5, "currency": "EUR", "vendor": "Cafe" })),
        ),
    ] {
        let answer = call(&app, method, path, Some(&token), body).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(
                format!(
                    r#"Bearer error="insufficient_scope", error_description="the token lacks the required scope", scope="{scope}""#
                )
                .as_str()
            )
        );
        assert_eq!(answer.body["error"], "insufficient_scope");
    }
    // Scoped<TravelProfileRead> answers the same way.
    let token = key.token(&issuer.user_claims("expense.report.read"));
    let answer = call(&app, "GET", "/travel/profile", Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        answer
            .challenge
            .unwrap()
            .ends_with(r#"scope="travel.profile.read""#)
    );
}

#[tokio::test]
async fn the_right_scope_lets_the_request_through() {
    let (issuer, key, app) = sample_api().await;
    let token = key.token(&issuer.user_claims("expense.report.read quickexpense.writeonly"));
    let answer = call(&app, "GET", "/expense/reports", Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["owner"], USER_ID);
    assert_eq!(answer.body["reports"].as_array().unwrap().len(), 2);

    let expense = json!({ "amount": 12.5, "currency": "EUR", "vendor": "Cafe de Flore" });
    let answer = call(&app, "POST", "/quickexpense", Some(&token), Some(expense)).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.body["owner"], USER_ID);
    assert_eq!(answer.body["vendor"], "Cafe de Flore");
    assert!(answer.body["id"].as_str().unwrap().starts_with("QE-"));
}

#[tokio::test]
async fn the_travel_profile_leaves_out_sections_without_their_data_group() {
    let (issuer, key, app) = sample_api().await;
    let get_profile = |scope: &str| {
        let token = key.token(&issuer.user_claims(scope));
        let app = app.clone();
        async move { call(&app, "GET", "/travel/profile", Some(&token), None).await }
    };

    let plain = get_profile("travel.profile.read").await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.body["user_id"], USER_ID);
    assert!(plain.body.get("email").is_some());
    assert!(plain.body.get("passport").is_none());
    for section in [
        "medical_alerts",
        "emergency_contact",
        "company_details",
        "tsa_info",
        "unused_tickets",
        "tmc_specific",
    ] {
        assert!(plain.body.get(section).is_none(), "{section}");
    }

    let with_passport = get_profile("travel.profile.read travel.profile.passport").await;
    assert_eq!(with_passport.status, StatusCode::OK);
    assert_eq!(with_passport.body["passport"]["number"], "X1234567");
    assert!(with_passport.body.get("medical_alerts").is_none());

    let everything = get_profile(&format!(
        "travel.profile.read {}",
        SENSITIVE_DATA_GROUPS.join(" ")
    ))
    .await;
    for section in [
        "passport",
        "medical_alerts",
        "emergency_contact",
        "company_details",
        "tsa_info",
        "unused_tickets",
        "tmc_specific",
    ] {
        assert!(everything.body.get(section).is_some(), "{section}");
    }
}

#[tokio::test]
async fn a_key_rotation_is_picked_up_while_the_api_runs() {
    // Keys are generated up front so that key generation does not eat the refetch interval.
    let old = TestKey::generate(Algorithm::EdDSA);
    let new = TestKey::generate(Algorithm::ES256);
    let newer = TestKey::generate(Algorithm::RS256);
    let issuer = Issuer::start(&[&old]).await;
    let verifier = issuer
        .verifier()
        .jwks_refetch_interval(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/expense/reports", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, expense_api::app(verifier))
            .await
            .unwrap();
    });
    let client = reqwest::Client::new();
    let get_reports = |token: String| {
        let request = client.get(&api).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    let claims = issuer.user_claims("expense.report.read");
    assert_eq!(get_reports(old.token(&claims)).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 1);

    // Portico rotates: the new key is published next to the old one and used at once.
    issuer.set_keys(&[&old, &new]);
    assert_eq!(get_reports(new.token(&claims)).await, StatusCode::OK);
    assert_eq!(get_reports(old.token(&claims)).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 2);

    // A key that is not published yet: refused, and within the refetch interval the API does
    // not ask again.
    assert_eq!(
        get_reports(newer.token(&claims)).await,
        StatusCode::UNAUTHORIZED
    );
    issuer.set_keys(&[&new, &newer]);
    assert_eq!(
        get_reports(newer.token(&claims)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(issuer.jwks_fetches(), 2);

    // After the interval the next miss refetches: the newest key works and the retired one
    // is gone, all without a restart.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(get_reports(newer.token(&claims)).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 3);
    assert_eq!(get_reports(new.token(&claims)).await, StatusCode::OK);
    assert_eq!(
        get_reports(old.token(&claims)).await,
        StatusCode::UNAUTHORIZED
    );
    server.abort();
}

portico_verify::scope!(ReportsRead = "expense.report.read");

#[tokio::test]
async fn extractors_work_on_a_plain_router_and_fail_closed_without_the_layer() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    let verifier = issuer.verifier().build().await.unwrap();
    let routes = Router::new()
        .route(
            "/me",
            get(|t: AccessToken| async move { t.client_id().to_owned() }),
        )
        .route(
            "/reports",
            get(|t: Scoped<ReportsRead>| async move { t.subject().to_owned() }),
        );
    let token = key.token(&issuer.user_claims("expense.report.read"));

    // Without VerifierLayer nothing is accepted: 500, never 200.
    let answer = call(&routes, "GET", "/me", Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.body["error"], "server_error");

    let app = routes.layer(verifier.layer());
    let request = Request::get("/me")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(&body[..], common::CLIENT_ID.as_bytes());

    let request = Request::get("/reports")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let other = key.token(&issuer.user_claims("travel.profile.read"));
    let answer = call(&app, "GET", "/reports", Some(&other), None).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_issuer_failure_is_503_not_401() {
    let (issuer, _key, app) = sample_api().await;
    issuer.fail_jwks(true);
    // The kid is unknown and the JWKS cannot be fetched: the API cannot judge the token.
    let stranger = TestKey::generate(Algorithm::EdDSA);
    let token = stranger.token(&issuer.user_claims("expense.report.read"));
    let answer = call(&app, "GET", "/expense/reports", Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body["error"], "temporarily_unavailable");
    // Internal details (the issuer's URL) stay in the log.
    assert!(!answer.body.to_string().contains("127.0.0.1"));
    assert!(answer.challenge.is_none());
}

#[tokio::test]
async fn with_the_revocation_feed_the_sample_api_refuses_revoked_tokens_and_reports_the_feed() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    issuer.feed_on_connect(&common::sse_event(
        4,
        "snapshot",
        &json!({ "revoked_jtis": [{ "jti": "jti-revoked", "exp": now() + 600 }] }),
    ));
    let verifier = issuer
        .verifier()
        .revocation_feed(
            portico_verify::RevocationFeedConfig::new(
                common::INTROSPECT_CLIENT_ID,
                common::INTROSPECT_CLIENT_SECRET,
            )
            .stale_after(Duration::from_millis(300)),
        )
        .build()
        .await
        .unwrap();
    let app = expense_api::app(verifier);

    let answer = call(&app, "GET", "/health", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["status"], "ok");
    assert_eq!(answer.body["revocation_feed"]["up"], true);
    assert_eq!(answer.body["revocation_feed"]["last_event_id"], 4);
    assert_eq!(answer.body["revocation_feed"]["when_down"], "Introspect");

    let mut claims = issuer.user_claims("expense.report.read");
    let fine = key.token(&claims);
    claims["jti"] = json!("jti-revoked");
    let revoked = key.token(&claims);
    let answer = call(&app, "GET", "/expense/reports", Some(&fine), None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = call(&app, "GET", "/expense/reports", Some(&revoked), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body["error"], "invalid_token");
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer error="invalid_token", error_description="the token has been revoked""#)
    );

    // Silence: the health route reports the feed degraded.
    issuer.feed_on_connect("");
    issuer.feed_heartbeat(None);
    common::eventually(Duration::from_secs(2), "feed reported down", || async {
        call(&app, "GET", "/health", None, None).await.body["status"] == "degraded"
    })
    .await;
}
