//! The authorization endpoint: oxide-auth validates the request (client, exact redirect URI,
//! response type, scope, PKCE) and issues the code; around it, the user signs in and consents,
//! and the app must be enabled for the user's company. Until the redirect URI is known to be
//! registered, errors are shown on a page, never redirected (RFC 6749 §4.1.2.1). [`validate`]
//! is also what the PAR endpoint checks a pushed request with; a request by `request_uri` is
//! opened and settled by `par`.

use crate::directory::ClientEntry;
use crate::error::OAuthError;
use crate::issue::Principal;
use crate::oxide::{self, AuthorizationRefusal, CodeExtras, PendingAuthorization, Refusal};
use crate::params::Params;
use crate::{Inner, OAuthService, now, par};
use portico_domain::{
    Actor, GrantType, Identity, OidcRequestError, PartnerApp, Prompt, RememberedConsent, ScopeSet,
    SignInNeed, check_nonce, consent_after_allow, consent_covers, join_resources,
    normalize_redirect_uri, parse_max_age, sign_in_need,
};
use std::sync::Arc;
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

/// One scope on the consent page.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConsentScope {
    pub scope: String,
    pub title: String,
    pub description: String,
    /// A sensitive data group (shown beneath its API).
    pub sensitive: bool,
}

/// What the consent page shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Consent {
    pub app_name: String,
    pub app_description: String,
    pub client_id: String,
    pub company_name: String,
    pub scopes: Vec<ConsentScope>,
    /// Where the decision sends the browser (the registered redirect URI in use).
    pub redirect_uri: String,
    /// The request the form posts back with the decision (for a pushed request, its
    /// `client_id` and `request_uri` only).
    #[serde(skip)]
    pub form: Vec<(String, String)>,
}

/// What the HTTP layer does next.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// An error page: the client or its redirect URI cannot be trusted with a redirect.
    Refuse { status: u16, message: String },
    /// Ask the user to sign in (`again`: even though a session exists, for `prompt=login` or
    /// `max_age`), then come back to the authorization endpoint with `resume`.
    SignIn {
        again: bool,
        resume: Vec<(String, String)>,
    },
    /// Ask the user to allow or deny.
    Consent(Consent),
    /// Send the browser to the client (a code, or an error).
    Redirect(String),
}

pub(crate) fn refuse(status: u16, message: impl Into<String>) -> AuthorizeStep {
    AuthorizeStep::Refuse {
        status,
        message: message.into(),
    }
}

/// A `request_uri` that cannot be used: a page, since nothing says where to redirect.
pub(crate) fn invalid_request_uri() -> AuthorizeStep {
    let e = OAuthError::InvalidRequestUri(
        "the request_uri is unknown, expired, already used, or was pushed by another client".into(),
    );
    refuse(400, format!("{}: {}", e.code(), e.description()))
}

pub(crate) fn failed(e: &OAuthError) -> AuthorizeStep {
    tracing::error!(error = %e, "authorization failed on our side");
    refuse(
        500,
        "the server could not complete the request; try again later",
    )
}

/// The user signed in to the console, and when (OpenID Connect's `auth_time`).
#[derive(Clone, Copy, Debug)]
pub struct SignedInUser<'a> {
    pub actor: &'a Actor,
    pub auth_time: i64,
}

/// The parameters to come back to the authorization endpoint with after signing in. After a
/// sign-in the request itself demanded (`prompt=login`, `max_age`), those are dropped: the
/// new session satisfies them, and asking again would loop.
fn resume_with(params: &Params, fresh: bool) -> Vec<(String, String)> {
    params
        .pairs()
        .filter_map(|(k, v)| match k {
            "max_age" if fresh => None,
            "prompt" if fresh => {
                let kept: Vec<&str> = v
                    .split(' ')
                    .filter(|p| !p.is_empty() && *p != "login" && *p != "select_account")
                    .collect();
                (!kept.is_empty()).then(|| (k.to_owned(), kept.join(" ")))
            }
            _ => Some((k.to_owned(), v.to_owned())),
        })
        .collect()
}

