//! `grant_type=password` (`credtype=password`): a user's login id and password, for apps that
//! explicitly registered this grant. Checked under the same sign-in failure budgets as the
//! admin sign-in (`portico_guard::sign_in`).

use super::TokenRequest;
use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::{IssuedTokens, Principal};
use portico_domain::DomainError;

pub(crate) async fn issue(svc: &Inner, req: &TokenRequest<'_>) -> OAuthResult<IssuedTokens> {
    let username = req.params.require("username")?;
    let password = req.params.require("password")?;
    let actor = svc
        .passwords
        .verify(username, password, req.source)
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
    // The user authenticated just now: that is the ID token's auth_time.
    svc.grant_for(req, principal, Some(req.now)).await
}

#[cfg(test)]
mod tests {
    use crate::grants::testing::Kit;

    #[tokio::test]
    async fn a_user_and_their_password() {
        let kit = Kit::new().await;
        let app = kit.app(&["password", "refresh_token"]).await;
        let form = |password: &str| {
            vec![
                ("grant_type", "password".to_owned()),
                ("username", kit.user_login.clone()),
                ("password", password.to_owned()),
            ]
        };
        let issued = kit.token(&app, &form(&kit.password)).await.unwrap();
        assert!(issued.refresh_token.is_some());
        let claims = kit.claims(&issued.access_token);
        assert_eq!(claims["principal_type"], "user");
        assert!(issued.id_token.is_none(), "no openid, no ID token");
        // With openid: an ID token for the user, signed in now.
        let mut with_openid = form(&kit.password);
        with_openid.push(("scope", "openid profile expense.report.read".to_owned()));
        let signed_in = kit.token(&app, &with_openid).await.unwrap();
        assert_eq!(signed_in.scope, "expense.report.read openid profile");
        let id = kit.id_claims(&signed_in.id_token.expect("an ID token"));
        assert_eq!(id["sub"], claims["sub"]);
        assert_eq!(id["aud"], app.client_id.as_str());
        assert!(id["auth_time"].is_i64());
        assert!(id.get("nonce").is_none());
        let e = kit
            .token(&app, &form("not the password"))
            .await
            .unwrap_err();
        assert_eq!(e.description(), "wrong username or password");
        let e = kit
            .token(
                &app,
                &[
                    ("grant_type", "password".to_owned()),
                    ("username", "a b".to_owned()),
                    ("password", "x".to_owned()),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        let no_grant = kit.app(&["client_credentials"]).await;
        let e = kit
            .token(&no_grant, &form(&kit.password))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "unauthorized_client");
    }
}
