//! The developer program: sandbox sign-up (public), the sign-up requests staff decide, and
//! certification, which gives a reviewed sandbox app its production registration.

use crate::{
    AppState,
    auth::{self, SignedIn},
    client_addr::ClientAddr,
    error::{ApiError, ApiResult},
    extract::{IfMatch, JsonBody, PathId},
};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use portico_domain::{
    AppId, DomainError, PartnerApp, SandboxDecision, SandboxRequest, SandboxRequestStatus,
    SandboxSignUp, Visibility,
};
use portico_registry::{Certified, SandboxDecided, SignUpOutcome};
use serde::Deserialize;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-up", get(sign_up_mode).post(sign_up))
        .route("/sandbox-requests", get(requests))
        .route("/sandbox-requests/{request_id}/decision", post(decide))
        .route("/apps/{app_id}/certification", post(certify))
        .route("/apps/{app_id}/production", get(production))
}

/// Whether sign-up is open, needs approval, or is off (public: the sign-up page asks).
async fn sign_up_mode(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "mode": s.registry.sign_up_mode() }))
}

/// 201 with the sandbox, the sample app's Key and Secret (shown once) and a session; or 202
/// with the request that waits for staff.
async fn sign_up(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    JsonBody(form): JsonBody<SandboxSignUp>,
) -> ApiResult<Response> {
    Ok(match s.registry.sign_up(form, source).await? {
        SignUpOutcome::Created(made) => {
            let token = made.session.token.expose();
            let max_age = (made.session.expires_at - chrono::Utc::now()).num_seconds();
            let cookie = auth::session_cookie(token, max_age, s.settings.secure_cookies);
            (
                StatusCode::CREATED,
                [(header::SET_COOKIE, cookie)],
                Json(json!({
                    "status": "created",
                    "company": made.company,
                    "admin": made.admin,
                    "sample_app": made.sample_app,
                    "session": {
                        "token": token,
                        "token_type": "Bearer",
                        "expires_at": made.session.expires_at,
                        "csrf_token": auth::csrf_token(token),
                    },
                })),
            )
                .into_response()
        }
        SignUpOutcome::Waiting(request) => (
            StatusCode::ACCEPTED,
            Json(json!({ "status": "pending", "request": request })),
        )
            .into_response(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestsParams {
    /// `pending` (the default), `approved`, `rejected` or `all`.
    status: Option<String>,
}

async fn requests(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    params: Result<Query<RequestsParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<SandboxRequest>>> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest {
        field: None,
        message: e.body_text(),
    })?;
    let status = match p.status.as_deref() {
        None => Some(SandboxRequestStatus::Pending),
        Some("all") => None,
        Some(other) => Some(SandboxRequestStatus::parse(other).ok_or_else(|| {
            DomainError::invalid("status", "must be pending, approved, rejected or all")
        })?),
    };
    Ok(Json(s.registry.sandbox_requests(&actor, status).await?))
}

async fn decide(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<uuid::Uuid>,
    JsonBody(decision): JsonBody<SandboxDecision>,
) -> ApiResult<Json<SandboxDecided>> {
    Ok(Json(
        s.registry
            .decide_sandbox_request(&actor, id, decision)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificationRequest {
    visibility: Visibility,
}

/// 201 when the production registration was made now, 200 when certified again.
async fn certify(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    IfMatch(pre): IfMatch,
    JsonBody(req): JsonBody<CertificationRequest>,
) -> ApiResult<(StatusCode, Json<Certified>)> {
    let certified = s
        .registry
        .certify_app(&actor, id, req.visibility, &pre)
        .await?;
    let status = if certified.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(certified)))
}

async fn production(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
) -> ApiResult<Json<PartnerApp>> {
    s.registry
        .production_of(&actor, id)
        .await?
        .map(Json)
        .ok_or_else(|| DomainError::not_found("production registration").into())
}
