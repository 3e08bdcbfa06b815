//! Keyless and sender-constrained clients against the real binary: an app of
//! `private_key_jwt` alone (no secret ever shown) at the token, introspection and revocation
//! endpoints; DPoP-bound tokens (RFC 9449) at the token endpoint, on refresh, at UserInfo and
//! in introspection; server nonces. Keys, assertions, proofs and thumbprints are made here,
//! with aws-lc-rs and jsonwebtoken, independently of the server's code.

use crate::both_backends;
use crate::helpers::{Backend, TestApp, expense_app, spawn_app, spawn_app_with};
use crate::oauth_helpers::*;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    a_keys_only_app_at_every_endpoint,
    dpop_binds_tokens_to_the_clients_key,
    dpop_server_nonces
);

/// A partner's Ed25519 key.
struct PartnerKey {
    pkcs8: Vec<u8>,
    x: String,
    kid: String,
}

impl PartnerKey {
    fn new(kid: &str) -> Self {
        let doc = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        Self {
            pkcs8: doc.as_ref().to_vec(),
            x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            kid: kid.into(),
        }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid})
    }

    /// RFC 7638: SHA-256 over the required members in lexicographic order.
    fn thumbprint(&self) -> String {
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, self.x);
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        URL_SAFE_NO_PAD.encode(d)
    }

    fn sign(&self, header: jsonwebtoken::Header, claims: &Value) -> String {
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ed_der(&self.pkcs8),
        )
        .unwrap()
    }

    fn assertion(&self, client_id: &str, aud: &str) -> String {
        let now = now();
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        h.kid = Some(self.kid.clone());
        self.sign(
            h,
            &json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now,
                "exp": now + 60, "jti": uuid()}),
        )
    }

    fn proof(&self, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        h.typ = Some("dpop+jwt".into());
        h.jwk = Some(
            serde_json::from_value(json!({"kty": "OKP", "crv": "Ed25519", "x": self.x})).unwrap(),
        );
        let mut claims = json!({"htm": method, "htu": url, "iat": now(), "jti": uuid()});
        if let Some(t) = token {
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, t.as_bytes());
            claims["ath"] = URL_SAFE_NO_PAD.encode(d).into();
        }
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        self.sign(h, &claims)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn uuid() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}

fn assertion_form<'a>(assertion: &'a str, rest: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ];
    f.extend_from_slice(rest);
    f
}

