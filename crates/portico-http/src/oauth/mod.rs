//! The OAuth endpoints, at Concur's paths so apps written against Concur's guides find them:
//! `/oauth2/v0/{authorize,token,jwks,introspect,revoke}`, `/app-mgmt/v0/connections`, pushed
//! authorization requests at `/oauth2/v0/par` (RFC 9126), and the metadata at
//! `/.well-known/oauth-authorization-server` (also `openid-configuration`).
//! Handlers read the request, call [`portico_oauth::OAuthService`], and map its errors in
//! [`error`].

mod authorize;
mod error;
mod feed;

use crate::AppState;
use crate::client_addr::ClientAddr;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use error::{BearerErrorResponse, OAuthErrorResponse, no_store};
use portico_oauth::{
    BearerError, DpopHeader, IssuedTokens, OAuthError, ResourceRequest, TokenScheme,
};
use serde::Serialize;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth2/v0/token", post(token).fallback(post_only))
        .route(
            "/oauth2/v0/introspect",
            post(introspect).fallback(post_only),
        )
        .route("/oauth2/v0/revoke", post(revoke).fallback(post_only))
        .route("/oauth2/v0/par", post(par).fallback(post_only))
        .route("/oauth2/v0/jwks", get(jwks))
        .route("/oauth2/v0/revocations", get(feed::revocations))
        .route("/app-mgmt/v0/connections", delete(connections))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/oauth2/v0/userinfo", get(userinfo).post(userinfo))
        .merge(authorize::router())
}

/// The token, introspection, revocation and PAR endpoints take POST only (RFC 6749 §3.2,
/// RFC 9126 §2).
async fn post_only() -> Response {
    let mut resp = OAuthErrorResponse(OAuthError::invalid_request(
        "use POST with a form-encoded body",
    ))
    .into_response();
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    resp
}

/// The parts of a client-authenticated POST: its Authorization header and form body. Query
/// parameters, a second Authorization header, another content type, or an unreadable body are
/// refused before anything else.
fn form_request<'a>(
    uri: &Uri,
    headers: &'a HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Option<&'a str>, OAuthError> {
    if uri.query().is_some_and(|q| !q.is_empty()) {
        return Err(OAuthError::invalid_request(
            "parameters must be sent in the request body, not the URI",
        ));
    }
    let is_form = crate::extract::is_form(headers);
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let first = auth.next();
    if auth.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    if let Err(e) = body {
        return Err(OAuthError::invalid_request(
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "the request body is too large"
            } else {
                "the request body could not be read"
            },
        ));
    }
    first
        .map(|v| {
            v.to_str()
                .map_err(|_| OAuthError::invalid_request("the Authorization header is not text"))
        })
        .transpose()
}

/// The request's `DPoP` header(s) (RFC 9449 §4.1); one that is not text is no proof at all.
pub(crate) fn dpop_header(headers: &HeaderMap) -> DpopHeader<'_> {
    let mut all = headers.get_all("dpop").iter();
    match (all.next(), all.next()) {
        (None, _) => DpopHeader::Absent,
        (Some(v), None) => DpopHeader::One(v.to_str().unwrap_or("")),
        (Some(_), Some(_)) => DpopHeader::Several,
    }
}

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    /// Concur's extra: when the refresh token expires, as epoch seconds (despite the name).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<i64>,
    /// Concur's extra: the base URL of the deployment that issued the tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    geolocation: Option<&'a str>,
}

async fn token(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthErrorResponse> {
    let authorization = form_request(&uri, &headers, &body)?;
    let body = body.unwrap_or_default();
    let issued: IssuedTokens = s
        .oauth
        .token(authorization, dpop_header(&headers), &body, source)
        .await?;
    Ok(no_store(
        Json(TokenBody {
            access_token: &issued.access_token,
            token_type: issued.token_type,
            expires_in: issued.expires_in,
            scope: &issued.scope,
            refresh_token: issued.refresh_token.as_ref().map(|r| r.expose()),
            id_token: issued.id_token.as_deref(),
            refresh_expires_in: issued.refresh_expires_at,
            geolocation: issued
                .refresh_token
                .is_some()
                .then_some(s.oauth.settings().issuer.as_str()),
        })
        .into_response(),
    ))
}

async fn introspect(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthErrorResponse> {
    let authorization = form_request(&uri, &headers, &body)?;
    let answer = s
        .oauth
        .introspect(authorization, &body.unwrap_or_default(), source)
        .await?;
    Ok(no_store(Json(answer).into_response()))
}

async fn revoke(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthErrorResponse> {
    let authorization = form_request(&uri, &headers, &body)?;
    s.oauth
        .revoke(authorization, &body.unwrap_or_default(), source)
        .await?;
    Ok(no_store(StatusCode::OK.into_response()))
}

/// RFC 9126 §2: 201 with the `request_uri`; errors as the token endpoint's.
async fn par(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthErrorResponse> {
    let authorization = form_request(&uri, &headers, &body)?;
    let pushed = s
        .oauth
        .push_authorization_request(
            authorization,
            dpop_header(&headers),
            &body.unwrap_or_default(),
            source,
        )
        .await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(pushed)).into_response(),
    ))
}

async fn jwks(State(s): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            // Resource servers refetch on an unknown kid, so a rotation needs no short max-age.
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        s.oauth.jwks(),
    )
        .into_response()
}

