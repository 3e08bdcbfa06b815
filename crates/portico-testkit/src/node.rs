//! A running `portico serve` process on port 0, and what it printed before it was ready.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The workspace's API catalog, `config/apis.toml`.
pub fn catalog_path() -> PathBuf {
    workspace_root().join("config/apis.toml")
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the kit lives in crates/portico-testkit")
}

/// A random master key for a test server (32 bytes, base64).
pub fn random_master_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2))
}

/// A running `portico serve` process; killed when dropped.
pub struct Node {
    pub base: String,
    child: Child,
    /// What the process printed before it was ready (the sandbox accounts, on a first run).
    pub banner: Vec<String>,
}

impl Node {
    /// Starts `bin serve` (the test binary's `env!("CARGO_BIN_EXE_portico")`) on a free port
    /// with `database_url`, the given master key and any `PORTICO_*` overrides; returns once it
    /// listens.
    pub async fn start(
        bin: &str,
        database_url: &str,
        master_key: &str,
        overrides: &[(&str, &str)],
    ) -> Node {
        let workdir =
            std::env::temp_dir().join(format!("portico-node-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&workdir).unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .current_dir(&workdir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORTICO_DATABASE_URL", database_url)
            .env("PORTICO_SERVER_BIND", "127.0.0.1:0")
            .env("PORTICO_CATALOG_PATH", catalog_path())
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
