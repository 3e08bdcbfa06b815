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
    Json,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use portico_domain::{
    AppId, Company, DomainError, PartnerApp, SandboxDecision, SandboxRequest, SandboxRequestStatus,
    SandboxSignUp, SignUpMode, User, Visibility,
};
use portico_registry::{Certified, RegisteredApp, SandboxDecided, SignUpOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::sessions::SessionToken;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up_mode, sign_up))
        .routes(routes!(requests))
        .routes(routes!(decide))
        .routes(routes!(certify))
        .routes(routes!(production))
}

#[derive(Serialize, ToSchema)]
struct SignUpModeAnswer {
    mode: SignUpMode,
}

/// Whether sign-up is open, needs approval, or is off (public: the sign-up page asks).
#[utoipa::path(
    get,
    path = "/sign-up",
    tag = "developer-program",
    operation_id = "sign_up_mode",
    security(()),
    responses((status = 200, description = "How sign-up works on this server", body = SignUpModeAnswer)),
)]
async fn sign_up_mode(State(s): State<AppState>) -> Json<SignUpModeAnswer> {
    Json(SignUpModeAnswer {
        mode: s.registry.sign_up_mode(),
    })
}

/// What a sign-up made: the sandbox at once (201), or a request that waits for staff (202).
#[derive(Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per sign-up to be serialized, never kept"
)]
enum SignUpAnswer {
    /// The sandbox, its admin (the developer, signed in) and the sample app's Key and Secret
    /// (shown this once).
    Created {
        company: Company,
        admin: User,
        sample_app: RegisteredApp,
        session: SessionToken,
    },
    /// Waiting for staff.
    Pending { request: SandboxRequest },
}

/// Sign up for a sandbox (public). 201 with the sandbox, the sample app's Key and Secret (shown
/// once) and a session; or 202 with the request that waits for staff.
#[utoipa::path(
    post,
    path = "/sign-up",
    tag = "developer-program",
    operation_id = "sign_up",
    security(()),
    request_body = SandboxSignUp,
    responses(
        (status = 201, description = "The sandbox, made now; the developer is signed in", body = SignUpAnswer,
            headers(("Set-Cookie" = String, description = "The `portico_session` cookie"))),
        (status = 202, description = "The request, waiting for staff", body = SignUpAnswer),
        (status = 400, response = super::openapi::BadRequest),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
        (status = 429, response = super::openapi::TooManyAttempts),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
async fn sign_up(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    JsonBody(form): JsonBody<SandboxSignUp>,
) -> ApiResult<Response> {
    Ok(match s.registry.sign_up(form, source).await? {
        SignUpOutcome::Created(made) => {
            let made = *made;
            let token = made.session.token.expose();
            let max_age = (made.session.expires_at - chrono::Utc::now()).num_seconds();
            let cookie = auth::session_cookie(token, max_age, s.settings.secure_cookies);
            let session = SessionToken::new(token, made.session.expires_at);
            (
                StatusCode::CREATED,
                [(header::SET_COOKIE, cookie)],
                Json(SignUpAnswer::Created {
                    company: made.company,
                    admin: made.admin,
                    sample_app: made.sample_app,
                    session,
                }),
            )
                .into_response()
        }
        SignUpOutcome::Waiting(request) => (
            StatusCode::ACCEPTED,
            Json(SignUpAnswer::Pending { request }),
        )
            .into_response(),
    })
}

/// Which sign-up requests to list (the query's `status`, parsed by hand so that a bad one is
/// named).
#[derive(ToSchema)]
#[schema(as = SandboxRequestFilter, rename_all = "snake_case")]
#[allow(dead_code)]
enum StatusFilter {
    Pending,
    Approved,
    Rejected,
    All,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RequestsParams {
    /// `pending` (the default), `approved`, `rejected` or `all`.
    #[param(value_type = Option<StatusFilter>, inline, nullable = false)]
    status: Option<String>,
}

#[utoipa::path(
    get,
    path = "/sandbox-requests",
    tag = "developer-program",
    operation_id = "list_sandbox_requests",
    params(
        RequestsParams,
    ),
    responses(
        (status = 200, description = "Sign-up requests (staff), newest first", body = Vec<SandboxRequest>),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
    ),
)]
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

#[utoipa::path(
    post,
    path = "/sandbox-requests/{request_id}/decision",
    tag = "developer-program",
    operation_id = "decide_sandbox_request",
    params(
        ("request_id" = uuid::Uuid, Path, description = "The sign-up request's id"),
    ),
    request_body = SandboxDecision,
    responses(
        (status = 200, description = "The request as decided, and the sandbox made on approval", body = SandboxDecided),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CertificationRequest {
    visibility: ProductionVisibility,
}

/// What a production registration may be: listed for every company, or enabled for all
/// (never Private: that is what the sandbox app stays).
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ProductionVisibility {
    Public,
    Global,
}

impl From<ProductionVisibility> for Visibility {
    fn from(v: ProductionVisibility) -> Self {
        match v {
            ProductionVisibility::Public => Visibility::Public,
            ProductionVisibility::Global => Visibility::Global,
        }
    }
}

/// 201 when the production registration was made now, 200 when certified again.
#[utoipa::path(
    post,
    path = "/apps/{app_id}/certification",
    tag = "developer-program",
    operation_id = "certify_app",
    params(
        ("app_id" = AppId, Path, description = "The sandbox app's Key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The sandbox app's version the certification was decided on, `\"<version>\"`"),
    ),
    request_body = CertificationRequest,
    responses(
        (status = 200, description = "Certified again: the production registration now has the sandbox app's APIs", body = Certified),
        (status = 201, description = "Certified: the production registration, made now", body = Certified),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 412, response = super::openapi::PreconditionFailed),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
    ),
)]
async fn certify(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    IfMatch(pre): IfMatch,
    JsonBody(req): JsonBody<CertificationRequest>,
) -> ApiResult<(StatusCode, Json<Certified>)> {
    let certified = s
        .registry
        .certify_app(&actor, id, req.visibility.into(), &pre)
        .await?;
    let status = if certified.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(certified)))
}

#[utoipa::path(
    get,
    path = "/apps/{app_id}/production",
    tag = "developer-program",
    operation_id = "production_of",
    params(
        ("app_id" = AppId, Path, description = "The sandbox app's Key"),
    ),
    responses(
        (status = 200, description = "The production registration of the sandbox app", body = PartnerApp),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
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
