//! The token service over HTTP: every grant's success path and what must be refused.

use crate::both_backends;
use crate::helpers::{Backend, Session, TestApp, spawn_app, spawn_app_with};
use crate::oauth_helpers::*;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    a_disabled_owner_company_stops_its_apps,
    client_credentials,
    client_authentication_failures,
    new_secret_cuts_off_the_old_secret,
    authorization_code_with_pkce,
    authorization_errors,
    enablement_is_checked_everywhere,
    refresh_rotation_and_reuse,
    company_request_tokens,
    password_grant_only_when_allowed,
    disabling_takes_effect_at_once,
    introspection_and_revocation,
    connections_are_revoked,
    malformed_requests,
    upper_case_client_ids_name_no_client,
);

const ALL_GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "company_request_token",
];

/// A public app of the developer company, approved, with a second company's admin and user.
struct World {
    app: TestApp,
    dev: Session,
    client: AppCredentials,
}

async fn world(backend: Backend, grants: &[&str]) -> World {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Expense Sync", grants).await;
    World { app, dev, client }
}

async fn client_credentials(backend: Backend) {
    let World { app, client, .. } = world(backend, ALL_GRANTS).await;
    let a = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.body["token_type"], "Bearer");
    assert_eq!(a.body["expires_in"], 3600);
    assert!(a.body.get("refresh_token").is_none());
    assert_eq!(
        a.body["scope"],
        "expense.report.read travel.profile.passport travel.profile.read"
    );
    let claims = verify_jwt(&app, &a.str("access_token")).await;
    assert_eq!(claims["principal_type"], "app");
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert!(claims.get("company_id").is_none());
    assert_eq!(
        claims["sensitive_data_groups"],
        json!(["travel.profile.passport"])
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );

    // client_secret_post works too; narrowing asks for less.
    let a = post_form(
        &app,
        "/oauth2/v0/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("scope", "expense.report.read"),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["scope"], "expense.report.read");

    // Scope rules: registered only, groups with their API; each refusal names the scope.
    for (scope, named) in [
        ("expense.report.read user.read", "'user.read'"),
        (
            "travel.profile.medical travel.profile.read",
            "travel.profile.medical",
        ),
        ("travel.profile.passport", "together with its API"),
    ] {
        let a = token(
            &app,
            &client,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        a.expect_error(StatusCode::BAD_REQUEST, "invalid_scope");
        assert!(
            a.description().contains(named),
            "{scope}: {}",
            a.description()
        );
    }
}

async fn client_authentication_failures(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let wrong = AppCredentials {
        secret: "not-the-secret".into(),
        ..client.clone()
    };
    let unknown = AppCredentials {
        id: uuid::Uuid::new_v4().to_string(),
        ..client.clone()
    };
    let a = token(&app, &wrong, &[("grant_type", "client_credentials")]).await;
    a.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(
        a.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let b = token(&app, &unknown, &[("grant_type", "client_credentials")]).await;
    b.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        a.body, b.body,
        "unknown client and wrong secret look the same"
    );
    // Body credentials: 401 without a Basic challenge.
    let c = post_form(
        &app,
        "/oauth2/v0/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", "nope"),
        ],
    )
    .await;
    c.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(c.headers.get("www-authenticate").is_none());
    // No credentials at all.
    post_form(
        &app,
        "/oauth2/v0/token",
        None,
        &[("grant_type", "client_credentials")],
    )
    .await
    .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // Both methods at once.
    post_form(
        &app,
        "/oauth2/v0/token",
        Some(&client),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &client.secret),
        ],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Grant types: unknown, and not registered for the app.
    token(
        &app,
        &client,
        &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let code_only = register(&app, &dev, "Code Only", &["authorization_code"]).await;
    let a = token(&app, &code_only, &[("grant_type", "client_credentials")]).await;
    a.expect_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    // An inactive app cannot authenticate.
    app.patch(
        &dev,
        &format!("/apps/{}", client.id),
        json!({ "active": false }),
    )
    .await;
    let a = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    a.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(a.description(), "application is not active");
}

