//! The argon2 flood (issue "fail closed under attack"): 16 connections of junk must not delay
//! another app's first verification or an admin's sign-in by more than one argon2 run. It times
//! requests, so it is a test binary of its own: cargo runs test binaries one after another, and
//! nothing else of the suite competes with it for the two cores.

#[allow(dead_code)]
#[path = "../api/attacker.rs"]
mod attacker;
#[allow(dead_code, unused_imports)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/oauth_helpers.rs"]
mod oauth_helpers;

use attacker::{BEHIND_PROXY, client_credentials_from, sign_in_from, wrong};
use helpers::{Backend, spawn_app_with};
use oauth_helpers::{AppCredentials, Peer, register};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// Both backends, one after the other: run side by side they would time each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argon2_flood_does_not_delay_others() {
    argon2_flood(Backend::Sqlite).await;
    if helpers::require_postgres().is_some() {
        argon2_flood(Backend::Postgres).await;
    }
}

async fn argon2_flood(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[BEHIND_PROXY, ("PORTICO_LIMITS_ARGON2_WORKERS", "1")],
    )
    .await;
    let dev = app.developer().await;
    let victim_app = register(&app, &dev, "Flooded", &["client_credentials"]).await;
    // Baseline: a first verification and a sign-in with nothing else going on.
    let first_token = |client: AppCredentials| {
        let app = &app;
        async move {
            let started = Instant::now();
            let a = client_credentials_from(app, "203.0.113.70", &client).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            started.elapsed()
        }
    };
    let sign_in = || async {
        let started = Instant::now();
        let a = sign_in_from(
            &app,
            "203.0.113.71",
            &app.developer.login_id,
            &app.developer.password,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        started.elapsed()
    };
    let baseline_token =
        first_token(register(&app, &dev, "Baseline", &["client_credentials"]).await).await;
    let baseline_sign_in = sign_in().await;

    // 16 connections of junk: unknown client ids and wrong secrets for a real app, each from a
    // new source address, until the measurements are done (and at least 10 each).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let peer = Peer {
            base: app.base.clone(),
            client: app.client.clone(),
        };
        let victim_app = victim_app.clone();
        let stop = stop.clone();
        flood.spawn(async move {
            let mut sent = 0usize;
            while sent < 10 || !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let source = format!("10.{}.{}.{}", worker, sent / 250, sent % 250);
                let junk = if sent.is_multiple_of(2) {
                    AppCredentials {
                        id: uuid::Uuid::new_v4().to_string(),
                        secret: "junk".into(),
                    }
                } else {
                    wrong(&victim_app)
                };
                let a = client_credentials_from(&peer, &source, &junk).await;
                assert!(
                    [401, 429, 503].contains(&a.status.as_u16()),
                    "junk answered {} {}",
                    a.status,
                    a.body
                );
                sent += 1;
            }
            sent
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let under_token =
        first_token(register(&app, &dev, "Under fire", &["client_credentials"]).await).await;
    let under_sign_in = sign_in().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent = 0;
    while let Some(n) = flood.join_next().await {
        sent += n.expect("a flood worker panicked");
    }
    assert!(sent >= 160, "the flood sent only {sent} requests");
    // At most one queue slot (one argon2 run) more than without the flood, with room for a
    // loaded machine; before, the delay grew with the attacker's concurrency (about a second at
    // 16 connections).
    let slot = baseline_token.max(baseline_sign_in);
    eprintln!(
        "argon2 flood: {sent} junk requests; first token {under_token:?} (alone {baseline_token:?}), \
         sign-in {under_sign_in:?} (alone {baseline_sign_in:?})"
    );
    let budget = |alone: Duration| alone + slot * 4 + Duration::from_millis(300);
    assert!(
        under_token < budget(baseline_token),
        "first token {under_token:?} under the flood, {baseline_token:?} without"
    );
    assert!(
        under_sign_in < budget(baseline_sign_in),
        "sign-in {under_sign_in:?} under the flood, {baseline_sign_in:?} without"
    );
    // And the flooded app's own secret still works.
    let ok = client_credentials_from(&app, "203.0.113.72", &victim_app).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}
