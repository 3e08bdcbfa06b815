//! Who is using the console: the `portico_session` cookie turned into the [`Actor`], CSRF
//! checks on every POST, and the sign-in and sign-out pages.
//!
//! Every form carries `csrf_token` = [`auth::csrf_token`] of the session token, compared in
//! constant time. The sign-in and sign-up forms have no session yet, so they use a
//! double-submit token ([`PublicForm`]): a short-lived random cookie, scoped to the form's
//! path, that the form repeats in a hidden field.

use super::{
    error::{ChromeSlot, ConsoleError, ConsoleResult},
    forms::FormData,
    templates::Page,
};
use crate::client_addr::ClientAddr;
use crate::{
    AppState,
    auth::{self, SESSION_COOKIE},
};
use axum::{
    extract::{FromRequest, FromRequestParts, Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::{Value, context};
use portico_domain::{Actor, DomainError, SignUpMode, secret};
use serde::Deserialize;

/// The signed-in user of a console page.
pub struct Console {
    pub actor: Actor,
    token: String,
}

impl Console {
    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self) -> String {
        auth::csrf_token(&self.token)
    }

    /// What the page header shows: who is signed in, at which company, and which menus.
    pub fn chrome(&self) -> Value {
        chrome(&self.actor, &self.csrf_token())
    }

    /// A page of this session: `template` with `ctx` and the header values.
    pub fn page(&self, template: &'static str, ctx: Value) -> Page {
        Page::new(template, context! { ..ctx, ..self.chrome() })
    }
}

fn chrome(actor: &Actor, csrf_token: &str) -> Value {
    context! {
        user => context! {
            login_id => &actor.login_id,
            company_name => &actor.company.name,
            company_domain => &actor.company.domain,
            is_admin => actor.is_admin(),
            is_staff => actor.is_staff(),
        },
        csrf_token => csrf_token,
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ConsoleResult<Self> {
        // The source address goes with the actor into the audit records of what it does.
        let source = crate::client_addr::ClientAddr::of(parts, state);
        let sign_in = || {
            let safe = matches!(parts.method, Method::GET | Method::HEAD);
            ConsoleError::SignIn {
                // After signing in, a GET comes back to where it was; a POST cannot be replayed.
                next: safe
                    .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_owned()))
                    .flatten()
                    .filter(|p| local_return_path(p)),
            }
        };
        let Some(token) = auth::cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(sign_in());
        };
        let actor = match state.registry.authenticate_from(&token, source).await {
            Ok(actor) => actor,
            Err(DomainError::Unauthenticated(_)) => return Err(sign_in()),
            Err(e) => return Err(e.into()),
        };
        let console = Console { actor, token };
        if let Some(slot) = parts.extensions.get::<ChromeSlot>() {
            let _ = slot.0.set(console.chrome());
        }
        Ok(console)
    }
}

/// A POSTed form whose `csrf_token` matches the session's.
pub struct CsrfForm(pub FormData);

impl FromRequest<AppState> for CsrfForm {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> ConsoleResult<Self> {
        let session = auth::cookie(req.headers(), SESSION_COOKIE);
        let form = FormData::from_request(req, state).await?;
        match session {
            Some(token) if auth::csrf_ok(&token, form.get("csrf_token")) => Ok(CsrfForm(form)),
            _ => Err(ConsoleError::Csrf),
        }
    }
}

/// Where signing in may return to: the console's pages, and the OAuth authorization endpoint
/// (whose users sign in here first).
const RETURN_PATHS: &[&str] = &["/admin", "/oauth2/v0/authorize"];

/// Whether `target` is a local page to return to after signing in: a path under one of
/// [`RETURN_PATHS`], never `//host`, a backslash trick, another scheme or a header injection.
pub fn local_return_path(target: &str) -> bool {
    let (path, _query) = target.split_once('?').unwrap_or((target, ""));
    let allowed = RETURN_PATHS.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    allowed
        && !path.starts_with("/admin/sign-")
        && !path.contains("//")
        && !path.contains("/..")
        && !target.contains('\\')
        && target.bytes().all(|b| b.is_ascii_graphic())
}