async fn new_secret_cuts_off_the_old_secret(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    // Verified once, so the old secret sits in the verification cache...
    for _ in 0..2 {
        assert_eq!(
            token(&app, &client, &[("grant_type", "client_credentials")])
                .await
                .status,
            StatusCode::OK
        );
    }
    let (_, renewed) = app
        .post(&dev, &format!("/apps/{}/secret", client.id), json!({}))
        .await;
    let fresh = AppCredentials {
        secret: renewed["client_secret"].as_str().unwrap().into(),
        ..client.clone()
    };
    // ...and still fails the moment the New Secret is made.
    token(&app, &client, &[("grant_type", "client_credentials")])
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        token(&app, &fresh, &[("grant_type", "client_credentials")])
            .await
            .status,
        StatusCode::OK
    );

    // With a grace period the previous secret works until it ends.
    let (_, graced) = app
        .post(
            &dev,
            &format!("/apps/{}/secret", client.id),
            json!({ "grace_seconds": 2 }),
        )
        .await;
    let newest = AppCredentials {
        secret: graced["client_secret"].as_str().unwrap().into(),
        ..client.clone()
    };
    assert_eq!(
        token(&app, &fresh, &[("grant_type", "client_credentials")])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        token(&app, &newest, &[("grant_type", "client_credentials")])
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    token(&app, &fresh, &[("grant_type", "client_credentials")])
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        token(&app, &newest, &[("grant_type", "client_credentials")])
            .await
            .status,
        StatusCode::OK
    );
}

async fn authorization_code_with_pkce(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let user = app.user_of(&dev, "traveler@sandbox.portico.test").await;
    let (code, verifier) = authorization_code(
        &app,
        &user,
        &client,
        Some("travel.profile.read travel.profile.passport"),
    )
    .await;
    let a = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["scope"],
        "travel.profile.passport travel.profile.read"
    );
    let claims = verify_jwt(&app, &a.str("access_token")).await;
    assert_eq!(claims["principal_type"], "user");
    assert_eq!(claims["sub"], user.user_id.as_str());
    assert_eq!(claims["company_id"], user.company_id.as_str());
    assert!(claims["sid"].is_string());
    let refresh = a.str("refresh_token");

    // A second use of the code fails and revokes what the first one produced.
    exchange(&app, &client, &code, &verifier)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(!is_active(&app, &client, &a.str("access_token")).await);
    let r = token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    r.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // PKCE: the wrong verifier fails, and burns the code.
    let (code, _) = authorization_code(&app, &user, &client, None).await;
    let (other_verifier, _) = pkce();
    let a = exchange(&app, &client, &code, &other_verifier).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(a.description().contains("PKCE"), "{}", a.description());
    // No verifier at all.
    let (code, _) = authorization_code(&app, &user, &client, None).await;
    token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example/callback"),
        ],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    // A code belongs to the client it was issued to.
    let other = register(&app, &dev, "Other App", ALL_GRANTS).await;
    let (code, verifier) = authorization_code(&app, &user, &client, None).await;
    exchange(&app, &other, &code, &verifier)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // redirect_uri must be the one used in the request.
    let (code, verifier) = authorization_code(&app, &user, &client, None).await;
    token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example/other"),
            ("code_verifier", &verifier),
        ],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

