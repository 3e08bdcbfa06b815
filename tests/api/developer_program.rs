//! The developer program (issue 17): sandbox sign-up in each mode, the sample app's token,
//! certification's production Key, and apps a client company builds for its own use.

use crate::attacker::BEHIND_PROXY;
use crate::both_backends;
use crate::helpers::{Backend, Session, TestApp, spawn_app, spawn_app_with};
use crate::oauth_helpers::{AppCredentials, certify, token};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    open_sign_up_makes_a_standard_sandbox_with_a_working_sample_app,
    approval_mode_waits_for_staff,
    sign_up_refuses_bad_input_and_creates_nothing,
    sign_ups_are_limited_per_source,
    certification_gives_a_production_key,
    client_companies_build_apps_for_their_own_use,
);

const CC: [(&str, &str); 1] = [("grant_type", "client_credentials")];

fn form(login: &str) -> Value {
    json!({
        "name": "Dana Developer",
        "login_id": login,
        "password": "correct horse battery staple",
        "company_name": "Dana's Expense Tools",
    })
}

async fn sign_up(app: &TestApp, body: Value, source: &str) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/admin/v1/sign-up"))
        .header("x-forwarded-for", source)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn session_of(body: &Value) -> Session {
    Session {
        token: body["session"]["token"].as_str().unwrap().to_owned(),
        company_id: body["company"]["id"].as_str().unwrap().to_owned(),
        user_id: body["admin"]["id"].as_str().unwrap().to_owned(),
    }
}

async fn companies(app: &TestApp) -> usize {
    let staff = app.staff().await;
    app.get(&staff, "/companies")
        .await
        .1
        .as_array()
        .unwrap()
        .len()
}

