//! Companies and their users.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{JsonBody, PathId},
};
use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use portico_domain::{
    Company, CompanyChanges, CompanyId, NewCompany, NewUser, User, UserChanges, UserId,
};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/companies", get(list).post(create))
        .route("/companies/{company_id}", get(show).patch(update))
        .route(
            "/companies/{company_id}/users",
            get(users).post(create_user),
        )
        .route("/users/{user_id}", get(user).patch(update_user))
}

async fn list(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<Company>>> {
    Ok(Json(s.registry.companies(&actor).await?))
}

async fn create(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    JsonBody(new): JsonBody<NewCompany>,
) -> ApiResult<(StatusCode, Json<Company>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.registry.create_company(&actor, new).await?),
    ))
}

async fn show(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<CompanyId>,
) -> ApiResult<Json<Company>> {
    Ok(Json(s.registry.company(&actor, id).await?))
}

async fn update(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<CompanyId>,
    JsonBody(changes): JsonBody<CompanyChanges>,
) -> ApiResult<Json<Company>> {
    Ok(Json(s.registry.update_company(&actor, id, changes).await?))
}

async fn users(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<CompanyId>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.registry.users(&actor, id).await?))
}

/// 201 with the user, and the generated password once when none was given.
async fn create_user(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(company): PathId<CompanyId>,
    JsonBody(new): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (user, generated) = s.registry.create_user(&actor, company, new).await?;
    let mut body = json!({ "user": user });
    if let Some(p) = generated {
        body["generated_password"] = json!(p.expose());
    }
    Ok((StatusCode::CREATED, Json(body)))
}

async fn user(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(s.registry.user(&actor, id).await?))
}

async fn update_user(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<UserId>,
    JsonBody(changes): JsonBody<UserChanges>,
) -> ApiResult<Json<User>> {
    Ok(Json(s.registry.update_user(&actor, id, changes).await?))
}