async fn authorization_errors(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let user = app.user_of(&dev, "clerk@sandbox.portico.test").await;
    let (_, challenge) = pkce();
    let with_pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    // Not signed in: to the sign-in page, which brings the user back.
    let resp = app
        .client
        .get(authorize_url(&app, &client, &with_pkce))
        .send()
        .await
        .unwrap();
    let to = redirect_target(&resp);
    assert_eq!(to.path(), "/admin/sign-in");
    assert!(
        query(&to, "next")
            .unwrap()
            .starts_with("/oauth2/v0/authorize?")
    );

    // An unregistered redirect URI or an unknown client: an error page, never a redirect.
    let bad_redirect = authorize_url(&app, &client, &with_pkce).replace("callback", "elsewhere");
    let resp = browse(&app, &user, &bad_redirect).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("redirect_uri is not registered")
    );
    let unknown = authorize_url(
        &app,
        &AppCredentials {
            id: uuid::Uuid::new_v4().to_string(),
            secret: String::new(),
        },
        &with_pkce,
    );
    assert_eq!(
        browse(&app, &user, &unknown).await.status(),
        StatusCode::BAD_REQUEST
    );

    // Errors the client can be told about go back to it, with state.
    let resp = browse(&app, &user, &authorize_url(&app, &client, &[])).await;
    let to = redirect_target(&resp);
    assert_eq!(query(&to, "error").as_deref(), Some("invalid_request"));
    assert!(query(&to, "error_description").unwrap().contains("PKCE"));
    assert_eq!(query(&to, "state").as_deref(), Some("xyz-state"));
    let plain = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "plain"),
    ];
    let to = redirect_target(&browse(&app, &user, &authorize_url(&app, &client, &plain)).await);
    assert_eq!(query(&to, "error").as_deref(), Some("invalid_request"));
    let mut scoped = with_pkce.to_vec();
    scoped.push(("scope", "user.read"));
    let to = redirect_target(&browse(&app, &user, &authorize_url(&app, &client, &scoped)).await);
    assert_eq!(query(&to, "error").as_deref(), Some("invalid_scope"));
    assert!(
        query(&to, "error_description")
            .unwrap()
            .contains("user.read")
    );
    let token_type = authorize_url(&app, &client, &with_pkce)
        .replace("response_type=code", "response_type=token");
    let to = redirect_target(&browse(&app, &user, &token_type).await);
    assert_eq!(
        query(&to, "error").as_deref(),
        Some("unsupported_response_type")
    );

    // The user denies.
    let to = consent(
        &app,
        &user,
        &authorize_url(&app, &client, &with_pkce),
        "deny",
    )
    .await;
    assert_eq!(query(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&to, "state").as_deref(), Some("xyz-state"));
    assert!(query(&to, "code").is_none());

    // The consent form needs the session's CSRF token.
    let html = browse(&app, &user, &authorize_url(&app, &client, &with_pkce))
        .await
        .text()
        .await
        .unwrap();
    let mut form: Vec<(String, String)> = hidden_inputs(&html)
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    form.push(("decision".into(), "allow".into()));
    let resp = app
        .client
        .post(app.url("/oauth2/v0/authorize"))
        .header("cookie", format!("portico_session={}", user.token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // The page is protected: CSP without inline script, no framing; user text escaped.
    app.patch(
        &dev,
        &format!("/apps/{}", client.id),
        json!({ "name": "<script>alert(1)</script>" }),
    )
    .await;
    let resp = browse(&app, &user, &authorize_url(&app, &client, &with_pkce)).await;
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)") && !html.contains("<script>alert(1)"));
}

async fn enablement_is_checked_everywhere(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    // Other companies use the production registration, never the sandbox Key.
    let client = certify(&app, &dev, &client, "public").await;
    let globex = app
        .company_with_admin("Globex", "professional", false)
        .await;
    let employee = app.user_of(&globex, "employee@globex.example").await;
    let (_, challenge) = pkce();
    let url = authorize_url(
        &app,
        &client,
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    );

    // Public but not enabled by Globex: refused at the authorization page...
    let to = redirect_target(&browse(&app, &employee, &url).await);
    assert_eq!(
        query(&to, "error").as_deref(),
        Some("access_denied"),
        "{to}"
    );
    assert_eq!(
        query(&to, "error_description").as_deref(),
        Some("application is not enabled for this company"),
        "{to}"
    );
    // ...and no request token can be made for it.
    let (status, e) = app
        .post(
            &globex,
            &format!("/companies/{}/request-tokens", globex.company_id),
            json!({ "app_id": client.id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["message"], "application is not enabled for this company");

    // Enabled: the same user gets a code and tokens.
    app.put(
        &globex,
        &format!("/companies/{}/enablements/{}", globex.company_id, client.id),
        json!({ "enabled": true }),
    )
    .await;
    let (code, verifier) = authorization_code(&app, &employee, &client, None).await;
    let a = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let claims = verify_jwt(&app, &a.str("access_token")).await;
    assert_eq!(claims["company_id"], globex.company_id.as_str());
    let rt = request_token(&app, &globex, &client).await;
    assert_eq!(
        company_token(&app, &client, &globex.company_id, &rt)
            .await
            .status,
        StatusCode::OK
    );

    // A code issued before Globex disabled the app cannot be exchanged after.
    let (code, verifier) = authorization_code(&app, &employee, &client, None).await;
    app.put(
        &globex,
        &format!("/companies/{}/enablements/{}", globex.company_id, client.id),
        json!({ "enabled": false }),
    )
    .await;
    let a = exchange(&app, &client, &code, &verifier).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        a.description(),
        "application is not enabled for this company"
    );
    let a = company_token(&app, &client, &globex.company_id, &rt).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        a.description(),
        "application is not enabled for this company"
    );
}