async fn metadata(State(s): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(s.oauth.metadata()),
    )
        .into_response()
}

async fn openid_configuration(State(s): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(s.oauth.openid_configuration()),
    )
        .into_response()
}

/// The bearer token of a request (RFC 6750): in the Authorization header, or (POST with a
/// form body only) the `access_token` field; more than one way, or more than one header, is
/// `invalid_request`.
fn bearer_token(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(TokenScheme, String), BearerError> {
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let header_value = auth.next();
    if auth.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "more than one Authorization header".into(),
        ));
    }
    let from_header = header_value
        .map(|v| {
            let v = v.to_str().map_err(|_| {
                BearerError::InvalidRequest("the Authorization header is not text".into())
            })?;
            access_token_of(v).ok_or_else(|| {
                BearerError::InvalidRequest("use the Bearer or DPoP authentication scheme".into())
            })
        })
        .transpose()?;
    let is_form = crate::extract::is_form(headers);
    let from_body = if *method == Method::POST && is_form && !body.is_empty() {
        let params = portico_oauth::params::Params::parse(body)
            .map_err(|e| BearerError::InvalidRequest(e.description()))?;
        params.get("access_token").map(str::to_owned)
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(BearerError::InvalidRequest(
            "send the access token one way only".into(),
        )),
        (Some(t), None) => Ok(t),
        (None, Some(t)) => Ok((TokenScheme::Bearer, t)),
        (None, None) => Err(BearerError::Missing),
    }
}

/// `Bearer <token>` or `DPoP <token>` (RFC 6750 §2.1, RFC 9449 §7.1).
fn access_token_of(authorization: &str) -> Option<(TokenScheme, String)> {
    let (scheme, t) = authorization.split_once(' ')?;
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((TokenScheme::Bearer, t.to_owned()))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((TokenScheme::Dpop, t.to_owned()))
    } else {
        None
    }
}

/// OpenID Connect's UserInfo endpoint (Core §5.3), GET or POST.
async fn userinfo(
    State(s): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BearerErrorResponse> {
    if uri.query().is_some_and(|q| q.contains("access_token=")) {
        return Err(BearerErrorResponse(BearerError::InvalidRequest(
            "an access token in the URI is not accepted".into(),
        )));
    }
    let (scheme, token) = bearer_token(&method, &headers, &body).map_err(BearerErrorResponse)?;
    let presented = ResourceRequest {
        token: &token,
        scheme,
        proof: dpop_header(&headers),
        method: method.as_str(),
        path: "/oauth2/v0/userinfo",
    };
    let claims = s
        .oauth
        .userinfo(&presented)
        .await
        .map_err(BearerErrorResponse)?;
    Ok(no_store(Json(claims).into_response()))
}

/// Concur's "disconnect": with a user's access token, revoke all of that user's tokens for the
/// app the token was issued to.
async fn connections(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, BearerErrorResponse> {
    let (scheme, token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(access_token_of)
        .ok_or_else(|| {
            BearerErrorResponse(BearerError::InvalidToken(
                "an access token is required (Bearer or DPoP)".into(),
            ))
        })?;
    let presented = ResourceRequest {
        token: &token,
        scheme,
        proof: dpop_header(&headers),
        method: method.as_str(),
        path: "/app-mgmt/v0/connections",
    };
    let revoked = s
        .oauth
        .revoke_connections(&presented, source)
        .await
        .map_err(BearerErrorResponse)?;
    Ok(no_store(
        Json(json!({ "revoked_grants": revoked })).into_response(),
    ))
}
