//! The console's templates, compiled into the binary, and [`Page`], a rendered template as a
//! response.
//!
//! `base.html` is generic (blocks `title`, `head`, `body` and `content`; the header shows the
//! signed-in `user` when there is one) so other server-rendered pages (the OAuth sign-in and
//! consent pages) can extend it: add their templates to [`TEMPLATES`] and render them with
//! [`render`] or [`Page`].

use super::assets;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use minijinja::{Environment, UndefinedBehavior, Value, context};
use std::sync::LazyLock;

/// Every template, by name. The names end in `.html`, so output is HTML-escaped.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("admin.html", include_str!("../../templates/admin.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
    ("sign_up.html", include_str!("../../templates/sign_up.html")),
    (
        "sign_up_done.html",
        include_str!("../../templates/sign_up_done.html"),
    ),
    (
        "sign_up_waiting.html",
        include_str!("../../templates/sign_up_waiting.html"),
    ),
    (
        "no_permission.html",
        include_str!("../../templates/no_permission.html"),
    ),
    (
        "web_services.html",
        include_str!("../../templates/web_services.html"),
    ),
    ("apps.html", include_str!("../../templates/apps.html")),
    ("app.html", include_str!("../../templates/app.html")),
    (
        "app_form.html",
        include_str!("../../templates/app_form.html"),
    ),
    (
        "app_secret.html",
        include_str!("../../templates/app_secret.html"),
    ),
    (
        "app_authorization.html",
        include_str!("../../templates/app_authorization.html"),
    ),
    (
        "new_secret.html",
        include_str!("../../templates/new_secret.html"),
    ),
    ("enable.html", include_str!("../../templates/enable.html")),
    (
        "connections.html",
        include_str!("../../templates/connections.html"),
    ),
    (
        "my_connections.html",
        include_str!("../../templates/my_connections.html"),
    ),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("review.html", include_str!("../../templates/review.html")),
    (
        "sandbox_requests.html",
        include_str!("../../templates/sandbox_requests.html"),
    ),
    (
        "request_token.html",
        include_str!("../../templates/request_token.html"),
    ),
    // The authorization endpoint's pages share the console's look.
    (
        "oauth_consent.html",
        include_str!("../../templates/oauth_consent.html"),
    ),
    (
        "oauth_error.html",
        include_str!("../../templates/oauth_error.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Optional values (`errors.name`, `user.is_staff` on a signed-out page) read as empty.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_global("product", "Portico");
    env.add_global("asset_css", assets::CSS.url());
    env.add_global("asset_js", assets::JS.url());
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e:#}"));
    }
    env
});

/// Renders a template; a failure is a bug, logged with its cause.
pub fn render(template: &str, ctx: Value) -> Result<String, minijinja::Error> {
    ENV.get_template(template)?.render(ctx)
}

/// A page to send: a template, its context and the status.
#[derive(Debug, Clone)]
pub struct Page {
    template: &'static str,
    ctx: Value,
    status: StatusCode,
}

impl Page {
    pub fn new(template: &'static str, ctx: Value) -> Self {
        Self {
            template,
            ctx,
            status: StatusCode::OK,
        }
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The same page with more values; `extra` wins over what the page had.
    pub fn with(mut self, extra: Value) -> Self {
        self.ctx = context! { ..extra, ..self.ctx };
        self
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        match render(self.template, self.ctx) {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = self.template, error = %format!("{e:#}"), "page rendering failed");
                internal_error_page()
            }
        }
    }
}

/// The last resort when a template cannot render: a bare page without anything dynamic.
pub fn internal_error_page() -> Response {
    let mut resp = (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error · Portico</title></head>\
             <body><h1>Something went wrong</h1><p>Something went wrong on our side. Please try again.</p>\
             <p><a href=\"/admin\">Back to Web Services</a></p></body></html>",
        ),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
pub(crate) fn environment() -> &'static Environment<'static> {
    &ENV
}
