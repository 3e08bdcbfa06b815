//! The audit log: every admin change, who made it, to what, before and after. Never a secret:
//! the values recorded are the domain types, which carry no hashes or tokens.

use crate::{Actor, CompanyId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "company.create")]
    CompanyCreate,
    #[serde(rename = "company.update")]
    CompanyUpdate,
    #[serde(rename = "user.create")]
    UserCreate,
    #[serde(rename = "user.update")]
    UserUpdate,
    #[serde(rename = "app.register")]
    AppRegister,
    #[serde(rename = "app.modify")]
    AppModify,
    #[serde(rename = "app.new_secret")]
    AppNewSecret,
    #[serde(rename = "app.submit")]
    AppSubmit,
    #[serde(rename = "app.review")]
    AppReview,
    #[serde(rename = "app.visibility")]
    AppVisibility,
    #[serde(rename = "app.resource_server")]
    AppResourceServer,
    #[serde(rename = "enablement.set")]
    EnablementSet,
    #[serde(rename = "request_token.create")]
    RequestTokenCreate,
    #[serde(rename = "connection.disconnect")]
    ConnectionDisconnect,
    #[serde(rename = "app.certify")]
    AppCertify,
    #[serde(rename = "sandbox.sign_up")]
    SandboxSignUp,
    #[serde(rename = "sandbox.decide")]
    SandboxDecide,
    #[serde(rename = "session.sign_in")]
    SignIn,
    #[serde(rename = "session.sign_in_failed")]
    SignInFailed,
    #[serde(rename = "keys.rotate")]
    KeysRotate,
    #[serde(rename = "token.revoke")]
    TokenRevoke,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CompanyCreate => "company.create",
            Self::CompanyUpdate => "company.update",
            Self::UserCreate => "user.create",
            Self::UserUpdate => "user.update",
            Self::AppRegister => "app.register",
            Self::AppModify => "app.modify",
            Self::AppNewSecret => "app.new_secret",
            Self::AppSubmit => "app.submit",
            Self::AppReview => "app.review",
            Self::AppVisibility => "app.visibility",
            Self::AppResourceServer => "app.resource_server",
            Self::EnablementSet => "enablement.set",
            Self::RequestTokenCreate => "request_token.create",
            Self::ConnectionDisconnect => "connection.disconnect",
            Self::AppCertify => "app.certify",
            Self::SandboxSignUp => "sandbox.sign_up",
            Self::SandboxDecide => "sandbox.decide",
            Self::SignIn => "session.sign_in",
            Self::SignInFailed => "session.sign_in_failed",
            Self::KeysRotate => "keys.rotate",
            Self::TokenRevoke => "token.revoke",
        }
    }
}

/// One change to record, written in the same transaction as the change itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    /// None for changes made by the system itself (first-run sandbox, CLI bootstrap).
    pub actor_user_id: Option<UserId>,
    pub actor_login: String,
    /// The company whose data changed.
    pub company_id: Option<CompanyId>,
    pub action: AuditAction,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// The address the request came from (behind trusted proxies, the forwarded one), when
    /// the change came over the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl AuditEvent {
    /// An event for `actor` changing `target` of `company`, with before/after snapshots.
    pub fn new<B: Serialize, A: Serialize>(
        actor: Option<&Actor>,
        company: Option<CompanyId>,
        action: AuditAction,
        target: (&str, String),
        before: Option<&B>,
        after: Option<&A>,
    ) -> Self {
        Self {
            at: Utc::now(),
            actor_user_id: actor.map(|a| a.user_id),
            actor_login: actor.map_or_else(|| "system".to_owned(), |a| a.login_id.clone()),
            company_id: company,
            action,
            target_type: target.0.to_owned(),
            target_id: target.1,
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: after.and_then(|a| serde_json::to_value(a).ok()),
            source: actor.and_then(|a| a.source.map(|s| s.to_string())),
        }
    }

    /// The event, as coming from `source`.
    pub fn from_source(mut self, source: std::net::IpAddr) -> Self {
        self.source = Some(source.to_string());
        self
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// Which part of the log to read: newest first, `limit` entries older than `before_id`.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub company_id: Option<CompanyId>,
    pub before_id: Option<i64>,
    pub limit: u64,
}
