//! The revocation feed against the fixture issuer's SSE endpoint: snapshots and events deny and
//! lift, `keys` refetches the JWKS, reconnects resume with Last-Event-ID, and the down
//! policies apply when the feed is stale or refused.

mod common;

use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use common::{
    CLIENT_ID, COMPANY_ID, INTROSPECT_CLIENT_ID, INTROSPECT_CLIENT_SECRET, Issuer, TestKey,
    USER_ID, eventually, sse_event,
};
use jsonwebtoken::Algorithm;
use portico_verify::{FeedDown, IntrospectionConfig, RevocationFeedConfig, Verifier, VerifyError};
use serde_json::{Value, json};

const STALE: Duration = Duration::from_millis(300);
/// The promise: a change is enforced within one second.
const WITHIN: Duration = Duration::from_secs(1);

fn config() -> RevocationFeedConfig {
    RevocationFeedConfig::new(INTROSPECT_CLIENT_ID, INTROSPECT_CLIENT_SECRET)
        .stale_after(STALE)
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

fn empty_snapshot(id: u64) -> String {
    sse_event(id, "snapshot", &json!({}))
}

async fn start(snapshot: &str, config: RevocationFeedConfig) -> (Issuer, TestKey, Verifier) {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    issuer.feed_on_connect(snapshot);
    let verifier = issuer
        .verifier()
        .http_timeout(Duration::from_secs(3))
        .revocation_feed(config)
        .build()
        .await
        .expect("verifier");
    (issuer, key, verifier)
}

fn up(verifier: &Verifier) -> bool {
    verifier
        .revocation_feed_status()
        .expect("feed configured")
        .up
}

fn last_id(verifier: &Verifier) -> Option<u64> {
    verifier.revocation_feed_status().unwrap().last_event_id
}

/// Sends an event and waits until the verifier has applied it.
async fn push(issuer: &Issuer, verifier: &Verifier, id: u64, event: &str, data: Value) {
    issuer.feed_send(&sse_event(id, event, &data));
    eventually(WITHIN, &format!("event {id} applied"), || async {
        last_id(verifier) == Some(id)
    })
    .await;
}

/// A token with the fixture's claims, changed by `changes`.
fn token(issuer: &Issuer, key: &TestKey, changes: Value) -> String {
    let mut claims = issuer.user_claims("expense.report.read");
    for (k, v) in changes.as_object().unwrap() {
        claims[k] = v.clone();
    }
    key.token(&claims)
}

async fn revoked(verifier: &Verifier, token: &str) -> bool {
    match verifier.verify(token).await {
        Err(VerifyError::Revoked) => true,
        Ok(_) => false,
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

const OTHER_COMPANY: &str = "0b6e1f1c-93f4-4b0e-9d4f-5a2f7e2c0c11";
const OTHER_USER: &str = "5e0c2a9b-7a41-4f0e-8c1d-2b3a4c5d6e7f";

#[tokio::test]
async fn a_snapshot_denies_what_it_lists_and_nothing_else() {
    let snapshot = sse_event(
        7,
        "snapshot",
        &json!({
            "revoked_jtis": [{"jti": "jti-revoked", "exp": common::now() + 600}],
            "revoked_grants": [{"grant_id": "grant-revoked", "until": common::now() + 600}],
            "disabled_apps": ["app-off"],
            // Upper case on the wire still matches the lower-case claim.
            "disabled_companies": [OTHER_COMPANY.to_uppercase()],
            "disabled_users": [OTHER_USER],
            "disabled_enablements": [{"company_id": "c3c3c3c3-0000-4000-8000-000000000003", "client_id": CLIENT_ID}],
        }),
    );
    let (issuer, key, verifier) = start(&snapshot, config()).await;
    let status = verifier.revocation_feed_status().unwrap();
    assert!(status.up, "{status:?}");
    assert_eq!(status.last_event_id, Some(7));
    assert_eq!(status.when_down, FeedDown::Introspect);

    let fine = token(&issuer, &key, json!({}));
    let claims = verifier.verify(&fine).await.expect("unlisted token");
    assert_eq!(claims.subject(), USER_ID);

    for (what, changes) in [
        ("revoked jti", json!({"jti": "jti-revoked"})),
        ("revoked grant", json!({"sid": "grant-revoked"})),
        ("disabled app", json!({"client_id": "app-off"})),
        ("disabled company", json!({"company_id": OTHER_COMPANY})),
        ("disabled user", json!({"sub": OTHER_USER})),
        (
            "disabled user, upper-case sub",
            json!({"sub": OTHER_USER.to_uppercase()}),
        ),
        (
            "disabled enablement",
            json!({"company_id": "c3c3c3c3-0000-4000-8000-000000000003"}),
        ),
    ] {
        let t = token(&issuer, &key, changes);
        assert!(revoked(&verifier, &t).await, "{what}");
    }
    for (what, changes) in [
        ("other jti", json!({"jti": "jti-other"})),
        ("jti differs in case", json!({"jti": "JTI-REVOKED"})),
        ("app id differs in case", json!({"client_id": "APP-OFF"})),
        (
            "the disabled user's id as a company token",
            json!({"sub": OTHER_USER, "principal_type": "company"}),
        ),
        (
            "another app in the company of the disabled enablement",
            json!({"company_id": "c3c3c3c3-0000-4000-8000-000000000003", "client_id": "other-app"}),
        ),
    ] {
        let t = token(&issuer, &key, changes);
        assert!(!revoked(&verifier, &t).await, "{what}");
    }

    // A revoked token is an ordinary invalid_token answer.
    let t = token(&issuer, &key, json!({"client_id": "app-off"}));
    let err = verifier.verify(&t).await.unwrap_err();
    assert_eq!(err.to_string(), "the token has been revoked");
    let response = err.into_response();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="invalid_token", error_description="the token has been revoked""#
    );
    assert_eq!(issuer.introspections(), 0, "the feed is up: no round trips");
}

#[tokio::test]
async fn events_deny_and_lift_within_a_second() {
    let (issuer, key, verifier) = start(&empty_snapshot(1), config()).await;
    let t = token(&issuer, &key, json!({}));
    assert!(!revoked(&verifier, &t).await);

    let mut id = 1;
    for (event, deny, lift) in [
        (
            "app",
            json!({"client_id": CLIENT_ID, "serving": false}),
            json!({"client_id": CLIENT_ID, "serving": true}),
        ),
        (
            "company",
            json!({"company_id": COMPANY_ID, "enabled": false}),
            json!({"company_id": COMPANY_ID.to_uppercase(), "enabled": true}),
        ),
        (
            "user",
            json!({"user_id": USER_ID, "enabled": false}),
            json!({"user_id": USER_ID, "enabled": true}),
        ),
        (
            "enablement",
            json!({"company_id": COMPANY_ID, "client_id": CLIENT_ID, "enabled": false}),
            json!({"company_id": COMPANY_ID, "client_id": CLIENT_ID, "enabled": true}),
        ),
    ] {
        id += 1;
        let started = Instant::now();
        issuer.feed_send(&sse_event(id, event, &deny));
        eventually(WITHIN, &format!("{event} denied"), || async {
            matches!(verifier.verify(&t).await, Err(VerifyError::Revoked))
        })
        .await;
        assert!(started.elapsed() < WITHIN);
        id += 1;
        push(&issuer, &verifier, id, event, lift).await;
        assert!(!revoked(&verifier, &t).await, "{event} lifted");
    }

    // Token and grant revocations.
    let doomed = token(
        &issuer,
        &key,
        json!({"jti": "jti-doomed", "sid": "grant-9"}),
    );
    let sibling = token(&issuer, &key, json!({"sid": "grant-9"}));
    assert!(!revoked(&verifier, &doomed).await);
    id += 1;
    push(
        &issuer,
        &verifier,
        id,
        "jti",
        json!({"jti": "jti-doomed", "exp": common::now() + 600}),
    )
    .await;
    assert!(revoked(&verifier, &doomed).await);
    assert!(!revoked(&verifier, &sibling).await);
    id += 1;
    push(
        &issuer,
        &verifier,
        id,
        "grant",
        json!({"grant_id": "grant-9", "until": common::now() + 600}),
    )
    .await;
    assert!(revoked(&verifier, &sibling).await);
    assert!(!revoked(&verifier, &t).await, "grant-42 is not revoked");

    // Unknown types are ignored but advance the id.
    id += 1;
    push(&issuer, &verifier, id, "something-new", json!({"x": 1})).await;
    assert!(!revoked(&verifier, &t).await);

    // A replayed older event is not applied (it could undo a newer one).
    issuer.feed_send(&sse_event(
        3,
        "app",
        &json!({"client_id": CLIENT_ID, "serving": false}),
    ));
    id += 1;
    push(&issuer, &verifier, id, "something-new", json!({})).await;
    assert!(!revoked(&verifier, &t).await);
}

#[tokio::test]
async fn a_snapshot_replaces_the_whole_state() {
    let first = sse_event(
        1,
        "snapshot",
        &json!({
            "revoked_jtis": [{"jti": "jti-a", "exp": common::now() + 600}],
            "disabled_apps": ["app-a"],
        }),
    );
    let (issuer, key, verifier) = start(&first, config()).await;
    let by_jti = token(&issuer, &key, json!({"jti": "jti-a"}));
    let by_app = token(&issuer, &key, json!({"client_id": "app-a"}));
    let by_company = token(&issuer, &key, json!({}));
    assert!(revoked(&verifier, &by_jti).await);
    assert!(revoked(&verifier, &by_app).await);
    assert!(!revoked(&verifier, &by_company).await);

    push(
        &issuer,
        &verifier,
        40,
        "snapshot",
        json!({"disabled_companies": [COMPANY_ID]}),
    )
    .await;
    // Everything of the test's tokens has COMPANY_ID, so use another company for the others.
    let by_jti = token(
        &issuer,
        &key,
        json!({"jti": "jti-a", "company_id": OTHER_COMPANY}),
    );
    let by_app = token(
        &issuer,
        &key,
        json!({"client_id": "app-a", "company_id": OTHER_COMPANY}),
    );
    assert!(!revoked(&verifier, &by_jti).await, "lifted by the snapshot");
    assert!(!revoked(&verifier, &by_app).await, "lifted by the snapshot");
    assert!(revoked(&verifier, &by_company).await);
    assert_eq!(last_id(&verifier), Some(40));
}

#[tokio::test]
async fn a_keys_event_refetches_the_jwks_at_once() {
    let old = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&old]).await;
    issuer.feed_on_connect(&empty_snapshot(1));
    let verifier = issuer
        .verifier()
        // Without the feed, a rotation would wait an hour for the next allowed refetch.
        .jwks_refetch_interval(Duration::from_secs(3600))
        .revocation_feed(config())
        .build()
        .await
        .unwrap();
    assert!(up(&verifier));
    // Use up the one free refetch for an unknown kid.
    let stray = TestKey::generate(Algorithm::EdDSA);
    let err = verifier
        .verify(&stray.token(&issuer.user_claims("")))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey), "{err:?}");
    assert_eq!(issuer.jwks_fetches(), 2);

    // The issuer rotates: the new key is in, the old one out.
    let new = TestKey::generate(Algorithm::EdDSA);
    issuer.set_keys(&[&new]);
    let new_token = new.token(&issuer.user_claims("expense.report.read"));
    let old_token = old.token(&issuer.user_claims("expense.report.read"));
    assert!(matches!(
        verifier.verify(&new_token).await,
        Err(VerifyError::UnknownKey)
    ));
    verifier
        .verify(&old_token)
        .await
        .expect("old key still cached");
    assert_eq!(issuer.jwks_fetches(), 2, "rate-limited");

    push(&issuer, &verifier, 2, "keys", json!({})).await;
    eventually(WITHIN, "JWKS refetched", || async {
        issuer.jwks_fetches() == 3
    })
    .await;
    verifier.verify(&new_token).await.expect("new key");
    assert!(matches!(
        verifier.verify(&old_token).await,
        Err(VerifyError::UnknownKey)
    ));
    assert_eq!(issuer.jwks_fetches(), 3);
}

