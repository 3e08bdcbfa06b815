//! Configuration: the built-in defaults (`config/default.toml`), then the file given with
//! `--config`, then `PORTICO_*` environment variables, one per key.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

const DEFAULTS: &str = include_str!("../config/default.toml");
const DEFAULT_CATALOG: &str = include_str!("../config/apis.toml");
const DEFAULT_CONFIG_PATH: &str = "config/default.toml";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub master_key: String,
    pub master_key_file: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub catalog: CatalogConfig,
    pub sandbox: SandboxConfig,
    pub signup: SignUpConfig,
    pub admin: AdminConfig,
    pub tokens: TokensConfig,
    pub dpop: DpopConfig,
    pub limits: LimitsConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub client_failures_burst: u32,
    pub client_failures_per_minute: u32,
    pub sign_in_failures_burst: u32,
    pub sign_in_failures_per_minute: u32,
    /// 0: one per two cores.
    pub argon2_workers: usize,
    pub argon2_queue: usize,
    pub revocation_cache_entries: usize,
    /// Comma-separated addresses or CIDR blocks.
    pub trusted_proxies: String,
}

impl LimitsConfig {
    pub fn argon2_workers(&self) -> usize {
        match self.argon2_workers {
            0 => (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1),
            n => n,
        }
    }

    pub fn trusted_proxies(
        &self,
    ) -> Result<Vec<portico_http::client_addr::TrustedProxy>, ConfigError> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|e| ConfigError::Invalid(format!("limits.trusted_proxies: {e}")))
            })
            .collect()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub public_url: String,
    pub max_body_bytes: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    pub path: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    pub enabled: bool,
}

/// Prometheus metrics at `/metrics`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Empty: on the main listener; else an address of its own (`127.0.0.1:9464`).
    pub bind: String,
    /// Empty: no token asked for.
    pub bearer_token: String,
    pub per_app: bool,
    pub per_app_max: usize,
}

impl MetricsConfig {
    pub fn bind_addr(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        if self.bind.is_empty() {
            return Ok(None);
        }
        self.bind
            .parse()
            .map(Some)
            .map_err(|e| ConfigError::Invalid(format!("metrics.bind: {e}")))
    }
}

/// Sandbox sign-up by developers (the developer program).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpConfig {
    pub mode: portico_domain::SignUpMode,
    pub domain_suffix: String,
    pub per_source_burst: u32,
    pub per_source_per_hour: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub session_ttl_seconds: u64,
    pub max_secret_grace_seconds: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    pub audience: String,
    pub signing_algorithm: portico_oauth::SigningAlgorithm,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub refresh_grace_seconds: u32,
    pub refresh_reuse_detection_seconds: u32,
    pub authorization_code_ttl_seconds: u32,
    pub request_token_ttl_seconds: u32,
    /// RFC 9126: every authorization request must be pushed first.
    pub require_pushed_authorization_requests: bool,
    /// The `expires_in` of a pushed request's `request_uri`.
    pub par_lifetime_seconds: u32,
}

/// DPoP proofs at the token endpoint (RFC 9449).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopConfig {
    pub require_nonce: bool,
    pub proof_max_age_seconds: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the configuration. `path` None means `config/default.toml` if it exists.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(path, |k| std::env::var(k).ok())
    }

    pub fn load_with_env(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table: Table = DEFAULTS.parse().expect("the built-in defaults parse");
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
        };
        if let Some(file) = file {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|e| ConfigError::File {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            let overlay: Table = text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::File {
                    message: describe_toml_error(&text, &e),
                    path: shown.clone(),
                })?;
            merge(&mut table, overlay, &shown, "")?;
        }
        apply_env(&mut table, &[], &env)?;
        let config: Config = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        self.metrics.bind_addr()?;
        if self.signup.per_source_burst == 0 || self.signup.per_source_per_hour == 0 {
            return Err(ConfigError::Invalid(
                "signup.per_source_burst and signup.per_source_per_hour must be at least 1".into(),
            ));
        }
        portico_domain::NewCompany {
            name: "x".into(),
            domain: format!("x.{}", self.signup.domain_suffix),
            edition: portico_domain::Edition::Standard,
            development_partner: true,
            own_use_apps: false,
        }
        .validate()
        .map_err(|_| {
            ConfigError::Invalid(
                "signup.domain_suffix must be a DNS name such as sandbox.example.com".into(),
            )
        })?;
        let url = &self.server.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid(
                "server.public_url must start with http:// or https://".into(),
            ));
        }
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"))
        {
            return Err(ConfigError::Invalid(
                "database.url must be sqlite://<path> or postgres://...".into(),
            ));
        }
        self.limits.trusted_proxies()?;
        let l = &self.limits;
        if l.client_failures_burst == 0
            || l.client_failures_per_minute == 0
            || l.sign_in_failures_burst == 0
            || l.sign_in_failures_per_minute == 0
            || l.revocation_cache_entries == 0
        {
            return Err(ConfigError::Invalid(
                "limits: failure budgets and revocation_cache_entries must be positive".into(),
            ));
        }
        let t = &self.tokens;
        if t.access_token_ttl_seconds == 0
            || t.refresh_token_ttl_seconds == 0
            || t.refresh_reuse_detection_seconds == 0
            || t.authorization_code_ttl_seconds == 0
            || t.request_token_ttl_seconds == 0
            || t.par_lifetime_seconds == 0
        {
            return Err(ConfigError::Invalid(
                "tokens.*_ttl_seconds and tokens.par_lifetime_seconds must be positive".into(),
            ));
        }
        if t.par_lifetime_seconds > 600 {
            return Err(ConfigError::Invalid(
                "tokens.par_lifetime_seconds: at most 600 (a request_uri is used at once)".into(),
            ));
        }
        if t.refresh_grace_seconds > 60 {
            return Err(ConfigError::Invalid(
                "tokens.refresh_grace_seconds: at most 60 (a lost answer is retried at once)"
                    .into(),
            ));
        }
        if !(5..=600).contains(&self.dpop.proof_max_age_seconds) {
            return Err(ConfigError::Invalid(
                "dpop.proof_max_age_seconds: between 5 and 600 (a proof is made per request)"
                    .into(),
            ));
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<std::net::SocketAddr, ConfigError> {
        self.server
            .bind
            .parse()
            .map_err(|e| ConfigError::Invalid(format!("server.bind '{}': {e}", self.server.bind)))
    }

    /// The catalog's file name and text: the configured file, or the built-in catalog when the
    /// default path does not exist.
    pub fn catalog_source(&self) -> Result<(String, String), ConfigError> {
        let path = &self.catalog.path;
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((shown, text)),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && path == Path::new("config/apis.toml") =>
            {
                Ok(("(built-in) config/apis.toml".into(), DEFAULT_CATALOG.into()))
            }
            Err(e) => Err(ConfigError::File {
                path: shown,
                message: e.to_string(),
            }),
        }
    }
}

fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => format!(
            "line {}: {}",
            text[..span.start.min(text.len())].matches('\n').count() + 1,
            e.message().trim()
        ),
        None => e.message().trim().to_owned(),
    }
}

/// Lays `overlay` over `base`; a key the defaults do not know is an error (a typo would
/// otherwise be silently ignored).
fn merge(base: &mut Table, overlay: Table, file: &str, prefix: &str) -> Result<(), ConfigError> {
    for (k, v) in overlay {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o, file, &key)?,
            (Some(slot), v) if !slot.is_table() => *slot = v,
            _ => {
                return Err(ConfigError::File {
                    path: file.to_owned(),
                    message: format!("unknown key '{key}'"),
                });
            }
        }
    }
    Ok(())
}

/// `PORTICO_<PATH>` for every leaf key, parsed as the default's type.
fn apply_env(
    table: &mut Table,
    path: &[&str],
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (k, v) in table.iter_mut() {
        let mut p = path.to_vec();
        p.push(k);
        if let Value::Table(t) = v {
            apply_env(t, &p, env)?;
            continue;
        }
        let var = format!("PORTICO_{}", p.join("_").to_uppercase());
        let Some(raw) = env(&var) else { continue };
        let bad = |what: &str| ConfigError::Env {
            var: var.clone(),
            message: format!("'{raw}' is not {what}"),
        };
        *v = match v {
            Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
            Value::Boolean(_) => Value::Boolean(match raw.trim() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(bad("a boolean")),
            }),
            Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?),
            _ => Value::String(raw),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_with_env(Some(Path::new("config/default.toml")), |k| {
            vars.get(k).cloned()
        })
    }

    #[test]
    fn defaults_load() {
        let c = load(&[]).unwrap();
        assert_eq!(c.database.url, "sqlite://data/portico.db");
        assert!(c.sandbox.enabled);
    }

    #[test]
    fn every_key_has_an_env_override() {
        let c = load(&[
            ("PORTICO_DATABASE_URL", "postgres://x@127.0.0.1/y"),
            ("PORTICO_SANDBOX_ENABLED", "false"),
            ("PORTICO_DATABASE_MAX_CONNECTIONS", "3"),
            ("PORTICO_MASTER_KEY", "abc"),
            ("PORTICO_LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(c.database.url, "postgres://x@127.0.0.1/y");
        assert!(!c.sandbox.enabled);
        assert_eq!(c.database.max_connections, 3);
        assert_eq!(c.master_key, "abc");
        assert_eq!(c.log.format, LogFormat::Json);
        let e = load(&[("PORTICO_SANDBOX_ENABLED", "maybe")]).unwrap_err();
        assert!(e.to_string().contains("PORTICO_SANDBOX_ENABLED"), "{e}");
    }

    #[test]
    fn pushed_authorization_settings_are_bounded() {
        let c = load(&[]).unwrap();
        assert_eq!(c.tokens.par_lifetime_seconds, 60);
        assert!(!c.tokens.require_pushed_authorization_requests);
        let c = load(&[(
            "PORTICO_TOKENS_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS",
            "true",
        )])
        .unwrap();
        assert!(c.tokens.require_pushed_authorization_requests);
        for bad in ["0", "601"] {
            let e = load(&[("PORTICO_TOKENS_PAR_LIFETIME_SECONDS", bad)]).unwrap_err();
            assert!(e.to_string().contains("par_lifetime_seconds"), "{e}");
        }
    }

    #[test]
    fn file_overlays_and_unknown_keys_fail() {
        let dir = std::env::temp_dir().join(format!("portico-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(&f, "[server]\nbind = \"127.0.0.1:9999\"\n").unwrap();
        let c = Config::load_with_env(Some(&f), |_| None).unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:9999");
        assert_eq!(c.database.url, "sqlite://data/portico.db");
        std::fs::write(&f, "[server]\nbnd = \"x\"\n").unwrap();
        let e = Config::load_with_env(Some(&f), |_| None).unwrap_err();
        assert!(e.to_string().contains("unknown key 'server.bnd'"), "{e}");
        std::fs::write(&f, "[server\n").unwrap();
        let e = Config::load_with_env(Some(&f), |_| None).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
