//! The browser tests' harness: the real Portico server from the shared test kit
//! (`crates/portico-testkit`) on port 0 over a fresh SQLite database, a chromedriver started on
//! a free port (killed on drop), and a headless Chromium session driven through fantoccini,
//! with helpers that wait for what the page shows.

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, error::CmdError};
pub use portico_testkit::{Credentials, TestApp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(15);

/// The real `portico` binary on port 0 over a fresh SQLite database (the kit's
/// [`portico_testkit::spawn_app`]).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// [`spawn_app`] with `PORTICO_*` environment overrides for this server only, e.g.
/// `&[("PORTICO_SIGNUP_MODE", "open")]`.
pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    portico_testkit::spawn_app(
        env!("CARGO_BIN_EXE_portico"),
        portico_testkit::Backend::Sqlite,
        env,
    )
    .await
}

/// A user of the developer company without any admin permission, created by staff.
pub async fn plain_user(app: &TestApp) -> Credentials {
    let staff = app.staff().await;
    app.add_user(
        &staff,
        &app.developer_company_id,
        "traveler@sandbox.portico.test",
        "Traveler",
        "correct horse battery staple",
        None,
    )
    .await
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

/// Whether the browser tests can run here. Without chromedriver or Chromium they are skipped,
/// except in CI (`CI=true`), where that is a failure (see [`portico_testkit::skip_or_fail`]).
pub fn browser_available() -> bool {
    if Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists() {
        return true;
    }
    portico_testkit::skip_or_fail(&format!(
        "{CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver)"
    ));
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