#[tokio::test]
async fn a_reconnect_resumes_with_last_event_id() {
    let (issuer, key, verifier) = start(&empty_snapshot(5), config()).await;
    let t = token(&issuer, &key, json!({}));
    push(
        &issuer,
        &verifier,
        6,
        "app",
        json!({"client_id": CLIENT_ID, "serving": false}),
    )
    .await;
    assert!(revoked(&verifier, &t).await);

    // The server drops the stream; on the resumed one it first sends what was missed.
    issuer.feed_on_connect(&sse_event(
        7,
        "app",
        &json!({"client_id": CLIENT_ID, "serving": true}),
    ));
    issuer.feed_close();
    eventually(WITHIN, "reconnected", || async {
        issuer.feed_streams() == 2
    })
    .await;
    eventually(WITHIN, "missed event applied", || async {
        last_id(&verifier) == Some(7)
    })
    .await;
    eventually(WITHIN, "up again", || async { up(&verifier) }).await;
    assert!(!revoked(&verifier, &t).await);

    let requests = issuer.feed_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].last_event_id, None, "fresh start");
    assert_eq!(requests[1].last_event_id.as_deref(), Some("6"));
    for request in &requests {
        assert_eq!(request.path, "/oauth2/v0/revocations");
        assert!(
            request
                .authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Basic ")),
            "{request:?}"
        );
    }
    // Events on the resumed stream apply too.
    push(
        &issuer,
        &verifier,
        8,
        "jti",
        json!({"jti": "jti-late", "exp": common::now() + 600}),
    )
    .await;
    assert!(revoked(&verifier, &token(&issuer, &key, json!({"jti": "jti-late"}))).await);
}

