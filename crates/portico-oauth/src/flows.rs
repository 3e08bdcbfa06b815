//! The protocol flows oxide-auth runs for us: the authorization request, the code exchange
//! (with PKCE), client credentials and refresh. oxide-auth's state machines (through
//! oxide-auth-async, so our primitives may await the store) validate and sequence each flow;
//! `Flow` is the registrar, authorizer, issuer and extension they call back into.
//!
//! oxide-auth's primitives can only say "no" (`()` or `RegistrarError`), so every refusal is
//! also recorded here with its precise RFC 6749 error, and that record wins over oxide-auth's
//! generic one. Success bodies are ours too: the issuer keeps what it issued.

use crate::Inner;
use crate::directory::ClientEntry;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::GRANT_EXISTS;
use crate::issue::{IssuedTokens, Principal};
use crate::params::Params;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use oxide_auth::code_grant::{
    accesstoken::{self, Authorization},
    authorization, client_credentials,
    error::AccessTokenErrorType,
    extensions::Pkce,
    refresh,
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
    AuthorizationCodeRecord, CodeRedemption, PlainSecret, RefreshTokenRecord, Rotation, ScopeSet,
    TokenDigest, TokenGrant, narrow_scope, resolve_scope,
    secret::{constant_time_eq, random_token},
};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

/// Where a client without registered redirect URIs is "bound" in flows that never redirect
/// (client credentials, refresh); oxide-auth wants some URL there.
const NO_REDIRECT: &str = "https://portico.invalid/no-redirect";

const REPLAYED_CODE: &str =
    "authorization code was already used; the tokens issued from it are revoked";

pub(crate) const REUSED_REFRESH: &str =
    "refresh token was already used; every token of its grant is revoked";

/// One run of a flow for one client.
pub(crate) struct Flow<'a> {
    svc: &'a Inner,
    pub(crate) client: Arc<ClientEntry>,
    /// The secret the client authenticated with (token endpoint); None at the authorization
    /// endpoint, where the client is only named.
    secret: Option<&'a str>,
    params: &'a Params,
    now: i64,
    authorizing: bool,
    failure: Mutex<Option<OAuthError>>,
    issued: Option<IssuedTokens>,
    /// The grant id the redeemed code was bound to; the grant is stored under it.
    code_grant: Option<String>,
    refreshing: Option<(RefreshTokenRecord, TokenGrant)>,
}

impl<'a> Flow<'a> {
    pub(crate) fn new(
        svc: &'a Inner,
        client: Arc<ClientEntry>,
        secret: Option<&'a str>,
        params: &'a Params,
        now: i64,
    ) -> Self {
        Self {
            svc,
            client,
            secret,
            params,
            now,
            authorizing: secret.is_none(),
            failure: Mutex::new(None),
            issued: None,
            code_grant: None,
            refreshing: None,
        }
    }

    /// Records why a primitive refused (the first reason wins).
    fn fail(&self, e: OAuthError) {
        let mut f = self.failure.lock().expect("failure lock");
        if f.is_none() {
            *f = Some(e);
        }
    }

    pub(crate) fn take_failure(&self) -> Option<OAuthError> {
        self.failure.lock().expect("failure lock").take()
    }

    /// The outcome of a token-endpoint flow: what we issued, or the precise reason it failed
    /// (falling back to oxide-auth's error).
    fn finish<T>(mut self, result: Result<T, OAuthError>) -> OAuthResult<IssuedTokens> {
        match result {
            Ok(_) => self
                .issued
                .take()
                .ok_or_else(|| OAuthError::Server("the flow finished without issuing".into())),
            Err(fallback) => Err(self.take_failure().unwrap_or(fallback)),
        }
    }

    fn store(&self) -> &dyn crate::directory::OAuthStore {
        self.svc.directory.store()
    }

    async fn revoke_grant(&self, grant_id: &str) {
        if let Err(e) = self
            .store()
            .revoke_grants(&[grant_id.to_owned()], self.now)
            .await
        {
            tracing::error!(error = %e, "revoking a replayed grant failed");
        }
    }
}

fn until(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_else(Utc::now)
}

fn to_scope(s: &str) -> Result<Scope, ()> {
    s.parse().map_err(|_| ())
}

// --- What oxide-auth asks of a request ---------------------------------------------------

/// The request as oxide-auth reads it. Client credentials were checked before the flow ran;
/// they are passed on as an `Authorization` so oxide-auth's own check confirms the same client.
pub(crate) struct OxideRequest<'a> {
    params: &'a Params,
    client: Option<(&'a str, &'a str)>,
}

impl<'a> OxideRequest<'a> {
    pub(crate) fn token(params: &'a Params, client_id: &'a str, secret: &'a str) -> Self {
        Self {
            params,
            client: Some((client_id, secret)),
        }
    }

