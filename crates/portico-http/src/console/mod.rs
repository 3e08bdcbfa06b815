//! The admin console: Administration > Web Services as server-rendered pages under `/admin`,
//! the HTML twin of the admin JSON API under `/admin/v1`. Handlers parse the form, call the
//! [`Registry`](portico_registry::Registry) and render a template; every permission rule stays
//! in the registry and the domain, and domain errors become pages in one place
//! ([`error::ConsoleError`]).
//!
//! Security: a session cookie (HttpOnly, SameSite=Lax, Secure over https); a CSRF token on
//! every form, checked on every POST (the public sign-in and sign-up forms: a double-submit
//! cookie); templates escape everything; and every response carries a strict
//! Content-Security-Policy (no inline script or style), `X-Frame-Options: DENY`, `nosniff`
//! and `no-referrer`. Pages are never cached; the static assets are, for a year, under a
//! content-versioned URL.

mod apps;
pub mod assets;
mod audit;
mod connections;
mod enable;
pub mod error;
pub mod forms;
mod home;
mod request_tokens;
mod review;
mod sandbox_requests;
pub mod session;
mod signup;
pub mod templates;
mod views;

use crate::AppState;
use axum::{
    Router,
    http::{HeaderValue, header},
    middleware,
    response::{Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;

pub use templates::{Page, render};

/// The console's pages and its static assets, with full paths.
pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/admin", get(home::web_services))
        .route("/admin/", get(|| async { Redirect::permanent("/admin") }))
        .route(
            "/admin/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route(
            "/admin/sign-up",
            get(signup::sign_up_form).post(signup::sign_up),
        )
        .route("/admin/sign-out", post(session::sign_out))
        .route(
            "/admin/sign-out-everywhere",
            post(session::sign_out_everywhere),
        )
        .route("/admin/apps", get(apps::list).post(apps::register))
        .route("/admin/apps/new", get(apps::new_form))
        .route("/admin/apps/{app_id}", get(apps::show))
        .route(
            "/admin/apps/{app_id}/edit",
            get(apps::edit_form).post(apps::modify),
        )
        .route(
            "/admin/apps/{app_id}/secret",
            get(apps::new_secret_form).post(apps::new_secret),
        )
        .route("/admin/apps/{app_id}/submit", post(apps::submit))
        .route("/admin/apps/{app_id}/visibility", post(apps::visibility))
        .route("/admin/apps/{app_id}/certify", post(apps::certify))
        .route("/admin/enable", get(enable::list))
        .route("/admin/connections", get(connections::list))
        .route(
            "/admin/connections/disconnect",
            post(connections::disconnect),
        )
        .route("/admin/my-connections", get(connections::mine))
        .route(
            "/admin/my-connections/{app_id}/disconnect",
            post(connections::disconnect_mine),
        )
        .route("/admin/enable/{app_id}", post(enable::set))
        .route(
            "/admin/request-tokens",
            get(request_tokens::show).post(request_tokens::generate),
        )
        .route("/admin/audit", get(audit::list))
        .route("/admin/review", get(review::queue))
        .route("/admin/review/{app_id}", post(review::decide))
        .route("/admin/sandbox-requests", get(sandbox_requests::list))
        .route(
            "/admin/sandbox-requests/{request_id}",
            post(sandbox_requests::decide),
        )
        .layer(middleware::from_fn(error::finish));
    pages
        .merge(assets::router())
        .layer(middleware::map_response(security_headers))
}

/// The Content-Security-Policy of every console page: nothing inline, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

/// The security headers of every server-rendered page (the OAuth pages can use it too). A
/// page that set its own policy keeps it (the consent page widens `form-action`).
pub async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// `?done=<what>&app=<id>` after a POST redirected back: a fixed message for what was done
/// (the query never supplies text of its own).
#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    app: Option<String>,
}

impl Done {
    pub fn notice(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "modified" => "Your changes were saved.",
            "submitted" => "The application was submitted for review.",
            "visibility" => "The visibility was changed.",
            "enabled" => "The application is now enabled for your company.",
            "disabled" => "The application is now disabled for your company.",
            "approved" => "The application was approved.",
            "rejected" => "The application was rejected.",
            "certified" => {
                "The application was certified: its production registration, with a Key of \
                 its own, has the visibility chosen."
            }
            "request_approved" => "The sign-up request was approved and its sandbox created.",
            "request_rejected" => "The sign-up request was rejected.",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_template_compiles_and_escapes() {
        let env = templates::environment();
        for (name, _) in templates::TEMPLATES {
            env.get_template(name).unwrap();
        }
        let html = render(
            "error.html",
            context! { status => 404, title => "Not found", message => "<script>alert(1)</script>" },
        )
        .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"));
    }

    #[test]
    fn no_inline_script_or_style_in_templates() {
        for (name, source) in templates::TEMPLATES {
            let lower = source.to_lowercase();
            assert!(!lower.contains("style="), "{name} has a style attribute");
            assert!(!lower.contains("<style"), "{name} has a style element");
            assert!(
                !has_event_handler(&lower),
                "{name} has an inline event handler"
            );
            for (i, _) in lower.match_indices("<script") {
                assert!(
                    lower[i..].starts_with("<script src="),
                    "{name} has an inline script"
                );
            }
        }
    }

    /// An attribute like ` onclick=`: whitespace, `on`, letters, `=`.
    fn has_event_handler(html: &str) -> bool {
        html.match_indices("on").any(|(i, _)| {
            let before = html[..i].chars().next_back();
            let rest = &html[i + 2..];
            let letters = rest.chars().take_while(|c| c.is_ascii_lowercase()).count();
            before.is_some_and(char::is_whitespace)
                && letters > 0
                && rest[letters..].trim_start().starts_with('=')
        })
    }

    #[test]
    fn event_handlers_are_spotted() {
        assert!(has_event_handler("<a onclick=\"x\">"));
        assert!(has_event_handler("<body onload = x>"));
        assert!(!has_event_handler("one per line, only once; button=1"));
    }

    #[test]
    fn page_values_can_be_overridden() {
        let p = Page::new(
            "error.html",
            context! { status => 409, title => "first", message => "m" },
        )
        .with(context! { title => "second" });
        let resp = axum::response::IntoResponse::into_response(p);
        assert_eq!(resp.status(), 200);
        let body = futures_body(resp);
        assert!(body.contains("<h1>second</h1>"), "{body}");
    }

    fn futures_body(resp: axum::response::Response) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
