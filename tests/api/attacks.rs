//! Portico tried as an attacker would (issue "fail closed under attack"): revocations that must
//! outlast any cap, bodies built to cost CPU, floods of junk and wrong credentials, lockouts
//! that must survive restarts and floods, and control bytes in every field. Each runs against
//! the real binary on SQLite and PostgreSQL; the limits that every node must share are also
//! checked across two nodes on one PostgreSQL database.

use crate::attacker::{
    BEHIND_PROXY, assert_retry_after, client_credentials_from, post_from, sign_in_from, wrong,
};
use crate::both_backends;
use crate::helpers::{Backend, Node, PORTICO, spawn_app_with};
use crate::oauth_helpers::{
    AppCredentials, Peer, company_token, introspect, is_active, post_form, register, request_token,
    token,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

// --- Revocations outlast any cap --------------------------------------------------------

async fn revocation_overflow(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("PORTICO_LIMITS_REVOCATION_CACHE_ENTRIES", "10"),
            BEHIND_PROXY,
        ],
    )
    .await;
    let dev = app.developer().await;
    let client = register(
        &app,
        &dev,
        "Overflow",
        &["company_request_token", "refresh_token"],
    )
    .await;
    let rt = request_token(&app, &dev, &client).await;
    let exchange = || async { company_token(&app, &client, &dev.company_id, &rt).await };
    let first = exchange().await;
    let second = exchange().await;
    let revoke = |t: String| {
        let client = client.clone();
        let app = &app;
        async move {
            let a = post_form(app, "/oauth2/v0/revoke", Some(&client), &[("token", &t)]).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        }
    };
    // The first revoked access token, and a revoked grant (through its refresh token).
    revoke(first.str("access_token")).await;
    revoke(second.str("refresh_token")).await;
    // Three times the cap of other revocations of each kind, as any client can make.
    for _ in 0..30 {
        let other = exchange().await;
        revoke(other.str("access_token")).await;
        revoke(other.str("refresh_token")).await;
    }
    let check = |target: &'static str| {
        let (app, client) = (&app, client.clone());
        let (a1, a2, r2, r1) = (
            first.str("access_token"),
            second.str("access_token"),
            second.str("refresh_token"),
            first.str("refresh_token"),
        );
        async move {
            assert!(!is_active(app, &client, &a1).await, "{target}: revoked jti");
            assert!(
                !is_active(app, &client, &a2).await,
                "{target}: revoked grant"
            );
            token(
                app,
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
            // What was never revoked still works.
            assert!(
                is_active(app, &client, &r1).await,
                "{target}: live refresh token"
            );
        }
    };
    check("the node that revoked").await;
    if backend == Backend::Postgres {
        // Another node, started after the revocations, on the same database and cap.
        let peer_node = Node::start(
            PORTICO,
            &app.database_url,
            &app.master_key,
            &[("PORTICO_LIMITS_REVOCATION_CACHE_ENTRIES", "10")],
        )
        .await;
        let peer = Peer {
            base: peer_node.base.clone(),
            client: reqwest::Client::new(),
        };
        assert!(!is_active(&peer, &client, &first.str("access_token")).await);
        assert!(!is_active(&peer, &client, &second.str("access_token")).await);
        token(
            &peer,
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &second.str("refresh_token")),
            ],
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

// --- Parsing is linear and bounded ------------------------------------------------------

async fn quadratic_body(backend: Backend) {
    let app = spawn_app_with(backend, &[BEHIND_PROXY]).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Bystander", &["client_credentials"]).await;
    token(&app, &client, &[("grant_type", "client_credentials")]).await;
    // 64 KB of distinct parameters.
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 64 * 1024 - 16 {
        body.push_str(&format!("p{i}=v&"));
        i += 1;
    }
    let body: &'static str = Box::leak(body.into_boxed_str());
    let bystander = |n: usize| {
        let (app, client) = (&app, client.clone());
        async move {
            let mut worst = Duration::ZERO;
            for _ in 0..n {
                let started = Instant::now();
                let a = token(app, &client, &[("grant_type", "client_credentials")]).await;
                assert_eq!(a.status, StatusCode::OK, "{}", a.body);
                worst = worst.max(started.elapsed());
            }
            worst
        }
    };
    let attacker = |n: usize| {
        let app = &app;
        async move {
            let mut worst = Duration::ZERO;
            for _ in 0..n {
                for path in [
                    "/oauth2/v0/token",
                    "/oauth2/v0/introspect",
                    "/admin/sign-in",
                ] {
                    let started = Instant::now();
                    let a = post_from(app, "192.0.2.66", path, None, body).await;
                    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.body);
                    worst = worst.max(started.elapsed());
                }
                // A URI is at most 64 KB on the wire; 16 KB of distinct parameters in the query.
                let started = Instant::now();
                let resp = app
                    .client
                    .get(format!(
                        "{}?{}",
                        app.url("/oauth2/v0/authorize"),
                        &body[..16 * 1024]
                    ))
                    .send()
                    .await
                    .expect("the authorize request is sent");
                assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
                worst = worst.max(started.elapsed());
            }
            worst
        }
    };
    let (b, a1, a2) = tokio::join!(bystander(40), attacker(10), attacker(10));
    // Each refusal is a few microseconds of parsing; these bounds leave room for a loaded CI
    // machine and a debug build, and would be blown many times over by a quadratic parser
    // (half a second of CPU per body before).
    assert!(
        a1.max(a2) < Duration::from_millis(250),
        "attack request took {a1:?} / {a2:?}"
    );
    assert!(
        b < Duration::from_millis(250),
        "a bystander's token took {b:?}"
    );
    let a = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(a.status, StatusCode::OK);
    let too_many = post_from(&app, "192.0.2.66", "/oauth2/v0/token", None, body).await;
    too_many.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        too_many.description().contains("too many parameters"),
        "{}",
        too_many.body
    );
    // A repeated parameter is refused even when a copy is empty.
    let repeated = post_from(
        &app,
        "192.0.2.66",
        "/oauth2/v0/token",
        Some(&client.basic()),
        "grant_type=client_credentials&scope=&scope=expense.report.read",
    )
    .await;
    repeated.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(repeated.description(), "parameter 'scope' is repeated");
}

