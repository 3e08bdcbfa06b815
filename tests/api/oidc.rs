//! OpenID Connect and resource indicators against the real binary: the code flow with `openid`
//! (ID token, nonce, at_hash, auth_time), UserInfo, ID tokens on refresh and for companies,
//! discovery, `prompt`/`max_age`, RFC 8707 audiences through every grant, resource servers
//! marked by staff, and the bad inputs each must refuse with its RFC error.

use crate::both_backends;
use crate::helpers::{Backend, Session, TestApp, spawn_app};
use crate::oauth_helpers::*;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    the_code_flow_signs_the_user_in,
    userinfo_answers_per_rfc_6750,
    company_tokens_carry_an_id_token,
    discovery_documents,
    prompt_and_max_age,
    resource_indicators,
    resource_servers_get_their_own_audience,
    an_app_chooses_its_id_token_algorithm,
);

const NONCE: &str = "n-0S6_WzA2Mj.with~odd_chars";

/// Verifies an ID token as a relying party does (OIDC Core §3.1.3.7): a signature by a key of
/// the published JWKS, `typ: JWT`, the issuer, the client as sole audience, a live `exp`.
async fn verify_id_token(app: &TestApp, client: &AppCredentials, token: &str) -> Value {
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let jwks = jwks(app).await;
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&app.base]);
    v.set_audience(&[&client.id]);
    let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("a valid ID token")
        .claims;
    assert_eq!(claims["aud"], client.id.as_str(), "a single audience");
    claims
}

fn at_hash(access_token: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A code through the consent page for `user` with these extra authorization parameters.
async fn code_with(
    app: &TestApp,
    user: &Session,
    client: &AppCredentials,
    extra: &[(&str, &str)],
) -> (String, String, String) {
    let (verifier, challenge) = pkce();
    let mut q = vec![
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    q.extend_from_slice(extra);
    // The page every time (a consent is otherwise remembered), unless the test chose a prompt.
    if !extra.iter().any(|(k, _)| *k == "prompt") {
        q.push(("prompt", "consent"));
    }
    let url = authorize_url(app, client, &q);
    let page = browse(app, user, &url).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let to = consent(app, user, &url, "allow").await;
    (query(&to, "code").expect("a code"), verifier, html)
}

async fn the_code_flow_signs_the_user_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(
        &app,
        &dev,
        "Sign In App",
        &["authorization_code", "refresh_token"],
    )
    .await;
    let before = now();
    let (code, verifier, html) = code_with(
        &app,
        &dev,
        &client,
        &[
            ("scope", "openid profile email expense.report.read"),
            ("nonce", NONCE),
        ],
    )
    .await;
    // The consent page says the app signs the user in.
    assert!(html.contains("Sign you in"), "{html}");
    assert!(html.contains("Your profile"));
    let a = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.body["token_type"], "Bearer");
    assert_eq!(a.body["scope"], "email expense.report.read openid profile");
    let access = a.str("access_token");
    let id = verify_id_token(&app, &client, &a.str("id_token")).await;
    assert_eq!(id["nonce"], NONCE, "echoed exactly");
    assert_eq!(id["at_hash"], at_hash(&access));
    assert_eq!(id["sub"], dev.user_id.as_str());
    assert_eq!(id["company_id"], dev.company_id.as_str());
    let auth_time = id["auth_time"].as_i64().unwrap();
    assert!(
        auth_time <= before,
        "the session's sign-in, not the exchange"
    );
    assert!(id.get("azp").is_none());
    // Concur's extras, on a response with a refresh token.
    let refresh_expires = a.body["refresh_expires_in"].as_i64().unwrap();
    assert!(
        refresh_expires > now() + 3600,
        "epoch seconds, as Concur sends"
    );
    assert_eq!(a.body["geolocation"], app.base.as_str());
    // The access token is audience-bound to the default resource.
    assert_eq!(verify_jwt(&app, &access).await["aud"], "urn:portico:api");

    // Refresh: a new ID token with the same subject and sign-in time, no nonce.
    let r = refresh(&app, &client, &a.str("refresh_token")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let again = verify_id_token(&app, &client, &r.str("id_token")).await;
    assert_eq!(again["sub"], id["sub"]);
    assert_eq!(again["auth_time"], id["auth_time"]);
    assert!(again.get("nonce").is_none());
    assert_eq!(again["at_hash"], at_hash(&r.str("access_token")));

    // Without openid: plain OAuth, no ID token.
    let (code, verifier, _) =
        code_with(&app, &dev, &client, &[("scope", "expense.report.read")]).await;
    let plain = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.body.get("id_token").is_none());
    // Identity alone: an ID token and an access token for UserInfo, no API scope.
    let (code, verifier, _) = code_with(&app, &dev, &client, &[("scope", "openid")]).await;
    let only = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(only.body["scope"], "openid");
    verify_id_token(&app, &client, &only.str("id_token")).await;
}

