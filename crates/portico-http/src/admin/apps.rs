//! Partner applications: register, list, get, modify, New Secret, submit, review, visibility.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{IfMatch, JsonBody, PathId, Tagged},
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
) -> ApiResult<(StatusCode, Tagged<RegisteredApp>)> {
    let registered = s.registry.register_app(&actor, req).await?;
    Ok((
        StatusCode::CREATED,
        Tagged(registered.app.version, registered),
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

/// The app, with its version as the `ETag` to send back in `If-Match`.
fn tagged(app: PartnerApp) -> Tagged<PartnerApp> {
    Tagged(app.version, app)
}

async fn show(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
) -> ApiResult<Tagged<PartnerApp>> {
    Ok(tagged(s.registry.app(&actor, id).await?))
}

async fn modify(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    IfMatch(pre): IfMatch,
    JsonBody(changes): JsonBody<AppChanges>,
) -> ApiResult<Tagged<PartnerApp>> {
    Ok(tagged(
        s.registry.modify_app(&actor, id, changes, &pre).await?,
    ))
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
    IfMatch(pre): IfMatch,
    body: Option<JsonBody<NewSecretRequest>>,
) -> ApiResult<Tagged<RegisteredApp>> {
    let req = body.map(|JsonBody(b)| b).unwrap_or_default();
    let registered = s
        .registry
        .new_secret(&actor, id, req.grace_seconds, &pre)
        .await?;
    Ok(Tagged(registered.app.version, registered))
}

async fn submit(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    IfMatch(pre): IfMatch,
) -> ApiResult<Tagged<PartnerApp>> {
    Ok(tagged(
        s.registry.submit_for_review(&actor, id, &pre).await?,
    ))
}

async fn review(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    IfMatch(pre): IfMatch,
    JsonBody(decision): JsonBody<ReviewDecision>,
) -> ApiResult<Tagged<PartnerApp>> {
    Ok(tagged(
        s.registry.review_app(&actor, id, decision, &pre).await?,
    ))
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
    IfMatch(pre): IfMatch,
    JsonBody(req): JsonBody<VisibilityRequest>,
) -> ApiResult<Tagged<PartnerApp>> {
    Ok(tagged(
        s.registry
            .set_visibility(&actor, id, req.visibility, &pre)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceServerRequest {
    resource_server: bool,
    /// RFC 8707's resource indicator clients ask tokens for this resource server with.
    #[serde(default)]
    resource_uri: Option<String>,
}

async fn resource_server(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    IfMatch(pre): IfMatch,
    JsonBody(req): JsonBody<ResourceServerRequest>,
) -> ApiResult<Tagged<PartnerApp>> {
    Ok(tagged(
        s.registry
            .set_resource_server(&actor, id, req.resource_server, req.resource_uri, &pre)
            .await?,
    ))
}

async fn review_queue(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<PartnerApp>>> {
    Ok(Json(s.registry.review_queue(&actor).await?))
}
