//! `GET /metrics` (issue 15): Prometheus text with the token service's counts, on the main
//! port or a listener of its own, optionally behind a bearer token; per-app series only when
//! asked for; nothing when turned off.

use crate::attacker::BEHIND_PROXY;
use crate::both_backends;
use crate::helpers::{Backend, spawn_app, spawn_app_with};
use crate::oauth_helpers::{AppCredentials, Target, register, token};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

both_backends!(
    metrics_count_what_the_token_service_does,
    metrics_can_ask_for_a_token_and_move_to_their_own_port,
);

const CC: [(&str, &str); 1] = [("grant_type", "client_credentials")];

pub(crate) async fn scrape(
    app: &impl Target,
    url: &str,
    bearer: Option<&str>,
) -> (StatusCode, String) {
    let mut req = app.http().get(url);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

/// The value of the sample `line_start` (a metric with its labels), if present.
pub(crate) fn value(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_count_what_the_token_service_does(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("PORTICO_METRICS_PER_APP", "true"), BEHIND_PROXY],
    )
    .await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Counted", &["client_credentials"]).await;
    for _ in 0..3 {
        assert_eq!(token(&app, &client, &CC).await.status, StatusCode::OK);
    }
    let wrong = AppCredentials {
        id: client.id.clone(),
        secret: "not the secret".into(),
    };
    assert_eq!(
        token(&app, &wrong, &CC).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (status, text) = scrape(&app, &app.url("/metrics"), None).await;
    assert_eq!(status, StatusCode::OK);
    let tokens =
        r#"portico_tokens_issued_total{grant_type="client_credentials",principal_type="app"}"#;
    assert_eq!(value(&text, tokens), Some(3.0), "{text}");
    assert_eq!(
        value(
            &text,
            r#"portico_token_errors_total{error="invalid_client"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            r#"portico_client_authentications_total{method="client_secret_basic",outcome="ok"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &text,
            r#"portico_http_requests_total{route="/oauth2/v0/token",method="POST",status="200"}"#
        ),
        Some(3.0)
    );
    // Routes are patterns: no id becomes a label.
    app.get(&dev, &format!("/apps/{}", client.id)).await;
    let (_, text) = scrape(&app, &app.url("/metrics"), None).await;
    assert!(
        text.contains(r#"route="/admin/v1/apps/{app_id}""#),
        "{text}"
    );
    assert!(!text.contains(&format!("route=\"/admin/v1/apps/{}", client.id)));
    // Per-app series, asked for here.
    let per_app = format!(
        r#"portico_app_tokens_issued_total{{client_id="{}"}}"#,
        client.id
    );
    assert_eq!(value(&text, &per_app), Some(3.0));
    // The verified secret is remembered: one argon2 verification, then cache hits.
    assert!(
        value(
            &text,
            r#"portico_cache_lookups_total{cache="verified_secrets",result="hit"}"#
        )
        .is_some_and(|n| n >= 2.0)
    );
    assert!(value(&text, "portico_argon2_duration_seconds_count").is_some_and(|n| n >= 1.0));
    for family in [
        "portico_http_request_duration_seconds_bucket",
        "portico_db_query_duration_seconds_count",
        "portico_db_pool_connections{state=\"idle\"}",
        "portico_db_pool_max_connections",
        "portico_signing_keys{state=\"signing\"}",
        "portico_signing_key_age_seconds{kid=",
        "portico_argon2_queued",
    ] {
        assert!(text.contains(family), "{family} missing:\n{text}");
    }
    // Sign-in failures are limited; a refusal is counted.
    for _ in 0..12 {
        crate::attacker::sign_in_from(&app, "203.0.113.9", "nobody@example.com", "wrong password!")
            .await;
    }
    let (_, text) = scrape(&app, &app.url("/metrics"), None).await;
    assert!(
        value(
            &text,
            r#"portico_rate_limit_refusals_total{key="login-src"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    if backend == Backend::Postgres {
        // Each node times its own heartbeat through LISTEN/NOTIFY (every 250 ms).
        let deadline = Instant::now() + Duration::from_secs(12);
        loop {
            let (_, text) = scrape(&app, &app.url("/metrics"), None).await;
            if let Some(n) = value(&text, "portico_change_notice_lag_seconds_count")
                && n >= 1.0
            {
                let lag = value(&text, "portico_change_notice_last_lag_seconds").unwrap();
                assert!(lag < 1.0, "lag {lag} s");
                break;
            }
            assert!(Instant::now() < deadline, "no heartbeat came back:\n{text}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

async fn metrics_can_ask_for_a_token_and_move_to_their_own_port(backend: Backend) {
    // Off: no route, and the token endpoint works as ever.
    let off = spawn_app_with(backend, &[("PORTICO_METRICS_ENABLED", "false")]).await;
    assert_eq!(
        scrape(&off, &off.url("/metrics"), None).await.0,
        StatusCode::NOT_FOUND
    );
    drop(off);
    // Default: no per-app series.
    let plain = spawn_app(backend).await;
    let dev = plain.developer().await;
    let client = register(&plain, &dev, "Quiet", &["client_credentials"]).await;
    token(&plain, &client, &CC).await;
    let (_, text) = scrape(&plain, &plain.url("/metrics"), None).await;
    assert!(!text.contains("portico_app_tokens_issued_total"));
    assert!(!text.contains(&client.id));
    drop(plain);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let app = spawn_app_with(
        backend,
        &[
            ("PORTICO_METRICS_BIND", bind.as_str()),
            ("PORTICO_METRICS_BEARER_TOKEN", "scrape-me-please"),
        ],
    )
    .await;
    // Not on the main port any more.
    assert_eq!(
        scrape(&app, &app.url("/metrics"), None).await.0,
        StatusCode::NOT_FOUND
    );
    let own = format!("http://{bind}/metrics");
    let (status, _) = scrape(&app, &own, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scrape(&app, &own, Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, text) = scrape(&app, &own, Some("scrape-me-please")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("portico_signing_keys"), "{text}");
}
