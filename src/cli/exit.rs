//! What a failed command tells its caller: an exit code a script can branch on (sysexits.h
//! where one fits), and on stderr a message naming the field, as text or, with
//! `--output json`, as the admin API's error body `{"error", "message", "field"?}`. Never a
//! secret: secrets go to stdout, once, and only on success.

use super::output::Output;
use crate::startup::StartupError;
use portico_domain::DomainError;
use serde_json::json;

/// The exit codes, for `portico --help` and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0   success
  2   usage: an unknown command or option, a missing argument (e.g. --as)
  65  invalid input: a value or an --spec document was refused; stderr names the field
  66  not found: no such company, user, application or sign-up request (or the actor may not
      see it), or the --spec file cannot be read
  69  unavailable: the database cannot be reached, or the server is busy; try again
  70  internal error
  71  cannot listen on the configured address (serve)
  73  conflict: the current state refuses it (name or login id taken, already decided, not
      pending, inactive application, ...); stderr has the code (e.g. name_taken)
  75  temporary: the row changed meanwhile (--if-version is stale) or too many attempts; try
      again
  77  permission denied: the --as user may not do this, or is unknown or disabled
  78  configuration error (configuration file, environment, API catalog, master key)";

pub const USAGE: u8 = 2;
pub const DATAERR: u8 = 65;
pub const NOT_FOUND: u8 = 66;
pub const UNAVAILABLE: u8 = 69;
pub const SOFTWARE: u8 = 70;
pub const OSERR: u8 = 71;
pub const CONFLICT: u8 = 73;
pub const TEMPFAIL: u8 = 75;
pub const NOPERM: u8 = 77;
pub const CONFIG: u8 = 78;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Domain(DomainError),
    /// A command-line problem clap could not see (e.g. `--as` missing): exit 2, with usage.
    #[error("{0}")]
    Usage(clap::Error),
    /// A file named on the command line cannot be read.
    #[error("{path}: {message}")]
    NoInput { path: String, message: String },
    /// Input that is not what was expected, e.g. an `--spec` that is not the JSON expected.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
}

impl From<DomainError> for CliError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

impl CliError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    fn domain(&self) -> Option<&DomainError> {
        match self {
            Self::Domain(e) | Self::Startup(StartupError::Domain(e)) => Some(e),
            _ => None,
        }
    }

    pub fn exit_code(&self) -> u8 {
        if let Some(e) = self.domain() {
            return match e {
                DomainError::Invalid { .. } => DATAERR,
                DomainError::Unauthenticated(_) | DomainError::Forbidden(_) => NOPERM,
                DomainError::NotFound { .. } => NOT_FOUND,
                DomainError::Conflict {
                    code: "changed_meanwhile",
                    ..
                }
                | DomainError::Stale { .. }
                | DomainError::TooManyAttempts { .. } => TEMPFAIL,
                DomainError::Conflict { .. } => CONFLICT,
                DomainError::Unavailable { .. } => UNAVAILABLE,
                DomainError::Storage(_) => SOFTWARE,
            };
        }
        match self {
            Self::Startup(e) => match e {
                StartupError::Config(_) | StartupError::Catalog(_) | StartupError::MasterKey(_) => {
                    CONFIG
                }
                StartupError::Database(e) => match e {
                    sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_) => UNAVAILABLE,
                    _ => SOFTWARE,
                },
                StartupError::Bind { .. } => OSERR,
                StartupError::OAuth(_) | StartupError::Domain(_) | StartupError::Metrics(_) => {
                    SOFTWARE
                }
            },
            Self::Usage(_) => USAGE,
            Self::NoInput { .. } => NOT_FOUND,
            Self::Invalid { .. } => DATAERR,
            Self::Domain(_) => SOFTWARE,
        }
    }

    /// The admin API's error code for the same failure.
    fn code(&self) -> &'static str {
        if let Some(e) = self.domain() {
            return match e {
                DomainError::Invalid { .. } => "invalid_request",
                DomainError::Unauthenticated(_) => "unauthenticated",
                DomainError::Forbidden(_) => "forbidden",
                DomainError::NotFound { .. } => "not_found",
                DomainError::Conflict { code, .. } => code,
                DomainError::Stale { .. } => "precondition_failed",
                DomainError::TooManyAttempts { .. } => "too_many_attempts",
                DomainError::Unavailable { .. } => "temporarily_unavailable",
                DomainError::Storage(_) => "internal_error",
            };
        }
        match self.exit_code() {
            USAGE => "usage",
            DATAERR => "invalid_request",
            NOT_FOUND => "not_found",
            UNAVAILABLE => "unavailable",
            CONFIG => "configuration",
            _ => "internal_error",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => field.as_deref(),
            _ => match self.domain() {
                Some(DomainError::Invalid { field, .. }) => Some(field),
                Some(DomainError::Stale { .. }) => Some("if_version"),
                _ => None,
            },
        }
    }

    fn message(&self) -> String {
        match self.domain() {
            Some(DomainError::Stale { what }) => format!(
                "the {what} was changed meanwhile (--if-version is not its current version); \
                 nothing was written"
            ),
            _ => self.to_string(),
        }
    }

    /// Writes the failure to stderr: `portico: <field>: <message>`, or the JSON error body.
    pub fn report(&self, output: Output) {
        if let Self::Usage(e) = self {
            let _ = e.print();
            return;
        }
        let message = self.message();
        match output {
            Output::Json => {
                let mut body = json!({ "error": self.code(), "message": message });
                if let Some(f) = self.field() {
                    body["field"] = json!(f);
                }
                eprintln!("{body}");
            }
            Output::Text => match (self.field(), self.domain()) {
                (_, Some(DomainError::Conflict { code, .. })) => {
                    eprintln!("portico: {message} ({code})")
                }
                (_, Some(DomainError::Stale { .. })) | (None, _) => {
                    eprintln!("portico: {message}")
                }
                (Some(f), _) => eprintln!("portico: {f}: {message}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let code = |e: DomainError| CliError::from(e).exit_code();
        assert_eq!(code(DomainError::invalid("domain", "bad")), DATAERR);
        assert_eq!(code(DomainError::not_found("company")), NOT_FOUND);
        assert_eq!(code(DomainError::forbidden("no")), NOPERM);
        assert_eq!(code(DomainError::Unauthenticated("who".into())), NOPERM);
        assert_eq!(code(DomainError::conflict("name_taken", "taken")), CONFLICT);
        assert_eq!(
            code(DomainError::conflict("changed_meanwhile", "again")),
            TEMPFAIL
        );
        assert_eq!(code(DomainError::stale("application")), TEMPFAIL);
        assert_eq!(
            code(DomainError::Unavailable {
                retry_after_seconds: 1
            }),
            UNAVAILABLE
        );
        assert_eq!(code(DomainError::storage("boom")), SOFTWARE);
        let wrapped = CliError::Startup(StartupError::Domain(DomainError::invalid("x", "y")));
        assert_eq!((wrapped.exit_code(), wrapped.field()), (DATAERR, Some("x")));
    }
}