// --- Failure budgets: 429 with Retry-After, shared by every node --------------------------

async fn client_failure_limits(backend: Backend) {
    let limits = [
        BEHIND_PROXY,
        ("PORTICO_LIMITS_CLIENT_FAILURES_BURST", "5"),
        ("PORTICO_LIMITS_CLIENT_FAILURES_PER_MINUTE", "1"),
    ];
    let app = spawn_app_with(backend, &limits).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Target", &["client_credentials"]).await;
    let junk = wrong(&client);
    let attacker = "198.51.100.1";
    for _ in 0..5 {
        client_credentials_from(&app, attacker, &junk)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let refused = client_credentials_from(&app, attacker, &junk).await;
    refused.expect_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable");
    assert_retry_after(&refused);
    assert_eq!(refused.headers["cache-control"], "no-store");
    // The attacker's own address is refused even with the right secret (it is the caller's
    // budget)...
    client_credentials_from(&app, attacker, &client)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable");
    // ...but a stranger cannot lock the partner out: the client is over budget, yet the
    // partner's right secret from its own address passes.
    let partner = "203.0.113.9";
    let ok = client_credentials_from(&app, partner, &client).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // Unknown client ids count against the source too, without argon2.
    let nobody = AppCredentials {
        id: uuid::Uuid::new_v4().to_string(),
        secret: "x".into(),
    };
    let junk_source = "198.51.100.2";
    for _ in 0..5 {
        client_credentials_from(&app, junk_source, &nobody)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    client_credentials_from(&app, junk_source, &nobody)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable");
    if backend == Backend::Postgres {
        // The other node enforces what this one counted, with nothing in its own memory.
        let node = Node::start(PORTICO, &app.database_url, &app.master_key, &limits).await;
        let peer = Peer {
            base: node.base.clone(),
            client: reqwest::Client::new(),
        };
        let refused = client_credentials_from(&peer, attacker, &junk).await;
        refused.expect_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable");
        assert_retry_after(&refused);
        let ok = client_credentials_from(&peer, partner, &client).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        // Failures counted on the peer count on the first node too.
        let fresh = "198.51.100.3";
        for _ in 0..5 {
            client_credentials_from(&peer, fresh, &junk).await;
        }
        client_credentials_from(&app, fresh, &junk)
            .await
            .expect_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable");
    }
}

async fn sign_in_lockout(backend: Backend) {
    let limits = [
        BEHIND_PROXY,
        ("PORTICO_LIMITS_SIGN_IN_FAILURES_BURST", "5"),
        ("PORTICO_LIMITS_SIGN_IN_FAILURES_PER_MINUTE", "1"),
    ];
    let mut app = spawn_app_with(backend, &limits).await;
    let login = app.developer.login_id.clone();
    let attacker = "198.51.100.20";
    for _ in 0..5 {
        let a = sign_in_from(&app, attacker, &login, "wrong password!!").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    let locked = sign_in_from(&app, attacker, &login, "wrong password!!").await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert_eq!(locked.body["error"], "too_many_attempts");
    assert_retry_after(&locked);

    // A 60 KB login id is refused as input, naming the field, and never stored.
    let long = "a".repeat(60_000);
    let a = sign_in_from(&app, "198.51.100.21", &long, "whatever").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert_eq!(a.body["field"], "login_id");

    // A flood of other ids from another source cannot reset the lock.
    for i in 0..60 {
        sign_in_from(&app, "198.51.100.22", &format!("nobody{i}@x.example"), "x").await;
    }
    let still = sign_in_from(&app, attacker, &login, "wrong password!!").await;
    assert_eq!(
        still.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        still.body
    );

    // A restart forgets nothing.
    let url = app.database_url.clone();
    let key = app.master_key.clone();
    let old = std::mem::replace(
        &mut app.node,
        Node::start(PORTICO, &url, &key, &limits).await,
    );
    old.stop().await;
    app.base = app.node.base.clone();
    let after = sign_in_from(&app, attacker, &login, &app.developer.password).await;
    assert_eq!(
        after.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        after.body
    );

    // The account is over budget too, but the right password from the user's own address
    // still signs in: a stranger cannot lock the user out.
    let ok = sign_in_from(&app, "203.0.113.50", &login, &app.developer.password).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // A wrong one for the over-budget account is answered 429, not 401.
    let slow = sign_in_from(&app, "203.0.113.51", &login, "wrong password!!").await;
    assert_eq!(slow.status, StatusCode::TOO_MANY_REQUESTS, "{}", slow.body);

    // Every key stored is short, whatever was sent.
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let longest = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(MAX(LENGTH(\"key\")) AS BIGINT) FROM failure_budgets",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert!(longest <= 80, "a stored key of {longest} characters");
}

// --- Control bytes in every field -----------------------------------------------------------

async fn control_bytes(backend: Backend) {
    let app = spawn_app_with(backend, &[BEHIND_PROXY]).await;
    let dev = app.developer().await;
    let staff = app.staff().await;
    let client = register(&app, &dev, "Controls", &["client_credentials", "password"]).await;

    // Admin API: sign-in, companies, users, apps. Each is a 400 naming the field.
    for bad in [
        "a\u{0}b@x.example",
        "a\u{7}b@x.example",
        "tab\tid@x.example",
    ] {
        let a = sign_in_from(&app, "192.0.2.90", bad, "password").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", a.body);
        assert_eq!(a.body["field"], "login_id", "{}", a.body);
    }
    let (status, body) = app
        .post(
            &staff,
            "/companies",
            json!({ "name": "Nul\u{0}Co", "domain": "nul.example", "edition": "standard",
                    "development_partner": false }),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name")),
        "{body}"
    );
    let (status, body) = app
        .post(
            &staff,
            &format!("/companies/{}/users", dev.company_id),
            json!({ "login_id": "x\u{0}y@x.example", "display_name": "X", "password": "correct horse battery",
                    "permissions": {} }),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("login_id")),
        "{body}"
    );
    let mut reg = crate::helpers::expense_app("Nul\u{0}App");
    let (status, body) = app.post(&dev, "/apps", reg.clone()).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name")),
        "{body}"
    );
    reg["name"] = json!("Fine name");
    reg["apis"] = json!([{ "api": "expense.report.read\u{0}" }]);
    let (status, body) = app.post(&dev, "/apps", reg).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["field"].as_str().unwrap().starts_with("apis"),
        "{body}"
    );

    // OAuth endpoints: every parameter, in the body and in the Basic header.
    let basic = client.basic();
    for (auth, body, name) in [
        (
            Some(basic.as_str()),
            "grant_type=client_credentials&scope=expense.report.read%00",
            "scope",
        ),
        (
            Some(basic.as_str()),
            "grant_type=client%01credentials",
            "grant_type",
        ),
        (
            Some(basic.as_str()),
            "grant_type=password&username=a%00b%40x.example&password=x",
            "username",
        ),
        (
            Some(basic.as_str()),
            "grant_type=password&username=ab%40x.example&password=x%00",
            "password",
        ),
        (
            None,
            "grant_type=client_credentials&client_id=a%00b&client_secret=s",
            "client_id",
        ),
        (
            None,
            "grant_type=client_credentials&client_id=ab&client_secret=s%0A",
            "client_secret",
        ),
    ] {
        let a = post_from(&app, "192.0.2.91", "/oauth2/v0/token", auth, body).await;
        a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(a.description().contains(name), "{body}: {}", a.body);
    }
    for path in ["/oauth2/v0/introspect", "/oauth2/v0/revoke"] {
        let a = post_from(&app, "192.0.2.91", path, Some(&basic), "token=abc%00def").await;
        a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(a.description().contains("token"), "{}", a.body);
    }
    use base64::Engine;
    let nul_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}\u{0}:{}", client.id, client.secret))
    );
    let a = post_from(
        &app,
        "192.0.2.91",
        "/oauth2/v0/token",
        Some(&nul_basic),
        "grant_type=client_credentials",
    )
    .await;
    a.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(a.description().contains("client_id"), "{}", a.body);

    // The authorization endpoint and the console forms.
    for query in [
        format!(
            "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%00",
            client.id
        ),
        format!("response_type=code&client_id={}&state=%07", client.id),
    ] {
        let resp = app
            .client
            .get(format!("{}?{query}", app.url("/oauth2/v0/authorize")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(resp.text().await.unwrap().contains("control character"));
    }
    let a = post_from(
        &app,
        "192.0.2.92",
        "/admin/sign-in",
        None,
        "login_id=a%00b&password=x&csrf_token=t",
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}", a.body);

    // Nothing above reached storage as a server error, and the server still answers.
    let ok = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let v: Value = introspect(&app, &client, &ok.str("access_token")).await;
    assert_eq!(v["active"], true);
}

both_backends!(
    revocation_overflow,
    quadratic_body,
    client_failure_limits,
    sign_in_lockout,
    control_bytes,
);
