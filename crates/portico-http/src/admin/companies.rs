//! Companies and their users.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{IfMatch, JsonBody, PathId, Tagged},
};
use axum::{Json, extract::State, http::StatusCode};
use portico_domain::{
    Company, CompanyChanges, CompanyId, NewCompany, NewUser, User, UserChanges, UserId,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
        .routes(routes!(users, create_user))
        .routes(routes!(user, update_user))
}

/// Every company (staff), or the caller's own.
#[utoipa::path(
    get,
    path = "/companies",
    tag = "companies",
    operation_id = "list_companies",
    responses(
        (status = 200, description = "The companies the caller administers", body = Vec<Company>),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
    ),
)]
async fn list(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<Company>>> {
    Ok(Json(s.registry.companies(&actor).await?))
}

/// Create a company (staff).
#[utoipa::path(
    post,
    path = "/companies",
    tag = "companies",
    operation_id = "create_company",
    request_body = NewCompany,
    responses(
        (status = 201, description = "Created", body = Company),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/companies/{company_id}",
    tag = "companies",
    operation_id = "get_company",
    params(("company_id" = CompanyId, Path, description = "The company's id")),
    responses(
        (status = 200, description = "The company", body = Company,
            headers(("ETag" = String, description = "The company's version, `\"<version>\"`"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn show(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<CompanyId>,
) -> ApiResult<Tagged<Company>> {
    let company = s.registry.company(&actor, id).await?;
    Ok(Tagged(company.version, company))
}

/// Change a company (staff); only the members sent change.
#[utoipa::path(
    patch,
    path = "/companies/{company_id}",
    tag = "companies",
    operation_id = "update_company",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    request_body = CompanyChanges,
    responses(
        (status = 200, description = "The company as changed", body = Company,
            headers(("ETag" = String, description = "The company's new version"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 412, response = super::openapi::PreconditionFailed),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/companies/{company_id}/users",
    tag = "companies",
    operation_id = "list_users",
    params(("company_id" = CompanyId, Path, description = "The company's id")),
    responses(
        (status = 200, description = "The company's users", body = Vec<User>),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn users(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<CompanyId>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.registry.users(&actor, id).await?))
}

#[derive(Serialize, ToSchema)]
struct CreatedUser {
    user: User,
    /// The password generated when none was given: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Password)]
    generated_password: Option<String>,
}

/// 201 with the user, and the generated password once when none was given.
#[utoipa::path(
    post,
    path = "/companies/{company_id}/users",
    tag = "companies",
    operation_id = "create_user",
    params(("company_id" = CompanyId, Path, description = "The company's id")),
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = CreatedUser),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
async fn create_user(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(company): PathId<CompanyId>,
    JsonBody(new): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let (user, generated) = s.registry.create_user(&actor, company, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user,
            generated_password: generated.map(|p| p.expose().to_owned()),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/users/{user_id}",
    tag = "companies",
    operation_id = "get_user",
    params(("user_id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = User,
            headers(("ETag" = String, description = "The user's version, `\"<version>\"`"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn user(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<UserId>,
) -> ApiResult<Tagged<User>> {
    let user = s.registry.user(&actor, id).await?;
    Ok(Tagged(user.version, user))
}

/// Change a user; only the members sent change. A new password, a disable or a permission
/// taken away ends the user's sessions.
#[utoipa::path(
    patch,
    path = "/users/{user_id}",
    tag = "companies",
    operation_id = "update_user",
    params(
        ("user_id" = UserId, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The user as changed", body = User,
            headers(("ETag" = String, description = "The user's new version"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 412, response = super::openapi::PreconditionFailed),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
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
