//! Pushed authorization requests (RFC 9126) against the real server: push, then the
//! authorization endpoint by `request_uri` through the real sign-in and consent pages; single
//! use, expiry, another client's `request_uri`, the PAR endpoint's errors, and apps (or a
//! server) that require pushing.

use crate::both_backends;
use crate::helpers::{Backend, Credentials, TestApp, spawn_app, spawn_app_with};
use crate::oauth_helpers::*;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    a_pushed_request_through_sign_in_and_consent,
    an_expired_request_uri_is_refused,
    another_clients_request_uri_is_refused,
    the_par_endpoint_refuses_bad_requests,
    an_app_can_require_pushed_requests,
    a_server_can_require_pushed_requests,
);

const PAR: &str = "/oauth2/v0/par";
const CALLBACK: &str = "https://app.example/callback";

/// An authorization request's parameters (state `pushed-state`) with this PKCE challenge.
fn request<'a>(challenge: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("state", "pushed-state"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    form
}

/// Pushes the request; returns the `request_uri` (after checking the 201 answer).
async fn push(app: &TestApp, client: &AppCredentials, form: &[(&str, &str)]) -> String {
    let a = post_form(app, PAR, Some(client), form).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.headers["cache-control"], "no-store");
    let uri = a.str("request_uri");
    let random = uri
        .strip_prefix("urn:ietf:params:oauth:request_uri:")
        .unwrap_or_else(|| panic!("{uri}"));
    assert!(random.len() >= 22, "at least 128 bits: {uri}");
    uri
}

fn by_reference(
    app: &TestApp,
    client: &AppCredentials,
    uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut q = vec![("client_id", client.id.as_str()), ("request_uri", uri)];
    q.extend_from_slice(extra);
    app.url(&format!(
        "/oauth2/v0/authorize?{}",
        serde_urlencoded::to_string(&q).unwrap()
    ))
}

/// The error page for a `request_uri` that cannot be used: 400, no redirect, the code shown.
#[track_caller]
fn assert_invalid_request_uri(status: StatusCode, location: bool, html: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(!location, "never a redirect");
    assert!(html.contains("invalid_request_uri"), "{html}");
}

async fn page(resp: reqwest::Response) -> (StatusCode, bool, String) {
    let status = resp.status();
    let location = resp.headers().get("location").is_some();
    (status, location, resp.text().await.unwrap())
}

