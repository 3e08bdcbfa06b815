//! Sign in, sign out, and who am I.

use crate::{
    AppState,
    auth::{self, SignedIn},
    client_addr::ClientAddr,
    error::ApiResult,
    extract::JsonBody,
};
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::{delete, get, post},
};
use portico_domain::Actor;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(sign_in).delete(sign_out))
        .route("/session/all", delete(sign_out_everywhere))
        .route("/me", get(me))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInRequest {
    login_id: String,
    password: String,
}

/// The actor as the API shows it: who, which company, which permissions.
pub(crate) fn actor_json(actor: &Actor) -> Value {
    json!({
        "user_id": actor.user_id,
        "login_id": actor.login_id,
        "company": actor.company,
        "permissions": actor.permissions,
        "is_admin": actor.is_admin(),
    })
}

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
        Json(json!({
            "token": token,
            "token_type": "Bearer",
            "expires_at": signed_in.expires_at,
            "csrf_token": auth::csrf_token(token),
            "actor": actor_json(&signed_in.actor),
        })),
    ))
}

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

/// Sign out everywhere: every session of the signed-in user ends, this one included.
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
        Json(json!({ "sessions_ended": ended })),
    ))
}

async fn me(SignedIn(actor): SignedIn) -> Json<Value> {
    Json(actor_json(&actor))
}
