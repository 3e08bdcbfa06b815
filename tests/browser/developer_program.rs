//! The developer program (issue 17) clicked through: a developer signs up for a sandbox and
//! sees the sample app's Key and Secret once; staff review and certify the app; the sandbox
//! app's page shows its production registration beside it; the developer's admin gets the
//! production Secret with New Secret. And sign-ups that wait for staff, on the Sign-up
//! requests page, and sign-up turned off.

use crate::harness::{Browser, Credentials, TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;

const PASSWORD: &str = "correct horse battery staple";

/// A client credentials token for `key` and `secret`: the status.
async fn client_credentials(app: &TestApp, key: &str, secret: &str) -> StatusCode {
    app.client
        .post(app.url("/oauth2/v0/token"))
        .basic_auth(key, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

/// Fills in the sign-up form of the current page (the password too) and sends it.
async fn fill_sign_up(b: &Browser, name: &str, login: &str, password: &str, company: &str) {
    b.fill("#name", name).await;
    b.fill("#login_id", login).await;
    b.fill("#password", password).await;
    b.fill("#company_name", company).await;
}

async fn send_sign_up(b: &Browser) {
    b.click("form[action='/admin/sign-up'] button[type=submit]")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_review_certify_and_get_the_production_secret() {
    let app = spawn_app_with(&[("PORTICO_SIGNUP_MODE", "open")]).await;
    let Some(mut b) = Browser::start(&app, "developer-program").await else {
        return;
    };
    let dana = Credentials {
        login_id: "dana@example.com".into(),
        password: PASSWORD.into(),
    };

    // The sign-in page links to sign-up while it is open.
    b.goto("/admin/sign-in").await;
    b.heading("Sign in").await;
    b.click_link("Sign up for a sandbox").await;
    b.heading("Sign up for a sandbox").await;
    assert_eq!(b.path().await, "/admin/sign-up");
    assert!(b.text("#sign-up-mode").await.contains("ready at once"));
    assert!(!b.is_checked("#professional").await);
    b.screenshot("sign-up").await;

    // A short password: refused beside the field, what was typed kept, the password not.
    fill_sign_up(
        &b,
        "Dana Developer",
        "dana@example.com",
        "short",
        "Dana's Tools",
    )
    .await;
    send_sign_up(&b).await;
    let error = b
        .wait_text("#field-password .field-error", "Password must be")
        .await;
    assert!(error.contains("at least 12 characters"), "{error}");
    assert!(b.text(".alert").await.contains("Password must be"));
    assert_eq!(b.value("#name").await, "Dana Developer");
    assert_eq!(b.value("#login_id").await, "dana@example.com");
    assert_eq!(b.value("#company_name").await, "Dana's Tools");
    assert_eq!(
        b.value("#password").await,
        "",
        "the password is not shown again"
    );
    b.screenshot("sign-up-error").await;

    // Signed up: a Standard sandbox, signed in, the sample app's Key and Secret shown once.
    b.fill("#password", PASSWORD).await;
    send_sign_up(&b).await;
    b.heading("Your sandbox is ready").await;
    assert_eq!(b.text("#sandbox-company").await, "Dana's Tools");
    assert_eq!(b.text("#sandbox-edition").await, "Standard");
    assert!(
        b.text("#sandbox-domain")
            .await
            .ends_with(".sandbox.portico.test")
    );
    assert!(b.text(".topbar").await.contains("dana@example.com"));
    let sandbox_key = b.text("#client-id").await;
    assert_eq!(sandbox_key.len(), 36, "{sandbox_key}");
    let sandbox_secret = b.value("#client-secret").await;
    assert_eq!(sandbox_secret.len(), 43, "{sandbox_secret}");
    assert!(
        b.text("#secret-warning")
            .await
            .contains("only time the secret is shown")
    );
    b.screenshot("sandbox-ready").await;
    assert_eq!(
        client_credentials(&app, &sandbox_key, &sandbox_secret).await,
        StatusCode::OK,
        "the sample app gets a token at once"
    );

    // The console: the sample app, a sandbox app, never showing its secret again.
    b.click("#to-console").await;
    b.heading("Web Services").await;
    b.click_link("Register Partner Application").await;
    b.heading("Application Registration").await;
    assert!(!b.exists(".production-badge").await);
    b.click_link("Sample App").await;
    b.heading("Sample App").await;
    assert_eq!(b.text("#app-registration").await, "Sandbox");
    assert_eq!(b.text("#app-visibility").await, "Private");
    assert!(!b.client.source().await.unwrap().contains(&sandbox_secret));
    assert!(!b.exists("#production").await);
    b.click("form[action$='/submit'] button").await;
    b.wait_text(".notice", "submitted for review").await;
    b.sign_out().await;

    // Staff: approve on the Review queue, then certify as Public.
    b.sign_in(&app.staff).await;
    b.heading("Web Services").await;
    b.click_link("Review queue").await;
    b.heading("Review queue").await;
    assert!(b.text("main").await.contains("Dana's Tools"));
    b.click("button[aria-label='Approve Sample App']").await;
    b.wait_text(".notice", "The application was approved.")
        .await;
    assert!(b.text("main").await.contains("to certify it"));
    b.click("#decided-link").await;
    b.heading("Sample App").await;
    assert!(
        !b.exists("#visibility-select").await,
        "a sandbox app has no visibility control"
    );
    b.screenshot("staff-certify").await;
    b.find("#certify-visibility")
        .await
        .select_by_value("public")
        .await
        .unwrap();
    b.click("form[action$='/certify'] button").await;
    b.wait_text(".notice", "The application was certified")
        .await;

    // Side by side: the sandbox app stays Private, the production registration is Public
    // with a Key of its own and the certified APIs.
    assert_eq!(b.text("#app-visibility").await, "Private");
    assert_eq!(b.text("#sandbox-client-id").await, sandbox_key);
    assert_eq!(b.text("#sandbox-visibility").await, "Private");
    let production_key = b.text("#production-client-id").await;
    assert_eq!(production_key.len(), 36);
    assert_ne!(
        production_key, sandbox_key,
        "production has a Key of its own"
    );
    assert_eq!(b.text("#production-visibility").await, "Public");
    assert!(b.text("#production-review").await.contains("Approved"));
    let certified = b.text("#production-apis").await;
    assert!(certified.contains("Expense Report"), "{certified}");
    assert!(!b.exists("#uncertified").await);
    assert!(b.text("#certify button").await.contains("Certify again"));
    b.screenshot("certified-side-by-side").await;

    // The production registration names its sandbox app; staff set its visibility there.
    b.click("#production-link").await;
    b.wait_text("#production-of", "production registration of")
        .await;
    assert_eq!(b.text("#sandbox-link").await, "Sample App");
    assert_eq!(b.text("#client-id").await, production_key);
    assert_eq!(b.text("#app-registration").await, "Production");
    assert!(b.exists("#visibility-select").await);
    assert!(
        !b.exists("#certify").await,
        "production is not certified itself"
    );
    b.screenshot("staff-production").await;
    b.sign_out().await;

    // The developer's admin: the list marks the production registration; New Secret on it
    // issues the production Secret, shown once.
    b.sign_in(&dana).await;
    b.heading("Web Services").await;
    b.click_link("Register Partner Application").await;
    b.heading("Application Registration").await;
    let row = format!("tr[data-app='{production_key}']");
    assert_eq!(
        b.text(&format!("{row} .production-badge")).await,
        "Production"
    );
    assert!(
        !b.exists(&format!("tr[data-app='{sandbox_key}'] .production-badge"))
            .await
    );
    b.screenshot("apps-with-production").await;
    b.click(&format!("{row} a.app-name")).await;
    b.wait_text("#production-of", "production registration of")
        .await;
    assert!(!b.exists("#visibility-select").await);
    b.click(".page-actions a[href$='/secret']").await;
    b.heading("New Secret").await;
    b.click("button.btn-danger").await;
    b.heading("New Secret for").await;
    assert_eq!(b.text("#client-id").await, production_key);
    let production_secret = b.value("#client-secret").await;
    assert_eq!(production_secret.len(), 43);
    assert_ne!(production_secret, sandbox_secret);
    assert!(
        b.text("#secret-warning")
            .await
            .contains("only time the secret is shown")
    );
    b.screenshot("production-secret").await;
    assert_eq!(
        client_credentials(&app, &production_key, &production_secret).await,
        StatusCode::OK
    );

    // The sandbox app asks for one more API: its page says the production registration is
    // not certified for it.
    b.click_link("View application").await;
    b.wait_text("#production-of", "production registration of")
        .await;
    b.click("#sandbox-link").await;
    b.heading("Sample App").await;
    b.click_link("Modify").await;
    b.heading("Modify Partner Application").await;
    b.check("#api-travel-profile-read", true).await;
    b.click("form.app-form button[type=submit]").await;
    b.wait_text(".notice", "Your changes were saved.").await;
    let note = b.text("#uncertified").await;
    assert!(note.contains("Travel Profile"), "{note}");
    assert!(!b.text("#production-apis").await.contains("Travel Profile"));
    b.screenshot("uncertified-apis").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_wait_for_staff_and_sign_up_can_be_off() {
    // Off (the default): the page says so, the sign-in page has no link, a POST makes nothing.
    let off = spawn_app().await;
    let page = off
        .client
        .get(off.url("/admin/sign-up"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign-up is closed"), "{page}");
    let sign_in = off
        .client
        .get(off.url("/admin/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!sign_in.contains("/admin/sign-up"), "{sign_in}");
    let staff = off.staff().await;
    let companies = off.get(&staff, "/companies").await.1;
    let resp = off
        .client
        .post(off.url("/admin/sign-up"))
        .form(&[
            ("csrf_token", "t"),
            ("name", "Mallory"),
            ("login_id", "mallory@example.com"),
            ("password", PASSWORD),
            ("company_name", "Mallory Co"),
        ])
        .header("cookie", "portico_signup_csrf=t")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("Sign-up is closed"));
    assert_eq!(off.get(&staff, "/companies").await.1, companies);
    drop(off);

    // Approval: every sign-up waits for staff on the Sign-up requests page.
    let app = spawn_app_with(&[("PORTICO_SIGNUP_MODE", "approval")]).await;
    // A sign-up POSTed from elsewhere (no double-submit cookie) is refused, making nothing.
    let forged = app
        .client
        .post(app.url("/admin/sign-up"))
        .form(&[
            ("csrf_token", "forged"),
            ("name", "Mallory"),
            ("login_id", "mallory@example.com"),
            ("password", PASSWORD),
            ("company_name", "Mallory Co"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("The sign-up form expired")
    );
    let Some(mut b) = Browser::start(&app, "sign-up-requests").await else {
        return;
    };
    b.goto("/admin/sign-up").await;
    b.heading("Sign up for a sandbox").await;
    assert!(
        b.text("#sign-up-mode")
            .await
            .contains("approves every sandbox")
    );
    fill_sign_up(&b, "Pat Pro", "pat@example.com", PASSWORD, "Pat Pro Tools").await;
    b.check("#professional", true).await;
    send_sign_up(&b).await;
    b.heading("Your request waits for approval").await;
    assert!(
        b.text("#sign-up-waiting")
            .await
            .contains("waits for the operator's approval")
    );
    assert_eq!(b.text("#request-edition").await, "Professional");
    assert_eq!(b.text("#request-login-id").await, "pat@example.com");
    b.screenshot("waiting").await;
    // Nothing to sign in to yet.
    b.goto("/admin/sign-in").await;
    b.heading("Sign in").await;
    b.fill("#login_id", "pat@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.click("form[action='/admin/sign-in'] button[type=submit]")
        .await;
    b.find("#sign-in-error").await;
    assert_eq!(b.path().await, "/admin/sign-in");

    b.goto("/admin/sign-up").await;
    b.heading("Sign up for a sandbox").await;
    fill_sign_up(&b, "Eve", "eve@example.com", PASSWORD, "Eve Co").await;
    send_sign_up(&b).await;
    b.heading("Your request waits for approval").await;
    assert_eq!(b.text("#request-edition").await, "Standard");

    // Staff: Sign-up requests lists both; the edition offered is the one asked for.
    b.sign_in(&app.staff).await;
    b.heading("Web Services").await;
    b.click_link("Sign-up requests").await;
    b.heading("Sign-up requests").await;
    let pat_row = "tr[data-login='pat@example.com']";
    let eve_row = "tr[data-login='eve@example.com']";
    assert!(b.text(pat_row).await.contains("Pat Pro Tools"));
    assert_eq!(b.text(&format!("{pat_row} .edition")).await, "Professional");
    assert_eq!(b.text(&format!("{eve_row} .edition")).await, "Standard");
    assert!(!b.exists("tr[data-login='mallory@example.com']").await);
    let request_of = async |row: &str| {
        b.find(row)
            .await
            .attr("data-request")
            .await
            .unwrap()
            .unwrap()
    };
    let pat = request_of(pat_row).await;
    let eve = request_of(eve_row).await;
    assert_eq!(b.value(&format!("#edition-{pat}")).await, "professional");
    b.screenshot("sign-up-requests").await;

    b.fill(&format!("#reject-reason-{eve}"), "Not a developer account")
        .await;
    b.click("button[aria-label='Reject eve@example.com']").await;
    b.wait_text(".notice", "The sign-up request was rejected.")
        .await;
    assert!(!b.exists(eve_row).await);
    b.click("button[aria-label='Approve pat@example.com']")
        .await;
    b.wait_text(".notice", "approved and its sandbox created")
        .await;
    assert!(
        b.text("main")
            .await
            .contains("No sign-up requests are waiting")
    );
    b.click_link("Show decided requests too").await;
    b.wait_text(&format!("{pat_row} .status"), "Approved").await;
    let eve = b.text(&format!("{eve_row} .status")).await;
    assert!(eve.contains("Rejected"), "{eve}");
    assert!(eve.contains("Not a developer account"), "{eve}");
    b.screenshot("sign-up-requests-decided").await;
    b.sign_out().await;

    // The approved developer signs in to a Professional sandbox with the sample app.
    b.sign_in(&Credentials {
        login_id: "pat@example.com".into(),
        password: PASSWORD.into(),
    })
    .await;
    b.heading("Web Services").await;
    assert!(b.text(".topbar").await.contains("Pat Pro Tools"));
    b.click_link("Register Partner Application").await;
    b.heading("Application Registration").await;
    assert!(b.text("main").await.contains("Sample App"));
    b.screenshot("approved-sandbox").await;
    b.close().await;
}
