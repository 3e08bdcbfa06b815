//! DPoP (RFC 9449) at the authorization server: a token request with a proof gets tokens
//! bound to the proof's key (`cnf.jkt`, `token_type: DPoP`), and a grant started with one
//! keeps that key: its refresh tokens need a proof of the same key. The proof itself is
//! checked by `portico_jose` (signature, `typ`, `htm`, `htu`, `iat`, `ath`); here, the
//! server's nonce when one is required, and the `jti`, used once on every node.

use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::introspect::BearerError;
use portico_domain::TokenDigest;
use portico_jose::{ProofCheck, VerifiedProof};

/// A `DPoP` header as the HTTP layer found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopHeader<'a> {
    Absent,
    One(&'a str),
    /// More than one `DPoP` header (RFC 9449 §4.3 step 1 wants exactly one).
    Several,
}

impl Inner {
    /// The proof of a request to `path` with `method` (and, at a resource such as UserInfo,
    /// for `access_token`), checked; `None` when the request carries none.
    pub(crate) async fn dpop_proof(
        &self,
        header: DpopHeader<'_>,
        method: &str,
        path: &str,
        access_token: Option<&str>,
        now: i64,
    ) -> OAuthResult<Option<VerifiedProof>> {
        let proof = match header {
            DpopHeader::Absent => return Ok(None),
            DpopHeader::Several => {
                return Err(OAuthError::InvalidDpopProof(
                    "send exactly one DPoP header".into(),
                ));
            }
            DpopHeader::One(p) => p,
        };
        let settings = self.settings.dpop;
        let uri = self.settings.endpoint(path);
        let mut check = ProofCheck::new(method, &uri, now);
        check.max_age = settings.max_age;
        if let Some(token) = access_token {
            check = check.with_access_token(token);
        }
        let proof = portico_jose::verify_proof(proof, &check)
            .map_err(|e| OAuthError::InvalidDpopProof(e.to_string()))?;
        if settings.require_nonce {
            let nonces = self.master.dpop_nonce_key();
            if !proof
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts(n, now))
            {
                return Err(OAuthError::UseDpopNonce {
                    nonce: nonces.issue(now),
                });
            }
        }
        // Kept until the proof is too old to be accepted anyway (plus the future skew).
        let replay = TokenDigest::of(&format!("dpop\u{0}{}\u{0}{}", proof.jkt, proof.jti));
        let until = proof.iat.max(now) + settings.max_age + check.future_skew;
        if !self.directory.store().first_use(&replay, until).await? {
            return Err(OAuthError::InvalidDpopProof(
                "the DPoP proof was used before (jti)".into(),
            ));
        }
        Ok(Some(proof))
    }
}

/// How a resource request presented its access token (RFC 6750 §2.1, RFC 9449 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenScheme {
    Bearer,
    Dpop,
}

/// An access token presented at one of Portico's own resources (UserInfo, Concur's
/// disconnect), with what a DPoP-bound token needs checked: the request's proof.
#[derive(Clone, Copy, Debug)]
pub struct ResourceRequest<'a> {
    pub token: &'a str,
    pub scheme: TokenScheme,
    pub proof: DpopHeader<'a>,
    pub method: &'a str,
    /// The resource's path (its URL is the issuer's plus this).
    pub path: &'a str,
}

