//! The one place oxide-auth is used: the two flows it models well, the authorization request
//! (client, exact redirect URI, response type, scope, PKCE) and the code exchange, run by
//! oxide-auth's state machines (through oxide-auth-async, so our primitives may await the
//! store). Everything else in this crate speaks Portico's own types; replacing oxide-auth means
//! rewriting this module only.
//!
//! `Flow` is the registrar, authorizer, issuer and extension oxide-auth calls back into. Its
//! primitives can only say "no" (`()` or `RegistrarError`), so a refusal is also recorded here
//! with its precise RFC 6749 error, and that record wins over oxide-auth's generic one.

use crate::Inner;
use crate::directory::ClientEntry;
use crate::error::{OAuthError, OAuthResult};
use crate::grants::TokenRequest;
use crate::issue::{GRANT_EXISTS, Issuance, IssuedTokens, NewGrant, Principal};
use crate::params::Params;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use oxide_auth::code_grant::{
    accesstoken::{self, Authorization},
    authorization::{self, Error as AuthError},
    error::{AccessTokenErrorType, AuthorizationErrorType},
    extensions::Pkce,
};
use oxide_auth::primitives::{
    grant::{Extensions, Grant, Value},
    issuer::{IssuedToken, RefreshedToken, TokenType},
    registrar::{BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, RegistrarError},
    scope::Scope,
};
use oxide_auth_async::code_grant as flow;
use oxide_auth_async::primitives::{Authorizer, Issuer, Registrar};
use portico_domain::{
    Asked, AuthorizationCodeRecord, CodeRedemption, GrantScope, PlainSecret, TokenDigest,
    scope_with_identity, secret::random_token, split_resources,
};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use url::Url;

/// What a code carries besides oxide-auth's grant: the request's `nonce`, when the user signed
/// in, and the resources asked (validated at the authorization endpoint).
#[derive(Clone, Debug, Default)]
pub(crate) struct CodeExtras {
    pub nonce: Option<String>,
    pub auth_time: Option<i64>,
    pub resources: Option<String>,
    pub dpop_jkt: Option<String>,
}

const REPLAYED_CODE: &str =
    "authorization code was already used; the tokens issued from it are revoked";

/// One run of a flow for one client.
struct Flow<'a> {
    svc: &'a Inner,
    client: Arc<ClientEntry>,
    params: &'a Params,
    now: i64,
    /// At the authorization endpoint: the user the code will be for, once they allowed it,
    /// and what the code carries for OpenID Connect and RFC 8707.
    user: Option<(Principal, CodeExtras)>,
    failure: Mutex<Option<OAuthError>>,
    issued: Option<IssuedTokens>,
    /// At the token endpoint: the redeemed code and the grant id it was bound to.
    redeemed: Option<(AuthorizationCodeRecord, String)>,
    /// At the token endpoint: the key of the request's DPoP proof, which the grant is bound to.
    dpop_jkt: Option<String>,
}

impl<'a> Flow<'a> {
    fn new(svc: &'a Inner, client: Arc<ClientEntry>, params: &'a Params, now: i64) -> Self {
        Self {
            svc,
            client,
            params,
            now,
            user: None,
            failure: Mutex::new(None),
            issued: None,
            redeemed: None,
            dpop_jkt: None,
        }
    }

    /// Records why a primitive refused (the first reason wins).
    fn fail(&self, e: OAuthError) {
        let mut f = self.failure.lock().expect("failure lock");
        if f.is_none() {
            *f = Some(e);
        }
    }

    fn take_failure(&self) -> Option<OAuthError> {
        self.failure.lock().expect("failure lock").take()
    }

    fn store(&self) -> &dyn crate::directory::OAuthStore {
        self.svc.directory.store()
    }
}

fn until(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_else(Utc::now)
}

fn to_scope(s: &str) -> Result<Scope, ()> {
    s.parse().map_err(|_| ())
}

// --- What oxide-auth asks of a request ---------------------------------------------------

/// The request as oxide-auth reads it. At the token endpoint the client was authenticated
/// before the flow ran: it is named (not authenticated again) and the registrar only confirms
/// the name is that client's.
struct OxideRequest<'a> {
    params: &'a Params,
    authenticated: Option<&'a str>,
}

