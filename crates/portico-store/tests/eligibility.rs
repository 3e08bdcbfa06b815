//! Pins the SQL that decides eligibility to the domain's rule (`portico_domain::standing`):
//! for every kind of app a company meets (active or not × private, public or global × its own
//! or another company's) and every choice the company can have made (enabled, disabled, none),
//! `apps_available_to` returns exactly the apps the rule lists, with the company's choice, and
//! `enablement` reads that choice back. Runs on `sqlite::memory:` and, when
//! `PORTICO_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database that is dropped after.

use chrono::Utc;
use portico_domain::{
    ApiSelection, AppId, AppSpec, AuditAction, AuditEvent, Company, CompanyId, Edition, GrantType,
    PartnerApp, Review, Visibility,
    repo::{AppPart, AppStore, CompanyStore, Enablement, EnablementStore},
    standing,
};
use portico_store::Store;
use sea_orm::{ConnectionTrait, Database};
use std::collections::BTreeMap;

const VISIBILITIES: [Visibility; 3] = [Visibility::Private, Visibility::Public, Visibility::Global];
const CHOICES: [Option<bool>; 3] = [Some(true), Some(false), None];

/// A database for one test: in memory, or a new PostgreSQL database dropped by `finish`.
struct TestDb {
    store: Store,
    postgres: Option<(String, String)>,
}

impl TestDb {
    async fn sqlite() -> Self {
        let store = Store::connect("sqlite::memory:", 1).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            store,
            postgres: None,
        }
    }

    /// None when `PORTICO_TEST_DATABASE_URL` is not set.
    async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("PORTICO_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        admin.close().await.ok();
        let (base, _) = admin_url.rsplit_once('/').expect("a URL ending in /<db>");
        let store = Store::connect(&format!("{base}/{name}"), 2).await.unwrap();
        store.migrate().await.unwrap();
        Some(Self {
            store,
            postgres: Some((admin_url, name)),
        })
    }

    async fn finish(self) {
        self.store.close().await.ok();
        if let Some((admin_url, name)) = self.postgres {
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .expect("drop the test database");
            admin.close().await.ok();
        }
    }
}

fn audit(action: AuditAction, target: String) -> AuditEvent {
    AuditEvent::new::<(), ()>(None, None, action, ("test", target), None, None)
}

async fn new_company(store: &Store, label: &str) -> Company {
    let company = Company {
        id: CompanyId::new(),
        name: label.into(),
        domain: format!("{label}-{}.example", uuid::Uuid::new_v4().simple()),
        edition: Edition::Professional,
        development_partner: true,
        own_use_apps: false,
        enabled: true,
        created_at: Utc::now(),
        version: 1,
    };
    store
        .insert_company(&company, &audit(AuditAction::CompanyCreate, label.into()))
        .await
        .unwrap();
    company
}

fn enablement(company: CompanyId, app: AppId, enabled: bool) -> Enablement {
    Enablement {
        company_id: company,
        app_id: app,
        enabled,
        updated_at: Utc::now(),
        updated_by: None,
    }
}

/// One app of every kind for every choice `acme` can have made about it.
struct Grid {
    acme: Company,
    /// Another company, to look at the same apps from its side (it made no choices).
    globex: Company,
    apps: Vec<(PartnerApp, Option<bool>)>,
}

async fn grid(store: &Store) -> Grid {
    let acme = new_company(store, "acme").await;
    let globex = new_company(store, "globex").await;
    // Registration records the owner's enablement; this company takes it where the grid
    // needs Acme to have made no choice about its own app.
    let bystander = new_company(store, "bystander").await;
    let mut apps = Vec::new();
    let now = Utc::now();
    for active in [true, false] {
        for visibility in VISIBILITIES {
            for own in [true, false] {
                for choice in CHOICES {
                    let owner = if own { acme.id } else { globex.id };
                    let app = PartnerApp {
                        id: AppId::new(),
                        company_id: owner,
                        spec: AppSpec {
                            name: format!(
                                "{}-{}-{}-{choice:?}",
                                if active { "active" } else { "inactive" },
                                visibility.as_str(),
                                if own { "own" } else { "other" },
                            ),
                            description: String::new(),
                            active,
                            apis: vec![ApiSelection {
                                api: "expense.report.read".into(),
                                sensitive_data_groups: vec![],
                            }],
                            redirect_uris: vec![],
                            grant_types: vec![GrantType::ClientCredentials],
                            id_token_signed_response_alg: Default::default(),
                            security: Default::default(),
                        },
                        visibility,
                        review: Review::draft(),
                        resource_server: false,
                        resource_uri: None,
                        certified_from: None,
                        secret_rotated_at: now,
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    };
                    let owner_choice = match (own, choice) {
                        (true, Some(enabled)) => enablement(acme.id, app.id, enabled),
                        (true, None) => enablement(bystander.id, app.id, true),
                        (false, _) => enablement(globex.id, app.id, true),
                    };
                    store
                        .insert_app(
                            &app,
                            "not-a-hash",
                            Some(&owner_choice),
                            &audit(AuditAction::AppRegister, app.id.to_string()),
                        )
                        .await
                        .unwrap();
                    if let (false, Some(enabled)) = (own, choice) {
                        store
                            .set_enablement(
                                &enablement(acme.id, app.id, enabled),
                                &audit(AuditAction::EnablementSet, app.id.to_string()),
                            )
                            .await
                            .unwrap();
                    }
                    apps.push((app, choice));
                }
            }
        }
    }
    Grid { acme, globex, apps }
}

