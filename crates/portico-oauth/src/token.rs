//! The token endpoint: authenticate the client, check the grant type is one the app may use,
//! and hand over to the grant.

use crate::client::{AuthMethod, Authenticated, Endpoint};
use crate::dpop::DpopHeader;
use crate::error::{OAuthError, OAuthResult};
use crate::grants::{TokenRequest, grant_of};
use crate::issue::IssuedTokens;
use crate::params::Params;
use crate::{OAuthService, now, telemetry};
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
        let mut app = None;
        let answer = self
            .token_for(authorization, dpop, body, source, &mut app)
            .await;
        match &answer {
            Ok(t) => match (t.principal_type, app) {
                (Some(principal), Some((id, grant))) => {
                    telemetry::token_issued(grant.as_str(), principal, id)
                }
                _ => telemetry::refresh_replayed(),
            },
            Err(e) => telemetry::token_refused(e.code(), app.map(|(id, _)| id)),
        }
        answer
    }

    /// [`Self::token`]; `app` learns the authenticated app and its grant, for the counts.
    async fn token_for(
        &self,
        authorization: Option<&str>,
        dpop: DpopHeader<'_>,
        body: &[u8],
        source: IpAddr,
        app: &mut Option<(portico_domain::AppId, portico_domain::GrantType)>,
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
        *app = Some((client.app.id, grant));
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
