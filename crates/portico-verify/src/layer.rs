//! tower layers: [`VerifierLayer`] makes the verifier available to the extractors,
//! [`RequireScope`] guards routes by scope.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::extract::authenticate;
use crate::verifier::Verifier;

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

impl<S, B> Service<Request<B>> for VerifierService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.verifier.clone());
        self.inner.call(request)
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
            let authorized = match authenticate(&mut parts).await {
                Ok(token) => token.require_scope(&scope),
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
