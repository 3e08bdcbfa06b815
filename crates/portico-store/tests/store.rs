//! The store's contracts (the `portico_domain::repo` ports), on SQLite in memory and on
//! PostgreSQL (a database per test, made from `PORTICO_TEST_DATABASE_URL` and dropped
//! afterwards): optimistic versions, single-use codes, refresh rotation with one winner, code
//! grants revoked before they exist, failure budgets, revocation lists.

use chrono::{DateTime, Utc};
use portico_domain::repo::{
    AppPart, AppStore, AuditStore, CompanyStore, Enablement, EnablementStore, FailureStore, Purge,
    ReplayStore, TokenStore, UserStore,
};
use portico_domain::{
    ApiSelection, AppId, AppSpec, AuditAction, AuditEvent, AuditQuery, AuthorizationCodeRecord,
    CodeRedemption, Company, CompanyId, DomainError, Edition, FailureBudget, GrantType, PartnerApp,
    Permissions, RefreshTokenRecord, Review, Rotation, TokenDigest, TokenGrant, User, UserId,
    Visibility,
};
use portico_store::Store;
use portico_testkit::{Backend, TestDatabase, both_backends, test_database};

/// Unix seconds the tests pretend it is.
const NOW: i64 = 1_800_000_000;

/// A migrated store over a database of its own.
struct Fixture {
    store: Store,
    db: TestDatabase,
    company: Company,
    user: User,
}

impl Fixture {
    /// A store with one company and one user in it.
    async fn new(backend: Backend) -> Self {
        let (db, pool) = match backend {
            // Every connection to `sqlite::memory:` is a database of its own: one connection.
            Backend::Sqlite => (TestDatabase::in_memory(), 1),
            Backend::Postgres => (test_database(Backend::Postgres).await, 4),
        };
        let store = Store::connect(&db.url, pool).await.expect("connect");
        store.migrate().await.expect("migrate");
        let company = Company {
            id: CompanyId::new(),
            name: "Acme".into(),
            domain: "acme.example".into(),
            edition: Edition::Professional,
            development_partner: true,
            own_use_apps: false,
            enabled: true,
            created_at: at(NOW),
            version: 1,
        };
        store
            .insert_company(&company, &audit(&company, AuditAction::CompanyCreate))
            .await
            .expect("insert company");
        let user = User {
            id: UserId::new(),
            company_id: company.id,
            login_id: "admin@acme.example".into(),
            display_name: "Admin".into(),
            enabled: true,
            permissions: Permissions {
                web_services_administrator: true,
                ..Permissions::default()
            },
            created_at: at(NOW),
            version: 1,
        };
        store
            .insert_user(&user, "hash", &audit(&company, AuditAction::UserCreate))
            .await
            .expect("insert user");
        Self {
            store,
            db,
            company,
            user,
        }
    }

    /// Closes the store and drops its database.
    async fn finish(self) {
        self.store.close().await.expect("close");
        self.db.remove().await;
    }

    /// A new app of the company, stored with the secret hash "secret-hash".
    async fn app(&self, name: &str) -> PartnerApp {
        let app = self.new_app(name);
        self.store
            .insert_app(
                &app,
                "secret-hash",
                Some(&self.owner_enablement(app.id)),
                &audit(&self.company, AuditAction::AppRegister),
            )
            .await
            .expect("insert app");
        app
    }

    /// A new app of the company, not stored.
    fn new_app(&self, name: &str) -> PartnerApp {
        PartnerApp {
            id: AppId::new(),
            company_id: self.company.id,
            spec: AppSpec {
                name: name.into(),
                description: "Imports expense reports".into(),
                active: true,
                apis: vec![ApiSelection {
                    api: "expense.report.read".into(),
                    sensitive_data_groups: vec![],
                }],
                redirect_uris: vec!["https://app.example/callback".into()],
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                id_token_signed_response_alg: Default::default(),
                security: Default::default(),
            },
            visibility: Visibility::Private,
            review: Review::draft(),
            resource_server: false,
            resource_uri: None,
            certified_from: None,
            secret_rotated_at: at(NOW),
            created_at: at(NOW),
            updated_at: at(NOW),
            version: 1,
        }
    }

    fn owner_enablement(&self, app: AppId) -> Enablement {
        Enablement {
            company_id: self.company.id,
            app_id: app,
            enabled: true,
            updated_at: at(NOW),
            updated_by: Some(self.user.id),
        }
    }

