//! The token endpoint's grants, one module each, every one entered through a
//! [`TokenRequest`] whose client is already authenticated (once, in `client`):
//!
//! | grant_type | module | how |
//! |---|---|---|
//! | `authorization_code` | [`authorization_code`] | oxide-auth's code exchange with PKCE (`oxide`) |
//! | `client_credentials` | [`client_credentials`] | direct |
//! | `refresh_token` | [`refresh`] | direct: rotation, reuse detection, narrowing |
//! | `password` (`credtype=password`) | [`user_password`] | direct |
//! | `password` (`credtype=authtoken`) | [`company_request_token`] | direct |
//!
//! They share client authentication (`client`), scope and resource resolution
//! (`Inner::resolve`: the domain's eligibility rule, identity scopes and RFC 8707 targets) and
//! issuance (`issue`, with ID tokens from `id_token`).

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod company_request_token;
pub(crate) mod refresh;
pub(crate) mod user_password;

#[cfg(test)]
pub(crate) mod testing;

use crate::Inner;
use crate::directory::ClientEntry;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::IssuedTokens;
use crate::params::Params;
use portico_domain::GrantType;
use std::net::IpAddr;
use std::sync::Arc;

/// A token request whose client the endpoint has authenticated.
pub(crate) struct TokenRequest<'a> {
    pub client: Arc<ClientEntry>,
    pub params: &'a Params,
    pub source: IpAddr,
    pub now: i64,
    /// The client used HTTP Basic (an `invalid_client` then carries a Basic challenge).
    pub basic: bool,
    /// The thumbprint of the key of the request's DPoP proof: the tokens are bound to it.
    pub dpop_jkt: Option<String>,
}

/// The grant a request names (Concur's convention: one `grant_type=password`, told apart by
/// `credtype`).
pub(crate) fn grant_of(params: &Params) -> OAuthResult<GrantType> {
    Ok(match params.require("grant_type")? {
        "authorization_code" => GrantType::AuthorizationCode,
        "client_credentials" => GrantType::ClientCredentials,
        "refresh_token" => GrantType::RefreshToken,
        "password" => match params.get("credtype").unwrap_or("password") {
            "password" => GrantType::Password,
            "authtoken" => GrantType::CompanyRequestToken,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "credtype '{other}' is not supported (password or authtoken)"
                )));
            }
        },
        other => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "grant_type '{other}' is not supported"
            )));
        }
    })
}

impl Inner {
    /// Runs `grant` for an authenticated client that registered it.
    pub(crate) async fn grant(
        &self,
        grant: GrantType,
        req: &TokenRequest<'_>,
    ) -> OAuthResult<IssuedTokens> {
        if !req.client.app.allows_grant(grant) {
            return Err(OAuthError::UnauthorizedClient(format!(
                "the application is not registered for the {} grant",
                grant.as_str()
            )));
        }
        match grant {
            GrantType::AuthorizationCode => authorization_code::exchange(self, req).await,
            GrantType::ClientCredentials => client_credentials::issue(self, req).await,
            GrantType::RefreshToken => refresh::rotate(self, req).await,
            GrantType::Password => user_password::issue(self, req).await,
            GrantType::CompanyRequestToken => company_request_token::exchange(self, req).await,
        }
    }
}