impl OxideRequest<'_> {
    fn get(&self, k: &str) -> Option<Cow<'_, str>> {
        self.params.get(k).map(Cow::Borrowed)
    }

    /// Extension parameters (code_verifier, PKCE challenge); client credentials are the
    /// endpoint's business, and showing them here would read as a second set.
    fn extension(&self, k: &str) -> Option<Cow<'_, str>> {
        match k {
            "client_id" | "client_secret" => None,
            _ => self.get(k),
        }
    }
}

impl accesstoken::Request for OxideRequest<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        self.get("code")
    }
    fn authorization(&self) -> Authorization<'_> {
        Authorization::None
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        self.authenticated.map(Cow::Borrowed)
    }
    fn redirect_uri(&self) -> Option<Cow<'_, str>> {
        self.get("redirect_uri")
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        self.get("grant_type")
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        OxideRequest::extension(self, key)
    }
}

impl authorization::Request for OxideRequest<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        self.get("client_id")
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.get("scope")
    }
    fn redirect_uri(&self) -> Option<Cow<'_, str>> {
        self.get("redirect_uri")
    }
    fn state(&self) -> Option<Cow<'_, str>> {
        self.get("state")
    }
    fn response_type(&self) -> Option<Cow<'_, str>> {
        self.get("response_type")
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        OxideRequest::extension(self, key)
    }
}

// --- The primitives oxide-auth calls -------------------------------------------------------