    fn code(&self, app: &PartnerApp, code: &str) -> AuthorizationCodeRecord {
        AuthorizationCodeRecord {
            digest: TokenDigest::of(code),
            app_id: app.id,
            user_id: self.user.id,
            company_id: self.company.id,
            redirect_uri: "https://app.example/callback".into(),
            scope: "expense.report.read".into(),
            pkce_challenge: "S256:challenge".into(),
            expires_at: NOW + 60,
            nonce: Some("n-0S6_WzA2Mj".into()),
            auth_time: Some(NOW - 30),
            resources: Some("urn:portico:api:expense.report.read".into()),
            dpop_jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
        }
    }

    fn grant(&self, app: &PartnerApp, id: &str) -> TokenGrant {
        TokenGrant {
            id: id.into(),
            app_id: app.id,
            company_id: self.company.id,
            user_id: Some(self.user.id),
            scope: "expense.report.read".into(),
            created_at: NOW,
            revoked_at: None,
            resources: Some("urn:portico:api:expense.report.read".into()),
            auth_time: Some(NOW - 30),
            dpop_jkt: None,
        }
    }

    async fn audit_count(&self) -> usize {
        self.store
            .audit_entries(&AuditQuery {
                company_id: Some(self.company.id),
                before_id: None,
                limit: 1000,
            })
            .await
            .expect("audit entries")
            .len()
    }
}

/// Whole seconds: what every backend stores exactly.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn audit(company: &Company, action: AuditAction) -> AuditEvent {
    AuditEvent::new::<(), ()>(
        None,
        Some(company.id),
        action,
        ("test", company.id.to_string()),
        None,
        None,
    )
}

fn refresh(token: &str, grant_id: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        digest: TokenDigest::of(token),
        grant_id: grant_id.into(),
        issued_at: NOW,
        expires_at: NOW + 86_400,
        rotated_at: None,
        successor: None,
        reply: None,
    }
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, DomainError>, expected: &str) {
    match result {
        Err(DomainError::Conflict { code, .. }) => assert_eq!(code, expected),
        other => panic!("expected Conflict {{ code: {expected:?} }}, got {other:?}"),
    }
}

/// An app reads back as it was stored, with its secret hash and the owner's enablement; a
/// second app of the same name in the company is refused.
async fn apps_read_back_as_stored(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = f.app("Expense Sync").await;
    let s = &f.store;
    assert_eq!(s.app(app.id).await.unwrap().as_ref(), Some(&app));
    assert_eq!(s.app(AppId::new()).await.unwrap(), None);
    assert_eq!(s.apps_of(f.company.id).await.unwrap(), vec![app.clone()]);
    let secrets = s.client_secrets(app.id).await.unwrap().expect("secrets");
    assert_eq!(secrets.current_hash, "secret-hash");
    assert_eq!(secrets.previous_hash, None);
    assert_eq!(
        s.enablement(f.company.id, app.id).await.unwrap(),
        Some(true)
    );

    let mut twin = app.clone();
    twin.id = AppId::new();
    assert_conflict(
        s.insert_app(
            &twin,
            "other-hash",
            Some(&f.owner_enablement(twin.id)),
            &audit(&f.company, AuditAction::AppRegister),
        )
        .await,
        "name_taken",
    );
    assert_eq!(s.app(twin.id).await.unwrap(), None);
    f.finish().await;
}