#[tokio::test]
async fn a_message_split_across_chunks_is_applied_once_complete() {
    let (issuer, key, verifier) = start(&empty_snapshot(1), config()).await;
    let t = token(&issuer, &key, json!({}));
    // A heartbeat would end the message early (its blank line).
    issuer.feed_heartbeat(None);
    issuer.feed_send("id: 2\r\nevent: app\r\ndata: {\"client_id\":");
    issuer.feed_send(&format!(
        " \"{CLIENT_ID}\",\r\ndata: \"serving\": false}}\r"
    ));
    // Still incomplete: nothing applied.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(last_id(&verifier), Some(1));
    assert!(!revoked(&verifier, &t).await);
    issuer.feed_send("\n: a comment\r\n\r\n");
    eventually(WITHIN, "split event applied", || async {
        last_id(&verifier) == Some(2)
    })
    .await;
    assert!(revoked(&verifier, &t).await);
}

#[tokio::test]
async fn a_stale_feed_with_accept_until_expiry_accepts_and_recovers() {
    let snapshot = sse_event(
        1,
        "snapshot",
        &json!({"revoked_jtis": [{"jti": "jti-known", "exp": common::now() + 600}]}),
    );
    let (issuer, key, verifier) =
        start(&snapshot, config().when_down(FeedDown::AcceptUntilExpiry)).await;
    let t = token(&issuer, &key, json!({}));
    assert!(up(&verifier));

    // Silence: no heartbeats, and reconnections get nothing either.
    issuer.feed_on_connect("");
    issuer.feed_heartbeat(None);
    let started = Instant::now();
    eventually(Duration::from_secs(2), "feed down", || async {
        !up(&verifier)
    })
    .await;
    assert!(started.elapsed() >= STALE - Duration::from_millis(60));
    let status = verifier.revocation_feed_status().unwrap();
    assert!(status.last_message_age.is_some_and(|age| age >= STALE) || !status.up);

    // Down: locally valid tokens pass, without introspection ...
    verifier.verify(&t).await.expect("accepted while down");
    // ... but what the last known state refuses stays refused.
    assert!(
        revoked(
            &verifier,
            &token(&issuer, &key, json!({"jti": "jti-known"}))
        )
        .await
    );
    assert_eq!(issuer.introspections(), 0);

    // Heartbeats again: the client dropped the stale stream and reconnects.
    issuer.feed_heartbeat(Some(Duration::from_millis(50)));
    eventually(Duration::from_secs(2), "up again", || async {
        up(&verifier)
    })
    .await;
    // Usually on a new stream that resumes after the last event; if the heartbeats came back
    // before the client had given the old stream up, on that one (nothing on it was lost).
    if issuer.feed_streams() >= 2 {
        let last = issuer.feed_requests().pop().unwrap();
        assert_eq!(last.last_event_id.as_deref(), Some("1"));
    }
    // Either way the state is still enforced.
    assert!(
        revoked(
            &verifier,
            &token(&issuer, &key, json!({"jti": "jti-known"}))
        )
        .await
    );
}

