//! The audit log.

use crate::{
    AppState,
    auth::SignedIn,
    error::{ApiError, ApiResult},
    extract::parse_id,
};
use axum::{
    Json,
    extract::{Query, State},
};
use portico_domain::{AuditEntry, CompanyId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// Staff: one company's entries (default: every company's). Others: their own company.
    #[param(value_type = Option<String>, format = Uuid, nullable = false)]
    company_id: Option<String>,
    /// Entries older than this one (the `id` of the last entry seen).
    #[param(nullable = false)]
    before: Option<i64>,
    /// How many entries, 100 unless given; 1 to 500, nearer values taken for others.
    #[param(nullable = false)]
    limit: Option<i64>,
}

/// Newest first; page with `before=<id of the last entry seen>`.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    operation_id = "audit_log",
    params(
        AuditParams,
    ),
    responses(
        (status = 200, description = "Entries, newest first", body = Vec<AuditEntry>),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
    ),
)]
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
            .audit_log(
                &actor,
                company,
                p.before,
                p.limit.map_or(100, |l| l.clamp(1, 500).unsigned_abs()),
            )
            .await?,
    ))
}
