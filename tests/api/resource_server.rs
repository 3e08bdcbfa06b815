//! portico-verify against the real server (issue 5): the resource-server library and the sample
//! expense and travel-profile API (crates/portico-verify/examples/expense_api.rs, mounted here as
//! a module and served on 127.0.0.1:0) verify tokens that a running `portico` issued, on SQLite
//! and PostgreSQL.

#[allow(dead_code)]
#[path = "../../crates/portico-verify/examples/expense_api.rs"]
mod expense_api;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use portico_verify::{
    Algorithm, FeedDown, IntrospectionConfig, PrincipalType, RevocationFeedConfig, Verifier,
    VerifyError,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Node, PORTICO, Session, TestApp, expense_app, spawn_app_with};
use crate::oauth_helpers::*;

both_backends!(
    sample_api_answers_by_scope,
    travel_profile_sections_follow_the_data_groups,
    expired_tokens_are_refused,
    tampered_and_misaddressed_tokens_are_refused,
    tokens_of_an_unknown_key_are_refused_with_one_refetch,
    key_rotation_while_the_api_runs,
    es256_and_rs256_tokens_verify,
    introspection_sees_a_disabled_app_at_once,
    the_revocation_feed_reaches_a_locally_verifying_api_within_a_second,
);

const AUDIENCE: &str = "urn:portico:api";

const ALL_GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "company_request_token",
];

// ---------------------------------------------------------------------------------------------
// The sample API on a real socket.