// ---------------------------------------------------------------------------------------------
// Sign in and sign out

/// The double-submit CSRF token of a public form (one sent without a session: sign in, sign
/// up): a short-lived random cookie, scoped to the form's path, that the form repeats in a
/// hidden field.
pub(super) struct PublicForm {
    cookie: &'static str,
    path: &'static str,
}

pub(super) const SIGN_IN_FORM: PublicForm = PublicForm::new("portico_login_csrf", "/admin/sign-in");

const PUBLIC_CSRF_MAX_AGE: i64 = 1800;

impl PublicForm {
    /// A form at `path` whose token is the cookie `cookie` (sent back to `path` only).
    pub(super) const fn new(cookie: &'static str, path: &'static str) -> Self {
        Self { cookie, path }
    }

    fn cookie(&self, value: &str, max_age: i64, secure: bool) -> HeaderValue {
        let secure = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={value}; Path={}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
            self.cookie, self.path
        ))
        .expect("CSRF tokens are base64url")
    }

    /// The token of this browser: the one it has (so two open tabs both work) or a new one.
    fn token(&self, headers: &HeaderMap) -> String {
        auth::cookie(headers, self.cookie)
            .filter(|t| {
                t.len() == 43
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .unwrap_or_else(|| secret::random_token(32))
    }

    /// Whether the form's `csrf_token` repeats the cookie (compared in constant time).
    pub(super) fn check(&self, headers: &HeaderMap, form: &FormData) -> bool {
        match (auth::cookie(headers, self.cookie), form.get("csrf_token")) {
            (Some(cookie), Some(field)) => {
                secret::constant_time_eq(cookie.as_bytes(), field.as_bytes())
            }
            _ => false,
        }
    }

    /// The page with a fresh (or the current) token, in the cookie and as `csrf_token`.
    pub(super) fn attach(&self, state: &AppState, headers: &HeaderMap, page: Page) -> Response {
        let token = self.token(headers);
        let secure = state.settings.secure_cookies;
        (
            [(
                header::SET_COOKIE,
                self.cookie(&token, PUBLIC_CSRF_MAX_AGE, secure),
            )],
            page.with(context! { csrf_token => token }),
        )
            .into_response()
    }

    /// The cookie's removal, once the form did its work.
    pub(super) fn clear(&self, secure: bool) -> HeaderValue {
        self.cookie("", 0, secure)
    }
}

/// The session cookie of a user who just signed in (or signed up).
pub(super) fn session_cookie(
    state: &AppState,
    signed_in: &portico_registry::SignedIn,
) -> HeaderValue {
    let max_age = (signed_in.expires_at - chrono::Utc::now()).num_seconds();
    auth::session_cookie(
        signed_in.token.expose(),
        max_age,
        state.settings.secure_cookies,
    )
}

/// The page header of a user who just signed up (and so has no [`Console`] yet).
pub(super) fn chrome_of(actor: &Actor, session_token: &str) -> Value {
    chrome(actor, &auth::csrf_token(session_token))
}

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
    /// The application asked the user to sign in again (`prompt=login`, `max_age`): the form
    /// is shown even with a live session.
    again: Option<String>,
}

struct SignInForm<'a> {
    login_id: &'a str,
    next: Option<&'a str>,
    notice: Option<&'static str>,
    error: Option<String>,
}

fn sign_in_page(state: &AppState, form: SignInForm<'_>) -> Page {
    let next = form.next.filter(|n| local_return_path(n));
    Page::new(
        "sign_in.html",
        context! {
            sign_up => state.registry.sign_up_mode() != SignUpMode::Off,
            login_id => form.login_id,
            // Signing in to let an application in, rather than to administer.
            for_app => next.is_some_and(|n| !n.starts_with("/admin")),
            next => next,
            notice => form.notice,
            alert => form.error,
        },
    )
}

