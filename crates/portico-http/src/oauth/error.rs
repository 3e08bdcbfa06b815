//! OAuth errors as HTTP responses, in one place: RFC 6749 §5.2 JSON bodies for the token,
//! introspection and revocation endpoints, RFC 6750 §3 for bearer-token endpoints.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use portico_oauth::{BearerError, OAuthError};
use serde_json::json;

/// Token responses and errors are never cached (RFC 6749 §5.1).
pub(crate) fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

pub(crate) struct OAuthErrorResponse(pub OAuthError);

impl IntoResponse for OAuthErrorResponse {
    fn into_response(self) -> Response {
        let e = self.0;
        if let OAuthError::Server(detail) = &e {
            tracing::error!(error = %detail, "token service failure");
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({ "error": e.code(), "error_description": e.description() });
        let mut resp = (status, Json(body)).into_response();
        if let Some(seconds) = e.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let OAuthError::UseDpopNonce { nonce } = &e
            && let Ok(v) = HeaderValue::from_str(nonce)
        {
            resp.headers_mut().insert("dpop-nonce", v);
        }
        if let OAuthError::InvalidClient { basic: true, .. } = e {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portico\", charset=\"UTF-8\""),
            );
        }
        no_store(resp)
    }
}

impl From<OAuthError> for OAuthErrorResponse {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

/// RFC 9449 §7.1's challenge: the scheme and the algorithms proofs may use.
const DPOP_CHALLENGE: &str = "DPoP algs=\"ES256 EdDSA Ed25519 RS256 PS256\"";

pub(crate) struct BearerErrorResponse(pub BearerError);

impl IntoResponse for BearerErrorResponse {
    fn into_response(self) -> Response {
        if self.0 == BearerError::Missing {
            // No credentials: a bare challenge, no error code (RFC 6750 §3.1).
            // Either scheme will do (RFC 9449 §7.1: a challenge for each).
            let mut resp = StatusCode::UNAUTHORIZED.into_response();
            let h = resp.headers_mut();
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portico\""),
            );
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(DPOP_CHALLENGE),
            );
            return no_store(resp);
        }
        let (status, code) = match &self.0 {
            BearerError::Missing => (StatusCode::UNAUTHORIZED, "invalid_token"),
            BearerError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            BearerError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            BearerError::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            BearerError::InvalidDpopProof(_) => (StatusCode::UNAUTHORIZED, "invalid_dpop_proof"),
            BearerError::UseDpopNonce { .. } => (StatusCode::UNAUTHORIZED, "use_dpop_nonce"),
            BearerError::Server(detail) => {
                tracing::error!(error = %detail, "bearer endpoint failure");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        let description = match &self.0 {
            BearerError::Server(_) => "the server could not complete the request".to_owned(),
            other => other.to_string(),
        };
        let mut resp = (
            status,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        if status != StatusCode::INTERNAL_SERVER_ERROR {
            // The description is ours; quotes and backslashes would end the quoted string.
            let quoted: String = description
                .chars()
                .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
                .collect();
            let dpop = matches!(
                self.0,
                BearerError::InvalidDpopProof(_) | BearerError::UseDpopNonce { .. }
            );
            let challenge = if dpop {
                format!("{DPOP_CHALLENGE}, error=\"{code}\", error_description=\"{quoted}\"")
            } else {
                format!(
                    "Bearer realm=\"portico\", error=\"{code}\", error_description=\"{quoted}\""
                )
            };
            if let BearerError::UseDpopNonce { nonce } = &self.0
                && let Ok(v) = HeaderValue::from_str(nonce)
            {
                resp.headers_mut().insert("dpop-nonce", v);
            }
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            // A 401 on the Bearer scheme offers DPoP too (RFC 9449 §7.1): a bound token sent
            // as a bearer token learns which scheme it needs.
            if !dpop && status == StatusCode::UNAUTHORIZED {
                resp.headers_mut().append(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(DPOP_CHALLENGE),
                );
            }
        }
        no_store(resp)
    }
}