/// `update_app` is a compare-and-set on the version: a write from a stale read changes
/// nothing (not even the audit log), and a write touches only the parts it names.
async fn update_app_refuses_a_stale_version(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = f.app("Expense Sync").await;
    let s = &f.store;
    let audits = f.audit_count().await;
    let modify = audit(&f.company, AuditAction::AppModify);

    let mut first = app.clone();
    first.spec.name = "Expense Sync 2".into();
    first.updated_at = at(NOW + 10);
    first.version = 2;
    s.update_app(1, &first, &[AppPart::Spec], None, &modify)
        .await
        .expect("the first write from version 1 wins");
    assert_eq!(s.app(app.id).await.unwrap().as_ref(), Some(&first));
    assert_eq!(f.audit_count().await, audits + 1);

    // A second writer that also read version 1 is refused and writes nothing.
    let mut late = app.clone();
    late.spec.name = "Lost Update".into();
    late.spec.active = false;
    late.updated_at = at(NOW + 20);
    late.version = 2;
    let refused = s
        .update_app(1, &late, &[AppPart::Spec], None, &modify)
        .await;
    assert!(
        matches!(refused, Err(DomainError::Stale { .. })),
        "{refused:?}"
    );
    assert_eq!(s.app(app.id).await.unwrap().as_ref(), Some(&first));
    assert_eq!(f.audit_count().await, audits + 1);

    // A write of one part leaves the others as stored.
    let mut visibility = first.clone();
    visibility.visibility = Visibility::Public;
    visibility.spec.name = "Not Written".into();
    visibility.updated_at = at(NOW + 30);
    visibility.version = 3;
    s.update_app(
        2,
        &visibility,
        &[AppPart::Visibility],
        None,
        &audit(&f.company, AuditAction::AppVisibility),
    )
    .await
    .expect("a write from the current version");
    let stored = s.app(app.id).await.unwrap().unwrap();
    assert_eq!(stored.visibility, Visibility::Public);
    assert_eq!(stored.spec.name, "Expense Sync 2");
    assert_eq!(stored.version, 3);
    assert_eq!(stored.updated_at, at(NOW + 30));
    f.finish().await;
}

/// A code is redeemed once, by its own client, and bound to the grant id of that redemption;
/// another client's attempt leaves it untouched.
async fn codes_are_single_use_and_bound_to_their_client(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = f.app("Expense Sync").await;
    let other = f.app("Other App").await;
    let s = &f.store;
    let code = f.code(&app, "the-code");
    s.insert_code(&code).await.unwrap();

    assert_eq!(
        s.redeem_code(&code.digest, other.id, "grant-other", NOW)
            .await
            .unwrap(),
        CodeRedemption::OtherClient
    );
    assert_eq!(
        s.redeem_code(&code.digest, app.id, "grant-1", NOW)
            .await
            .unwrap(),
        CodeRedemption::Redeemed(code.clone()),
        "another client's attempt left the code for its own client"
    );
    assert_eq!(
        s.redeem_code(&code.digest, app.id, "grant-2", NOW + 1)
            .await
            .unwrap(),
        CodeRedemption::AlreadyRedeemed {
            record: code.clone(),
            grant_id: Some("grant-1".into()),
        }
    );
    assert_eq!(
        s.redeem_code(&TokenDigest::of("never-issued"), app.id, "grant-3", NOW)
            .await
            .unwrap(),
        CodeRedemption::Unknown
    );
    f.finish().await;
}