pub async fn sign_in_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> ConsoleResult<Response> {
    let next = q.next.as_deref().filter(|n| local_return_path(n));
    // Already signed in: straight on, unless the application asked to sign in again.
    if q.again.is_none()
        && let Some(token) = auth::cookie(&headers, SESSION_COOKIE)
    {
        match state.registry.authenticate(&token).await {
            Ok(_) => return Ok(Redirect::to(next.unwrap_or("/admin")).into_response()),
            Err(DomainError::Unauthenticated(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let page = sign_in_page(
        &state,
        SignInForm {
            login_id: "",
            next,
            notice: if q.signed_out.is_some() {
                Some("You have signed out.")
            } else if q.again.is_some() {
                Some("The application asks you to sign in again.")
            } else {
                None
            },
            error: None,
        },
    );
    Ok(SIGN_IN_FORM.attach(&state, &headers, page))
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    form: FormData,
) -> ConsoleResult<Response> {
    let login_id = form.get("login_id").unwrap_or_default();
    let next = form.get("next").filter(|n| local_return_path(n));
    let again = |status: StatusCode, error: String| {
        let page = sign_in_page(
            &state,
            SignInForm {
                login_id,
                next,
                notice: None,
                error: Some(error),
            },
        )
        .status(status);
        Ok(SIGN_IN_FORM.attach(&state, &headers, page))
    };
    if !SIGN_IN_FORM.check(&headers, &form) {
        return again(
            StatusCode::FORBIDDEN,
            "The sign-in form expired. Please sign in again.".into(),
        );
    }
    let password = form.get("password").unwrap_or_default();
    let signed_in = match state.registry.sign_in(login_id, password, source).await {
        Ok(s) => s,
        Err(DomainError::Unauthenticated(message)) => {
            return again(StatusCode::UNPROCESSABLE_ENTITY, capitalize(&message));
        }
        Err(DomainError::Invalid { message, .. }) => {
            return again(StatusCode::UNPROCESSABLE_ENTITY, capitalize(&message));
        }
        Err(e @ DomainError::TooManyAttempts { .. }) => {
            return again(StatusCode::TOO_MANY_REQUESTS, capitalize(&e.to_string()));
        }
        Err(e @ DomainError::Unavailable { .. }) => {
            return again(StatusCode::SERVICE_UNAVAILABLE, capitalize(&e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let secure = state.settings.secure_cookies;
    let mut resp = Redirect::to(next.unwrap_or("/admin")).into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, session_cookie(&state, &signed_in));
    h.append(header::SET_COOKIE, SIGN_IN_FORM.clear(secure));
    Ok(resp)
}

pub async fn sign_out(
    State(state): State<AppState>,
    console: Console,
    CsrfForm(_): CsrfForm,
) -> ConsoleResult<Response> {
    state.registry.sign_out(&console.token).await?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::clear_session_cookie(state.settings.secure_cookies),
        )],
        Redirect::to("/admin/sign-in?signed_out=1"),
    )
        .into_response())
}

/// Sign out everywhere: ends every session of the user, on every browser and script.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    console: Console,
    CsrfForm(_): CsrfForm,
) -> ConsoleResult<Response> {
    state.registry.sign_out_everywhere(&console.actor).await?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::clear_session_cookie(state.settings.secure_cookies),
        )],
        Redirect::to("/admin/sign-in?signed_out=1"),
    )
        .into_response())
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_return_paths_are_followed() {
        for ok in [
            "/admin",
            "/admin/apps",
            "/admin/apps/x/edit",
            "/admin?x=1",
            "/admin/audit?before=12",
        ] {
            assert!(local_return_path(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/admin",
            "//evil.example/admin",
            "/admin//evil.example",
            "/\\evil.example",
            "/admin\\..\\x",
            "/adminx",
            "/other",
            "admin",
            "",
            "/admin/sign-in",
            "/admin/sign-out",
            "/admin/\r\nSet-Cookie:x",
            "/admin/ apps",
            "/admin/../oauth2/token",
            "/oauth2/v0/token",
            "/oauth2/v0/authorizex",
            "/oauth2/v0/authorize/..%2F..",
        ] {
            assert!(!local_return_path(bad), "{bad:?}");
        }
    }
}
