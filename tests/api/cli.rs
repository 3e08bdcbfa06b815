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

// ---- The registry commands: scripts and operators against the database ----

/// The exit codes `portico --help` documents.
mod exit {
    pub const USAGE: i32 = 2;
    pub const DATAERR: i32 = 65;
    pub const NOT_FOUND: i32 = 66;
    pub const UNAVAILABLE: i32 = 69;
    pub const CONFLICT: i32 = 73;
    pub const TEMPFAIL: i32 = 75;
    pub const NOPERM: i32 = 77;
}

/// `portico <args>` on `database_url`, as a script runs it.
async fn cli(database_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let dir = temp_dir();
    let out = portico(&dir, args, &[("PORTICO_DATABASE_URL", database_url)], stdin).await;
    std::fs::remove_dir_all(dir).ok();
    out
}

/// Runs a command that must succeed with `--output json`; its stdout parsed.
#[track_caller]
fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
}

#[track_caller]
fn assert_exit(out: &Output, code: i32, stderr_has: &str) {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {err}",
        text(&out.stdout)
    );
    assert!(
        err.contains(stderr_has),
        "stderr lacks {stderr_has:?}: {err}"
    );
}

fn spec_file(body: &serde_json::Value) -> (std::path::PathBuf, String) {
    let dir = temp_dir();
    let path = dir.join("app.json");
    std::fs::write(&path, body.to_string()).unwrap();
    let s = path.to_str().unwrap().to_owned();
    (dir, s)
}

crate::both_backends!(a_script_builds_a_partner_from_the_command_line);

