//! Building and running the server: connect and migrate the store, load the catalog, make the
//! first-run sandbox, bind the listener (port 0 picks a free port; tests read it back).

use crate::config::{Config, ConfigError};
use portico_domain::{ApiCatalog, CatalogError, DomainError, FailureBudget};
use portico_http::{
    AppState, HttpSettings, MetricsMount, health::Readiness, metrics::MetricsEndpoint,
};
use portico_oauth::{OAuthService, OAuthSettings, PushedAuthorizationSettings, keys::MasterKey};
use portico_registry::{Registry, RegistrySettings, Sandbox};
use portico_store::Store;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("API catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Domain(#[from] DomainError),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("token service: {0}")]
    OAuth(#[from] portico_oauth::StartError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("metrics: {0}")]
    Metrics(String),
}

/// A built server, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    port: u16,
    public_url: String,
    sandbox: Option<Sandbox>,
    /// Told on shutdown, so the revocation feed's open streams end and the server can stop.
    oauth: OAuthService,
    _listener_task: Option<tokio::task::JoinHandle<()>>,
    _housekeeping: tokio::task::JoinHandle<()>,
    _metrics_task: Option<tokio::task::JoinHandle<()>>,
}

/// Loads the catalog named by the configuration; a malformed one names file and line.
pub fn load_catalog(config: &Config) -> Result<ApiCatalog, StartupError> {
    let (file, text) = config.catalog_source()?;
    Ok(ApiCatalog::parse(&file, &text)?)
}

/// The most connections a SQLite pool gets. SQLite lets one connection write at a time, each
/// connection is a thread that every statement hops to and back, and a write makes every other
/// connection re-read the pages it changed: measured on two cores, a pool of 8 spent about a
/// quarter more CPU per refresh than a pool of 2, for fewer tokens per second. Token reads are
/// served from caches, so two connections (one can wait on the other) are enough.
const SQLITE_MAX_CONNECTIONS: u32 = 2;

/// Connects to the configured database and applies pending migrations.
pub async fn open_store(config: &Config) -> Result<Store, StartupError> {
    let mut pool = config.database.max_connections;
    if config.database.url.starts_with("sqlite:") && pool > SQLITE_MAX_CONNECTIONS {
        tracing::debug!(
            configured = pool,
            used = SQLITE_MAX_CONNECTIONS,
            "SQLite: database pool capped"
        );
        pool = SQLITE_MAX_CONNECTIONS;
    }
    let wait = std::time::Duration::from_millis(config.database.acquire_timeout_ms.max(1));
    let store = Store::connect_with(&config.database.url, pool, wait).await?;
    store.migrate().await?;
    Ok(store)
}

pub fn registry(config: &Config, store: Store, catalog: ApiCatalog) -> Registry {
    Registry::new(
        Arc::new(store),
        Arc::new(catalog),
        registry_settings(config),
    )
}

fn registry_settings(config: &Config) -> RegistrySettings {
    RegistrySettings {
        session_ttl: chrono::Duration::seconds(config.admin.session_ttl_seconds as i64),
        max_secret_grace: chrono::Duration::seconds(config.admin.max_secret_grace_seconds as i64),
        sign_in_failures: FailureBudget::new(
            config.limits.sign_in_failures_burst,
            config.limits.sign_in_failures_per_minute,
        ),
        request_token_ttl: chrono::Duration::seconds(
            config.tokens.request_token_ttl_seconds.into(),
        ),
        sign_up: portico_registry::SignUpSettings {
            mode: config.signup.mode,
            domain_suffix: config.signup.domain_suffix.clone(),
            per_source: FailureBudget {
                burst: config.signup.per_source_burst,
                interval_ms: 3_600_000 / i64::from(config.signup.per_source_per_hour),
            },
        },
    }
}

