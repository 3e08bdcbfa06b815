//! The admin API's one error type and its one mapping to HTTP. A client sees a stable code, a
//! message, and the offending field; internals (storage errors) are logged, never sent.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use portico_domain::DomainError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The body is not JSON, or not the JSON expected; `field` when one can be named.
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the request body is too large")]
    PayloadTooLarge,
}

/// Every admin API error, whatever its status.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct Body<'a> {
    /// A stable code: `invalid_request` (400), `unauthenticated` (401), `forbidden` (403),
    /// `not_found` (404), a conflict's own code (409, e.g. `domain_taken`, `login_id_taken`,
    /// `secret_changed`, `not_pending`), `precondition_failed` (412), `payload_too_large`
    /// (413), `unsupported_media_type` (415), `too_many_attempts` (429),
    /// `temporarily_unavailable` (503).
    #[schema(example = "invalid_request")]
    error: &'a str,
    /// For people: what is wrong and what to do.
    message: String,
    /// The request member at fault when one can be named: a JSON path into the body
    /// (`apis[0].api`), a path or query parameter, or a header (`If-Match`).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, field) = match &self {
            ApiError::Domain(e) => match e {
                DomainError::Invalid { field, .. } => (
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    Some(field.as_str()),
                ),
                DomainError::Unauthenticated(_) => {
                    (StatusCode::UNAUTHORIZED, "unauthenticated", None)
                }
                DomainError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
                DomainError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", None),
                DomainError::Conflict { code, .. } => (StatusCode::CONFLICT, *code, None),
                // RFC 9110 §13.1.1: the If-Match version is not the current one.
                DomainError::Stale { .. } => (
                    StatusCode::PRECONDITION_FAILED,
                    "precondition_failed",
                    Some("If-Match"),
                ),
                DomainError::TooManyAttempts { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", None)
                }
                DomainError::Unavailable { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    None,
                ),
                DomainError::Storage(detail) => {
                    tracing::error!(error = %detail, "storage failure");
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None)
                }
            },
            ApiError::BadRequest { field, .. } => {
                (StatusCode::BAD_REQUEST, "invalid_request", field.as_deref())
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
            ),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "something went wrong on our side; the request can be retried".to_owned()
        } else {
            self.to_string()
        };
        let mut resp = (
            status,
            Json(Body {
                error,
                message,
                field,
            }),
        )
            .into_response();
        if let ApiError::Domain(
            DomainError::TooManyAttempts {
                retry_after_seconds,
            }
            | DomainError::Unavailable {
                retry_after_seconds,
            },
        ) = &self
            && let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"portico-admin\""),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
