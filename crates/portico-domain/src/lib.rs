//! Portico's domain: companies, users, partner apps, the API catalog, enablement, scope
//! resolution and permissions, as plain types and rules with no I/O. Storage is described by
//! the traits in [`repo`] and implemented elsewhere.

mod abuse;
mod app;
mod audit;
mod catalog;
mod change;
mod client_auth;
mod company;
mod connection;
mod eligibility;
mod error;
mod ids;
mod oidc;
mod permission;
pub mod repo;
mod resource;
mod sandbox;
#[cfg(feature = "openapi")]
pub mod schema;
mod scope;
pub mod secret;
mod token;
mod user;
mod validate;
mod version;

pub use abuse::{FailureBudget, FailureKey};
pub use app::{
    AppChanges, AppRegistration, AppSpec, GrantType, IdTokenAlgorithm, PartnerApp,
    RedirectUriError, Review, ReviewDecision, ReviewStatus, Visibility, normalize_redirect_uri,
    validate_redirect_uri,
};
pub use audit::{AuditAction, AuditEntry, AuditEvent, AuditQuery};
pub use catalog::{ApiCatalog, ApiSelection, CatalogError, SensitiveDataGroup, WebServiceApi};
pub use change::{Change, Notice};
pub use client_auth::{ClientAuthMethod, ClientSecurity, ClientSecurityChanges, MAX_CLIENT_KEYS};
pub use company::{Company, CompanyChanges, Edition, NewCompany};
pub use connection::{
    Connection, ConnectionFilter, MAX_CONNECTIONS_LISTED, RememberedConsent, consent_after_allow,
    consent_covers,
};
pub use eligibility::{
    Asked, GrantScope, Ineligible, NotEnabled, Principal, Standing, app_serves, grant_scope,
    grantable_scopes, may_serve, offered_scopes, owner_serves, scope_of, scope_with_identity,
    standing,
};
pub use error::{DomainError, DomainResult};
pub use ids::{AppId, CompanyId, UserId};
pub use oidc::{
    IDENTITY_SCOPES, Identity, MAX_NONCE_LEN, OidcRequestError, Prompt, SignInNeed, check_nonce,
    parse_max_age, sign_in_need,
};
pub use permission::Actor;
pub use resource::{
    MAX_RESOURCE_LEN, MAX_RESOURCES, Target, TargetError, join_resources, resolve_target,
    split_resources, validate_resource,
};
pub use sandbox::{
    SandboxDecision, SandboxRequest, SandboxRequestStatus, SandboxSignUp, SignUpMode, SignUpPath,
    ValidSignUp, sample_app,
};
pub use scope::{ScopeError, ScopeSet, narrow_scope, resolve_scope};
pub use secret::{PlainSecret, TokenDigest};
pub use token::{
    AuthorizationCodeRecord, CodeRedemption, PrincipalType, RefreshTokenRecord, RequestTokenRecord,
    Rotation, SigningKeyRecord, TokenGrant,
};
pub use user::{NewUser, Permissions, User, UserChanges, validate_login_id, validate_password};
pub use version::IfVersion;