/// What an operator's script does: a company, its admin (password on stdin), an app from a
/// spec file, a New Secret, a request token; lists parsed as JSON; the audit log names who
/// did each. The running server answers with what the CLI wrote.
async fn a_script_builds_a_partner_from_the_command_line(backend: crate::helpers::Backend) {
    use crate::oauth_helpers::{AppCredentials, company_token, token};
    let app = crate::helpers::spawn_app(backend).await;
    let db = app.database_url.as_str();
    let staff = app.staff.login_id.as_str();

    let company = json_of(
        &cli(
            db,
            &[
                "companies",
                "create",
                "--name",
                "Initrode",
                "--domain",
                "initrode.example",
                "--development-partner",
                "--as",
                staff,
                "--output",
                "json",
            ],
            None,
        )
        .await,
    );
    assert_eq!(company["domain"], "initrode.example");
    assert_eq!(company["development_partner"], true);
    let company_id = company["id"].as_str().unwrap().to_owned();

    // The password comes on stdin: never an argument, never printed.
    let password = "the admin's long password";
    let out = cli(
        db,
        &[
            "users",
            "create",
            "--company",
            "initrode.example",
            "--login-id",
            "admin@initrode.example",
            "--display-name",
            "Initrode Admin",
            "--web-services-administrator",
            "--password-stdin",
            "--as",
            staff,
            "-o",
            "json",
        ],
        Some(&format!("{password}\n")),
    )
    .await;
    let created = json_of(&out);
    assert_eq!(
        created["user"]["permissions"]["web_services_administrator"],
        true
    );
    assert!(created.get("generated_password").is_none(), "{created}");
    assert!(!text(&out.stdout).contains(password) && !text(&out.stderr).contains(password));
    // Without --password-stdin a password is generated and shown once, on stdout.
    let out = cli(
        db,
        &[
            "users",
            "create",
            "--company",
            &company_id,
            "--login-id",
            "clerk@initrode.example",
            "--display-name",
            "Clerk",
            "--as",
            "admin@initrode.example",
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let generated = text(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("password (shown once):")
                .map(|p| p.trim().to_owned())
        })
        .expect("the generated password is printed");
    assert_eq!(generated.len(), 43);
    assert!(!text(&out.stderr).contains(&generated));
    // The server signs the admin in with the password the CLI set.
    let admin = app
        .sign_in(&crate::helpers::Credentials {
            login_id: "admin@initrode.example".into(),
            password: password.into(),
        })
        .await;
    assert_eq!(admin.company_id, company_id);

    // An app from a spec file: the admin API's registration body.
    let mut spec = crate::helpers::expense_app("Initrode Sync");
    spec["grant_types"] = json!(["client_credentials", "company_request_token"]);
    spec["redirect_uris"] = json!([]);
    let (spec_dir, spec_path) = spec_file(&spec);
    let as_admin = ["--as", "admin@initrode.example", "-o", "json"];
    let out = cli(
        db,
        &[
            &["apps", "register", "--spec", &spec_path][..],
            &as_admin[..],
        ]
        .concat(),
        None,
    )
    .await;
    let registered = json_of(&out);
    let key = registered["client_id"].as_str().unwrap().to_owned();
    let first_secret = registered["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(registered["company_domain"], "initrode.example");
    assert!(!text(&out.stderr).contains(&first_secret));
    std::fs::remove_dir_all(spec_dir).ok();

    // New Secret: shown once; the first one fails from now on.
    let out = cli(
        db,
        &[&["apps", "new-secret", &key][..], &as_admin[..]].concat(),
        None,
    )
    .await;
    let renewed = json_of(&out);
    let secret = renewed["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, first_secret);
    assert_eq!(renewed["app"]["version"], 2);
    assert!(!text(&out.stderr).contains(&secret));
    let client = AppCredentials {
        id: key.clone(),
        secret,
    };
    let ok = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let old = AppCredentials {
        id: key.clone(),
        secret: first_secret,
    };
    let refused = token(&app, &old, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);

    // A company request token from the CLI, exchanged at the server.
    let issued = json_of(
        &cli(
            db,
            &[&["request-tokens", "create", &key][..], &as_admin[..]].concat(),
            None,
        )
        .await,
    );
    assert_eq!(issued["company_id"], company_id.as_str());
    let rt = issued["request_token"].as_str().unwrap();
    let exchanged = company_token(&app, &client, &company_id, rt).await;
    assert_eq!(exchanged.status, StatusCode::OK, "{}", exchanged.body);

    // Lists for scripts: the admin API's JSON.
    let apps = json_of(&cli(db, &[&["apps", "list"][..], &as_admin[..]].concat(), None).await);
    let listed = apps.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], key.as_str());
    assert_eq!(listed[0]["visibility"], "private");
    let users = json_of(
        &cli(
            db,
            &[
                "users",
                "list",
                "--company",
                "initrode.example",
                "--as",
                staff,
                "-o",
                "json",
            ],
            None,
        )
        .await,
    );
    let logins: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login_id"].as_str().unwrap())
        .collect();
    assert_eq!(logins.len(), 2, "{users}");
    assert!(
        logins.contains(&"admin@initrode.example") && logins.contains(&"clerk@initrode.example")
    );
    let companies = json_of(
        &cli(
            db,
            &["companies", "list", "--as", staff, "-o", "json"],
            None,
        )
        .await,
    );
    assert!(
        companies
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == company_id.as_str())
    );
    // Text is for people: a table with the app's Key.
    let out = cli(
        db,
        &["apps", "list", "--as", "admin@initrode.example"],
        None,
    )
    .await;
    assert!(out.status.success());
    assert!(
        text(&out.stdout)
            .lines()
            .any(|l| l.starts_with(&key) && l.contains("Initrode Sync"))
    );

    // The audit log names the CLI's actor, filtered by company, action and actor.
    let audit = json_of(
        &cli(
            db,
            &[
                "audit",
                "--company",
                "initrode.example",
                "--action",
                "app",
                "--as",
                staff,
                "-o",
                "json",
            ],
            None,
        )
        .await,
    );
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["app.new_secret", "app.register"], "{audit}");
    for e in audit.as_array().unwrap() {
        assert_eq!(e["actor_login"], "admin@initrode.example");
        assert_eq!(e["actor_user_id"], admin.user_id.as_str());
        assert_eq!(e["target_id"], key.as_str());
    }
    let by_staff = json_of(
        &cli(
            db,
            &[
                "audit",
                "--actor",
                staff,
                "--action",
                "company.create",
                "--as",
                staff,
                "-o",
                "json",
            ],
            None,
        )
        .await,
    );
    let entry = &by_staff[0];
    assert_eq!(entry["target_id"], company_id.as_str(), "{by_staff}");
    assert_eq!(entry["actor_login"], staff);
    assert!(entry["actor_user_id"].is_string());
    // An admin reads only their own company's log; nothing in it is a secret.
    let own = cli(
        db,
        &["audit", "--as", "admin@initrode.example", "-o", "json"],
        None,
    )
    .await;
    let own_text = text(&own.stdout);
    let own = json_of(&own);
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .all(|e| e["company_id"] == company_id.as_str())
    );
    assert!(
        !own_text.contains(&client.secret)
            && !own_text.contains(rt)
            && !own_text.contains(password)
    );
}

