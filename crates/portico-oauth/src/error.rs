//! The token service's errors, in RFC 6749 §5.2 terms. The HTTP layer maps them to responses in
//! one place; every oxide-auth failure is translated into one of these first.

use portico_domain::{DomainError, OidcRequestError, ScopeError, TargetError};

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
    /// An authorization request's `response_type` other than `code` (RFC 6749 §4.1.2.1).
    #[error("{0}")]
    UnsupportedResponseType(String),
    /// RFC 9126 §4: a `request_uri` unknown, expired, used, or pushed by another client.
    #[error("{0}")]
    InvalidRequestUri(String),
    /// RFC 9449 §5: the DPoP proof is missing (where required), malformed, for another
    /// request, replayed, or made with another key than the token is bound to.
    #[error("{0}")]
    InvalidDpopProof(String),
    /// RFC 9449 §8: the server wants a proof with its nonce; `nonce` goes in `DPoP-Nonce`.
    #[error("the DPoP proof must carry the server's nonce (DPoP-Nonce)")]
    UseDpopNonce { nonce: String },
    /// RFC 8707 §2: a resource that is malformed, unknown, not granted, or that serves none of
    /// the scopes asked.
    #[error("{0}")]
    InvalidTarget(String),
    /// Too many failed attempts from this source (or, failing again, for this client): 429.
    #[error("too many failed attempts; retry in {retry_after_seconds} seconds")]
    TooManyAttempts { retry_after_seconds: u64 },
    /// The server cannot take the work now (the argon2 pool is full): 503. Nothing was done.
    #[error("the server is busy; retry in {retry_after_seconds} seconds")]
    Busy { retry_after_seconds: u64 },
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
            Self::UnsupportedResponseType(_) => "unsupported_response_type",
            Self::InvalidRequestUri(_) => "invalid_request_uri",
            Self::InvalidTarget(_) => "invalid_target",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::UseDpopNonce { .. } => "use_dpop_nonce",
            // OAuth has no rate-limit code; this one tells a client to come back later.
            Self::TooManyAttempts { .. } | Self::Busy { .. } => "temporarily_unavailable",
            Self::Server(_) => "server_error",
        }
    }

    /// 401 for client authentication failures, 500 for ours, 400 for the rest (§5.2).
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidClient { .. } => 401,
            Self::TooManyAttempts { .. } => 429,
            Self::Busy { .. } => 503,
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

    /// Seconds a 429 or 503 asks the client to wait (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyAttempts {
                retry_after_seconds,
            }
            | Self::Busy {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
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

impl From<TargetError> for OAuthError {
    fn from(e: TargetError) -> Self {
        Self::InvalidTarget(e.to_string())
    }
}

impl From<OidcRequestError> for OAuthError {
    fn from(e: OidcRequestError) -> Self {
        Self::InvalidRequest(e.to_string())
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
            DomainError::TooManyAttempts {
                retry_after_seconds,
            } => Self::TooManyAttempts {
                retry_after_seconds,
            },
            DomainError::Unavailable {
                retry_after_seconds,
            } => Self::Busy {
                retry_after_seconds,
            },
            e @ DomainError::Stale { .. } => Self::InvalidGrant(e.to_string()),
        }
    }
}

impl From<portico_guard::Saturated> for OAuthError {
    fn from(e: portico_guard::Saturated) -> Self {
        DomainError::from(e).into()
    }
}

pub type OAuthResult<T> = Result<T, OAuthError>;
