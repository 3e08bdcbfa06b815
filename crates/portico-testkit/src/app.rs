//! [`spawn_app`] starts the real server over a fresh database and reads the sandbox accounts it
//! prints on its first run; [`TestApp`] drives its admin API over HTTP.

use crate::{Backend, Node, TestDatabase, random_master_key, test_database};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct Credentials {
    pub login_id: String,
    pub password: String,
}

/// A signed-in admin: the bearer token of the session.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    pub company_id: String,
    pub user_id: String,
}

/// A running server over its own database, with the first run's sandbox accounts.
pub struct TestApp {
    pub base: String,
    /// Follows no redirects: tests look at them.
    pub client: reqwest::Client,
    pub staff: Credentials,
    pub developer: Credentials,
    pub developer_company_id: String,
    pub database_url: String,
    pub master_key: String,
    pub node: Node,
    _db: TestDatabase,
}

/// Starts `bin` (`env!("CARGO_BIN_EXE_portico")`) on port 0 over a fresh database for
/// `backend`, with a random master key and the `PORTICO_*` `overrides`.
pub async fn spawn_app(bin: &str, backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let db = test_database(backend).await;
    let master_key = random_master_key();
    let node = Node::start(bin, &db.url, &master_key, overrides).await;
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

/// From the first-run banner: (login id, one-time password) and the company id of the account
/// printed under `label`.
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

    /// Signs in through the admin API; fails the test unless it works.
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

    /// The sandbox's operator staff account, signed in.
    pub async fn staff(&self) -> Session {
        self.sign_in(&self.staff).await
    }

    /// The sandbox's Development Partner administrator, signed in.
    pub async fn developer(&self) -> Session {
        self.sign_in(&self.developer).await
    }

    /// `by` creates a user of `company_id` (with `permissions`, if given); returns the new
    /// user's credentials.
    pub async fn add_user(
        &self,
        by: &Session,
        company_id: &str,
        login_id: &str,
        display_name: &str,
        password: &str,
        permissions: Option<Value>,
    ) -> Credentials {
        let mut body =
            json!({ "login_id": login_id, "display_name": display_name, "password": password });
        if let Some(p) = permissions {
            body["permissions"] = p;
        }
        let (status, user) = self
            .post(by, &format!("/companies/{company_id}/users"), body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        Credentials {
            login_id: login_id.into(),
            password: password.into(),
        }
    }

    /// Staff create a company (domain `<name, kebab-case>.example`) with one admin,
    /// `admin@<domain>`, holding the edition's web-services permission; returns the admin's
    /// credentials.
    pub async fn company_admin(
        &self,
        name: &str,
        edition: &str,
        development_partner: bool,
    ) -> Credentials {
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
        let perms = if edition == "professional" {
            json!({ "web_services_administrator": true })
        } else {
            json!({ "can_administer": true })
        };
        self.add_user(
            &staff,
            id,
            &format!("admin@{domain}"),
            "Admin",
            "correct horse battery staple",
            Some(perms),
        )
        .await
    }

    /// [`TestApp::company_admin`], signed in.
    pub async fn company_with_admin(
        &self,
        name: &str,
        edition: &str,
        development_partner: bool,
    ) -> Session {
        let creds = self.company_admin(name, edition, development_partner).await;
        self.sign_in(&creds).await
    }

    /// A plain user (no admin permission) of the admin's company, created by the admin and
    /// signed in; the password is "a long enough password".
    pub async fn user_of(&self, admin: &Session, login: &str) -> Session {
        let creds = self
            .add_user(
                admin,
                &admin.company_id,
                login,
                "Employee",
                "a long enough password",
                None,
            )
            .await;
        self.sign_in(&creds).await
    }

    /// Registers an app for the session's company; returns the registration response.
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