/// The master key that seals signing keys: from the configuration, or (sandbox) generated once
/// and kept in `master_key_file`, with a loud warning.
pub fn master_key(config: &Config) -> Result<MasterKey, StartupError> {
    let bad = |e: &dyn std::fmt::Display| StartupError::MasterKey(e.to_string());
    if !config.master_key.is_empty() {
        return MasterKey::from_base64(&config.master_key).map_err(|e| bad(&e));
    }
    let path = &config.master_key_file;
    let encoded = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let encoded = MasterKey::generate_base64();
            match write_secret_file(path, &encoded) {
                Ok(()) => encoded,
                // Another process started at the same moment and made the key first: use it.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path)?,
                Err(e) => {
                    return Err(StartupError::MasterKey(format!("{}: {e}", path.display())));
                }
            }
        }
        Err(e) => return Err(StartupError::MasterKey(format!("{}: {e}", path.display()))),
    };
    tracing::warn!(
        file = %path.display(),
        "NO MASTER KEY CONFIGURED: signing keys are sealed with a generated key kept in this file. \
         Set PORTICO_MASTER_KEY (32 random bytes, base64) in production."
    );
    MasterKey::from_base64(&encoded).map_err(|e| bad(&e))
}

/// Reads a key file written by another process, waiting briefly if it is still being written.
fn read_key_file(path: &std::path::Path) -> Result<String, StartupError> {
    for _ in 0..50 {
        match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => return Ok(text),
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(e) => return Err(StartupError::MasterKey(format!("{}: {e}", path.display()))),
        }
    }
    Err(StartupError::MasterKey(format!(
        "{}: empty",
        path.display()
    )))
}

/// Creates `path` readable by its owner only.
fn write_secret_file(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content.as_bytes())
}

pub fn oauth_settings(config: &Config, issuer: String) -> OAuthSettings {
    let t = &config.tokens;
    OAuthSettings {
        issuer,
        audience: t.audience.clone(),
        signing_algorithm: t.signing_algorithm,
        access_token_ttl: t.access_token_ttl_seconds.into(),
        refresh_token_ttl: t.refresh_token_ttl_seconds.into(),
        refresh_grace: t.refresh_grace_seconds.into(),
        refresh_reuse_detection: t.refresh_reuse_detection_seconds.into(),
        authorization_code_ttl: t.authorization_code_ttl_seconds.into(),
        revocation_cache_entries: config.limits.revocation_cache_entries,
        client_failures: FailureBudget::new(
            config.limits.client_failures_burst,
            config.limits.client_failures_per_minute,
        ),
        dpop: portico_oauth::settings::DpopSettings {
            require_nonce: config.dpop.require_nonce,
            max_age: config.dpop.proof_max_age_seconds.into(),
        },
        par: PushedAuthorizationSettings {
            required: config.tokens.require_pushed_authorization_requests,
            lifetime: config.tokens.par_lifetime_seconds.into(),
        },
    }
}

struct DatabaseReadiness(Store);

