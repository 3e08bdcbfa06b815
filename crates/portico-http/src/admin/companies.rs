//! Companies and their users.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{IfMatch, JsonBody, PathId, Tagged},
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
) -> ApiResult<Tagged<Company>> {
    let company = s.registry.company(&actor, id).await?;
    Ok(Tagged(company.version, company))
}

async fn update(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<CompanyId>,
    IfMatch(pre): IfMatch,
    JsonBody(changes): JsonBody<CompanyChanges>,
) -> ApiResult<Tagged<Company>> {
    let company = s.registry.update_company(&actor, id, changes, &pre).await?;
    Ok(Tagged(company.version, company))
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
) -> ApiResult<Tagged<User>> {
    let user = s.registry.user(&actor, id).await?;
    Ok(Tagged(user.version, user))
}

async fn update_user(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<UserId>,
    IfMatch(pre): IfMatch,
    JsonBody(changes): JsonBody<UserChanges>,
) -> ApiResult<Tagged<User>> {
    let user = s.registry.update_user(&actor, id, changes, &pre).await?;
    Ok(Tagged(user.version, user))
}
