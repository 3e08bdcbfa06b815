//! The one error type of the domain. Every layer above maps it to its own wire format in
//! exactly one place (the admin API to JSON with a status, the console to a page, the CLI to
//! a message).

use std::fmt;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A value the caller sent is not acceptable; `field` names it (dotted path for nested
    /// values, e.g. `apis[1].sensitive_data_groups`).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The caller is not signed in, or the credentials are wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is signed in but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing, or the caller may not know it exists.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The request conflicts with the current state (duplicate name, wrong review state, ...).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The row changed since the caller read it (a stale `If-Match` or form version): nothing
    /// was written. Reading again shows the current version.
    #[error("the {what} was changed meanwhile; reload it to see the current version")]
    Stale { what: &'static str },
    /// Too many attempts (failed sign-ins, sandbox sign-ups from one network); try again
    /// after `retry_after_seconds`.
    #[error("too many attempts; try again in {retry_after_seconds} seconds")]
    TooManyAttempts { retry_after_seconds: u64 },
    /// The server cannot take the work now (the argon2 pool is full); nothing was done.
    #[error("the server is busy; try again in {retry_after_seconds} seconds")]
    Unavailable { retry_after_seconds: u64 },
    /// The storage failed; the message is for logs only, never for the client.
    #[error("storage error: {0}")]
    Storage(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    pub fn stale(what: &'static str) -> Self {
        Self::Stale { what }
    }

    pub fn storage(err: impl fmt::Display) -> Self {
        Self::Storage(err.to_string())
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
