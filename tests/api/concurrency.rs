//! Issue 10, "exactly once": every race of the table fired concurrently for many
//! rounds with zero losses, ETag / If-Match, redirect URIs normalised once, and sessions that
//! end. Outcomes are checked where they matter: the app as read back, and secrets at the
//! token endpoint.

use crate::both_backends;
use crate::helpers::{Backend, Credentials, Session, TestApp, spawn_app};
use crate::oauth_helpers::{AppCredentials, browse, certify, hidden_inputs, register, token};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    modify_and_new_secret_both_take_effect,
    concurrent_new_secrets_never_hand_out_a_dead_secret,
    staff_decisions_are_never_undone_by_the_owner,
    deactivation_sticks_against_new_secret,
    etags_and_if_match,
    console_modify_of_a_changed_app_says_so,
    redirect_uris_are_normalised_once,
    sessions_end_with_the_access_they_carried,
    sign_out_everywhere,
);

const ROUNDS: usize = 20;
const CC: [(&str, &str); 1] = [("grant_type", "client_credentials")];

/// An admin API call that also returns the response's headers.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    s: &Session,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = app
        .client
        .request(method, app.url(&format!("/admin/v1{path}")))
        .bearer_auth(&s.token);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let etag = resp
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, etag, body)
}

async fn app_state(app: &TestApp, s: &Session, id: &str) -> Value {
    let (status, body) = app.get(s, &format!("/apps/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn works(app: &TestApp, client: &AppCredentials) -> bool {
    token(app, client, &CC).await.status == StatusCode::OK
}

fn creds(id: &str, answer: &Value) -> AppCredentials {
    AppCredentials {
        id: id.to_owned(),
        secret: answer["client_secret"].as_str().unwrap().to_owned(),
    }
}

async fn new_secret(app: &TestApp, s: &Session, id: &str, grace: u64) -> (StatusCode, Value) {
    app.post(
        s,
        &format!("/apps/{id}/secret"),
        json!({ "grace_seconds": grace }),
    )
    .await
}

async fn describe(app: &TestApp, s: &Session, id: &str, text: &str) -> (StatusCode, Value) {
    app.patch(s, &format!("/apps/{id}"), json!({ "description": text }))
        .await
}

/// Modify (description) ∥ New Secret: both answer 200, and both take effect: the description
/// is the one sent and the new secret works.
async fn modify_and_new_secret_both_take_effect(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Racy", &["client_credentials"]).await;
    for round in 0..ROUNDS {
        let text = format!("round {round}");
        let ((m_status, m), (s_status, s)) = tokio::join!(
            describe(&app, &dev, &client.id, &text),
            new_secret(&app, &dev, &client.id, 0)
        );
        assert_eq!(m_status, StatusCode::OK, "round {round}: {m}");
        assert_eq!(s_status, StatusCode::OK, "round {round}: {s}");
        let now = app_state(&app, &dev, &client.id).await;
        assert_eq!(now["description"], text, "round {round}: description lost");
        assert!(
            works(&app, &creds(&client.id, &s)).await,
            "round {round}: the new secret does not work"
        );
    }
}

/// New Secret ∥ New Secret. The semantics: New Secrets are serialized by the app's version;
/// one that finds another New Secret stored since it read the app is refused with 409
/// `secret_changed`. So at least one answers 200; a 200 with the highest version holds the
/// current secret, which works; a 200 with a lower version was replaced by that later New
/// Secret (it is the "next New Secret") and, without grace, fails. With a grace period every
/// secret that answered 200 works: the later one as current, the earlier one as previous.
async fn concurrent_new_secrets_never_hand_out_a_dead_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Twice", &["client_credentials"]).await;
    let mut refused = 0;
    for grace in [0u64, 3600] {
        for round in 0..ROUNDS {
            let (a, b) = tokio::join!(
                new_secret(&app, &dev, &client.id, grace),
                new_secret(&app, &dev, &client.id, grace)
            );
            let mut ok: Vec<(i64, AppCredentials)> = Vec::new();
            for (status, body) in [a, b] {
                match status {
                    StatusCode::OK => ok.push((
                        body["app"]["version"].as_i64().unwrap(),
                        creds(&client.id, &body),
                    )),
                    StatusCode::CONFLICT => {
                        assert_eq!(body["error"], "secret_changed", "{body}");
                        refused += 1;
                    }
                    other => panic!("round {round}: {other} {body}"),
                }
            }
            assert!(!ok.is_empty(), "round {round}: no New Secret succeeded");
            ok.sort_by_key(|(v, _)| *v);
            let (latest, current) = ok.last().unwrap();
            assert!(
                works(&app, current).await,
                "round {round} (grace {grace}): the current secret (version {latest}) fails"
            );
            if let [(earlier, first), (later, _)] = ok.as_slice() {
                assert!(earlier < later, "two New Secrets stored at one version");
                assert_eq!(
                    works(&app, first).await,
                    grace > 0,
                    "round {round} (grace {grace}): the replaced secret"
                );
            }
        }
    }
    eprintln!(
        "New Secret ∥ New Secret: {refused} refused of {}",
        4 * ROUNDS
    );
}

/// Staff reject ∥ owner Modify; staff Private ∥ owner Modify or New Secret; staff
/// resource-server off ∥ owner Modify: the staff decision stands every time, and the owner's
/// change is kept too.
async fn staff_decisions_are_never_undone_by_the_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let staff = app.staff().await;

    // Reject ∥ Modify, on an app submitted again each round.
    let client = register(&app, &dev, "Rejected", &["client_credentials"]).await;
    let review = format!("/apps/{}/review", client.id);
    for round in 0..ROUNDS {
        let (status, body) = app
            .post(&dev, &format!("/apps/{}/submit", client.id), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let text = format!("reject round {round}");
        let ((r_status, r), (m_status, m)) = tokio::join!(
            app.post(
                &staff,
                &review,
                json!({ "decision": "reject", "reason": "asks for too much" }),
            ),
            describe(&app, &dev, &client.id, &text)
        );
        assert_eq!(r_status, StatusCode::OK, "round {round}: {r}");
        assert_eq!(m_status, StatusCode::OK, "round {round}: {m}");
        let now = app_state(&app, &dev, &client.id).await;
        assert_eq!(now["review"]["status"], "rejected", "round {round}: {now}");
        assert_eq!(now["description"], text, "round {round}");
    }

    // Visibility Private ∥ Modify, and ∥ New Secret, on an approved app made public each round.
    // (Only a production registration leaves Private.)
    let sandbox = register(&app, &dev, "Taken down", &["client_credentials"]).await;
    let client = certify(&app, &dev, &sandbox, "global").await;
    let visibility = format!("/apps/{}/visibility", client.id);
    for round in 0..ROUNDS {
        let (status, body) = app
            .put(&staff, &visibility, json!({ "visibility": "global" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let text = format!("takedown round {round}");
        let ((p_status, p), (m_status, m), (s_status, s)) = tokio::join!(
            app.put(&staff, &visibility, json!({ "visibility": "private" })),
            describe(&app, &dev, &client.id, &text),
            new_secret(&app, &dev, &client.id, 0)
        );
        assert_eq!(p_status, StatusCode::OK, "round {round}: {p}");
        assert_eq!(m_status, StatusCode::OK, "round {round}: {m}");
        assert_eq!(s_status, StatusCode::OK, "round {round}: {s}");
        let now = app_state(&app, &dev, &client.id).await;
        assert_eq!(
            now["visibility"], "private",
            "round {round}: takedown undone"
        );
        assert_eq!(now["description"], text, "round {round}");
        assert!(works(&app, &creds(&client.id, &s)).await, "round {round}");
    }

    // Resource server off ∥ Modify and New Secret.
    let rs = format!("/apps/{}/resource-server", client.id);
    for round in 0..ROUNDS {
        let (status, body) = app
            .put(&staff, &rs, json!({ "resource_server": true }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let text = format!("resource server round {round}");
        let ((o_status, o), (m_status, m), (s_status, s)) = tokio::join!(
            app.put(&staff, &rs, json!({ "resource_server": false })),
            describe(&app, &dev, &client.id, &text),
            new_secret(&app, &dev, &client.id, 0)
        );
        assert_eq!(o_status, StatusCode::OK, "round {round}: {o}");
        assert_eq!(m_status, StatusCode::OK, "round {round}: {m}");
        assert_eq!(s_status, StatusCode::OK, "round {round}: {s}");
        let now = app_state(&app, &dev, &client.id).await;
        assert_eq!(
            now["resource_server"], false,
            "round {round}: flag came back"
        );
        assert_eq!(now["description"], text, "round {round}");
        assert!(works(&app, &creds(&client.id, &s)).await, "round {round}");
    }

    // The audit log agrees with the row: the last review entry is the rejection.
    let (_, audit) = app.get(&staff, "/audit?limit=500").await;
    assert!(audit.to_string().contains("app.review"));
}

/// Owner deactivates ∥ New Secret: the app stays inactive (the token endpoint refuses it), and
/// once reactivated the new secret works.
async fn deactivation_sticks_against_new_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Switched off", &["client_credentials"]).await;
    let path = format!("/apps/{}", client.id);
    for round in 0..ROUNDS {
        let ((d_status, d), (s_status, s)) = tokio::join!(
            app.patch(&dev, &path, json!({ "active": false })),
            new_secret(&app, &dev, &client.id, 0)
        );
        assert_eq!(d_status, StatusCode::OK, "round {round}: {d}");
        assert_eq!(s_status, StatusCode::OK, "round {round}: {s}");
        let now = app_state(&app, &dev, &client.id).await;
        assert_eq!(now["active"], false, "round {round}: deactivation lost");
        let secret = creds(&client.id, &s);
        assert!(
            !works(&app, &secret).await,
            "round {round}: inactive app got a token"
        );
        let (status, body) = app.patch(&dev, &path, json!({ "active": true })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            works(&app, &secret).await,
            "round {round}: the new secret fails"
        );
    }
}

/// The admin API's ETag is the version; If-Match with a stale one is 412 and changes nothing;
/// with the current one (or `*`) the write happens and answers the next ETag.
async fn etags_and_if_match(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let staff = app.staff().await;
    let (status, tag, reg) = call(
        &app,
        Method::POST,
        "/apps",
        &dev,
        None,
        Some(crate::helpers::expense_app("Tagged")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    assert_eq!(tag.as_deref(), Some("\"1\""));
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let original = creds(&id, &reg);
    let path = format!("/apps/{id}");

    let (status, tag, shown) = call(&app, Method::GET, &path, &dev, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tag.as_deref(), Some("\"1\""));
    assert_eq!(shown["version"], 1);

    // Current version: applied, next version as ETag.
    let (status, tag, body) = call(
        &app,
        Method::PATCH,
        &path,
        &dev,
        Some("\"1\""),
        Some(json!({ "description": "first" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tag.as_deref(), Some("\"2\""));

    // Stale, weak, malformed: 412 naming If-Match, nothing written.
    for stale in ["\"1\"", "W/\"2\"", "2", "\"x\", \"1\""] {
        let (status, _, body) = call(
            &app,
            Method::PATCH,
            &path,
            &dev,
            Some(stale),
            Some(json!({ "description": "lost" })),
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}: {body}");
        assert_eq!(body["error"], "precondition_failed");
        assert_eq!(body["field"], "If-Match");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("changed meanwhile")
        );
    }
    assert_eq!(app_state(&app, &dev, &id).await["description"], "first");

    // A stale New Secret hands out nothing and leaves the secret as it was.
    let (status, _, body) = call(
        &app,
        Method::POST,
        &format!("{path}/secret"),
        &dev,
        Some("\"1\""),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert!(body.get("client_secret").is_none());
    assert!(works(&app, &original).await);

    // A list with the current tag, and `*`, match.
    let (status, tag, body) = call(
        &app,
        Method::POST,
        &format!("{path}/secret"),
        &dev,
        Some("\"7\", \"2\""),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(tag.as_deref(), Some("\"3\""));
    assert!(works(&app, &creds(&id, &body)).await);
    assert!(!works(&app, &original).await);
    let (status, tag, _) = call(
        &app,
        Method::POST,
        &format!("{path}/submit"),
        &dev,
        Some("*"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tag.as_deref(), Some("\"4\""));

    // Staff writes honour it too: a decision made on an old version is refused.
    let (status, _, body) = call(
        &app,
        Method::POST,
        &format!("{path}/review"),
        &staff,
        Some("\"3\""),
        Some(json!({ "decision": "approve" })),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(
        app_state(&app, &dev, &id).await["review"]["status"],
        "pending"
    );
    let (status, tag, _) = call(
        &app,
        Method::POST,
        &format!("{path}/review"),
        &staff,
        Some("\"4\""),
        Some(json!({ "decision": "approve" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tag.as_deref(), Some("\"5\""));
    // Preconditions come after the normal checks: a refused request is not a 412.
    let (status, _, _) = call(
        &app,
        Method::PUT,
        &format!("{path}/visibility"),
        &dev,
        Some("\"1\""),
        Some(json!({ "visibility": "public" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Companies and users.
    let company = format!("/companies/{}", dev.company_id);
    let (status, tag, _) = call(&app, Method::GET, &company, &staff, None, None).await;
    assert_eq!(status, StatusCode::OK);
    let tag = tag.unwrap();
    let (status, next, _) = call(
        &app,
        Method::PATCH,
        &company,
        &staff,
        Some(&tag),
        Some(json!({ "name": "Sandbox Renamed" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(next.as_deref(), Some(tag.as_str()));
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &company,
        &staff,
        Some(&tag),
        Some(json!({ "name": "Lost" })),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let user = format!("/users/{}", dev.user_id);
    let (status, tag, _) = call(&app, Method::GET, &user, &dev, None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &user,
        &dev,
        Some("\"999\""),
        Some(json!({ "display_name": "Lost" })),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &user,
        &dev,
        tag.as_deref(),
        Some(json!({ "display_name": "Kept" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["display_name"], "Kept");
}

/// The console's Modify form carries the version it was shown at; submitting it after the app
/// changed says so, and saves nothing.
async fn console_modify_of_a_changed_app_says_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Console", &["client_credentials"]).await;
    let edit = app.url(&format!("/admin/apps/{}/edit", client.id));
    let html = browse(&app, &dev, &edit).await.text().await.unwrap();
    let hidden = hidden_inputs(&html);
    let field = |n: &str| {
        hidden
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no hidden {n}"))
    };
    assert_eq!(field("version"), "1");
    let form = |description: &str| {
        serde_urlencoded::to_string([
            ("csrf_token", field("csrf_token").as_str()),
            ("version", field("version").as_str()),
            ("name", "Console"),
            ("description", description),
            ("active", "on"),
            ("api", "expense.report.read"),
            ("redirect_uris", "https://app.example/callback"),
            ("grant_type", "client_credentials"),
        ])
        .unwrap()
    };
    let post = |body: String| {
        app.client
            .post(&edit)
            .header("cookie", format!("portico_session={}", dev.token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // Meanwhile, someone else changes the app.
    let (status, _) = describe(&app, &dev, &client.id, "changed by the API").await;
    assert_eq!(status, StatusCode::OK);
    let resp = post(form("from the stale form")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("This application was changed meanwhile; reload to see the current version"),
        "{page}"
    );
    assert!(page.contains("from the stale form"), "the input is kept");
    assert_eq!(
        app_state(&app, &dev, &client.id).await["description"],
        "changed by the API"
    );
    // Reloaded, the form carries the new version and saves.
    let html = browse(&app, &dev, &edit).await.text().await.unwrap();
    assert!(html.contains("name=\"version\" value=\"2\""), "{html}");
    let body = form("from the fresh form").replace("version=1", "version=2");
    let resp = post(body).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app_state(&app, &dev, &client.id).await["description"],
        "from the fresh form"
    );
}

/// One normal form for redirect URIs, at registration and at authorization.
async fn redirect_uris_are_normalised_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let body = |uris: Value| {
        let mut b = crate::helpers::expense_app("Loopback");
        b["redirect_uris"] = uris;
        b
    };
    for bad in [
        "https://app\texample/cb",
        "https://app.example/c\tb",
        "https://app.example/cb\u{0}",
        "https://app.example/cb\r\nx",
        "http://evil@127.0.0.1:9999/cb",
        "https://user@app.example/cb",
        "http://127.1/cb",
        "http://2130706433/cb",
        "http://0x7f.1/cb",
        "http://localhost.evil.example/cb",
        "https://app.example\\evil/cb",
    ] {
        let (status, err) = app.post(&dev, "/apps", body(json!([bad]))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {err}");
        assert_eq!(err["field"], "redirect_uris[0]", "{bad:?}");
    }
    let (status, err) = app
        .post(
            &dev,
            "/apps",
            body(json!([
                "https://app.example/cb",
                "http://127.0.0.1\t:9999/cb"
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "redirect_uris[1]");

    // The stored form is the normal form, shown as stored.
    let reg = app
        .register_app(
            &dev,
            body(json!(["HTTPS://App.Example/cb", "http://127.0.0.1/cb"])),
        )
        .await;
    assert_eq!(
        reg["app"]["redirect_uris"],
        json!(["https://app.example/cb", "http://127.0.0.1/cb"])
    );
    let id = reg["client_id"].as_str().unwrap();
    assert_eq!(
        app_state(&app, &dev, id).await["redirect_uris"],
        reg["app"]["redirect_uris"]
    );

    // Authorization: the loopback URI on any port goes on (to sign-in); anything registration
    // would refuse is refused on a page, never redirected to.
    let authorize = |redirect: &str| {
        let q = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", id),
            ("redirect_uri", redirect),
            ("state", "s"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .unwrap();
        app.client
            .get(app.url(&format!("/oauth2/v0/authorize?{q}")))
            .send()
    };
    for good in ["http://127.0.0.1:9999/cb", "https://app.example/cb"] {
        let resp = authorize(good).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{good}");
        let to = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("/admin/sign-in"), "{good}: {to}");
    }
    for bad in [
        "http://evil@127.0.0.1:9999/cb",
        "http://127.1:9999/cb",
        "http://2130706433:9999/cb",
        "http://0x7f.1:9999/cb",
        "http://127.0.0.1\t:9999/cb",
        "http://127.0.0.1:9999/c\tb",
        "https://app.example/cb\n",
        "https://app\texample/cb",
        "http://localhost:9999/cb",
    ] {
        let resp = authorize(bad).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(resp.headers().get("location").is_none(), "{bad:?}");
    }
}

async fn sign_in_as(app: &TestApp, login_id: &str, password: &str) -> Session {
    app.sign_in(&Credentials {
        login_id: login_id.into(),
        password: password.into(),
    })
    .await
}

async fn alive(app: &TestApp, s: &Session) -> bool {
    let (status, _) = app.get(s, "/me").await;
    match status {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("/me answered {other}"),
    }
}

/// A password reset or change, a disable of the user or the company, and a permission taken
/// away end the sessions (they stay ended when the change is undone); a permission added does
/// not.
async fn sessions_end_with_the_access_they_carried(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = app.staff().await;
    let admin = app
        .company_with_admin("Initech", "professional", false)
        .await;
    let password = "correct horse battery staple";
    let (status, created) = app
        .post(
            &admin,
            &format!("/companies/{}/users", admin.company_id),
            json!({ "login_id": "peter@initech.example", "display_name": "Peter",
                    "password": password }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = format!("/users/{}", created["user"]["id"].as_str().unwrap());
    let login = "peter@initech.example";

    // A permission added keeps the session; taken away, ends it, for good.
    let peter = sign_in_as(&app, login, password).await;
    let grant = json!({ "permissions": { "web_services_administrator": true } });
    let (status, body) = app.patch(&admin, &user, grant.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        alive(&app, &peter).await,
        "a permission added ended the session"
    );
    let (status, body) = app.patch(&admin, &user, json!({ "permissions": {} })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !alive(&app, &peter).await,
        "permission shrink kept the session"
    );
    let (status, _) = app.patch(&admin, &user, grant).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!alive(&app, &peter).await, "the ended session came back");

    // Disabling the user.
    let peter = sign_in_as(&app, login, password).await;
    let (status, _) = app.patch(&admin, &user, json!({ "enabled": false })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.patch(&admin, &user, json!({ "enabled": true })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!alive(&app, &peter).await, "disable kept the session");

    // A password reset by the admin ends the user's other sessions; the new password works.
    let peter = sign_in_as(&app, login, password).await;
    let new_password = "a new and longer password";
    let (status, _) = app
        .patch(&admin, &user, json!({ "password": new_password }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !alive(&app, &peter).await,
        "password reset kept the session"
    );
    assert!(
        alive(&app, &admin).await,
        "the admin's own session is another user's"
    );
    // The user changing their own password ends their other session too (and this one).
    let here = sign_in_as(&app, login, new_password).await;
    let elsewhere = sign_in_as(&app, login, new_password).await;
    let (status, body) = app
        .patch(&here, &user, json!({ "password": password }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !alive(&app, &elsewhere).await,
        "password change kept the other session"
    );
    assert!(!alive(&app, &here).await);
    let peter = sign_in_as(&app, login, password).await;

    // Disabling the company ends every session of its users.
    let company = format!("/companies/{}", admin.company_id);
    let (status, _) = app
        .patch(&staff, &company, json!({ "enabled": false }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .patch(&staff, &company, json!({ "enabled": true }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !alive(&app, &peter).await,
        "company disable kept a user's session"
    );
    assert!(
        !alive(&app, &admin).await,
        "company disable kept the admin's session"
    );
    assert!(alive(&app, &staff).await, "another company's session ended");
    assert!(alive(&app, &sign_in_as(&app, login, password).await).await);
}

/// Sign out everywhere, from the admin API and from the console's button.
async fn sign_out_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.developer().await;
    let second = app.developer().await;
    let other = app.staff().await;
    let (status, body) = app
        .call(Method::DELETE, "/session/all", Some(&first.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 2);
    assert!(!alive(&app, &first).await);
    assert!(!alive(&app, &second).await);
    assert!(alive(&app, &other).await, "another user's session ended");

    // The console: the button's form, with the page's CSRF token.
    let browser = app.developer().await;
    let script = app.developer().await;
    let html = browse(&app, &browser, &app.url("/admin"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("action=\"/admin/sign-out-everywhere\""),
        "{html}"
    );
    let csrf = hidden_inputs(&html)
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    let resp = app
        .client
        .post(app.url("/admin/sign-out-everywhere"))
        .header("cookie", format!("portico_session={}", browser.token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("csrf_token", csrf.as_str())]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(!alive(&app, &browser).await);
    assert!(!alive(&app, &script).await);
    assert!(alive(&app, &other).await);
}
