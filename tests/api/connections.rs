//! Connections against the real binary: an admin lists the live grants at their company and
//! disconnects one, a user's, an app's; staff end an app's everywhere; a user sees and ends
//! their own; remembered consent spares the page until a disconnect withdraws it; bad input
//! changes nothing; every action is audited.

use crate::both_backends;
use crate::helpers::{Backend, Session, TestApp, spawn_app};
use crate::oauth_helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

both_backends!(
    admins_see_and_disconnect_connections,
    users_see_and_disconnect_their_own,
    consent_is_remembered_until_withdrawn,
    console_pages,
);

const GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "company_request_token",
];

/// A user connection (through the authorization page) and the company's own connection.
async fn connect_user_and_company(
    app: &TestApp,
    dev: &Session,
    client: &AppCredentials,
) -> (Answer, Answer) {
    let (code, verifier) = authorization_code(app, dev, client, None).await;
    let user = exchange(app, client, &code, &verifier).await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.body);
    let rt = request_token(app, dev, client).await;
    let company = company_token(app, client, &dev.company_id, &rt).await;
    assert_eq!(company.status, StatusCode::OK, "{}", company.body);
    (user, company)
}

async fn call(app: &TestApp, s: &Session, method: Method, path: &str) -> (StatusCode, Value) {
    app.call(method, path, Some(&s.token), None).await
}

