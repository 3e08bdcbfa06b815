//! The browser tests' harness: the real Portico server in-process on port 0 over a fresh SQLite
//! database, a chromedriver started on a free port (killed on drop), and a headless Chromium
//! session driven through fantoccini, with helpers that wait for what the page shows.

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, error::CmdError};
use portico::config::Config;
use portico::startup::Application;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(15);

pub struct Credentials {
    pub login_id: String,
    pub password: String,
}

/// A running Portico server.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub staff: Credentials,
    pub developer: Credentials,
    pub developer_company_id: String,
    dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn test_config(database_url: &str) -> Config {
    let vars: HashMap<String, String> = HashMap::from([
        ("PORTICO_DATABASE_URL".into(), database_url.to_owned()),
        ("PORTICO_SERVER_BIND".into(), "127.0.0.1:0".into()),
        (
            "PORTICO_CATALOG_PATH".into(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/apis.toml").into(),
        ),
        ("PORTICO_DATABASE_MAX_CONNECTIONS".into(), "4".into()),
        // A key of its own, so no test writes data/master.key into the checkout.
        ("PORTICO_MASTER_KEY".into(), master_key()),
    ]);
    let file = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"));
    Config::load_with_env(Some(&file), |k| vars.get(k).cloned()).expect("test configuration")
}

/// 32 random bytes, base64.
fn master_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2))
}