async fn refresh_rotation_and_reuse(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let rt = request_token(&app, &dev, &client).await;
    let first = company_token(&app, &client, &dev.company_id, &rt).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let r1 = first.str("refresh_token");

    // Rotation: a new refresh token each time; narrowing allowed, widening refused.
    let second = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("scope", "expense.report.read"),
        ],
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body["scope"], "expense.report.read");
    let r2 = second.str("refresh_token");
    assert_ne!(r1, r2);
    let claims = verify_jwt(&app, &second.str("access_token")).await;
    assert_eq!(claims["principal_type"], "company");
    assert_eq!(claims["sub"], dev.company_id.as_str());
    // The refresh token keeps the grant's full scope (RFC 6749 §6).
    let third = token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.body);
    assert_eq!(third.body["scope"], first.body["scope"]);
    let r3 = third.str("refresh_token");
    let a = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r3),
            ("scope", "user.read"),
        ],
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_scope");

    // Another client cannot use it.
    let other = register(&app, &dev, "Other", ALL_GRANTS).await;
    token(
        &app,
        &other,
        &[("grant_type", "refresh_token"), ("refresh_token", &r3)],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Reuse of an already-rotated token revokes the whole family, the newest token included.
    let a = token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        a.description().contains("already used"),
        "{}",
        a.description()
    );
    token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r3)],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(!is_active(&app, &client, &third.str("access_token")).await);
    // A token never issued.
    token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "made-up"),
        ],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