async fn admins_see_and_disconnect_connections(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Expense Sync", GRANTS).await;
    let other = register(&app, &dev, "Travel Sync", GRANTS).await;
    let (user, company) = connect_user_and_company(&app, &dev, &client).await;
    let rt = request_token(&app, &dev, &other).await;
    let other_company = company_token(&app, &other, &dev.company_id, &rt).await;
    let c = &dev.company_id;

    // Every live grant, with who, what and when.
    let (status, list) = call(
        &app,
        &dev,
        Method::GET,
        &format!("/companies/{c}/connections"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 3, "{list:?}");
    let of = |app_id: &str, kind: &str| {
        list.iter()
            .find(|x| x["app_id"] == app_id && x["principal_type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} connection of {app_id} in {list:?}"))
            .clone()
    };
    let u = of(&client.id, "user");
    assert_eq!(u["app_name"], "Expense Sync");
    assert_eq!(u["user_id"], dev.user_id.as_str());
    assert!(u["user_login"].is_string());
    assert_eq!(
        u["scopes"],
        serde_json::json!(["expense.report.read", "travel.profile.read"])
    );
    assert_eq!(
        u["sensitive_data_groups"],
        serde_json::json!(["travel.profile.passport"])
    );
    for field in ["created_at", "last_used_at", "expires_at"] {
        assert!(u[field].is_string(), "{field}: {u}");
    }
    let co = of(&client.id, "company");
    assert!(co["user_id"].is_null());

    // Filtered by app.
    let (_, only) = call(
        &app,
        &dev,
        Method::GET,
        &format!("/companies/{c}/connections?app_id={}", other.id),
    )
    .await;
    assert_eq!(only.as_array().unwrap().len(), 1, "{only}");

    // Bad input: a clear error naming the field, nothing changed.
    for (path, status, field) in [
        (
            format!("/companies/{c}/connections?app_id=not-a-uuid"),
            400,
            Some("app_id"),
        ),
        (
            format!("/companies/{c}/connections?user_id=1"),
            400,
            Some("user_id"),
        ),
        (
            format!("/companies/{c}/connections?app_id={}", uuid::Uuid::new_v4()),
            404,
            None,
        ),
        (
            format!(
                "/companies/{c}/connections?user_id={}",
                uuid::Uuid::new_v4()
            ),
            404,
            None,
        ),
        (format!("/companies/{c}/connections?colour=red"), 400, None),
    ] {
        let (s, body) = call(&app, &dev, Method::GET, &path).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        if let Some(f) = field {
            assert_eq!(body["field"], f, "{path}: {body}");
        }
    }
    for (path, status) in [
        // Never the whole company by accident.
        (format!("/companies/{c}/connections"), 400),
        (format!("/companies/{c}/connections/no-such-grant"), 404),
        (format!("/companies/{c}/connections/bad%20id"), 400),
        (
            format!("/companies/{c}/connections?app_id={}", uuid::Uuid::new_v4()),
            404,
        ),
    ] {
        let (s, body) = call(&app, &dev, Method::DELETE, &path).await;
        assert_eq!(s.as_u16(), status, "DELETE {path}: {body}");
    }
    // Another company's admin: not found, and nothing ends.
    let globex = app
        .company_with_admin("Globex", "professional", false)
        .await;
    let grant = co["grant_id"].as_str().unwrap();
    for (m, path) in [
        (Method::GET, format!("/companies/{c}/connections")),
        (
            Method::DELETE,
            format!("/companies/{c}/connections/{grant}"),
        ),
        (
            Method::DELETE,
            format!("/companies/{}/connections/{grant}", globex.company_id),
        ),
    ] {
        let (s, body) = call(&app, &globex, m.clone(), &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}: {body}");
    }
    assert!(is_active(&app, &client, &company.str("access_token")).await);

    // Disconnect one grant: its refresh token and access tokens stop at once.
    let (s, body) = call(
        &app,
        &dev,
        Method::DELETE,
        &format!("/companies/{c}/connections/{grant}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["grants_revoked"], 1);
    assert!(!is_active(&app, &client, &company.str("access_token")).await);
    refresh(&app, &client, &company.str("refresh_token"))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(is_active(&app, &client, &user.str("access_token")).await);
    // The same page again (stale): not found, nothing else ends.
    let (s, _) = call(
        &app,
        &dev,
        Method::DELETE,
        &format!("/companies/{c}/connections/{grant}"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(is_active(&app, &client, &user.str("access_token")).await);

    // All of a user's.
    let (s, body) = call(
        &app,
        &dev,
        Method::DELETE,
        &format!("/companies/{c}/connections?user_id={}", dev.user_id),
    )
    .await;
    assert_eq!(
        (s, body["grants_revoked"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{body}"
    );
    assert!(!is_active(&app, &client, &user.str("access_token")).await);

    // Disable is a suspension, Disconnect is not: the other app's connection survives a
    // disable and re-enable, then staff end the app's connections everywhere.
    let (s, _) = app
        .put(
            &dev,
            &format!("/companies/{c}/enablements/{}", other.id),
            serde_json::json!({"enabled": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!is_active(&app, &other, &other_company.str("access_token")).await);
    let (s, _) = app
        .put(
            &dev,
            &format!("/companies/{c}/enablements/{}", other.id),
            serde_json::json!({"enabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(is_active(&app, &other, &other_company.str("access_token")).await);
    let (s, _) = call(
        &app,
        &dev,
        Method::DELETE,
        &format!("/apps/{}/connections", other.id),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "only staff end an app's connections everywhere"
    );
    let staff = app.staff().await;
    let (s, body) = call(
        &app,
        &staff,
        Method::DELETE,
        &format!("/apps/{}/connections", other.id),
    )
    .await;
    assert_eq!(
        (s, body["grants_revoked"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{body}"
    );
    assert!(!is_active(&app, &other, &other_company.str("access_token")).await);
    let (_, list) = call(
        &app,
        &dev,
        Method::GET,
        &format!("/companies/{c}/connections"),
    )
    .await;
    assert_eq!(list, serde_json::json!([]));

    // Audited: who ended what.
    let (_, audit) = app.get(&staff, &format!("/audit?company_id={c}")).await;
    let disconnects: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "connection.disconnect")
        .collect();
    assert_eq!(disconnects.len(), 3, "{audit}");
    assert!(
        disconnects
            .iter()
            .any(|e| e["target_type"] == "grant" && e["target_id"] == grant)
    );
    assert!(
        disconnects
            .iter()
            .all(|e| e["after"]["grants_revoked"] == 1),
        "{disconnects:?}"
    );
}

async fn users_see_and_disconnect_their_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Expense Sync", GRANTS).await;
    let employee = app.user_of(&dev, "employee@sandbox.example").await;
    let (code, verifier) = authorization_code(&app, &employee, &client, None).await;
    let mine = exchange(&app, &client, &code, &verifier).await;
    let (_, admins) = connect_user_and_company(&app, &dev, &client).await;

    // A plain user sees only their own connection, and not the company's page.
    let (s, list) = call(&app, &employee, Method::GET, "/me/connections").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["app_name"], "Expense Sync");
    assert_eq!(list[0]["user_id"], employee.user_id.as_str());
    let (s, _) = call(
        &app,
        &employee,
        Method::GET,
        &format!("/companies/{}/connections", dev.company_id),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    for (path, status) in [
        (format!("/me/connections/{}", uuid::Uuid::new_v4()), 404),
        ("/me/connections/not-an-id".to_owned(), 400),
    ] {
        let (s, body) = call(&app, &employee, Method::DELETE, &path).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
    }
    let (s, body) = call(
        &app,
        &employee,
        Method::DELETE,
        &format!("/me/connections/{}", client.id),
    )
    .await;
    assert_eq!(
        (s, body["grants_revoked"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{body}"
    );
    assert!(!is_active(&app, &client, &mine.str("access_token")).await);
    // Nobody else's connection ends with it.
    assert!(is_active(&app, &client, &admins.str("access_token")).await);
    let (_, list) = call(&app, &employee, Method::GET, "/me/connections").await;
    assert_eq!(list, serde_json::json!([]));
    // Again: nothing left to end.
    let (s, _) = call(
        &app,
        &employee,
        Method::DELETE,
        &format!("/me/connections/{}", client.id),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn consent_is_remembered_until_withdrawn(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Expense Sync", GRANTS).await;
    let (verifier, challenge) = pkce();
    let pkce_params = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut q = pkce_params.to_vec();
        q.extend_from_slice(extra);
        authorize_url(&app, &client, &q)
    };
    let narrow = [("scope", "expense.report.read")];
    // First time: the page. Allowed once, not asked again for the same or less.
    let to = consent(&app, &dev, &with(&narrow), "allow").await;
    assert!(query(&to, "code").is_some());
    let again = browse(&app, &dev, &with(&narrow)).await;
    let to = redirect_target(&again);
    let code = query(&to, "code").expect("a code without the page");
    assert_eq!(
        exchange(&app, &client, &code, &verifier).await.status,
        StatusCode::OK
    );
    // prompt=none now works too.
    let silent = browse(
        &app,
        &dev,
        &with(&[("scope", "expense.report.read"), ("prompt", "none")]),
    )
    .await;
    assert!(query(&redirect_target(&silent), "code").is_some());
    // prompt=consent insists; more scopes (a sensitive data group) ask again.
    let page = browse(
        &app,
        &dev,
        &with(&[("scope", "expense.report.read"), ("prompt", "consent")]),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let more = [(
        "scope",
        "expense.report.read travel.profile.read travel.profile.passport",
    )];
    let page = browse(&app, &dev, &with(&more)).await;
    assert_eq!(page.status(), StatusCode::OK);
    consent(&app, &dev, &with(&more), "allow").await;
    // What was allowed before is still remembered with the rest.
    assert_eq!(
        browse(&app, &dev, &with(&narrow)).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browse(&app, &dev, &with(&more)).await.status(),
        StatusCode::SEE_OTHER
    );
    // A disconnect withdraws it: the page again (and prompt=none says so).
    let (s, _) = call(
        &app,
        &dev,
        Method::DELETE,
        &format!("/me/connections/{}", client.id),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        browse(&app, &dev, &with(&narrow)).await.status(),
        StatusCode::OK
    );
    let silent = browse(
        &app,
        &dev,
        &with(&[("scope", "expense.report.read"), ("prompt", "none")]),
    )
    .await;
    assert_eq!(
        query(&redirect_target(&silent), "error").as_deref(),
        Some("consent_required")
    );
}

/// The console's pages: an admin's Connections with Disconnect, a user's connected apps.
async fn console_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Expense Sync", GRANTS).await;
    let employee = app.user_of(&dev, "employee@sandbox.example").await;
    let (code, verifier) = authorization_code(&app, &employee, &client, None).await;
    let theirs = exchange(&app, &client, &code, &verifier).await;
    let (_, company) = connect_user_and_company(&app, &dev, &client).await;
    let page = |s: &Session, path: &str| {
        let url = app.url(path);
        let cookie = format!("portico_session={}", s.token);
        let http = app.client.clone();
        async move {
            let resp = http.get(url).header("cookie", cookie).send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let post = |s: &Session, path: &str, form: Vec<(String, String)>| {
        let url = app.url(path);
        let cookie = format!("portico_session={}", s.token);
        let http = app.client.clone();
        async move {
            http.post(url)
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(&form).unwrap())
                .send()
                .await
                .unwrap()
        }
    };
    let csrf = |html: &str| {
        hidden_inputs(html)
            .into_iter()
            .find(|(k, _)| k == "csrf_token")
            .expect("a CSRF token")
            .1
    };

    // The admin's page lists both connections and says what Disconnect means.
    let (status, html) = page(&dev, "/admin/connections").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Expense Sync") && html.contains("employee@sandbox.example"),
        "{html}"
    );
    assert!(html.contains("Company connection") && html.contains("ends a connection for good"));
    assert!(html.contains("travel.profile.passport"));
    // A plain user may not see it, but sees their own.
    let (status, _) = page(&employee, "/admin/connections").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, mine) = page(&employee, "/admin/my-connections").await;
    assert_eq!(status, StatusCode::OK);
    assert!(mine.contains("Expense Sync"), "{mine}");

    // Without the CSRF token nothing happens.
    let resp = post(
        &dev,
        "/admin/connections/disconnect",
        vec![("app".into(), client.id.clone())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(is_active(&app, &client, &company.str("access_token")).await);

    // The user disconnects the app from themselves.
    let form = vec![("csrf_token".into(), csrf(&mine))];
    let resp = post(
        &employee,
        &format!("/admin/my-connections/{}/disconnect", client.id),
        form,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(!is_active(&app, &client, &theirs.str("access_token")).await);
    let (_, mine) = page(&employee, "/admin/my-connections?done=1").await;
    assert!(
        mine.contains("No application is connected to you")
            && mine.contains("1 connection was disconnected")
    );

    // The admin disconnects every connection of the app at the company.
    let (_, html) = page(&dev, "/admin/connections").await;
    let form = vec![
        ("csrf_token".into(), csrf(&html)),
        ("app".into(), client.id.clone()),
    ];
    let resp = post(&dev, "/admin/connections/disconnect", form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(!is_active(&app, &client, &company.str("access_token")).await);
    let (_, html) = page(&dev, "/admin/connections").await;
    assert!(html.contains("No application is connected"), "{html}");
    // A stale page's button: a clear error, nothing else changes.
    let form = vec![
        ("csrf_token".into(), csrf(&html)),
        ("grant".into(), "gone".into()),
    ];
    let resp = post(&dev, "/admin/connections/disconnect", form).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
