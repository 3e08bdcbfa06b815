//! Portico as openid-client v6 (npm, by panva) sees it: a client library of another language
//! that knows nothing of Portico drives discovery, `private_key_jwt` client authentication
//! (ES256, PS256 and Ed25519 keys), DPoP-bound tokens (RFC 9449), pushed authorization
//! requests (RFC 9126), the authorization code flow with PKCE and OpenID Connect, refresh,
//! UserInfo and introspection, and surfaces Portico's refusals as its own error types.
//!
//! The script is `tests/js/portico.mjs` (its packages pinned by `tests/js/package-lock.json`,
//! installed with `npm ci` on first use). It generates the keys with WebCrypto; this test
//! registers the apps with their public keys through the admin API, runs the flows and checks
//! the report the script prints. Thumbprints are computed here from the public JWKs (RFC
//! 7638), so the `cnf.jkt` Portico reports is checked against neither side's own code.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, expense_app, spawn_app, spawn_app_with};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

both_backends!(
    openid_client_drives_private_key_jwt_dpop_and_par,
    openid_client_retries_with_dpop_nonces
);

const CALLBACK: &str = "https://app.example/callback";
/// One node run: the flows take a few seconds; this only bounds a hang.
const NODE_TIMEOUT: Duration = Duration::from_secs(90);

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

// ---------------------------------------------------------------------------------------------
// Node and the locked packages

/// Whether `node` and the packages of `tests/js/package-lock.json` are here; installs the
/// packages with `npm ci` when they are missing or stale. Without node (or npm) the test is
/// skipped, except under CI (`.ci/run` installs them); a failed install fails it.
async fn node_ready() -> bool {
    static READY: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();
    let ready = READY
        .get_or_init(|| async {
            tokio::task::spawn_blocking(prepare_node)
                .await
                .expect("the npm setup ran")
        })
        .await;
    match ready {
        Ok(()) => true,
        Err(reason) => {
            portico_testkit::skip_or_fail(reason);
            false
        }
    }
}