async fn company_request_tokens(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("PORTICO_TOKENS_REQUEST_TOKEN_TTL_SECONDS", "2")],
    )
    .await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Company App", ALL_GRANTS).await;
    let other = register(&app, &dev, "Other App", ALL_GRANTS).await;
    let rt = request_token(&app, &dev, &client).await;
    // Usable more than once within its lifetime.
    for _ in 0..2 {
        let a = company_token(&app, &client, &dev.company_id, &rt).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.body["refresh_token"].is_string());
    }
    // Bound to its app and its company.
    let a = company_token(&app, &other, &dev.company_id, &rt).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        a.description(),
        "request token was not issued for this application"
    );
    let a = company_token(
        &app,
        &client,
        &app.developer_company_id
            .replace(|c: char| c.is_ascii_digit(), "0"),
        &rt,
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    company_token(&app, &client, "not-a-company", &rt)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    company_token(&app, &client, &dev.company_id, "forged")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Expired.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let a = company_token(&app, &client, &dev.company_id, &rt).await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(a.description(), "request token expired");
    // Only the company's own web services admin generates them.
    let clerk = app.user_of(&dev, "clerk@sandbox.portico.test").await;
    let (status, _) = app
        .post(
            &clerk,
            &format!("/companies/{}/request-tokens", dev.company_id),
            json!({ "app_id": client.id }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let globex = app.company_with_admin("Globex", "standard", false).await;
    let (status, _) = app
        .post(
            &globex,
            &format!("/companies/{}/request-tokens", dev.company_id),
            json!({ "app_id": client.id }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Never in the audit log.
    let (_, log) = app.get(&dev, "/audit").await;
    assert!(log.to_string().contains("request_token.create") && !log.to_string().contains(&rt));
}

async fn password_grant_only_when_allowed(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let _user = app.user_of(&dev, "pw@sandbox.portico.test").await;
    let form = [
        ("grant_type", "password"),
        ("username", "pw@sandbox.portico.test"),
        ("password", "a long enough password"),
    ];
    token(&app, &client, &form)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    let allowed = register(&app, &dev, "Legacy App", &["password", "refresh_token"]).await;
    let a = token(&app, &allowed, &form).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        verify_jwt(&app, &a.str("access_token")).await["principal_type"],
        "user"
    );
    let a = token(
        &app,
        &allowed,
        &[
            ("grant_type", "password"),
            ("username", "pw@sandbox.portico.test"),
            ("password", "wrong password here"),
        ],
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    token(
        &app,
        &allowed,
        &[
            ("grant_type", "password"),
            ("credtype", "magic"),
            ("username", "x"),
            ("password", "y"),
        ],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
}

async fn disabling_takes_effect_at_once(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let user = app.user_of(&dev, "emp@sandbox.portico.test").await;
    let rt = request_token(&app, &dev, &client).await;
    let company = company_token(&app, &client, &dev.company_id, &rt).await;
    let (code, verifier) = authorization_code(&app, &user, &client, None).await;
    let personal = exchange(&app, &client, &code, &verifier).await;
    let (company_at, personal_at) = (company.str("access_token"), personal.str("access_token"));
    assert!(
        is_active(&app, &client, &company_at).await && is_active(&app, &client, &personal_at).await
    );

    // The company disables the app: refresh fails, access tokens introspect inactive.
    let path = format!("/companies/{}/enablements/{}", dev.company_id, client.id);
    app.put(&dev, &path, json!({ "enabled": false })).await;
    assert!(!is_active(&app, &client, &company_at).await);
    assert!(!is_active(&app, &client, &personal_at).await);
    let a = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &company.str("refresh_token")),
        ],
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        a.description(),
        "application is not enabled for this company"
    );
    // Enabled again: the grant was suspended, not destroyed.
    app.put(&dev, &path, json!({ "enabled": true })).await;
    assert!(is_active(&app, &client, &company_at).await);

    // Disabling the user ends the user's tokens, not the company's.
    app.patch(
        &dev,
        &format!("/users/{}", user.user_id),
        json!({ "enabled": false }),
    )
    .await;
    assert!(!is_active(&app, &client, &personal_at).await);
    let a = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &personal.str("refresh_token")),
        ],
    )
    .await;
    assert_eq!(a.description(), "user is disabled");
    assert!(is_active(&app, &client, &company_at).await);

    // Deactivating the app: its tokens are inactive and it cannot authenticate.
    app.patch(
        &dev,
        &format!("/apps/{}", client.id),
        json!({ "active": false }),
    )
    .await;
    let resource = register(&app, &dev, "Resource Server", &["client_credentials"]).await;
    let staff = app.staff().await;
    app.put(
        &staff,
        &format!("/apps/{}/resource-server", resource.id),
        json!({ "resource_server": true }),
    )
    .await;
    assert!(!is_active(&app, &resource, &company_at).await);

    // Staff disable the company.
    app.patch(
        &dev,
        &format!("/apps/{}", client.id),
        json!({ "active": true }),
    )
    .await;
    assert!(is_active(&app, &resource, &company_at).await);
    app.patch(
        &staff,
        &format!("/companies/{}", dev.company_id),
        json!({ "enabled": false }),
    )
    .await;
    assert!(!is_active(&app, &resource, &company_at).await);
}

