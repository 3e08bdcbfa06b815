//! Portico's HTTP surface. Each feature has a `router()`; handlers parse the request, call a
//! service, and map errors in one place per wire format ([`error::ApiError`] for the admin API).

pub mod admin;
pub mod auth;
pub mod client_addr;
pub mod console;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod oauth;

use axum::{Router, extract::DefaultBodyLimit, http::Request};
use portico_oauth::OAuthService;
use portico_registry::Registry;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Proxies whose `X-Forwarded-For` is believed (see [`client_addr`]).
    pub trusted_proxies: Vec<client_addr::TrustedProxy>,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub registry: Registry,
    pub oauth: OAuthService,
    pub readiness: Arc<dyn health::Readiness>,
    pub settings: Arc<HttpSettings>,
}

/// Where the metrics are: not recorded, recorded and served elsewhere (a listener of their
/// own), or recorded and served at `/metrics` here.
pub enum MetricsMount {
    Off,
    Elsewhere,
    Here(Arc<metrics::MetricsEndpoint>),
}

/// The whole application: every feature's router under one set of layers.
pub fn app(state: AppState, metrics: MetricsMount) -> Router {
    let limit = state.settings.max_body_bytes;
    let mut router = Router::new()
        .merge(health::router())
        .nest("/admin/v1", admin::router())
        .merge(console::router())
        .merge(oauth::router());
    if let MetricsMount::Here(endpoint) = &metrics {
        router = router.merge(metrics::router(endpoint.clone()));
    }
    if !matches!(metrics, MetricsMount::Off) {
        router = router.layer(axum::middleware::from_fn(metrics::track));
    }
    router
        .layer(DefaultBodyLimit::max(limit))
        // Log method and path only: query strings can carry codes and states.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(state)
}
