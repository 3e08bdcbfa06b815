//! `grant_type=authorization_code`: the code exchange, with PKCE, run by oxide-auth (`oxide`).
//! The black-box tests in `tests/api/codes.rs` and `tests/api/oauth.rs` walk the whole flow
//! through the authorization page; the unit tests here exchange codes stored directly.

use super::TokenRequest;
use crate::Inner;
use crate::error::OAuthResult;
use crate::issue::IssuedTokens;

pub(crate) async fn exchange(svc: &Inner, req: &TokenRequest<'_>) -> OAuthResult<IssuedTokens> {
    crate::oxide::exchange_code(svc, req).await
}

#[cfg(test)]
mod tests {
    use crate::grants::testing::Kit;

    #[tokio::test]
    async fn a_code_is_exchanged_once_and_only_by_its_client() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code", "refresh_token"]).await;
        let other = kit.app(&["authorization_code"]).await;
        let (code, verifier) = kit.code_for(&app).await;
        let form = |v: &str| {
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code.clone()),
                ("redirect_uri", "https://app.example/callback".to_owned()),
                ("code_verifier", v.to_owned()),
            ]
        };
        // Another client: refused, and the code stays its owner's.
        let e = kit.token(&other, &form(&verifier)).await.unwrap_err();
        assert_eq!(
            e.description(),
            "authorization code was issued to another client"
        );
        // Its own client redeems it once; a second time is a replay.
        let issued = kit.token(&app, &form(&verifier)).await.unwrap();
        assert!(issued.refresh_token.is_some());
        assert_eq!(
            issued.scope,
            "expense.report.read travel.profile.passport travel.profile.read"
        );
        let e = kit.token(&app, &form(&verifier)).await.unwrap_err();
        assert_eq!(e.code(), "invalid_grant");
        assert!(e.description().contains("already used"));
        // The replay revoked what the first exchange issued.
        assert!(!kit.is_active(&app, &issued.access_token).await);
    }

    #[tokio::test]
    async fn pkce_and_redirect_uri_are_checked() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code"]).await;
        let (code, _) = kit.code_for(&app).await;
        let wrong_verifier = "x".repeat(43);
        let e = kit
            .token(
                &app,
                &[
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code.clone()),
                    ("redirect_uri", "https://app.example/callback".to_owned()),
                    ("code_verifier", wrong_verifier),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_grant");
        assert!(e.description().contains("PKCE"), "{e:?}");
        let (code, verifier) = kit.code_for(&app).await;
        let e = kit
            .token(
                &app,
                &[
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code),
                    ("redirect_uri", "https://elsewhere.example/cb".to_owned()),
                    ("code_verifier", verifier),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_grant");
    }
}
