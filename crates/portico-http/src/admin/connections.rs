//! Connections: list and Disconnect, for a company's admins, for staff (an app everywhere) and
//! for the signed-in user's own.

use crate::{
    AppState,
    auth::SignedIn,
    error::{ApiError, ApiResult},
    extract::parse_id,
};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::{delete, get},
};
use portico_domain::{AppId, CompanyId, UserId};
use portico_registry::{ConnectionView, DisconnectTarget, Disconnected};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/companies/{company_id}/connections",
            get(list).delete(disconnect_many),
        )
        .route(
            "/companies/{company_id}/connections/{grant_id}",
            delete(disconnect_one),
        )
        .route("/apps/{app_id}/connections", delete(disconnect_everywhere))
        .route("/me/connections", get(mine))
        .route("/me/connections/{app_id}", delete(disconnect_mine))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    app_id: Option<String>,
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

async fn disconnect_everywhere(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    crate::extract::PathId(app): crate::extract::PathId<AppId>,
) -> ApiResult<Json<Disconnected>> {
    Ok(Json(s.registry.disconnect_everywhere(&actor, app).await?))
}

async fn mine(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<ConnectionView>>> {
    Ok(Json(s.registry.my_connections(&actor).await?))
}

async fn disconnect_mine(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    crate::extract::PathId(app): crate::extract::PathId<AppId>,
) -> ApiResult<Json<Disconnected>> {
    Ok(Json(s.registry.disconnect_mine(&actor, app).await?))
}