/// An authorization request that passed every check made before the user is involved.
pub(crate) struct ValidRequest<'a> {
    pub pending: PendingAuthorization<'a>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub nonce: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to.
    pub dpop_jkt: Option<String>,
}

/// Why an authorization request is invalid.
pub(crate) enum Invalid {
    /// Not to be redirected: the redirect URI cannot be trusted (a page).
    Page(OAuthError),
    /// The error, and the redirect that tells the client (its redirect URI is registered).
    Redirect {
        url: String,
        error: OAuthError,
    },
    Server(OAuthError),
}

impl Invalid {
    /// The error as the PAR endpoint answers it (RFC 9126 §2.3): no redirect there.
    pub(crate) fn into_error(self) -> OAuthError {
        match self {
            Self::Page(e) | Self::Redirect { error: e, .. } | Self::Server(e) => e,
        }
    }

    fn step(self) -> AuthorizeStep {
        match self {
            Self::Page(e) => refuse(400, e.description()),
            Self::Redirect { url, .. } => AuthorizeStep::Redirect(url),
            Self::Server(e) => failed(&e),
        }
    }
}

fn redirected(pending: &PendingAuthorization<'_>, why: Refusal, error: OAuthError) -> Invalid {
    Invalid::Redirect {
        url: pending.refuse(why, &error.description()),
        error,
    }
}

/// The checks of an authorization request for `client`, before anything is shown: the
/// authorization endpoint's, and the PAR endpoint's on what is pushed (RFC 9126 §2.1).
pub(crate) async fn validate<'a>(
    inner: &'a Inner,
    client: Arc<ClientEntry>,
    params: &'a Params,
    now: i64,
) -> Result<ValidRequest<'a>, Invalid> {
    // The redirect URI as the client wrote it must have a normal form (the domain's one
    // rule, as at registration). oxide-auth's URL parser would rewrite `127.1` to
    // `127.0.0.1` before the registrar saw it, so this is checked on the raw parameter; a
    // refused URI is never redirected to.
    if let Some(Err(refused)) = params.get("redirect_uri").map(normalize_redirect_uri) {
        return Err(Invalid::Page(OAuthError::invalid_request(format!(
            "the redirect_uri {refused}"
        ))));
    }
    let pending = match oxide::authorization_request(inner, client.clone(), params, now).await {
        Ok(p) => p,
        Err(AuthorizationRefusal::Page(e)) => return Err(Invalid::Page(e)),
        Err(AuthorizationRefusal::Redirect { url, error }) => {
            return Err(Invalid::Redirect { url, error });
        }
        Err(AuthorizationRefusal::Server(e)) => return Err(Invalid::Server(e)),
    };
    let app = &client.app;
    if !app.spec.active {
        return Err(redirected(
            &pending,
            Refusal::UnauthorizedClient,
            OAuthError::UnauthorizedClient("application is not active".into()),
        ));
    }
    if !app.allows_grant(GrantType::AuthorizationCode) {
        return Err(redirected(
            &pending,
            Refusal::UnauthorizedClient,
            OAuthError::UnauthorizedClient(
                "the application is not registered for the authorization_code grant".into(),
            ),
        ));
    }
    // OpenID Connect's parameters (Core §3.1.2.1): refused by redirect when malformed.
    let oidc = (|| {
        Ok::<_, OidcRequestError>((
            Prompt::parse(params.get("prompt"))?,
            parse_max_age(params.get("max_age"))?,
            check_nonce(params.get("nonce"))?.map(str::to_owned),
        ))
    })();
    let (prompt, max_age, nonce) = match oidc {
        Ok(v) => v,
        Err(e) => return Err(redirected(&pending, Refusal::InvalidRequest, e.into())),
    };
    let dpop_jkt = match params.get("dpop_jkt") {
        None => None,
        Some(jkt) if crate::dpop::is_thumbprint(jkt) => Some(jkt.to_owned()),
        Some(_) => {
            return Err(redirected(
                &pending,
                Refusal::InvalidRequest,
                OAuthError::invalid_request(
                    "dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters)",
                ),
            ));
        }
    };
    Ok(ValidRequest {
        pending,
        prompt,
        max_age,
        nonce,
        dpop_jkt,
    })
}

