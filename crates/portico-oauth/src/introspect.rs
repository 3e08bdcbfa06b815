//! Introspection (RFC 7662), revocation (RFC 7009), and Concur's "revoke all of this user's
//! tokens for this app" (`DELETE /app-mgmt/v0/connections`).

use crate::client::Endpoint;
use crate::dpop::ResourceRequest;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::Principal;
use crate::jwt::{self, AccessClaims, Audience};
use crate::params::Params;
use crate::{Inner, OAuthService, now};
use portico_domain::{
    AppId, AuditAction, AuditEvent, ConnectionFilter, PartnerApp, PrincipalType, TokenDigest,
    split_resources,
};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;

/// Why a bearer token was not accepted (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No credentials at all: a bare challenge, without an error code (RFC 6750 §3.1).
    #[error("an access token is required")]
    Missing,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    InsufficientScope(String),
    /// RFC 9449 §7.1: the DPoP proof of a request with a DPoP-bound token is missing or wrong.
    #[error("{0}")]
    InvalidDpopProof(String),
    /// RFC 9449 §9: a proof with the server's nonce is needed; `nonce` goes in `DPoP-Nonce`.
    #[error("the DPoP proof must carry the server's nonce")]
    UseDpopNonce { nonce: String },
    #[error("internal error: {0}")]
    Server(String),
}

/// A JWT has two dots; opaque tokens here are base64url and have none.
fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

impl Inner {
    /// Claims of a valid, unexpired access token that nothing has revoked or disabled since.
    pub(crate) async fn live_access_token(
        &self,
        token: &str,
    ) -> OAuthResult<Option<Arc<AccessClaims>>> {
        let verified =
            jwt::verify_remembered(token, &self.keys(), &self.settings, &self.verified, now());
        let Some(claims) = verified else {
            return Ok(None);
        };
        let now = now();
        if self
            .directory
            .is_access_token_revoked(&claims.jti, now)
            .await?
        {
            return Ok(None);
        }
        if let Some(grant) = claims.sid.as_deref()
            && self.directory.is_grant_revoked(grant, now).await?
        {
            return Ok(None);
        }
        let Some(app) = claims.client_id.parse::<AppId>().ok() else {
            return Ok(None);
        };
        let Some(entry) = self.directory.client(app).await? else {
            return Ok(None);
        };
        let principal = match (claims.principal_type, claims.company_id) {
            (PrincipalType::App, _) => Principal::App,
            (PrincipalType::Company, Some(c)) => Principal::Company(c),
            (PrincipalType::User, Some(company)) => match claims.sub.parse() {
                Ok(user) => Principal::User { user, company },
                Err(_) => return Ok(None),
            },
            _ => return Ok(None),
        };
        match self.check_principal(&entry.app, &principal).await {
            Ok(()) => Ok(Some(claims)),
            Err(e @ OAuthError::Server(_)) => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// Whether `caller` may learn about a token of `client_id` for `audience`: its own
    /// tokens always; a resource server those for its resource (RFC 8707), or, one with no
    /// resource URI of its own (a platform API), those for the platform's APIs.
    fn may_see<'a>(
        &self,
        caller: &PartnerApp,
        client_id: &str,
        mut audience: impl Iterator<Item = &'a str>,
    ) -> bool {
        if client_id == caller.client_id() {
            return true;
        }
        if !caller.resource_server {
            return false;
        }
        match &caller.resource_uri {
            Some(uri) => audience.any(|a| a == uri),
            None => audience
                .any(|a| a == self.settings.audience || self.catalog.resource_scopes(a).is_some()),
        }
    }

    /// The introspection answer for a live refresh token that `caller` may see.
    async fn live_refresh_token(
        &self,
        token: &str,
        now: i64,
        caller: &PartnerApp,
    ) -> OAuthResult<Option<Value>> {
        let Some((record, grant)) = self
            .directory
            .store()
            .find_refresh_token(&TokenDigest::of(token))
            .await?
        else {
            return Ok(None);
        };
        if record.rotated_at.is_some() || grant.revoked_at.is_some() || record.expires_at <= now {
            return Ok(None);
        }
        let Some(entry) = self.directory.client(grant.app_id).await? else {
            return Ok(None);
        };
        let principal = Principal::of_grant(&grant);
        match self.check_principal(&entry.app, &principal).await {
            Ok(()) => {}
            Err(e @ OAuthError::Server(_)) => return Err(e),
            Err(_) => return Ok(None),
        }
        let resources = split_resources(grant.resources.as_deref())
            .unwrap_or_else(|| vec![self.settings.audience.clone()]);
        if !self.may_see(
            caller,
            &grant.app_id.to_string(),
            resources.iter().map(String::as_str),
        ) {
            return Ok(None);
        }
        let mut active = json!({
            "active": true,
            "token_type": "refresh_token",
            "aud": Audience::of(&resources),
            "scope": grant.scope,
            "client_id": grant.app_id.to_string(),
            "sub": grant.user_id.map_or_else(|| grant.company_id.to_string(), |u| u.to_string()),
            "company_id": grant.company_id,
            "principal_type": grant.principal_type(),
            "iat": record.issued_at,
            "exp": record.expires_at,
            "iss": self.settings.issuer,
        });
        if let Some(jkt) = &grant.dpop_jkt {
            active["cnf"] = json!({ "jkt": jkt });
        }
        Ok(Some(active))
    }
}

/// An introspection answer (RFC 7662 §2.2). A live access token's is written straight from
/// its claims, without building a JSON tree first: this is a hot path of every resource server
/// that does not verify tokens itself.
#[derive(Clone, Debug)]
pub enum Introspection {
    /// Exactly `{"active": false}`: whatever the reason, nothing more is said.
    Inactive,
    Access(Arc<AccessClaims>),
    Refresh(Value),
}

impl Introspection {
    pub fn is_active(&self) -> bool {
        !matches!(self, Self::Inactive)
    }

