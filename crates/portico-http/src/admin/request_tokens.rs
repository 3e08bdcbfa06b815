//! Company Request Token: a company admin generates one for an app enabled for the company.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{JsonBody, PathId},
};
use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use portico_domain::{AppId, CompanyId};
use portico_registry::IssuedRequestToken;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/companies/{company_id}/request-tokens", post(create))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequestToken {
    app_id: AppId,
}

/// 201 with the company id and the token, shown this once.
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