impl OAuthService {
    /// Handles `GET /oauth2/v0/authorize` (no decision yet) and the consent form's POST. With
    /// a `request_uri` (RFC 9126 §4), the pushed request is run instead: every other
    /// parameter but `client_id` is ignored (see `par`).
    pub async fn authorize(
        &self,
        params: &Params,
        user: Option<SignedInUser<'_>>,
        decision: Option<Decision>,
    ) -> AuthorizeStep {
        let inner = &*self.inner;
        let now = now();
        let client = match params
            .get("client_id")
            .and_then(crate::client::parse_client_id)
        {
            Some(id) => match inner.directory.client(id).await {
                Ok(c) => c,
                Err(e) => return failed(&e),
            },
            None => None,
        };
        let Some(client) = client else {
            return refuse(400, "unknown client_id");
        };
        let Some(request_uri) = params.get("request_uri") else {
            return self.run(client, params, None, user, decision, now).await;
        };
        let (pushed_params, pushed) =
            match par::Pushed::open(inner, &client, request_uri, now).await {
                Ok(Some(opened)) => opened,
                Ok(None) => return invalid_request_uri(),
                Err(e) => return failed(&e),
            };
        let step = self
            .run(client, &pushed_params, Some(&pushed), user, decision, now)
            .await;
        pushed.settle(inner, step, now).await
    }

    /// One authorization request, through sign-in and consent. `pushed`: it came by
    /// `request_uri`, and its code may only be issued once the pushed request is claimed.
    async fn run(
        &self,
        client: Arc<ClientEntry>,
        params: &Params,
        pushed: Option<&par::Pushed>,
        user: Option<SignedInUser<'_>>,
        decision: Option<Decision>,
        now: i64,
    ) -> AuthorizeStep {
        let inner = &*self.inner;
        let ValidRequest {
            pending,
            prompt,
            max_age,
            nonce,
            dpop_jkt,
        } = match validate(inner, client.clone(), params, now).await {
            Ok(v) => v,
            Err(invalid) => return invalid.step(),
        };
        let app = &client.app;
        // RFC 9126 §5/§6: the redirect URI is registered, so the client is told by redirect.
        if pushed.is_none()
            && (inner.settings.par.required
                || app.spec.security.require_pushed_authorization_requests)
        {
            return AuthorizeStep::Redirect(pending.refuse(
                Refusal::InvalidRequest,
                "authorization requests must be pushed first (RFC 9126): send client_id and request_uri",
            ));
        }
        match sign_in_need(prompt, max_age, user.map(|u| u.auth_time), now) {
            SignInNeed::Signed => {}
            SignInNeed::LoginRequired => {
                return AuthorizeStep::Redirect(pending.refuse(
                    Refusal::LoginRequired,
                    "the user must sign in, and prompt=none allows no page",
                ));
            }
            SignInNeed::SignIn => {
                let fresh = user.is_some() || prompt.login || max_age == Some(0);
                return AuthorizeStep::SignIn {
                    again: fresh,
                    resume: resume_with(params, fresh),
                };
            }
        }
        let Some(SignedInUser { actor, auth_time }) = user else {
            return AuthorizeStep::SignIn {
                again: false,
                resume: resume_with(params, false),
            };
        };
        let principal = Principal::User {
            user: actor.user_id,
            company: actor.company_id(),
        };
        match inner.check_principal(app, &principal).await {
            Ok(()) => {}
            Err(e @ OAuthError::Server(_)) => return failed(&e),
            Err(e) => {
                return AuthorizeStep::Redirect(
                    pending.refuse(Refusal::AccessDenied, &e.description()),
                );
            }
        }
        // A consent the user gave this app at this company before, for all that is asked now,
        // stands in for the page, unless the request insists (prompt=consent) or a
        // disconnect withdrew it.
        let scope = pending.scope();
        let asked = ScopeSet::parse(&scope).unwrap_or_default();
        let remembered = match inner.directory.store().consent(actor.user_id, app.id).await {
            Ok(c) => c,
            Err(e) => return failed(&e.into()),
        };
        let user_decided = decision.is_some();
        let decision = match decision {
            None if !prompt.consent
                && consent_covers(remembered.as_ref(), actor.company_id(), &asked) =>
            {
                Some(Decision::Allow)
            }
            d => d,
        };
        if prompt.none && decision.is_none() {
            return AuthorizeStep::Redirect(pending.refuse(
                Refusal::ConsentRequired,
                "the user must allow this application, and prompt=none allows no page",
            ));
        }
        match decision {
            None => AuthorizeStep::Consent(self.consent(
                app,
                actor,
                &scope,
                &pending.redirect_uri(),
                params,
            )),
            Some(Decision::Deny) => AuthorizeStep::Redirect(
                pending.refuse(Refusal::AccessDenied, "the user denied the request"),
            ),
            Some(Decision::Allow) => {
                // Validated with the request (oxide::negotiate); bound to the code.
                let resources = match inner.target(&params.resources(), None).await {
                    Ok(t) => t.and_then(|t| join_resources(&t.resources)),
                    Err(e) => {
                        return AuthorizeStep::Redirect(
                            pending.refuse(Refusal::InvalidTarget, &e.description()),
                        );
                    }
                };
                // A pushed request is claimed before anything is issued: of two consent
                // forms posted at once, only one makes a code.
                if let Some(p) = pushed {
                    match p.claim(inner, now).await {
                        Ok(true) => {}
                        Ok(false) => return invalid_request_uri(),
                        Err(e) => return failed(&e),
                    }
                }
                let extras = CodeExtras {
                    nonce,
                    auth_time: Some(auth_time),
                    resources,
                    dpop_jkt,
                };
                if user_decided {
                    let consent = RememberedConsent {
                        user_id: actor.user_id,
                        app_id: app.id,
                        company_id: actor.company_id(),
                        scope: consent_after_allow(remembered.as_ref(), actor.company_id(), &asked),
                        granted_at: now,
                    };
                    if let Err(e) = inner.directory.store().remember_consent(&consent).await {
                        return failed(&e.into());
                    }
                }
                match pending.issue_code(principal, extras).await {
                    Ok(url) => AuthorizeStep::Redirect(url),
                    Err(e) => failed(&e),
                }
            }
        }
    }

