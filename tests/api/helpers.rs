//! The test harness: `spawn_app` starts the real `portico` binary on port 0 over a fresh
//! database (a SQLite file in a temporary directory, or a new PostgreSQL database when
//! `PORTICO_TEST_DATABASE_URL` is set), reads the sandbox accounts and the address it prints,
//! and `TestApp` drives it over HTTP. `Node::start` starts more processes on the same database.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

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
    pub master_key: String,
    pub node: Node,
    _db: TestDatabase,
}

/// A running `portico serve` process; killed when dropped.
pub struct Node {
    pub base: String,
    child: Child,
    /// What the process printed before it was ready (the sandbox accounts, on a first run).
    pub banner: Vec<String>,
}

impl Node {
    /// Starts `portico serve` on a free port with `database_url`, the given master key and any
    /// `PORTICO_*` overrides; returns once it listens.
    pub async fn start(database_url: &str, master_key: &str, overrides: &[(&str, &str)]) -> Node {
        let workdir =
            std::env::temp_dir().join(format!("portico-node-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&workdir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
        cmd.arg("serve")
            .current_dir(&workdir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORTICO_DATABASE_URL", database_url)
            .env("PORTICO_SERVER_BIND", "127.0.0.1:0")
            .env(
                "PORTICO_CATALOG_PATH",
                concat!(env!("CARGO_MANIFEST_DIR"), "/config/apis.toml"),
            )
            .env("PORTICO_MASTER_KEY", master_key)
            .env("PORTICO_DATABASE_MAX_CONNECTIONS", "4")
            .env("PORTICO_LOG_FILTER", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("PORTICO_TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        for (k, v) in overrides {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the portico binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = Vec::new();
        let base = loop {
            let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
                .await
                .expect("portico is ready within a minute")
                .expect("stdout is readable")
                .unwrap_or_else(|| {
                    panic!("portico exited before listening; it printed: {banner:?}")
                });
            if let Some(url) = line.strip_prefix("Portico listening on ") {
                break url.trim().to_owned();
            }
            banner.push(line);
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Node {
            base,
            child,
            banner,
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// From the first-run banner: (login id, one-time password, company id) of the account printed
/// under `label`.
fn sandbox_account(banner: &[String], label: &str) -> (Credentials, String) {
    let at = banner
        .iter()
        .position(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no '{label}' in the banner: {banner:?}"));
    let company_id = banner[at].rsplit("id ").next().unwrap().trim().to_owned();
    let value = |prefix: &str| {
        banner[at..]
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no '{prefix}' after '{label}'"))
    };
    (
        Credentials {
            login_id: value("admin login id:"),
            password: value("password (shown once):"),
        },
        company_id,
    )
}

/// A random master key for a test server (32 bytes, base64).
pub fn random_master_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2))
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

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let db = test_database(backend).await;
    let master_key = random_master_key();
    let node = Node::start(&db.url, &master_key, overrides).await;
    let (staff, _) = sandbox_account(&node.banner, "operator (staff):");
    let (developer, developer_company_id) = sandbox_account(&node.banner, "development partner:");
    TestApp {
        base: node.base.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        staff,
        developer,
        developer_company_id,
        database_url: db.url.clone(),
        master_key,
        node,
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