impl Inner {
    /// The claims of a live access token presented as it must be: a DPoP-bound token only
    /// with the DPoP scheme and a proof of its key for this request (`ath` included), an
    /// unbound token only as a bearer token.
    pub(crate) async fn resource_access(
        &self,
        req: &ResourceRequest<'_>,
    ) -> Result<std::sync::Arc<crate::jwt::AccessClaims>, BearerError> {
        let claims = self
            .live_access_token(req.token)
            .await
            .map_err(|e| BearerError::Server(e.to_string()))?
            .ok_or_else(|| {
                BearerError::InvalidToken("the access token is invalid, expired or revoked".into())
            })?;
        match (&claims.cnf, req.scheme) {
            (None, TokenScheme::Bearer) => return Ok(claims),
            (None, TokenScheme::Dpop) => {
                return Err(BearerError::InvalidToken(
                    "the access token is not DPoP-bound: use the Bearer scheme".into(),
                ));
            }
            (Some(_), TokenScheme::Bearer) => {
                return Err(BearerError::InvalidToken(
                    "the access token is DPoP-bound: use the DPoP scheme with a proof".into(),
                ));
            }
            (Some(_), TokenScheme::Dpop) => {}
        }
        let proof = self
            .dpop_proof(
                req.proof,
                req.method,
                req.path,
                Some(req.token),
                crate::now(),
            )
            .await
            .map_err(|e| match e {
                OAuthError::InvalidDpopProof(d) => BearerError::InvalidDpopProof(d),
                OAuthError::UseDpopNonce { nonce } => BearerError::UseDpopNonce { nonce },
                other => BearerError::Server(other.to_string()),
            })?
            .ok_or_else(|| {
                BearerError::InvalidDpopProof("a DPoP-bound token needs a DPoP proof".into())
            })?;
        if claims.cnf.as_ref().is_some_and(|c| c.jkt != proof.jkt) {
            return Err(BearerError::InvalidDpopProof(
                "the DPoP proof is not made with the token's key".into(),
            ));
        }
        Ok(claims)
    }
}

