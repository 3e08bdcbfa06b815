//! `GET /metrics` in the Prometheus text format, and the per-request counts: requests by route
//! (the matched pattern, so ids never become labels), method and status, with a latency
//! histogram. The other crates record through the `metrics` facade; this module installs the
//! process's recorder and renders it.

use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, State},
    http::{HeaderMap, Request, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use metrics::{Counter, Histogram};
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use rustc_hash::FxHashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant};

/// Latency buckets (seconds) of every `*_seconds` histogram: from a cached token's fraction of
/// a millisecond to an argon2 run or a slow database.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// What `/metrics` serves: the recorder's handle, the token it asks for (if any), and the
/// gauges to sample just before rendering.
pub struct MetricsEndpoint {
    handle: PrometheusHandle,
    bearer: Option<String>,
    samplers: Vec<Box<dyn Fn() + Send + Sync>>,
}

impl MetricsEndpoint {
    /// Installs the process's recorder (once: a second call fails) and keeps its histograms
    /// drained in the background. Called before anything records: handles registered
    /// earlier would count nowhere.
    pub fn install_recorder() -> Result<PrometheusHandle, String> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .map_err(|e| e.to_string())?
            .install_recorder()
            .map_err(|e| e.to_string())?;
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(handle)
    }

    /// The endpoint over an installed recorder.
    pub fn new(
        handle: PrometheusHandle,
        bearer: Option<String>,
        samplers: Vec<Box<dyn Fn() + Send + Sync>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            handle,
            bearer: bearer.filter(|b| !b.is_empty()),
            samplers,
        })
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.bearer else {
            return true;
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compared as digests, in constant time.
        let a = portico_domain::TokenDigest::of(presented);
        let b = portico_domain::TokenDigest::of(expected);
        subtle::ConstantTimeEq::ct_eq(a.0.as_bytes(), b.0.as_bytes()).into()
    }
}

/// The `/metrics` route, for the main router or a listener of its own.
pub fn router<S: Clone + Send + Sync + 'static>(endpoint: Arc<MetricsEndpoint>) -> Router<S> {
    Router::new()
        .route("/metrics", get(render))
        .with_state(endpoint)
}

async fn render(State(endpoint): State<Arc<MetricsEndpoint>>, headers: HeaderMap) -> Response {
    if !endpoint.authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is needed for the metrics\n",
        )
            .into_response();
    }
    for sample in &endpoint.samplers {
        sample();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        endpoint.handle.render(),
    )
        .into_response()
}

/// Counts each request and its latency by route pattern, method and status.
pub async fn track(req: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let resp = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    ROUTES.record(route, method, resp.status().as_u16(), started.elapsed());
    resp
}

/// The handles of each route's series, registered once each: a request then costs a read lock
/// and two short lookups, not the recorder's key building and lookup.
#[derive(Default)]
struct RouteHandles {
    requests: FxHashMap<(&'static str, u16), Counter>,
    latency: FxHashMap<&'static str, Histogram>,
}

#[derive(Default)]
struct Routes(RwLock<FxHashMap<String, RouteHandles>>);

static ROUTES: LazyLock<Routes> = LazyLock::new(Routes::default);

impl Routes {
    fn record(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        let seconds = took.as_secs_f64();
        {
            let routes = self.0.read().unwrap_or_else(|e| e.into_inner());
            if let Some(h) = routes.get(route)
                && let (Some(c), Some(l)) =
                    (h.requests.get(&(method, status)), h.latency.get(method))
            {
                c.increment(1);
                l.record(seconds);
                return;
            }
        }
        let mut routes = self.0.write().unwrap_or_else(|e| e.into_inner());
        let h = routes.entry(route.to_owned()).or_default();
        h.requests
            .entry((method, status))
            .or_insert_with(|| {
                metrics::counter!(
                    "portico_http_requests_total",
                    "route" => route.to_owned(),
                    "method" => method,
                    "status" => status.to_string()
                )
            })
            .increment(1);
        h.latency
            .entry(method)
            .or_insert_with(|| {
                metrics::histogram!(
                    "portico_http_request_duration_seconds",
                    "route" => route.to_owned(),
                    "method" => method
                )
            })
            .record(seconds);
    }
}

/// The standard methods by name; anything else is one label, so junk methods add no series.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
