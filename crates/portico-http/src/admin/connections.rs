//! Connections: list and Disconnect, for a company's admins, for staff (an app everywhere) and
//! for the signed-in user's own.

use crate::{
    AppState,
    auth::SignedIn,
    error::{ApiError, ApiResult},
    extract::parse_id,
};
use axum::{
    Json,
    extract::{Path, Query, State},
};
use portico_domain::{AppId, CompanyId, UserId};
use portico_registry::{ConnectionView, DisconnectTarget, Disconnected};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, disconnect_many))
        .routes(routes!(disconnect_one))
        .routes(routes!(disconnect_everywhere))
        .routes(routes!(mine))
        .routes(routes!(disconnect_mine))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Filter {
    /// Only this app's connections.
    #[param(value_type = Option<String>, format = Uuid, nullable = false)]
    app_id: Option<String>,
    /// Only this user's connections.
    #[param(value_type = Option<String>, format = Uuid, nullable = false)]
    user_id: Option<String>,
}

type FilterQuery = Result<Query<Filter>, axum::extract::rejection::QueryRejection>;

fn filter(q: FilterQuery) -> ApiResult<(Option<AppId>, Option<UserId>)> {
    let Query(f) = q.map_err(|e| ApiError::BadRequest {
        field: None,
        message: e.body_text(),
    })?;
    Ok((
        f.app_id.map(|a| parse_id("app_id", &a)).transpose()?,
        f.user_id.map(|u| parse_id("user_id", &u)).transpose()?,
    ))
}

#[utoipa::path(
    get,
    path = "/companies/{company_id}/connections",
    tag = "connections",
    operation_id = "list_connections",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id"),
        Filter,
    ),
    responses(
        (status = 200, description = "The live connections, most recently used first", body = Vec<ConnectionView>),
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
    q: FilterQuery,
) -> ApiResult<Json<Vec<ConnectionView>>> {
    let (app, user) = filter(q)?;
    Ok(Json(
        s.registry.connections(&actor, company, app, user).await?,
    ))
}

/// `?user_id=` (all of a user's), `?app_id=` (all of an app's here), or both; never the whole
/// company by accident.
#[utoipa::path(
    delete,
    path = "/companies/{company_id}/connections",
    tag = "connections",
    operation_id = "disconnect",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id"),
        Filter,
    ),
    responses(
        (status = 200, description = "What was disconnected", body = Disconnected),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn disconnect_many(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    crate::extract::PathId(company): crate::extract::PathId<CompanyId>,
    q: FilterQuery,
) -> ApiResult<Json<Disconnected>> {
    let target = match filter(q)? {
        (Some(app), Some(user)) => DisconnectTarget::UserApp(user, app),
        (Some(app), None) => DisconnectTarget::App(app),
        (None, Some(user)) => DisconnectTarget::User(user),
        (None, None) => {
            return Err(ApiError::BadRequest {
                field: Some("user_id".into()),
                message: "name the connections to end: user_id, app_id, or both".into(),
            });
        }
    };
    Ok(Json(s.registry.disconnect(&actor, company, target).await?))
}

#[utoipa::path(
    delete,
    path = "/companies/{company_id}/connections/{grant_id}",
    tag = "connections",
    operation_id = "disconnect_grant",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id"),
        ("grant_id" = String, Path, description = "The connection's `grant_id`: 1 to 64 letters, digits, `-` or `_`", pattern = "^[A-Za-z0-9_-]{1,64}$"),
    ),
    responses(
        (status = 200, description = "What was disconnected", body = Disconnected),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn disconnect_one(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    Path((company, grant)): Path<(String, String)>,
) -> ApiResult<Json<Disconnected>> {
    let company: CompanyId = parse_id("company_id", &company)?;
    if grant.is_empty()
        || grant.len() > 64
        || !grant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::BadRequest {
            field: Some("grant_id".into()),
            message: "grant_id is not a connection id".into(),
        });
    }
    Ok(Json(
        s.registry
            .disconnect(&actor, company, DisconnectTarget::Grant(grant))
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/apps/{app_id}/connections",
    tag = "connections",
    operation_id = "disconnect_app_everywhere",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
    ),
    responses(
        (status = 200, description = "What was disconnected", body = Disconnected),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn disconnect_everywhere(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    crate::extract::PathId(app): crate::extract::PathId<AppId>,
) -> ApiResult<Json<Disconnected>> {
    Ok(Json(s.registry.disconnect_everywhere(&actor, app).await?))
}

#[utoipa::path(
    get,
    path = "/me/connections",
    tag = "connections",
    operation_id = "my_connections",
    responses(
        (status = 200, description = "The apps connected to the signed-in user", body = Vec<ConnectionView>),
        (status = 401, response = super::openapi::Unauthenticated),
    ),
)]
async fn mine(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<ConnectionView>>> {
    Ok(Json(s.registry.my_connections(&actor).await?))
}

#[utoipa::path(
    delete,
    path = "/me/connections/{app_id}",
    tag = "connections",
    operation_id = "disconnect_mine",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
    ),
    responses(
        (status = 200, description = "What was disconnected", body = Disconnected),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn disconnect_mine(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    crate::extract::PathId(app): crate::extract::PathId<AppId>,
) -> ApiResult<Json<Disconnected>> {
    Ok(Json(s.registry.disconnect_mine(&actor, app).await?))
}
