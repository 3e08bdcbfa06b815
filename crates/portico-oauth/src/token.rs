//! The token endpoint: authenticate the client, check the grant type is one the app may use,
//! and hand over to the grant.

use crate::client::{AuthMethod, PresentedClient};
use crate::error::{OAuthError, OAuthResult};
use crate::grants::{TokenRequest, grant_of};
use crate::issue::IssuedTokens;
use crate::params::Params;
use crate::{OAuthService, now};
use std::net::IpAddr;

impl OAuthService {
    /// `POST /oauth2/v0/token` with its Authorization header and form body: authenticate the
    /// client once, then hand over to the grant.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        source: IpAddr,
    ) -> OAuthResult<IssuedTokens> {
        let params = Params::parse(body)?;
        params.require("grant_type")?;
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
        let grant = grant_of(&params)?;
        let request = TokenRequest {
            client,
            params: &params,
            source,
            now,
            basic,
        };
        inner.grant(grant, &request).await
    }
}
