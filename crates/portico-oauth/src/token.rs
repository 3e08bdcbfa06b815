//! The token endpoint: authenticate the client, check the grant type is one the app may use,
//! and hand over to the grant.

use crate::client::{AuthMethod, PresentedClient};
use crate::error::{OAuthError, OAuthResult};
use crate::flows::TokenCall;
use crate::issue::IssuedTokens;
use crate::params::Params;
use crate::{OAuthService, now};
use portico_domain::GrantType;
use std::net::IpAddr;

impl OAuthService {
    /// `POST /oauth2/v0/token` with its Authorization header and form body.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        source: IpAddr,
    ) -> OAuthResult<IssuedTokens> {
        let params = Params::parse(body)?;
        let grant_type = params.require("grant_type")?;
        let presented = PresentedClient::from_request(authorization, &params)?;
        let basic = presented.method == AuthMethod::Basic;
        let now = now();
        let inner = &*self.inner;
        let client = inner
            .directory
            .authenticate(&presented, source, now)
            .await?;
        if !client.app.spec.active {
            return Err(OAuthError::InvalidClient {
                description: "application is not active".into(),
                basic,
            });
        }
        let grant = match grant_type {
            "authorization_code" => GrantType::AuthorizationCode,
            "client_credentials" => GrantType::ClientCredentials,
            "refresh_token" => GrantType::RefreshToken,
            // Concur's convention: one grant_type, told apart by credtype.
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
        };
        if !client.app.allows_grant(grant) {
            return Err(OAuthError::UnauthorizedClient(format!(
                "the application is not registered for the {} grant",
                grant.as_str()
            )));
        }
        let call = |client| TokenCall {
            client,
            client_id: &presented.client_id,
            secret: &presented.secret,
            params: &params,
            basic,
            now,
        };
        match grant {
            GrantType::AuthorizationCode => inner.exchange_code(call(client)).await,
            GrantType::ClientCredentials => inner.client_credentials(call(client)).await,
            GrantType::RefreshToken => inner.refresh(call(client)).await,
            GrantType::Password => inner.user_password(&client.app, &params, source, now).await,
            GrantType::CompanyRequestToken => {
                inner
                    .request_token_exchange(&client.app, &params, now)
                    .await
            }
        }
    }
}
