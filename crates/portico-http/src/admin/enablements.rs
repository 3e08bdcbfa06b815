//! Enable Partner Application.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{JsonBody, parse_id},
};
use axum::{
    Json,
    extract::{Path, State},
};
use portico_domain::{AppId, CompanyId};
use portico_registry::AvailableApp;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(set))
}

#[utoipa::path(
    get,
    path = "/companies/{company_id}/enablements",
    tag = "enablements",
    operation_id = "list_enablements",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id"),
    ),
    responses(
        (status = 200, description = "The apps the company may enable, and whether each is enabled", body = Vec<AvailableApp>),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn list(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    crate::extract::PathId(company): crate::extract::PathId<CompanyId>,
) -> ApiResult<Json<Vec<AvailableApp>>> {
    Ok(Json(s.registry.available_apps(&actor, company).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetEnabled {
    enabled: bool,
}

#[utoipa::path(
    put,
    path = "/companies/{company_id}/enablements/{app_id}",
    tag = "enablements",
    operation_id = "set_enablement",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id"),
        ("app_id" = AppId, Path, description = "The app's Key"),
    ),
    request_body = SetEnabled,
    responses(
        (status = 200, description = "The app, enabled or disabled for the company", body = AvailableApp),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
    ),
)]
async fn set(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((company, app)): Path<(String, String)>,
    JsonBody(req): JsonBody<SetEnabled>,
) -> ApiResult<Json<AvailableApp>> {
    let company: CompanyId = parse_id("company_id", &company)?;
    let app: AppId = parse_id("app_id", &app)?;
    Ok(Json(
        s.registry
            .set_enabled(&actor, company, app, req.enabled)
            .await?,
    ))
}
