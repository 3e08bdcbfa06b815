//! The authorization endpoint's pages: the user signs in (the console's sign-in page, which
//! brings them back), sees what the app asks for, and allows or denies. The decisions are the
//! token service's; this module only renders and redirects.

use crate::console::{self, Page};
use crate::{AppState, auth};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use minijinja::context;
use portico_domain::{Actor, DomainError};
use portico_oauth::{
    AuthorizeStep, Decision, SignedInUser,
    params::{FormLimits, MAX_PARAMS, Params, read_pairs},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth2/v0/authorize", get(start).post(decide))
        .layer(middleware::map_response(console::security_headers))
}

const PATH: &str = "/oauth2/v0/authorize";

/// The signed-in user, their session token and when they signed in, if any.
struct Session {
    actor: Actor,
    token: String,
    auth_time: i64,
}

impl Session {
    fn user(&self) -> SignedInUser<'_> {
        SignedInUser {
            actor: &self.actor,
            auth_time: self.auth_time,
        }
    }
}

async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, Response> {
    let Some(token) = auth::cookie(headers, auth::SESSION_COOKIE) else {
        return Ok(None);
    };
    match state.registry.session(&token).await {
        Ok((actor, signed_in)) => Ok(Some(Session {
            actor,
            token,
            auth_time: signed_in.timestamp(),
        })),
        Err(DomainError::Unauthenticated(_)) => Ok(None),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            Err(error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again.",
            ))
        }
    }
}

fn error_page(status: StatusCode, message: &str) -> Response {
    Page::new(
        "oauth_error.html",
        context! { status => status.as_u16(), message => message },
    )
    .status(status)
    .into_response()
}

/// `GET /oauth2/v0/authorize?response_type=code&client_id=...`
async fn start(State(s): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    request(&s, &headers, uri.query().unwrap_or_default().as_bytes()).await
}

/// An authorization request, from the query (GET) or a form body (POST, OIDC Core §3.1.2.1).
async fn request(s: &AppState, headers: &HeaderMap, encoded: &[u8]) -> Response {
    let params = match Params::parse(encoded) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.description()),
    };
    let session = match session(s, headers).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let step = s
        .oauth
        .authorize(&params, session.as_ref().map(Session::user), None)
        .await;
    respond(step, session.as_ref())
}

/// The consent form: the authorization request's parameters again, the CSRF token, and the
/// decision.
async fn decide(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // An authorization request's parameters, the CSRF token and the decision.
    let limits = FormLimits {
        max_pairs: MAX_PARAMS + 2,
        ..FormLimits::OAUTH
    };
    let fields = match read_pairs(&body, limits) {
        Ok(f) => f,
        Err(e) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("The form could not be read: {e}."),
            );
        }
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("decision").is_none() && field("csrf_token").is_none() {
        // Not the consent form: an authorization request sent by POST.
        return request(&s, &headers, &body).await;
    }
    let session = match session(&s, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return error_page(
                StatusCode::FORBIDDEN,
                "Your session ended. Go back to the application and start again.",
            );
        }
        Err(page) => return page,
    };
    if !auth::csrf_ok(&session.token, field("csrf_token")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Go back to the application and start again.",
        );
    }
    let decision = match field("decision") {
        Some("allow") => Decision::Allow,
        Some("deny") => Decision::Deny,
        _ => return error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    };
    let request: Vec<&(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf_token" && k != "decision")
        .collect();
    let query = serde_urlencoded::to_string(&request).unwrap_or_default();
    let params = match Params::parse(query.as_bytes()) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.description()),
    };
    let step = s
        .oauth
        .authorize(&params, Some(session.user()), Some(decision))
        .await;
    respond(step, Some(&session))
}

fn respond(step: AuthorizeStep, session: Option<&Session>) -> Response {
    match step {
        AuthorizeStep::Refuse { status, message } => error_page(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &message,
        ),
        AuthorizeStep::SignIn { again, resume } => {
            let next = format!(
                "{PATH}?{}",
                serde_urlencoded::to_string(&resume).unwrap_or_default()
            );
            let mut query = vec![("next", next)];
            if again {
                query.push(("again", "1".to_owned()));
            }
            let to = format!(
                "/admin/sign-in?{}",
                serde_urlencoded::to_string(&query).unwrap_or_default()
            );
            see_other(&to)
        }
        AuthorizeStep::Redirect(url) => see_other(&url),
        AuthorizeStep::Consent(consent) => {
            let Some(Session { actor, token, .. }) = session else {
                return error_page(StatusCode::FORBIDDEN, "Sign in first.");
            };
            // The request as the token service wants it back (for a pushed request, only a
            // reference to it).
            let hidden: Vec<(&str, &str)> = consent
                .form
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let csp = consent_policy(&consent.redirect_uri);
            let mut resp = Page::new(
                "oauth_consent.html",
                context! {
                    consent => consent,
                    hidden => hidden,
                    csrf_token => auth::csrf_token(token),
                    user => context! {
                        login_id => &actor.login_id,
                        company_name => &actor.company.name,
                        is_admin => actor.is_admin(),
                    },
                },
            )
            .into_response();
            if let Ok(v) = header::HeaderValue::from_str(&csp) {
                resp.headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, v);
            }
            resp
        }
    }
}

/// The console's policy, except that the consent form may lead to the client: browsers apply
/// `form-action` to the redirect that follows the POST, so the redirect URI's origin is allowed.
fn consent_policy(redirect_uri: &str) -> String {
    let origin = url::Url::parse(redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let widened = console::CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    // An origin is scheme://host[:port]; anything else would not be a safe source expression.
    if origin.starts_with("http") && !origin.contains([';', ',', ' ', '\'', '"']) {
        widened
    } else {
        console::CONTENT_SECURITY_POLICY.to_owned()
    }
}

fn see_other(location: &str) -> Response {
    match header::HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => error_page(
            StatusCode::BAD_REQUEST,
            "The redirect address is not valid.",
        ),
    }
}
