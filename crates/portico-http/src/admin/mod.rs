//! The admin REST API under `/admin/v1`: JSON in and out, errors as
//! `{"error", "message", "field"?}`. Authorization is checked by the registry services on every
//! call. Its OpenAPI contract is [`openapi`]: every route below is registered with utoipa-axum's
//! `routes!`, which takes the route's path and methods from the handler's `#[utoipa::path]`.

mod apps;
mod audit;
mod companies;
mod connections;
mod developer;
mod enablements;
pub mod openapi;
mod request_tokens;
mod sessions;

use crate::AppState;
use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use openapi::{ADMIN_ROUTES, document};

/// Every admin route with its description, relative to `/admin/v1`.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::openapi_json))
        .merge(sessions::router())
        .merge(companies::router())
        .merge(apps::router())
        .merge(enablements::router())
        .merge(connections::router())
        .merge(audit::router())
        .merge(request_tokens::router())
        .merge(developer::router())
}

pub fn router() -> Router<AppState> {
    let (router, _) = routes().split_for_parts();
    router.layer(axum::middleware::map_response(no_store))
}

/// Admin responses carry secrets (once) and tenant data: never cache them.
async fn no_store(mut resp: Response) -> impl IntoResponse {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