/// Of concurrent redemptions of one code exactly one wins; the others see the winner's grant.
async fn concurrent_redemptions_have_one_winner(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = f.app("Expense Sync").await;
    let code = f.code(&app, "raced-code");
    f.store.insert_code(&code).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = f.store.clone();
            let digest = code.digest.clone();
            tokio::spawn(async move {
                s.redeem_code(&digest, app.id, &format!("grant-{i}"), NOW)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut bound = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            CodeRedemption::Redeemed(_) => winners.push(format!("grant-{i}")),
            CodeRedemption::AlreadyRedeemed { grant_id, .. } => bound.push(grant_id.unwrap()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption wins");
    assert!(bound.iter().all(|g| *g == winners[0]), "{bound:?}");
    f.finish().await;
}

/// A replayed code's grant revoked before its first redemption stored it: the grant can no
/// longer be stored under that id, so no token of it is ever issued.
async fn a_code_grant_revoked_first_cannot_be_stored(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = f.app("Expense Sync").await;
    let s = &f.store;
    let code = f.code(&app, "replayed-code");
    s.insert_code(&code).await.unwrap();
    assert!(!s.is_grant_revoked("grant-1").await.unwrap());

    s.revoke_code_grant(&code, "grant-1", NOW).await.unwrap();
    assert!(s.is_grant_revoked("grant-1").await.unwrap());
    assert_conflict(
        s.insert_grant(&f.grant(&app, "grant-1"), &refresh("rt-1", "grant-1"))
            .await,
        "grant_exists",
    );
    assert_eq!(
        s.find_refresh_token(&TokenDigest::of("rt-1"))
            .await
            .unwrap(),
        None
    );
    assert!(
        s.revoked_grants_since(NOW)
            .await
            .unwrap()
            .contains(&("grant-1".to_owned(), NOW))
    );

    // Revoking a grant that was stored first revokes it too.
    s.insert_grant(&f.grant(&app, "grant-2"), &refresh("rt-2", "grant-2"))
        .await
        .unwrap();
    s.revoke_code_grant(&code, "grant-2", NOW + 5)
        .await
        .unwrap();
    assert!(s.is_grant_revoked("grant-2").await.unwrap());
    let (_, grant) = s
        .find_refresh_token(&TokenDigest::of("rt-2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.revoked_at, Some(NOW + 5));
    f.finish().await;
}

/// A refresh token rotates once; presenting it again is reuse; after the grant is revoked
/// nothing of it rotates.
async fn refresh_tokens_rotate_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = f.app("Expense Sync").await;
    let s = &f.store;
    let grant = f.grant(&app, "grant-1");
    let r1 = refresh("rt-1", "grant-1");
    s.insert_grant(&grant, &r1).await.unwrap();
    assert_eq!(
        s.find_refresh_token(&r1.digest).await.unwrap(),
        Some((r1.clone(), grant.clone()))
    );
    assert_eq!(
        s.grants_of(f.user.id, app.id).await.unwrap(),
        vec!["grant-1".to_owned()]
    );
    assert_conflict(
        s.insert_grant(&grant, &refresh("rt-dup", "grant-1")).await,
        "grant_exists",
    );

    let r2 = refresh("rt-2", "grant-1");
    assert_eq!(
        s.rotate_refresh_token(&r1.digest, &r2, Some(b"sealed-reply"), NOW + 1)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    let (old, _) = s.find_refresh_token(&r1.digest).await.unwrap().unwrap();
    assert_eq!(old.rotated_at, Some(NOW + 1));
    // The rotated token knows its successor and keeps the sealed answer for the grace window.
    assert_eq!(old.successor.as_ref(), Some(&r2.digest));
    assert_eq!(old.reply.as_deref(), Some(&b"sealed-reply"[..]));
    assert_eq!(
        s.find_refresh_token(&r2.digest).await.unwrap(),
        Some((r2.clone(), grant.clone()))
    );

    let r3 = refresh("rt-3", "grant-1");
    assert_eq!(
        s.rotate_refresh_token(&r1.digest, &r3, None, NOW + 2)
            .await
            .unwrap(),
        Rotation::AlreadyRotated
    );
    assert_eq!(s.find_refresh_token(&r3.digest).await.unwrap(), None);

    s.revoke_grants(&["grant-1".to_owned()], NOW + 3)
        .await
        .unwrap();
    assert!(s.is_grant_revoked("grant-1").await.unwrap());
    assert_eq!(
        s.grants_of(f.user.id, app.id).await.unwrap(),
        Vec::<String>::new()
    );
    let r4 = refresh("rt-4", "grant-1");
    assert_eq!(
        s.rotate_refresh_token(&r2.digest, &r4, None, NOW + 4)
            .await
            .unwrap(),
        Rotation::GrantRevoked
    );
    assert_eq!(s.find_refresh_token(&r4.digest).await.unwrap(), None);
    let (live, _) = s.find_refresh_token(&r2.digest).await.unwrap().unwrap();
    assert_eq!(live.rotated_at, None, "a refused rotation claims nothing");
    // Housekeeping drops sealed answers past their window; the rotated token stays, so its
    // reuse is still detected.
    let purge = |rotated_before| Purge {
        now: NOW + 5,
        grants_revoked_before: 0,
        rotated_before,
        replies_before: NOW + 2,
        changes_before: 0,
    };
    s.purge_expired(&purge(NOW)).await.unwrap();
    let (old, _) = s.find_refresh_token(&r1.digest).await.unwrap().unwrap();
    assert_eq!((old.rotated_at, old.reply), (Some(NOW + 1), None));
    // Past the reuse-detection window the rotated token goes; the live one stays.
    s.purge_expired(&purge(NOW + 2)).await.unwrap();
    assert_eq!(s.find_refresh_token(&r1.digest).await.unwrap(), None);
    assert!(s.find_refresh_token(&r2.digest).await.unwrap().is_some());
    f.finish().await;
}

/// Of concurrent rotations of one refresh token exactly one wins.
async fn concurrent_rotations_have_one_winner(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = f.app("Expense Sync").await;
    let r1 = refresh("rt-1", "grant-1");
    f.store
        .insert_grant(&f.grant(&app, "grant-1"), &r1)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = f.store.clone();
            let old = r1.digest.clone();
            tokio::spawn(async move {
                let new = refresh(&format!("rt-next-{i}"), "grant-1");
                s.rotate_refresh_token(&old, &new, None, NOW + 1)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let won = outcomes.iter().filter(|o| **o == Rotation::Rotated).count();
    assert_eq!(won, 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Rotation::AlreadyRotated)
            .count(),
        7,
        "{outcomes:?}"
    );
    f.finish().await;
}

/// Failure budgets: each failure pushes a key's state one interval past max(state, now); the
/// states read back in order (None for an unknown key); keys whose budget is back are purged.
async fn failure_budgets_count_and_forget(backend: Backend) {
    let f = Fixture::new(backend).await;
    let s = &f.store;
    let budget = FailureBudget::new(3, 6); // one interval is 10 s
    assert_eq!(
        s.record_failure("client:a", budget, 0).await.unwrap(),
        10_000
    );
    assert_eq!(
        s.record_failure("client:a", budget, 0).await.unwrap(),
        20_000
    );
    // Time pulls the state back: a failure long after counts from now.
    assert_eq!(
        s.record_failure("client:a", budget, 100_000).await.unwrap(),
        110_000
    );
    assert_eq!(
        s.record_failure("login:b", budget, 5_000).await.unwrap(),
        15_000
    );
    let keys = ["login:b", "nobody", "client:a"].map(str::to_owned);
    assert_eq!(
        s.failure_states(&keys).await.unwrap(),
        vec![Some(15_000), None, Some(110_000)]
    );
    assert_eq!(
        s.failure_states(&[]).await.unwrap(),
        Vec::<Option<i64>>::new()
    );

    assert_eq!(s.purge_failures(15_000).await.unwrap(), 0);
    assert_eq!(s.purge_failures(50_000).await.unwrap(), 1);
    assert_eq!(
        s.failure_states(&keys).await.unwrap(),
        vec![None, None, Some(110_000)]
    );
    assert_eq!(s.purge_failures(200_000).await.unwrap(), 1);
    assert_eq!(
        s.failure_states(&keys).await.unwrap(),
        vec![None, None, None]
    );
    f.finish().await;
}

/// A revoked access token is on the list until it expires, and asked about by its jti; a
/// revocation twice is one entry; an unknown grant is not revoked.
async fn revoked_access_tokens_are_listed_until_they_expire(backend: Backend) {
    let f = Fixture::new(backend).await;
    let s = &f.store;
    assert!(!s.is_access_token_revoked("jti-1").await.unwrap());
    s.revoke_access_token("jti-1", NOW + 60, NOW).await.unwrap();
    s.revoke_access_token("jti-1", NOW + 60, NOW + 1)
        .await
        .unwrap();
    s.revoke_access_token("jti-2", NOW + 600, NOW)
        .await
        .unwrap();
    assert!(s.is_access_token_revoked("jti-1").await.unwrap());
    assert!(!s.is_access_token_revoked("jti-3").await.unwrap());
    let mut listed = s.revoked_access_tokens(NOW).await.unwrap();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("jti-1".to_owned(), NOW + 60),
            ("jti-2".to_owned(), NOW + 600)
        ]
    );
    assert_eq!(
        s.revoked_access_tokens(NOW + 60).await.unwrap(),
        vec![("jti-2".to_owned(), NOW + 600)]
    );
    assert!(!s.is_grant_revoked("no-such-grant").await.unwrap());
    f.finish().await;
}

/// A used jti is refused once recorded, by concurrent callers too (one insert wins), and goes
/// once expired; a DPoP-bound grant keeps its key's thumbprint.
async fn used_jtis_are_refused_until_they_expire(backend: Backend) {
    let f = Fixture::new(backend).await;
    let s = &f.store;
    let digest = TokenDigest::of("client_assertion\u{0}app\u{0}jti-1");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            let d = digest.clone();
            tokio::spawn(async move { s.first_use(&d, NOW + 60).await.unwrap() })
        })
        .collect();
    let mut firsts = 0;
    for t in tasks {
        firsts += usize::from(t.await.unwrap());
    }
    assert_eq!(firsts, 1);
    assert!(!s.first_use(&digest, NOW + 60).await.unwrap());
    assert!(
        s.first_use(&TokenDigest::of("other"), NOW + 10)
            .await
            .unwrap()
    );
    assert_eq!(s.purge_used(NOW + 30).await.unwrap(), 1);
    assert!(
        !s.first_use(&digest, NOW + 60).await.unwrap(),
        "still inside its window"
    );
    assert_eq!(s.purge_used(NOW + 61).await.unwrap(), 1);

    let app = f.app("Bound").await;
    let mut grant = f.grant(&app, "grant-bound");
    grant.dpop_jkt = Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into());
    let r = refresh("rt-bound", "grant-bound");
    s.insert_grant(&grant, &r).await.unwrap();
    let (_, stored) = s.find_refresh_token(&r.digest).await.unwrap().unwrap();
    assert_eq!(stored.dpop_jkt, grant.dpop_jkt);
    f.finish().await;
}

/// Replay checks are group-committed: a burst of concurrent callers shares batches, and still
/// each jti has exactly one first use, a jti twice in the same batch included.
async fn a_burst_of_replay_checks_has_one_first_use_per_jti(backend: Backend) {
    let f = Fixture::new(backend).await;
    let s = &f.store;
    // 600 distinct jtis (more than one batch holds), each asked three times at once.
    let tasks: Vec<_> = (0..1800)
        .map(|i| {
            let s = s.clone();
            let d = TokenDigest::of(&format!("dpop\u{0}burst\u{0}{}", i % 600));
            tokio::spawn(async move { (i % 600, s.first_use(&d, NOW + 60).await.unwrap()) })
        })
        .collect();
    let mut firsts = vec![0u32; 600];
    for t in tasks {
        let (jti, first) = t.await.unwrap();
        firsts[jti] += u32::from(first);
    }
    assert!(firsts.iter().all(|&n| n == 1), "{firsts:?}");
    assert_eq!(s.purge_used(NOW + 61).await.unwrap(), 600);
    f.finish().await;
}

/// A sandbox is written whole or not at all: a login id in use leaves no company behind; an
/// approval writes only onto a pending request, once; a login id waits in one pending request
/// at a time. A production registration shares its sandbox app's name, once per sandbox app.
async fn sandboxes_are_written_whole_and_requests_decided_once(backend: Backend) {
    use portico_domain::repo::{Enablement, NewSandbox, SandboxStore};
    use portico_domain::{SandboxRequest, SandboxRequestStatus};
    let f = Fixture::new(backend).await;
    let s = &f.store;
    let sandbox = |login: &str| {
        let company = Company {
            id: CompanyId::new(),
            name: "Dana Co".into(),
            domain: format!("dana-{}.sandbox.portico.test", &login[..3]),
            edition: Edition::Standard,
            development_partner: true,
            own_use_apps: false,
            enabled: true,
            created_at: at(NOW),
            version: 1,
        };
        let admin = User {
            id: UserId::new(),
            company_id: company.id,
            login_id: login.into(),
            display_name: "Dana".into(),
            enabled: true,
            permissions: Permissions {
                can_administer: true,
                ..Permissions::default()
            },
            created_at: at(NOW),
            version: 1,
        };
        let app = PartnerApp {
            company_id: company.id,
            ..f.new_app("Sample App")
        };
        NewSandbox {
            enablement: Enablement {
                company_id: company.id,
                app_id: app.id,
                enabled: true,
                updated_at: at(NOW),
                updated_by: Some(admin.id),
            },
            company,
            admin,
            password_hash: "pw-hash".into(),
            app,
            secret_hash: "secret-hash".into(),
        }
    };
    let companies = || async { s.companies().await.unwrap().len() };
    let before = companies().await;
    // The login id of the fixture's admin is taken: nothing of the sandbox remains.
    let taken = sandbox("admin@acme.example");
    assert_conflict(
        s.insert_sandbox(
            &taken,
            None,
            &[audit(&taken.company, AuditAction::SandboxSignUp)],
        )
        .await,
        "login_id_taken",
    );
    assert_eq!(companies().await, before);
    assert!(s.app(taken.app.id).await.unwrap().is_none());
    assert!(s.login_id_in_use("admin@acme.example").await.unwrap());

    let request = SandboxRequest {
        id: uuid::Uuid::new_v4(),
        login_id: "dana@example.com".into(),
        display_name: "Dana".into(),
        company_name: "Dana Co".into(),
        edition: Edition::Professional,
        status: SandboxRequestStatus::Pending,
        source: "192.0.2.1".into(),
        created_at: at(NOW),
        decided_at: None,
        decided_by: None,
        reason: None,
        company_id: None,
    };
    let a = audit(&f.company, AuditAction::SandboxSignUp);
    s.insert_sandbox_request(&request, "pw-hash", &a)
        .await
        .unwrap();
    assert!(s.login_id_in_use("dana@example.com").await.unwrap());
    let twin = SandboxRequest {
        id: uuid::Uuid::new_v4(),
        ..request.clone()
    };
    assert_conflict(
        s.insert_sandbox_request(&twin, "pw-hash", &a).await,
        "login_id_taken",
    );
    let (stored, hash) = s.sandbox_request(request.id).await.unwrap().unwrap();
    assert_eq!((stored, hash.as_str()), (request.clone(), "pw-hash"));

    let made = sandbox("dana@example.com");
    let approved = SandboxRequest {
        status: SandboxRequestStatus::Approved,
        decided_at: Some(at(NOW + 5)),
        decided_by: Some(f.user.id),
        company_id: Some(made.company.id),
        ..request.clone()
    };
    s.insert_sandbox(&made, Some(&approved), std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_eq!(companies().await, before + 1);
    assert_eq!(s.app(made.app.id).await.unwrap().unwrap().id, made.app.id);
    assert_eq!(
        s.sandbox_request(request.id).await.unwrap().unwrap().0,
        approved
    );
    assert!(
        s.sandbox_requests(Some(SandboxRequestStatus::Pending))
            .await
            .unwrap()
            .is_empty()
    );
    // Approving again, or rejecting now, writes nothing.
    let again = sandbox("dana2@example.com");
    assert_conflict(
        s.insert_sandbox(&again, Some(&approved), std::slice::from_ref(&a))
            .await,
        "not_pending",
    );
    assert_eq!(companies().await, before + 1);
    let rejected = SandboxRequest {
        status: SandboxRequestStatus::Rejected,
        reason: Some("late".into()),
        ..approved.clone()
    };
    assert_conflict(s.reject_sandbox_request(&rejected, &a).await, "not_pending");
    // The login id is a user's now, no longer a pending request's; a new request for it is
    // the registry's to refuse (login_id_in_use), and the index allows it after a decision.
    assert!(s.login_id_in_use("dana@example.com").await.unwrap());

    // Production: same name as the sandbox app, a second one for it refused.
    let sandbox_app = f.app("Certified").await;
    let production = PartnerApp {
        id: AppId::new(),
        certified_from: Some(sandbox_app.id),
        ..sandbox_app.clone()
    };
    let certify = audit(&f.company, AuditAction::AppCertify);
    s.insert_app(&production, "h", None, &certify)
        .await
        .unwrap();
    assert_eq!(
        s.production_of(sandbox_app.id).await.unwrap().unwrap().id,
        production.id
    );
    let second = PartnerApp {
        id: AppId::new(),
        ..production.clone()
    };
    match s.insert_app(&second, "h", None, &certify).await {
        Err(DomainError::Conflict { code, .. }) => {
            assert!(
                code == "already_certified" || code == "name_taken",
                "{code}"
            )
        }
        other => panic!("{other:?}"),
    }
    let renamed = PartnerApp {
        id: AppId::new(),
        spec: AppSpec {
            name: "Other name".into(),
            ..production.spec.clone()
        },
        ..production.clone()
    };
    assert_conflict(
        s.insert_app(&renamed, "h", None, &certify).await,
        "already_certified",
    );
    f.finish().await;
}

both_backends!(
    used_jtis_are_refused_until_they_expire,
    sandboxes_are_written_whole_and_requests_decided_once,
    a_burst_of_replay_checks_has_one_first_use_per_jti,
    apps_read_back_as_stored,
    update_app_refuses_a_stale_version,
    codes_are_single_use_and_bound_to_their_client,
    concurrent_redemptions_have_one_winner,
    a_code_grant_revoked_first_cannot_be_stored,
    refresh_tokens_rotate_once,
    concurrent_rotations_have_one_winner,
    failure_budgets_count_and_forget,
    revoked_access_tokens_are_listed_until_they_expire,
);
