//! Sign up for a sandbox (public, no session): the form, and what it made. In open mode a
//! Standard edition sandbox is made at once (the developer is signed in and sees the sample
//! app's Key and Secret, once); a Professional edition one, or any in approval mode, waits
//! for staff. When the operator turned sign-up off, the page says so and the form makes
//! nothing.
//!
//! The form has no session yet, so it carries a double-submit CSRF token like the sign-in
//! form ([`PublicForm`]), under a cookie of its own scoped to `/admin/sign-up`.

use super::{
    error::ConsoleResult,
    forms::FormData,
    session::{PublicForm, capitalize, chrome_of, session_cookie},
    templates::Page,
    views::{AppView, edition_label, time},
};
use crate::{AppState, client_addr::ClientAddr};
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use minijinja::{Value, context};
use portico_domain::{DomainError, Edition, SandboxSignUp, SignUpMode};
use portico_registry::SignUpOutcome;
use serde::Serialize;
use std::collections::BTreeMap;

pub(super) const SIGN_UP_FORM: PublicForm =
    PublicForm::new("portico_signup_csrf", "/admin/sign-up");

/// The form as the developer filled it in, to show again beside an error. The password is
/// never shown again.
#[derive(Debug, Default, Serialize)]
struct SignUpFields {
    name: String,
    login_id: String,
    company_name: String,
    /// "Request a Professional edition sandbox" was checked.
    professional: bool,
}

impl SignUpFields {
    fn parse(form: &FormData) -> Self {
        Self {
            name: form.text("name"),
            login_id: form.text("login_id"),
            company_name: form.text("company_name"),
            professional: form.checked("professional"),
        }
    }
}

/// The form fields the domain names, as the form labels them.
const LABELS: &[(&str, &str)] = &[
    ("name", "Your name"),
    ("login_id", "Login ID"),
    ("password", "Password"),
    ("company_name", "Company name"),
];

/// The domain's message about `field` as said beside it: "Password must be at least 12
/// characters."
fn field_message(field: &str, message: &str) -> String {
    let label = LABELS.iter().find(|(f, _)| *f == field).map(|(_, l)| *l);
    let sentence = match label {
        Some(label) => format!("{label} {message}"),
        None => capitalize(message),
    };
    if sentence.ends_with('.') {
        sentence
    } else {
        format!("{sentence}.")
    }
}

fn form_page(s: &AppState, fields: &SignUpFields) -> Page {
    let mode = s.registry.sign_up_mode();
    Page::new(
        "sign_up.html",
        context! {
            closed => mode == SignUpMode::Off,
            approval => mode == SignUpMode::Approval,
            form => fields,
        },
    )
}

/// The page saying sign-up is closed; a POST to it made nothing.
fn closed_page(s: &AppState, status: StatusCode) -> Response {
    form_page(s, &SignUpFields::default())
        .status(status)
        .into_response()
}

pub async fn sign_up_form(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if s.registry.sign_up_mode() == SignUpMode::Off {
        return closed_page(&s, StatusCode::OK);
    }
    SIGN_UP_FORM.attach(&s, &headers, form_page(&s, &SignUpFields::default()))
}

pub async fn sign_up(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    form: FormData,
) -> ConsoleResult<Response> {
    if s.registry.sign_up_mode() == SignUpMode::Off {
        return Ok(closed_page(&s, StatusCode::FORBIDDEN));
    }
    let fields = SignUpFields::parse(&form);
    let again = |status: StatusCode, extra: Value| {
        let page = form_page(&s, &fields).with(extra).status(status);
        Ok(SIGN_UP_FORM.attach(&s, &headers, page))
    };
    if !SIGN_UP_FORM.check(&headers, &form) {
        return again(
            StatusCode::FORBIDDEN,
            context! { alert => "The sign-up form expired. Please send it again." },
        );
    }
    let request = SandboxSignUp {
        name: fields.name.clone(),
        login_id: fields.login_id.clone(),
        password: form.text("password"),
        company_name: fields.company_name.clone(),
        edition: fields.professional.then_some(Edition::Professional),
    };
    let secure = s.settings.secure_cookies;
    match s.registry.sign_up(request, source).await {
        Ok(SignUpOutcome::Created(made)) => {
            let token = made.session.token.expose();
            let registered = &made.sample_app;
            let page = Page::new(
                "sign_up_done.html",
                context! {
                    nav => "home",
                    company => context! {
                        name => &made.company.name,
                        domain => &made.company.domain,
                        edition => edition_label(made.company.edition),
                    },
                    app => AppView::new(&registered.app, s.registry.catalog()),
                    company_domain => &registered.company_domain,
                    client_id => &registered.client_id,
                    client_secret => registered.client_secret.as_ref().map(|s| s.expose()),
                    ..chrome_of(&made.session.actor, token)
                },
            );
            let mut resp = page.into_response();
            let h = resp.headers_mut();
            h.append(header::SET_COOKIE, session_cookie(&s, &made.session));
            h.append(header::SET_COOKIE, SIGN_UP_FORM.clear(secure));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(resp)
        }
        Ok(SignUpOutcome::Waiting(request)) => {
            let page = Page::new(
                "sign_up_waiting.html",
                context! {
                    request => context! {
                        login_id => &request.login_id,
                        name => &request.display_name,
                        company_name => &request.company_name,
                        edition => edition_label(request.edition),
                        requested_at => time(&request.created_at),
                    },
                    approval => s.registry.sign_up_mode() == SignUpMode::Approval,
                },
            )
            .status(StatusCode::ACCEPTED);
            Ok(([(header::SET_COOKIE, SIGN_UP_FORM.clear(secure))], page).into_response())
        }
        Err(DomainError::Invalid { field, message }) => {
            let key = if LABELS.iter().any(|(f, _)| *f == field) {
                field
            } else {
                "form".to_owned()
            };
            let message = field_message(&key, &message);
            let errors: BTreeMap<String, String> = [(key.clone(), message.clone())].into();
            again(
                StatusCode::UNPROCESSABLE_ENTITY,
                context! {
                    errors => errors,
                    error_summary => vec![context! { field => key, message => message }],
                },
            )
        }
        Err(DomainError::Forbidden(_)) => Ok(closed_page(&s, StatusCode::FORBIDDEN)),
        Err(e @ DomainError::TooManyAttempts { .. }) => again(
            StatusCode::TOO_MANY_REQUESTS,
            context! { alert => capitalize(&e.to_string()) },
        ),
        Err(e @ DomainError::Unavailable { .. }) => again(
            StatusCode::SERVICE_UNAVAILABLE,
            context! { alert => capitalize(&e.to_string()) },
        ),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_name_the_field() {
        assert_eq!(
            field_message("password", "must be at least 12 characters"),
            "Password must be at least 12 characters."
        );
        assert_eq!(
            field_message("login_id", "is already in use; choose another login id"),
            "Login ID is already in use; choose another login id."
        );
        assert_eq!(field_message("form", "odd."), "Odd.");
    }
}
