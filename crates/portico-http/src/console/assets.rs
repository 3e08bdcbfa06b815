//! The console's static assets, compiled into the binary and served at `/static/...` with a
//! year-long cache: pages link them with a `?v=<digest>` of their content, so a new build is
//! fetched at once.

use crate::AppState;
use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use portico_domain::TokenDigest;
use std::sync::LazyLock;

pub struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    url: LazyLock<String>,
}

impl Asset {
    /// The versioned URL pages link to.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn response(&self) -> Response {
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            self.body,
        )
            .into_response()
    }
}

macro_rules! asset {
    ($path:literal, $file:literal, $ct:literal) => {
        Asset {
            path: $path,
            content_type: $ct,
            body: include_str!($file),
            url: LazyLock::new(|| {
                let digest = TokenDigest::of(include_str!($file));
                format!("{}?v={}", $path, &digest.as_str()[..12])
            }),
        }
    };
}

pub static CSS: Asset = asset!(
    "/static/portico.css",
    "../../static/portico.css",
    "text/css; charset=utf-8"
);
pub static JS: Asset = asset!(
    "/static/portico.js",
    "../../static/portico.js",
    "text/javascript; charset=utf-8"
);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(CSS.path, get(|| async { CSS.response() }))
        .route(JS.path, get(|| async { JS.response() }))
}