    pub(crate) fn authorization(params: &'a Params) -> Self {
        Self {
            params,
            client: None,
        }
    }

    fn get(&self, k: &str) -> Option<Cow<'_, str>> {
        self.params.get(k).map(Cow::Borrowed)
    }

    /// Extension parameters (code_verifier, PKCE challenge); client credentials are passed as
    /// `authorization`, and showing them here too would read as a second set.
    fn extension(&self, k: &str) -> Option<Cow<'_, str>> {
        match k {
            "client_id" | "client_secret" => None,
            _ => self.get(k),
        }
    }

    fn credentials(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        self.client
            .map(|(id, secret)| (Cow::Borrowed(id), Cow::Borrowed(secret.as_bytes())))
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
        match self.credentials() {
            Some((id, secret)) => Authorization::UsernamePassword(id, secret),
            None => Authorization::None,
        }
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        // Given through `authorization`; naming it twice would read as two credentials.
        None
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

impl client_credentials::Request for OxideRequest<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        self.credentials()
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.get("scope")
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        self.get("grant_type")
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        OxideRequest::extension(self, key)
    }
}

impl refresh::Request for OxideRequest<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn refresh_token(&self) -> Option<Cow<'_, str>> {
        self.get("refresh_token")
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.get("scope")
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        self.get("grant_type")
    }
    fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        self.credentials()
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
            Some(uri) if app.matches_redirect_uri(uri.as_str()) => uri.as_str().to_owned(),
            Some(_) => {
                self.fail(OAuthError::invalid_request(
                    "redirect_uri is not registered for this application",
                ));
                return Err(RegistrarError::Unspecified);
            }
            None => match (app.spec.redirect_uris.as_slice(), self.authorizing) {
                ([only], _) => only.clone(),
                (_, true) => {
                    self.fail(OAuthError::invalid_request(
                        "redirect_uri is required: the application registered several or none",
                    ));
                    return Err(RegistrarError::Unspecified);
                }
                (uris, false) => uris.first().cloned().unwrap_or_else(|| NO_REDIRECT.into()),
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
        let granted = resolve_scope(
            requested.as_deref(),
            &app.registered_scopes(),
            &self.svc.catalog,
        )
        .map_err(|e| {
            self.fail(e.into());
            RegistrarError::Unspecified
        })?;
        if granted.is_empty() {
            self.fail(OAuthError::InvalidScope(
                "the application registered no APIs, so there is no scope to grant".into(),
            ));
            return Err(RegistrarError::Unspecified);
        }
        Ok(PreGrant {
            client_id: client.client_id.into_owned(),
            redirect_uri: client.redirect_uri.into_owned(),
            scope: to_scope(&granted.to_string()).map_err(|()| RegistrarError::PrimitiveError)?,
        })
    }

    async fn check(
        &self,
        client_id: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<(), RegistrarError> {
        // The endpoint authenticated the client before the flow ran; confirm it is that client.
        let same_secret = matches!((self.secret, passphrase),
            (Some(s), Some(p)) if constant_time_eq(s.as_bytes(), p));
        if client_id == self.client.app.client_id() && same_secret {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}

#[async_trait]
impl Authorizer for Flow<'_> {
    async fn authorize(&mut self, grant: Grant) -> Result<String, ()> {
        let Some(Principal::User { user, company }) = Principal::decode(&grant.owner_id) else {
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
        self.code_grant = Some(grant_id);
        let mut extensions = Extensions::new();
        extensions.set(
            &Pkce::required(),
            Value::private(Some(record.pkce_challenge)),
        );
        Ok(Some(Grant {
            owner_id: Principal::User {
                user: record.user_id,
                company: record.company_id,
            }
            .encode(),
            client_id: record.app_id.to_string(),
            scope: to_scope(&record.scope)?,
            redirect_uri: record.redirect_uri.parse().map_err(|_| ())?,
            until: until(record.expires_at),
            extensions,
        }))
    }
}

#[async_trait]
impl Issuer for Flow<'_> {
    async fn issue(&mut self, grant: Grant) -> Result<IssuedToken, ()> {
        let principal = Principal::decode(&grant.owner_id).ok_or(())?;
        let scope = ScopeSet::parse(&grant.scope.to_string()).map_err(|_| ())?;
        let app = self.client.app.clone();
        if let Err(e) = self.svc.check_principal(&app, &principal).await {
            self.fail(e);
            return Err(());
        }
        let issued = if principal == Principal::App {
            let (access_token, expires_in) = self
                .svc
                .access_token(&app, &principal, &scope, None, self.now);
            IssuedTokens {
                access_token,
                expires_in,
                scope: scope.to_string(),
                refresh_token: None,
            }
        } else {
            let started = self
                .svc
                .start_grant(&app, &principal, &scope, self.code_grant.take(), self.now)
                .await;
            let (_, issued) = started.map_err(|e| match e {
                // A replay of the code revoked its grant before it was stored.
                OAuthError::InvalidGrant(m) if m == GRANT_EXISTS => {
                    self.fail(OAuthError::invalid_grant(REPLAYED_CODE))
                }
                e => self.fail(e),
            })?;
            issued
        };
        let token = IssuedToken {
            token: issued.access_token.clone(),
            refresh: issued.refresh_token.as_ref().map(|r| r.expose().to_owned()),
            until: until(self.now + issued.expires_in),
            token_type: TokenType::Bearer,
        };
        self.issued = Some(issued);
        Ok(token)
    }

    async fn refresh(&mut self, _token: &str, grant: Grant) -> Result<RefreshedToken, ()> {
        let (old, family) = self.refreshing.take().ok_or(())?;
        let app = self.client.app.clone();
        let principal = Principal::of_grant(&family);
        if let Err(e) = self.svc.check_principal(&app, &principal).await {
            self.fail(e);
            return Err(());
        }
        // oxide-auth checked the requested scope is within the grant; the app may have dropped
        // APIs since, and those are not carried forward.
        let scope = ScopeSet::parse(&grant.scope.to_string())
            .map_err(|_| ())?
            .retain_in(&app.registered_scopes());
        if scope.is_empty() {
            self.fail(OAuthError::InvalidScope(
                "none of the granted scopes is still registered for this application".into(),
            ));
            return Err(());
        }
        let (refresh_token, record) = self.svc.new_refresh_token(&family.id, self.now);
        match self
            .store()
            .rotate_refresh_token(&old.digest, &record, self.now)
            .await
        {
            Ok(Rotation::Rotated) => self
                .svc
                .directory
                .remember_refresh(&record, &family, self.now),
            Ok(Rotation::AlreadyRotated) => {
                self.revoke_grant(&family.id).await;
                self.fail(OAuthError::invalid_grant(REUSED_REFRESH));
                return Err(());
            }
            Ok(Rotation::GrantRevoked) => {
                self.fail(OAuthError::invalid_grant("refresh token has been revoked"));
                return Err(());
            }
            Err(e) => {
                self.fail(e.into());
                return Err(());
            }
        }
        let (access_token, expires_in) =
            self.svc
                .access_token(&app, &principal, &scope, Some(&family.id), self.now);
        let refreshed = RefreshedToken {
            token: access_token.clone(),
            refresh: Some(refresh_token.expose().to_owned()),
            until: until(self.now + expires_in),
            token_type: TokenType::Bearer,
        };
        self.issued = Some(IssuedTokens {
            access_token,
            expires_in,
            scope: scope.to_string(),
            refresh_token: Some(refresh_token),
        });
        Ok(refreshed)
    }

    async fn recover_token(&mut self, _: &str) -> Result<Option<Grant>, ()> {
        // Access tokens are JWTs checked by jwt::verify; oxide-auth's resource flow is unused.
        Ok(None)
    }

    async fn recover_refresh(&mut self, token: &str) -> Result<Option<Grant>, ()> {
        let digest = TokenDigest::of(token);
        let window = self.svc.settings.access_token_ttl;
        let fresh = self
            .svc
            .directory
            .take_fresh_refresh(&digest, self.now, window);
        let found = match fresh {
            // Issued here moments ago: revoked since only if the revocation list says so.
            Some((record, mut family)) => {
                match self
                    .svc
                    .directory
                    .is_grant_revoked(&family.id, self.now)
                    .await
                {
                    Ok(true) => family.revoked_at = Some(self.now),
                    Ok(false) => {}
                    Err(e) => {
                        self.fail(e);
                        return Err(());
                    }
                }
                Ok(Some((record, family)))
            }
            None => self.store().find_refresh_token(&digest).await,
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                self.fail(e.into());
                return Err(());
            }
        };
        let Some((record, family)) = found else {
            self.fail(OAuthError::invalid_grant("refresh token is invalid"));
            return Ok(None);
        };
        let refusal = if family.app_id != self.client.app.id {
            Some("refresh token was issued to another client")
        } else if family.revoked_at.is_some() {
            Some("refresh token has been revoked")
        } else if record.rotated_at.is_some() {
            // Reuse of a rotated token: someone else may hold the family. End all of it.
            self.revoke_grant(&family.id).await;
            Some(REUSED_REFRESH)
        } else if record.expires_at <= self.now {
            Some("refresh token expired")
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.fail(OAuthError::invalid_grant(reason));
            return Ok(None);
        }
        let original = ScopeSet::parse(&family.scope).map_err(|_| ())?;
        if let Err(e) = narrow_scope(
            self.params.get("scope"),
            &original,
            &self.client.app.registered_scopes(),
        ) {
            self.fail(e.into());
            return Ok(None);
        }
        let grant = Grant {
            owner_id: Principal::of_grant(&family).encode(),
            client_id: family.app_id.to_string(),
            scope: to_scope(&family.scope)?,
            redirect_uri: NO_REDIRECT.parse().map_err(|_| ())?,
            until: until(record.expires_at),
            extensions: Extensions::new(),
        };
        self.refreshing = Some((record, family));
        Ok(Some(grant))
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

#[async_trait]
impl flow::client_credentials::Extension for Flow<'_> {
    async fn extend(
        &mut self,
        _: &(dyn client_credentials::Request + Sync),
    ) -> Result<Extensions, ()> {
        Ok(Extensions::new())
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

impl flow::client_credentials::Endpoint for Flow<'_> {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        self
    }
    fn authorizer(&mut self) -> &mut (dyn Authorizer + Send) {
        self
    }
    fn issuer(&mut self) -> &mut (dyn Issuer + Send) {
        self
    }
    fn extension(&mut self) -> &mut (dyn flow::client_credentials::Extension + Send) {
        self
    }
}

impl flow::refresh::Endpoint for Flow<'_> {
    fn registrar(&self) -> &(dyn Registrar + Sync) {
        self
    }
    fn issuer(&mut self) -> &mut (dyn Issuer + Send) {
        self
    }
}

