//! `grant_type=client_credentials`: an app-level token for the app itself, no refresh token,
//! no ID token (there is no user), for the resources asked (RFC 8707) or the default audience.

use super::TokenRequest;
use crate::Inner;
use crate::error::OAuthResult;
use crate::issue::{Issuance, IssuedTokens, Principal};
use portico_domain::Asked;

pub(crate) async fn issue(svc: &Inner, req: &TokenRequest<'_>) -> OAuthResult<IssuedTokens> {
    let app = &req.client.app;
    let asked = req.params.get("scope");
    let (scope, target) = svc
        .resolve(
            app,
            &Principal::App,
            Asked::Grant(asked),
            &req.params.resources(),
            None,
            asked.is_some(),
        )
        .await?;
    let issuance = Issuance {
        app,
        principal: Principal::App,
        scope,
        target,
        auth_time: None,
        nonce: None,
        dpop_jkt: req.dpop_jkt.as_deref(),
    };
    Ok(svc.issue(&issuance, None, None, req.now))
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
        assert!(one.id_token.is_none());
        assert_eq!(kit.claims(&one.access_token)["aud"], "urn:portico:api");
    }

    #[tokio::test]
    async fn resource_indicators() {
        let kit = Kit::new().await;
        let app = kit.app(&["client_credentials"]).await;
        let with = |resources: &[&str], scope: Option<&str>| {
            let mut f = form(scope);
            f.extend(resources.iter().map(|r| ("resource", r.to_string())));
            f
        };
        // One catalog API: its scopes only, and it is the audience.
        let travel = "urn:portico:api:travel.profile.read";
        let t = kit.token(&app, &with(&[travel], None)).await.unwrap();
        assert_eq!(t.scope, "travel.profile.passport travel.profile.read");
        assert_eq!(kit.claims(&t.access_token)["aud"], travel);
        // Two: both audiences, both APIs' scopes.
        let expense = "urn:portico:api:expense.report.read";
        let t = kit
            .token(&app, &with(&[travel, expense], None))
            .await
            .unwrap();
        assert_eq!(
            kit.claims(&t.access_token)["aud"],
            serde_json::json!([travel, expense])
        );
        assert_eq!(
            t.scope,
            "expense.report.read travel.profile.passport travel.profile.read"
        );
        // The default audience is a resource too: the whole catalog.
        let t = kit
            .token(&app, &with(&["urn:portico:api"], None))
            .await
            .unwrap();
        assert_eq!(kit.claims(&t.access_token)["aud"], "urn:portico:api");
        // Refused with invalid_target: unknown, relative, fragment, a mix, a scope the
        // resource does not serve, a resource serving none of the app's scopes.
        for bad in [
            with(&["https://unknown.example/api"], None),
            with(&["/relative"], None),
            with(&["urn:portico:api:expense.report.read#x"], None),
            with(&[travel, "not a uri"], None),
            with(&[travel], Some("expense.report.read")),
            with(&["urn:portico:api:imaging.readwrite"], None),
        ] {
            let e = kit.token(&app, &bad).await.unwrap_err();
            assert_eq!(e.code(), "invalid_target", "{bad:?}: {e:?}");
        }
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
        // No identity without a user.
        let e = kit.token(&app, &form(Some("openid"))).await.unwrap_err();
        assert_eq!(e.code(), "invalid_scope");
        let auth_only = kit.app(&["authorization_code"]).await;
        let e = kit.token(&auth_only, &form(None)).await.unwrap_err();
        assert_eq!(e.code(), "unauthorized_client");
        kit.deactivate(&app).await;
        let e = kit.token(&app, &form(None)).await.unwrap_err();
        assert_eq!(e.code(), "invalid_client");
    }
}
