//! The UserInfo endpoint (OpenID Connect Core §5.3): the claims about the signed-in user (or
//! the company, for a company token) that the access token's identity scopes allow.

use crate::OAuthService;
use crate::dpop::ResourceRequest;
use crate::introspect::BearerError;
use crate::issue::Principal;
use portico_domain::{Identity, PrincipalType};
use serde_json::{Map, Value, json};

impl OAuthService {
    /// The claims for a live access token carrying `openid`: `sub` always; with `profile` the
    /// name and login id (and the company's name); with `email` the login id when it is an
    /// email address (Portico does not verify it, so `email_verified` is false).
    pub async fn userinfo(&self, presented: &ResourceRequest<'_>) -> Result<Value, BearerError> {
        let inner = &*self.inner;
        let server = |e: crate::OAuthError| BearerError::Server(e.to_string());
        let claims = inner.resource_access(presented).await?;
        let (identity, _) = Identity::split(Some(&claims.scope));
        if !identity.openid {
            return Err(BearerError::InsufficientScope(
                "the access token was not issued with the openid scope".into(),
            ));
        }
        let principal = match (claims.principal_type, claims.company_id) {
            (PrincipalType::User, Some(company)) => claims
                .sub
                .parse()
                .ok()
                .map(|user| Principal::User { user, company }),
            (PrincipalType::Company, Some(c)) => Some(Principal::Company(c)),
            _ => None,
        }
        .ok_or_else(|| BearerError::InsufficientScope("the token has no user".into()))?;
        let company_id = principal.company().expect("a user or company principal");
        let company = inner
            .directory
            .company(company_id)
            .await
            .map_err(server)?
            .ok_or_else(|| BearerError::InvalidToken("the company is gone".into()))?;
        let mut out = Map::new();
        out.insert("sub".into(), json!(claims.sub));
        out.insert("company_id".into(), json!(company_id));
        if let Principal::User { user, .. } = principal {
            let user = inner
                .directory
                .user(user)
                .await
                .map_err(server)?
                .ok_or_else(|| BearerError::InvalidToken("the user is gone".into()))?;
            if identity.profile {
                out.insert("name".into(), json!(user.display_name));
                out.insert("preferred_username".into(), json!(user.login_id));
                out.insert("company_name".into(), json!(company.name));
            }
            if identity.email && looks_like_email(&user.login_id) {
                out.insert("email".into(), json!(user.login_id));
                out.insert("email_verified".into(), json!(false));
            }
        } else if identity.profile {
            out.insert("name".into(), json!(company.name));
            out.insert("company_name".into(), json!(company.name));
        }
        Ok(Value::Object(out))
    }
}

/// `local@domain.tld`, loosely: enough to tell a login id that is an address from one that is
/// not (login ids are validated at creation).
fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.contains('@'),
        None => false,
    }
}