/// Exit codes a script can branch on, with the field named on stderr.
#[tokio::test]
async fn registry_commands_exit_with_codes_that_mean_something() {
    let dir = temp_dir();
    let db = format!("sqlite://{}/portico.db", dir.display());
    let db = db.as_str();
    let out = portico(
        &dir,
        &[
            "bootstrap",
            "--company-name",
            "Operator",
            "--domain",
            "operator.example",
            "--login-id",
            "ops@operator.example",
            "--staff",
        ],
        &[("PORTICO_DATABASE_URL", db)],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ops = ["--as", "ops@operator.example"];

    // 65: a bad value, naming the field (as text, and as the admin API's JSON error).
    let bad = ["companies", "create", "--name", "X", "--domain", "nodot"];
    let out = cli(db, &[&bad[..], &ops[..]].concat(), None).await;
    assert_exit(&out, exit::DATAERR, "domain: must be a DNS name");
    let out = cli(
        db,
        &[&bad[..], &ops[..], &["-o", "json"][..]].concat(),
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(exit::DATAERR));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(
        (err["error"].as_str(), err["field"].as_str()),
        (Some("invalid_request"), Some("domain"))
    );
    assert!(out.stdout.is_empty());

    // A developer company and its admin, for apps.
    let dev = json_of(
        &cli(
            db,
            &[
                &[
                    "companies",
                    "create",
                    "--name",
                    "Dev Co",
                    "--domain",
                    "dev.example",
                    "--development-partner",
                    "-o",
                    "json",
                ][..],
                &ops[..],
            ]
            .concat(),
            None,
        )
        .await,
    );
    let dev_id = dev["id"].as_str().unwrap().to_owned();
    let out = cli(
        db,
        &[
            &[
                "users",
                "create",
                "--company",
                "dev.example",
                "--login-id",
                "admin@dev.example",
                "--display-name",
                "Dev Admin",
                "--web-services-administrator",
                "--password-stdin",
            ][..],
            &ops[..],
        ]
        .concat(),
        Some("a long enough password"),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli(
        db,
        &[
            &[
                "users",
                "create",
                "--company",
                "dev.example",
                "--login-id",
                "clerk@dev.example",
                "--display-name",
                "Clerk",
            ][..],
            &ops[..],
        ]
        .concat(),
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dev_admin = ["--as", "admin@dev.example"];

    // 65: a spec the admin API would refuse, naming the same field.
    let out = cli(
        db,
        &[&["apps", "register", "--spec", "-"][..], &dev_admin[..]].concat(),
        Some(r#"{"name": "Bad", "apis": [{"api": "no.such.api"}], "grant_types": ["client_credentials"]}"#),
    )
    .await;
    assert_exit(&out, exit::DATAERR, "apis[0].api");
    let out = cli(
        db,
        &[&["apps", "register", "--spec", "-"][..], &dev_admin[..]].concat(),
        Some(r#"{"name": "Bad", "scopes": []}"#),
    )
    .await;
    assert_exit(&out, exit::DATAERR, "scopes");
    // 66: the spec file is not there.
    let out = cli(
        db,
        &[
            &["apps", "register", "--spec", "/nonexistent/app.json"][..],
            &dev_admin[..],
        ]
        .concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::NOT_FOUND, "/nonexistent/app.json");

    // 73: a conflict with what is there (the same name twice), with its code.
    let spec = r#"{"name": "Once", "apis": [{"api": "company.read"}], "grant_types": ["client_credentials"]}"#;
    let first = json_of(
        &cli(
            db,
            &[
                &["apps", "register", "--spec", "-", "-o", "json"][..],
                &dev_admin[..],
            ]
            .concat(),
            Some(spec),
        )
        .await,
    );
    let key = first["client_id"].as_str().unwrap().to_owned();
    let out = cli(
        db,
        &[&["apps", "register", "--spec", "-"][..], &dev_admin[..]].concat(),
        Some(spec),
    )
    .await;
    assert_exit(&out, exit::CONFLICT, "name_taken");

    // 75: a stale --if-version changes nothing.
    let out = cli(
        db,
        &[
            &[
                "apps",
                "modify",
                &key,
                "--active",
                "false",
                "--if-version",
                "7",
            ][..],
            &dev_admin[..],
        ]
        .concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::TEMPFAIL, "changed meanwhile");
    let shown = json_of(
        &cli(
            db,
            &[&["apps", "show", &key, "-o", "json"][..], &dev_admin[..]].concat(),
            None,
        )
        .await,
    );
    assert_eq!(
        (shown["active"].as_bool(), shown["version"].as_i64()),
        (Some(true), Some(1))
    );

    // 66: not found (another company's app is not found either).
    let nobody = uuid::Uuid::new_v4().to_string();
    let out = cli(
        db,
        &[&["companies", "show", &nobody][..], &ops[..]].concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::NOT_FOUND, "company not found");
    let out = cli(
        db,
        &[&["apps", "show", &nobody][..], &dev_admin[..]].concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::NOT_FOUND, "application not found");
    let out = cli(
        db,
        &[&["users", "show", "nobody@dev.example"][..], &ops[..]].concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::NOT_FOUND, "user not found");

    // 77: acting as someone who may not (a user without admin permissions, an admin doing
    // staff's work), as someone unknown, or as someone disabled.
    let clerk = ["--as", "clerk@dev.example"];
    let out = cli(db, &[&["companies", "list"][..], &clerk[..]].concat(), None).await;
    assert_exit(&out, exit::NOPERM, "Web Services Administrator");
    let out = cli(
        db,
        &[&["apps", "register", "--spec", "-"][..], &clerk[..]].concat(),
        Some(spec),
    )
    .await;
    assert_exit(&out, exit::NOPERM, "");
    let out = cli(
        db,
        &[
            &[
                "companies",
                "create",
                "--name",
                "Y",
                "--domain",
                "y.example",
            ][..],
            &dev_admin[..],
        ]
        .concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::NOPERM, "staff");
    let out = cli(
        db,
        &[&["apps", "review", &key, "approve"][..], &dev_admin[..]].concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::NOPERM, "staff");
    let out = cli(
        db,
        &["companies", "list", "--as", "ghost@dev.example"],
        None,
    )
    .await;
    assert_exit(&out, exit::NOPERM, "no user has the login id");
    let out = cli(
        db,
        &[&["users", "disable", "clerk@dev.example"][..], &ops[..]].concat(),
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli(db, &[&["apps", "list"][..], &clerk[..]].concat(), None).await;
    assert_exit(&out, exit::NOPERM, "disabled");
    let out = cli(
        db,
        &[&["companies", "disable", &dev_id][..], &ops[..]].concat(),
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli(db, &[&["apps", "list"][..], &dev_admin[..]].concat(), None).await;
    assert_exit(&out, exit::NOPERM, "disabled");

    // 2: usage. No actor; a password is never an argument.
    let out = cli(db, &["companies", "list"], None).await;
    assert_exit(&out, exit::USAGE, "--as");
    let out = cli(
        db,
        &[
            &[
                "users",
                "create",
                "--login-id",
                "a@b.example",
                "--display-name",
                "A",
                "--password",
                "hunter2hunter2",
            ][..],
            &ops[..],
        ]
        .concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::USAGE, "--password");
    let out = cli(
        db,
        &[&["apps", "review", &key, "reject"][..], &ops[..]].concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::USAGE, "--reason");

    // 69: the database cannot be reached; its password is not printed.
    let out = cli(
        "postgres://portico:db-password@127.0.0.1:1/portico",
        &[&["companies", "list"][..], &ops[..]].concat(),
        None,
    )
    .await;
    assert_exit(&out, exit::UNAVAILABLE, "");
    assert!(
        !text(&out.stderr).contains("db-password"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}

crate::both_backends!(a_running_server_applies_a_cli_change_within_a_second);

/// A running server applies what the CLI changed in the database within a second: on
/// PostgreSQL through the store's NOTIFY, on SQLite by following the change log.
async fn a_running_server_applies_a_cli_change_within_a_second(backend: crate::helpers::Backend) {
    use crate::oauth_helpers::{company_token, is_active, register, request_token, token};
    // PostgreSQL: the CLI's NOTIFY; SQLite: the server follows the change log.
    let app = crate::helpers::spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Served App", &["client_credentials"]).await;
    // The server has the app cached now.
    for _ in 0..2 {
        let ok = token(&app, &client, &[("grant_type", "client_credentials")]).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
    let out = cli(
        &app.database_url,
        &[
            "apps",
            "modify",
            &client.id,
            "--active",
            "false",
            "--as",
            &app.developer.login_id,
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("active:") && text(&out.stdout).contains("no"));
    let start = std::time::Instant::now();
    loop {
        let a = token(&app, &client, &[("grant_type", "client_credentials")]).await;
        if a.status != StatusCode::OK {
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "the server still issues tokens to the app the CLI deactivated"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The company's own switch: disabled by the CLI, its company token stops working.
    let other = register(
        &app,
        &dev,
        "Enabled App",
        &["client_credentials", "company_request_token"],
    )
    .await;
    let rt = request_token(&app, &dev, &other).await;
    let tokens = company_token(&app, &other, &dev.company_id, &rt).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let access = tokens.str("access_token");
    assert!(is_active(&app, &other, &access).await);
    let out = cli(
        &app.database_url,
        &[
            "enablements",
            "set",
            &other.id,
            "off",
            "--as",
            &app.developer.login_id,
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let start = std::time::Instant::now();
    while is_active(&app, &other, &access).await {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "the server still accepts a company token of the app the CLI disabled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

crate::both_backends!(staff_review_certify_and_decide_sign_ups_from_the_command_line);

/// `cmd` followed by `who` (the --as and --output options).
fn with<'a>(cmd: &[&'a str], who: &[&'a str]) -> Vec<&'a str> {
    [cmd, who].concat()
}

/// The operator's staff at the command line: the review queue, a decision, certification, the
/// developer's production Secret, visibility and a sign-up request waiting for approval.
async fn staff_review_certify_and_decide_sign_ups_from_the_command_line(
    backend: crate::helpers::Backend,
) {
    use crate::oauth_helpers::{AppCredentials, token};
    let app = crate::helpers::spawn_app_with(backend, &[("PORTICO_SIGNUP_MODE", "approval")]).await;
    let db = app.database_url.as_str();
    let staff = ["--as", app.staff.login_id.as_str(), "-o", "json"];
    let dev = ["--as", app.developer.login_id.as_str(), "-o", "json"];

    let mut spec = crate::helpers::expense_app("Certified Sync");
    spec["grant_types"] = json!(["client_credentials"]);
    let registered = json_of(
        &cli(
            db,
            &with(&["apps", "register", "--spec", "-"], &dev),
            Some(&spec.to_string()),
        )
        .await,
    );
    let key = registered["client_id"].as_str().unwrap().to_owned();
    let submitted = json_of(&cli(db, &with(&["apps", "submit", &key], &dev), None).await);
    assert_eq!(submitted["review"]["status"], "pending");
    let queue = json_of(&cli(db, &with(&["apps", "review-queue"], &staff), None).await);
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == key.as_str()),
        "{queue}"
    );
    // A sandbox app stays Private: publishing it is certification's work.
    let out = cli(
        db,
        &with(&["apps", "visibility", &key, "public"], &staff),
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(exit::CONFLICT),
        "{}",
        text(&out.stderr)
    );
    let approved = json_of(
        &cli(
            db,
            &with(
                &["apps", "review", &key, "approve", "--reason", "looks right"],
                &staff,
            ),
            None,
        )
        .await,
    );
    assert_eq!(approved["review"]["status"], "approved");
    let certified = json_of(
        &cli(
            db,
            &with(&["apps", "certify", &key, "public"], &staff),
            None,
        )
        .await,
    );
    assert_eq!(certified["created"], true);
    let production = certified["production"]["id"].as_str().unwrap().to_owned();
    assert_ne!(production, key);
    assert_eq!(certified["production"]["visibility"], "public");
    let shown = json_of(&cli(db, &with(&["apps", "production", &key], &dev), None).await);
    assert_eq!(shown["id"], production.as_str());
    // Staff never hold the production Secret; the developer's admin asks for it.
    let out = cli(
        db,
        &with(&["apps", "new-secret", &production], &staff),
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(exit::NOPERM),
        "{}",
        text(&out.stderr)
    );
    let secret = json_of(&cli(db, &with(&["apps", "new-secret", &production], &dev), None).await);
    let client = AppCredentials {
        id: production.clone(),
        secret: secret["client_secret"].as_str().unwrap().to_owned(),
    };
    let ok = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // Staff mark an app as a resource server, with its resource URI.
    let marked = json_of(
        &cli(
            db,
            &with(
                &[
                    "apps",
                    "resource-server",
                    &key,
                    "--uri",
                    "https://api.sync.example",
                ],
                &staff,
            ),
            None,
        )
        .await,
    );
    assert_eq!(
        (
            marked["resource_server"].as_bool(),
            marked["resource_uri"].as_str()
        ),
        (Some(true), Some("https://api.sync.example"))
    );
    // The company's Enable Applications list has the production registration.
    let listed = json_of(&cli(db, &with(&["enablements", "list"], &dev), None).await);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["app_id"] == production.as_str()),
        "{listed}"
    );

    // A sign-up waits for staff; they approve it from the command line.
    let resp = app
        .client
        .post(app.url("/admin/v1/sign-up"))
        .json(&json!({
            "name": "Dana Developer",
            "login_id": "dana@tools.example",
            "password": "correct horse battery staple",
            "company_name": "Dana's Tools",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let pending = json_of(&cli(db, &with(&["sign-up-requests", "list"], &staff), None).await);
    let request = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["login_id"] == "dana@tools.example")
        .unwrap_or_else(|| panic!("{pending}"));
    let id = request["id"].as_str().unwrap().to_owned();
    let out = cli(db, &with(&["sign-up-requests", "list"], &dev), None).await;
    assert_eq!(out.status.code(), Some(exit::NOPERM));
    let decided = json_of(
        &cli(
            db,
            &with(&["sign-up-requests", "decide", &id, "approve"], &staff),
            None,
        )
        .await,
    );
    assert_eq!(decided["request"]["status"], "approved");
    assert!(decided["company"]["id"].is_string());
    let out = cli(
        db,
        &with(
            &[
                "sign-up-requests",
                "decide",
                &id,
                "reject",
                "--reason",
                "late",
            ],
            &staff,
        ),
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(exit::CONFLICT),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("not_pending"),
        "{}",
        text(&out.stderr)
    );
    let dana = app
        .sign_in(&crate::helpers::Credentials {
            login_id: "dana@tools.example".into(),
            password: "correct horse battery staple".into(),
        })
        .await;
    assert_eq!(dana.company_id, decided["company"]["id"].as_str().unwrap());
    let none = json_of(&cli(db, &with(&["sign-up-requests", "list"], &staff), None).await);
    assert_eq!(none, json!([]));

    // Each decision is audited under the staff member who made it.
    let audit = json_of(
        &cli(
            db,
            &with(
                &["audit", "--actor", &app.staff.login_id, "--limit", "10"],
                &staff,
            ),
            None,
        )
        .await,
    );
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "sandbox.decide",
        "app.resource_server",
        "app.certify",
        "app.review",
    ] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }
}
