//! Concur's password grant, which oxide-auth does not have, in its two forms:
//! `credtype=password` (a user's login id and password; only for apps that explicitly allow it)
//! and `credtype=authtoken` (a company request token, for a company-level connection).

use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::{IssuedTokens, Principal};
use crate::params::Params;
use portico_domain::{Asked, CompanyId, DomainError, PartnerApp, TokenDigest};
use std::net::IpAddr;

impl Inner {
    pub(crate) async fn user_password(
        &self,
        app: &PartnerApp,
        params: &Params,
        source: IpAddr,
        now: i64,
    ) -> OAuthResult<IssuedTokens> {
        let username = params.require("username")?;
        let password = params.require("password")?;
        let actor = self
            .registry
            .verify_credentials(username, password, source)
            .await
            .map_err(|e| match e {
                DomainError::Unauthenticated(_) => {
                    OAuthError::invalid_grant("wrong username or password")
                }
                DomainError::Invalid { message, .. } => {
                    OAuthError::invalid_request(format!("username {message}"))
                }
                other => other.into(),
            })?;
        let principal = Principal::User {
            user: actor.user_id,
            company: actor.company_id(),
        };
        self.grant_for(app, principal, params, now).await
    }

    /// `username` is the company id, `password` the request token an admin of that company
    /// generated for this app; usable more than once until it expires.
    pub(crate) async fn request_token_exchange(
        &self,
        app: &PartnerApp,
        params: &Params,
        now: i64,
    ) -> OAuthResult<IssuedTokens> {
        let company: CompanyId = params
            .require("username")?
            .parse()
            .map_err(|_| OAuthError::invalid_grant("username must be the company id"))?;
        let token = params.require("password")?;
        let record = self
            .directory
            .request_token(&TokenDigest::of(token))
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("request token is invalid"))?;
        if record.expires_at <= now {
            return Err(OAuthError::invalid_grant("request token expired"));
        }
        if record.app_id != app.id {
            return Err(OAuthError::invalid_grant(
                "request token was not issued for this application",
            ));
        }
        if record.company_id != company {
            return Err(OAuthError::invalid_grant(
                "request token was not issued for this company",
            ));
        }
        self.grant_for(app, Principal::Company(company), params, now)
            .await
    }

    async fn grant_for(
        &self,
        app: &PartnerApp,
        principal: Principal,
        params: &Params,
        now: i64,
    ) -> OAuthResult<IssuedTokens> {
        let scope = self
            .grantable_scopes(app, &principal, Asked::Grant(params.get("scope")))
            .await?;
        let (_, issued) = self.start_grant(app, &principal, &scope, None, now).await?;
        Ok(issued)
    }
}
