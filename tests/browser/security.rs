//! The console's security properties, seen from a browser and from a forging client: escaping,
//! CSRF, security headers, redirects after sign-in, keyboard use, and pages for users without
//! the admin permission.

use crate::harness::{Browser, plain_user, spawn_app};
use fantoccini::{
    actions::{InputSource, KeyAction, KeyActions},
    key::Key,
};
use reqwest::{StatusCode, header};
use std::time::Duration;

const XSS: &str = "<script>alert(1)</script>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_render_as_text_and_forged_posts_are_refused() {
    let app = spawn_app().await;
    let Some(mut b) = Browser::start(&app, "security").await else {
        return;
    };
    b.sign_in(&app.developer).await;

    // An app named like a script shows as that text, and nothing runs.
    b.goto("/admin/apps/new").await;
    b.heading("New Partner Application").await;
    b.fill("#name", XSS).await;
    b.fill("#description", "<img src=x onerror=alert(2)>").await;
    b.fill("#redirect_uris", "https://app.example/cb").await;
    b.click("form.app-form button[type=submit]").await;
    b.heading("is registered").await;
    assert!(b.text("h1").await.contains(XSS));
    b.goto("/admin/apps").await;
    b.heading("Application Registration").await;
    let table = b.text("table").await;
    assert!(table.contains(XSS), "{table}");
    assert!(table.contains("<img src=x onerror=alert(2)>"), "{table}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!b.dialog_open().await, "a script from the name ran");
    let scripts = b
        .script("return document.querySelectorAll('script').length")
        .await
        .unwrap();
    assert_eq!(scripts, 1, "only the console's own script is on the page");
    assert_eq!(
        b.script("return document.querySelectorAll('img').length")
            .await
            .unwrap(),
        0
    );
    b.screenshot("escaped-names").await;

    // A form without its CSRF token is refused, in the browser ...
    b.goto("/admin/apps/new").await;
    b.heading("New Partner Application").await;
    b.fill("#name", "Forged").await;
    b.fill("#redirect_uris", "https://app.example/cb").await;
    b.script(
        "document.querySelector('form.app-form input[name=csrf_token]').remove(); return null",
    )
    .await
    .unwrap();
    b.click("form.app-form button[type=submit]").await;
    b.heading("Form expired").await;
    assert!(b.text("main").await.to_lowercase().contains("error 403"));
    b.screenshot("csrf-refused").await;
    b.goto("/admin/apps").await;
    assert!(!b.text("main").await.contains("Forged"));

    // ... and from a client holding the session cookie: 403 without or with a wrong token.
    let session = b.session_cookie().await;
    let cookie = format!("portico_session={session}");
    let form =
        "name=Forged&redirect_uris=https%3A%2F%2Fapp.example%2Fcb&grant_type=authorization_code";
    for body in [form.to_owned(), format!("{form}&csrf_token=wrong")] {
        let resp = app
            .client
            .post(app.url("/admin/apps"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let resp = app
        .client
        .post(app.url("/admin/sign-out"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "sign-out needs the token too"
    );

    // With the token, the secret comes back in the POST response only, never cached.
    let csrf = portico_http::auth::csrf_token(&session);
    let resp = app
        .client
        .post(app.url("/admin/apps"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("{form}&csrf_token={csrf}&name=Scripted"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    assert!(resp.text().await.unwrap().contains("id=\"client-secret\""));

    // Every page carries the security headers.
    let resp = app
        .client
        .get(app.url("/admin/apps"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(
        h[header::CONTENT_SECURITY_POLICY],
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(!html.contains("style="), "no inline style");

    // The static assets: right types, cached for long.
    for (path, ct) in [
        ("/static/portico.css", "text/css"),
        ("/static/portico.js", "text/javascript"),
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(ct)
        );
        assert!(
            resp.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age=31536000")
        );
        assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    // Not signed in: a GET goes to the sign-in page (303), a POST is refused.
    let resp = app
        .client
        .get(app.url("/admin/apps/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[header::LOCATION],
        "/admin/sign-in?next=%2Fadmin%2Fapps%2Fnew"
    );

    // The sign-in form has its own (double-submit) CSRF token.
    let resp = app
        .client
        .post(app.url("/admin/sign-in"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "login_id={}&password={}",
            app.developer.login_id, app.developer.password
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        resp.headers()
            .get(header::SET_COOKIE)
            .is_some_and(|c| { !c.to_str().unwrap().starts_with("portico_session=") })
    );

    // Signing in never sends the browser off-site, whatever `next` says.
    b.sign_out().await;
    b.goto("/admin/sign-in?next=//evil.example/admin").await;
    b.sign_in_here(&app.developer).await;
    let url = b.url().await;
    assert!(url.starts_with(&app.base), "{url}");
    assert_eq!(b.path().await, "/admin");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_sign_in_and_a_user_without_the_admin_permission() {
    let app = spawn_app().await;
    let Some(mut b) = Browser::start(&app, "keyboard").await else {
        return;
    };

    // From the page's start, Tab reaches the login id field; typing and Enter sign in, and the
    // browser comes back to the page it asked for.
    b.goto("/admin/audit").await;
    b.heading("Sign in").await;
    let mut tabs = 0;
    loop {
        b.client
            .perform_actions(
                KeyActions::new("keyboard".into())
                    .then(KeyAction::Down {
                        value: Key::Tab.into(),
                    })
                    .then(KeyAction::Up {
                        value: Key::Tab.into(),
                    }),
            )
            .await
            .unwrap();
        tabs += 1;
        let id = b
            .script("return document.activeElement && document.activeElement.id")
            .await
            .unwrap();
        if id == "login_id" {
            break;
        }
        assert!(tabs < 5, "Tab did not reach the login id field (at {id})");
    }
    let focused = b.client.active_element().await.unwrap();
    focused.send_keys(&app.developer.login_id).await.unwrap();
    focused.send_keys(&Key::Tab).await.unwrap();
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("password")
    );
    focused
        .send_keys(&format!("{}{}", app.developer.password, &*Key::Enter))
        .await
        .unwrap();
    b.heading("Audit log").await;
    assert_eq!(b.path().await, "/admin/audit");
    let log = b.text("main").await;
    assert!(log.contains("company.create"), "{log}");
    b.screenshot("audit-log").await;

    // The skip link and the nav are real links, reachable by keyboard.
    assert!(b.exists("a.skip-link[href='#main']").await);
    let nav = b.text(".sidenav").await;
    assert!(nav.contains("Enable Partner Application"), "{nav}");
    b.sign_out().await;

    // A user without an admin permission: no Administration menu, a page saying why.
    let plain = plain_user(&app).await;
    b.sign_in(&plain).await;
    b.heading("You do not have permission").await;
    let header = b.text(".topbar").await;
    assert!(!header.contains("Administration"), "{header}");
    assert!(header.contains(&plain.login_id), "{header}");
    assert!(!b.exists(".sidenav").await);
    b.screenshot("no-permission").await;
    // The pages themselves refuse too (the registry decides): a 403 page.
    b.goto("/admin/apps").await;
    b.heading("You do not have permission").await;
    assert!(b.text("main").await.to_lowercase().contains("error 403"));
    b.close().await;
}
