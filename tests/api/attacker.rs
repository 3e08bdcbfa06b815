//! What an attacker sends: forms from chosen source addresses (through the trusted proxy on
//! loopback), wrong credentials, sign-ins. Shared by the attack tests and the flood test.

use crate::oauth_helpers::{Answer, AppCredentials, Target, answer};
use serde_json::json;

/// Every test server believes X-Forwarded-For from loopback, so one test can speak from
/// several source addresses.
pub const BEHIND_PROXY: (&str, &str) = ("PORTICO_LIMITS_TRUSTED_PROXIES", "127.0.0.1, ::1");

/// POSTs a form from `source` (through the trusted proxy on loopback).
pub async fn post_from(
    app: &impl Target,
    source: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> Answer {
    let mut req = app
        .http()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", source)
        .body(body.to_owned());
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    answer(req.send().await.unwrap()).await
}

pub async fn client_credentials_from(
    app: &impl Target,
    source: &str,
    client: &AppCredentials,
) -> Answer {
    let basic = client.basic();
    post_from(
        app,
        source,
        "/oauth2/v0/token",
        Some(&basic),
        "grant_type=client_credentials",
    )
    .await
}

pub fn wrong(client: &AppCredentials) -> AppCredentials {
    AppCredentials {
        id: client.id.clone(),
        secret: "not-the-secret".into(),
    }
}

pub async fn sign_in_from(
    app: &impl Target,
    source: &str,
    login_id: &str,
    password: &str,
) -> Answer {
    let resp = app
        .http()
        .post(app.url("/admin/v1/session"))
        .header("x-forwarded-for", source)
        .json(&json!({ "login_id": login_id, "password": password }))
        .send()
        .await
        .unwrap();
    answer(resp).await
}

#[track_caller]
pub fn assert_retry_after(a: &Answer) {
    let seconds: u64 = a
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on {} {}", a.status, a.body))
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(seconds >= 1, "Retry-After {seconds}");
}
