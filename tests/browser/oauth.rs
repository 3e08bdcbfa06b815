//! The token service's pages in the browser: Company Request Token in the console, and a user
//! going through the authorization endpoint's sign-in and consent pages.

use crate::harness::{Browser, spawn_app};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_request_token_and_user_consent() {
    let app = spawn_app().await;
    let Some(mut b) = Browser::start(&app, "oauth").await else {
        return;
    };
    let admin = app.developer().await;
    let reg = app
        .register_app(
            &admin,
            json!({
                "name": "Travel Sync",
                "description": "Keeps travel profiles in sync",
                "apis": [{ "api": "travel.profile.read", "sensitive_data_groups": ["travel.profile.passport"] }],
                "redirect_uris": ["https://app.example/callback"],
                "grant_types": ["authorization_code", "refresh_token", "company_request_token"]
            }),
        )
        .await;
    let (client_id, secret) = (
        reg["client_id"].as_str().unwrap().to_owned(),
        reg["client_secret"].as_str().unwrap().to_owned(),
    );

    // Company Request Token: pick the enabled app, generate, see the company id and the token.
    b.sign_in(&app.developer).await;
    b.click_link("Company Request Token").await;
    b.heading("Company Request Token").await;
    b.screenshot("request-token-form").await;
    b.client
        .find(fantoccini::Locator::Css("#app_id"))
        .await
        .unwrap()
        .select_by_value(&client_id)
        .await
        .unwrap();
    b.click("form[action='/admin/request-tokens'] button[type=submit]")
        .await;
    b.wait_text("#issued-title", "Request token generated")
        .await;
    assert_eq!(b.text("#company-id").await, app.developer_company_id);
    let token = b.value("#request-token").await;
    assert_eq!(token.len(), 43);
    assert!(
        b.text("#token-warning")
            .await
            .contains("only time the token is shown")
    );
    b.screenshot("request-token-generated").await;

    // The app exchanges it as Concur documents.
    let resp = app
        .client
        .post(app.url("/oauth2/v0/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", app.developer_company_id.as_str()),
            ("password", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // Connections: the company's connection is listed; Disconnect ends it.
    b.click_link("Connections").await;
    b.heading("Connections").await;
    let page = b.text("main").await;
    for shown in [
        "Travel Sync",
        "Company connection",
        "travel.profile.passport",
        "ends a connection for good",
    ] {
        assert!(page.contains(shown), "{shown} missing: {page}");
    }
    b.screenshot("connections").await;
    b.click("tr[data-grant] button[aria-label='Disconnect Travel Sync for Company connection']")
        .await;
    b.wait_text(".notice", "1 connection was disconnected")
        .await;
    assert!(b.text("main").await.contains("No application is connected"));
    b.sign_out().await;

    // A user is sent to the authorization endpoint: sign in, see what the app asks for, allow.
    let verifier = "browser-test-code-verifier-0123456789-abcdefghij";
    let challenge = {
        use base64::Engine;
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
    };
    let authorize = format!(
        "/oauth2/v0/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback\
         &scope=openid%20travel.profile.read%20travel.profile.passport&nonce=n-1&state=s-123&code_challenge={challenge}&code_challenge_method=S256"
    );
    b.goto(&authorize).await;
    b.heading("Sign in").await;
    assert!(
        b.page_text().await.contains("continue to the application"),
        "{}",
        b.page_text().await
    );
    b.screenshot("authorize-sign-in").await;
    b.sign_in_here(&app.developer).await;
    b.heading("Allow Travel Sync").await;
    let consent = b.text("main").await;
    for shown in [
        "Sign you in",
        "Travel Profile",
        "Passport / Visa",
        "sensitive data",
        "Sandbox Developer",
    ] {
        assert!(consent.contains(shown), "{shown} missing: {consent}");
    }
    b.screenshot("authorize-consent").await;
    b.click("button[name=decision][value=allow]").await;
    // The browser is sent to the app with a code and the state.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let landed = loop {
        let url = b.url().await;
        if url.starts_with("https://app.example/callback") {
            break url::Url::parse(&url).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "still at {url}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let q: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some("s-123"));
    assert_eq!(q["code"].len(), 43);

    // The app exchanges the code; the user sees it among their connected apps and disconnects.
    let resp = app
        .client
        .post(app.url("/oauth2/v0/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", "https://app.example/callback"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    b.goto("/admin").await;
    b.click_link("Connected apps").await;
    b.heading("Your connected applications").await;
    assert!(b.text("main").await.contains("Travel Sync"));
    b.screenshot("my-connections").await;
    b.click("button[aria-label='Disconnect Travel Sync']").await;
    b.wait_text(".notice", "1 connection was disconnected")
        .await;
    assert!(
        b.text("main")
            .await
            .contains("No application is connected to you")
    );
    b.close().await;
}