#[tokio::test]
async fn a_stale_feed_with_introspect_asks_the_issuer() {
    let (issuer, key, verifier) = start(&empty_snapshot(1), config()).await;
    let mut claims = issuer.user_claims("expense.report.read");
    let active = key.token(&claims);
    issuer.set_introspection(&active, Issuer::active(&claims));
    claims["jti"] = json!("jti-inactive");
    let inactive = key.token(&claims);
    verifier
        .verify(&inactive)
        .await
        .expect("up: local check only");
    assert_eq!(issuer.introspections(), 0);

    issuer.feed_on_connect("");
    issuer.feed_heartbeat(None);
    eventually(Duration::from_secs(2), "feed down", || async {
        !up(&verifier)
    })
    .await;
    verifier.verify(&active).await.expect("introspected active");
    assert_eq!(issuer.introspections(), 1);
    let err = verifier.verify(&inactive).await.unwrap_err();
    assert!(matches!(err, VerifyError::Inactive), "{err:?}");
    assert_eq!(issuer.introspections(), 2);
    // Forgeries are still refused locally first.
    let forged = TestKey::generate(Algorithm::EdDSA)
        .with_kid(&key.kid)
        .token(&issuer.user_claims(""));
    assert!(matches!(
        verifier.verify(&forged).await,
        Err(VerifyError::InvalidSignature)
    ));
    assert_eq!(issuer.introspections(), 2);
}

