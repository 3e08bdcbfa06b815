//! Several `portico serve` processes on one PostgreSQL database must agree: what one node
//! changes (a New Secret, a disable, a revocation, a key rotation) holds on the others within a
//! second.

use crate::helpers::{Backend, Node, PORTICO, require_postgres, spawn_app_with};
use crate::oauth_helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::future::Future;
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(1);

/// Polls `check` until it holds; returns how long that took, or fails after `WITHIN`.
async fn within_a_second<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < WITHIN,
            "{what}: not seen by the other node within {WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_agree_within_a_second() {
    if require_postgres().is_none() {
        return;
    }
    // Behind a load balancer every node has the same public URL: it is the tokens' issuer.
    let shared = [("PORTICO_SERVER_PUBLIC_URL", "http://auth.portico.test")];
    let a = spawn_app_with(Backend::Postgres, &shared).await;
    let node_b = Node::start(PORTICO, &a.database_url, &a.master_key, &shared).await;
    let b = Peer {
        base: node_b.base.clone(),
        client: reqwest::Client::new(),
    };
    assert_ne!(a.base, b.base);

    let dev = a.developer().await;
    let grants = [
        "client_credentials",
        "company_request_token",
        "refresh_token",
        "authorization_code",
    ];
    let client = register(&a, &dev, "Two Node App", &grants).await;
    let resource = register(&a, &dev, "Expense API", &["client_credentials"]).await;
    let staff = a.staff().await;
    a.put(
        &staff,
        &format!("/apps/{}/resource-server", resource.id),
        json!({ "resource_server": true }),
    )
    .await;
    let cc = [("grant_type", "client_credentials")];

    // B verifies the secret once and caches it; a New Secret made on A cuts it off on B.
    assert_eq!(token(&b, &client, &cc).await.status, StatusCode::OK);
    let (_, renewed) = a
        .post(&dev, &format!("/apps/{}/secret", client.id), json!({}))
        .await;
    let took = within_a_second("New Secret", || async {
        token(&b, &client, &cc).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    eprintln!("New Secret seen by node B after {took:?}");
    let client = AppCredentials {
        secret: renewed["client_secret"].as_str().unwrap().into(),
        ..client
    };
    assert_eq!(token(&b, &client, &cc).await.status, StatusCode::OK);

    // A company connection made through B; the company disables the app through A.
    let rt = request_token(&a, &dev, &client).await;
    let issued = company_token(&b, &client, &dev.company_id, &rt).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let at = issued.str("access_token");
    assert!(is_active(&b, &resource, &at).await);
    let path = format!("/companies/{}/enablements/{}", dev.company_id, client.id);
    a.put(&dev, &path, json!({ "enabled": false })).await;
    let took = within_a_second("disable", || async { !is_active(&b, &resource, &at).await }).await;
    eprintln!("disable seen by node B after {took:?}");
    let refused = token(
        &b,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &issued.str("refresh_token")),
        ],
    )
    .await;
    assert_eq!(
        refused.description(),
        "application is not enabled for this company"
    );
    a.put(&dev, &path, json!({ "enabled": true })).await;
    within_a_second("enable", || async { is_active(&b, &resource, &at).await }).await;

    // A revocation made on A holds on B.
    let revoked = post_form(&a, "/oauth2/v0/revoke", Some(&client), &[("token", &at)]).await;
    assert_eq!(revoked.status, StatusCode::OK);
    let took = within_a_second("revocation", || async {
        !is_active(&b, &resource, &at).await
    })
    .await;
    eprintln!("revocation seen by node B after {took:?}");

    // A key rotation by the CLI reaches both nodes: B signs with the new key and publishes it.
    let kid_of = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let before = kid_of(&token(&b, &client, &cc).await.str("access_token"));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["keys", "rotate"])
        .env_clear()
        .env("PORTICO_DATABASE_URL", &a.database_url)
        .env("PORTICO_MASTER_KEY", &a.master_key)
        .env("PORTICO_LOG_FILTER", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = within_a_second("key rotation", || async {
        kid_of(&token(&b, &client, &cc).await.str("access_token")) != before
    })
    .await;
    eprintln!("key rotation seen by node B after {took:?}");
    let jwks: serde_json::Value = b
        .client
        .get(b.url("/oauth2/v0/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == before.as_str()),
        "the old key stays published"
    );
    node_b.stop().await;
}