#[async_trait]
impl Registrar for Flow<'_> {
    async fn bound_redirect<'b>(
        &self,
        bound: ClientUrl<'b>,
    ) -> Result<BoundClient<'b>, RegistrarError> {
        let app = &self.client.app;
        if bound.client_id.as_ref() != app.client_id() {
            return Err(RegistrarError::Unspecified);
        }
        let uri = match &bound.redirect_uri {
            // Matched as the client wrote it (the parsed form may have been rewritten).
            Some(uri) => {
                let written = self.params.get("redirect_uri").unwrap_or(uri.as_str());
                if !app.matches_redirect_uri(written) {
                    self.fail(OAuthError::invalid_request(
                        "redirect_uri is not registered for this application",
                    ));
                    return Err(RegistrarError::Unspecified);
                }
                uri.as_str().to_owned()
            }
            None => match app.spec.redirect_uris.as_slice() {
                [only] => only.clone(),
                _ => {
                    self.fail(OAuthError::invalid_request(
                        "redirect_uri is required: the application registered several or none",
                    ));
                    return Err(RegistrarError::Unspecified);
                }
            },
        };
        let exact: ExactUrl = uri.parse().map_err(|_| RegistrarError::Unspecified)?;
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(exact)),
        })
    }

    async fn negotiate<'b>(
        &self,
        client: BoundClient<'b>,
        scope: Option<Scope>,
    ) -> Result<PreGrant, RegistrarError> {
        let requested = scope.map(|s| s.to_string());
        let app = &self.client.app;
        // The scope part of the eligibility rule (identity scopes included); the user's part is
        // checked once they are known (`authorize`) and again at the exchange. Then the
        // resources asked (RFC 8707), which keep the scopes they serve.
        let mut granted =
            scope_with_identity(app, Asked::Grant(requested.as_deref()), &self.svc.catalog)
                .map_err(|e| {
                    self.fail(e.into());
                    RegistrarError::Unspecified
                })?;
        let target = self
            .svc
            .target(&self.params.resources(), None)
            .await
            .map_err(|e| {
                self.fail(e);
                RegistrarError::Unspecified
            })?;
        if let Some(t) = &target
            && !granted.api.is_empty()
        {
            granted.api = t.narrow(&granted.api, requested.is_some()).map_err(|e| {
                self.fail(e.into());
                RegistrarError::Unspecified
            })?;
        }
        Ok(PreGrant {
            client_id: client.client_id.into_owned(),
            redirect_uri: client.redirect_uri.into_owned(),
            scope: to_scope(&granted.scope().to_string())
                .map_err(|()| RegistrarError::PrimitiveError)?,
        })
    }

    async fn check(
        &self,
        client_id: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<(), RegistrarError> {
        // The endpoint authenticated the client before the flow ran; this only confirms the
        // flow is about that client.
        if client_id == self.client.app.client_id() && passphrase.is_none() {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}

#[async_trait]
impl Authorizer for Flow<'_> {
    async fn authorize(&mut self, grant: Grant) -> Result<String, ()> {
        let Some((Principal::User { user, company }, extras)) = self.user.clone() else {
            self.fail(OAuthError::Server("authorization without a user".into()));
            return Err(());
        };
        let pkce = grant
            .extensions
            .private()
            .find(|(k, _)| *k == "pkce")
            .and_then(|(_, v)| v.map(str::to_owned))
            .ok_or(())?;
        let code = PlainSecret::generate();
        let record = AuthorizationCodeRecord {
            digest: code.digest(),
            app_id: self.client.app.id,
            user_id: user,
            company_id: company,
            redirect_uri: grant.redirect_uri.to_string(),
            scope: grant.scope.to_string(),
            pkce_challenge: pkce,
            expires_at: self.now + self.svc.settings.authorization_code_ttl,
            nonce: extras.nonce,
            auth_time: extras.auth_time,
            resources: extras.resources,
            dpop_jkt: extras.dpop_jkt,
        };
        if let Err(e) = self.store().insert_code(&record).await {
            self.fail(e.into());
            return Err(());
        }
        Ok(code.into_string())
    }

    async fn extract(&mut self, code: &str) -> Result<Option<Grant>, ()> {
        let digest = TokenDigest::of(code);
        // The grant id is chosen now and bound to the code as it is claimed, so a replay, even
        // one racing this exchange on another node, finds the grant to revoke.
        let grant_id = random_token(24);
        let redeemed = self
            .store()
            .redeem_code(&digest, self.client.app.id, &grant_id, self.now)
            .await;
        let record = match redeemed {
            Ok(CodeRedemption::Redeemed(r)) => r,
            Ok(CodeRedemption::Unknown) => {
                self.fail(OAuthError::invalid_grant("authorization code is invalid"));
                return Ok(None);
            }
            Ok(CodeRedemption::OtherClient) => {
                // Not consumed and nothing revoked: the code stays its own client's.
                self.fail(OAuthError::invalid_grant(
                    "authorization code was issued to another client",
                ));
                return Ok(None);
            }
            Ok(CodeRedemption::AlreadyRedeemed { record, grant_id }) => {
                // RFC 6749 §4.1.2: a replayed code revokes what was issued from it.
                if let Some(g) = grant_id
                    && let Err(e) = self.store().revoke_code_grant(&record, &g, self.now).await
                {
                    self.fail(e.into());
                    return Err(());
                }
                self.fail(OAuthError::invalid_grant(REPLAYED_CODE));
                return Ok(None);
            }
            Err(e) => {
                self.fail(e.into());
                return Err(());
            }
        };
        if record.expires_at <= self.now {
            self.fail(OAuthError::invalid_grant("authorization code expired"));
            return Ok(None);
        }
        let mut extensions = Extensions::new();
        extensions.set(
            &Pkce::required(),
            Value::private(Some(record.pkce_challenge.clone())),
        );
        let grant = Grant {
            // oxide-auth only carries the owner; the issuer reads the code's record.
            owner_id: record.user_id.to_string(),
            client_id: record.app_id.to_string(),
            scope: to_scope(&record.scope)?,
            redirect_uri: record.redirect_uri.parse().map_err(|_| ())?,
            until: until(record.expires_at),
            extensions,
        };
        self.redeemed = Some((record, grant_id));
        Ok(Some(grant))
    }
}

#[async_trait]
impl Issuer for Flow<'_> {
    async fn issue(&mut self, _grant: Grant) -> Result<IssuedToken, ()> {
        let Some((code, grant_id)) = self.redeemed.take() else {
            self.fail(OAuthError::Server("issuing without a redeemed code".into()));
            return Err(());
        };
        let principal = Principal::User {
            user: code.user_id,
            company: code.company_id,
        };
        if let Err(e) =
            crate::dpop::check_code_binding(code.dpop_jkt.as_deref(), self.dpop_jkt.as_deref())
        {
            self.fail(e);
            return Err(());
        }
        let granted = GrantScope::parse(&code.scope).map_err(|_| ())?;
        let app = self.client.app.clone();
        if let Err(e) = self.svc.check_principal(&app, &principal).await {
            self.fail(e);
            return Err(());
        }
        // RFC 8707 §2.2: the access token may be for some of the resources the code was asked
        // for; the grant (and so every refresh) stays bound to all of them.
        let bound = split_resources(code.resources.as_deref());
        let target = match self
            .svc
            .target(&self.params.resources(), bound.as_deref())
            .await
        {
            Ok(t) => t,
            Err(e) => {
                self.fail(e);
                return Err(());
            }
        };
        let mut scope = granted.clone();
        if let Some(t) = &target
            && !scope.api.is_empty()
        {
            match t.narrow(&scope.api, false) {
                Ok(api) => scope.api = api,
                Err(e) => {
                    self.fail(e.into());
                    return Err(());
                }
            }
        }
        let issuance = Issuance {
            app: &app,
            principal,
            scope,
            target,
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
            dpop_jkt: self.dpop_jkt.as_deref(),
        };
        let new = NewGrant {
            scope: granted.scope(),
            resources: code.resources.clone(),
            id: Some(grant_id),
        };
        let started = self.svc.start_grant(&issuance, new, self.now).await;
        let issued = started.map_err(|e| match e {
            // A replay of the code revoked its grant before it was stored.
            OAuthError::InvalidGrant(m) if m == GRANT_EXISTS => {
                self.fail(OAuthError::invalid_grant(REPLAYED_CODE))
            }
            e => self.fail(e),
        })?;
        let token = IssuedToken {
            token: issued.access_token.clone(),
            refresh: issued.refresh_token.as_ref().map(|r| r.expose().to_owned()),
            until: until(self.now + issued.expires_in),
            token_type: TokenType::Bearer,
        };
        self.issued = Some(issued);
        Ok(token)
    }

    async fn refresh(&mut self, _: &str, _: Grant) -> Result<RefreshedToken, ()> {
        // Refresh is a grant of its own (`grants::refresh`), not run through oxide-auth.
        Err(())
    }

    async fn recover_token(&mut self, _: &str) -> Result<Option<Grant>, ()> {
        Ok(None)
    }

    async fn recover_refresh(&mut self, _: &str) -> Result<Option<Grant>, ()> {
        Ok(None)
    }
}