#[tokio::test]
async fn refused_credentials_keep_the_feed_down_and_retrying() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    issuer.feed_on_connect(&empty_snapshot(1));
    let started = Instant::now();
    let verifier = issuer
        .verifier()
        .http_timeout(Duration::from_secs(3))
        .revocation_feed(
            RevocationFeedConfig::new(INTROSPECT_CLIENT_ID, "wrong secret")
                .stale_after(STALE)
                .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50))
                .when_down(FeedDown::AcceptUntilExpiry),
        )
        .build()
        .await
        .expect("a refused feed does not fail the build");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "build stops waiting on a 401"
    );
    let status = verifier.revocation_feed_status().unwrap();
    assert!(!status.up);
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("401")),
        "{status:?}"
    );
    assert!(!status.last_error.unwrap().contains("wrong secret"));
    // It keeps trying, with backoff.
    eventually(WITHIN, "retries", || async {
        issuer.feed_requests().len() >= 3
    })
    .await;
    assert_eq!(issuer.feed_streams(), 0);
    verifier
        .verify(&token(&issuer, &key, json!({})))
        .await
        .expect("accepted while down");

    // 403 (not a resource server) likewise.
    issuer.feed_answer(403);
    let before = issuer.feed_requests().len();
    eventually(WITHIN, "403 seen", || async {
        issuer.feed_requests().len() > before + 1
            && verifier
                .revocation_feed_status()
                .unwrap()
                .last_error
                .is_some_and(|e| e.contains("403"))
    })
    .await;
    assert!(!up(&verifier));
}