#[async_trait::async_trait]
impl Readiness for DatabaseReadiness {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

/// glibc's malloc raises its mmap threshold to the size of any large block freed, so after the
/// first argon2 run (19 MiB) the next ones are carved from the heap arenas and stay resident
/// when freed: a few sign-ins grew the server to hundreds of MiB. A fixed threshold keeps
/// blocks of 1 MiB and more in their own mappings, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: mallopt only sets an allocator parameter; any value is accepted or refused.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

/// Installs the metrics recorder if configured, and serves `/metrics` on its own listener if
/// one is configured (the task), or says to mount it on the main router.
async fn metrics(
    config: &Config,
    recorder: Option<portico_http::metrics::PrometheusHandle>,
    store: &Store,
    oauth: &OAuthService,
) -> Result<(MetricsMount, Option<tokio::task::JoinHandle<()>>), StartupError> {
    let m = &config.metrics;
    let Some(recorder) = recorder else {
        return Ok((MetricsMount::Off, None));
    };
    let (store, oauth) = (store.clone(), oauth.clone());
    let samplers: Vec<Box<dyn Fn() + Send + Sync>> = vec![
        Box::new(move || store.sample_metrics()),
        Box::new(move || oauth.sample_metrics()),
        Box::new(|| portico_guard::argon::pool().sample_metrics()),
    ];
    let bearer = Some(m.bearer_token.clone()).filter(|t| !t.is_empty());
    let endpoint = MetricsEndpoint::new(recorder, bearer, samplers);
    let Some(addr) = m.bind_addr()? else {
        return Ok((MetricsMount::Here(endpoint), None));
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    tracing::info!(%addr, "metrics served on their own listener");
    let app = portico_http::metrics::router::<()>(endpoint);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
    Ok((MetricsMount::Elsewhere, Some(task)))
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        return_large_blocks_to_the_system();
        // First: what records before the recorder exists counts nowhere.
        let recorder = if config.metrics.enabled {
            if config.metrics.per_app {
                portico_oauth::telemetry::count_per_app(config.metrics.per_app_max);
            }
            Some(MetricsEndpoint::install_recorder().map_err(StartupError::Metrics)?)
        } else {
            None
        };
        portico_guard::argon::configure(config.limits.argon2_workers(), config.limits.argon2_queue);
        let catalog = Arc::new(load_catalog(&config)?);
        let master = master_key(&config)?;
        let store = open_store(&config).await?;
        let registry = Registry::new(
            Arc::new(store.clone()),
            catalog.clone(),
            registry_settings(&config),
        );
        let sandbox = if config.sandbox.enabled {
            registry.ensure_sandbox().await?
        } else {
            None
        };
        let listener_task = store.listen_for_changes();

        let addr = config.bind_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(addr.port());
        let public_url = if config.server.public_url.is_empty() {
            format!("http://{}:{port}", addr.ip())
        } else {
            config.server.public_url.trim_end_matches('/').to_owned()
        };
        let oauth = OAuthService::start(
            oauth_settings(&config, public_url.clone()),
            Arc::new(store.clone()),
            catalog,
            registry.password_check(),
            master,
        )
        .await?;
        let housekeeping = registry.spawn_housekeeping();
        let (metrics, metrics_task) = metrics(&config, recorder, &store, &oauth).await?;
        let state = AppState {
            registry,
            oauth: oauth.clone(),
            readiness: Arc::new(DatabaseReadiness(store)),
            settings: Arc::new(HttpSettings {
                secure_cookies: public_url.starts_with("https://"),
                max_body_bytes: config.server.max_body_bytes,
                trusted_proxies: config.limits.trusted_proxies()?,
            }),
        };
        tracing::info!(%public_url, "portico is ready");
        Ok(Self {
            listener,
            router: portico_http::app(state, metrics),
            port,
            public_url,
            sandbox,
            oauth,
            _listener_task: listener_task,
            _housekeeping: housekeeping,
            _metrics_task: metrics_task,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL clients reach this server at (the token issuer).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The address this process listens on, as a URL.
    pub fn local_url(&self) -> String {
        match self.listener.local_addr() {
            Ok(addr) => format!("http://{addr}"),
            Err(_) => self.public_url.clone(),
        }
    }

    /// The accounts the first run created, with their one-time passwords (None after the first
    /// run, or with the sandbox turned off).
    pub fn take_sandbox(&mut self) -> Option<Sandbox> {
        self.sandbox.take()
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // The peer address feeds the abuse limits (see portico_http::client_addr).
        let app = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let oauth = self.oauth;
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                // Endless streams would keep the graceful shutdown waiting forever.
                oauth.close_feeds();
            })
            .await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_first_starts_share_one_generated_master_key() {
        let dir =
            std::env::temp_dir().join(format!("portico-key-{}", uuid::Uuid::new_v4().simple()));
        let mut config = Config::load_with_env(None, |_| None).unwrap();
        config.master_key_file = dir.join("data/master.key");
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let c = config.clone();
                std::thread::spawn(move || master_key(&c).is_ok())
            })
            .collect();
        assert!(starts.into_iter().all(|s| s.join().unwrap()));
        let written = std::fs::read_to_string(&config.master_key_file).unwrap();
        assert!(MasterKey::from_base64(&written).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&config.master_key_file)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