/// RFC 7636 §4.1/§4.2: a verifier is 43–128 unreserved characters; an S256 challenge is the
/// 43-character base64url of its SHA-256.
fn pkce_string(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

#[async_trait]
impl flow::authorization::Extension for Flow<'_> {
    async fn extend(
        &mut self,
        request: &(dyn authorization::Request + Sync),
    ) -> Result<Extensions, ()> {
        let method = request.extension("code_challenge_method");
        let challenge = request.extension("code_challenge");
        let well_formed = method.as_deref() == Some("S256")
            && challenge.as_deref().is_some_and(|c| pkce_string(c, 43, 43));
        let pkce = Pkce::required();
        match pkce.challenge(method, challenge) {
            Ok(Some(value)) if well_formed => {
                let mut extensions = Extensions::new();
                extensions.set(&pkce, value);
                Ok(extensions)
            }
            _ => {
                self.fail(OAuthError::invalid_request(
                    "PKCE is required: send a code_challenge (43 characters, base64url) with code_challenge_method=S256",
                ));
                Err(())
            }
        }
    }
}

#[async_trait]
impl flow::access_token::Extension for Flow<'_> {
    async fn extend(
        &mut self,
        request: &(dyn accesstoken::Request + Sync),
        mut data: Extensions,
    ) -> Result<Extensions, ()> {
        let pkce = Pkce::required();
        let verifier = request.extension("code_verifier");
        if !verifier.as_deref().is_some_and(|v| pkce_string(v, 43, 128)) {
            self.fail(OAuthError::invalid_request(
                "code_verifier is required: 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            ));
            return Err(());
        }
        match pkce.verify(data.remove(&pkce), verifier) {
            Ok(()) => Ok(Extensions::new()),
            Err(()) => {
                self.fail(OAuthError::invalid_grant(
                    "PKCE verification failed: code_verifier does not match the code_challenge",
                ));
                Err(())
            }
        }
    }
}

impl flow::authorization::Endpoint for Flow<'_> {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        self
    }
    fn authorizer(&mut self) -> &mut (dyn Authorizer + Send) {
        self
    }
    fn extension(&mut self) -> &mut (dyn flow::authorization::Extension + Send) {
        self
    }
}

impl flow::access_token::Endpoint for Flow<'_> {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        self
    }
    fn authorizer(&mut self) -> &mut (dyn Authorizer + Send) {
        self
    }
    fn issuer(&mut self) -> &mut (dyn Issuer + Send) {
        self
    }
    fn extension(&mut self) -> &mut (dyn flow::access_token::Extension + Send) {
        self
    }
}

// --- The code exchange ---------------------------------------------------------------------

