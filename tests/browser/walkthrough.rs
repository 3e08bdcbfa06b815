//! The guides' walk-through, clicked through as an administrator would.

use crate::harness::{Browser, spawn_app};

const APP: &str = "Expense Sync";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_modify_review_and_enable_a_partner_application() {
    let app = spawn_app().await;
    let Some(mut b) = Browser::start(&app, "walkthrough").await else {
        return;
    };

    // Signed out, the console sends the browser to sign in, then back where it was going.
    b.goto("/admin").await;
    b.heading("Sign in").await;
    assert_eq!(b.path().await, "/admin/sign-in");
    b.screenshot("sign-in").await;
    b.sign_in_here(&app.developer).await;
    assert_eq!(b.path().await, "/admin");

    // Administration > Web Services.
    b.heading("Web Services").await;
    let header = b.text(".topbar").await;
    assert!(header.contains("Administration"), "{header}");
    assert!(header.contains("admin@sandbox.portico.test"), "{header}");
    assert!(header.contains("Sandbox Developer"), "{header}");
    let page = b.text("main").await;
    for link in [
        "Register Partner Application",
        "Enable Partner Application",
        "Company Request Token",
        "Audit log",
    ] {
        assert!(page.contains(link), "{link} missing: {page}");
    }
    assert!(!b.page_text().await.contains("Review queue"));
    b.screenshot("web-services").await;

    // Register Partner Application > Application Registration > New.
    b.click_link("Register Partner Application").await;
    b.heading("Application Registration").await;
    b.click_link("New").await;
    b.heading("New Partner Application").await;
    assert_eq!(b.text("#visibility").await, "Private");
    assert!(b.is_checked("#active").await, "Active starts checked");
    // The sensitive data groups are usable only while their API is checked.
    assert!(!b.is_enabled("#group-travel-profile-passport").await);
    let quick = b.text("#api-quickexpense-writeonly-desc").await;
    assert!(quick.contains("Requires Expense Report"), "{quick}");

    b.fill("#name", APP).await;
    b.fill("#description", "Imports expense reports").await;
    b.check("#api-travel-profile-read", true).await;
    assert!(b.is_enabled("#group-travel-profile-passport").await);
    b.check("#group-travel-profile-passport", true).await;
    b.fill("#redirect_uris", "https://app.example/callback")
        .await;
    b.screenshot("new-partner-application").await;
    b.click("form.app-form button[type=submit]").await;

    // Application Authorization: the company domain, the Key, and the Secret, once.
    b.heading("is registered").await;
    assert_eq!(b.text("#company-domain").await, "sandbox.portico.test");
    let key = b.text("#client-id").await;
    assert_eq!(key.len(), 36, "the Key is the app id: {key}");
    let secret = b.value("#client-secret").await;
    assert_eq!(secret.len(), 43, "a 256-bit secret: {secret}");
    assert!(
        b.find("button.copy-button")
            .await
            .is_displayed()
            .await
            .unwrap(),
        "the script shows the copy button"
    );
    assert!(
        b.text("#secret-warning")
            .await
            .contains("only time the secret is shown")
    );
    b.screenshot("registered").await;

    // The app page never shows the secret again.
    b.click_link("View application").await;
    b.heading(APP).await;
    assert!(!b.page_text().await.contains(&secret));
    assert!(!b.client.source().await.unwrap().contains(&secret));
    assert_eq!(b.text("#app-visibility").await, "Private");
    assert_eq!(b.text("#app-review").await, "Not submitted");

    // Modify: change the description; Quick Expense without Expense Report is refused, with
    // the error beside APIs Used and the input kept.
    b.click_link("Modify").await;
    b.heading("Modify Partner Application").await;
    assert_eq!(b.value("#name").await, APP);
    assert!(b.is_checked("#api-travel-profile-read").await);
    assert!(b.is_checked("#group-travel-profile-passport").await);
    b.fill("#description", "Imports expense reports and receipts")
        .await;
    b.check("#api-quickexpense-writeonly", true).await;
    b.click("form.app-form button[type=submit]").await;
    let error = b
        .wait_text("#field-apis .field-error", "requires Expense Report")
        .await;
    assert!(error.contains("Quick Expense"), "{error}");
    assert!(b.text(".alert").await.contains("requires Expense Report"));
    assert_eq!(
        b.value("#description").await,
        "Imports expense reports and receipts"
    );
    assert_eq!(b.value("#name").await, APP);
    assert!(b.is_checked("#api-quickexpense-writeonly").await);
    assert!(b.is_checked("#api-travel-profile-read").await);
    assert!(b.is_checked("#group-travel-profile-passport").await);
    assert!(!b.is_checked("#api-expense-report-read").await);
    assert_eq!(
        b.value("#redirect_uris").await,
        "https://app.example/callback"
    );
    b.screenshot("modify-dependency-error").await;

    b.check("#api-expense-report-read", true).await;
    b.click("form.app-form button[type=submit]").await;
    b.wait_text(".notice", "Your changes were saved.").await;
    assert_eq!(
        b.text("#app-description").await,
        "Imports expense reports and receipts"
    );
    let apis = b.text(".api-summary").await;
    for api in [
        "Expense Report",
        "Quick Expense",
        "Travel Profile",
        "Passport / Visa",
    ] {
        assert!(apis.contains(api), "{api} missing: {apis}");
    }
    b.screenshot("application").await;

    // New Secret: a confirmation that the old secret will stop working, then a new secret.
    b.click_link("New Secret").await;
    b.heading("New Secret").await;
    let warning = b.text("#new-secret-warning").await;
    assert!(
        warning.contains("the old secret will stop working"),
        "{warning}"
    );
    assert_eq!(b.value("#grace_seconds").await, "0");
    b.screenshot("new-secret-confirm").await;
    b.click("button.btn-danger").await;
    b.heading("New Secret for").await;
    let new_secret = b.value("#client-secret").await;
    assert_eq!(new_secret.len(), 43);
    assert_ne!(new_secret, secret);
    assert_eq!(b.text("#client-id").await, key, "the Key stays");
    assert!(
        b.text(".notice")
            .await
            .contains("The old secret no longer works")
    );
    b.screenshot("new-secret").await;

    // Submit for review.
    b.click("form[action$='/submit'] button").await;
    b.wait_text(".notice", "submitted for review").await;
    assert_eq!(b.text("#app-review").await, "Pending review");
    b.sign_out().await;

    // Staff: Review queue > Approve > Certify as Public. The sandbox app stays Private; its
    // production registration, with a Key of its own, is what other companies see.
    b.sign_in(&app.staff).await;
    b.heading("Web Services").await;
    b.click_link("Review queue").await;
    b.heading("Review queue").await;
    let queue = b.text("main").await;
    assert!(queue.contains(APP), "{queue}");
    assert!(queue.contains("Passport / Visa"), "{queue}");
    assert!(queue.contains("Sandbox Developer"), "{queue}");
    b.screenshot("review-queue").await;
    b.click(&format!("button[aria-label='Approve {APP}']"))
        .await;
    b.wait_text(".notice", "The application was approved.")
        .await;
    assert!(!b.text("main").await.contains("Passport / Visa"));
    b.click("#decided-link").await;
    b.heading(APP).await;
    assert_eq!(b.text("#app-review").await, "Approved");
    assert!(
        !b.exists("#visibility-select").await,
        "a sandbox app is certified, never made public itself"
    );
    b.find("#certify-visibility")
        .await
        .select_by_value("public")
        .await
        .unwrap();
    b.click("form[action$='/certify'] button").await;
    b.wait_text(".notice", "The application was certified")
        .await;
    assert_eq!(b.text("#app-visibility").await, "Private");
    assert_eq!(b.text("#sandbox-client-id").await, key);
    let production_key = b.text("#production-client-id").await;
    assert_eq!(production_key.len(), 36);
    assert_ne!(production_key, key, "production has a Key of its own");
    assert_eq!(b.text("#production-visibility").await, "Public");
    let certified = b.text("#production-apis").await;
    assert!(certified.contains("Passport / Visa"), "{certified}");
    b.screenshot("staff-certified").await;
    b.sign_out().await;

    // Another company's admin: Enable Applications lists the public app, disabled.
    let other = app
        .company_admin("Acme Travel", "professional", false)
        .await;
    b.sign_in(&other).await;
    b.heading("Web Services").await;
    b.click_link("Enable Partner Application").await;
    b.heading("Enable Applications").await;
    let row = format!("tr[data-app='{production_key}']");
    assert!(b.text(&row).await.contains(APP));
    assert!(
        !b.exists(&format!("tr[data-app='{key}']")).await,
        "the sandbox Key is not offered"
    );
    assert_eq!(b.text(&format!("{row} .status")).await, "Disabled");
    b.screenshot("enable-disabled").await;
    b.click(&format!("{row} button[aria-label='Enable {APP}']"))
        .await;
    b.wait_text(&format!("{row} .status"), "Enabled").await;
    assert!(b.text(".notice").await.contains("now enabled"));
    b.screenshot("enable-enabled").await;
    b.click(&format!("{row} button[aria-label='Disable {APP}']"))
        .await;
    b.wait_text(&format!("{row} .status"), "Disabled").await;
    assert!(b.text(".notice").await.contains("now disabled"));

    // The audit log shows what happened at this company.
    b.click_link("Audit log").await;
    b.heading("Audit log").await;
    let log = b.text("main").await;
    assert!(log.contains("enablement.set"), "{log}");
    assert!(log.contains(&other.login_id), "{log}");
    b.screenshot("audit-log").await;
    b.close().await;
}
