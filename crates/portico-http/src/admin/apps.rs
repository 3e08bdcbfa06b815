//! Partner applications: register, list, get, modify, New Secret, submit, review, visibility.

use crate::{
    AppState,
    auth::SignedIn,
    error::ApiResult,
    extract::{IfMatch, JsonBody, PathId, Tagged},
};
use axum::{Json, extract::State, http::StatusCode};
use portico_domain::{
    ApiCatalog, AppChanges, AppId, AppRegistration, CompanyId, PartnerApp, ReviewDecision,
    Visibility, WebServiceApi,
};
use portico_registry::RegisteredApp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalog))
        .routes(routes!(own_apps, register))
        .routes(routes!(company_apps))
        .routes(routes!(show, modify))
        .routes(routes!(new_secret))
        .routes(routes!(submit))
        .routes(routes!(review))
        .routes(routes!(visibility))
        .routes(routes!(resource_server))
        .routes(routes!(review_queue))
}

#[derive(Serialize, ToSchema)]
struct Catalog {
    apis: Vec<WebServiceApi>,
}

/// The API catalog: every Web Service API with its sensitive data groups and dependencies.
#[utoipa::path(
    get,
    path = "/catalog",
    tag = "apps",
    operation_id = "catalog",
    responses(
        (status = 200, description = "The APIs an app can register", body = Catalog),
        (status = 401, response = super::openapi::Unauthenticated),
    ),
)]
async fn catalog(State(s): State<AppState>, SignedIn(_): SignedIn) -> Json<Catalog> {
    Json(Catalog {
        apis: ApiCatalog::apis(s.registry.catalog()).to_vec(),
    })
}

#[utoipa::path(
    post,
    path = "/apps",
    tag = "apps",
    operation_id = "register_app",
    request_body = AppRegistration,
    responses(
        (status = 201, description = "Registered: the Key, and the Secret shown this once", body = RegisteredApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::PayloadTooLarge),
        (status = 415, response = super::openapi::UnsupportedMediaType),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/apps",
    tag = "apps",
    operation_id = "list_own_apps",
    responses(
        (status = 200, description = "The apps of the caller's company", body = Vec<PartnerApp>),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
    ),
)]
async fn own_apps(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<PartnerApp>>> {
    Ok(Json(s.registry.apps(&actor, actor.company_id()).await?))
}

#[utoipa::path(
    get,
    path = "/companies/{company_id}/apps",
    tag = "apps",
    operation_id = "list_company_apps",
    params(
        ("company_id" = CompanyId, Path, description = "The company's id"),
    ),
    responses(
        (status = 200, description = "The apps of the company", body = Vec<PartnerApp>),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/apps/{app_id}",
    tag = "apps",
    operation_id = "get_app",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
    ),
    responses(
        (status = 200, description = "The app", body = PartnerApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
    ),
)]
async fn show(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
) -> ApiResult<Tagged<PartnerApp>> {
    Ok(tagged(s.registry.app(&actor, id).await?))
}

#[utoipa::path(
    patch,
    path = "/apps/{app_id}",
    tag = "apps",
    operation_id = "modify_app",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    request_body = AppChanges,
    responses(
        (status = 200, description = "The app as modified", body = PartnerApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
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

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewSecretRequest {
    /// How long the old secret keeps working, at most the server's configured maximum.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(value_type = u64)]
    grace_seconds: u64,
}

/// JSON has numbers, not integers: `30.0` is as whole as `30` (JSON Schema agrees).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(f))
                .map(|f| f as u64)
        })
        .ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "invalid value: {n}, expected a whole number of seconds"
            ))
        })
}

/// The body is optional: none at all, `null` or `{}` means no grace.
#[utoipa::path(
    post,
    path = "/apps/{app_id}/secret",
    tag = "apps",
    operation_id = "new_secret",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    request_body = Option<NewSecretRequest>,
    responses(
        (status = 200, description = "The new Secret, shown this once (`null` for a keys-only app)", body = RegisteredApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
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
async fn new_secret(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
    PathId(id): PathId<AppId>,
    IfMatch(pre): IfMatch,
    body: Option<JsonBody<Option<NewSecretRequest>>>,
) -> ApiResult<Tagged<RegisteredApp>> {
    let req = body.and_then(|JsonBody(b)| b).unwrap_or_default();
    let registered = s
        .registry
        .new_secret(&actor, id, req.grace_seconds, &pre)
        .await?;
    Ok(Tagged(registered.app.version, registered))
}

#[utoipa::path(
    post,
    path = "/apps/{app_id}/submit",
    tag = "apps",
    operation_id = "submit_app",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    responses(
        (status = 200, description = "Submitted for review", body = PartnerApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 412, response = super::openapi::PreconditionFailed),
    ),
)]
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

#[utoipa::path(
    post,
    path = "/apps/{app_id}/review",
    tag = "apps",
    operation_id = "review_app",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    request_body = ReviewDecision,
    responses(
        (status = 200, description = "Reviewed", body = PartnerApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisibilityRequest {
    visibility: Visibility,
}

#[utoipa::path(
    put,
    path = "/apps/{app_id}/visibility",
    tag = "apps",
    operation_id = "set_visibility",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    request_body = VisibilityRequest,
    responses(
        (status = 200, description = "The app with its new visibility", body = PartnerApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResourceServerRequest {
    resource_server: bool,
    /// RFC 8707's resource indicator clients ask tokens for this resource server with.
    #[serde(default)]
    resource_uri: Option<String>,
}

#[utoipa::path(
    put,
    path = "/apps/{app_id}/resource-server",
    tag = "apps",
    operation_id = "set_resource_server",
    params(
        ("app_id" = AppId, Path, description = "The app's Key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "The version the change was decided on, `\"<version>\"`"),
    ),
    request_body = ResourceServerRequest,
    responses(
        (status = 200, description = "The app as changed", body = PartnerApp,
            headers(("ETag" = String, description = "The app's version, `\"<version>\"`"))),
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

#[utoipa::path(
    get,
    path = "/review-queue",
    tag = "apps",
    operation_id = "review_queue",
    responses(
        (status = 200, description = "The apps waiting for review (staff)", body = Vec<PartnerApp>),
        (status = 401, response = super::openapi::Unauthenticated),
        (status = 403, response = super::openapi::Forbidden),
    ),
)]
async fn review_queue(
    State(s): State<AppState>,
    SignedIn(actor): SignedIn,
) -> ApiResult<Json<Vec<PartnerApp>>> {
    Ok(Json(s.registry.review_queue(&actor).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_is_a_whole_number_however_written() {
        let grace = |body: &str| {
            crate::extract::parse_json::<NewSecretRequest>(body.as_bytes())
                .map(|r| r.grace_seconds)
                .ok()
        };
        assert_eq!(grace("{}"), Some(0));
        assert_eq!(grace(r#"{"grace_seconds": 30}"#), Some(30));
        assert_eq!(grace(r#"{"grace_seconds": 30.0}"#), Some(30));
        assert_eq!(grace(r#"{"grace_seconds": 1e3}"#), Some(1000));
        for bad in ["30.5", "-1", "-1.0", "1e30", "\"30\"", "null"] {
            assert_eq!(
                grace(&format!(r#"{{"grace_seconds": {bad}}}"#)),
                None,
                "{bad}"
            );
        }
    }
}