/// POSTs a form with no client authentication header, and the given extra headers.
async fn post(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> Answer {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer(req.send().await.unwrap()).await
}

/// A token request with Basic client authentication and the given `DPoP` headers.
async fn with_proofs(
    app: &TestApp,
    client: &AppCredentials,
    body: &str,
    proofs: &[String],
) -> Answer {
    let mut req = app
        .client
        .post(app.url("/oauth2/v0/token"))
        .header("authorization", client.basic())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    for p in proofs {
        req = req.header("dpop", p);
    }
    answer(req.send().await.unwrap()).await
}

async fn a_keys_only_app_at_every_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let key = PartnerKey::new("2026-12");

    // Metadata: the method, and asymmetric algorithms only.
    let meta = get_json(&app, "/.well-known/oauth-authorization-server").await;
    for member in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert!(
            meta[member]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt")),
            "{member}: {meta}"
        );
    }
    let algs = meta["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("EdDSA")) && algs.contains(&json!("ES256")));
    assert!(
        !algs
            .iter()
            .any(|a| a == "none" || a.as_str().unwrap().starts_with("HS"))
    );

    // A key with a private member is refused, naming the member; nothing is registered.
    let mut body = expense_app("Keyless");
    body["grant_types"] = json!(["client_credentials"]);
    body["token_endpoint_auth_methods"] = json!(["private_key_jwt"]);
    let mut leaked = key.jwk();
    leaked["d"] = json!("cHJpdmF0ZQ");
    body["jwks"] = json!({"keys": [leaked]});
    let refused = app.post(&dev, "/apps", body.clone()).await;
    assert_eq!(refused.0, StatusCode::BAD_REQUEST, "{}", refused.1);
    assert!(
        refused.1["field"]
            .as_str()
            .unwrap()
            .starts_with("jwks.keys[0]"),
        "{}",
        refused.1
    );
    // private_key_jwt without keys.
    body["jwks"] = Value::Null;
    let refused = app.post(&dev, "/apps", body.clone()).await;
    assert_eq!(refused.1["field"], "jwks", "{}", refused.1);

    body["jwks"] = json!({"keys": [key.jwk()]});
    let reg = app.register_app(&dev, body).await;
    assert!(
        reg["client_secret"].is_null(),
        "no secret is ever shown: {reg}"
    );
    assert_eq!(
        reg["app"]["token_endpoint_auth_methods"],
        json!(["private_key_jwt"])
    );
    let client_id = reg["client_id"].as_str().unwrap().to_owned();

    // Client credentials with an assertion for the token endpoint.
    let token_url = app.url("/oauth2/v0/token");
    let a = key.assertion(&client_id, &token_url);
    let issued = post(
        &app,
        "/oauth2/v0/token",
        &[],
        &assertion_form(&a, &[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let access = issued.str("access_token");
    // The same assertion again: refused.
    post(
        &app,
        "/oauth2/v0/token",
        &[],
        &assertion_form(&a, &[("grant_type", "client_credentials")]),
    )
    .await
    .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // A secret, for an app that has none: refused.
    let guess = AppCredentials {
        id: client_id.clone(),
        secret: "guess".into(),
    };
    token(&app, &guess, &[("grant_type", "client_credentials")])
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // Introspection and revocation, each with an assertion naming its endpoint (or the issuer).
    let a = key.assertion(&client_id, &app.url("/oauth2/v0/introspect"));
    let seen = post(
        &app,
        "/oauth2/v0/introspect",
        &[],
        &assertion_form(&a, &[("token", &access)]),
    )
    .await;
    assert_eq!(seen.body["active"], true, "{}", seen.body);
    let a = key.assertion(&client_id, &app.base);
    let revoked = post(
        &app,
        "/oauth2/v0/revoke",
        &[],
        &assertion_form(&a, &[("token", &access)]),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let a = key.assertion(&client_id, &app.base);
    let seen = post(
        &app,
        "/oauth2/v0/introspect",
        &[],
        &assertion_form(&a, &[("token", &access)]),
    )
    .await;
    assert_eq!(seen.body["active"], false, "{}", seen.body);

    // New Secret has nothing to make for a keys-only app.
    let (status, body) = app
        .post(&dev, &format!("/apps/{client_id}/secret"), json!({}))
        .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::CONFLICT, &json!("keys_only")),
        "{body}"
    );

    // Key rotation: a second key joins, the first still works until removed.
    let next = PartnerKey::new("2027-01");
    let (status, body) = app
        .patch(
            &dev,
            &format!("/apps/{client_id}"),
            json!({"jwks": {"keys": [key.jwk(), next.jwk()]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for k in [&key, &next] {
        let a = k.assertion(&client_id, &token_url);
        let ok = post(
            &app,
            "/oauth2/v0/token",
            &[],
            &assertion_form(&a, &[("grant_type", "client_credentials")]),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{}: {}", k.kid, ok.body);
    }
}

async fn dpop_binds_tokens_to_the_clients_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(
        &app,
        &dev,
        "DPoP Client",
        &["authorization_code", "refresh_token", "client_credentials"],
    )
    .await;
    let key = PartnerKey::new("dpop");
    let token_url = app.url("/oauth2/v0/token");
    let meta = get_json(&app, "/.well-known/openid-configuration").await;
    assert!(
        meta["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("EdDSA")),
        "{meta}"
    );

    const CC: &str = "grant_type=client_credentials";
    let cc = with_proofs(
        &app,
        &client,
        CC,
        &[key.proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(cc.status, StatusCode::OK, "{}", cc.body);
    assert_eq!(cc.body["token_type"], "DPoP");
    let claims = verify_jwt(&app, &cc.str("access_token")).await;
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint().as_str());
    let seen = introspect(&app, &client, &cc.str("access_token")).await;
    assert_eq!(
        (&seen["token_type"], &seen["cnf"]["jkt"]),
        (&json!("DPoP"), &json!(key.thumbprint()))
    );
    // A proof for another URL, and two DPoP headers: refused, never a 500.
    with_proofs(
        &app,
        &client,
        CC,
        &[key.proof("POST", &app.url("/oauth2/v0/revoke"), None, None)],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let two = [
        key.proof("POST", &token_url, None, None),
        key.proof("POST", &token_url, None, None),
    ];
    with_proofs(&app, &client, CC, &two)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    with_proofs(&app, &client, CC, &["not.a.proof".into()])
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    // The code exchange with a proof starts a bound grant.
    let (code, verifier) = authorization_code(&app, &dev, &client, Some("openid profile")).await;
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "https://app.example/callback"),
        ("code_verifier", &verifier),
    ])
    .unwrap();
    let issued = with_proofs(
        &app,
        &client,
        &form,
        &[key.proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(issued.body["token_type"], "DPoP", "{}", issued.body);
    let access = issued.str("access_token");
    let refresh_token = issued.str("refresh_token");

    // UserInfo: the DPoP scheme with a proof of the key, for this token (ath).
    let userinfo = app.url("/oauth2/v0/userinfo");
    let get = |scheme: &'static str, proof: Option<String>| {
        let mut req = app
            .client
            .get(&userinfo)
            .header("authorization", format!("{scheme} {access}"));
        if let Some(p) = proof {
            req = req.header("dpop", p);
        }
        req.send()
    };
    let bearer = get("Bearer", None).await.unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let challenge = bearer.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let no_proof = get("DPoP", None).await.unwrap();
    assert_eq!(no_proof.status(), StatusCode::UNAUTHORIZED);
    let challenge = no_proof.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("DPoP algs=") && challenge.contains("invalid_dpop_proof"),
        "{challenge}"
    );
    let other_key = PartnerKey::new("other");
    let wrong = get(
        "DPoP",
        Some(other_key.proof("GET", &userinfo, Some(&access), None)),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok = get(
        "DPoP",
        Some(key.proof("GET", &userinfo, Some(&access), None)),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let info: Value = ok.json().await.unwrap();
    assert_eq!(info["sub"], dev.user_id.as_str());

    // Refresh: only with a proof of the grant's key; a refusal does not end the grant.
    let refresh_form = serde_urlencoded::to_string([
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ])
    .unwrap();
    with_proofs(&app, &client, &refresh_form, &[])
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    with_proofs(
        &app,
        &client,
        &refresh_form,
        &[other_key.proof("POST", &token_url, None, None)],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let next = with_proofs(
        &app,
        &client,
        &refresh_form,
        &[key.proof("POST", &token_url, None, None)],
    )
    .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    assert_eq!(next.body["token_type"], "DPoP");
    let seen = introspect(&app, &client, &next.str("refresh_token")).await;
    assert_eq!(seen["cnf"]["jkt"], key.thumbprint().as_str(), "{seen}");
}

async fn dpop_server_nonces(backend: Backend) {
    let app = spawn_app_with(backend, &[("PORTICO_DPOP_REQUIRE_NONCE", "true")]).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Nonce Client", &["client_credentials"]).await;
    let key = PartnerKey::new("dpop");
    let token_url = app.url("/oauth2/v0/token");
    let first = with_proofs(
        &app,
        &client,
        "grant_type=client_credentials",
        &[key.proof("POST", &token_url, None, None)],
    )
    .await;
    first.expect_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
    let nonce = first.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let again = with_proofs(
        &app,
        &client,
        "grant_type=client_credentials",
        &[key.proof("POST", &token_url, None, Some(&nonce))],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["token_type"], "DPoP");
}
