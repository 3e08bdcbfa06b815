//! DPoP (RFC 9449 §7, §9) through the sample API and plain routers: bound tokens with valid
//! proofs, downgrade to bearer, every kind of bad proof, replay, key binding, nonces,
//! introspection with `cnf`, and the challenges.

mod common;

#[allow(dead_code)]
#[path = "../examples/expense_api.rs"]
mod expense_api;

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use common::{DpopKey, INTROSPECT_CLIENT_ID, INTROSPECT_CLIENT_SECRET, Issuer, TestKey, USER_ID};
use jsonwebtoken::Algorithm;
use portico_verify::{
    AccessToken, DpopConfig, DpopError, IntrospectionConfig, RequireDpop, Verifier, VerifyError,
};
use serde_json::{Value, json};
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://api.example.com";
const ALGS: &str = r#"algs="ES256 EdDSA Ed25519 RS256 PS256""#;
const PASSPORT: &str = "travel.profile.passport";

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    nonce: Option<String>,
    body: Value,
}

impl Answer {
    /// 401 with `code` in the body and a DPoP challenge carrying it and `algs`.
    #[track_caller]
    fn dpop_error(&self, code: &str, description: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{:?}", self.body);
        assert_eq!(self.body["error"], code);
        assert_eq!(self.body["error_description"], description);
        assert_eq!(
            self.challenge.as_deref(),
            Some(
                format!(r#"DPoP error="{code}", error_description="{description}", {ALGS}"#)
                    .as_str()
            )
        );
    }
}

/// `authorization` is the whole header value; each proof is one `DPoP` header.
async fn send(
    app: &Router,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    proofs: &[&str],
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, challenge, nonce) = (
        response.status(),
        header(WWW_AUTHENTICATE.as_str()),
        header("DPoP-Nonce"),
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        challenge,
        nonce,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

struct Api {
    issuer: Issuer,
    key: TestKey,
    verifier: Verifier,
    app: Router,
}

impl Api {
    async fn start(dpop: Option<DpopConfig>) -> Api {
        let key = TestKey::generate(Algorithm::EdDSA);
        let issuer = Issuer::start(&[&key]).await;
        let mut builder = issuer.verifier();
        if let Some(dpop) = dpop {
            builder = builder.dpop(dpop);
        }
        let verifier = builder.build().await.unwrap();
        let app = expense_api::app(verifier.clone());
        Api {
            issuer,
            key,
            verifier,
            app,
        }
    }

    /// A token bound to `holder`.
    fn bound_token(&self, scope: &str, holder: &DpopKey) -> String {
        self.key
            .token(&bound_claims(&self.issuer, scope, &holder.jkt))
    }
}

fn bound_claims(issuer: &Issuer, scope: &str, jkt: &str) -> Value {
    let mut claims = issuer.user_claims(scope);
    claims["cnf"] = json!({ "jkt": jkt });
    claims
}

fn url(path: &str) -> String {
    format!("{PUBLIC_URL}{path}")
}

fn dpop_auth(token: &str) -> String {
    format!("DPoP {token}")
}

#[tokio::test]
async fn a_bound_token_with_a_valid_proof_is_accepted() {
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL))).await;
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let holder = DpopKey::generate(alg);
        let token = api.bound_token(&format!("{PASSPORT} expense.report.read"), &holder);
        let proof = holder.proof("GET", &url("/travel/passport"), &token);
        let answer = send(
            &api.app,
            "GET",
            "/travel/passport",
            Some(&dpop_auth(&token)),
            &[&proof],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{alg:?}: {:?}", answer.body);
        assert_eq!(answer.body["user_id"], USER_ID);
        assert_eq!(answer.body["dpop_jkt"], holder.jkt.as_str());
        assert_eq!(answer.body["passport"]["number"], "X1234567");
        // No nonces configured: no DPoP-Nonce.
        assert_eq!(answer.nonce, None);

        // Any route accepts it; the query is not part of htu (RFC 9449 §4.3 step 9).
        let proof = holder.proof("GET", &url("/expense/reports"), &token);
        let answer = send(
            &api.app,
            "GET",
            "/expense/reports?page=2#top",
            Some(&format!("dpop  {token}")),
            &[&proof],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }
}