fn from_kind(kind: AccessTokenErrorType, basic: bool) -> OAuthError {
    let generic = |s: &str| s.to_owned();
    match kind {
        AccessTokenErrorType::InvalidRequest => OAuthError::InvalidRequest(generic(
            "the request is missing a required parameter or is malformed",
        )),
        AccessTokenErrorType::InvalidClient => OAuthError::bad_client_credentials(basic),
        AccessTokenErrorType::InvalidGrant => OAuthError::InvalidGrant(generic(
            "the grant is invalid, expired, revoked, or was issued to another client",
        )),
        AccessTokenErrorType::UnauthorizedClient => {
            OAuthError::UnauthorizedClient(generic("the client may not use this grant"))
        }
        AccessTokenErrorType::UnsupportedGrantType => {
            OAuthError::UnsupportedGrantType(generic("unsupported grant_type"))
        }
        AccessTokenErrorType::InvalidScope => {
            OAuthError::InvalidScope(generic("the requested scope is invalid"))
        }
    }
}

/// `grant_type=authorization_code`: oxide-auth's access-token flow with PKCE, for a client
/// the endpoint authenticated.
pub(crate) async fn exchange_code(
    svc: &Inner,
    req: &TokenRequest<'_>,
) -> OAuthResult<IssuedTokens> {
    let client_id = req.client.app.client_id();
    let request = OxideRequest {
        params: req.params,
        authenticated: Some(&client_id),
    };
    let mut f = Flow::new(svc, req.client.clone(), req.params, req.now);
    f.dpop_jkt = req.dpop_jkt.clone();
    let result = flow::access_token::access_token(&mut f, &request).await;
    match result {
        Ok(_) => f
            .issued
            .take()
            .ok_or_else(|| OAuthError::Server("the flow finished without issuing".into())),
        Err(e) => Err(f.take_failure().unwrap_or_else(|| match e {
            accesstoken::Error::Invalid(mut d) => from_kind(d.description().kind(), req.basic),
            accesstoken::Error::Unauthorized(..) => OAuthError::bad_client_credentials(req.basic),
            accesstoken::Error::Primitive(_) => {
                OAuthError::Server("access token flow primitive failed".into())
            }
        })),
    }
}

// --- The authorization request -------------------------------------------------------------

/// Why an authorization request could not go on.
pub(crate) enum AuthorizationRefusal {
    /// Not to be redirected: the client or its redirect URI cannot be trusted (a page).
    Page(OAuthError),
    /// An error redirect to the client (its redirect URI is registered), and the error it
    /// carries (the PAR endpoint answers it as JSON instead).
    Redirect {
        url: String,
        error: OAuthError,
    },
    Server(OAuthError),
}

/// Why an authorization request is refused after validation: an RFC 6749 §4.1.2.1, OpenID
/// Connect Core §3.1.2.6 or RFC 8707 code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    InvalidTarget,
    LoginRequired,
    ConsentRequired,
}

impl Refusal {
    fn code(self) -> &'static str {
        match self {
            Refusal::InvalidRequest => "invalid_request",
            Refusal::UnauthorizedClient => "unauthorized_client",
            Refusal::AccessDenied => "access_denied",
            Refusal::InvalidTarget => "invalid_target",
            Refusal::LoginRequired => "login_required",
            Refusal::ConsentRequired => "consent_required",
        }
    }
}

/// oxide-auth's own refusals (ours, when recorded, are more precise and come first).
fn from_authorization_kind(kind: AuthorizationErrorType) -> OAuthError {
    match kind {
        AuthorizationErrorType::UnsupportedResponseType => {
            OAuthError::UnsupportedResponseType("response_type must be code".into())
        }
        AuthorizationErrorType::InvalidScope => {
            OAuthError::InvalidScope("the requested scope is invalid".into())
        }
        AuthorizationErrorType::UnauthorizedClient | AuthorizationErrorType::AccessDenied => {
            OAuthError::UnauthorizedClient("the client may not make this request".into())
        }
        AuthorizationErrorType::ServerError => {
            OAuthError::Server("authorization flow refused with server_error".into())
        }
        AuthorizationErrorType::TemporarilyUnavailable => OAuthError::Busy {
            retry_after_seconds: 1,
        },
        AuthorizationErrorType::InvalidRequest => {
            OAuthError::invalid_request("the authorization request is invalid")
        }
    }
}

/// A validated authorization request, waiting for the user.
pub(crate) struct PendingAuthorization<'a> {
    flow: Flow<'a>,
    pending: flow::authorization::Pending,
    issuer: &'a str,
}

