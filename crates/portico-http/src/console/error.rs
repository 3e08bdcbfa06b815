//! The console's one error type and its one mapping to pages: a form the user can fix is shown
//! again with the error beside the field and the input kept; anything else is an error page
//! (403, 404, 409, 500 without internals), or the sign-in page when the session is gone.

use super::templates::{Page, internal_error_page, render};
use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
};
use minijinja::{Value, context};
use portico_domain::{DomainError, DomainResult};
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
pub enum ConsoleError {
    /// A domain error, with the form to show again when the user's input is what is wrong.
    Domain {
        error: DomainError,
        form: Option<Box<Page>>,
    },
    /// No live session: sign in, then come back to `next`.
    SignIn { next: Option<String> },
    /// A POST without the session's CSRF token.
    Csrf,
    /// A request no page of ours sends (a bad id in the path, a form that is not a form).
    BadRequest(String),
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;

impl From<DomainError> for ConsoleError {
    fn from(error: DomainError) -> Self {
        Self::Domain { error, form: None }
    }
}

impl ConsoleError {
    /// `error`, shown on `form` when it is about the user's input (Invalid or Conflict).
    pub fn on_form(error: DomainError, form: Page) -> Self {
        Self::Domain {
            error,
            form: Some(Box::new(form)),
        }
    }
}

/// Shows a domain error on the form it came from: `registry.call(..).await.or_form(|| page)?`.
pub trait OrForm<T> {
    fn or_form(self, form: impl FnOnce() -> Page) -> ConsoleResult<T>;
}

impl<T> OrForm<T> for DomainResult<T> {
    fn or_form(self, form: impl FnOnce() -> Page) -> ConsoleResult<T> {
        self.map_err(|error| match error {
            DomainError::Invalid { .. }
            | DomainError::Conflict { .. }
            | DomainError::Stale { .. } => ConsoleError::on_form(error, form()),
            other => other.into(),
        })
    }
}

/// An error page to render; the [`finish`] middleware renders it again with the page header
/// of the signed-in user when there is one.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl ErrorPage {
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
        }
    }

    fn render(&self, chrome: Option<&Value>) -> Response {
        let ctx = context! {
            status => self.status.as_u16(),
            title => self.title,
            message => &self.message,
        };
        let ctx = match chrome {
            Some(chrome) => context! { ..ctx, ..chrome.clone() },
            None => ctx,
        };
        match render("error.html", ctx) {
            Ok(html) => {
                let mut resp = (self.status, Html(html)).into_response();
                resp.extensions_mut().insert(self.clone());
                resp
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "error page rendering failed");
                internal_error_page()
            }
        }
    }
}

/// A field name from the domain (`redirect_uris[1]`, `apis[0].sensitive_data_groups`,
/// `jwks.keys[1].crv`) as the form field it belongs to, and the message as shown beside it.
pub fn field_error(field: &str, message: &str) -> (String, String) {
    if let Some(at) = field.strip_prefix("jwks.") {
        return ("jwks".to_owned(), jwks_error(at, message));
    }
    let end = field.find(['[', '.']).unwrap_or(field.len());
    let key = &field[..end];
    let index = field[end..]
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(i, _)| i.parse::<usize>().ok());
    let message = match (key, index) {
        ("redirect_uris", Some(i)) => format!("Redirect URI {}: {message}", i + 1),
        _ => message.to_owned(),
    };
    (key.to_owned(), message)
}