#[tokio::test]
async fn a_bound_token_presented_as_bearer_is_refused() {
    let holder = DpopKey::generate(Algorithm::ES256);
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL))).await;
    let token = api.bound_token("expense.report.read", &holder);
    // Even with a valid proof next to it: the scheme says bearer.
    let proof = holder.proof("GET", &url("/expense/reports"), &token);
    let answer = send(
        &api.app,
        "GET",
        "/expense/reports",
        Some(&format!("Bearer {token}")),
        &[&proof],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body["error"], "invalid_token");
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(
                r#"Bearer error="invalid_token", error_description="this token is bound to a DPoP key", DPoP {ALGS}"#
            )
            .as_str()
        )
    );
    assert!(matches!(
        api.verifier.verify(&token).await,
        Err(VerifyError::DpopBoundToken)
    ));

    // A verifier without DPoP refuses it as well.
    let plain = Api::start(None).await;
    let token = plain.bound_token("expense.report.read", &holder);
    let answer = send(
        &plain.app,
        "GET",
        "/expense/reports",
        Some(&format!("Bearer {token}")),
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body["error_description"],
        "this token is bound to a DPoP key"
    );
}

#[tokio::test]
async fn bad_proofs_are_invalid_dpop_proof() {
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL))).await;
    let holder = DpopKey::generate(Algorithm::ES256);
    let token = api.bound_token("expense.report.read", &holder);
    let auth = dpop_auth(&token);
    let path = "/expense/reports";
    let refused = |proofs: Vec<String>, description: &'static str| {
        let (app, auth) = (api.app.clone(), auth.clone());
        async move {
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            send(&app, "GET", path, Some(&auth), &proofs)
                .await
                .dpop_error("invalid_dpop_proof", description);
        }
    };

    refused(vec![], "a DPoP proof is required").await;
    let good = || holder.proof("GET", &url(path), &token);
    refused(vec![good(), good()], "more than one DPoP header").await;
    let other_path = holder.proof("GET", &url("/travel/profile"), &token);
    refused(
        vec![other_path],
        "DPoP proof htu does not match the request URI",
    )
    .await;
    let other_origin = holder.proof("GET", &format!("https://other.example.com{path}"), &token);
    refused(
        vec![other_origin],
        "DPoP proof htu does not match the request URI",
    )
    .await;
    let other_method = holder.proof("POST", &url(path), &token);
    refused(
        vec![other_method],
        "DPoP proof htm does not match the request method",
    )
    .await;
    let other_token = holder.proof("GET", &url(path), "another-access-token");
    refused(
        vec![other_token],
        "DPoP proof ath does not match the access token",
    )
    .await;
    let no_ath = holder.sign(&holder.header(), &DpopKey::claims("GET", &url(path), None));
    refused(
        vec![no_ath],
        "DPoP proof lacks the ath claim for the access token",
    )
    .await;
    let mut old = DpopKey::claims("GET", &url(path), Some(&token));
    old["iat"] = json!(common::now() - 120);
    refused(
        vec![holder.sign(&holder.header(), &old)],
        "DPoP proof is too old",
    )
    .await;
    refused(
        vec!["not-a-proof".to_owned()],
        "DPoP proof is not a well-formed signed JWT",
    )
    .await;

    // The good proof still works: failures consumed nothing.
    let answer = send(&api.app, "GET", path, Some(&auth), &[&good()]).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);

    // Directly, outside axum.
    let err = api
        .verifier
        .verify_dpop(&token, &good(), "GET", "https://api.example.com/elsewhere")
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::InvalidProof(DpopError::UriMismatch)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL))).await;
    let holder = DpopKey::generate(Algorithm::EdDSA);
    let token = api.bound_token("expense.report.read", &holder);
    let proof = holder.proof("GET", &url("/expense/reports"), &token);
    let auth = dpop_auth(&token);
    let first = send(&api.app, "GET", "/expense/reports", Some(&auth), &[&proof]).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = send(&api.app, "GET", "/expense/reports", Some(&auth), &[&proof]).await;
    again.dpop_error("invalid_dpop_proof", "the DPoP proof has already been used");
    // Directly, too: the cache belongs to the verifier.
    assert!(matches!(
        api.verifier
            .verify_dpop(&token, &proof, "GET", &url("/expense/reports"))
            .await,
        Err(VerifyError::ProofReplayed)
    ));
    // A fresh proof is fine.
    let proof = holder.proof("GET", &url("/expense/reports"), &token);
    let answer = send(&api.app, "GET", "/expense/reports", Some(&auth), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn a_proof_signed_by_another_key_is_an_invalid_key_binding() {
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL))).await;
    let holder = DpopKey::generate(Algorithm::ES256);
    let thief = DpopKey::generate(Algorithm::ES256);
    let token = api.bound_token("expense.report.read", &holder);
    // A valid proof in itself, with the right ath, by the wrong key.
    let proof = thief.proof("GET", &url("/expense/reports"), &token);
    send(
        &api.app,
        "GET",
        "/expense/reports",
        Some(&dpop_auth(&token)),
        &[&proof],
    )
    .await
    .dpop_error(
        "invalid_token",
        "invalid DPoP key binding: the proof is signed with another key than the token's",
    );
}