async fn userinfo_answers_per_rfc_6750(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(
        &app,
        &dev,
        "UserInfo App",
        &["authorization_code", "client_credentials"],
    )
    .await;
    let (code, verifier, _) = code_with(&app, &dev, &client, &[("scope", "openid profile")]).await;
    let access = exchange(&app, &client, &code, &verifier)
        .await
        .str("access_token");
    let userinfo = app.url("/oauth2/v0/userinfo");
    // GET with the header, and POST with the form field: the same claims.
    let got = get_userinfo(&app, &access).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["sub"], dev.user_id.as_str());
    assert!(got.body["preferred_username"].is_string());
    assert!(got.body["name"].is_string());
    assert!(got.body.get("email").is_none(), "email was not asked");
    let posted = post_form(
        &app,
        "/oauth2/v0/userinfo",
        None,
        &[("access_token", &access)],
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(posted.body, got.body);
    // No token: 401 with a bare challenge.
    let none = answer(app.client.get(&userinfo).send().await.unwrap()).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers["www-authenticate"], "Bearer realm=\"portico\"");
    // A bad token: 401 invalid_token.
    let bad = get_userinfo(&app, "not.a.token").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(
        bad.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // A token without openid (client credentials): 403 insufficient_scope.
    let cc = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    let forbidden = get_userinfo(&app, cc.str("access_token")).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.body["error"], "insufficient_scope");
    // Two ways at once, or a token in the URI: 400 invalid_request.
    let both = answer(
        app.client
            .post(&userinfo)
            .bearer_auth(&access)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("access_token={access}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(both.body["error"], "invalid_request");
    let in_uri = answer(
        app.client
            .get(format!("{userinfo}?access_token={access}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(in_uri.status, StatusCode::BAD_REQUEST);
    // A revoked token is no longer answered.
    post_form(
        &app,
        "/oauth2/v0/revoke",
        Some(&client),
        &[("token", &access)],
    )
    .await;
    let revoked = get_userinfo(&app, &access).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
}

/// `GET /oauth2/v0/userinfo` with a Bearer token.
async fn get_userinfo(app: &TestApp, token: impl std::fmt::Display) -> Answer {
    answer(
        app.client
            .get(app.url("/oauth2/v0/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn company_tokens_carry_an_id_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(
        &app,
        &dev,
        "Company App",
        &[
            "company_request_token",
            "refresh_token",
            "client_credentials",
        ],
    )
    .await;
    let rt = request_token(&app, &dev, &client).await;
    let a = company_token(&app, &client, &dev.company_id, &rt).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let id = verify_id_token(&app, &client, &a.str("id_token")).await;
    assert_eq!(
        id["sub"],
        dev.company_id.as_str(),
        "the company, as Concur's"
    );
    assert_eq!(id["principal_type"], "company");
    assert_eq!(a.body["geolocation"], app.base.as_str());
    assert!(a.body["refresh_expires_in"].is_i64());
    let r = refresh(&app, &client, &a.str("refresh_token")).await;
    let again = verify_id_token(&app, &client, &r.str("id_token")).await;
    assert_eq!(again["sub"], dev.company_id.as_str());
    // Client credentials: no ID token, no refresh extras; openid is refused.
    let cc = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert!(cc.body.get("id_token").is_none());
    assert!(cc.body.get("geolocation").is_none());
    token(
        &app,
        &client,
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

async fn discovery_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    let get = |path: &'static str| {
        let app = &app;
        async move {
            let r = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let op = get("/.well-known/openid-configuration").await;
    let rfc8414 = get("/.well-known/oauth-authorization-server").await;
    // OpenID Connect Discovery §3: the required members, and the defaults that would mislead.
    for member in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "userinfo_endpoint",
        "scopes_supported",
        "claims_supported",
    ] {
        assert!(op.get(member).is_some(), "{member} missing: {op}");
    }
    assert_eq!(op["issuer"], app.base.as_str());
    assert_eq!(rfc8414["issuer"], op["issuer"]);
    assert!(
        op["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("RS256"))
    );
    assert_eq!(op["subject_types_supported"], json!(["public"]));
    assert_eq!(op["request_uri_parameter_supported"], false);
    assert_eq!(
        op["grant_types_supported"],
        rfc8414["grant_types_supported"]
    );
    assert_eq!(op["response_modes_supported"], json!(["query"]));
    assert_eq!(op["userinfo_endpoint"], app.url("/oauth2/v0/userinfo"));
    let scopes = op["scopes_supported"].as_array().unwrap();
    for s in ["openid", "profile", "email", "expense.report.read"] {
        assert!(scopes.contains(&json!(s)), "{s}");
    }
    // No member is an empty array (Discovery §4.2).
    for (k, v) in op.as_object().unwrap() {
        assert!(v.as_array().is_none_or(|a| !a.is_empty()), "{k} is empty");
    }
    // RFC 8414: its own members, without the OpenID Provider's.
    assert!(rfc8414.get("subject_types_supported").is_none());
    assert!(rfc8414["access_token_signing_alg_values_supported"].is_array());
    assert_eq!(rfc8414["code_challenge_methods_supported"], json!(["S256"]));
}

/// The error of an authorization error redirect, which must carry `state` and `iss`.
fn redirected_error(resp: &reqwest::Response, app: &TestApp) -> String {
    let to = redirect_target(resp);
    assert!(
        to.as_str().starts_with("https://app.example/callback"),
        "{to}"
    );
    assert_eq!(query(&to, "state").as_deref(), Some("xyz-state"));
    assert_eq!(query(&to, "iss").as_deref(), Some(app.base.as_str()));
    query(&to, "error").unwrap_or_default()
}

async fn prompt_and_max_age(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Prompt App", &["authorization_code"]).await;
    let (_, challenge) = pkce();
    let base = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "openid"),
    ];
    let url = |extra: &[(&str, &str)]| {
        let mut q = base.to_vec();
        q.extend_from_slice(extra);
        authorize_url(&app, &client, &q)
    };
    let anonymous = |u: String| {
        let app = &app;
        async move { app.client.get(u).send().await.unwrap() }
    };
    // prompt=none: an error instead of any page.
    let r = anonymous(url(&[("prompt", "none")])).await;
    assert_eq!(redirected_error(&r, &app), "login_required");
    let r = browse(&app, &dev, &url(&[("prompt", "none")])).await;
    assert_eq!(redirected_error(&r, &app), "consent_required");
    // Bad values: invalid_request, by redirect (the client and redirect URI are good).
    let long_nonce = "n".repeat(600);
    for extra in [
        vec![("prompt", "sometimes")],
        vec![("prompt", "none consent")],
        vec![("max_age", "soon")],
        vec![("max_age", "-1")],
        vec![("nonce", long_nonce.as_str())],
    ] {
        let r = browse(&app, &dev, &url(&extra)).await;
        assert_eq!(redirected_error(&r, &app), "invalid_request", "{extra:?}");
    }
    // prompt=login with a live session: the sign-in page again, coming back without it.
    let r = browse(&app, &dev, &url(&[("prompt", "login")])).await;
    let to = redirect_target(&r);
    assert_eq!(to.path(), "/admin/sign-in");
    assert_eq!(query(&to, "again").as_deref(), Some("1"));
    let next = query(&to, "next").unwrap();
    assert!(!next.contains("prompt"), "{next}");
    let page = browse(&app, &dev, to.as_str()).await;
    assert_eq!(page.status(), StatusCode::OK, "the form, not straight on");
    assert!(page.text().await.unwrap().contains("sign in again"));
    // max_age=0 is prompt=login; a large max_age lets the session through to consent.
    let r = browse(&app, &dev, &url(&[("max_age", "0")])).await;
    assert_eq!(redirect_target(&r).path(), "/admin/sign-in");
    let r = browse(&app, &dev, &url(&[("max_age", "86400")])).await;
    assert_eq!(r.status(), StatusCode::OK, "consent page");
    // The authorization request by POST (OIDC Core §3.1.2.1): the same consent page.
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", "https://app.example/callback"),
        ("state", "xyz-state"),
    ];
    form.extend_from_slice(&base);
    let posted = app
        .client
        .post(app.url("/oauth2/v0/authorize"))
        .header("cookie", format!("portico_session={}", dev.token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    assert!(posted.text().await.unwrap().contains("Sign you in"));
}

async fn resource_indicators(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(
        &app,
        &dev,
        "Resource App",
        &["authorization_code", "refresh_token", "client_credentials"],
    )
    .await;
    let expense = "urn:portico:api:expense.report.read";
    let travel = "urn:portico:api:travel.profile.read";
    // Client credentials: the audience is the resource, the scopes are the ones it serves.
    let a = token(
        &app,
        &client,
        &[("grant_type", "client_credentials"), ("resource", travel)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["scope"],
        "travel.profile.passport travel.profile.read"
    );
    assert_eq!(
        verify_jwt(&app, &a.str("access_token")).await["aud"],
        travel
    );
    // Unknown, relative, fragment, a mix of valid and invalid, a scope the resource does not
    // serve: 400 invalid_target, never a token or a 500.
    for bad in [
        vec![("resource", "https://unknown.example/api")],
        vec![("resource", "/expense")],
        vec![("resource", "urn:portico:api:expense.report.read#frag")],
        vec![("resource", travel), ("resource", "relative/path")],
        vec![("resource", travel), ("scope", "expense.report.read")],
    ] {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(&bad);
        token(&app, &client, &form)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_target");
    }

    // The code flow: resources asked at the authorization endpoint bind the grant.
    let (code, verifier, _) = code_with(
        &app,
        &dev,
        &client,
        &[("resource", expense), ("resource", travel)],
    )
    .await;
    let a = token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example/callback"),
            ("code_verifier", &verifier),
            ("resource", expense),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["scope"], "expense.report.read");
    assert_eq!(
        verify_jwt(&app, &a.str("access_token")).await["aud"],
        expense
    );
    // A refresh may narrow to one of the grant's resources, or take them all; never another.
    let refresh = |rt: String, resource: Option<&'static str>| {
        let app = &app;
        let client = &client;
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ];
            if let Some(r) = resource {
                form.push(("resource", r));
            }
            token(app, client, &form).await
        }
    };
    let r = refresh(a.str("refresh_token"), Some("urn:portico:api")).await;
    r.expect_error(StatusCode::BAD_REQUEST, "invalid_target");
    let r = refresh(a.str("refresh_token"), Some(travel)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        verify_jwt(&app, &r.str("access_token")).await["aud"],
        travel
    );
    let r = refresh(r.str("refresh_token"), None).await;
    assert_eq!(
        verify_jwt(&app, &r.str("access_token")).await["aud"],
        json!([expense, travel])
    );
    // A bad resource at the authorization endpoint: an invalid_target redirect.
    let (_, challenge) = pkce();
    let r = browse(
        &app,
        &dev,
        &authorize_url(
            &app,
            &client,
            &[
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("resource", expense),
                ("resource", "https://nowhere.example/"),
            ],
        ),
    )
    .await;
    assert_eq!(redirected_error(&r, &app), "invalid_target");
}

async fn resource_servers_get_their_own_audience(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let staff = app.staff().await;
    let client = register(&app, &dev, "Calling App", &["client_credentials"]).await;
    let rs = register(&app, &dev, "Partner Expense API", &["client_credentials"]).await;
    let platform = register(&app, &dev, "Platform API", &["client_credentials"]).await;
    let uri = "https://partner-api.example/expense";
    let mark = |id: String, body: Value| {
        let app = &app;
        let staff = &staff;
        async move {
            app.put(staff, &format!("/apps/{id}/resource-server"), body)
                .await
        }
    };
    // The admin API checks the resource URI and names the field.
    for (body, status) in [
        (
            json!({ "resource_server": true, "resource_uri": "/relative" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "resource_server": true, "resource_uri": "https://x.example/#f" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "resource_server": true, "resource_uri": "urn:portico:api:expense.report.read" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "resource_server": false, "resource_uri": uri }),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, b) = mark(rs.id.clone(), body.clone()).await;
        assert_eq!(s, status, "{body}: {b}");
        assert_eq!(b["field"], "resource_uri", "{b}");
    }
    let (s, b) = mark(
        rs.id.clone(),
        json!({ "resource_server": true, "resource_uri": uri }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["resource_uri"], uri);
    // Unique among apps.
    let (s, b) = mark(
        platform.id.clone(),
        json!({ "resource_server": true, "resource_uri": uri }),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, _) = mark(platform.id.clone(), json!({ "resource_server": true })).await;
    assert_eq!(s, StatusCode::OK);

    // A token for the partner's resource: its URI as audience, the scopes both registered.
    let a = token(
        &app,
        &client,
        &[("grant_type", "client_credentials"), ("resource", uri)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let for_rs = a.str("access_token");
    assert_eq!(verify_jwt(&app, &for_rs).await["aud"], uri);
    let default = token(&app, &client, &[("grant_type", "client_credentials")])
        .await
        .str("access_token");
    // Introspection checks the audience: each resource server sees the tokens for it.
    assert!(is_active(&app, &rs, &for_rs).await);
    assert!(
        !is_active(&app, &rs, &default).await,
        "not for this resource"
    );
    assert!(is_active(&app, &platform, &default).await);
    assert!(
        !is_active(&app, &platform, &for_rs).await,
        "another resource's token"
    );
    assert!(is_active(&app, &client, &for_rs).await, "its own token");
    let seen = introspect(&app, &rs, &for_rs).await;
    assert_eq!(seen["aud"], uri);
    // portico-verify, configured with the partner's resource as audience, agrees.
    let verifier = portico_verify::Verifier::builder(&app.base)
        .audience(uri)
        .build()
        .await
        .unwrap();
    assert!(verifier.verify(&for_rs).await.is_ok());
    assert!(verifier.verify(&default).await.is_err());
    // Unmarked: its resource is unknown again, at once.
    let (s, b) = mark(rs.id.clone(), json!({ "resource_server": false })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.get("resource_uri").is_none());
    token(
        &app,
        &client,
        &[("grant_type", "client_credentials"), ("resource", uri)],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_target");
}

async fn an_app_chooses_its_id_token_algorithm(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let mut body = crate::helpers::expense_app("Fast Company Sync");
    body["grant_types"] = json!(["company_request_token", "refresh_token"]);
    body["id_token_signed_response_alg"] = json!("HS256");
    let (status, refused) = app.post(&dev, "/apps", body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(
        refused["field"], "id_token_signed_response_alg",
        "{refused}"
    );
    body["id_token_signed_response_alg"] = json!("EdDSA");
    let reg = app.register_app(&dev, body).await;
    assert_eq!(reg["app"]["id_token_signed_response_alg"], "EdDSA", "{reg}");
    let client = AppCredentials {
        id: reg["client_id"].as_str().unwrap().to_owned(),
        secret: reg["client_secret"].as_str().unwrap().to_owned(),
    };
    let rt = request_token(&app, &dev, &client).await;
    let a = company_token(&app, &client, &dev.company_id, &rt).await;
    let id_token = a.str("id_token");
    assert_eq!(
        jsonwebtoken::decode_header(&id_token).unwrap().alg,
        jsonwebtoken::Algorithm::EdDSA
    );
    let id = verify_id_token(&app, &client, &id_token).await;
    // at_hash for Ed25519: the left half of SHA-512 (OpenID's token hash guide).
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, a.str("access_token").as_bytes());
    assert_eq!(id["at_hash"], URL_SAFE_NO_PAD.encode(&d.as_ref()[..32]));
    // Discovery names every algorithm an app may choose, RS256 among them.
    let op: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        op["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
}
