//! Several `portico serve` processes on one PostgreSQL database must agree: what one node
//! changes (a New Secret, a disable, a revocation, a key rotation) holds on the others within a
//! second.

use crate::helpers::{Backend, Node, PORTICO, require_postgres, spawn_app_with};
use crate::metrics::{scrape, value};
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

/// Resumes a stopped PostgreSQL backend however the test ends.
struct Stopped(i32);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

/// A LISTEN connection can go silent without closing (a partition, a stalled backend):
/// nothing tells the node. Its heartbeats stop coming back, its caches' lease lapses within a
/// second, and it answers from storage: a revocation or a New Secret made on another node
/// still holds on it within a second, and it keeps serving what storage allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_hearing_notices_answers_from_storage() {
    if require_postgres().is_none() {
        return;
    }
    use sea_orm::ConnectionTrait;
    let shared = [("PORTICO_SERVER_PUBLIC_URL", "http://auth.portico.test")];
    let a = spawn_app_with(Backend::Postgres, &shared).await;
    // B's connections carry a name, so the test can find its LISTEN backend.
    let name = format!("portico-silent-{}", uuid::Uuid::new_v4().simple());
    let url_b = format!("{}?application_name={name}", a.database_url);
    let node_b = Node::start(PORTICO, &url_b, &a.master_key, &shared).await;
    let b = Peer {
        base: node_b.base.clone(),
        client: reqwest::Client::new(),
    };
    let dev = a.developer().await;
    let client = register(&a, &dev, "Silent App", &["client_credentials"]).await;
    let other = register(&a, &dev, "Other App", &["client_credentials"]).await;
    let cc = [("grant_type", "client_credentials")];
    let at = token(&b, &client, &cc).await.str("access_token");
    assert!(is_active(&b, &client, &at).await);
    assert_eq!(token(&b, &other, &cc).await.status, StatusCode::OK);

    let db = sea_orm::Database::connect(&a.database_url).await.unwrap();
    let listener = format!(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{name}' \
         AND query ILIKE 'LISTEN%'"
    );
    let start = Instant::now();
    let pid = loop {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                &listener,
            ))
            .await
            .unwrap();
        if let Some(row) = row {
            break row.try_get_by_index::<i32>(0).unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no LISTEN backend for B"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    if !stopped {
        portico_testkit::skip_or_fail("cannot stop PostgreSQL's backend (run as root or postgres)");
        return;
    }
    let _resume = Stopped(pid);

    // Made on A: B hears nothing of either, and must still refuse within a second.
    let revoked = post_form(&a, "/oauth2/v0/revoke", Some(&client), &[("token", &at)]).await;
    assert_eq!(revoked.status, StatusCode::OK);
    let took = within_a_second("revocation, LISTEN silent", || async {
        !is_active(&b, &client, &at).await
    })
    .await;
    eprintln!("revocation seen by the silent node B after {took:?}");
    let (_, renewed) = a
        .post(&dev, &format!("/apps/{}/secret", other.id), json!({}))
        .await;
    let took = within_a_second("New Secret, LISTEN silent", || async {
        token(&b, &other, &cc).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    eprintln!("New Secret seen by the silent node B after {took:?}");
    // Storage answers meanwhile: what it allows still works on B.
    let other = AppCredentials {
        secret: renewed["client_secret"].as_str().unwrap().into(),
        ..other
    };
    assert_eq!(token(&b, &other, &cc).await.status, StatusCode::OK);
    let fresh = token(&b, &client, &cc).await.str("access_token");
    assert!(is_active(&b, &client, &fresh).await);
    assert!(!is_active(&b, &client, &at).await);
    // The operator sees it: the quarter seconds B answered from storage are counted.
    let start = Instant::now();
    loop {
        let (_, metrics) = scrape(&b, &b.url("/metrics"), None).await;
        if value(&metrics, "portico_change_notice_lease_lapses_total ").unwrap_or(0.0) >= 1.0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "no lapse counted:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Heard again: the queued notices and heartbeats arrive, and B goes on as before.
    drop(_resume);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(token(&b, &other, &cc).await.status, StatusCode::OK);
    assert!(!is_active(&b, &client, &at).await);
    db.close().await.ok();
    node_b.stop().await;
}