/// An RFC 7638 SHA-256 thumbprint as sent: 43 base64url characters.
pub(crate) fn is_thumbprint(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A grant bound to a key accepts only proofs of that key; an unbound grant any (its new
/// access token is bound to the key of the proof, if there is one).
pub(crate) fn check_binding(bound: Option<&str>, proof: Option<&str>) -> OAuthResult<()> {
    check_bound("refresh token", bound, proof)
}

/// RFC 9449 §10: a code bound with `dpop_jkt` is exchanged only with a proof of that key.
pub(crate) fn check_code_binding(bound: Option<&str>, proof: Option<&str>) -> OAuthResult<()> {
    check_bound("authorization code", bound, proof)
}

fn check_bound(what: &str, bound: Option<&str>, proof: Option<&str>) -> OAuthResult<()> {
    match (bound, proof) {
        (None, _) => Ok(()),
        (Some(bound), Some(jkt)) if bound == jkt => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::InvalidDpopProof(format!(
            "the {what} is bound to another DPoP key"
        ))),
        (Some(_), None) => Err(OAuthError::InvalidDpopProof(format!(
            "the {what} is DPoP-bound: send a DPoP proof of its key"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_grant_wants_its_own_key() {
        assert!(check_binding(None, None).is_ok());
        assert!(check_binding(None, Some("k")).is_ok());
        assert!(check_binding(Some("k"), Some("k")).is_ok());
        for (bound, proof) in [(Some("k"), Some("other")), (Some("k"), None)] {
            assert_eq!(
                check_binding(bound, proof).unwrap_err().code(),
                "invalid_dpop_proof"
            );
        }
    }
}

#[cfg(test)]
mod token_endpoint {
    use crate::grants::testing::{Kit, TOKEN_URL, TestKey, assertion_fields};
    use crate::settings::DpopSettings;

    fn cc() -> Vec<(&'static str, String)> {
        vec![("grant_type", "client_credentials".to_owned())]
    }

    #[tokio::test]
    async fn a_proof_binds_the_token_to_its_key() {
        let kit = Kit::new().await;
        let app = kit.app(&["client_credentials"]).await;
        let key = TestKey::new("dpop");
        let proof = key.proof("POST", TOKEN_URL, None);
        let issued = kit.token_with_proof(&app, &proof, &cc()).await.unwrap();
        assert_eq!(issued.token_type, "DPoP");
        let claims = kit.claims(&issued.access_token);
        assert_eq!(claims["cnf"]["jkt"], key.thumbprint().as_str());
        // The same proof again: a replay.
        let e = kit.token_with_proof(&app, &proof, &cc()).await.unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof");
        // A proof for another URL or method.
        for p in [
            key.proof("POST", "https://portico.test/oauth2/v0/introspect", None),
            key.proof("GET", TOKEN_URL, None),
        ] {
            let e = kit.token_with_proof(&app, &p, &cc()).await.unwrap_err();
            assert_eq!(e.code(), "invalid_dpop_proof", "{e}");
        }
        // Without a proof, a bearer token as before.
        let plain = kit.token(&app, &cc()).await.unwrap();
        assert_eq!(plain.token_type, "Bearer");
        assert!(kit.claims(&plain.access_token).get("cnf").is_none());
    }

    #[tokio::test]
    async fn an_app_may_require_dpop() {
        let kit = Kit::new().await;
        let key = TestKey::new("k1");
        let app = kit.keyed_app(&["client_credentials"], &key, true).await;
        let mut form = cc();
        form.extend(assertion_fields(key.assertion(
            &app.client_id,
            TOKEN_URL,
            "a",
        )));
        let e = kit.token_unauthenticated(None, &form).await.unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof");
        // private_key_jwt and DPoP together: one key may serve both.
        let mut form = cc();
        form.extend(assertion_fields(key.assertion(
            &app.client_id,
            TOKEN_URL,
            "b",
        )));
        let proof = key.proof("POST", TOKEN_URL, None);
        let issued = kit
            .token_unauthenticated(Some(&proof), &form)
            .await
            .unwrap();
        assert_eq!(issued.token_type, "DPoP");
    }

    #[tokio::test]
    async fn server_nonces_when_required() {
        let kit = Kit::with_dpop(DpopSettings {
            require_nonce: true,
            max_age: 60,
        })
        .await;
        let app = kit.app(&["client_credentials"]).await;
        let key = TestKey::new("dpop");
        let e = kit
            .token_with_proof(&app, &key.proof("POST", TOKEN_URL, None), &cc())
            .await
            .unwrap_err();
        let crate::OAuthError::UseDpopNonce { nonce } = &e else {
            panic!("expected use_dpop_nonce, got {e:?}");
        };
        assert_eq!(e.code(), "use_dpop_nonce");
        let bad = key.proof("POST", TOKEN_URL, Some("not-ours"));
        let e = kit.token_with_proof(&app, &bad, &cc()).await.unwrap_err();
        assert_eq!(e.code(), "use_dpop_nonce");
        let good = key.proof("POST", TOKEN_URL, Some(nonce));
        let issued = kit.token_with_proof(&app, &good, &cc()).await.unwrap();
        assert_eq!(issued.token_type, "DPoP");
    }

    #[tokio::test]
    async fn a_bound_grant_refreshes_only_with_its_key() {
        let kit = Kit::new().await;
        let app = kit.app(&["password", "refresh_token"]).await;
        let key = TestKey::new("dpop");
        let password = vec![
            ("grant_type", "password".to_owned()),
            ("username", kit.user_login.clone()),
            ("password", kit.password.clone()),
        ];
        let first = kit
            .token_with_proof(&app, &key.proof("POST", TOKEN_URL, None), &password)
            .await
            .unwrap();
        assert_eq!(first.token_type, "DPoP");
        let refresh = first.refresh_token.as_ref().unwrap().expose().to_owned();
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh.clone()),
        ];
        // Without a proof, or with another key's: refused, and the grant lives on.
        let e = kit.token(&app, &form).await.unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof");
        let thief = TestKey::new("thief");
        let e = kit
            .token_with_proof(&app, &thief.proof("POST", TOKEN_URL, None), &form)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof");
        let next = kit
            .token_with_proof(&app, &key.proof("POST", TOKEN_URL, None), &form)
            .await
            .unwrap();
        assert_eq!(next.token_type, "DPoP");
        assert_eq!(
            kit.claims(&next.access_token)["cnf"]["jkt"],
            key.thumbprint().as_str()
        );
        // Introspection says how the tokens are bound.
        let answer = kit
            .svc
            .introspect(
                Some(&app.basic()),
                format!("token={}", next.access_token).as_bytes(),
                crate::grants::testing::SOURCE,
            )
            .await
            .unwrap()
            .to_value();
        assert_eq!(answer["token_type"], "DPoP");
        assert_eq!(answer["cnf"]["jkt"], key.thumbprint().as_str());
    }

    #[tokio::test]
    async fn userinfo_wants_the_proof_of_a_bound_token() {
        use crate::{DpopHeader, ResourceRequest, TokenScheme};
        let kit = Kit::new().await;
        let app = kit.app(&["password", "refresh_token"]).await;
        let key = TestKey::new("dpop");
        let form = vec![
            ("grant_type", "password".to_owned()),
            ("username", kit.user_login.clone()),
            ("password", kit.password.clone()),
            ("scope", "openid profile".to_owned()),
        ];
        let issued = kit
            .token_with_proof(&app, &key.proof("POST", TOKEN_URL, None), &form)
            .await
            .unwrap();
        let token = issued.access_token.as_str();
        let url = "https://portico.test/oauth2/v0/userinfo";
        let ask = |scheme, proof| ResourceRequest {
            token,
            scheme,
            proof,
            method: "GET",
            path: "/oauth2/v0/userinfo",
        };
        // As a bearer token: refused (it is bound).
        let e = kit
            .svc
            .userinfo(&ask(TokenScheme::Bearer, DpopHeader::Absent))
            .await;
        assert!(
            matches!(e, Err(crate::BearerError::InvalidToken(_))),
            "{e:?}"
        );
        // DPoP without a proof, or with a proof without ath: refused.
        let e = kit
            .svc
            .userinfo(&ask(TokenScheme::Dpop, DpopHeader::Absent))
            .await;
        assert!(
            matches!(e, Err(crate::BearerError::InvalidDpopProof(_))),
            "{e:?}"
        );
        let no_ath = key.proof("GET", url, None);
        let e = kit
            .svc
            .userinfo(&ask(TokenScheme::Dpop, DpopHeader::One(&no_ath)))
            .await;
        assert!(
            matches!(e, Err(crate::BearerError::InvalidDpopProof(_))),
            "{e:?}"
        );
        // With a proof carrying ath: the claims.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(key.public_jwk()).unwrap());
        let ath = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()),
        );
        let proof = key.sign(
            header,
            &serde_json::json!({"htm": "GET", "htu": url, "iat": chrono::Utc::now().timestamp(),
                "jti": "u1", "ath": ath}),
        );
        let info = kit
            .svc
            .userinfo(&ask(TokenScheme::Dpop, DpopHeader::One(&proof)))
            .await
            .unwrap();
        assert!(info["sub"].is_string());
    }
}

#[cfg(test)]
mod code_binding {
    use crate::grants::testing::{CALLBACK, Kit, TOKEN_URL, TestKey};

    fn exchange(code: &str, verifier: &str) -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", CALLBACK.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    }

    #[tokio::test]
    async fn a_code_bound_with_dpop_jkt_needs_that_keys_proof() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code", "refresh_token"]).await;
        let key = TestKey::new("dpop");
        let bound = [("dpop_jkt", key.thumbprint())];
        // No proof, or another key's: refused.
        let (code, verifier) = kit.code_with(&app, &bound).await;
        let e = kit
            .token(&app, &exchange(&code, &verifier))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof");
        let (code, verifier) = kit.code_with(&app, &bound).await;
        let thief = TestKey::new("thief");
        let e = kit
            .token_with_proof(
                &app,
                &thief.proof("POST", TOKEN_URL, None),
                &exchange(&code, &verifier),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof");
        // The key it was bound to: DPoP-bound tokens.
        let (code, verifier) = kit.code_with(&app, &bound).await;
        let issued = kit
            .token_with_proof(
                &app,
                &key.proof("POST", TOKEN_URL, None),
                &exchange(&code, &verifier),
            )
            .await
            .unwrap();
        assert_eq!(issued.token_type, "DPoP");
        assert_eq!(
            kit.claims(&issued.access_token)["cnf"]["jkt"],
            key.thumbprint().as_str()
        );
    }

    #[tokio::test]
    async fn a_malformed_dpop_jkt_is_refused_by_redirect() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code"]).await;
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&dpop_jkt=short",
            app.client_id,
            url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        );
        let params = crate::params::Params::parse(query.as_bytes()).unwrap();
        let step = kit
            .svc
            .authorize(&params, Some(kit.signed_in()), Some(crate::Decision::Allow))
            .await;
        let crate::AuthorizeStep::Redirect(to) = step else {
            panic!("expected an error redirect, got {step:?}");
        };
        assert!(
            to.contains("error=invalid_request") && to.contains("dpop_jkt"),
            "{to}"
        );
    }
}