// --- oxide-auth's errors in RFC 6749 terms -------------------------------------------------

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

/// A token request whose client the endpoint has authenticated, handed to an oxide-auth flow.
pub(crate) struct TokenCall<'a> {
    pub client: Arc<ClientEntry>,
    pub client_id: &'a str,
    pub secret: &'a str,
    pub params: &'a Params,
    /// The client used HTTP Basic (an `invalid_client` then carries a Basic challenge).
    pub basic: bool,
    pub now: i64,
}

impl<'a> TokenCall<'a> {
    /// The flow's primitives and the request as oxide-auth reads it.
    fn start(self, svc: &'a Inner) -> (Flow<'a>, OxideRequest<'a>, bool) {
        let request = OxideRequest::token(self.params, self.client_id, self.secret);
        let flow = Flow::new(svc, self.client, Some(self.secret), self.params, self.now);
        (flow, request, self.basic)
    }
}

impl Inner {
    /// `grant_type=authorization_code`: oxide-auth's access-token flow with PKCE.
    pub(crate) async fn exchange_code(&self, call: TokenCall<'_>) -> OAuthResult<IssuedTokens> {
        let (mut f, request, basic) = call.start(self);
        let result = flow::access_token::access_token(&mut f, &request).await;
        f.finish(result.map_err(|e| match e {
            accesstoken::Error::Invalid(mut d) => from_kind(d.description().kind(), basic),
            accesstoken::Error::Unauthorized(..) => OAuthError::bad_client_credentials(basic),
            accesstoken::Error::Primitive(_) => {
                OAuthError::Server("access token flow primitive failed".into())
            }
        }))
    }