/// Validates an authorization request (client, exact redirect URI, response type, scope,
/// PKCE) for `client`.
pub(crate) async fn authorization_request<'a>(
    svc: &'a Inner,
    client: Arc<ClientEntry>,
    params: &'a Params,
    now: i64,
) -> Result<PendingAuthorization<'a>, AuthorizationRefusal> {
    let request = OxideRequest {
        params,
        authenticated: None,
    };
    let mut flow = Flow::new(svc, client, params, now);
    let issuer = svc.settings.issuer.as_str();
    match flow::authorization::authorization_code(&mut flow, &request).await {
        Ok(pending) => Ok(PendingAuthorization {
            flow,
            pending,
            issuer,
        }),
        Err(AuthError::Ignore) => Err(AuthorizationRefusal::Page(
            flow.take_failure().unwrap_or_else(|| {
                OAuthError::invalid_request(
                    "the request is invalid: check client_id and redirect_uri",
                )
            }),
        )),
        Err(AuthError::Redirect(mut e)) => {
            let ours = flow.take_failure();
            let error = ours
                .clone()
                .unwrap_or_else(|| from_authorization_kind(e.description().kind()));
            Err(AuthorizationRefusal::Redirect {
                url: error_redirect(issuer, e.into(), ours.as_ref()),
                error,
            })
        }
        Err(AuthError::PrimitiveError) => Err(AuthorizationRefusal::Server(
            flow.take_failure()
                .unwrap_or(OAuthError::Server("authorization flow".into())),
        )),
    }
}

impl PendingAuthorization<'_> {
    /// The registered redirect URI in use.
    pub(crate) fn redirect_uri(&self) -> Url {
        self.pending.pre_grant().redirect_uri.to_url()
    }

    /// The scope the request resolved to.
    pub(crate) fn scope(&self) -> String {
        self.pending.pre_grant().scope.to_string()
    }

    /// An error redirect to the client, with our precise description.
    pub(crate) fn refuse(&self, why: Refusal, description: &str) -> String {
        let mut url = self.redirect_uri();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("error", why.code());
            q.append_pair("error_description", description);
            if let Some(state) = self.pending.as_solicitation().state() {
                q.append_pair("state", state);
            }
        }
        with_iss(self.issuer, url)
    }

    /// The user allowed: a code for them, in the redirect to the client.
    pub(crate) async fn issue_code(
        mut self,
        user: Principal,
        extras: CodeExtras,
    ) -> OAuthResult<String> {
        self.flow.user = Some((user, extras));
        // oxide-auth wants an owner id; the code's record carries the principal.
        let owner = match user {
            Principal::User { user, .. } => user.to_string(),
            _ => return Err(OAuthError::Server("a code is for a user".into())),
        };
        match self
            .pending
            .authorize(&mut self.flow, Cow::Owned(owner))
            .await
        {
            Ok(url) => Ok(with_iss(self.issuer, url)),
            Err(_) => Err(self
                .flow
                .take_failure()
                .unwrap_or(OAuthError::Server("issuing the code".into()))),
        }
    }
}

/// An error redirect in RFC 6749 §4.1.2.1 terms. oxide-auth names its parameters
/// `description` and `uri` instead of `error_description` and `error_uri`; they come after its
/// `error`, so only those are renamed (the client's own redirect URI may well have a
/// `description` parameter). Our precise error (code and description) replaces oxide-auth's
/// generic one.
fn error_redirect(issuer: &str, url: Url, ours: Option<&OAuthError>) -> String {
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let Some(at) = pairs.iter().rposition(|(k, _)| k == "error") else {
        return with_iss(issuer, url);
    };
    let (kept, oxide) = pairs.split_at(at + 1);
    let description = ours.map(OAuthError::description);
    let find = |name: &str| {
        oxide
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut out = url.clone();
    {
        let mut q = out.query_pairs_mut();
        q.clear();
        for (i, (k, v)) in kept.iter().enumerate() {
            match ours {
                Some(e) if i == at => q.append_pair(k, e.code()),
                _ => q.append_pair(k, v),
            };
        }
        if let Some(d) = description.or_else(|| find("description")) {
            q.append_pair("error_description", &d);
        }
        if let Some(u) = find("uri") {
            q.append_pair("error_uri", &u);
        }
    }
    with_iss(issuer, out)
}

/// RFC 9207: the authorization response names its issuer, against mix-up attacks.
fn with_iss(issuer: &str, mut url: Url) -> String {
    url.query_pairs_mut().append_pair("iss", issuer);
    url.to_string()
}