/// A JWKS error at `at` inside the document (`keys`, `keys[1]`, `keys[1].crv`), said of the
/// key the admin pasted: `Key 2, "crv": only P-256 is accepted for EC keys`.
fn jwks_error(at: &str, message: &str) -> String {
    let key = at
        .strip_prefix("keys[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest)));
    match key {
        Some((i, "")) => format!("Key {}: {message}", i + 1),
        Some((i, rest)) => match rest.strip_prefix('.') {
            Some(member) => format!("Key {}, \"{member}\": {message}", i + 1),
            None => format!("Key {}: {message}", i + 1),
        },
        None => format!("\"{at}\": {message}"),
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let page = match self {
            ConsoleError::Domain { error, form } => match (error, form) {
                (DomainError::Invalid { field, message }, Some(form)) => {
                    let (key, message) = field_error(&field, &message);
                    let errors: std::collections::BTreeMap<String, String> =
                        [(key.clone(), message.clone())].into();
                    return form
                        .with(context! {
                            errors => errors,
                            error_summary => vec![context! { field => key, message => message }],
                        })
                        .status(StatusCode::UNPROCESSABLE_ENTITY)
                        .into_response();
                }
                (DomainError::Conflict { message, .. }, Some(form)) => {
                    return form
                        .with(context! { alert => message })
                        .status(StatusCode::CONFLICT)
                        .into_response();
                }
                // The form was filled in on an older version: keep the user's input, say why
                // nothing was saved.
                (DomainError::Stale { what }, Some(form)) => {
                    return form
                        .with(context! { alert => stale_message(what) })
                        .status(StatusCode::CONFLICT)
                        .into_response();
                }
                (DomainError::Stale { what }, None) => ErrorPage::new(
                    StatusCode::CONFLICT,
                    "Changed meanwhile",
                    stale_message(what),
                ),
                (DomainError::Invalid { message, .. }, None) => {
                    ErrorPage::new(StatusCode::BAD_REQUEST, "Invalid request", message)
                }
                (DomainError::Conflict { message, .. }, None) => {
                    ErrorPage::new(StatusCode::CONFLICT, "Not possible now", message)
                }
                (e @ DomainError::TooManyAttempts { .. }, _) => ErrorPage::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    super::session::capitalize(&e.to_string()),
                ),
                (e @ DomainError::Unavailable { .. }, _) => ErrorPage::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    super::session::capitalize(&e.to_string()),
                ),
                (DomainError::Unauthenticated(_), _) => {
                    return ConsoleError::SignIn { next: None }.into_response();
                }
                (DomainError::Forbidden(message), _) => ErrorPage::new(
                    StatusCode::FORBIDDEN,
                    "You do not have permission",
                    format!("You do not have permission to do this: {message}."),
                ),
                (DomainError::NotFound { what }, _) => ErrorPage::new(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    format!("The {what} was not found, or you may not see it."),
                ),
                (DomainError::Storage(detail), _) => {
                    tracing::error!(error = %detail, "storage failure");
                    ErrorPage::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "Something went wrong on our side. Please try again in a moment.",
                    )
                }
            },
            ConsoleError::SignIn { next } => {
                let to = match next {
                    Some(next) => format!("/admin/sign-in?next={}", encode_query_value(&next)),
                    None => "/admin/sign-in".to_owned(),
                };
                return Redirect::to(&to).into_response();
            }
            ConsoleError::Csrf => ErrorPage::new(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or was not sent from a Portico page. \
                 Go back, reload the page and try again.",
            ),
            ConsoleError::BadRequest(message) => {
                ErrorPage::new(StatusCode::BAD_REQUEST, "Invalid request", message)
            }
        };
        page.render(None)
    }
}

/// What a stale form submit says: nothing was saved, and how to see what is there now.
fn stale_message(what: &str) -> String {
    format!("This {what} was changed meanwhile; reload to see the current version.")
}

/// Percent-encodes a query parameter value.
pub fn encode_query_value(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s[1..].to_owned())
        .unwrap_or_default()
}

/// The header context (`user`, `csrf_token`) of the signed-in user, put there by the session
/// extractor, so error pages can show it too.
#[derive(Clone, Default)]
pub struct ChromeSlot(pub Arc<OnceLock<Value>>);

/// Around every console page: error pages get the signed-in user's header, and nothing is
/// cached (pages carry tenant data, and secrets once).
pub async fn finish(mut req: Request, next: Next) -> Response {
    let slot = ChromeSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut resp = next.run(req).await;
    if let Some(chrome) = slot.0.get()
        && let Some(page) = resp.extensions().get::<ErrorPage>().cloned()
    {
        resp = page.render(Some(chrome));
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_fields_map_to_form_fields() {
        assert_eq!(
            field_error("redirect_uris[1]", "must be an https URI"),
            (
                "redirect_uris".into(),
                "Redirect URI 2: must be an https URI".into()
            )
        );
        assert_eq!(field_error("apis[0].sensitive_data_groups", "x").0, "apis");
        assert_eq!(field_error("apis", "x"), ("apis".into(), "x".into()));
        assert_eq!(field_error("name", "x").0, "name");
    }

    #[test]
    fn jwks_errors_show_at_the_textarea_naming_the_key() {
        assert_eq!(
            field_error("jwks.keys[1].crv", "only P-256 is accepted for EC keys"),
            (
                "jwks".into(),
                "Key 2, \"crv\": only P-256 is accepted for EC keys".into()
            )
        );
        assert_eq!(
            field_error("jwks.keys[0]", "must be a JSON object").1,
            "Key 1: must be a JSON object"
        );
        assert_eq!(
            field_error("jwks.keys", "must hold at least one key").1,
            "\"keys\": must hold at least one key"
        );
        assert_eq!(
            field_error("jwks", "not valid JSON"),
            ("jwks".into(), "not valid JSON".into())
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode_query_value("/admin/apps?x=1&y=2"),
            "%2Fadmin%2Fapps%3Fx%3D1%26y%3D2"
        );
    }
}
