//! The registry over HTTP: the guides' walk-through end to end, and what must be refused.

use crate::both_backends;
use crate::helpers::{Backend, expense_app, spawn_app};
use crate::oauth_helpers::{AppCredentials, token};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    guides_walk_through,
    dependencies_and_groups_are_checked,
    other_companies_data_is_invisible,
    only_staff_review_and_set_visibility,
    inactive_apps_cannot_be_enabled,
    asking_for_more_after_review_needs_a_new_review,
    bad_requests_get_clear_errors,
    sessions_and_csrf,
    users_and_permissions,
    audit_log_records_changes,
);

fn actions(entries: &Value) -> Vec<String> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn enabled_in(list: &Value, app_id: &str) -> Option<bool> {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["app_id"] == app_id)
        .map(|a| a["enabled"].as_bool().unwrap())
}

async fn guides_walk_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;

    // Register: Key, Secret (once), company domain; private; enabled for the own company.
    let reg = app.register_app(&dev, expense_app("Expense Sync")).await;
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let secret = reg["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(reg["company_domain"], "sandbox.portico.test");
    assert!(secret.len() >= 43);
    assert_eq!(reg["app"]["visibility"], "private");
    assert_eq!(reg["app"]["review"]["status"], "draft");
    let (_, list) = app
        .get(&dev, &format!("/companies/{}/enablements", dev.company_id))
        .await;
    assert_eq!(enabled_in(&list, &id), Some(true));

    // The secret is never shown again.
    let (status, shown) = app.get(&dev, &format!("/apps/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!shown.to_string().contains(&secret));
    assert!(shown.get("client_secret").is_none());

    // Modify: same validation as registration.
    let (status, modified) = app
        .patch(
            &dev,
            &format!("/apps/{id}"),
            json!({ "description": "Imports reports nightly",
                    "apis": [{ "api": "expense.report.read" }, { "api": "quickexpense.writeonly" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{modified}");
    assert_eq!(modified["description"], "Imports reports nightly");
    assert_eq!(modified["apis"].as_array().unwrap().len(), 2);

    // New Secret: a different secret, shown once.
    let (status, renewed) = app
        .post(&dev, &format!("/apps/{id}/secret"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let new_secret = renewed["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    // From now on the old secret fails at the token endpoint; the new one works.
    let old = AppCredentials {
        id: id.clone(),
        secret: secret.clone(),
    };
    let new = AppCredentials {
        id: id.clone(),
        secret: new_secret.to_owned(),
    };
    let cc = [("grant_type", "client_credentials")];
    token(&app, &old, &cc)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(token(&app, &new, &cc).await.status, StatusCode::OK);

    // Review: submit, staff approve, staff make it public.
    let (status, submitted) = app
        .post(&dev, &format!("/apps/{id}/submit"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["review"]["status"], "pending");
    let staff = app.staff().await;
    let (_, queue) = app.get(&staff, "/review-queue").await;
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str())
    );
    let (status, approved) = app
        .post(
            &staff,
            &format!("/apps/{id}/review"),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["review"]["status"], "approved");
    // The sandbox app itself never leaves Private: staff certify it instead, which makes its
    // production registration with a Key of its own.
    let (status, e) = app
        .put(
            &staff,
            &format!("/apps/{id}/visibility"),
            json!({ "visibility": "public" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"], "certification_required");
    let (status, certified) = app
        .post(
            &staff,
            &format!("/apps/{id}/certification"),
            json!({ "visibility": "public" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{certified}");
    let prod = certified["production"]["id"].as_str().unwrap().to_owned();
    assert_ne!(prod, id);
    assert_eq!(certified["production"]["visibility"], "public");
    assert_eq!(certified["production"]["certified_from"], id.as_str());
    assert_eq!(certified["sandbox"]["visibility"], "private");

    // A second company sees the production registration (not the sandbox app), not
    // enabled; enables it; disables it.
    let other = app
        .company_with_admin("Globex", "professional", false)
        .await;
    let path = format!("/companies/{}/enablements", other.company_id);
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, &prod), Some(false));
    assert_eq!(enabled_in(&list, &id), None, "the sandbox app stays hidden");
    let (status, on) = app
        .put(
            &other,
            &format!("{path}/{prod}"),
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{on}");
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, &prod), Some(true));
    let (status, _) = app
        .put(
            &other,
            &format!("{path}/{prod}"),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, &prod), Some(false));
    // The owner's enablement is untouched.
    let (_, list) = app
        .get(&dev, &format!("/companies/{}/enablements", dev.company_id))
        .await;
    assert_eq!(enabled_in(&list, &id), Some(true));
}

async fn dependencies_and_groups_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let register = |apis: Value| {
        let body =
            json!({ "name": "Probe", "apis": apis, "redirect_uris": ["https://a.example/cb"] });
        let dev = dev.clone();
        let app = &app;
        async move { app.post(&dev, "/apps", body).await }
    };

    let (status, e) = register(json!([{ "api": "quickexpense.writeonly" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "apis");
    assert!(
        e["message"].as_str().unwrap().contains("Expense Report"),
        "{e}"
    );

    let (status, e) = register(json!([{ "api": "receipts.read" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().unwrap().contains("Imaging"), "{e}");

    let (status, e) = register(json!([{ "api": "payroll.write" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "apis[0].api");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown API 'payroll.write'")
    );

    let (status, e) = register(json!([
        { "api": "expense.report.read", "sensitive_data_groups": ["travel.profile.passport"] }
    ]))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "apis[0].sensitive_data_groups");
    assert!(
        e["message"].as_str().unwrap().contains("Travel Profile"),
        "{e}"
    );

    let (status, e) = register(json!([{ "api": "travel.profile.medical" }])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "apis[0].api");

    // Nothing was stored by the refused registrations.
    let (_, apps) = app.get(&dev, "/apps").await;
    assert_eq!(apps.as_array().unwrap().len(), 0);

    // With its dependency, Quick Expense registers.
    let (status, _) =
        register(json!([{ "api": "expense.report.read" }, { "api": "quickexpense.writeonly" }]))
            .await;
    assert_eq!(status, StatusCode::CREATED);

    // Redirect URIs: https, or http on loopback only.
    let (status, e) = app
        .post(
            &dev,
            "/apps",
            json!({ "name": "Http", "apis": [], "redirect_uris": ["http://evil.example/cb"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "redirect_uris[0]");
}

async fn other_companies_data_is_invisible(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let reg = app.register_app(&dev, expense_app("Private App")).await;
    let id = reg["client_id"].as_str().unwrap();
    let other = app.company_with_admin("Initech", "standard", true).await;

    for path in [
        format!("/apps/{id}"),
        format!("/companies/{}", dev.company_id),
        format!("/companies/{}/users", dev.company_id),
        format!("/companies/{}/apps", dev.company_id),
        format!("/companies/{}/enablements", dev.company_id),
    ] {
        let (status, body) = app.get(&other, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = app
        .patch(
            &other,
            &format!("/apps/{id}"),
            json!({ "name": "Hijacked" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&other, &format!("/apps/{id}/secret"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A private app of another company cannot be enabled, nor does it show up.
    let path = format!("/companies/{}/enablements", other.company_id);
    let (status, _) = app
        .put(&other, &format!("{path}/{id}"), json!({ "enabled": true }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, id), None);
    // Enabling for another company is refused.
    let (status, _) = app
        .put(
            &other,
            &format!("/companies/{}/enablements/{id}", dev.company_id),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Companies: one's own only; the audit log of another company: refused.
    let (_, companies) = app.get(&other, "/companies").await;
    assert_eq!(companies.as_array().unwrap().len(), 1);
    assert_eq!(companies[0]["id"], other.company_id.as_str());
    let (status, _) = app
        .get(&other, &format!("/audit?company_id={}", dev.company_id))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing changed for the owner.
    let (_, mine) = app.get(&dev, &format!("/apps/{id}")).await;
    assert_eq!(mine["name"], "Private App");
}

async fn only_staff_review_and_set_visibility(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let staff = app.staff().await;
    let reg = app.register_app(&dev, expense_app("Needs Review")).await;
    let id = reg["client_id"].as_str().unwrap();

    // Not approved yet: even staff cannot make it public.
    let (status, e) = app
        .put(
            &staff,
            &format!("/apps/{id}/visibility"),
            json!({ "visibility": "public" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(e["error"], "not_approved");
    // The owner cannot review or change visibility.
    app.post(&dev, &format!("/apps/{id}/submit"), json!({}))
        .await;
    let (status, _) = app
        .post(
            &dev,
            &format!("/apps/{id}/review"),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, e) = app
        .put(
            &dev,
            &format!("/apps/{id}/visibility"),
            json!({ "visibility": "global" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    // A rejection needs a reason, and is shown to the owner.
    let (status, e) = app
        .post(
            &staff,
            &format!("/apps/{id}/review"),
            json!({ "decision": "reject" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "reason");
    let (status, rejected) = app
        .post(
            &staff,
            &format!("/apps/{id}/review"),
            json!({ "decision": "reject", "reason": "asks for passports it does not need" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rejected["review"]["status"], "rejected");
    let (_, seen) = app.get(&dev, &format!("/apps/{id}")).await;
    assert_eq!(
        seen["review"]["reason"],
        "asks for passports it does not need"
    );
    // Resubmitted, approved, then global: enabled for a new company without it doing anything.
    app.post(&dev, &format!("/apps/{id}/submit"), json!({}))
        .await;
    app.post(
        &staff,
        &format!("/apps/{id}/review"),
        json!({ "decision": "approve" }),
    )
    .await;
    // The owner cannot certify.
    let (status, _) = app
        .post(
            &dev,
            &format!("/apps/{id}/certification"),
            json!({ "visibility": "global" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, certified) = app
        .post(
            &staff,
            &format!("/apps/{id}/certification"),
            json!({ "visibility": "global" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{certified}");
    let prod = certified["production"]["id"].as_str().unwrap().to_owned();
    let prod = prod.as_str();
    let other = app.company_with_admin("Umbrella", "standard", false).await;
    let path = format!("/companies/{}/enablements", other.company_id);
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, prod), Some(true));
    app.put(
        &other,
        &format!("{path}/{prod}"),
        json!({ "enabled": false }),
    )
    .await;
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, prod), Some(false));
    // Back to private: other companies lose it.
    let (status, _) = app
        .put(
            &staff,
            &format!("/apps/{prod}/visibility"),
            json!({ "visibility": "private" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, prod), None);
}

async fn inactive_apps_cannot_be_enabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let staff = app.staff().await;
    let reg = app
        .register_app(&dev, expense_app("Sometimes Active"))
        .await;
    let id = reg["client_id"].as_str().unwrap();
    app.post(&dev, &format!("/apps/{id}/submit"), json!({}))
        .await;
    app.post(
        &staff,
        &format!("/apps/{id}/review"),
        json!({ "decision": "approve" }),
    )
    .await;
    let (_, certified) = app
        .post(
            &staff,
            &format!("/apps/{id}/certification"),
            json!({ "visibility": "public" }),
        )
        .await;
    let id = certified["production"]["id"].as_str().unwrap();
    // The owner makes its production registration inactive.
    let (status, _) = app
        .patch(&dev, &format!("/apps/{id}"), json!({ "active": false }))
        .await;
    assert_eq!(status, StatusCode::OK);

    let other = app.company_with_admin("Hooli", "professional", false).await;
    let path = format!("/companies/{}/enablements", other.company_id);
    let (_, list) = app.get(&other, &path).await;
    assert_eq!(enabled_in(&list, id), None, "inactive apps are not listed");
    let (status, e) = app
        .put(&other, &format!("{path}/{id}"), json!({ "enabled": true }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(e["error"], "app_inactive");
    // Its own company does not list it either.
    let (_, list) = app
        .get(&dev, &format!("/companies/{}/enablements", dev.company_id))
        .await;
    assert_eq!(enabled_in(&list, id), None);
}

async fn asking_for_more_after_review_needs_a_new_review(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let staff = app.staff().await;
    let reg = app.register_app(&dev, expense_app("Reviewed")).await;
    let id = reg["client_id"].as_str().unwrap();
    let approve = || async {
        let (status, body) = app
            .post(&dev, &format!("/apps/{id}/submit"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app
            .post(
                &staff,
                &format!("/apps/{id}/review"),
                json!({ "decision": "approve" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    };
    approve().await;
    let (_, certified) = app
        .post(
            &staff,
            &format!("/apps/{id}/certification"),
            json!({ "visibility": "global" }),
        )
        .await;
    let prod = certified["production"]["id"].as_str().unwrap().to_owned();
    let prod = prod.as_str();
    let other = app
        .company_with_admin("Soylent", "professional", false)
        .await;
    let path = format!("/companies/{}/enablements", other.company_id);
    assert_eq!(
        enabled_in(&app.get(&other, &path).await.1, prod),
        Some(true)
    );

    // Asking for less keeps the review.
    let (_, narrowed) = app
        .patch(
            &dev,
            &format!("/apps/{id}"),
            json!({ "apis": [{ "api": "expense.report.read" }] }),
        )
        .await;
    assert_eq!(narrowed["review"]["status"], "approved");
    // Asking for more (the passport group) than staff approved: the sandbox app goes back to
    // review; production keeps what was certified, for every company that uses it.
    let more = json!({ "apis": [{ "api": "expense.report.read" }, { "api": "travel.profile.read", "sensitive_data_groups": ["travel.profile.passport"] }] });
    let (status, widened) = app.patch(&dev, &format!("/apps/{id}"), more.clone()).await;
    assert_eq!(status, StatusCode::OK, "{widened}");
    assert_eq!(widened["review"]["status"], "draft");
    assert_eq!(widened["visibility"], "private");
    assert!(
        widened["review"]["reason"]
            .as_str()
            .unwrap()
            .contains("submit the application again")
    );
    let (_, log) = app.get(&dev, "/audit?limit=1").await;
    assert_eq!(
        (
            log[0]["before"]["review"]["status"].clone(),
            log[0]["after"]["review"]["status"].clone()
        ),
        (json!("approved"), json!("draft"))
    );
    assert_eq!(
        enabled_in(&app.get(&other, &path).await.1, prod),
        Some(true)
    );
    let (_, production) = app.get(&dev, &format!("/apps/{prod}")).await;
    assert_eq!(production["apis"], certified["production"]["apis"]);
    // Not certified, not reviewed: the certification is refused.
    let (status, e) = app
        .post(
            &staff,
            &format!("/apps/{id}/certification"),
            json!({ "visibility": "global" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(e["error"], "not_approved");
    // The production registration cannot be widened directly (Imaging was never certified).
    let beyond =
        json!({ "apis": [{ "api": "expense.report.read" }, { "api": "imaging.readwrite" }] });
    let (status, e) = app.patch(&dev, &format!("/apps/{prod}"), beyond).await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"], "certification_required");
    // Reviewed and certified again: production gets the new APIs, same Key.
    approve().await;
    let (status, again) = app
        .post(
            &staff,
            &format!("/apps/{id}/certification"),
            json!({ "visibility": "public" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["production"]["id"], prod);
    assert_eq!(again["production"]["visibility"], "public");
    assert_eq!(again["production"]["apis"], widened["apis"]);
    let (_, shown) = app.get(&dev, &format!("/apps/{id}/production")).await;
    assert_eq!(shown["id"], prod);
}

async fn bad_requests_get_clear_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/admin/v1/apps"))
            .bearer_auth(&dev.token)
            .header("content-type", content_type)
            .body(body)
    };
    let resp = raw("{\"name\": ", "application/json").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"], "invalid_request");
    assert!(e["message"].as_str().unwrap().starts_with("malformed JSON"));

    let resp = raw("name=x", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, e) = app.post(&dev, "/apps", json!({ "name": 5 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "name");
    let (status, e) = app
        .post(&dev, "/apps", json!({ "description": "no name" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "name");
    let (status, e) = app
        .post(&dev, "/apps", json!({ "name": "X", "colour": "red" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "colour");
    let (status, e) = app
        .post(
            &dev,
            "/apps",
            json!({ "name": "X", "grant_types": ["implicit"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "grant_types[0]");

    // The server stops reading an oversized body and closes the connection: send it on a
    // connection of its own.
    let huge = json!({ "name": "Big", "description": "x".repeat(200_000) });
    let resp = reqwest::Client::new()
        .post(app.url("/admin/v1/apps"))
        .bearer_auth(&dev.token)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"], "payload_too_large");

    let (status, e) = app.get(&dev, "/apps/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "app_id");
    let (status, _) = app
        .get(&dev, &format!("/apps/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Duplicate names within a company conflict.
    app.register_app(&dev, expense_app("Twin")).await;
    let (status, e) = app.post(&dev, "/apps", expense_app("Twin")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(e["error"], "name_taken");

    // New Secret grace beyond the maximum names the field.
    let reg = app.register_app(&dev, expense_app("Graceful")).await;
    let id = reg["client_id"].as_str().unwrap();
    let (status, e) = app
        .post(
            &dev,
            &format!("/apps/{id}/secret"),
            json!({ "grace_seconds": 99_999_999 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "grace_seconds");

    // Nothing the client sent produced a 500 above; the server still answers.
    let (status, _) = app.get(&dev, "/me").await;
    assert_eq!(status, StatusCode::OK);
}

async fn sessions_and_csrf(backend: Backend) {
    let app = spawn_app(backend).await;
    // Wrong password and unknown user look the same.
    for (login, pw) in [
        (app.developer.login_id.as_str(), "wrong password!"),
        ("nobody@nowhere.example", "whatever password"),
    ] {
        let (status, e) = app
            .call(
                Method::POST,
                "/session",
                None,
                Some(json!({ "login_id": login, "password": pw })),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(e["message"], "wrong login id or password");
    }
    let (status, _) = app.call(Method::GET, "/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(Method::GET, "/me", Some("forged-token"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A browser session: HttpOnly cookie; writes need the CSRF token.
    let resp = app
        .client
        .post(app.url("/admin/v1/session"))
        .json(&json!({ "login_id": app.developer.login_id, "password": app.developer.password }))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body: Value = resp.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap();
    let session_cookie = cookie.split(';').next().unwrap().to_owned();
    let write = |csrf: Option<&str>| {
        let mut r = app
            .client
            .post(app.url("/admin/v1/apps"))
            .header("cookie", &session_cookie)
            .json(&expense_app(&format!("Cookie App {}", csrf.is_some())));
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.send()
    };
    assert_eq!(write(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        write(Some("nope")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        write(Some(csrf)).await.unwrap().status(),
        StatusCode::CREATED
    );
    let with_cookie = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header("cookie", &session_cookie)
            .send()
    };
    let me = with_cookie(Method::GET, "/admin/v1/me").await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // Sign out ends the session.
    let out = with_cookie(Method::DELETE, "/admin/v1/session")
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = with_cookie(Method::GET, "/admin/v1/me").await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

async fn users_and_permissions(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let company = dev.company_id.clone();
    // A user without admin permissions: generated password shown once; cannot administer.
    let (status, created) = app
        .post(
            &dev,
            &format!("/companies/{company}/users"),
            json!({ "login_id": "Clerk@Sandbox.Portico.Test", "display_name": "Clerk" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["user"]["login_id"], "clerk@sandbox.portico.test");
    let password = created["generated_password"].as_str().unwrap().to_owned();
    let clerk = app
        .sign_in(&crate::helpers::Credentials {
            login_id: "clerk@sandbox.portico.test".into(),
            password,
        })
        .await;
    let (status, e) = app.post(&clerk, "/apps", expense_app("Clerk App")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Web Services Administrator"),
        "{e}"
    );
    let (status, _) = app
        .get(&clerk, &format!("/companies/{company}/enablements"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Only staff grant staff; a duplicate login id conflicts; weak passwords are refused.
    let (status, e) = app
        .post(&dev, &format!("/companies/{company}/users"), json!({ "login_id": "x@sandbox.portico.test", "display_name": "X", "permissions": { "staff": true } }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "permissions.staff");
    let (status, e) = app
        .post(
            &dev,
            &format!("/companies/{company}/users"),
            json!({ "login_id": "clerk@sandbox.portico.test", "display_name": "Again" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(e["error"], "login_id_taken");
    let (status, e) = app
        .post(&dev, &format!("/companies/{company}/users"), json!({ "login_id": "short@sandbox.portico.test", "display_name": "S", "password": "short" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "password");

    // On a Standard company, Can Administer is what counts.
    let std_admin = app
        .company_with_admin("Standard Co", "standard", true)
        .await;
    let reg = app.register_app(&std_admin, expense_app("Std App")).await;
    assert_eq!(reg["app"]["visibility"], "private");

    // A password reset is audited, without the password.
    let (status, _) = app
        .patch(
            &dev,
            &format!("/users/{}", clerk.user_id),
            json!({ "password": "another long password" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, log) = app.get(&dev, "/audit?limit=1").await;
    assert_eq!(log[0]["action"], "user.update");
    assert_eq!(log[0]["after"]["password_changed"], true);
    assert!(!log.to_string().contains("another long password"));

    // Disabling a user ends what they can do at once.
    let (status, _) = app
        .patch(
            &dev,
            &format!("/users/{}", clerk.user_id),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&clerk, "/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An admin cannot disable themselves.
    let (status, e) = app
        .patch(
            &dev,
            &format!("/users/{}", dev.user_id),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["field"], "enabled");

    // Staff disable a company: its admins are signed out of everything.
    let staff = app.staff().await;
    let (status, _) = app
        .patch(
            &staff,
            &format!("/companies/{}", std_admin.company_id),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&std_admin, "/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Company admins cannot create companies.
    let (status, _) = app
        .post(
            &dev,
            "/companies",
            json!({ "name": "Mine", "domain": "mine.example", "edition": "standard" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn audit_log_records_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let reg = app.register_app(&dev, expense_app("Audited")).await;
    let id = reg["client_id"].as_str().unwrap();
    let secret = reg["client_secret"].as_str().unwrap().to_owned();
    app.patch(&dev, &format!("/apps/{id}"), json!({ "name": "Audited 2" }))
        .await;
    let (_, renewed) = app
        .post(&dev, &format!("/apps/{id}/secret"), json!({}))
        .await;
    let new_secret = renewed["client_secret"].as_str().unwrap().to_owned();

    let (status, entries) = app.get(&dev, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    let acts = actions(&entries);
    assert_eq!(&acts[..3], ["app.new_secret", "app.modify", "app.register"]);
    let modify = &entries[1];
    assert_eq!(modify["actor_login"], app.developer.login_id.as_str());
    assert_eq!(modify["company_id"], dev.company_id.as_str());
    assert_eq!(modify["target_id"], id);
    assert_eq!(modify["before"]["name"], "Audited");
    assert_eq!(modify["after"]["name"], "Audited 2");
    // Never a secret, nor its hash.
    let text = entries.to_string();
    assert!(!text.contains(&secret) && !text.contains(&new_secret) && !text.contains("argon2"));
    // Paging.
    let last = entries[0]["id"].as_i64().unwrap();
    let (_, older) = app
        .get(&dev, &format!("/audit?before={last}&limit=1"))
        .await;
    assert_eq!(actions(&older), ["app.modify"]);
    // Staff see every company's entries.
    let staff = app.staff().await;
    let (_, all) = app.get(&staff, "/audit?limit=500").await;
    assert!(actions(&all).contains(&"company.create".to_owned()));
}
