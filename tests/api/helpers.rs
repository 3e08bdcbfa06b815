//! The test harness: `spawn_app` starts the real server in-process on port 0 over a fresh
//! database (a SQLite file in a temporary directory, or a new PostgreSQL database when
//! `PORTICO_TEST_DATABASE_URL` is set), and `TestApp` drives it over HTTP.

use portico::config::Config;
use portico::startup::Application;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both_backends!(name);` expects `async fn
/// name(backend: Backend)` in scope and makes `name::sqlite` and `name::postgres` tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_url().is_none() {
                    eprintln!("PORTICO_TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
                    return;
                }
                super::$name(Backend::Postgres).await
            }
        }
    )*};
}

pub fn postgres_url() -> Option<String> {
    std::env::var("PORTICO_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

pub struct Credentials {
    pub login_id: String,
    pub password: String,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub staff: Credentials,
    pub developer: Credentials,
    pub developer_company_id: String,
    pub database_url: String,
    _db: TestDatabase,
}

/// A signed-in admin: the bearer token of the session.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    pub company_id: String,
    pub user_id: String,
}

/// A database made for one test, removed afterwards where possible.
pub struct TestDatabase {
    pub url: String,
    dir: Option<PathBuf>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh, empty database for `backend`.
pub async fn test_database(backend: Backend) -> TestDatabase {
    let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).unwrap();
            TestDatabase {
                url: format!("sqlite://{}/portico.db", dir.display()),
                dir: Some(dir),
            }
        }
        Backend::Postgres => {
            let admin_url = postgres_url().expect("PORTICO_TEST_DATABASE_URL");
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            drop_stale_databases(&admin).await;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("a database URL ends in /<db>");
            TestDatabase {
                url: format!("{base}/{name}"),
                dir: None,
            }
        }
    }
}

/// Earlier runs' databases: dropped when no longer in use (a running test's is, and stays).
async fn drop_stale_databases(admin: &sea_orm::DatabaseConnection) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let rows = admin
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT datname FROM pg_database WHERE datname LIKE 'portico_test_%'",
            ))
            .await
            .unwrap_or_default();
        for row in rows {
            if let Ok(name) = row.try_get::<String>("", "datname") {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                    .await;
            }
        }
    })
    .await;
}

/// The configuration a test server runs with: the repository's defaults, a free port, the
/// given database, and any `PORTICO_*` overrides.
pub fn test_config(database_url: &str, overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("PORTICO_DATABASE_URL".into(), database_url.to_owned()),
        ("PORTICO_SERVER_BIND".into(), "127.0.0.1:0".into()),
        (
            "PORTICO_CATALOG_PATH".into(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/apis.toml").into(),
        ),
        ("PORTICO_DATABASE_MAX_CONNECTIONS".into(), "4".into()),
    ]);
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let file = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"));
    Config::load_with_env(Some(&file), |k| vars.get(k).cloned()).expect("test configuration")
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let db = test_database(backend).await;
    let mut app = Application::build(test_config(&db.url, overrides))
        .await
        .expect("the server starts");
    let sandbox = app
        .take_sandbox()
        .expect("a fresh database gets the sandbox");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let creds = |o: &portico_registry::BootstrapOutcome| Credentials {
        login_id: o.admin.login_id.clone(),
        password: o
            .generated_password
            .as_ref()
            .expect("sandbox passwords are generated")
            .expose()
            .to_owned(),
    };
    TestApp {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        staff: creds(&sandbox.operator),
        developer: creds(&sandbox.developer),
        developer_company_id: sandbox.developer.company.id.to_string(),
        database_url: db.url.clone(),
        _db: db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An admin API call with a bearer token; returns the status and the JSON body (Null when
    /// there is none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, self.url(&format!("/admin/v1{path}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, s: &Session, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(&s.token), None).await
    }

    pub async fn post(&self, s: &Session, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn patch(&self, s: &Session, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn put(&self, s: &Session, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn sign_in(&self, creds: &Credentials) -> Session {
        let (status, body) = self
            .call(
                Method::POST,
                "/session",
                None,
                Some(json!({ "login_id": creds.login_id, "password": creds.password })),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "sign in as {}: {body}",
            creds.login_id
        );
        Session {
            token: body["token"].as_str().unwrap().to_owned(),
            company_id: body["actor"]["company"]["id"].as_str().unwrap().to_owned(),
            user_id: body["actor"]["user_id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn staff(&self) -> Session {
        self.sign_in(&self.staff).await
    }

    pub async fn developer(&self) -> Session {
        self.sign_in(&self.developer).await
    }

    /// Staff create a company with one admin (the edition's web-services permission); returns
    /// the admin's session.
    pub async fn company_with_admin(
        &self,
        name: &str,
        edition: &str,
        development_partner: bool,
    ) -> Session {
        let staff = self.staff().await;
        let domain = format!("{}.example", name.to_lowercase().replace(' ', "-"));
        let (status, company) = self
            .post(
                &staff,
                "/companies",
                json!({ "name": name, "domain": domain, "edition": edition,
                        "development_partner": development_partner }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{company}");
        let id = company["id"].as_str().unwrap();
        let login = format!("admin@{domain}");
        let password = "correct horse battery staple";
        let perms = if edition == "professional" {
            json!({ "web_services_administrator": true })
        } else {
            json!({ "can_administer": true })
        };
        let (status, user) = self
            .post(
                &staff,
                &format!("/companies/{id}/users"),
                json!({ "login_id": login, "display_name": "Admin", "password": password,
                        "permissions": perms }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        self.sign_in(&Credentials {
            login_id: login,
            password: password.into(),
        })
        .await
    }

    /// Registers an app for the developer company; returns the registration response.
    pub async fn register_app(&self, s: &Session, body: Value) -> Value {
        let (status, reg) = self.post(s, "/apps", body).await;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
        reg
    }
}

/// A registration body for an app using Expense Report and Travel Profile with its passport
/// group.
pub fn expense_app(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Imports expense reports",
        "apis": [
            { "api": "expense.report.read" },
            { "api": "travel.profile.read", "sensitive_data_groups": ["travel.profile.passport"] }
        ],
        "redirect_uris": ["https://app.example/callback"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials", "company_request_token"]
    })
}
