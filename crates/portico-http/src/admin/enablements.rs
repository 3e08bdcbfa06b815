//! Enable Partner Application.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{JsonBody, parse_id},
};
use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, put},
};
use portico_domain::{AppId, CompanyId};
use portico_registry::AvailableApp;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/companies/{company_id}/enablements", get(list))
        .route("/companies/{company_id}/enablements/{app_id}", put(set))
}

async fn list(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    crate::extract::PathId(company): crate::extract::PathId<CompanyId>,
) -> ApiResult<Json<Vec<AvailableApp>>> {
    Ok(Json(s.registry.available_apps(&actor, company).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetEnabled {
    enabled: bool,
}

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