fn set_cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}="))?.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// Signs in through the console's sign-in page (as a browser would, with its login CSRF
/// cookie), coming back to `next`; returns the session token and where the browser is sent.
async fn sign_in_page(
    app: &TestApp,
    creds: &Credentials,
    sign_in: &url::Url,
) -> (String, url::Url) {
    let form_page = app.client.get(sign_in.as_str()).send().await.unwrap();
    assert_eq!(form_page.status(), StatusCode::OK);
    let csrf_cookie = set_cookie(&form_page, "portico_login_csrf");
    let html = form_page.text().await.unwrap();
    let mut form = hidden_inputs(&html);
    assert!(form.iter().any(|(k, _)| k == "next"), "{html}");
    form.push(("login_id".into(), creds.login_id.clone()));
    form.push(("password".into(), creds.password.clone()));
    let resp = app
        .client
        .post(app.url("/admin/sign-in"))
        .header("cookie", format!("portico_login_csrf={csrf_cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form).unwrap())
        .send()
        .await
        .unwrap();
    let session = set_cookie(&resp, "portico_session");
    (session, redirect_target(&resp))
}

async fn with_session(app: &TestApp, session: &str, url: &str) -> reqwest::Response {
    app.client
        .get(url)
        .header("cookie", format!("portico_session={session}"))
        .send()
        .await
        .unwrap()
}

async fn post_consent(
    app: &TestApp,
    session: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    app.client
        .post(app.url("/oauth2/v0/authorize"))
        .header("cookie", format!("portico_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap()
}

async fn a_pushed_request_through_sign_in_and_consent(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(
        &app,
        &dev,
        "Pushy",
        &["authorization_code", "refresh_token"],
    )
    .await;
    let (verifier, challenge) = pkce();
    let uri = push(
        &app,
        &client,
        &request(
            &challenge,
            &[("scope", "openid expense.report.read"), ("nonce", "n-1")],
        ),
    )
    .await;

    // Not signed in: to the sign-in page. Parameters besides client_id and request_uri are
    // ignored, and the pushed ones never appear in the browser's URLs.
    let ignored = [
        ("redirect_uri", "https://evil.example/cb"),
        ("state", "front"),
    ];
    let resp = app
        .client
        .get(by_reference(&app, &client, &uri, &ignored))
        .send()
        .await
        .unwrap();
    let to = redirect_target(&resp);
    assert_eq!(to.path(), "/admin/sign-in");
    let next = query(&to, "next").unwrap();
    assert!(next.starts_with("/oauth2/v0/authorize?"), "{next}");
    for hidden in ["code_challenge", "pushed-state", "evil", &uri] {
        assert!(!next.contains(hidden), "{hidden} in {next}");
    }

    // The real sign-in form brings the user back, to the consent page.
    let (session, back) = sign_in_page(&app, &app.developer, &to).await;
    assert!(
        back.as_str().starts_with(&app.url("/oauth2/v0/authorize?")),
        "{back}"
    );
    let consent_page = with_session(&app, &session, back.as_str()).await;
    assert_eq!(consent_page.status(), StatusCode::OK);
    let html = consent_page.text().await.unwrap();
    assert!(html.contains("to access your data?"), "{html}");
    let mut form = hidden_inputs(&html);
    // Besides the CSRF token (of this form and the page's sign-out form), only a reference.
    let names: Vec<&str> = form
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != "csrf_token")
        .collect();
    assert_eq!(names, ["client_id", "request_uri"], "{form:?}");
    form.push(("decision".into(), "allow".into()));

    // The client's request_uri was used up as the authorization endpoint read it.
    let (status, location, html) =
        page(with_session(&app, &session, &by_reference(&app, &client, &uri, &[])).await).await;
    assert_invalid_request_uri(status, location, &html);

    // Allow: the code, with the pushed state, to the pushed redirect URI.
    let to = redirect_target(&post_consent(&app, &session, &form).await);
    assert!(to.as_str().starts_with(CALLBACK), "{to}");
    assert_eq!(query(&to, "state").as_deref(), Some("pushed-state"));
    assert_eq!(query(&to, "iss").as_deref(), Some(app.base.as_str()));
    let code = query(&to, "code").unwrap_or_else(|| panic!("no code in {to}"));
    let tokens = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.body["scope"], "expense.report.read openid");
    assert!(tokens.body["id_token"].is_string());

    // At most one answer: the consent form again, or the page it came from, is refused.
    let (status, location, html) = page(post_consent(&app, &session, &form).await).await;
    assert_invalid_request_uri(status, location, &html);
    let (status, location, html) = page(with_session(&app, &session, back.as_str()).await).await;
    assert_invalid_request_uri(status, location, &html);
}

async fn an_expired_request_uri_is_refused(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTICO_TOKENS_PAR_LIFETIME_SECONDS", "1")]).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Slow", &["authorization_code"]).await;
    let (_, challenge) = pkce();
    let a = post_form(&app, PAR, Some(&client), &request(&challenge, &[])).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["expires_in"], 1);
    let uri = a.str("request_uri");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let resp = browse(&app, &dev, &by_reference(&app, &client, &uri, &[])).await;
    let (status, location, html) = page(resp).await;
    assert_invalid_request_uri(status, location, &html);
}

async fn another_clients_request_uri_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let owner = register(&app, &dev, "Owner", &["authorization_code"]).await;
    let thief = register(&app, &dev, "Thief", &["authorization_code"]).await;
    let (_, challenge) = pkce();
    let uri = push(&app, &owner, &request(&challenge, &[])).await;
    let resp = browse(&app, &dev, &by_reference(&app, &thief, &uri, &[])).await;
    let (status, location, html) = page(resp).await;
    assert_invalid_request_uri(status, location, &html);
    // Not used up by the attempt: its own client's user still gets the consent page.
    let resp = browse(&app, &dev, &by_reference(&app, &owner, &uri, &[])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Unknown, and not ours at all.
    for unknown in [
        "urn:ietf:params:oauth:request_uri:never-pushed",
        "urn:portico:authorization:never-held",
        "https://app.example/request.jwt",
    ] {
        let resp = browse(&app, &dev, &by_reference(&app, &owner, unknown, &[])).await;
        let (status, location, html) = page(resp).await;
        assert_invalid_request_uri(status, location, &html);
    }
}