#[tokio::test]
async fn an_unbound_token_with_the_dpop_scheme_is_refused() {
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL))).await;
    let holder = DpopKey::generate(Algorithm::ES256);
    let token = api
        .key
        .token(&api.issuer.user_claims("expense.report.read"));
    let proof = holder.proof("GET", &url("/expense/reports"), &token);
    send(
        &api.app,
        "GET",
        "/expense/reports",
        Some(&dpop_auth(&token)),
        &[&proof],
    )
    .await
    .dpop_error("invalid_token", "the token is not bound to a DPoP key");
    // Token errors on a DPoP request are reported in the DPoP scheme.
    send(
        &api.app,
        "GET",
        "/expense/reports",
        Some("DPoP not-a-jwt"),
        &[&proof],
    )
    .await
    .dpop_error("invalid_token", "the token is malformed");
}

#[tokio::test]
async fn challenges_offer_the_schemes_the_route_accepts() {
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL))).await;
    let answer = send(&api.app, "GET", "/expense/reports", None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(format!("Bearer, DPoP {ALGS}").as_str())
    );
    // A bearer token is fine where DPoP is only accepted; an error offers DPoP too.
    let bearer = api.key.token(
        &api.issuer
            .user_claims(&format!("expense.report.read {PASSPORT}")),
    );
    let auth = format!("Bearer {bearer}");
    let answer = send(&api.app, "GET", "/expense/reports", Some(&auth), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send(
        &api.app,
        "GET",
        "/expense/reports",
        Some("Bearer not-a-jwt"),
        &[],
    )
    .await;
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(
                r#"Bearer error="invalid_token", error_description="the token is malformed", DPoP {ALGS}"#
            )
            .as_str()
        )
    );

    // The RequireDpop route challenges for DPoP only and refuses bearer tokens outright.
    let answer = send(&api.app, "GET", "/travel/passport", None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(format!("DPoP {ALGS}").as_str())
    );
    send(&api.app, "GET", "/travel/passport", Some(&auth), &[])
        .await
        .dpop_error(
            "invalid_token",
            "this resource requires a DPoP-bound access token",
        );

    // An insufficient scope is answered in the request's scheme.
    let holder = DpopKey::generate(Algorithm::EdDSA);
    let token = api.bound_token("expense.report.read", &holder);
    let proof = holder.proof("GET", &url("/travel/passport"), &token);
    let answer = send(
        &api.app,
        "GET",
        "/travel/passport",
        Some(&dpop_auth(&token)),
        &[&proof],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(
                r#"DPoP error="insufficient_scope", error_description="the token lacks the required scope", scope="{PASSPORT}", {ALGS}"#
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn required_dpop_refuses_bearer_tokens() {
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL).required(true))).await;
    assert!(api.verifier.accepts_dpop() && api.verifier.requires_dpop());
    let bearer = api
        .key
        .token(&api.issuer.user_claims("expense.report.read"));
    send(
        &api.app,
        "GET",
        "/expense/reports",
        Some(&format!("Bearer {bearer}")),
        &[],
    )
    .await
    .dpop_error(
        "invalid_token",
        "this resource requires a DPoP-bound access token",
    );
    assert!(matches!(
        api.verifier.verify(&bearer).await,
        Err(VerifyError::DpopRequired)
    ));
    let answer = send(&api.app, "GET", "/expense/reports", None, &[]).await;
    assert_eq!(
        answer.challenge.as_deref(),
        Some(format!("DPoP {ALGS}").as_str())
    );
    let holder = DpopKey::generate(Algorithm::ES256);
    let token = api.bound_token("expense.report.read", &holder);
    let proof = holder.proof("GET", &url("/expense/reports"), &token);
    let answer = send(
        &api.app,
        "GET",
        "/expense/reports",
        Some(&dpop_auth(&token)),
        &[&proof],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn with_nonces_a_proof_needs_a_fresh_nonce() {
    let secret = *b"0123456789abcdef0123456789abcdef";
    let api = Api::start(Some(DpopConfig::new(PUBLIC_URL).nonce_secret(secret))).await;
    let holder = DpopKey::generate(Algorithm::ES256);
    let token = api.bound_token("expense.report.read", &holder);
    let auth = dpop_auth(&token);
    let path = "/expense/reports";

    let proof = holder.proof("GET", &url(path), &token);
    let answer = send(&api.app, "GET", path, Some(&auth), &[&proof]).await;
    answer.dpop_error(
        "use_dpop_nonce",
        "the resource server requires a fresh nonce in the DPoP proof",
    );
    let nonce = answer.nonce.expect("DPoP-Nonce with use_dpop_nonce");

    // A nonce from another secret (another API) is no better.
    let foreign = portico_jose::NonceKey::new(b"another secret of thirty-two bytes!")
        .issue(i64::try_from(common::now()).unwrap());
    let mut claims = DpopKey::claims("GET", &url(path), Some(&token));
    claims["nonce"] = json!(foreign);
    let answer = send(
        &api.app,
        "GET",
        path,
        Some(&auth),
        &[&holder.sign(&holder.header(), &claims)],
    )
    .await;
    assert_eq!(answer.body["error"], "use_dpop_nonce");

    // Retried with the nonce: accepted, and the answer hands out the current nonce.
    let mut claims = DpopKey::claims("GET", &url(path), Some(&token));
    claims["nonce"] = json!(nonce);
    let answer = send(
        &api.app,
        "GET",
        path,
        Some(&auth),
        &[&holder.sign(&holder.header(), &claims)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let next = answer.nonce.expect("DPoP-Nonce on success");
    assert!(
        portico_jose::NonceKey::new(&secret).accepts(&next, i64::try_from(common::now()).unwrap())
    );
    assert!(api.verifier.dpop_nonce().is_some());

    // Bearer requests get no nonce.
    let bearer = api
        .key
        .token(&api.issuer.user_claims("expense.report.read"));
    let answer = send(
        &api.app,
        "GET",
        path,
        Some(&format!("Bearer {bearer}")),
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.nonce, None);
}

#[tokio::test]
async fn introspected_tokens_are_bound_by_their_cnf() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    let verifier = issuer
        .verifier()
        .introspection(
            IntrospectionConfig::new(INTROSPECT_CLIENT_ID, INTROSPECT_CLIENT_SECRET)
                .local_precheck(false),
        )
        .dpop(DpopConfig::new(PUBLIC_URL))
        .build()
        .await
        .unwrap();
    let app = expense_api::app(verifier.clone());
    let holder = DpopKey::generate(Algorithm::ES256);
    let path = "/expense/reports";

    // An opaque token: only introspection knows it is bound.
    let token = "opaque-access-token-1";
    let claims = bound_claims(&issuer, "expense.report.read", &holder.jkt);
    issuer.set_introspection(token, Issuer::active_dpop(&claims));
    let proof = holder.proof("GET", &url(path), token);
    let answer = send(&app, "GET", path, Some(&dpop_auth(token)), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let answer = send(&app, "GET", path, Some(&format!("Bearer {token}")), &[]).await;
    assert_eq!(
        answer.body["error_description"],
        "this token is bound to a DPoP key"
    );
    let thief = DpopKey::generate(Algorithm::ES256);
    let proof = thief.proof("GET", &url(path), token);
    let answer = send(&app, "GET", path, Some(&dpop_auth(token)), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        answer.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("invalid DPoP key binding")
    );

    // token_type DPoP without cnf: the binding is unknown, so the token is refused.
    let token = "opaque-access-token-2";
    let claims = issuer.user_claims("expense.report.read");
    issuer.set_introspection(token, Issuer::active_dpop(&claims));
    let proof = holder.proof("GET", &url(path), token);
    let answer = send(&app, "GET", path, Some(&dpop_auth(token)), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body["error"], "invalid_token");

    // A JWT whose introspection answer carries cnf, verified locally first as well.
    let verifier = issuer
        .verifier()
        .introspection(IntrospectionConfig::new(
            INTROSPECT_CLIENT_ID,
            INTROSPECT_CLIENT_SECRET,
        ))
        .dpop(DpopConfig::new(PUBLIC_URL))
        .build()
        .await
        .unwrap();
    let claims = bound_claims(&issuer, "expense.report.read", &holder.jkt);
    let token = key.token(&claims);
    issuer.set_introspection(&token, Issuer::active_dpop(&claims));
    let proof = holder.proof("GET", &url(path), &token);
    let verified = verifier
        .verify_dpop(&token, &proof, "GET", &url(path))
        .await
        .unwrap();
    assert_eq!(verified.dpop_jkt(), Some(holder.jkt.as_str()));
    assert!(verified.is_dpop_bound());
}

#[tokio::test]
async fn htu_is_the_public_url_and_the_whole_path_under_nested_routers() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    // Behind a gateway that maps https://gw.example.com/v1/* to this service's /*.
    let verifier = issuer
        .verifier()
        .dpop(DpopConfig::new("https://GW.example.com:443/v1/"))
        .build()
        .await
        .unwrap();
    let inner = Router::new().route(
        "/me",
        get(|token: AccessToken| async move { token.dpop_jkt().unwrap_or_default().to_owned() }),
    );
    let app = Router::new()
        .nest("/api", inner.route_layer(RequireDpop))
        .layer(verifier.layer());
    let holder = DpopKey::generate(Algorithm::EdDSA);
    let token = key.token(&bound_claims(&issuer, "x", &holder.jkt));
    let auth = dpop_auth(&token);

    let proof = holder.proof("GET", "https://gw.example.com/v1/api/me", &token);
    let answer = send(&app, "GET", "/api/me", Some(&auth), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    // The nested router's own view of the path is not what the client addressed.
    for htu in [
        "https://gw.example.com/v1/me",
        "https://gw.example.com/api/me",
    ] {
        let proof = holder.proof("GET", htu, &token);
        let answer = send(&app, "GET", "/api/me", Some(&auth), &[&proof]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{htu}");
        assert_eq!(answer.body["error"], "invalid_dpop_proof", "{htu}");
    }
}

#[tokio::test]
async fn without_dpop_configured_the_scheme_is_foreign_and_config_errors_fail_the_build() {
    let api = Api::start(None).await;
    assert!(!api.verifier.accepts_dpop());
    let holder = DpopKey::generate(Algorithm::ES256);
    let token = api.bound_token("expense.report.read", &holder);
    let proof = holder.proof("GET", &url("/expense/reports"), &token);
    let answer = send(
        &api.app,
        "GET",
        "/expense/reports",
        Some(&dpop_auth(&token)),
        &[&proof],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    // The sample API mounts its DPoP-only route only with DPoP.
    let answer = send(&api.app, "GET", "/travel/passport", None, &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(matches!(
        api.verifier
            .verify_dpop(&token, &proof, "GET", &url("/expense/reports"))
            .await,
        Err(VerifyError::Config(_))
    ));

    // RequireDpop on a verifier without DPoP is a misconfiguration, not a 401.
    let app = Router::new()
        .route("/x", get(|| async { "x" }).route_layer(RequireDpop))
        .layer(api.verifier.layer());
    let answer = send(&app, "GET", "/x", Some(&dpop_auth(&token)), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);

    for config in [
        DpopConfig::new("api.example.com"),
        DpopConfig::new("https://api.example.com/?q=1"),
        DpopConfig::new(PUBLIC_URL).nonce_secret(*b"too short"),
    ] {
        let err = api
            .issuer
            .verifier()
            .dpop(config)
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Config(_)), "{err:?}");
    }
}