    fn consent(
        &self,
        app: &PartnerApp,
        actor: &Actor,
        scope: &str,
        redirect: &Url,
        params: &Params,
    ) -> Consent {
        // Identity first, then in catalog order: each API, then its sensitive data groups
        // beneath it.
        let granted: std::collections::BTreeSet<&str> = scope.split(' ').collect();
        let (identity, _) = Identity::split(Some(scope));
        let mut scopes: Vec<ConsentScope> = [
            (
                identity.openid,
                "openid",
                "Sign you in",
                "Confirm to the application who you are and which company you belong to.",
            ),
            (
                identity.profile,
                "profile",
                "Your profile",
                "See your name and login id.",
            ),
            (
                identity.email,
                "email",
                "Your email address",
                "See the email address you sign in with.",
            ),
        ]
        .into_iter()
        .filter(|(asked, ..)| *asked)
        .map(|(_, scope, title, description)| ConsentScope {
            scope: scope.into(),
            title: title.into(),
            description: description.into(),
            sensitive: false,
        })
        .collect();
        for api in self.inner.catalog.apis() {
            if granted.contains(api.scope.as_str()) {
                scopes.push(ConsentScope {
                    scope: api.scope.clone(),
                    title: api.title.clone(),
                    description: api.description.clone(),
                    sensitive: false,
                });
            }
            for group in api
                .sensitive_data_groups
                .iter()
                .filter(|g| granted.contains(g.scope.as_str()))
            {
                scopes.push(ConsentScope {
                    scope: group.scope.clone(),
                    title: group.title.clone(),
                    description: group.description.clone(),
                    sensitive: true,
                });
            }
        }
        Consent {
            app_name: app.spec.name.clone(),
            app_description: app.spec.description.clone(),
            client_id: app.client_id(),
            company_name: actor.company.name.clone(),
            scopes,
            redirect_uri: redirect.to_string(),
            form: params
                .pairs()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}
