//! `grant_type=password` (`credtype=authtoken`): Concur's company-level connection. `username`
//! is the company id, `password` the request token an admin of that company generated for this
//! app (the registry's `create_request_token`); usable more than once until it expires.

use super::TokenRequest;
use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::{IssuedTokens, Principal};
use portico_domain::{CompanyId, TokenDigest};

pub(crate) async fn exchange(svc: &Inner, req: &TokenRequest<'_>) -> OAuthResult<IssuedTokens> {
    let company: CompanyId = req
        .params
        .require("username")?
        .parse()
        .map_err(|_| OAuthError::invalid_grant("username must be the company id"))?;
    let token = req.params.require("password")?;
    let record = svc
        .directory
        .request_token(&TokenDigest::of(token))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("request token is invalid"))?;
    if record.expires_at <= req.now {
        return Err(OAuthError::invalid_grant("request token expired"));
    }
    let app = &req.client.app;
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
    svc.grant_for(req, Principal::Company(company), None).await
}

#[cfg(test)]
mod tests {
    use crate::grants::testing::Kit;

    #[tokio::test]
    async fn a_request_token_for_this_app_and_company() {
        let kit = Kit::new().await;
        let app = kit.app(&["company_request_token", "refresh_token"]).await;
        let issued = kit.company_token(&app).await;
        assert!(issued.refresh_token.is_some());
        let claims = kit.claims(&issued.access_token);
        assert_eq!(claims["principal_type"], "company");
        assert_eq!(claims["sub"], kit.company.to_string());
        // Concur's company tokens come with an ID token whose subject is the company.
        let id = kit.id_claims(issued.id_token.as_deref().expect("an ID token"));
        assert_eq!(id["sub"], kit.company.to_string());
        assert_eq!(id["principal_type"], "company");
        let rt = kit.request_token(&app).await;
        let form = |company: String, token: &str| {
            vec![
                ("grant_type", "password".to_owned()),
                ("credtype", "authtoken".to_owned()),
                ("username", company),
                ("password", token.to_owned()),
            ]
        };
        let other = kit.app(&["company_request_token"]).await;
        let e = kit
            .token(&other, &form(kit.company.to_string(), &rt))
            .await
            .unwrap_err();
        assert_eq!(
            e.description(),
            "request token was not issued for this application"
        );
        let e = kit
            .token(&app, &form(uuid::Uuid::new_v4().to_string(), &rt))
            .await
            .unwrap_err();
        assert_eq!(
            e.description(),
            "request token was not issued for this company"
        );
        let e = kit
            .token(&app, &form("nope".into(), &rt))
            .await
            .unwrap_err();
        assert_eq!(e.description(), "username must be the company id");
        let e = kit
            .token(&app, &form(kit.company.to_string(), "forged"))
            .await
            .unwrap_err();
        assert_eq!(e.description(), "request token is invalid");
        // Disabled for the company: no token, whatever the request token says.
        kit.disable_for_company(&app).await;
        let e = kit
            .token(&app, &form(kit.company.to_string(), &rt))
            .await
            .unwrap_err();
        assert_eq!(
            e.description(),
            "application is not enabled for this company"
        );
    }

    #[tokio::test]
    async fn the_app_chooses_how_its_id_tokens_are_signed() {
        use crate::SigningAlgorithm;
        use portico_domain::IdTokenAlgorithm;
        let kit = Kit::new().await;
        for (choice, alg) in [
            (None, SigningAlgorithm::RS256),
            (Some(IdTokenAlgorithm::ES256), SigningAlgorithm::ES256),
            (Some(IdTokenAlgorithm::EdDSA), SigningAlgorithm::EdDSA),
        ] {
            let app = kit
                .app_with(&["company_request_token", "refresh_token"], choice)
                .await;
            let issued = kit.company_token(&app).await;
            let id_token = issued.id_token.expect("an ID token");
            let header = jsonwebtoken::decode_header(&id_token).unwrap();
            assert_eq!(header.alg, alg.jwt(), "{choice:?}");
            let id = kit.id_claims(&id_token);
            assert_eq!(
                id["at_hash"],
                crate::id_token::at_hash(alg, &issued.access_token)
            );
        }
    }
}
