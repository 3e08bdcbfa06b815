//! The audit log.

use crate::{
    AppState,
    auth::SignedIn,
    error::{ApiError, ApiResult},
    extract::parse_id,
};
use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use portico_domain::{AuditEntry, CompanyId};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Deserialize)]
struct AuditParams {
    company_id: Option<String>,
    before: Option<i64>,
    limit: Option<u64>,
}

/// Newest first; page with `before=<id of the last entry seen>`.
async fn list(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest {
        field: None,
        message: e.body_text(),
    })?;
    let company = p
        .company_id
        .map(|c| parse_id::<CompanyId>("company_id", &c))
        .transpose()?;
    Ok(Json(
        s.registry
            .audit_log(&actor, company, p.before, p.limit.unwrap_or(100))
            .await?,
    ))
}