async fn the_par_endpoint_refuses_bad_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Strict", &["authorization_code"]).await;
    let machine = register(&app, &dev, "Machine", &["client_credentials"]).await;
    let (_, challenge) = pkce();
    let ok = request(&challenge, &[]);

    // Client authentication, as at the token endpoint.
    let wrong = AppCredentials {
        id: client.id.clone(),
        secret: "not-the-secret".into(),
    };
    let a = post_form(&app, PAR, Some(&wrong), &ok).await;
    a.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(a.headers.get("www-authenticate").is_some());
    assert_eq!(a.headers["cache-control"], "no-store");
    post_form(&app, PAR, None, &ok)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // client_secret_post works too.
    let mut posted = ok.clone();
    posted.extend([
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
    ]);
    assert_eq!(
        post_form(&app, PAR, None, &posted).await.status,
        StatusCode::CREATED
    );
    // The body's client_id must be the authenticated client.
    let mut other = ok.clone();
    other.push(("client_id", machine.id.as_str()));
    post_form(&app, PAR, Some(&client), &other)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");

    // RFC 9126 §2.1: a request_uri cannot be pushed.
    let nested = request(
        &challenge,
        &[("request_uri", "urn:ietf:params:oauth:request_uri:x")],
    );
    post_form(&app, PAR, Some(&client), &nested)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");

    // The authorization endpoint's rules, as JSON errors (RFC 9126 §2.3).
    let elsewhere: Vec<_> = ok
        .iter()
        .map(|&(k, v)| {
            (
                k,
                if k == "redirect_uri" {
                    "https://app.example/elsewhere"
                } else {
                    v
                },
            )
        })
        .collect();
    let a = post_form(&app, PAR, Some(&client), &elsewhere).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(a.description().contains("redirect_uri"), "{}", a.body);
    let no_pkce: Vec<_> = ok
        .iter()
        .copied()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let a = post_form(&app, PAR, Some(&client), &no_pkce).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(a.description().contains("PKCE"), "{}", a.body);
    let token_type: Vec<_> = ok
        .iter()
        .map(|&(k, v)| (k, if k == "response_type" { "token" } else { v }))
        .collect();
    post_form(&app, PAR, Some(&client), &token_type)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "unsupported_response_type");
    for (extra, error) in [
        (("scope", "user.read"), "invalid_scope"),
        (("prompt", "sometimes"), "invalid_request"),
        (("max_age", "-1"), "invalid_request"),
        (("resource", "https://unknown.example/"), "invalid_target"),
    ] {
        post_form(&app, PAR, Some(&client), &request(&challenge, &[extra]))
            .await
            .expect_error(StatusCode::BAD_REQUEST, error);
    }
    post_form(&app, PAR, Some(&machine), &ok)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "unauthorized_client");

    // POST with a form body only.
    let resp = app.client.get(app.url(PAR)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let resp = app
        .client
        .post(app.url(&format!("{PAR}?response_type=code")))
        .header("authorization", client.basic())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&ok).unwrap())
        .send()
        .await
        .unwrap();
    answer(resp)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    let resp = app
        .client
        .post(app.url(PAR))
        .header("authorization", client.basic())
        .json(&json!({ "response_type": "code" }))
        .send()
        .await
        .unwrap();
    answer(resp)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    let a = post_form(&app, PAR, Some(&client), &[("scope", "a"), ("scope", "b")]).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
}

/// A plain request from a signed-in user is refused by redirect with `invalid_request` (the
/// redirect URI is registered, RFC 9126 §5); a pushed one reaches the consent page.
async fn assert_push_required(app: &TestApp, client: &AppCredentials) {
    let dev = app.developer().await;
    let (_, challenge) = pkce();
    let plain = authorize_url(
        app,
        client,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let to = redirect_target(&browse(app, &dev, &plain).await);
    assert!(to.as_str().starts_with(CALLBACK), "{to}");
    assert_eq!(query(&to, "error").as_deref(), Some("invalid_request"));
    assert!(query(&to, "error_description").unwrap().contains("pushed"));
    assert_eq!(query(&to, "state").as_deref(), Some("xyz-state"));
    assert!(query(&to, "code").is_none());
    let uri = push(app, client, &request(&challenge, &[])).await;
    let resp = browse(app, &dev, &by_reference(app, client, &uri, &[])).await;
    assert_eq!(resp.status(), StatusCode::OK, "the consent page");
}

async fn an_app_can_require_pushed_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    // At registration.
    let mut body = expense_app_body("Pushed Only");
    body["require_pushed_authorization_requests"] = json!(true);
    let reg = app.register_app(&dev, body).await;
    let client = AppCredentials {
        id: reg["client_id"].as_str().unwrap().to_owned(),
        secret: reg["client_secret"].as_str().unwrap().to_owned(),
    };
    assert_push_required(&app, &client).await;
    // By a Modify; other apps are not concerned (the server does not require it).
    let later = register(&app, &dev, "Later", &["authorization_code"]).await;
    let (_, challenge) = pkce();
    let plain = authorize_url(
        &app,
        &later,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(browse(&app, &dev, &plain).await.status(), StatusCode::OK);
    let (status, body) = app
        .patch(
            &dev,
            &format!("/apps/{}", later.id),
            json!({ "require_pushed_authorization_requests": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_push_required(&app, &later).await;
    let meta = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(meta["require_pushed_authorization_requests"], false);
}

async fn a_server_can_require_pushed_requests(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[(
            "PORTICO_TOKENS_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS",
            "true",
        )],
    )
    .await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Any App", &["authorization_code"]).await;
    assert_push_required(&app, &client).await;
    for doc in ["oauth-authorization-server", "openid-configuration"] {
        let meta = app
            .client
            .get(app.url(&format!("/.well-known/{doc}")))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(
            meta["pushed_authorization_request_endpoint"],
            app.url(PAR),
            "{doc}"
        );
        assert_eq!(meta["require_pushed_authorization_requests"], true, "{doc}");
    }
}

/// A registration body with the authorization_code grant.
fn expense_app_body(name: &str) -> serde_json::Value {
    let mut body = crate::helpers::expense_app(name);
    body["grant_types"] = json!(["authorization_code"]);
    body
}
