//! The `portico` command line: what an operator runs.

use crate::helpers::{Credentials, Node, PORTICO, random_master_key};
use reqwest::StatusCode;
use serde_json::json;
use std::process::Output;

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `portico <args>` in `dir` with a clean environment plus `env`, feeding `stdin`.
async fn portico(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_portico"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "PORTICO_CATALOG_PATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/apis.toml"),
        )
        .env("PORTICO_LOG_FILTER", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn check_config_names_the_file_and_line_of_a_bad_catalog() {
    let dir = temp_dir();
    let ok = portico(&dir, &["check-config"], &[], None).await;
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("configuration OK"));

    let catalog = dir.join("apis.toml");
    std::fs::write(
        &catalog,
        "[[api]]\nscope = \"a.read\"\ntitle = \"A\"\nrequires = [\"b.read\"]\n",
    )
    .unwrap();
    let path = catalog.to_str().unwrap();
    for cmd in [&["check-config"][..], &["serve"][..]] {
        let bad = portico(
            &dir,
            cmd,
            &[
                ("PORTICO_CATALOG_PATH", path),
                ("PORTICO_SERVER_BIND", "127.0.0.1:0"),
            ],
            None,
        )
        .await;
        assert!(!bad.status.success(), "{cmd:?} must refuse a bad catalog");
        let err = text(&bad.stderr);
        assert!(
            err.contains(&format!("{path}:4:")) && err.contains("unknown API 'b.read'"),
            "{cmd:?}: {err}"
        );
    }
    // A bad environment value names the variable.
    let bad = portico(
        &dir,
        &["check-config"],
        &[("PORTICO_SANDBOX_ENABLED", "maybe")],
        None,
    )
    .await;
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("PORTICO_SANDBOX_ENABLED"));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn migrate_bootstrap_then_serve_without_a_sandbox() {
    let dir = temp_dir();
    let db = format!("sqlite://{}/data/portico.db", dir.display());
    let key = random_master_key();
    let env = [
        ("PORTICO_DATABASE_URL", db.as_str()),
        ("PORTICO_MASTER_KEY", key.as_str()),
    ];
    let out = portico(&dir, &["migrate"], &env, None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        dir.join("data/portico.db").exists(),
        "the SQLite file and its directory are created"
    );

    // Password from stdin: never printed.
    let args = [
        "bootstrap",
        "--company-name",
        "Initech",
        "--domain",
        "initech.example",
        "--edition",
        "standard",
        "--development-partner",
        "--login-id",
        "root@initech.example",
        "--password-stdin",
    ];
    let out = portico(&dir, &args, &env, Some("a long bootstrap password\n")).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains("Initech") && printed.contains("root@initech.example"));
    assert!(!printed.contains("a long bootstrap password"));
    // Without one: generated and printed once.
    let args = [
        "bootstrap",
        "--company-name",
        "Hooli",
        "--domain",
        "hooli.example",
        "--login-id",
        "root@hooli.example",
    ];
    let out = portico(&dir, &args, &env, None).await;
    let printed = text(&out.stdout);
    let generated = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("password (shown once):"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(generated.len(), 43);
    // A bad domain is refused, naming the problem.
    let out = portico(
        &dir,
        &[
            "bootstrap",
            "--company-name",
            "X",
            "--domain",
            "nodot",
            "--login-id",
            "x@x.example",
        ],
        &env,
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("DNS name"),
        "{}",
        text(&out.stderr)
    );

    // Production: no sandbox; the bootstrapped admin signs in and can register apps.
    let node = Node::start(PORTICO, &db, &key, &[("PORTICO_SANDBOX_ENABLED", "false")]).await;
    assert!(
        node.banner.iter().all(|l| !l.contains("sandbox")),
        "{:?}",
        node.banner
    );
    let http = reqwest::Client::new();
    let session: serde_json::Value = http
        .post(format!("{}/admin/v1/session", node.base))
        .json(
            &json!({ "login_id": "root@initech.example", "password": "a long bootstrap password" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["actor"]["permissions"]["can_administer"], true);
    let token = session["token"].as_str().unwrap();
    let resp = http
        .post(format!("{}/admin/v1/apps", node.base))
        .bearer_auth(token)
        .json(&json!({ "name": "First", "apis": [{ "api": "company.read" }], "grant_types": ["client_credentials"] }))
        .send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let other = Credentials {
        login_id: "root@hooli.example".into(),
        password: generated,
    };
    let resp = http
        .post(format!("{}/admin/v1/session", node.base))
        .json(&json!({ "login_id": other.login_id, "password": other.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Ready and healthy.
    assert_eq!(
        http.get(format!("{}/readyz", node.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    node.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn json_logs_on_request() {
    let dir = temp_dir();
    let out = portico(
        &dir,
        &["--log-format", "json", "check-config"],
        &[("PORTICO_LOG_FILTER", "info")],
        None,
    )
    .await;
    assert!(out.status.success());
    let db = format!("sqlite://{}/p.db", dir.display());
    let out = portico(
        &dir,
        &["--log-format", "json", "migrate"],
        &[
            ("PORTICO_DATABASE_URL", &db),
            ("PORTICO_LOG_FILTER", "info"),
        ],
        None,
    )
    .await;
    let logs = text(&out.stderr);
    let first = logs.lines().next().expect("migrate logs at info");
    let parsed: serde_json::Value =
        serde_json::from_str(first).unwrap_or_else(|_| panic!("not JSON: {first}"));
    assert!(parsed["level"].is_string());
    std::fs::remove_dir_all(dir).ok();
}
