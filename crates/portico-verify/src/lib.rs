//! Verifies Portico access tokens in the platform's APIs (resource servers).
//!
//! - discovers the issuer (RFC 8414) and caches its JWKS, refetching on an unknown `kid`
//!   (single-flight, rate-limited) so key rotations need no restart;
//! - verifies RFC 9068 JWT access tokens against an asymmetric-only algorithm allow-list;
//! - optionally introspects tokens (RFC 7662) to see revocations at once, or follows Portico's
//!   revocation feed (Server-Sent Events) to refuse revoked tokens within a second while still
//!   verifying locally;
//! - accepts DPoP-bound tokens (RFC 9449, [`DpopConfig`]): proof checks, key binding, replay
//!   and optional server nonces; a bound token is never accepted as a bearer token;
//! - plugs into axum: [`VerifierLayer`], the [`AccessToken`] and [`Scoped`] extractors and the
//!   [`RequireScope`] and [`RequireDpop`] route layers, answering 401/403 per RFC 6750 and
//!   RFC 9449.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use portico_verify::{AccessToken, RequireScope, Verifier};
//!
//! async fn list_reports(token: AccessToken) -> String {
//!     format!("reports of {} in company {:?}", token.subject(), token.company_id())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder("https://portico.example.com")
//!     .audience("urn:portico:api")
//!     .build()
//!     .await?;
//! let app: Router = Router::new()
//!     .route(
//!         "/expense/reports",
//!         get(list_reports).route_layer(RequireScope::new("expense.report.read")),
//!     )
//!     .layer(verifier.layer());
//! # let _ = app;
//! # Ok(()) }
//! ```
//!
//! See `README.md` for more and `docs/tokens.md` for the token contract.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod claims;
mod config;
mod discovery;
mod dpop;
mod error;
mod extract;
mod feed;
mod http;
mod introspection;
mod jwks;
mod layer;
mod response;
mod sse;
mod verifier;

pub use claims::{Claims, PrincipalType, ScopeSet};
pub use config::VerifierBuilder;
pub use discovery::Metadata;
pub use dpop::{DpopConfig, MAX_PROOF_AGE};
pub use error::{ErrorClass, Rejection, VerifyError};
pub use extract::{AccessToken, ScopeName, Scoped};
pub use feed::{FeedDown, FeedStatus, RevocationFeedConfig};
pub use introspection::{IntrospectionConfig, MAX_INTROSPECTION_CACHE_TTL};
/// The signing algorithms, re-exported so callers need not depend on jsonwebtoken.
pub use jsonwebtoken::Algorithm;
pub use layer::{
    RequireDpop, RequireDpopService, RequireScope, RequireScopeService, VerifierLayer,
    VerifierService,
};
/// Why a DPoP proof was refused ([`VerifyError::InvalidProof`]).
pub use portico_jose::DpopError;
pub use verifier::{DEFAULT_AUDIENCE, Verifier};