    /// The answer as JSON (for callers that read fields).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("an introspection answer serializes")
    }
}

/// The fields of a live access token's answer, borrowed from its claims.
#[derive(serde::Serialize)]
struct ActiveAccess<'a> {
    active: bool,
    /// RFC 9449 §6.2: a bound token says so, and by which key.
    token_type: &'static str,
    scope: &'a str,
    client_id: &'a str,
    sub: &'a str,
    company_id: Option<portico_domain::CompanyId>,
    principal_type: PrincipalType,
    sensitive_data_groups: &'a [String],
    exp: i64,
    iat: i64,
    nbf: i64,
    iss: &'a str,
    aud: &'a Audience,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<&'a crate::jwt::Confirmation>,
}

impl serde::Serialize for Introspection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Inactive => {
                let mut m = serializer.serialize_map(Some(1))?;
                m.serialize_entry("active", &false)?;
                m.end()
            }
            Self::Refresh(v) => v.serialize(serializer),
            Self::Access(c) => ActiveAccess {
                active: true,
                token_type: if c.cnf.is_some() { "DPoP" } else { "Bearer" },
                scope: &c.scope,
                client_id: &c.client_id,
                sub: &c.sub,
                company_id: c.company_id,
                principal_type: c.principal_type,
                sensitive_data_groups: &c.sensitive_data_groups,
                exp: c.exp,
                iat: c.iat,
                nbf: c.nbf,
                iss: &c.iss,
                aud: &c.aud,
                jti: &c.jti,
                cnf: c.cnf.as_ref(),
            }
            .serialize(serializer),
        }
    }
}

impl OAuthService {
    /// `POST /oauth2/v0/introspect`. An app may introspect its own tokens, a resource server
    /// those for its audience (`may_see`). Everything else, and everything not live, answers
    /// exactly `{"active": false}`.
    pub async fn introspect(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        source: IpAddr,
    ) -> OAuthResult<Introspection> {
        let inner = &*self.inner;
        let params = Params::parse(body)?;
        let caller = inner
            .authenticated_client(authorization, &params, Endpoint::Introspection, source)
            .await?;
        let token = params.require("token")?;
        if looks_like_jwt(token) {
            return Ok(match inner.live_access_token(token).await? {
                Some(c) if inner.may_see(&caller.app, &c.client_id, c.aud.iter()) => {
                    Introspection::Access(c)
                }
                _ => Introspection::Inactive,
            });
        }
        Ok(inner
            .live_refresh_token(token, now(), &caller.app)
            .await?
            .map_or(Introspection::Inactive, Introspection::Refresh))
    }

    /// `POST /oauth2/v0/revoke`: a refresh token ends its whole grant; an access token is
    /// remembered as revoked until it expires. Unknown tokens, and other clients' tokens, are
    /// answered alike (success) and left alone.
    pub async fn revoke(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        source: IpAddr,
    ) -> OAuthResult<()> {
        let inner = &*self.inner;
        let params = Params::parse(body)?;
        let caller = inner
            .authenticated_client(authorization, &params, Endpoint::Revocation, source)
            .await?;
        let token = params.require("token")?;
        let now = now();
        let store = inner.directory.store();
        // Audited as the app's own action, with what was revoked (never the token itself).
        let audit = |target: (&str, String), after: serde_json::Value| {
            let mut event = AuditEvent::new::<(), _>(
                None,
                Some(caller.app.company_id),
                AuditAction::TokenRevoke,
                target,
                None,
                Some(&after),
            )
            .from_source(source);
            event.actor_login = format!("client:{}", caller.app.id);
            event
        };
        if looks_like_jwt(token) {
            if let Some(claims) = jwt::verify(token, &inner.keys(), &inner.settings)?
                && claims.client_id == caller.app.client_id()
            {
                store
                    .revoke_access_token(&claims.jti, claims.exp, now)
                    .await?;
                let event = audit(
                    ("access_token", claims.jti.clone()),
                    json!({ "app_id": caller.app.id, "jti": claims.jti, "exp": claims.exp,
                            "via": "/oauth2/v0/revoke" }),
                );
                store.record_event(&event).await?;
            }
            return Ok(());
        }
        if let Some((_, grant)) = store.find_refresh_token(&TokenDigest::of(token)).await?
            && grant.app_id == caller.app.id
        {
            store
                .revoke_grants(std::slice::from_ref(&grant.id), now)
                .await?;
            let event = audit(
                ("grant", grant.id.clone()),
                json!({ "app_id": caller.app.id, "grant_id": grant.id,
                        "via": "/oauth2/v0/revoke" }),
            );
            store.record_event(&event).await?;
        }
        Ok(())
    }