#[tokio::test]
async fn without_a_first_snapshot_the_verifier_starts_down_and_comes_up_later() {
    let (issuer, key, verifier) = {
        let key = TestKey::generate(Algorithm::EdDSA);
        let issuer = Issuer::start(&[&key]).await;
        let started = Instant::now();
        let verifier = issuer
            .verifier()
            .http_timeout(Duration::from_millis(300))
            .revocation_feed(config())
            .build()
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        (issuer, key, verifier)
    };
    let status = verifier.revocation_feed_status().unwrap();
    assert!(!status.up, "heartbeats alone do not make a deny state");
    assert_eq!(status.last_event_id, None);
    // Down with Introspect: an unknown token is inactive at the issuer.
    let t = token(&issuer, &key, json!({}));
    assert!(matches!(
        verifier.verify(&t).await,
        Err(VerifyError::Inactive)
    ));
    issuer.feed_send(&empty_snapshot(3));
    eventually(WITHIN, "up", || async { up(&verifier) }).await;
    verifier.verify(&t).await.expect("up: local check");
}

#[tokio::test]
async fn with_introspection_configured_the_issuer_stays_authoritative() {
    let snapshot = sse_event(1, "snapshot", &json!({"disabled_apps": [CLIENT_ID]}));
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    issuer.feed_on_connect(&snapshot);
    let verifier = issuer
        .verifier()
        .introspection(IntrospectionConfig::new(
            INTROSPECT_CLIENT_ID,
            INTROSPECT_CLIENT_SECRET,
        ))
        .revocation_feed(config())
        .build()
        .await
        .unwrap();
    assert!(verifier.introspects());
    assert!(up(&verifier));
    let claims = issuer.user_claims("expense.report.read");
    let t = key.token(&claims);
    issuer.set_introspection(&t, Issuer::active(&claims));
    verifier.verify(&t).await.expect("introspection decides");
    issuer.set_introspection(&t, json!({"active": false}));
    assert!(matches!(
        verifier.verify(&t).await,
        Err(VerifyError::Inactive)
    ));
    assert_eq!(issuer.introspections(), 2);
}

#[tokio::test]
async fn an_invalid_event_drops_the_stream_and_resumes_before_it() {
    let (issuer, key, verifier) = start(&empty_snapshot(1), config()).await;
    let t = token(&issuer, &key, json!({}));
    push(&issuer, &verifier, 2, "something-new", json!({})).await;
    // Unparsable data for a known type: never skipped silently.
    issuer.feed_on_connect(&sse_event(
        3,
        "app",
        &json!({"client_id": CLIENT_ID, "serving": false}),
    ));
    issuer.feed_send("id: 3\nevent: app\ndata: {\"client_id\": 42}\n\n");
    eventually(WITHIN, "reconnected", || async {
        issuer.feed_streams() == 2
    })
    .await;
    assert_eq!(
        issuer.feed_requests()[1].last_event_id.as_deref(),
        Some("2")
    );
    eventually(WITHIN, "the resent event applied", || async {
        last_id(&verifier) == Some(3)
    })
    .await;
    assert!(revoked(&verifier, &t).await);
}

#[tokio::test]
async fn the_feed_endpoint_must_be_advertised() {
    let key = TestKey::generate(Algorithm::EdDSA);
    let issuer = Issuer::start(&[&key]).await;
    issuer.advertise_feed(false);
    let err = issuer
        .verifier()
        .revocation_feed(config())
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Config(_)), "{err:?}");
    assert!(issuer.feed_requests().is_empty());
}

#[tokio::test]
async fn dropping_the_last_verifier_stops_the_feed() {
    let (issuer, _key, verifier) = start(&empty_snapshot(1), config()).await;
    let clone = verifier.clone();
    drop(verifier);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(up(&clone), "a clone keeps the feed alive");
    drop(clone);
    // The fixture notices when its next heartbeat cannot be written.
    eventually(Duration::from_secs(2), "stream closed", || async {
        issuer.feed_open_streams() == 0
    })
    .await;
    tokio::time::sleep(STALE * 2).await;
    assert_eq!(issuer.feed_requests().len(), 1, "no reconnect after drop");
}
