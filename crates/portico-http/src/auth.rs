//! Who is calling the admin API: a session token from the `portico_session` cookie (browsers)
//! or an `Authorization: Bearer` header (scripts). Cookie-authenticated calls that change
//! something must also carry the session's CSRF token in `X-CSRF-Token`.

use crate::{AppState, error::ApiError};
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, Method, header, request::Parts},
};
use portico_domain::{Actor, DomainError, TokenDigest, secret::constant_time_eq};

pub const SESSION_COOKIE: &str = "portico_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in actor of an admin call.
pub struct SignedIn(pub Actor);

/// The session token presented, and whether it came from a cookie (and so needs CSRF checks).
pub(crate) fn session_token(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = auth.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| (token.trim().to_owned(), false));
    }
    cookie(headers, SESSION_COOKIE).map(|t| (t, true))
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The CSRF token of a session: derived from the session token, so it needs no storage and
/// cannot be computed without the (HttpOnly) cookie.
pub fn csrf_token(session_token: &str) -> String {
    TokenDigest::of(&format!("csrf:{session_token}")).0
}

pub(crate) fn csrf_ok(session_token: &str, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| constant_time_eq(p.as_bytes(), csrf_token(session_token).as_bytes()))
}

pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    ))
    .expect("session tokens are base64url")
}

pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    session_cookie("", 0, secure)
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (token, from_cookie) = session_token(&parts.headers)
            .ok_or_else(|| DomainError::Unauthenticated("sign in first".into()))?;
        let source = crate::client_addr::ClientAddr::of(parts, state);
        let actor = state.registry.authenticate_from(&token, source).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if from_cookie && !safe {
            let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !csrf_ok(&token, presented) {
                return Err(DomainError::forbidden(
                    "missing or wrong X-CSRF-Token header for a cookie-authenticated request",
                )
                .into());
            }
        }
        Ok(SignedIn(actor))
    }
}
