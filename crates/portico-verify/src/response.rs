//! The single mapping from [`VerifyError`] to an HTTP response (RFC 6750 §3).

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{ErrorClass, VerifyError};

impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        let class = self.class();
        let (status, code) = match class {
            ErrorClass::MissingToken => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ErrorClass::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request"),
            ErrorClass::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ErrorClass::InsufficientScope => (StatusCode::FORBIDDEN, "insufficient_scope"),
            ErrorClass::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            ErrorClass::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        // Internal details (URLs, configuration) go to the log, not to the client.
        let description = match class {
            ErrorClass::Unavailable => {
                tracing::warn!(error = %self, "cannot verify access tokens right now");
                "the authorization server is temporarily unavailable".to_owned()
            }
            ErrorClass::ServerError => {
                tracing::error!(error = %self, "cannot verify access tokens");
                "the resource server cannot verify access tokens".to_owned()
            }
            _ => self.to_string(),
        };
        let challenge = match (&self, class) {
            // RFC 6750 §3.1: no error code when the request had no authentication at all.
            (_, ErrorClass::MissingToken) => Some("Bearer".to_owned()),
            (VerifyError::InsufficientScope { needed }, _) => Some(format!(
                "Bearer error=\"{code}\", error_description=\"{}\", scope=\"{}\"",
                quoted(&description),
                quoted(needed)
            )),
            (_, ErrorClass::InvalidRequest | ErrorClass::InvalidToken) => Some(format!(
                "Bearer error=\"{code}\", error_description=\"{}\"",
                quoted(&description)
            )),
            _ => None,
        };
        let mut response = (
            status,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        let headers = response.headers_mut();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if class == ErrorClass::Unavailable {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// Content for an RFC 7230 quoted-string, restricted to the printable ASCII RFC 6750 allows.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars().filter(|c| matches!(c, ' '..='~')) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(e: VerifyError) -> (StatusCode, Option<String>) {
        let response = e.into_response();
        let header = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), header)
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(
            challenge(VerifyError::MissingToken),
            (StatusCode::UNAUTHORIZED, Some("Bearer".into()))
        );
        assert_eq!(
            challenge(VerifyError::Expired),
            (
                StatusCode::UNAUTHORIZED,
                Some(
                    "Bearer error=\"invalid_token\", error_description=\"the token has expired\""
                        .into()
                )
            )
        );
        let (status, header) = challenge(VerifyError::InsufficientScope {
            needed: "a\"b\\c\u{7}d".into(),
        });
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(header.unwrap().ends_with("scope=\"a\\\"b\\\\cd\""));
        assert_eq!(
            challenge(VerifyError::Unavailable("http://x".into())),
            (StatusCode::SERVICE_UNAVAILABLE, None)
        );
        assert_eq!(
            challenge(VerifyError::MissingVerifier),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
    }
}
