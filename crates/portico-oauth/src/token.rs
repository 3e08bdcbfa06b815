//! The token endpoint: authenticate the client, check the grant type is one the app may use,
//! and hand over to the grant.

use crate::client::{AuthMethod, Authenticated, Endpoint};
use crate::dpop::DpopHeader;
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
        dpop: DpopHeader<'_>,
        body: &[u8],
        source: IpAddr,
    ) -> OAuthResult<IssuedTokens> {
        let params = Params::parse(body)?;
        params.require("grant_type")?;
        let now = now();
        let inner = &*self.inner;
        let Authenticated { client, method } = inner
            .authenticate_client(authorization, &params, Endpoint::Token, source, now)
            .await?;
        let basic = method == AuthMethod::Basic;
        // After client authentication: a stranger's proofs cost no replay record.
        let proof = inner
            .dpop_proof(dpop, "POST", Endpoint::Token.path(), None, now)
            .await?;
        if proof.is_none() && client.app.spec.security.dpop_bound_access_tokens {
            return Err(OAuthError::InvalidDpopProof(
                "this application's tokens are DPoP-bound: send a DPoP proof".into(),
            ));
        }
        let grant = grant_of(&params)?;
        let request = TokenRequest {
            client,
            params: &params,
            source,
            now,
            basic,
            dpop_jkt: proof.map(|p| p.jkt),
        };
        inner.grant(grant, &request).await
    }
}