    /// `grant_type=client_credentials`: an app-level token, no refresh token.
    pub(crate) async fn client_credentials(
        &self,
        call: TokenCall<'_>,
    ) -> OAuthResult<IssuedTokens> {
        let (mut f, request, basic) = call.start(self);
        let map = |e: client_credentials::Error| match e {
            client_credentials::Error::Invalid(mut d) => from_kind(d.description().kind(), basic),
            client_credentials::Error::Unauthorized(..) | client_credentials::Error::Ignore => {
                OAuthError::bad_client_credentials(basic)
            }
            client_credentials::Error::Primitive(_) => {
                OAuthError::Server("client credentials flow primitive failed".into())
            }
        };
        let pending = match flow::client_credentials::client_credentials(&mut f, &request).await {
            Ok(p) => p,
            Err(e) => return f.finish::<()>(Err(map(e))),
        };
        let result = pending.issue(&mut f, Principal::App.encode(), false).await;
        f.finish(result.map_err(map))
    }

    /// `grant_type=refresh_token`: rotation, reuse detection, optional narrowing.
    pub(crate) async fn refresh(&self, call: TokenCall<'_>) -> OAuthResult<IssuedTokens> {
        let (mut f, request, basic) = call.start(self);
        let result = flow::refresh::refresh(&mut f, &request).await;
        f.finish(result.map_err(|e| match e {
            refresh::Error::Invalid(mut d) => from_kind(d.description().kind(), basic),
            refresh::Error::Unauthorized(..) => OAuthError::bad_client_credentials(basic),
            refresh::Error::Primitive => OAuthError::Server("refresh flow primitive failed".into()),
        }))
    }
}