async fn introspection_and_revocation(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let other = register(&app, &dev, "Other App", ALL_GRANTS).await;
    let resource = register(&app, &dev, "Expense API", &["client_credentials"]).await;
    let staff = app.staff().await;
    app.put(
        &staff,
        &format!("/apps/{}/resource-server", resource.id),
        json!({ "resource_server": true }),
    )
    .await;
    let rt = request_token(&app, &dev, &client).await;
    let issued = company_token(&app, &client, &dev.company_id, &rt).await;
    let (at, refresh) = (issued.str("access_token"), issued.str("refresh_token"));

    let seen = introspect(&app, &client, &at).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["client_id"], client.id.as_str());
    assert_eq!(seen["company_id"], dev.company_id.as_str());
    assert_eq!(seen["principal_type"], "company");
    assert_eq!(seen["scope"], issued.body["scope"]);
    assert!(seen["exp"].is_i64());
    // Another app sees nothing; a resource server sees everything.
    assert_eq!(
        introspect(&app, &other, &at).await,
        json!({ "active": false })
    );
    assert_eq!(introspect(&app, &resource, &at).await["active"], true);
    // Refresh tokens introspect too.
    let r = introspect(&app, &client, &refresh).await;
    assert_eq!(
        (r["active"].clone(), r["token_type"].clone()),
        (json!(true), json!("refresh_token"))
    );
    // Forged, tampered, unknown: a bare inactive answer.
    let mut tampered = at.clone();
    tampered.replace_range(tampered.len() - 5.., "AAAAA");
    for t in [
        tampered.as_str(),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "unknown-token",
    ] {
        assert_eq!(
            introspect(&app, &resource, t).await,
            json!({ "active": false }),
            "{t}"
        );
    }
    // Introspection needs client authentication.
    post_form(&app, "/oauth2/v0/introspect", None, &[("token", &at)])
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // Revoking the access token: inactive at once; the refresh token still works.
    let a = post_form(
        &app,
        "/oauth2/v0/revoke",
        Some(&client),
        &[("token", &at), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!is_active(&app, &resource, &at).await);
    let refreshed = token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    // Another client's revocation of it does nothing.
    let at2 = refreshed.str("access_token");
    assert_eq!(
        post_form(&app, "/oauth2/v0/revoke", Some(&other), &[("token", &at2)])
            .await
            .status,
        StatusCode::OK
    );
    assert!(is_active(&app, &resource, &at2).await);
    // Revoking the refresh token ends the family: its access tokens and refresh tokens.
    let r2 = refreshed.str("refresh_token");
    assert_eq!(
        post_form(&app, "/oauth2/v0/revoke", Some(&client), &[("token", &r2)])
            .await
            .status,
        StatusCode::OK
    );
    assert!(!is_active(&app, &resource, &at2).await);
    token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Unknown tokens: 200 as well.
    assert_eq!(
        post_form(
            &app,
            "/oauth2/v0/revoke",
            Some(&client),
            &[("token", "nothing-like-it")]
        )
        .await
        .status,
        StatusCode::OK
    );
    post_form(&app, "/oauth2/v0/revoke", Some(&client), &[])
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
}