/// Where the SQL and the rule disagree for `company`, one line each.
async fn disagreements(
    store: &Store,
    company: CompanyId,
    apps: &[(PartnerApp, Option<bool>)],
) -> Vec<String> {
    let mut out = Vec::new();
    let listed: BTreeMap<AppId, (PartnerApp, Option<bool>)> = store
        .apps_available_to(company)
        .await
        .unwrap()
        .into_iter()
        .map(|(app, choice)| (app.id, (app, choice)))
        .collect();
    for (app, choice) in apps {
        let stored_choice = store.enablement(company, app.id).await.unwrap();
        if stored_choice != *choice {
            out.push(format!(
                "{}: stored choice {stored_choice:?}, expected {choice:?}",
                app.spec.name
            ));
        }
        let rule = standing(app, company, *choice);
        match listed.get(&app.id) {
            Some((found, found_choice)) => {
                if !rule.is_listed() {
                    out.push(format!(
                        "{}: listed, but the rule says {rule:?}",
                        app.spec.name
                    ));
                }
                if found_choice != choice {
                    out.push(format!(
                        "{}: listed with choice {found_choice:?}, expected {choice:?}",
                        app.spec.name
                    ));
                }
                if standing(found, company, *found_choice) != rule {
                    out.push(format!(
                        "{}: the listed app stands otherwise",
                        app.spec.name
                    ));
                }
            }
            None if rule.is_listed() => out.push(format!(
                "{}: not listed, but the rule says {rule:?}",
                app.spec.name
            )),
            None => {}
        }
    }
    if listed.len() > apps.len() {
        out.push(format!(
            "{} apps listed, only {} exist",
            listed.len(),
            apps.len()
        ));
    }
    out
}

async fn the_sql_follows_the_rule(db: TestDb) {
    let store = &db.store;
    let mut g = grid(store).await;
    let mut problems = disagreements(store, g.acme.id, &g.apps).await;
    // Globex sees Acme's apps from the other side, and made no choice about them.
    let from_globex: Vec<_> = g
        .apps
        .iter()
        .filter(|(a, _)| a.company_id == g.acme.id)
        .map(|(a, _)| (a.clone(), None))
        .collect();
    problems.extend(disagreements(store, g.globex.id, &from_globex).await);
    // The grid lists what it should: active apps that are Acme's own or not private.
    let listed = g
        .apps
        .iter()
        .filter(|(a, c)| standing(a, g.acme.id, *c).is_listed())
        .count();
    assert_eq!(
        listed,
        3 * 3 + 2 * 3,
        "own: 3 visibilities × 3 choices; other: 2 × 3"
    );

    // The SQL reads the app as it is now: flip every app's activity and move its visibility
    // on, then ask again.
    for (app, _) in &mut g.apps {
        let before = app.version;
        app.spec.active = !app.spec.active;
        app.visibility = match app.visibility {
            Visibility::Private => Visibility::Public,
            Visibility::Public => Visibility::Global,
            Visibility::Global => Visibility::Private,
        };
        store
            .update_app(
                before,
                app,
                &[AppPart::Spec, AppPart::Visibility],
                None,
                &audit(AuditAction::AppModify, app.id.to_string()),
            )
            .await
            .unwrap();
        app.version = before + 1;
    }
    problems.extend(disagreements(store, g.acme.id, &g.apps).await);
    db.finish().await;
    assert!(
        problems.is_empty(),
        "the SQL and the rule part:\n{}",
        problems.join("\n")
    );
}

#[tokio::test]
async fn the_sql_follows_the_rule_on_sqlite() {
    the_sql_follows_the_rule(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn the_sql_follows_the_rule_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true needs PORTICO_TEST_DATABASE_URL for the PostgreSQL variant");
        }
        eprintln!("PORTICO_TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
        return;
    };
    the_sql_follows_the_rule(db).await;
}
