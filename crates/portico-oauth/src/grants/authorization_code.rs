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

    /// The code exchange's form, with more parameters.
    fn exchange_form(
        code: &str,
        verifier: &str,
        extra: &[(&'static str, &str)],
    ) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", "https://app.example/callback".to_owned()),
            ("code_verifier", verifier.to_owned()),
        ];
        f.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        f
    }

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

    #[tokio::test]
    async fn openid_nonce_and_resources_ride_on_the_code() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code", "refresh_token"]).await;
        let travel = "urn:portico:api:travel.profile.read";
        let asked = [
            ("scope", "openid profile travel.profile.read".to_owned()),
            ("nonce", "n-0S6_WzA2Mj".to_owned()),
            ("resource", travel.to_owned()),
        ];
        let (code, verifier) = kit.code_with(&app, &asked).await;
        // A resource the code was not asked for: invalid_target, and the code is spent.
        let e = kit
            .token(
                &app,
                &exchange_form(&code, &verifier, &[("resource", "urn:portico:api")]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_target");
        let (code, verifier) = kit.code_with(&app, &asked).await;
        let issued = kit
            .token(&app, &exchange_form(&code, &verifier, &[]))
            .await
            .unwrap();
        assert_eq!(issued.scope, "openid profile travel.profile.read");
        assert_eq!(kit.claims(&issued.access_token)["aud"], travel);
        let id = kit.id_claims(issued.id_token.as_deref().expect("an ID token"));
        assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(id["aud"], app.client_id.as_str());
        assert_eq!(
            id["at_hash"],
            crate::id_token::at_hash(crate::SigningAlgorithm::RS256, &issued.access_token)
        );
        let auth_time = id["auth_time"].as_i64().unwrap();
        assert!(auth_time <= id["iat"].as_i64().unwrap() - 59);
        // UserInfo: the profile claims, and no email (not asked).
        let info = kit
            .svc
            .userinfo(&crate::ResourceRequest {
                token: &issued.access_token,
                scheme: crate::TokenScheme::Bearer,
                proof: crate::DpopHeader::Absent,
                method: "GET",
                path: "/oauth2/v0/userinfo",
            })
            .await
            .unwrap();
        assert_eq!(info["sub"], id["sub"]);
        assert_eq!(info["preferred_username"], kit.user_login.as_str());
        assert!(info.get("email").is_none());
    }

    async fn ask(
        kit: &Kit,
        app: &crate::grants::testing::TestClient,
        extra: &[(&str, &str)],
        signed_in: bool,
        decision: Option<crate::Decision>,
    ) -> crate::AuthorizeStep {
        let mut q = vec![
            ("response_type".to_owned(), "code".to_owned()),
            ("client_id".to_owned(), app.client_id.clone()),
            (
                "redirect_uri".to_owned(),
                "https://app.example/callback".to_owned(),
            ),
            ("state".to_owned(), "s".to_owned()),
            (
                "code_challenge".to_owned(),
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
            ),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
        ];
        q.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&q)
            .finish();
        let params = crate::params::Params::parse(body.as_bytes()).unwrap();
        let user = signed_in.then(|| kit.signed_in());
        kit.svc.authorize(&params, user, decision).await
    }

    #[tokio::test]
    async fn the_authorization_request_checks_openid_parameters() {
        use crate::AuthorizeStep;
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code"]).await;
        let error_of = |step: AuthorizeStep| match step {
            AuthorizeStep::Redirect(to) => url::Url::parse(&to)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "error")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default(),
            other => panic!("expected an error redirect, got {other:?}"),
        };
        let long_nonce = "n".repeat(portico_domain::MAX_NONCE_LEN + 1);
        for (extra, expected) in [
            (vec![("prompt", "sometimes")], "invalid_request"),
            (vec![("prompt", "none login")], "invalid_request"),
            (vec![("max_age", "soon")], "invalid_request"),
            (vec![("nonce", long_nonce.as_str())], "invalid_request"),
            (
                vec![("resource", "https://nowhere.example/")],
                "invalid_target",
            ),
            (
                vec![("resource", "urn:portico:api"), ("resource", "/relative")],
                "invalid_target",
            ),
            (vec![("scope", "email")], "invalid_scope"),
        ] {
            assert_eq!(
                error_of(ask(&kit, &app, &extra, true, None).await),
                expected,
                "{extra:?}"
            );
        }
        // prompt=none: no sign-in page, no consent page.
        assert_eq!(
            error_of(ask(&kit, &app, &[("prompt", "none")], false, None).await),
            "login_required"
        );
        assert_eq!(
            error_of(ask(&kit, &app, &[("prompt", "none")], true, None).await),
            "consent_required"
        );
        assert_eq!(
            error_of(
                ask(
                    &kit,
                    &app,
                    &[("prompt", "none"), ("max_age", "10")],
                    true,
                    None
                )
                .await
            ),
            "login_required",
            "signed in a minute ago, older than max_age"
        );
        // prompt=login and a stale session: sign in again, and come back without them.
        for extra in [vec![("prompt", "login consent")], vec![("max_age", "10")]] {
            match ask(&kit, &app, &extra, true, None).await {
                AuthorizeStep::SignIn {
                    again: true,
                    resume,
                } => {
                    assert!(
                        !resume
                            .iter()
                            .any(|(k, v)| k == "max_age" || v.contains("login")),
                        "{resume:?}"
                    );
                    assert!(resume.iter().any(|(k, _)| k == "client_id"));
                }
                other => panic!("expected a sign-in, got {other:?}"),
            }
        }
        // A fresh enough session goes on to consent, with "Sign you in" first.
        match ask(
            &kit,
            &app,
            &[("scope", "openid expense.report.read"), ("max_age", "3600")],
            true,
            None,
        )
        .await
        {
            AuthorizeStep::Consent(c) => {
                assert_eq!(c.scopes[0].title, "Sign you in");
                assert_eq!(c.scopes[1].scope, "expense.report.read");
            }
            other => panic!("expected consent, got {other:?}"),
        }
    }
}