async fn connections_are_revoked(backend: Backend) {
    let World { app, dev, client } = world(backend, ALL_GRANTS).await;
    let user = app.user_of(&dev, "leaver@sandbox.portico.test").await;
    let (c1, v1) = authorization_code(&app, &user, &client, None).await;
    let first = exchange(&app, &client, &c1, &v1).await;
    let (c2, v2) = authorization_code(&app, &user, &client, None).await;
    let second = exchange(&app, &client, &c2, &v2).await;
    let resp = app
        .client
        .delete(app.url("/app-mgmt/v0/connections"))
        .bearer_auth(second.str("access_token"))
        .send()
        .await
        .unwrap();
    let a = answer(resp).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["revoked_grants"], 2);
    for t in [first.str("access_token"), second.str("access_token")] {
        assert!(!is_active(&app, &client, &t).await);
    }
    token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first.str("refresh_token")),
        ],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The token used is revoked too: a second call is refused.
    let resp = app
        .client
        .delete(app.url("/app-mgmt/v0/connections"))
        .bearer_auth(second.str("access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let resp = app
        .client
        .delete(app.url("/app-mgmt/v0/connections"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn malformed_requests(backend: Backend) {
    let World { app, client, .. } = world(backend, ALL_GRANTS).await;
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/oauth2/v0/token"))
            .header("authorization", client.basic())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // GET on the token endpoint.
    let a = answer(
        app.client
            .get(app.url("/oauth2/v0/token?grant_type=client_credentials"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    a.expect_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(a.headers["allow"], "POST");
    // Duplicated parameters.
    let a = answer(
        raw(
            "grant_type=client_credentials&grant_type=client_credentials",
            "application/x-www-form-urlencoded",
        )
        .await
        .unwrap(),
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(a.description().contains("repeated"));
    // JSON instead of a form, nothing at all, no grant_type, bad encoding.
    answer(
        raw(
            "{\"grant_type\":\"client_credentials\"}",
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    answer(raw("", "application/x-www-form-urlencoded").await.unwrap())
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    answer(
        raw("scope=x", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    answer(
        raw("grant_type=%ZZ", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    // Parameters in the URI.
    let a = answer(
        app.client
            .post(app.url("/oauth2/v0/token?client_secret=x"))
            .header("authorization", client.basic())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap(),
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    // A body over the limit.
    let big = format!("grant_type=client_credentials&junk={}", "x".repeat(200_000));
    let a = answer(
        reqwest::Client::new()
            .post(app.url("/oauth2/v0/token"))
            .header("authorization", client.basic())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Garbage Basic credentials.
    let a = answer(
        app.client
            .post(app.url("/oauth2/v0/token"))
            .header("authorization", "Basic !!!")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap(),
    )
    .await;
    a.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // Every error body is RFC 6749 JSON; the server is still fine.
    assert_eq!(
        token(&app, &client, &[("grant_type", "client_credentials")])
            .await
            .status,
        StatusCode::OK
    );
}

/// A Key is matched exactly as issued (lower case), at every endpoint and for every grant
/// (docs/tokens.md): an upper-case Key works nowhere.
async fn upper_case_client_ids_name_no_client(backend: Backend) {
    let w = world(backend, ALL_GRANTS).await;
    let upper = AppCredentials {
        id: w.client.id.to_uppercase(),
        secret: w.client.secret.clone(),
    };
    for grant in ["client_credentials", "refresh_token", "authorization_code"] {
        let a = token(&w.app, &upper, &[("grant_type", grant)]).await;
        a.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let a = post_form(
        &w.app,
        "/oauth2/v0/introspect",
        Some(&upper),
        &[("token", "x")],
    )
    .await;
    a.expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let page = w
        .app
        .client
        .get(authorize_url(&w.app, &upper, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("unknown client_id"));
    // The Key as issued works.
    let ok = token(&w.app, &w.client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

/// Disabling the company that registered an app stops the app for everyone, its own
/// client-credentials tokens included, as deactivating the app does; enabling it again lets it
/// work again.
async fn a_disabled_owner_company_stops_its_apps(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let staff = app.staff().await;
    let client = register(&app, &dev, "Owner Test", &["client_credentials"]).await;
    let rs = register(&app, &dev, "Owner Test API", &["client_credentials"]).await;
    let (status, _) = app
        .put(
            &staff,
            &format!("/apps/{}/resource-server", rs.id),
            json!({ "resource_server": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cc = [("grant_type", "client_credentials")];
    let before = token(&app, &client, &cc).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    let at = before.str("access_token");
    let company = format!("/companies/{}", dev.company_id);
    let (status, body) = app
        .patch(&staff, &company, json!({ "enabled": false }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refused = token(&app, &client, &cc).await;
    refused.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        refused.description().contains("registered the application"),
        "{}",
        refused.body
    );
    assert!(!is_active(&app, &client, &at).await);
    let (status, _) = app
        .patch(&staff, &company, json!({ "enabled": true }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token(&app, &client, &cc).await.status, StatusCode::OK);
}
