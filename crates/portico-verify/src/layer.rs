//! tower layers: [`VerifierLayer`] makes the verifier available to the extractors,
//! [`RequireScope`] guards routes by scope, [`RequireDpop`] refuses bearer tokens on a route.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tower::{Layer, Service};

use crate::extract::{DPOP, authenticate};
use crate::response::DPOP_NONCE;
use crate::verifier::{Verifier, now_secs};

/// Puts a [`Verifier`] into every request's extensions. Add it with `Router::layer` *after*
/// (outside of) any [`RequireScope`] `route_layer`, so it runs first.
#[derive(Debug, Clone)]
pub struct VerifierLayer {
    verifier: Verifier,
}

impl VerifierLayer {
    /// A layer sharing `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl Verifier {
    /// Shorthand for [`VerifierLayer::new`].
    pub fn layer(&self) -> VerifierLayer {
        VerifierLayer::new(self.clone())
    }
}

impl<S> Layer<S> for VerifierLayer {
    type Service = VerifierService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        VerifierService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service of [`VerifierLayer`].
#[derive(Debug, Clone)]
pub struct VerifierService<S> {
    inner: S,
    verifier: Verifier,
}

/// With DPoP nonces, every response to a request that carries a `DPoP` header gets a fresh
/// `DPoP-Nonce` (RFC 9449 §9), so that clients switch to the new nonce before the old one
/// expires instead of collecting a `use_dpop_nonce` error first. Other requests pass through
/// without an allocation.
impl<S, B, ResBody> Service<Request<B>> for VerifierService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let nonce = match self.verifier.dpop() {
            Some(dpop) if dpop.uses_nonces() && request.headers().contains_key(DPOP) => dpop
                .fresh_nonce(now_secs())
                .and_then(|n| HeaderValue::from_str(&n).ok()),
            _ => None,
        };
        request.extensions_mut().insert(self.verifier.clone());
        let future = self.inner.call(request);
        match nonce {
            None => Either::Left(future),
            Some(nonce) => Either::Right(Box::pin(async move {
                let mut response = future.await?;
                // A use_dpop_nonce answer already has one.
                response.headers_mut().entry(DPOP_NONCE).or_insert(nonce);
                Ok(response)
            })),
        }
    }
}

/// Lets a request through only with a valid token carrying `scope`; answers 401/403 itself
/// otherwise. The verified [`AccessToken`](crate::AccessToken) is left in the extensions, so
/// the handler's extractor does not verify again.
///
/// ```no_run
/// # use axum::{Router, routing::get};
/// # use portico_verify::{RequireScope, Verifier};
/// # async fn list_reports() -> &'static str { "[]" }
/// # async fn demo() -> Result<(), portico_verify::VerifyError> {
/// let verifier = Verifier::builder("https://portico.example.com").build().await?;
/// let app: Router = Router::new()
///     .route(
///         "/expense/reports",
///         get(list_reports).route_layer(RequireScope::new("expense.report.read")),
///     )
///     .layer(verifier.layer());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RequireScope {
    scope: Arc<str>,
}

impl RequireScope {
    /// Requires `scope`.
    pub fn new(scope: impl Into<Arc<str>>) -> Self {
        Self {
            scope: scope.into(),
        }
    }
}

impl<S> Layer<S> for RequireScope {
    type Service = RequireScopeService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireScopeService {
            inner,
            scope: Arc::clone(&self.scope),
        }
    }
}

/// The service of [`RequireScope`].
#[derive(Debug, Clone)]
pub struct RequireScopeService<S> {
    inner: S,
    scope: Arc<str>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> Service<Request<B>> for RequireScopeService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let scope = Arc::clone(&self.scope);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let authorized = match authenticate(&mut parts, false).await {
                Ok(token) => token.require_scope_rejection(&scope),
                Err(e) => Err(e),
            };
            match authorized {
                Ok(()) => inner
                    .call(Request::from_parts(parts, body))
                    .await
                    .map(IntoResponse::into_response),
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

/// Lets a request through only with a DPoP-bound token and a valid proof: bearer tokens get
/// 401 with a DPoP challenge, as with [`DpopConfig::required`](crate::DpopConfig::required) but
/// for one route. The verifier must have a [`DpopConfig`](crate::DpopConfig) (500 otherwise).
/// Add it as the outermost `route_layer` (last), so that a request without a token is
/// challenged for DPoP only.
///
/// ```no_run
/// # use axum::{Router, routing::get};
/// # use portico_verify::{DpopConfig, RequireDpop, RequireScope, Verifier};
/// # async fn passport() -> &'static str { "{}" }
/// # async fn demo() -> Result<(), portico_verify::VerifyError> {
/// let verifier = Verifier::builder("https://portico.example.com")
///     .dpop(DpopConfig::new("https://api.example.com"))
///     .build()
///     .await?;
/// let app: Router = Router::new()
///     .route(
///         "/travel/passport",
///         get(passport)
///             .route_layer(RequireScope::new("travel.profile.passport"))
///             .route_layer(RequireDpop),
///     )
///     .layer(verifier.layer());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RequireDpop;

impl<S> Layer<S> for RequireDpop {
    type Service = RequireDpopService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireDpopService { inner }
    }
}

/// The service of [`RequireDpop`].
#[derive(Debug, Clone)]
pub struct RequireDpopService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RequireDpopService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match authenticate(&mut parts, true).await {
                Ok(_) => inner
                    .call(Request::from_parts(parts, body))
                    .await
                    .map(IntoResponse::into_response),
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
