//! Administration > Web Services: the entry page.

use super::{error::ConsoleResult, session::Console, templates::Page};
use axum::http::StatusCode;
use minijinja::context;

/// The Web Services page, or, for a user without an admin permission, a page saying so.
pub async fn web_services(cx: Console) -> ConsoleResult<Page> {
    if !cx.actor.is_admin() {
        return Ok(cx
            .page("no_permission.html", context! {})
            .status(StatusCode::FORBIDDEN));
    }
    Ok(cx.page("web_services.html", context! { nav => "home" }))
}