    /// `DELETE /app-mgmt/v0/connections` with a user's access token: revokes every grant of
    /// that user for that app (and so every token of theirs for it). Returns how many.
    pub async fn revoke_connections(
        &self,
        presented: &ResourceRequest<'_>,
        source: IpAddr,
    ) -> Result<usize, BearerError> {
        let inner = &*self.inner;
        let server = |e: OAuthError| BearerError::Server(e.to_string());
        let claims = inner.resource_access(presented).await?;
        let (PrincipalType::User, Ok(user), Ok(app)) = (
            claims.principal_type,
            claims.sub.parse(),
            claims.client_id.parse::<AppId>(),
        ) else {
            return Err(BearerError::InsufficientScope(
                "a user's access token is required".into(),
            ));
        };
        let store = inner.directory.store();
        let now = now();
        // The same Disconnect a user makes in the console: every grant of theirs for the app,
        // and their remembered consent, audited as their own action.
        let company = claims.company_id.ok_or_else(|| {
            BearerError::InsufficientScope("a user's access token is required".into())
        })?;
        let login = inner
            .directory
            .user(user)
            .await
            .map_err(server)?
            .map_or_else(|| user.to_string(), |u| u.login_id.clone());
        let audit = AuditEvent {
            at: chrono::Utc::now(),
            actor_user_id: Some(user),
            actor_login: login,
            company_id: Some(company),
            action: AuditAction::ConnectionDisconnect,
            target_type: "app".into(),
            target_id: app.to_string(),
            before: None,
            after: Some(json!({ "app_id": app, "user_id": user, "own": true,
                "via": "/app-mgmt/v0/connections" })),
            source: Some(source.to_string()),
        };
        let filter = ConnectionFilter {
            company: Some(company),
            app: Some(app),
            user: Some(user),
            grant: None,
        };
        let revoked = store
            .disconnect(&filter, &audit, now)
            .await
            .map_err(|e| server(e.into()))?;
        store
            .revoke_access_token(&claims.jti, claims.exp, now)
            .await
            .map_err(|e| server(e.into()))?;
        Ok(revoked as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::Confirmation;

    fn claims(cnf: Option<Confirmation>) -> AccessClaims {
        AccessClaims {
            iss: "https://portico.test".into(),
            sub: "app".into(),
            aud: Audience::Many(vec!["urn:a".into(), "urn:b".into()]),
            client_id: "app".into(),
            scope: "expense.report.read".into(),
            jti: "j1".into(),
            iat: 10,
            nbf: 10,
            exp: 3610,
            principal_type: PrincipalType::App,
            company_id: None,
            sensitive_data_groups: vec!["PII".into()],
            sid: Some("grant".into()),
            cnf,
        }
    }

    #[test]
    fn an_access_tokens_answer_is_its_claims_and_nothing_else() {
        let answer = Introspection::Access(Arc::new(claims(None))).to_value();
        assert_eq!(
            answer,
            json!({
                "active": true,
                "token_type": "Bearer",
                "scope": "expense.report.read",
                "client_id": "app",
                "sub": "app",
                "company_id": null,
                "principal_type": "app",
                "sensitive_data_groups": ["PII"],
                "exp": 3610,
                "iat": 10,
                "nbf": 10,
                "iss": "https://portico.test",
                "aud": ["urn:a", "urn:b"],
                "jti": "j1",
            })
        );
        // The grant id (`sid`) is the server's own: never in the answer.
        let bound = Introspection::Access(Arc::new(claims(Some(Confirmation {
            jkt: "thumb".into(),
        }))))
        .to_value();
        assert_eq!(bound["token_type"], "DPoP");
        assert_eq!(bound["cnf"], json!({ "jkt": "thumb" }));
        assert!(bound.get("sid").is_none());
        assert_eq!(
            Introspection::Inactive.to_value(),
            json!({ "active": false })
        );
        assert!(!Introspection::Inactive.is_active());
    }
}