/// `Err` when node or npm is not installed; panics when `npm ci` fails.
fn prepare_node() -> Result<(), String> {
    use std::process::{Command, Stdio};
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!(
                "{tool} is not installed (Debian: apt-get install nodejs npm)"
            ));
        }
    }
    if packages_installed() {
        return Ok(());
    }
    // Another test process may be installing: one at a time, and check again once it is ours.
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tests-js-npm-ci.lock");
    let lock = std::fs::File::create(&lock_path).expect("the npm lock file");
    lock.lock().expect("the npm lock");
    if !packages_installed() {
        let mut child = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(js_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("npm starts");
        let deadline = Instant::now() + Duration::from_secs(300);
        while child.try_wait().expect("npm runs").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("npm ci did not finish within 5 minutes");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = child.wait_with_output().expect("npm's output");
        assert!(
            out.status.success() && packages_installed(),
            "npm ci in tests/js failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(lock);
    Ok(())
}

/// Every package of the lock file is in `node_modules` at its locked version.
fn packages_installed() -> bool {
    let dir = js_dir();
    let lock: Value =
        serde_json::from_slice(&std::fs::read(dir.join("package-lock.json")).unwrap()).unwrap();
    lock["packages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| !path.is_empty())
        .all(|(path, entry)| {
            std::fs::read(dir.join(path).join("package.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .is_some_and(|p| p["version"] == entry["version"])
        })
}

/// Runs `node portico.mjs <args>` and returns the JSON it printed. Panics (with what it
/// printed) if it fails, unless `allow_failure`.
async fn node(args: &[&str], allow_failure: bool) -> (bool, Value) {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(js_dir().join("portico.mjs"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(NODE_TIMEOUT, cmd.output())
        .await
        .expect("the node script finishes in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("node printed no JSON ({}):\n{stdout}\n{stderr}", out.status));
    if !out.status.success() && !allow_failure {
        panic!(
            "node portico.mjs {args:?} failed ({}):\n{}\n{stderr}",
            out.status,
            serde_json::to_string_pretty(&report).unwrap()
        );
    }
    (out.status.success(), report)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// RFC 7638: the SHA-256 of the required members, in lexicographic order, without spaces.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str().unwrap() {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        other => panic!("kty {other}"),
    };
    let canonical = members
        .iter()
        .map(|m| format!("\"{m}\":\"{}\"", jwk[*m].as_str().unwrap()))
        .collect::<Vec<_>>()
        .join(",");
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{{{canonical}}}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A step that succeeded: its value.
#[track_caller]
fn ok<'a>(report: &'a Value, step: &str) -> &'a Value {
    let v = &report[step];
    assert!(
        v.is_object() && v.get("failed").is_none() && v.get("refused").is_none(),
        "{step}: {v}"
    );
    v.get("ok").unwrap_or(v)
}

/// A step that was refused: the error as the library surfaced it (its class, `status`,
/// `error`, ...).
#[track_caller]
fn refused<'a>(report: &'a Value, step: &str) -> &'a Value {
    report[step]
        .get("refused")
        .unwrap_or_else(|| panic!("{step} was not refused: {}", report[step]))
}

/// A token endpoint refusal: openid-client's `ResponseBodyError` with this status and error.
#[track_caller]
fn assert_refusal(report: &Value, step: &str, status: u16, error: &str) {
    let r = refused(report, step);
    assert_eq!(r["name"], "ResponseBodyError", "{step}: {r}");
    assert_eq!(r["status"], status, "{step}: {r}");
    assert_eq!(r["error"], error, "{step}: {r}");
}

/// A bound access token as introspected: active, DPoP, bound to `jkt`.
#[track_caller]
fn assert_bound(step: &str, introspection: &Value, jkt: &str) {
    assert_eq!(introspection["active"], true, "{step}: {introspection}");
    assert_eq!(
        introspection["token_type"], "DPoP",
        "{step}: {introspection}"
    );
    assert_eq!(introspection["cnf"]["jkt"], jkt, "{step}: {introspection}");
}

/// A step whose outcome must satisfy `expected` (the report names the step).
#[track_caller]
fn expect_outcome(report: &Value, step: &str, expected: impl Fn(&Value) -> bool) {
    let outcome = &report[step];
    assert!(expected(outcome), "{step}: {outcome}");
}

/// Every token endpoint answer as it came over the wire: `token_type` is `DPoP` exactly when
/// the request had a proof (RFC 9449 §5), `Bearer` otherwise.
#[track_caller]
fn assert_wire_token_types(report: &Value) {
    let wire = report["wire"].as_array().unwrap();
    let mut answered = 0;
    for w in wire
        .iter()
        .filter(|w| w["url"].as_str().unwrap().ends_with("/oauth2/v0/token") && w["status"] == 200)
    {
        let expected = if w["dpop"] == true { "DPoP" } else { "Bearer" };
        assert_eq!(w["token_type"], expected, "{w}");
        answered += 1;
    }
    assert!(answered > 0, "no token answers in {wire:?}");
}

/// The keys the script made (public JWKs by name) and the directory it keeps them in.
struct Keys {
    dir: PathBuf,
    keys: Value,
}

impl Keys {
    /// The keys of the script's `KEYS` named here (all of them without names).
    async fn generate(names: &[&str]) -> Keys {
        let dir =
            std::env::temp_dir().join(format!("portico-js-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec!["keys", dir.to_str().unwrap()];
        args.extend_from_slice(names);
        let (_, keys) = node(&args, false).await;
        Keys { dir, keys }
    }

    fn public(&self, name: &str) -> Value {
        self.keys[name]["public"].clone()
    }

    fn jkt(&self, name: &str) -> String {
        thumbprint(&self.keys[name]["public"])
    }

    /// Writes the flows' configuration; returns its path.
    fn config(&self, app: &TestApp, session: &str, clients: Value) -> String {
        let config = json!({
            "issuer": app.base,
            "redirect_uri": CALLBACK,
            "session": session,
            "keys": self.dir.join("keys.json"),
            "clients": clients,
        });
        let path = self.dir.join("config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// App A: keys only (its registration answers no secret), every token DPoP-bound,
/// authorization requests only through PAR.
async fn register_keys_only(app: &TestApp, keys: &Keys) -> Value {
    let dev = app.developer().await;
    let mut a = expense_app("openid-client, keys only");
    a["grant_types"] = json!(["authorization_code", "refresh_token", "client_credentials"]);
    a["token_endpoint_auth_methods"] = json!(["private_key_jwt"]);
    a["jwks"] = json!({ "keys": [keys.public("a_es256")] });
    a["dpop_bound_access_tokens"] = json!(true);
    a["require_pushed_authorization_requests"] = json!(true);
    let reg = app.register_app(&dev, a).await;
    assert_eq!(reg["client_secret"], Value::Null, "{reg}");
    reg
}

/// Runs the script's `mode` and fails the test, with its report, if a step failed.
async fn run_flows(mode: &str, config: &str) -> Value {
    let (success, report) = node(&[mode, config], true).await;
    let pretty = serde_json::to_string_pretty(&report).unwrap();
    assert!(
        success,
        "openid-client's flows failed: {}\n{pretty}",
        report["failed"]
    );
    // Shown with the test's output when an assertion below fails.
    eprintln!("{pretty}");
    report
}

/// The code flow's report: through PAR (the library's URL carries only client_id and a
/// request_uri), the consent page (whose form carries the reference, not the parameters),
/// back to the app with `iss`, DPoP-bound tokens and an ID token for the user.
#[track_caller]
fn assert_code_flow(app: &TestApp, r: &Value, client_id: &Value, user_id: &str, jkt: &str) {
    let code = ok(r, "authorization_code");
    assert_eq!(
        code["authorization_url"]["params"],
        json!(["client_id", "request_uri"]),
        "{code}"
    );
    assert!(
        code["authorization_url"]["request_uri"]
            .as_str()
            .unwrap()
            .starts_with("urn:ietf:params:oauth:request_uri:"),
        "{code}"
    );
    assert_eq!(code["consent_page"], true, "{code}");
    assert_eq!(
        code["consent_form"],
        json!(["csrf_token", "client_id", "request_uri"]),
        "{code}"
    );
    assert_eq!(code["callback"]["url"], CALLBACK);
    assert_eq!(code["callback"]["iss"], app.base.as_str());
    assert_eq!(code["token_type"], "dpop", "{code}");
    assert_eq!(code["refresh_token"], true, "{code}");
    assert_eq!(code["id_token"]["sub"], user_id);
    assert_eq!(code["id_token"]["aud"], *client_id);
    assert_eq!(code["id_token"]["iss"], app.base.as_str());
    assert_bound("authorization_code", &code["introspection"], jkt);
    assert_eq!(code["introspection"]["sub"], user_id);

    assert_eq!(ok(r, "userinfo")["sub"], user_id);

    let refreshed = ok(r, "refresh");
    assert_eq!(refreshed["token_type"], "dpop", "{refreshed}");
    assert_eq!(refreshed["rotated"], true, "{refreshed}");
    assert_eq!(refreshed["id_token_sub"], user_id);
    assert_bound("refresh", &refreshed["introspection"], jkt);
}

// ---------------------------------------------------------------------------------------------

async fn openid_client_drives_private_key_jwt_dpop_and_par(backend: Backend) {
    if !node_ready().await {
        return;
    }
    // The keys (an RSA key takes a while) as the server starts.
    let (keys, app) = tokio::join!(Keys::generate(&[]), spawn_app(backend));
    let dev = app.developer().await;
    let reg_a = register_keys_only(&app, &keys).await;
    // App B: an Ed25519 and an RSA-PSS key, and its secret too; DPoP when the client asks.
    let mut b = expense_app("openid-client, two keys and a secret");
    b["grant_types"] = json!(["client_credentials"]);
    b["token_endpoint_auth_methods"] = json!(["private_key_jwt", "client_secret_basic"]);
    b["jwks"] = json!({ "keys": [keys.public("b_ed25519"), keys.public("b_ps256")] });
    let reg_b = app.register_app(&dev, b).await;
    assert!(reg_b["client_secret"].is_string(), "{reg_b}");
    let config = keys.config(
        &app,
        &dev.token,
        json!({
            "a": { "client_id": reg_a["client_id"] },
            "b": { "client_id": reg_b["client_id"], "client_secret": reg_b["client_secret"] },
        }),
    );
    let r = run_flows("flows", &config).await;

    // Discovery, at both well-known addresses.
    let d = &r["discovery"];
    assert_eq!(d["issuer"], app.base.as_str());
    assert_eq!(d["oauth2_issuer"], app.base.as_str());
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        app.url("/oauth2/v0/par")
    );
    assert_eq!(d["supports_pkce"], true);
    for alg in ["ES256", "PS256", "EdDSA"] {
        let dpop_algs = d["dpop_signing_alg_values_supported"].as_array().unwrap();
        assert!(dpop_algs.iter().any(|a| a == alg), "{d}");
    }
    assert!(
        d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "private_key_jwt"),
        "{d}"
    );
    assert_wire_token_types(&r);

    // The DPoP key's thumbprint is the tokens' cnf.jkt (not the client authentication key's).
    let jkt = keys.jkt("dpop_es256");
    assert_ne!(jkt, keys.jkt("a_es256"));
    let cc = ok(&r, "client_credentials");
    assert_eq!(cc["token_type"], "dpop", "{cc}");
    assert_eq!(cc["refresh_token"], false, "{cc}");
    assert_bound("client_credentials", &cc["introspection"], &jkt);
    assert_eq!(cc["introspection"]["client_id"], reg_a["client_id"]);

    assert_code_flow(&app, &r, &reg_a["client_id"], &dev.user_id, &jkt);
    // A bound token as a bearer token: 401 and a Bearer challenge, which the library surfaces.
    let bearer = refused(&r, "userinfo_as_bearer");
    assert_eq!(bearer["name"], "WWWAuthenticateChallengeError", "{bearer}");
    assert_eq!(bearer["status"], 401, "{bearer}");
    let challenge = &bearer["challenges"][0];
    assert_eq!(challenge["scheme"], "bearer", "{bearer}");
    assert_eq!(
        challenge["parameters"]["error"], "invalid_token",
        "{bearer}"
    );

    // The grant's key: another one, or none, is refused; the refresh token still works after.
    assert_refusal(&r, "refresh_with_another_key", 400, "invalid_dpop_proof");
    assert_refusal(&r, "refresh_without_dpop", 400, "invalid_dpop_proof");
    assert_eq!(ok(&r, "refresh_after_refusals")["token_type"], "dpop");
    // dpop_bound_access_tokens: no proof, no token.
    assert_refusal(
        &r,
        "client_credentials_without_dpop",
        400,
        "invalid_dpop_proof",
    );
    // require_pushed_authorization_requests: the plain request comes back as an error response.
    let plain = refused(&r, "plain_authorization_request");
    assert_eq!(plain["name"], "AuthorizationResponseError", "{plain}");
    assert_eq!(plain["error"], "invalid_request", "{plain}");
    assert_eq!(plain["params"]["iss"], app.base.as_str(), "{plain}");

    // App B: PS256 assertions, bearer tokens unless it sends a proof (PS256 here).
    let bearer_b = ok(&r, "b_ps256_bearer");
    assert_eq!(bearer_b["token_type"], "bearer");
    assert_eq!(bearer_b["introspection"]["token_type"], "Bearer");
    assert_eq!(bearer_b["introspection"]["cnf"], Value::Null);
    assert_eq!(bearer_b["introspection"]["active"], true);
    let ps = ok(&r, "b_ps256_dpop_ps256");
    assert_eq!(ps["token_type"], "dpop");
    assert_bound(
        "b_ps256_dpop_ps256",
        &ps["introspection"],
        &keys.jkt("dpop_ps256"),
    );
    // Ed25519, its alg written "EdDSA".
    assert_eq!(ok(&r, "b_ed25519_assertion_eddsa")["token_type"], "bearer");
    let ed = ok(&r, "b_dpop_ed25519_eddsa");
    assert_eq!(ed["token_type"], "dpop");
    assert_bound(
        "b_dpop_ed25519_eddsa",
        &ed["introspection"],
        &keys.jkt("dpop_ed25519"),
    );
    assert_eq!(ok(&r, "b_client_secret_basic")["token_type"], "bearer");
    // A client assertion's jti is used once.
    assert_eq!(ok(&r, "assertion_first_use")["token_type"], "bearer");
    assert_refusal(&r, "assertion_replayed", 401, "invalid_client");

    // openid-client signs with Ed25519 keys as alg "Ed25519" (RFC 9864's fully-specified name)
    // unless told otherwise; Portico knows only "EdDSA".
    // RFC 9864's fully specified "Ed25519", as the library signs by default.
    let accepted = |o: &Value| o["ok"]["token_type"].is_string();
    expect_outcome(&r, "b_ed25519_assertion_default", accepted);
    expect_outcome(&r, "b_dpop_ed25519_default", accepted);
    // RFC 9449 §10.1: a DPoP proof at the PAR endpoint binds the code to its key; another
    // key's proof at the exchange is refused.
    expect_outcome(&r, "par_code_redeemed_with_another_key", |o| {
        o["refused"]["name"] == "ResponseBodyError" && o["refused"]["error"] == "invalid_dpop_proof"
    });
}

/// With `[dpop] require_nonce`, Portico answers each first proof `use_dpop_nonce` with a
/// `DPoP-Nonce`; openid-client retries with it, at the token endpoint and at UserInfo.
async fn openid_client_retries_with_dpop_nonces(backend: Backend) {
    if !node_ready().await {
        return;
    }
    let (keys, app) = tokio::join!(
        Keys::generate(&["a_es256", "dpop_es256"]),
        spawn_app_with(backend, &[("PORTICO_DPOP_REQUIRE_NONCE", "true")])
    );
    let dev = app.developer().await;
    let reg_a = register_keys_only(&app, &keys).await;
    let config = keys.config(
        &app,
        &dev.token,
        json!({ "a": { "client_id": reg_a["client_id"] } }),
    );
    let r = run_flows("nonce", &config).await;
    assert_wire_token_types(&r);
    let jkt = keys.jkt("dpop_es256");
    assert_bound(
        "client_credentials",
        &ok(&r, "client_credentials")["introspection"],
        &jkt,
    );
    assert_code_flow(&app, &r, &reg_a["client_id"], &dev.user_id, &jkt);
    // The first proof at each place was answered use_dpop_nonce with a nonce, and the retry
    // passed: the token endpoint's 400 (RFC 9449 §8), UserInfo's 401 challenge (§9).
    let wire = r["wire"].as_array().unwrap();
    let at = |path: &str| -> Vec<&Value> {
        wire.iter()
            .filter(|w| w["url"].as_str().unwrap().ends_with(path))
            .collect()
    };
    let token = at("/oauth2/v0/token");
    assert_eq!(
        (
            &token[0]["status"],
            &token[0]["error"],
            &token[0]["dpop_nonce"]
        ),
        (&json!(400), &json!("use_dpop_nonce"), &json!(true)),
        "{wire:?}"
    );
    assert_eq!(token[1]["status"], 200, "{wire:?}");
    let userinfo = at("/oauth2/v0/userinfo");
    assert_eq!(userinfo.len(), 2, "{wire:?}");
    assert_eq!(userinfo[0]["status"], 401, "{wire:?}");
    assert_eq!(userinfo[0]["dpop_nonce"], true, "{wire:?}");
    let challenge = userinfo[0]["www_authenticate"].as_str().unwrap();
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains("error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    assert_eq!(userinfo[1]["status"], 200, "{wire:?}");
}
