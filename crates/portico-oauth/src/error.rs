//! The token service's errors, in RFC 6749 §5.2 terms. The HTTP layer maps them to responses in
//! one place; every oxide-auth failure is translated into one of these first.

use portico_domain::{DomainError, ScopeError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    /// `basic`: the client tried HTTP Basic, so the answer carries `WWW-Authenticate: Basic`.
    #[error("{description}")]
    InvalidClient { description: String, basic: bool },
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    InvalidScope(String),
    /// Something failed on our side; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Server(String),
}

impl OAuthError {
    /// The `error` code of the response body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::Server(_) => "server_error",
        }
    }

    /// 401 for client authentication failures, 500 for ours, 400 for the rest (§5.2).
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidClient { .. } => 401,
            Self::Server(_) => 500,
            _ => 400,
        }
    }

    /// The `error_description`: what the client can act on.
    pub fn description(&self) -> String {
        match self {
            Self::Server(_) => "the server could not complete the request; retry later".into(),
            other => other.to_string(),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::InvalidRequest(d.into())
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::InvalidGrant(d.into())
    }

    /// Unknown client and wrong secret answer alike.
    pub fn bad_client_credentials(basic: bool) -> Self {
        Self::InvalidClient {
            description: "client authentication failed".into(),
            basic,
        }
    }
}

impl From<ScopeError> for OAuthError {
    fn from(e: ScopeError) -> Self {
        match e {
            ScopeError::Malformed => Self::InvalidRequest(e.to_string()),
            other => Self::InvalidScope(other.to_string()),
        }
    }
}

impl From<DomainError> for OAuthError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Storage(detail) => Self::Server(detail),
            DomainError::Invalid { message, .. } => Self::InvalidRequest(message),
            DomainError::Unauthenticated(m) | DomainError::Forbidden(m) => Self::InvalidGrant(m),
            DomainError::NotFound { what } => Self::InvalidGrant(format!("{what} not found")),
            DomainError::Conflict { message, .. } => Self::InvalidGrant(message),
            e @ DomainError::TooManyAttempts { .. } => Self::InvalidGrant(e.to_string()),
            e @ DomainError::Stale { .. } => Self::InvalidGrant(e.to_string()),
        }
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;