pub async fn spawn_app() -> TestApp {
    let dir =
        std::env::temp_dir().join(format!("portico_browser_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/portico.db", dir.display());
    let mut app = Application::build(test_config(&url))
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
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        staff: creds(&sandbox.operator),
        developer: creds(&sandbox.developer),
        developer_company_id: sandbox.developer.company.id.to_string(),
        dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A bearer token for `creds` from the admin JSON API.
    pub async fn api_token(&self, creds: &Credentials) -> String {
        let resp = self
            .http
            .post(self.url("/admin/v1/session"))
            .json(&json!({ "login_id": creds.login_id, "password": creds.password }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "API sign-in failed");
        let body: Value = resp.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn api_post(&self, token: &str, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(self.url(&format!("/admin/v1{path}")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// Staff create a company with one admin (the edition's web-services permission).
    pub async fn company_with_admin(&self, name: &str) -> Credentials {
        let staff = self.api_token(&self.staff).await;
        let domain = format!("{}.example", name.to_lowercase().replace(' ', "-"));
        let company = self
            .api_post(
                &staff,
                "/companies",
                json!({ "name": name, "domain": domain, "edition": "professional",
                        "development_partner": false }),
            )
            .await;
        let id = company["id"].as_str().unwrap();
        let creds = Credentials {
            login_id: format!("admin@{domain}"),
            password: "correct horse battery staple".into(),
        };
        self.api_post(
            &staff,
            &format!("/companies/{id}/users"),
            json!({ "login_id": creds.login_id, "display_name": "Admin",
                    "password": creds.password,
                    "permissions": { "web_services_administrator": true } }),
        )
        .await;
        creds
    }

    /// A user of the developer company without any admin permission.
    pub async fn plain_user(&self) -> Credentials {
        let staff = self.api_token(&self.staff).await;
        let creds = Credentials {
            login_id: "traveler@sandbox.portico.test".into(),
            password: "correct horse battery staple".into(),
        };
        self.api_post(
            &staff,
            &format!("/companies/{}/users", self.developer_company_id),
            json!({ "login_id": creds.login_id, "display_name": "Traveler",
                    "password": creds.password }),
        )
        .await;
        creds
    }
}

/// chromedriver on a free port, in its own process group so that it and the browsers it
/// started are stopped together.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("chromedriver starts");
        let driver = Self { child, port };
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(&status).await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole process group (chromedriver and any Chromium left behind), by its id.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the browser tests can run here. Without chromedriver they are skipped, except in CI
/// (`CI=true`), where that is a failure.
pub fn browser_available() -> bool {
    if Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{CHROMEDRIVER} or {CHROMIUM} is missing: install them \
             (apt-get install chromium chromium-driver) to run the browser tests in CI"
        );
    }
    eprintln!("SKIPPED: {CHROMEDRIVER} or {CHROMIUM} not found; browser test not run");
    false
}

/// A headless Chromium session on a Portico server.
pub struct Browser {
    pub client: Client,
    base: String,
    name: &'static str,
    shots: usize,
    profile: PathBuf,
    _driver: ChromeDriver,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots"))
}

impl Browser {
    /// A new browser for `app`, or None when the tests are skipped here. `name` prefixes its
    /// screenshots.
    pub async fn start(app: &TestApp, name: &'static str) -> Option<Self> {
        if !browser_available() {
            return None;
        }
        let driver = ChromeDriver::start().await;
        let profile =
            std::env::temp_dir().join(format!("portico_chrome_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a Chromium session");
        client.set_window_size(1280, 1000).await.unwrap();
        std::fs::create_dir_all(screenshot_dir()).unwrap();
        Some(Self {
            client,
            base: app.base.clone(),
            name,
            shots: 0,
            profile,
            _driver: driver,
        })
    }

    pub async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn exists(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(_) => true,
            Err(e) if e.is_no_such_element() => false,
            Err(e) => panic!("find {css}: {e}"),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// The page's visible text.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Waits until the element's text contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                let page = self.page_text().await;
                panic!(
                    "{css} does not show {needle:?} (it shows {text:?}) at {}\n--- page ---\n{page}",
                    self.url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the page heading to contain `needle`.
    pub async fn heading(&self, needle: &str) -> String {
        self.wait_text("h1", needle).await
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        if !value.is_empty() {
            el.send_keys(value).await.unwrap();
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    pub async fn click_link(&self, text: &str) {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Sets a checkbox to `on`.
    pub async fn check(&self, css: &str, on: bool) {
        let el = self.find(css).await;
        if el.is_selected().await.unwrap() != on {
            el.click().await.unwrap();
        }
    }

    pub async fn is_checked(&self, css: &str) -> bool {
        self.find(css).await.is_selected().await.unwrap()
    }

    pub async fn is_enabled(&self, css: &str) -> bool {
        self.find(css).await.is_enabled().await.unwrap()
    }

    /// Saves a PNG of the whole page under target/screenshots/ (the window grows to the
    /// page's height for the picture).
    pub async fn screenshot(&mut self, what: &str) -> PathBuf {
        self.shots += 1;
        let height = self
            .script("return document.documentElement.scrollHeight")
            .await
            .ok()
            .and_then(|h| h.as_u64())
            .unwrap_or(1000)
            .clamp(600, 4000) as u32;
        self.client
            .set_window_size(1280, height + 140)
            .await
            .unwrap();
        let png = self.client.screenshot().await;
        self.client.set_window_size(1280, 1000).await.unwrap();
        let png = png.unwrap();
        let path = screenshot_dir().join(format!("{}-{:02}-{what}.png", self.name, self.shots));
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn sign_in(&self, creds: &Credentials) {
        self.goto("/admin/sign-in").await;
        self.sign_in_here(creds).await;
    }

    /// Fills in and sends the sign-in form of the current page.
    pub async fn sign_in_here(&self, creds: &Credentials) {
        self.heading("Sign in").await;
        self.fill("#login_id", &creds.login_id).await;
        self.fill("#password", &creds.password).await;
        self.click("form[action='/admin/sign-in'] button[type=submit]")
            .await;
        self.wait_gone("#password").await;
    }

    pub async fn sign_out(&self) {
        self.click("form.sign-out button").await;
        self.wait_text(".notice", "You have signed out.").await;
    }

    /// Waits until no element matches `css` (the page navigated away).
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.exists(css).await {
            assert!(Instant::now() < deadline, "{css} is still there");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `portico_session` cookie the browser holds.
    pub async fn session_cookie(&self) -> String {
        self.client
            .get_named_cookie("portico_session")
            .await
            .expect("a session cookie")
            .value()
            .to_owned()
    }

    /// Whether a JavaScript dialog (alert, confirm, prompt) is open.
    pub async fn dialog_open(&self) -> bool {
        match self.client.get_alert_text().await {
            Ok(_) => true,
            Err(e) if e.is_no_such_alert() => false,
            Err(e) => panic!("alert check: {e}"),
        }
    }

    pub async fn script(&self, js: &str) -> Result<Value, CmdError> {
        self.client.execute(js, vec![]).await
    }
}
