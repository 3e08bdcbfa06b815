//! Company Request Token: a company admin generates one for an app enabled for the company.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{JsonBody, PathId},
};
use axum::{Json, extract::State, http::StatusCode};
use portico_domain::{AppId, CompanyId};
use portico_registry::IssuedRequestToken;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateRequestToken {
    app_id: AppId,
}

/// 201 with the company id and the token, shown this once.
#[utoipa::path(
    post,
    path = "/companies/{company_id}/request-tokens",
    tag = "request-tokens",
    operation_id = "create_request_token",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id (the caller's own)"),
    ),
    request_body = CreateRequestToken,
    responses(
        (status = 201, description = "The request token, shown this once", body = IssuedRequestToken),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
    ),
)]
async fn create(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(company): PathId<CompanyId>,
    JsonBody(req): JsonBody<CreateRequestToken>,
) -> ApiResult<(StatusCode, Json<IssuedRequestToken>)> {
    let issued = s
        .registry
        .create_request_token(&actor, company, req.app_id)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}
