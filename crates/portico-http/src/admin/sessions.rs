//! Sign in, sign out, and who am I.

use crate::{
    AppState,
    auth::{self, SignedIn},
    client_addr::ClientAddr,
    error::ApiResult,
    extract::JsonBody,
};
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use chrono::{DateTime, Utc};
use portico_domain::{Actor, Company, Permissions, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(sign_out_everywhere))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignInRequest {
    #[schema(schema_with = portico_domain::schema::login_id)]
    login_id: String,
    #[schema(format = Password)]
    password: String,
}

/// The actor as the API shows it: who, which company, which permissions.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    user_id: UserId,
    login_id: String,
    company: Company,
    permissions: Permissions,
    /// Whether the Administration menu applies: staff, or the company's web services admin.
    is_admin: bool,
}

impl Me {
    pub(crate) fn of(actor: &Actor) -> Self {
        Self {
            user_id: actor.user_id,
            login_id: actor.login_id.clone(),
            company: actor.company.clone(),
            permissions: actor.permissions,
            is_admin: actor.is_admin(),
        }
    }
}

/// A new session: the bearer token (shown once) and, for browsers, the CSRF token that
/// cookie-authenticated writes send in `X-CSRF-Token`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionToken {
    #[schema(format = Password)]
    token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, example = "Bearer")]
    token_type: &'static str,
    expires_at: DateTime<Utc>,
    csrf_token: String,
}

impl SessionToken {
    pub(crate) fn new(token: &str, expires_at: DateTime<Utc>) -> Self {
        Self {
            token: token.to_owned(),
            token_type: "Bearer",
            expires_at,
            csrf_token: auth::csrf_token(token),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct SignedInAnswer {
    #[serde(flatten)]
    session: SessionToken,
    actor: Me,
}

/// Sign in with a login id and password. The session is answered as a bearer token and set as
/// the `portico_session` cookie.
#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    operation_id = "sign_in",
    security(()),
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in", body = SignedInAnswer,
            headers(("Set-Cookie" = String, description = "The `portico_session` cookie"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
        (status = 429, response = super::openapi::TooManyAttempts),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(source): ClientAddr,
    JsonBody(req): JsonBody<SignInRequest>,
) -> ApiResult<impl IntoResponse> {
    let signed_in = state
        .registry
        .sign_in(&req.login_id, &req.password, source)
        .await?;
    let token = signed_in.token.expose();
    let max_age = (signed_in.expires_at - chrono::Utc::now()).num_seconds();
    let cookie = auth::session_cookie(token, max_age, state.settings.secure_cookies);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SignedInAnswer {
            session: SessionToken::new(token, signed_in.expires_at),
            actor: Me::of(&signed_in.actor),
        }),
    ))
}

/// Sign out: ends the session presented (bearer or cookie), if any, and clears the cookie.
/// Always 204: signing out with no session, or an ended one, is done already.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    operation_id = "sign_out",
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Signed out",
            headers(("Set-Cookie" = String, description = "Clears the `portico_session` cookie"))),
    ),
)]
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    // Signing out with a cookie needs no CSRF check: the worst a forged request can do is sign
    // the user out.
    if let Some((token, _)) = auth::session_token(&headers) {
        state.registry.sign_out(&token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            auth::clear_session_cookie(state.settings.secure_cookies),
        )],
    ))
}

#[derive(Serialize, ToSchema)]
struct SessionsEnded {
    sessions_ended: u64,
}

/// Sign out everywhere: every session of the signed-in user ends, this one included.
#[utoipa::path(
    delete,
    path = "/session/all",
    tag = "session",
    operation_id = "sign_out_everywhere",
    responses(
        (status = 200, description = "Every session of the user ended", body = SessionsEnded,
            headers(("Set-Cookie" = String, description = "Clears the `portico_session` cookie"))),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
    ),
)]
async fn sign_out_everywhere(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<impl IntoResponse> {
    let ended = state.registry.sign_out_everywhere(&actor).await?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::clear_session_cookie(state.settings.secure_cookies),
        )],
        Json(SessionsEnded {
            sessions_ended: ended,
        }),
    ))
}

/// Who is signed in.
#[utoipa::path(
    get,
    path = "/me",
    tag = "session",
    operation_id = "me",
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, response = super::openapi::Unauthenticated),
    ),
)]
async fn me(SignedIn(actor): SignedIn) -> Json<Me> {
    Json(Me::of(&actor))
}
