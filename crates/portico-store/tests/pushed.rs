//! Pushed authorization requests (`PushedRequestStore`), on SQLite in memory and PostgreSQL:
//! a request is taken once, by its own client, while it lives; of concurrent takers on a
//! pool of connections exactly one gets it; expired ones are purged.

use portico_domain::repo::{Purge, PushedRequest, PushedRequestStore, TokenStore};
use portico_domain::{AppId, TokenDigest};
use portico_store::Store;
use portico_testkit::{Backend, TestDatabase, both_backends, test_database};

const NOW: i64 = 1_800_000_000;

async fn store(backend: Backend) -> (Store, TestDatabase) {
    let (db, pool) = match backend {
        // Every connection to `sqlite::memory:` is a database of its own: one connection.
        Backend::Sqlite => (TestDatabase::in_memory(), 1),
        Backend::Postgres => (test_database(Backend::Postgres).await, 8),
    };
    let store = Store::connect(&db.url, pool).await.expect("connect");
    store.migrate().await.expect("migrate");
    (store, db)
}

async fn finish(store: Store, db: TestDatabase) {
    store.close().await.expect("close");
    db.remove().await;
}

fn request(uri: &str, app: AppId, expires_at: i64) -> PushedRequest {
    PushedRequest {
        digest: TokenDigest::of(uri),
        app_id: app,
        params: format!("client_id={app}&response_type=code&state=a%20b"),
        expires_at,
    }
}

async fn taken_once_by_its_client_while_it_lives(backend: Backend) {
    let (s, db) = store(backend).await;
    let (app, other) = (AppId::new(), AppId::new());
    let r = request("urn:ietf:params:oauth:request_uri:one", app, NOW + 60);
    s.insert_pushed_request(&r).await.unwrap();
    // Another client's attempt neither gets it nor uses it up.
    assert_eq!(s.pushed_request(&r.digest, other, NOW).await.unwrap(), None);
    assert_eq!(
        s.take_pushed_request(&r.digest, other, NOW).await.unwrap(),
        None
    );
    // Read, left in place; then taken, once.
    let params = Some(r.params.clone());
    assert_eq!(s.pushed_request(&r.digest, app, NOW).await.unwrap(), params);
    assert_eq!(
        s.take_pushed_request(&r.digest, app, NOW).await.unwrap(),
        params
    );
    assert_eq!(
        s.take_pushed_request(&r.digest, app, NOW).await.unwrap(),
        None
    );
    assert_eq!(s.pushed_request(&r.digest, app, NOW).await.unwrap(), None);
    // Expired (at its expiry second, too): neither read nor taken.
    let late = request("urn:ietf:params:oauth:request_uri:late", app, NOW + 60);
    s.insert_pushed_request(&late).await.unwrap();
    assert_eq!(
        s.pushed_request(&late.digest, app, NOW + 60).await.unwrap(),
        None
    );
    assert_eq!(
        s.take_pushed_request(&late.digest, app, NOW + 60)
            .await
            .unwrap(),
        None
    );
    finish(s, db).await;
}

async fn concurrent_takes_have_one_winner(backend: Backend) {
    let (s, db) = store(backend).await;
    let app = AppId::new();
    let r = request("urn:ietf:params:oauth:request_uri:raced", app, NOW + 60);
    s.insert_pushed_request(&r).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            let digest = r.digest.clone();
            tokio::spawn(async move { s.take_pushed_request(&digest, app, NOW).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one take gets the request");
    finish(s, db).await;
}

async fn expired_requests_are_purged(backend: Backend) {
    let (s, db) = store(backend).await;
    let app = AppId::new();
    let old = request("urn:ietf:params:oauth:request_uri:old", app, NOW - 1);
    let live = request("urn:ietf:params:oauth:request_uri:live", app, NOW + 60);
    s.insert_pushed_request(&old).await.unwrap();
    s.insert_pushed_request(&live).await.unwrap();
    let purged = s
        .purge_expired(&Purge {
            now: NOW,
            grants_revoked_before: NOW,
            rotated_before: NOW,
            replies_before: NOW,
            changes_before: NOW,
        })
        .await
        .unwrap();
    assert!(purged >= 1);
    // Asked as of before its expiry, the purged one is gone; the live one stays.
    assert_eq!(
        s.pushed_request(&old.digest, app, NOW - 10).await.unwrap(),
        None
    );
    assert!(
        s.pushed_request(&live.digest, app, NOW)
            .await
            .unwrap()
            .is_some()
    );
    finish(s, db).await;
}

both_backends!(
    taken_once_by_its_client_while_it_lives,
    concurrent_takes_have_one_winner,
    expired_requests_are_purged,
);