/// The sample expense API served on 127.0.0.1:0 with a verifier; stopped when dropped.
struct ExpenseApi {
    base: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ExpenseApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the sample API answered.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

impl Reply {
    /// A 401 `invalid_token` whose challenge and body carry `description`.
    #[track_caller]
    fn expect_invalid_token(&self, description: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{self:?}");
        assert_eq!(
            self.challenge.as_deref(),
            Some(
                format!(r#"Bearer error="invalid_token", error_description="{description}""#)
                    .as_str()
            ),
            "{self:?}"
        );
        assert_eq!(
            self.body,
            json!({ "error": "invalid_token", "error_description": description })
        );
    }

    /// A 403 `insufficient_scope` naming `scope` in the challenge.
    #[track_caller]
    fn expect_insufficient_scope(&self, scope: &str) {
        assert_eq!(self.status, StatusCode::FORBIDDEN, "{self:?}");
        assert_eq!(
            self.challenge.as_deref(),
            Some(
                format!(
                    r#"Bearer error="insufficient_scope", error_description="the token lacks the required scope", scope="{scope}""#
                )
                .as_str()
            ),
            "{self:?}"
        );
        assert_eq!(self.body["error"], "insufficient_scope");
    }
}

async fn start_api(verifier: Verifier) -> ExpenseApi {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = expense_api::app(verifier);
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    ExpenseApi {
        base,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        task,
    }
}

impl ExpenseApi {
    async fn send(&self, request: reqwest::RequestBuilder, token: Option<&str>) -> Reply {
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let response = request.send().await.expect("the sample API answers");
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            challenge,
            retry_after,
            body,
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base)), token)
            .await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(
            self.client.post(format!("{}{path}", self.base)).json(&body),
            token,
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Portico side.

/// A server, the developer company's admin, and its app using Expense Report and Travel
/// Profile with the passport group.
struct World {
    app: TestApp,
    dev: Session,
    client: AppCredentials,
}

async fn world(backend: Backend, overrides: &[(&str, &str)]) -> World {
    let app = spawn_app_with(backend, overrides).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Expense Sync", ALL_GRANTS).await;
    World { app, dev, client }
}

/// Registers an app with these APIs (a list of `{"api": ..., "sensitive_data_groups": [...]}`).
async fn register_with_apis(
    app: &TestApp,
    dev: &Session,
    name: &str,
    apis: Value,
) -> AppCredentials {
    let mut body = expense_app(name);
    body["apis"] = apis;
    let reg = app.register_app(dev, body).await;
    AppCredentials {
        id: reg["client_id"].as_str().unwrap().to_owned(),
        secret: reg["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// A company-level access token of `client` for the admin's company.
async fn company_access_token(app: &TestApp, admin: &Session, client: &AppCredentials) -> String {
    let rt = request_token(app, admin, client).await;
    let a = company_token(app, client, &admin.company_id, &rt).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.str("access_token")
}

/// An app token of `client` (client credentials), optionally narrowed to `scope`.
async fn app_access_token(app: &TestApp, client: &AppCredentials, scope: Option<&str>) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let a = token(app, client, &form).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.str("access_token")
}

/// The verifier for `app` with the defaults.
async fn verifier(app: &TestApp) -> Verifier {
    Verifier::builder(&app.base)
        .build()
        .await
        .expect("the verifier discovers Portico")
}

/// `portico keys rotate` against the running server's database, as an operator would run it;
/// returns the new key's kid.
async fn rotate_keys(app: &TestApp) -> String {
    let workdir =
        std::env::temp_dir().join(format!("portico-rotate-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&workdir).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["keys", "rotate"])
        .current_dir(&workdir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTICO_DATABASE_URL", &app.database_url)
        .env("PORTICO_MASTER_KEY", &app.master_key)
        .env(
            "PORTICO_CATALOG_PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/apis.toml"),
        )
        .env("PORTICO_LOG_FILTER", "warn")
        .output()
        .await
        .expect("portico keys rotate runs");
    let _ = std::fs::remove_dir_all(&workdir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "keys rotate failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // "new signing key <kid> (EdDSA)"
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("new signing key "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no kid in: {stdout}"))
        .to_owned()
}

async fn jwks(app: &TestApp) -> Value {
    app.client
        .get(app.url("/oauth2/v0/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn published_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// JWT pieces, taken apart and put together by hand.

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header_of(token: &str) -> Value {
    segment(token, 0)
}

fn payload_of(token: &str) -> Value {
    segment(token, 1)
}

fn kid_of(token: &str) -> String {
    header_of(token)["kid"].as_str().unwrap().to_owned()
}

fn signing_input(header: &Value, payload: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[track_caller]
fn assert_rejected(result: Result<portico_verify::Claims, VerifyError>, expected: &str) {
    match result {
        Ok(claims) => panic!("accepted, expected {expected}: {claims:?}"),
        Err(e) => assert_eq!(format!("{e:?}"), expected),
    }
}

// ---------------------------------------------------------------------------------------------
// A forward HTTP proxy between the verifier and Portico that counts JWKS fetches: the only way
// to see how often a verifier asks the real server for its keys.

struct CountingProxy {
    url: String,
    jwks_fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct ProxyState {
    upstream: reqwest::Client,
    jwks_fetches: Arc<AtomicUsize>,
}

async fn forward(
    axum::extract::State(state): axum::extract::State<ProxyState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // A proxied request carries the absolute URI (http://host:port/path).
    if request.uri().authority().is_none() {
        return (StatusCode::BAD_REQUEST, "not a proxy request").into_response();
    }
    if request.uri().path() == "/oauth2/v0/jwks" {
        state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let mut upstream = state
        .upstream
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for name in ["authorization", "content-type", "accept"] {
        if let Some(value) = parts.headers.get(name) {
            upstream = upstream.header(name, value);
        }
    }
    match upstream.send().await {
        Ok(response) => {
            let status = response.status();
            let content_type = response.headers().get("content-type").cloned();
            let bytes = response.bytes().await.unwrap_or_default();
            let mut answer = (status, bytes).into_response();
            if let Some(ct) = content_type {
                answer.headers_mut().insert("content-type", ct);
            }
            answer
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

impl CountingProxy {
    async fn start() -> CountingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let state = ProxyState {
            upstream: reqwest::Client::builder().no_proxy().build().unwrap(),
            jwks_fetches: jwks_fetches.clone(),
        };
        let router = axum::Router::new().fallback(forward).with_state(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        CountingProxy {
            url,
            jwks_fetches,
            task,
        }
    }

    /// An HTTP client that sends everything through this proxy.
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::http(&self.url).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// A valid token reaches a scope-protected route; a token without the route's scope gets 403
/// `insufficient_scope` naming the scope; no or a garbage token gets 401.
async fn sample_api_answers_by_scope(backend: Backend) {
    let World { app, dev, client } = world(backend, &[]).await;
    let at = company_access_token(&app, &dev, &client).await;

    let verifier = verifier(&app).await;
    assert_eq!(verifier.metadata().issuer, app.base);
    assert!(!verifier.introspects());
    // The library on its own: the claims Portico put in the token.
    let claims = verifier
        .verify(&at)
        .await
        .expect("a Portico token verifies");
    assert_eq!(claims.issuer(), app.base);
    assert_eq!(claims.audience(), [AUDIENCE.to_owned()]);
    assert_eq!(claims.principal_type(), PrincipalType::Company);
    assert_eq!(claims.subject(), dev.company_id);
    assert_eq!(claims.company_id(), Some(dev.company_id.as_str()));
    assert_eq!(claims.client_id(), client.id);
    assert_eq!(
        claims.scopes().to_string(),
        "expense.report.read travel.profile.passport travel.profile.read"
    );
    assert!(
        claims
            .sensitive_data_groups()
            .contains("travel.profile.passport")
    );
    assert_eq!(claims.sensitive_data_groups().len(), 1);
    assert!(claims.grant_id().is_some());
    assert!(!claims.jti().is_empty());
    let iat = claims.issued_at().unwrap();
    assert_eq!(claims.expires_at() - iat, 3600);
    assert!(iat.abs_diff(now()) < 60);

    let api = start_api(verifier).await;
    let r = api.get("/health", None).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!("ok")));

    // The token carries expense.report.read: the reports.
    let r = api.get("/expense/reports", Some(&at)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["company_id"], dev.company_id.as_str());
    assert_eq!(r.body["owner"], dev.company_id.as_str());
    assert_eq!(r.body["reports"].as_array().unwrap().len(), 2);

    // Not quickexpense.writeonly: 403 naming the scope, and the handler never ran.
    let expense = json!({ "amount": 12.5, "currency": "EUR", "vendor": "Café Lyon" });
    let r = api.post("/quickexpense", Some(&at), expense.clone()).await;
    r.expect_insufficient_scope("quickexpense.writeonly");

    // A token narrowed to the travel profile: no reports.
    let narrow = app_access_token(&app, &client, Some("travel.profile.read")).await;
    api.get("/expense/reports", Some(&narrow))
        .await
        .expect_insufficient_scope("expense.report.read");
    let r = api.get("/travel/profile", Some(&narrow)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // An app token: the subject is the app, there is no company.
    assert_eq!(r.body["user_id"], client.id.as_str());
    assert_eq!(r.body["company_id"], Value::Null);

    // An app registered for Quick Expense may post one.
    let quick = register_with_apis(
        &app,
        &dev,
        "Quick Receipts",
        json!([{ "api": "expense.report.read" }, { "api": "quickexpense.writeonly" }]),
    )
    .await;
    let quick_at = company_access_token(&app, &dev, &quick).await;
    let r = api
        .post("/quickexpense", Some(&quick_at), expense.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["owner"], dev.company_id.as_str());
    assert_eq!(r.body["vendor"], "Café Lyon");
    // ...but it has no travel profile scope.
    api.get("/travel/profile", Some(&quick_at))
        .await
        .expect_insufficient_scope("travel.profile.read");

    // No token: a bare challenge (RFC 6750 §3.1). Garbage: invalid_token.
    let r = api.get("/expense/reports", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.challenge.as_deref(), Some("Bearer"));
    api.get("/expense/reports", Some("not-a-jwt"))
        .await
        .expect_invalid_token("the token is malformed");
    // Portico's opaque refresh token is no access token either.
    let rt = request_token(&app, &dev, &client).await;
    let refresh = company_token(&app, &client, &dev.company_id, &rt)
        .await
        .str("refresh_token");
    assert_eq!(
        api.get("/expense/reports", Some(&refresh)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The travel profile has its passport section only when the token carries
/// travel.profile.passport, whichever way the token was obtained.
async fn travel_profile_sections_follow_the_data_groups(backend: Backend) {
    let World { app, dev, client } = world(backend, &[]).await;
    let without_group = register_with_apis(
        &app,
        &dev,
        "Trip Planner",
        json!([{ "api": "travel.profile.read" }]),
    )
    .await;
    let traveler = app.user_of(&dev, "traveler@sandbox.portico.test").await;
    let api = start_api(verifier(&app).await).await;

    let sections = [
        "passport",
        "medical_alerts",
        "emergency_contact",
        "company_details",
        "tsa_info",
        "unused_tickets",
        "tmc_specific",
    ];
    let profile = |token: String| {
        let api = &api;
        async move {
            let claims = payload_of(&token);
            let r = api.get("/travel/profile", Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{r:?}");
            // The basic profile is always there.
            assert_eq!(r.body["name"], json!({ "first": "Alex", "last": "Martin" }));
            assert_eq!(r.body["email"], "alex.martin@example.com");
            assert_eq!(r.body["user_id"], claims["sub"]);
            (claims, r.body)
        }
    };
    let present = |body: &Value| -> Vec<&str> {
        sections
            .iter()
            .copied()
            .filter(|s| body.get(*s).is_some())
            .collect()
    };

    // The app registered with the passport group: a company token has it.
    let (claims, body) = profile(company_access_token(&app, &dev, &client).await).await;
    assert_eq!(
        claims["sensitive_data_groups"],
        json!(["travel.profile.passport"])
    );
    assert_eq!(present(&body), ["passport"]);
    assert_eq!(
        body["passport"],
        json!({ "number": "X1234567", "country": "FR", "expires": "2031-04-30" })
    );

    // The same app asking for less: no passport.
    let (claims, body) =
        profile(app_access_token(&app, &client, Some("travel.profile.read")).await).await;
    assert_eq!(claims["sensitive_data_groups"], json!([]));
    assert!(present(&body).is_empty(), "{body}");
    let (_, body) = profile(
        app_access_token(
            &app,
            &client,
            Some("travel.profile.read travel.profile.passport"),
        )
        .await,
    )
    .await;
    assert_eq!(present(&body), ["passport"]);

    // An app registered without the group never gets it.
    let (claims, body) = profile(company_access_token(&app, &dev, &without_group).await).await;
    assert_eq!(claims["scope"], "travel.profile.read");
    assert!(present(&body).is_empty(), "{body}");

    // A user's token through the authorization page, with and without the group.
    let (code, pkce_verifier) = authorization_code(&app, &traveler, &client, None).await;
    let a = exchange(&app, &client, &code, &pkce_verifier).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (claims, body) = profile(a.str("access_token")).await;
    assert_eq!(claims["principal_type"], "user");
    assert_eq!(body["user_id"], traveler.user_id.as_str());
    assert_eq!(body["company_id"], dev.company_id.as_str());
    assert_eq!(present(&body), ["passport"]);
    let (code, pkce_verifier) = authorization_code(
        &app,
        &traveler,
        &client,
        Some("travel.profile.read expense.report.read"),
    )
    .await;
    let a = exchange(&app, &client, &code, &pkce_verifier).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (_, body) = profile(a.str("access_token")).await;
    assert_eq!(body["user_id"], traveler.user_id.as_str());
    assert!(present(&body).is_empty(), "{body}");
}

/// A token past its `exp` (plus the verifier's leeway) is refused; within the leeway it is not.
async fn expired_tokens_are_refused(backend: Backend) {
    let World { app, dev, client } =
        world(backend, &[("PORTICO_TOKENS_ACCESS_TOKEN_TTL_SECONDS", "2")]).await;
    let strict = Verifier::builder(&app.base)
        .leeway(Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    let lenient = verifier(&app).await; // the default leeway: 30 s
    let api = start_api(strict.clone()).await;

    let at = company_access_token(&app, &dev, &client).await;
    let claims = payload_of(&at);
    let exp = claims["exp"].as_u64().unwrap();
    assert_eq!(exp - claims["iat"].as_u64().unwrap(), 2);
    assert!(strict.verify(&at).await.is_ok());
    assert_eq!(
        api.get("/expense/reports", Some(&at)).await.status,
        StatusCode::OK
    );

    // Wait until exp + leeway (1 s) has passed.
    while now() < exp + 2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_rejected(strict.verify(&at).await, "Expired");
    api.get("/expense/reports", Some(&at))
        .await
        .expect_invalid_token("the token has expired");
    // The default 30 s leeway for clock skew still takes it.
    assert!(lenient.verify(&at).await.is_ok());
    // A fresh token from the same server is fine.
    let fresh = company_access_token(&app, &dev, &client).await;
    assert_eq!(
        api.get("/expense/reports", Some(&fresh)).await.status,
        StatusCode::OK
    );
}

/// Wrong audience, a forged signature, a changed payload, `alg: none` and HS256 keyed with the
/// public key: all refused, while the untouched token verifies.
async fn tampered_and_misaddressed_tokens_are_refused(backend: Backend) {
    let World { app, dev, client } = world(backend, &[]).await;
    let at = company_access_token(&app, &dev, &client).await;
    let verifier = verifier(&app).await;
    let api = start_api(verifier.clone()).await;
    assert!(verifier.verify(&at).await.is_ok());

    // Another API's verifier: the token is not for it.
    let other = Verifier::builder(&app.base)
        .audience("urn:portico:other-api")
        .build()
        .await
        .unwrap();
    assert_eq!(other.audience(), "urn:portico:other-api");
    assert_rejected(other.verify(&at).await, "WrongAudience");
    let other_api = start_api(other).await;
    other_api
        .get("/expense/reports", Some(&at))
        .await
        .expect_invalid_token("the token is not intended for this audience");

    // A verifier configured with an issuer Portico does not call itself refuses to start.
    match Verifier::builder(format!("{}/", app.base)).build().await {
        Err(VerifyError::IssuerMismatch { expected, found }) => {
            assert_eq!(
                (expected, found),
                (format!("{}/", app.base), app.base.clone())
            );
        }
        other => panic!("expected IssuerMismatch, got {other:?}"),
    }

    let parts: Vec<&str> = at.split('.').collect();
    let (header, payload) = (header_of(&at), payload_of(&at));
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");

    // Forged signature: one bit flipped.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[0] ^= 0x01;
    let forged = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
    assert_rejected(verifier.verify(&forged).await, "InvalidSignature");
    api.get("/expense/reports", Some(&forged))
        .await
        .expect_invalid_token("the token's signature is invalid");

    // A payload granting more, with the original signature.
    let mut richer = payload.clone();
    richer["scope"] = json!(format!(
        "{} quickexpense.writeonly",
        payload["scope"].as_str().unwrap()
    ));
    let escalated = format!("{}.{}", signing_input(&header, &richer), parts[2]);
    assert_rejected(verifier.verify(&escalated).await, "InvalidSignature");
    api.post(
        "/quickexpense",
        Some(&escalated),
        json!({ "amount": 1.0, "currency": "EUR", "vendor": "x" }),
    )
    .await
    .expect_invalid_token("the token's signature is invalid");

    // alg "none", unsigned, with Portico's real kid and claims.
    let none_header = json!({ "alg": "none", "typ": "at+jwt", "kid": header["kid"] });
    let unsigned = format!("{}.", signing_input(&none_header, &payload));
    assert_rejected(verifier.verify(&unsigned).await, "Malformed");
    api.get("/expense/reports", Some(&unsigned))
        .await
        .expect_invalid_token("the token is malformed");

    // HS256 keyed with the published Ed25519 public key (the key-confusion attack).
    let jwks = jwks(&app).await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's key is published");
    let public_key = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    assert_eq!(public_key.len(), 32);
    let hs_header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": header["kid"] });
    let input = signing_input(&hs_header, &payload);
    for secret in [public_key.as_slice(), jwk.to_string().as_bytes()] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
        let confused = format!("{input}.{}", b64(tag.as_ref()));
        assert_rejected(verifier.verify(&confused).await, "AlgorithmNotAllowed");
        api.get("/expense/reports", Some(&confused))
            .await
            .expect_invalid_token("the token's signing algorithm is not accepted");
    }

    // The original still passes through the same running API.
    assert_eq!(
        api.get("/expense/reports", Some(&at)).await.status,
        StatusCode::OK
    );
}

/// Tokens signed by a key Portico never published (made-up kids) are refused; a burst of them
/// costs one JWKS refetch, counted by a proxy in front of the real server; Portico's own tokens
/// keep verifying.
async fn tokens_of_an_unknown_key_are_refused_with_one_refetch(backend: Backend) {
    let World { app, dev, client } = world(backend, &[]).await;
    let at = company_access_token(&app, &dev, &client).await;
    let proxy = CountingProxy::start().await;
    let verifier = Verifier::builder(&app.base)
        .http_client(proxy.client())
        // The default is 10 s; longer here so that a slow machine cannot open a second window.
        .jwks_refetch_interval(Duration::from_secs(60))
        .build()
        .await
        .expect("the verifier discovers Portico through the proxy");
    assert_eq!(proxy.jwks_fetches(), 1, "the start-up fetch");
    let api = start_api(verifier.clone()).await;

    // Our own Ed25519 key, Portico's claims (issuer, audience, company...), a made-up kid.
    let own_key = Ed25519KeyPair::generate().unwrap();
    let forge = |kid: &str| {
        let header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": kid });
        let mut claims = payload_of(&at);
        claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
        let input = signing_input(&header, &claims);
        format!("{input}.{}", b64(own_key.sign(input.as_bytes()).as_ref()))
    };
    assert_eq!(own_key.public_key().as_ref().len(), 32);

    let forged = forge("made-up-kid");
    assert_rejected(verifier.verify(&forged).await, "UnknownKey");
    assert_eq!(proxy.jwks_fetches(), 2, "one refetch for the unknown kid");

    // A burst of other made-up kids, concurrently: no further fetch (rate-limited).
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..25 {
        let (verifier, token) = (verifier.clone(), forge(&format!("made-up-kid-{i}")));
        burst.spawn(async move { verifier.verify(&token).await });
    }
    while let Some(result) = burst.join_next().await {
        assert_rejected(result.unwrap(), "UnknownKey");
    }
    api.get("/expense/reports", Some(&forge("yet-another-kid")))
        .await
        .expect_invalid_token("the token was signed by an unknown key");
    assert_eq!(proxy.jwks_fetches(), 2, "the burst caused no fetch");

    // Our key under Portico's real kid: a bad signature, and no fetch either.
    let impostor = forge(&kid_of(&at));
    assert_rejected(verifier.verify(&impostor).await, "InvalidSignature");

    // Portico's tokens still verify: the old one, and one issued now.
    assert!(verifier.verify(&at).await.is_ok());
    let fresh = company_access_token(&app, &dev, &client).await;
    assert_eq!(
        api.get("/expense/reports", Some(&fresh)).await.status,
        StatusCode::OK
    );
    assert_eq!(proxy.jwks_fetches(), 2);
}

/// `portico keys rotate` while the sample API runs: the API picks the new key up from the JWKS
/// on the first token that names it, and tokens of the old key keep working.
async fn key_rotation_while_the_api_runs(backend: Backend) {
    let World { app, dev, client } = world(backend, &[]).await;
    // A default verifier, built before the rotation and never rebuilt.
    let api = start_api(verifier(&app).await).await;
    let old = company_access_token(&app, &dev, &client).await;
    let old_kid = kid_of(&old);
    assert_eq!(
        api.get("/expense/reports", Some(&old)).await.status,
        StatusCode::OK
    );

    let new_kid = rotate_keys(&app).await;
    assert_ne!(new_kid, old_kid);
    // SQLite servers poll for new keys (about 5 s); PostgreSQL ones hear a NOTIFY.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let fresh = loop {
        let t = app_access_token(&app, &client, None).await;
        if kid_of(&t) != old_kid {
            break t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server still signs with the old key"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(kid_of(&fresh), new_kid);
    let kids = published_kids(&jwks(&app).await);
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );

    // The running API, unchanged: the new key's token is accepted...
    let r = api.get("/expense/reports", Some(&fresh)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["owner"], client.id.as_str());
    let company_fresh = company_access_token(&app, &dev, &client).await;
    assert_eq!(kid_of(&company_fresh), new_kid);
    assert_eq!(
        api.get("/travel/profile", Some(&company_fresh))
            .await
            .status,
        StatusCode::OK
    );
    // ...and so is the token of the old key, issued before the rotation.
    assert_eq!(
        api.get("/expense/reports", Some(&old)).await.status,
        StatusCode::OK
    );
}

/// Servers signing with ES256 and RS256: their tokens verify through the sample API too, and a
/// verifier that allows only EdDSA refuses them.
async fn es256_and_rs256_tokens_verify(backend: Backend) {
    for (alg, algorithm, kty) in [
        ("ES256", Algorithm::ES256, "EC"),
        ("RS256", Algorithm::RS256, "RSA"),
    ] {
        let World { app, dev, client } =
            world(backend, &[("PORTICO_TOKENS_SIGNING_ALGORITHM", alg)]).await;
        let at = company_access_token(&app, &dev, &client).await;
        let header = header_of(&at);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "at+jwt");
        let jwks = jwks(&app).await;
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .unwrap_or_else(|| panic!("{alg}: the kid is published"));
        assert_eq!(jwk["kty"], kty);

        let verifier = verifier(&app).await;
        let claims = verifier.verify(&at).await.expect("the token verifies");
        assert_eq!(claims.company_id(), Some(dev.company_id.as_str()));
        let api = start_api(verifier).await;
        let r = api.get("/travel/profile", Some(&at)).await;
        assert_eq!(r.status, StatusCode::OK, "{alg}: {r:?}");
        assert!(r.body.get("passport").is_some(), "{alg}: {}", r.body);
        assert_eq!(
            api.get("/expense/reports", Some(&at)).await.status,
            StatusCode::OK
        );

        // Only the configured algorithm…
        let only = Verifier::builder(&app.base)
            .algorithms([algorithm])
            .build()
            .await
            .unwrap();
        assert!(only.verify(&at).await.is_ok(), "{alg}");
        // …and an EdDSA-only verifier refuses it before looking at keys.
        let eddsa_only = Verifier::builder(&app.base)
            .algorithms([Algorithm::EdDSA])
            .build()
            .await
            .unwrap();
        assert_rejected(eddsa_only.verify(&at).await, "AlgorithmNotAllowed");
    }
}

/// A company disables the app: a verifier in introspection mode refuses its token at once, a
/// local-only verifier keeps accepting it until it expires (which is why introspection mode
/// exists); enabling it again makes it active again.
async fn introspection_sees_a_disabled_app_at_once(backend: Backend) {
    let World { app, dev, client } = world(backend, &[]).await;
    let resource = register(&app, &dev, "Expense API", &["client_credentials"]).await;
    let staff = app.staff().await;
    let (status, body) = app
        .put(
            &staff,
            &format!("/apps/{}/resource-server", resource.id),
            json!({ "resource_server": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bystander = register(&app, &dev, "Not A Resource Server", &["client_credentials"]).await;

    let introspecting_with = |id: &str, secret: &str, ttl: Duration| {
        Verifier::builder(&app.base)
            .introspection(IntrospectionConfig::new(id, secret).cache_ttl(ttl))
            .build()
    };
    let introspecting = introspecting_with(&resource.id, &resource.secret, Duration::ZERO)
        .await
        .unwrap();
    assert!(introspecting.introspects());
    let cached = introspecting_with(&resource.id, &resource.secret, Duration::from_secs(10))
        .await
        .unwrap();
    let local = verifier(&app).await;
    let api = start_api(introspecting.clone()).await;
    let local_api = start_api(local.clone()).await;

    let at = company_access_token(&app, &dev, &client).await;
    let claims = introspecting.verify(&at).await.expect("active");
    assert_eq!(claims.company_id(), Some(dev.company_id.as_str()));
    assert_eq!(claims.principal_type(), PrincipalType::Company);
    assert!(
        claims
            .sensitive_data_groups()
            .contains("travel.profile.passport")
    );
    assert!(local.verify(&at).await.is_ok());
    for api in [&api, &local_api] {
        assert_eq!(
            api.get("/expense/reports", Some(&at)).await.status,
            StatusCode::OK
        );
    }

    // The company disables the app (a verifier caching for 10 s has just seen the token).
    assert!(cached.verify(&at).await.is_ok());
    let enablement = format!("/companies/{}/enablements/{}", dev.company_id, client.id);
    let (status, body) = app
        .put(&dev, &enablement, json!({ "enabled": false }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A cached answer hides it for up to the cache TTL: the price of caching.
    assert!(cached.verify(&at).await.is_ok());
    // Introspection sees it at once.
    assert_rejected(introspecting.verify(&at).await, "Inactive");
    api.get("/expense/reports", Some(&at))
        .await
        .expect_invalid_token("the token is not active");
    // A local-only verifier cannot know: the signature and exp are still fine.
    assert!(local.verify(&at).await.is_ok());
    assert_eq!(
        local_api.get("/expense/reports", Some(&at)).await.status,
        StatusCode::OK
    );

    // Enabled again: the same token is active again (cache TTL 0 asks every time).
    let (status, _) = app.put(&dev, &enablement, json!({ "enabled": true })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(introspecting.verify(&at).await.is_ok());
    assert_eq!(
        api.get("/expense/reports", Some(&at)).await.status,
        StatusCode::OK
    );

    // Forgeries stop at the local check and never become an introspection question.
    let parts: Vec<&str> = at.split('.').collect();
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 0x80;
    let forged = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
    assert_rejected(introspecting.verify(&forged).await, "InvalidSignature");

    // An app that is not a resource server sees only its own tokens as active.
    let bystanding = introspecting_with(&bystander.id, &bystander.secret, Duration::ZERO)
        .await
        .unwrap();
    assert_rejected(bystanding.verify(&at).await, "Inactive");
    // Credentials Portico refuses: the resource server is misconfigured (500, not 401).
    let misconfigured = introspecting_with(&resource.id, "not-the-secret", Duration::ZERO)
        .await
        .unwrap();
    assert_rejected(misconfigured.verify(&at).await, "IntrospectionUnauthorized");
    let r = start_api(misconfigured)
        .await
        .get("/expense/reports", Some(&at))
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{r:?}");
    assert_eq!(r.body["error"], "server_error");

    // Portico goes away: introspection cannot answer (503, retry later), while the local
    // verifier still has the keys it fetched.
    app.node.stop().await;
    let r = api.get("/expense/reports", Some(&at)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{r:?}");
    assert_eq!(r.retry_after.as_deref(), Some("5"));
    assert_eq!(r.body["error"], "temporarily_unavailable");
    assert_eq!(
        local_api.get("/expense/reports", Some(&at)).await.status,
        StatusCode::OK
    );
}

/// An admin API call on `base` (another node of the same database).
async fn admin_on(
    base: &str,
    s: &Session,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}/admin/v1{path}"))
        .bearer_auth(&s.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Polls the sample API until it refuses `token`; fails after a second. Returns the delay.
async fn refused_within_a_second(api: &ExpenseApi, token: &str, what: &str) -> Duration {
    let start = std::time::Instant::now();
    loop {
        let reply = api.get("/expense/reports", Some(token)).await;
        if reply.status == StatusCode::UNAUTHORIZED {
            assert_eq!(
                reply.body["error_description"], "the token has been revoked",
                "{what}"
            );
            let took = start.elapsed();
            eprintln!("revocation feed: {what} refused by the API after {took:?}");
            return took;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what}: still accepted after a second ({reply:?})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The sample API verifies JWTs locally and follows the revocation feed of the first node; on
/// PostgreSQL every change is made on a second node (the same issuer, as behind a load
/// balancer). A disconnected grant, a revoked token and a disabled app are refused within a
/// second; re-enabling lifts the refusal; nothing else is refused.
async fn the_revocation_feed_reaches_a_locally_verifying_api_within_a_second(backend: Backend) {
    let World { app, dev, client } = world(backend, &[]).await;
    let node_b = match backend {
        Backend::Postgres => Some(
            Node::start(
                PORTICO,
                &app.database_url,
                &app.master_key,
                &[("PORTICO_SERVER_PUBLIC_URL", app.base.as_str())],
            )
            .await,
        ),
        Backend::Sqlite => None,
    };
    let other = node_b.as_ref().map_or(app.base.clone(), |n| n.base.clone());
    let resource = register(&app, &dev, "Expense API", &["client_credentials"]).await;
    let staff = app.staff().await;
    let (status, _) = app
        .put(
            &staff,
            &format!("/apps/{}/resource-server", resource.id),
            json!({ "resource_server": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Only a resource server may follow the feed.
    let feed = app.url("/oauth2/v0/revocations");
    let bystander = register(&app, &dev, "Bystander", &["client_credentials"]).await;
    let resp = app
        .client
        .get(&feed)
        .header("authorization", bystander.basic())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app.client.get(&feed).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .client
        .get(&feed)
        .header("authorization", resource.basic())
        .header("last-event-id", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let verifier = Verifier::builder(&app.base)
        .revocation_feed(
            RevocationFeedConfig::new(&resource.id, &resource.secret)
                .when_down(FeedDown::Introspect),
        )
        .build()
        .await
        .expect("the verifier follows the feed");
    let start = std::time::Instant::now();
    while !verifier.revocation_feed_status().expect("a feed").up {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the feed is not up: {:?}",
            verifier.revocation_feed_status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let api = start_api(verifier.clone()).await;

    let company = company_access_token(&app, &dev, &client).await;
    let cc = app_access_token(&app, &client, None).await;
    for t in [&company, &cc] {
        assert_eq!(
            api.get("/expense/reports", Some(t)).await.status,
            StatusCode::OK
        );
    }
    let mut delays = Vec::new();

    // Disconnect the company's connection on the other node.
    let (_, list) = admin_on(
        &other,
        &dev,
        reqwest::Method::GET,
        &format!("/companies/{}/connections", dev.company_id),
        None,
    )
    .await;
    let grant = list[0]["grant_id"]
        .as_str()
        .expect("the company's connection")
        .to_owned();
    let (status, _) = admin_on(
        &other,
        &dev,
        reqwest::Method::DELETE,
        &format!("/companies/{}/connections/{grant}", dev.company_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    delays.push(refused_within_a_second(&api, &company, "a disconnected grant's token").await);
    assert_eq!(
        api.get("/expense/reports", Some(&cc)).await.status,
        StatusCode::OK
    );

    // Revoke one access token (RFC 7009) on the other node.
    let resp = reqwest::Client::new()
        .post(format!("{other}/oauth2/v0/revoke"))
        .header("authorization", client.basic())
        .form(&[("token", cc.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    delays.push(refused_within_a_second(&api, &cc, "a revoked access token").await);

    // Deactivate the app on the other node: every token of it; reactivate: accepted again.
    let fresh = app_access_token(&app, &client, None).await;
    assert_eq!(
        api.get("/expense/reports", Some(&fresh)).await.status,
        StatusCode::OK
    );
    let (status, body) = admin_on(
        &other,
        &dev,
        reqwest::Method::PATCH,
        &format!("/apps/{}", client.id),
        Some(json!({ "active": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    delays.push(refused_within_a_second(&api, &fresh, "a disabled app's token").await);
    let (status, _) = admin_on(
        &other,
        &dev,
        reqwest::Method::PATCH,
        &format!("/apps/{}", client.id),
        Some(json!({ "active": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let start = std::time::Instant::now();
    while api.get("/expense/reports", Some(&fresh)).await.status != StatusCode::OK {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "re-enabling did not lift the refusal"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A company disabling the app for itself: that company's tokens only.
    let company = company_access_token(&app, &dev, &client).await;
    assert_eq!(
        api.get("/expense/reports", Some(&company)).await.status,
        StatusCode::OK
    );
    let (status, _) = admin_on(
        &other,
        &dev,
        reqwest::Method::PUT,
        &format!("/companies/{}/enablements/{}", dev.company_id, client.id),
        Some(json!({ "enabled": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    delays.push(
        refused_within_a_second(&api, &company, "a token of an app disabled for its company").await,
    );
    // An app token is not a company's: still accepted.
    assert_eq!(
        api.get("/expense/reports", Some(&fresh)).await.status,
        StatusCode::OK
    );
    delays.sort();
    eprintln!(
        "revocation feed ({backend:?}): delays {delays:?}, median {:?}",
        delays[delays.len() / 2]
    );
    drop(node_b);
}
