//! The admin REST API under `/admin/v1`: JSON in and out, errors as
//! `{"error", "message", "field"?}`. Authorization is checked by the registry services on every
//! call.

mod apps;
mod audit;
mod companies;
mod connections;
mod developer;
mod enablements;
mod request_tokens;
mod sessions;

use crate::AppState;
use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(sessions::router())
        .merge(companies::router())
        .merge(apps::router())
        .merge(enablements::router())
        .merge(connections::router())
        .merge(audit::router())
        .merge(request_tokens::router())
        .merge(developer::router())
        .layer(axum::middleware::map_response(no_store))
}

/// Admin responses carry secrets (once) and tenant data: never cache them.
async fn no_store(mut resp: Response) -> impl IntoResponse {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
