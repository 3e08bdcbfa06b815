//! `grant_type=client_credentials`: an app-level token for the app itself, no refresh token.

use super::TokenRequest;
use crate::Inner;
use crate::error::OAuthResult;
use crate::issue::{IssuedTokens, Principal};
use portico_domain::Asked;

pub(crate) async fn issue(svc: &Inner, req: &TokenRequest<'_>) -> OAuthResult<IssuedTokens> {
    let app = &req.client.app;
    let scope = svc
        .grantable_scopes(app, &Principal::App, Asked::Grant(req.params.get("scope")))
        .await?;
    let (access_token, expires_in) = svc.access_token(app, &Principal::App, &scope, None, req.now);
    Ok(IssuedTokens {
        access_token,
        expires_in,
        scope: scope.to_string(),
        refresh_token: None,
    })
}

#[cfg(test)]
mod tests {
    use crate::grants::testing::Kit;

    fn form(scope: Option<&str>) -> Vec<(&'static str, String)> {
        let mut f = vec![("grant_type", "client_credentials".to_owned())];
        if let Some(s) = scope {
            f.push(("scope", s.to_owned()));
        }
        f
    }

    #[tokio::test]
    async fn the_registered_scopes_or_a_subset() {
        let kit = Kit::new().await;
        let app = kit.app(&["client_credentials"]).await;
        let all = kit.token(&app, &form(None)).await.unwrap();
        assert_eq!(
            all.scope,
            "expense.report.read travel.profile.passport travel.profile.read"
        );
        assert!(all.refresh_token.is_none());
        let claims = kit.claims(&all.access_token);
        assert_eq!(claims["sub"], app.client_id.as_str());
        assert_eq!(claims["principal_type"], "app");
        let one = kit
            .token(&app, &form(Some("expense.report.read")))
            .await
            .unwrap();
        assert_eq!(one.scope, "expense.report.read");
    }

    #[tokio::test]
    async fn refusals() {
        let kit = Kit::new().await;
        let app = kit.app(&["client_credentials"]).await;
        let e = kit
            .token(&app, &form(Some("company.settings.write")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_scope");
        // A sensitive data group without its API.
        let e = kit
            .token(&app, &form(Some("travel.profile.passport")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_scope");
        let auth_only = kit.app(&["authorization_code"]).await;
        let e = kit.token(&auth_only, &form(None)).await.unwrap_err();
        assert_eq!(e.code(), "unauthorized_client");
        kit.deactivate(&app).await;
        let e = kit.token(&app, &form(None)).await.unwrap_err();
        assert_eq!(e.code(), "invalid_client");
    }
}
