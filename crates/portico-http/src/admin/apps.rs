//! Partner applications: register, list, get, modify, New Secret, submit, review, visibility.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{JsonBody, PathId},
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post, put},
};
use portico_domain::{
    ApiCatalog, AppChanges, AppId, AppRegistration, CompanyId, PartnerApp, ReviewDecision,
    Visibility,
};
use portico_registry::RegisteredApp;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(catalog))
        .route("/apps", get(own_apps).post(register))
        .route("/companies/{company_id}/apps", get(company_apps))
        .route("/apps/{app_id}", get(show).patch(modify))
        .route("/apps/{app_id}/secret", post(new_secret))
        .route("/apps/{app_id}/submit", post(submit))
        .route("/apps/{app_id}/review", post(review))
        .route("/apps/{app_id}/visibility", put(visibility))
        .route("/apps/{app_id}/resource-server", put(resource_server))
        .route("/review-queue", get(review_queue))
}

/// The API catalog: every Web Service API with its sensitive data groups and dependencies.
async fn catalog(State(s): State<AppState>, SignedIn(_): SignedIn) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "apis": ApiCatalog::apis(s.registry.catalog()) }))
}

async fn register(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    JsonBody(req): JsonBody<AppRegistration>,
) -> ApiResult<(StatusCode, Json<RegisteredApp>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.registry.register_app(&actor, req).await?),
    ))
}

async fn own_apps(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<PartnerApp>>> {
    Ok(Json(s.registry.apps(&actor, actor.company_id()).await?))
}

async fn company_apps(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(company): PathId<CompanyId>,
) -> ApiResult<Json<Vec<PartnerApp>>> {
    Ok(Json(s.registry.apps(&actor, company).await?))
}

async fn show(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
) -> ApiResult<Json<PartnerApp>> {
    Ok(Json(s.registry.app(&actor, id).await?))
}

async fn modify(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    JsonBody(changes): JsonBody<AppChanges>,
) -> ApiResult<Json<PartnerApp>> {
    Ok(Json(s.registry.modify_app(&actor, id, changes).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewSecretRequest {
    #[serde(default)]
    grace_seconds: u64,
}

/// The body is optional: `{}` or none at all means no grace.
async fn new_secret(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    body: Option<JsonBody<NewSecretRequest>>,
) -> ApiResult<Json<RegisteredApp>> {
    let req = body.map(|JsonBody(b)| b).unwrap_or_default();
    Ok(Json(
        s.registry.new_secret(&actor, id, req.grace_seconds).await?,
    ))
}

async fn submit(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
) -> ApiResult<Json<PartnerApp>> {
    Ok(Json(s.registry.submit_for_review(&actor, id).await?))
}

async fn review(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    JsonBody(decision): JsonBody<ReviewDecision>,
) -> ApiResult<Json<PartnerApp>> {
    Ok(Json(s.registry.review_app(&actor, id, decision).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisibilityRequest {
    visibility: Visibility,
}

async fn visibility(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    JsonBody(req): JsonBody<VisibilityRequest>,
) -> ApiResult<Json<PartnerApp>> {
    Ok(Json(
        s.registry
            .set_visibility(&actor, id, req.visibility)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceServerRequest {
    resource_server: bool,
}

async fn resource_server(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    JsonBody(req): JsonBody<ResourceServerRequest>,
) -> ApiResult<Json<PartnerApp>> {
    Ok(Json(
        s.registry
            .set_resource_server(&actor, id, req.resource_server)
            .await?,
    ))
}

async fn review_queue(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<PartnerApp>>> {
    Ok(Json(s.registry.review_queue(&actor).await?))
}
