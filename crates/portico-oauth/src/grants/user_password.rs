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
    svc.grant_for(&req.client.app, principal, req.params, req.now)
        .await
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