async fn open_sign_up_makes_a_standard_sandbox_with_a_working_sample_app(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTICO_SIGNUP_MODE", "open"), BEHIND_PROXY]).await;
    let (status, mode) = app.call(Method::GET, "/sign-up", None, None).await;
    assert_eq!(
        (status, mode["mode"].clone()),
        (StatusCode::OK, json!("open"))
    );

    let (status, made) = sign_up(&app, form("Dana@Example.com"), "198.51.100.7").await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["status"], "created");
    // A Standard edition Development Partner, its admin holding Can Administer.
    assert_eq!(made["company"]["edition"], "standard");
    assert_eq!(made["company"]["development_partner"], true);
    assert_eq!(made["company"]["name"], "Dana's Expense Tools");
    assert!(
        made["company"]["domain"]
            .as_str()
            .unwrap()
            .ends_with(".sandbox.portico.test")
    );
    assert_eq!(made["admin"]["login_id"], "dana@example.com");
    assert_eq!(
        made["admin"]["permissions"],
        json!({ "web_services_administrator": false, "can_administer": true, "staff": false })
    );
    // Signed in: the session works, and is the developer's.
    let dev = session_of(&made);
    let (status, me) = app.get(&dev, "/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["login_id"], "dana@example.com");
    assert_eq!(me["is_admin"], true);
    // The sample app is registered, enabled, and its Key and Secret get a token at once.
    let sample = &made["sample_app"];
    let client = AppCredentials {
        id: sample["client_id"].as_str().unwrap().to_owned(),
        secret: sample["client_secret"].as_str().unwrap().to_owned(),
    };
    let t = token(&app, &client, &CC).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert_eq!(t.body["scope"], "expense.report.read");
    let (_, apps) = app.get(&dev, "/apps").await;
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert!(!apps.to_string().contains(&client.secret), "shown once");
    // The developer can sign in with the chosen password, and the sandbox registers apps.
    let again = app
        .sign_in(&crate::helpers::Credentials {
            login_id: "dana@example.com".into(),
            password: "correct horse battery staple".into(),
        })
        .await;
    assert_eq!(again.company_id, dev.company_id);
    let (status, _) = app
        .post(&dev, "/apps", crate::helpers::expense_app("Second App"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The sign-up is audited under the developer's login id, with no secret in it.
    let staff = app.staff().await;
    let (_, log) = app
        .get(&staff, &format!("/audit?company_id={}", dev.company_id))
        .await;
    let signup = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "sandbox.sign_up")
        .expect("audited");
    assert_eq!(signup["actor_login"], "dana@example.com");
    assert!(!log.to_string().contains(&client.secret));
    assert!(!log.to_string().contains("correct horse"));

    // A taken login id, in any case: refused naming the field, nothing created.
    let before = companies(&app).await;
    let (status, e) = sign_up(&app, form("DANA@example.com"), "198.51.100.8").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["field"], "login_id");
    assert_eq!(companies(&app).await, before);

    // Professional edition is granted by staff: it waits even in open mode.
    let mut pro = form("pat@example.com");
    pro["edition"] = json!("professional");
    let (status, waiting) = sign_up(&app, pro, "198.51.100.9").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{waiting}");
    assert_eq!(waiting["request"]["edition"], "professional");
    assert_eq!(companies(&app).await, before);
    let id = waiting["request"]["id"].as_str().unwrap();
    let (status, decided) = app
        .post(
            &staff,
            &format!("/sandbox-requests/{id}/decision"),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["company"]["edition"], "professional");
    let pat = app
        .sign_in(&crate::helpers::Credentials {
            login_id: "pat@example.com".into(),
            password: "correct horse battery staple".into(),
        })
        .await;
    let (_, me) = app.get(&pat, "/me").await;
    assert_eq!(me["permissions"]["web_services_administrator"], true);
    assert_eq!(me["company"]["development_partner"], true);
    // Its sample app is there; its Secret is the admin's to take (never shown to staff).
    assert!(!decided.to_string().contains("client_secret"));
    let (_, apps) = app.get(&pat, "/apps").await;
    let sample_id = apps[0]["id"].as_str().unwrap().to_owned();
    let (status, secret) = app
        .post(&pat, &format!("/apps/{sample_id}/secret"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{secret}");
    let sample = AppCredentials {
        id: sample_id,
        secret: secret["client_secret"].as_str().unwrap().to_owned(),
    };
    assert_eq!(token(&app, &sample, &CC).await.status, StatusCode::OK);
}

async fn approval_mode_waits_for_staff(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("PORTICO_SIGNUP_MODE", "approval"), BEHIND_PROXY],
    )
    .await;
    let before = companies(&app).await;
    let (status, waiting) = sign_up(&app, form("wait@example.com"), "198.51.100.20").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{waiting}");
    assert_eq!(waiting["status"], "pending");
    assert!(waiting["request"].get("password_hash").is_none());
    assert!(!waiting.to_string().contains("argon2"));
    assert_eq!(companies(&app).await, before);
    // Not a user yet: cannot sign in; the login id is held while the request waits.
    let (status, _) = app
        .call(
            Method::POST,
            "/session",
            None,
            Some(json!({ "login_id": "wait@example.com", "password": "correct horse battery staple" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, e) = sign_up(&app, form("wait@example.com"), "198.51.100.21").await;
    assert_eq!(
        (status, e["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("login_id"))
    );

    // Staff see pending requests; others may not.
    let staff = app.staff().await;
    let dev = app.developer().await;
    let (status, _) = app.get(&dev, "/sandbox-requests").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, pending) = app.get(&staff, "/sandbox-requests").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["login_id"], "wait@example.com");
    assert_eq!(pending[0]["source"], "198.51.100.20");
    let (status, e) = app.get(&staff, "/sandbox-requests?status=maybe").await;
    assert_eq!(
        (status, e["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("status"))
    );

    // A rejection needs a reason; a rejected request frees the login id.
    let (_, second) = sign_up(&app, form("nope@example.com"), "198.51.100.22").await;
    let nope = second["request"]["id"].as_str().unwrap();
    let (status, e) = app
        .post(
            &staff,
            &format!("/sandbox-requests/{nope}/decision"),
            json!({ "decision": "reject" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, rejected) = app
        .post(
            &staff,
            &format!("/sandbox-requests/{nope}/decision"),
            json!({ "decision": "reject", "reason": "not a developer" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["request"]["status"], "rejected");
    assert_eq!(companies(&app).await, before);

    // Approved: the sandbox exists, Standard as asked, and the developer signs in.
    let id = waiting["request"]["id"].as_str().unwrap();
    let (status, decided) = app
        .post(
            &staff,
            &format!("/sandbox-requests/{id}/decision"),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["request"]["status"], "approved");
    assert_eq!(decided["company"]["edition"], "standard");
    assert_eq!(decided["request"]["company_id"], decided["company"]["id"]);
    assert_eq!(companies(&app).await, before + 1);
    // Decided once only.
    let (status, e) = app
        .post(
            &staff,
            &format!("/sandbox-requests/{id}/decision"),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::CONFLICT, json!("not_pending"))
    );
    let session = app
        .sign_in(&crate::helpers::Credentials {
            login_id: "wait@example.com".into(),
            password: "correct horse battery staple".into(),
        })
        .await;
    let (_, me) = app.get(&session, "/me").await;
    assert_eq!(me["permissions"]["can_administer"], true);
    let (_, apps) = app.get(&session, "/apps").await;
    assert_eq!(apps[0]["name"], "Sample App");
    // The staff decisions are audited, with the staff member as actor.
    let (_, log) = app.get(&staff, "/audit").await;
    let decisions: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sandbox.decide")
        .collect();
    assert_eq!(decisions.len(), 2);
    assert!(
        decisions
            .iter()
            .all(|e| e["actor_login"] == app.staff.login_id)
    );
    assert!(!log.to_string().contains("argon2"));
}

async fn sign_up_refuses_bad_input_and_creates_nothing(backend: Backend) {
    // Off (the default): refused, nothing created.
    let off = spawn_app(backend).await;
    let before = companies(&off).await;
    let (status, e) = sign_up(&off, form("x@example.com"), "127.0.0.1").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert!(e["message"].as_str().unwrap().contains("not open"), "{e}");
    assert_eq!(companies(&off).await, before);
    drop(off);

    let app = spawn_app_with(
        backend,
        &[
            ("PORTICO_SIGNUP_MODE", "open"),
            ("PORTICO_SIGNUP_PER_SOURCE_BURST", "100"),
        ],
    )
    .await;
    let before = companies(&app).await;
    let cases = [
        ("password", json!("short")),
        ("password", json!("p".repeat(5000))),
        ("password", json!("aaaaaaaaaaaaaaaaaaaa")),
        ("company_name", json!("\u{1}\u{2}\u{3}")),
        ("company_name", json!("  ")),
        ("company_name", json!("c".repeat(500))),
        ("login_id", json!("has space@example.com")),
        ("login_id", json!("x")),
        ("name", json!("")),
    ];
    for (field, value) in cases {
        let mut body = form("fine@example.com");
        body[field] = value;
        let (status, e) = sign_up(&app, body, "127.0.0.1").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {e}");
        assert_eq!(e["field"], field, "{e}");
    }
    let mut extra = form("fine@example.com");
    extra["staff"] = json!(true);
    let (status, e) = sign_up(&app, extra, "127.0.0.1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, _) = sign_up(&app, json!("not an object"), "127.0.0.1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(companies(&app).await, before, "nothing was created");
}

async fn sign_ups_are_limited_per_source(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("PORTICO_SIGNUP_MODE", "open"),
            ("PORTICO_SIGNUP_PER_SOURCE_BURST", "2"),
            BEHIND_PROXY,
        ],
    )
    .await;
    // Failed attempts count as well as successful ones.
    let mut bad = form("one@example.com");
    bad["password"] = json!("short");
    assert_eq!(
        sign_up(&app, bad, "203.0.113.5").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        sign_up(&app, form("two@example.com"), "203.0.113.5")
            .await
            .0,
        StatusCode::CREATED
    );
    let before = companies(&app).await;
    let resp = app
        .client
        .post(app.url("/admin/v1/sign-up"))
        .header("x-forwarded-for", "203.0.113.5")
        .json(&form("three@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(companies(&app).await, before);
    // Another network is not held back.
    assert_eq!(
        sign_up(&app, form("three@example.com"), "203.0.113.77")
            .await
            .0,
        StatusCode::CREATED
    );
}

async fn certification_gives_a_production_key(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTICO_SIGNUP_MODE", "open"), BEHIND_PROXY]).await;
    let (_, made) = sign_up(&app, form("cert@example.com"), "198.51.100.30").await;
    let dev = session_of(&made);
    let sandbox = AppCredentials {
        id: made["sample_app"]["client_id"].as_str().unwrap().to_owned(),
        secret: made["sample_app"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let staff = app.staff().await;
    // Not reviewed: no certification.
    let (status, e) = app
        .post(
            &staff,
            &format!("/apps/{}/certification", sandbox.id),
            json!({ "visibility": "public" }),
        )
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::CONFLICT, json!("not_approved"))
    );
    let production = certify(&app, &dev, &sandbox, "public").await;
    let (_, shown) = app
        .get(&dev, &format!("/apps/{}/production", sandbox.id))
        .await;
    assert_eq!(shown["id"], production.id.as_str());
    assert_eq!(shown["certified_from"], sandbox.id.as_str());
    // A production registration is certified, not submitted or certified itself.
    let (status, e) = app
        .post(&dev, &format!("/apps/{}/submit", production.id), json!({}))
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::CONFLICT, json!("already_production"))
    );
    let (status, e) = app
        .post(
            &staff,
            &format!("/apps/{}/certification", production.id),
            json!({ "visibility": "global" }),
        )
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::CONFLICT, json!("already_production"))
    );
    let (status, e) = app
        .post(
            &staff,
            &format!("/apps/{}/certification", sandbox.id),
            json!({ "visibility": "private" }),
        )
        .await;
    assert_eq!(
        (status, e["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("visibility"))
    );

    // A client company enables the production registration; its Key works there, the
    // sandbox Key does not.
    let client = app
        .company_with_admin("Initech", "professional", false)
        .await;
    let (_, list) = app
        .get(
            &client,
            &format!("/companies/{}/enablements", client.company_id),
        )
        .await;
    let listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&production.id.as_str()));
    assert!(
        !listed.contains(&sandbox.id.as_str()),
        "the sandbox app stays Private"
    );
    let (status, e) = app
        .put(
            &client,
            &format!(
                "/companies/{}/enablements/{}",
                client.company_id, sandbox.id
            ),
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found")),
        "{e}"
    );
    let (status, _) = app
        .put(
            &client,
            &format!(
                "/companies/{}/enablements/{}",
                client.company_id, production.id
            ),
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, rt) = app
        .post(
            &client,
            &format!("/companies/{}/request-tokens", client.company_id),
            json!({ "app_id": production.id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rt}");
    let (status, e) = app
        .post(
            &client,
            &format!("/companies/{}/request-tokens", client.company_id),
            json!({ "app_id": sandbox.id }),
        )
        .await;
    assert_eq!(
        (status, e["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("app_id")),
        "{e}"
    );
    // Both Keys keep their own tokens at the developer's sandbox company.
    assert_eq!(token(&app, &sandbox, &CC).await.status, StatusCode::OK);
    assert_eq!(token(&app, &production, &CC).await.status, StatusCode::OK);
    // The certification is audited.
    let (_, log) = app.get(&staff, "/audit").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "app.certify" && e["target_id"] == production.id.as_str())
    );
}

async fn client_companies_build_apps_for_their_own_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = app.staff().await;
    let client = app.company_with_admin("Acme Own", "standard", false).await;
    // Not allowed yet: a client company does not register apps.
    let (status, _) = app
        .post(&client, "/apps", crate::helpers::expense_app("In House"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Own use is for client companies, not Development Partners.
    let dev = app.developer().await;
    let (status, e) = app
        .patch(
            &staff,
            &format!("/companies/{}", dev.company_id),
            json!({ "own_use_apps": true }),
        )
        .await;
    assert_eq!(
        (status, e["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("own_use_apps"))
    );
    let (status, c) = app
        .patch(
            &staff,
            &format!("/companies/{}", client.company_id),
            json!({ "own_use_apps": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["own_use_apps"], true);
    // Only staff allow it.
    let (status, _) = app
        .patch(
            &client,
            &format!("/companies/{}", client.company_id),
            json!({ "own_use_apps": false }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut body = crate::helpers::expense_app("In House");
    body["grant_types"] = json!(["client_credentials"]);
    let (status, reg) = app.post(&client, "/apps", body).await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    assert_eq!(reg["app"]["visibility"], "private");
    let own = AppCredentials {
        id: reg["client_id"].as_str().unwrap().to_owned(),
        secret: reg["client_secret"].as_str().unwrap().to_owned(),
    };
    assert_eq!(token(&app, &own, &CC).await.status, StatusCode::OK);
    // Always Private: never submitted, so never approved, certified or published.
    let (status, e) = app
        .post(&client, &format!("/apps/{}/submit", own.id), json!({}))
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::CONFLICT, json!("own_use"))
    );
    let (status, e) = app
        .put(
            &staff,
            &format!("/apps/{}/visibility", own.id),
            json!({ "visibility": "public" }),
        )
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::CONFLICT, json!("not_approved")),
        "{e}"
    );
    let (status, e) = app
        .post(
            &staff,
            &format!("/apps/{}/certification", own.id),
            json!({ "visibility": "public" }),
        )
        .await;
    assert_eq!(
        (status, e["error"].clone()),
        (StatusCode::CONFLICT, json!("own_use")),
        "{e}"
    );
    // Other companies never see it.
    let other = app.company_with_admin("Elsewhere", "standard", false).await;
    let (_, list) = app
        .get(
            &other,
            &format!("/companies/{}/enablements", other.company_id),
        )
        .await;
    assert!(!list.to_string().contains(&own.id));
}
