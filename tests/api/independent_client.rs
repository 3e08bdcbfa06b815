//! Portico as generic client libraries see it: discovery, then client credentials, the
//! authorization code flow with PKCE and refresh through the `oauth2` crate; and OpenID Connect
//! through the `openidconnect` crate, a relying party that validates the ID token (signature
//! through the JWKS, issuer, audience, nonce, at_hash) with its own code. Neither knows
//! anything of Portico.

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};
use crate::oauth_helpers::*;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;

both_backends!(
    flows_through_the_oauth2_crate,
    openid_connect_through_the_openidconnect_crate
);

async fn flows_through_the_oauth2_crate(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let creds = register(
        &app,
        &dev,
        "Generic Client",
        &["authorization_code", "refresh_token", "client_credentials"],
    )
    .await;

    // Discovery (RFC 8414): the endpoints come from the metadata, at both well-known paths.
    let meta: Value = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let oidc: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The OpenID Provider configuration shares RFC 8414's endpoints (tests/api/oidc.rs checks
    // the rest of each document).
    for member in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
    ] {
        assert_eq!(meta[member], oidc[member], "{member}");
    }
    assert_eq!(meta["issuer"], app.base.as_str());
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert!(
        meta["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "travel.profile.passport")
    );
    let url = |k: &str| meta[k].as_str().unwrap().to_owned();

    let client = BasicClient::new(ClientId::new(creds.id.clone()))
        .set_client_secret(ClientSecret::new(creds.secret.clone()))
        .set_auth_uri(AuthUrl::new(url("authorization_endpoint")).unwrap())
        .set_token_uri(TokenUrl::new(url("token_endpoint")).unwrap())
        .set_redirect_uri(RedirectUrl::new("https://app.example/callback".into()).unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Client credentials.
    let cc = client
        .exchange_client_credentials()
        .add_scope(Scope::new("expense.report.read".into()))
        .request_async(&http)
        .await
        .expect("client credentials through oauth2");
    assert_eq!(cc.scopes().unwrap()[0].as_str(), "expense.report.read");
    assert!(cc.refresh_token().is_none());
    verify_jwt(&app, cc.access_token().secret()).await;

    // Authorization code with PKCE: the crate builds the URL; the user consents in between.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("travel.profile.read".into()))
        .add_scope(Scope::new("travel.profile.passport".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = consent(&app, &dev, auth_url.as_str(), "allow").await;
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = query(&back, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange through oauth2");
    let claims = verify_jwt(&app, tokens.access_token().secret()).await;
    assert_eq!(claims["principal_type"], "user");
    assert_eq!(
        claims["sensitive_data_groups"],
        serde_json::json!(["travel.profile.passport"])
    );

    // Refresh: a new refresh token every time.
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .expect("refresh through oauth2");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );

    // Errors parse as RFC 6749 error responses.
    let wrong = client
        .clone()
        .set_client_secret(ClientSecret::new("wrong".into()));
    match wrong
        .exchange_client_credentials()
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidClient)
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
    // A retry of the refresh whose answer was lost (within the grace window, the new token
    // unused): the same answer again.
    let retried = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .expect("the lost answer again");
    assert_eq!(
        retried.refresh_token().unwrap().secret(),
        refreshed.refresh_token().unwrap().secret()
    );
    assert_eq!(
        retried.access_token().secret(),
        refreshed.access_token().secret()
    );
    // Once the new token was used, the old one is reuse: invalid_grant, the grant ends.
    client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .request_async(&http)
        .await
        .expect("the new token rotates");
    match client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant)
        }
        other => panic!("expected invalid_grant for a reused refresh token, got {other:?}"),
    }
}

async fn openid_connect_through_the_openidconnect_crate(backend: Backend) {
    use openidconnect::core::{
        CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
    };
    use openidconnect::{
        AccessTokenHash, AuthorizationCode as OidcCode, ClientId as OidcClientId,
        ClientSecret as OidcSecret, CsrfToken as OidcCsrf, IssuerUrl, Nonce, OAuth2TokenResponse,
        PkceCodeChallenge as OidcPkce, RedirectUrl as OidcRedirect, Scope as OidcScope,
        TokenResponse as OidcTokenResponse,
    };
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let creds = register(
        &app,
        &dev,
        "OpenID Relying Party",
        &["authorization_code", "refresh_token"],
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Discovery: the crate reads /.well-known/openid-configuration and the JWKS.
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .expect("a valid OpenID Provider configuration");
    let client = CoreClient::from_provider_metadata(
        provider,
        OidcClientId::new(creds.id.clone()),
        Some(OidcSecret::new(creds.secret.clone())),
    )
    .set_redirect_uri(OidcRedirect::new("https://app.example/callback".into()).unwrap());
    let (challenge, verifier) = OidcPkce::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            OidcCsrf::new_random,
            Nonce::new_random,
        )
        .add_scope(OidcScope::new("profile".into()))
        .add_scope(OidcScope::new("expense.report.read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = consent(&app, &dev, auth_url.as_str(), "allow").await;
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = query(&back, "code").unwrap();
    let tokens = client
        .exchange_code(OidcCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    // The crate validates the ID token: signature with a JWKS key, iss, aud, exp, nonce.
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the ID token validates");
    assert_eq!(claims.subject().as_str(), dev.user_id.as_str());
    assert!(claims.auth_time().is_some());
    // And at_hash against the access token, with the key and algorithm that signed it.
    let expected = claims.access_token_hash().expect("an at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected);
    // A wrong nonce is refused by the crate.
    assert!(
        id_token
            .claims(&id_verifier, &Nonce::new("other".into()))
            .is_err()
    );
    // UserInfo through the crate.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("UserInfo");
    assert_eq!(info.subject().as_str(), dev.user_id.as_str());
    assert!(info.preferred_username().is_some());
    // Refresh: a new ID token the crate accepts, with the same subject (no nonce now).
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let again = refreshed
        .id_token()
        .expect("an ID token on refresh")
        .claims(&id_verifier, |n: Option<&Nonce>| {
            if n.is_none() {
                Ok(())
            } else {
                Err("a nonce on refresh".to_owned())
            }
        })
        .expect("the refreshed ID token validates");
    assert_eq!(again.subject(), claims.subject());
}
