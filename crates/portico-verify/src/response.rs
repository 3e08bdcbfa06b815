//! The single mapping from [`VerifyError`] (and [`Rejection`]) to an HTTP response: RFC 6750
//! §3 for bearer tokens, RFC 9449 §7.1 and §9 for DPoP.

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{DpopMode, ErrorClass, Presented, Rejection, VerifyError};

/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// `algs` of every DPoP challenge: what `portico_jose::verify_proof` accepts (a unit test
/// keeps the two in step).
const DPOP_ALGS: &str = "ES256 EdDSA Ed25519 RS256 PS256";

impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        Rejection::from(self).into_response()
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let Rejection {
            error,
            presented,
            dpop,
        } = self;
        let class = error.class();
        let (status, code) = match class {
            ErrorClass::MissingToken => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ErrorClass::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request"),
            ErrorClass::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ErrorClass::InvalidDpopProof => (StatusCode::UNAUTHORIZED, "invalid_dpop_proof"),
            ErrorClass::UseDpopNonce => (StatusCode::UNAUTHORIZED, "use_dpop_nonce"),
            ErrorClass::InsufficientScope => (StatusCode::FORBIDDEN, "insufficient_scope"),
            ErrorClass::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            ErrorClass::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        // Internal details (URLs, configuration) go to the log, not to the client.
        let description = match class {
            ErrorClass::Unavailable => {
                tracing::warn!(error = %error, "cannot verify access tokens right now");
                "the authorization server is temporarily unavailable".to_owned()
            }
            ErrorClass::ServerError => {
                tracing::error!(error = %error, "cannot verify access tokens");
                "the resource server cannot verify access tokens".to_owned()
            }
            _ => error.to_string(),
        };
        let challenge = challenge(&error, class, code, &description, presented, dpop);
        let mut response = (
            status,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        let headers = response.headers_mut();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if let VerifyError::UseDpopNonce { nonce } = &error
            && let Ok(value) = HeaderValue::from_str(nonce)
        {
            headers.insert(DPOP_NONCE, value);
        }
        if class == ErrorClass::Unavailable {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// The `WWW-Authenticate` value. Errors are reported in the scheme the request used (DPoP's
/// own errors always in `DPoP`); a bare `DPoP algs=".."` challenge is added where a client
/// could switch to DPoP. Several challenges share one field, comma-separated (RFC 9110 §11.6.1).
fn challenge(
    error: &VerifyError,
    class: ErrorClass,
    code: &str,
    description: &str,
    presented: Presented,
    dpop: DpopMode,
) -> Option<String> {
    let bare_dpop = format!("DPoP algs=\"{DPOP_ALGS}\"");
    let scheme_is_dpop = error.is_dpop_specific()
        || presented == Presented::Dpop
        || (presented == Presented::Nothing && dpop == DpopMode::Required);
    let mut params = format!(
        "error=\"{code}\", error_description=\"{}\"",
        quoted(description)
    );
    match (error, class) {
        // RFC 6750 §3.1: no error code when the request had no authentication at all.
        (_, ErrorClass::MissingToken) => {
            return Some(match dpop {
                DpopMode::Off => "Bearer".to_owned(),
                DpopMode::Allowed => format!("Bearer, {bare_dpop}"),
                DpopMode::Required => bare_dpop,
            });
        }
        (VerifyError::InsufficientScope { needed }, _) => {
            params.push_str(&format!(", scope=\"{}\"", quoted(needed)));
        }
        (
            _,
            ErrorClass::InvalidRequest
            | ErrorClass::InvalidToken
            | ErrorClass::InvalidDpopProof
            | ErrorClass::UseDpopNonce,
        ) => {}
        _ => return None,
    }
    if scheme_is_dpop {
        return Some(format!("DPoP {params}, algs=\"{DPOP_ALGS}\""));
    }
    // A bearer request refused with 401: say that DPoP would be accepted, and always for a
    // bound token sent as a bearer token.
    let offer_dpop = status_is_401(class)
        && (dpop == DpopMode::Allowed || matches!(error, VerifyError::DpopBoundToken));
    Some(if offer_dpop {
        format!("Bearer {params}, {bare_dpop}")
    } else {
        format!("Bearer {params}")
    })
}

fn status_is_401(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::InvalidToken | ErrorClass::InvalidDpopProof | ErrorClass::UseDpopNonce
    )
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

    #[test]
    fn dpop_algs_are_those_portico_jose_accepts() {
        assert_eq!(DPOP_ALGS, portico_jose::ALGORITHM_NAMES.join(" "));
    }

    fn rejected(
        error: VerifyError,
        presented: Presented,
        dpop: DpopMode,
    ) -> (StatusCode, Option<String>, Option<String>) {
        let response = Rejection::new(error, presented, dpop).into_response();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
        };
        (
            response.status(),
            header(WWW_AUTHENTICATE),
            header(DPOP_NONCE),
        )
    }

    #[test]
    fn dpop_challenges_follow_rfc_9449() {
        let algs = r#"algs="ES256 EdDSA Ed25519 RS256 PS256""#;
        let missing = |mode| rejected(VerifyError::MissingToken, Presented::Nothing, mode).1;
        assert_eq!(missing(DpopMode::Off).unwrap(), "Bearer");
        assert_eq!(
            missing(DpopMode::Allowed).unwrap(),
            format!("Bearer, DPoP {algs}")
        );
        assert_eq!(missing(DpopMode::Required).unwrap(), format!("DPoP {algs}"));

        // A token error on a DPoP request is reported in the DPoP scheme.
        let (status, header, _) =
            rejected(VerifyError::Expired, Presented::Dpop, DpopMode::Allowed);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            header.unwrap(),
            format!(
                r#"DPoP error="invalid_token", error_description="the token has expired", {algs}"#
            )
        );
        // On a bearer request, with DPoP offered next to it.
        let (_, header, _) = rejected(VerifyError::Expired, Presented::Bearer, DpopMode::Allowed);
        assert_eq!(
            header.unwrap(),
            format!(
                r#"Bearer error="invalid_token", error_description="the token has expired", DPoP {algs}"#
            )
        );
        let (_, header, _) = rejected(
            VerifyError::DpopBoundToken,
            Presented::Bearer,
            DpopMode::Off,
        );
        assert!(header.unwrap().ends_with(&format!(", DPoP {algs}")));
        let (_, header, _) = rejected(
            VerifyError::MissingProof,
            Presented::Dpop,
            DpopMode::Allowed,
        );
        assert_eq!(
            header.unwrap(),
            format!(
                r#"DPoP error="invalid_dpop_proof", error_description="a DPoP proof is required", {algs}"#
            )
        );
        let (status, header, nonce) = rejected(
            VerifyError::UseDpopNonce {
                nonce: "n0nce".into(),
            },
            Presented::Dpop,
            DpopMode::Allowed,
        );
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            header
                .unwrap()
                .starts_with(r#"DPoP error="use_dpop_nonce", "#)
        );
        assert_eq!(nonce.as_deref(), Some("n0nce"));
        // 403 in the scheme of the request, without extra challenges.
        let (status, header, _) = rejected(
            VerifyError::InsufficientScope { needed: "s".into() },
            Presented::Dpop,
            DpopMode::Allowed,
        );
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            header.unwrap(),
            format!(
                r#"DPoP error="insufficient_scope", error_description="the token lacks the required scope", scope="s", {algs}"#
            )
        );
    }
}
