//! What a partner app does against the token service: register, authenticate, ask for tokens,
//! walk a user through the authorization page, and check what it got with the JWKS.

use crate::helpers::{Session, TestApp, expense_app};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Value, json};

/// A partner app's Key and Secret.
#[derive(Clone, Debug)]
pub struct AppCredentials {
    pub id: String,
    pub secret: String,
}

impl AppCredentials {
    /// `client_secret_basic`: id and secret form-encoded, joined, base64 (RFC 6749 §2.3.1).
    pub fn basic(&self) -> String {
        let enc = |s: &str| serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_owned();
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(&self.id), enc(&self.secret)))
        )
    }
}

/// A server to send requests to: the test app's node, or another node on the same database.
pub trait Target {
    fn url(&self, path: &str) -> String;
    fn http(&self) -> &reqwest::Client;
}

impl Target for TestApp {
    fn url(&self, path: &str) -> String {
        TestApp::url(self, path)
    }
    fn http(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Another node, reached with its own base URL.
pub struct Peer {
    pub base: String,
    pub client: reqwest::Client,
}

impl Target for Peer {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    fn http(&self) -> &reqwest::Client {
        &self.client
    }
}

/// A response of an OAuth endpoint.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    pub fn description(&self) -> &str {
        self.body["error_description"].as_str().unwrap_or_default()
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.body))
            .to_owned()
    }

    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, error: &str) -> &Self {
        assert_eq!(
            (self.status, self.error()),
            (status, error),
            "{}",
            self.body
        );
        self
    }
}

/// Registers an app (Expense Report + Travel Profile with Passport) with these grant types.
pub async fn register(app: &TestApp, dev: &Session, name: &str, grants: &[&str]) -> AppCredentials {
    let mut body = expense_app(name);
    body["grant_types"] = json!(grants);
    let reg = app.register_app(dev, body).await;
    AppCredentials {
        id: reg["client_id"].as_str().unwrap().to_owned(),
        secret: reg["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// Submits the sandbox app `client`, has staff approve and certify it with `visibility`, and
/// has the developer's admin take the production Secret (New Secret): the production
/// registration's credentials, a Key other than the sandbox's.
pub async fn certify(
    app: &TestApp,
    dev: &Session,
    client: &AppCredentials,
    visibility: &str,
) -> AppCredentials {
    let staff = app.staff().await;
    let (status, body) = app
        .post(dev, &format!("/apps/{}/submit", client.id), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post(
            &staff,
            &format!("/apps/{}/review", client.id),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, certified) = app
        .post(
            &staff,
            &format!("/apps/{}/certification", client.id),
            json!({ "visibility": visibility }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{certified}");
    let id = certified["production"]["id"].as_str().unwrap().to_owned();
    assert_ne!(id, client.id, "production has a Key of its own");
    let (status, secret) = app
        .post(dev, &format!("/apps/{id}/secret"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{secret}");
    AppCredentials {
        id,
        secret: secret["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// POSTs a form to an OAuth endpoint, authenticating with Basic when `client` is given.
pub async fn post_form(
    app: &impl Target,
    path: &str,
    client: Option<&AppCredentials>,
    form: &[(&str, &str)],
) -> Answer {
    let mut req = app
        .http()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap());
    if let Some(c) = client {
        req = req.header("authorization", c.basic());
    }
    answer(req.send().await.unwrap()).await
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn token(app: &impl Target, client: &AppCredentials, form: &[(&str, &str)]) -> Answer {
    post_form(app, "/oauth2/v0/token", Some(client), form).await
}

/// `grant_type=refresh_token` with `refresh_token`.
pub async fn refresh(app: &impl Target, client: &AppCredentials, refresh_token: &str) -> Answer {
    token(
        app,
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub async fn introspect(app: &impl Target, caller: &AppCredentials, token: &str) -> Value {
    let a = post_form(
        app,
        "/oauth2/v0/introspect",
        Some(caller),
        &[("token", token)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

pub async fn is_active(app: &impl Target, caller: &AppCredentials, token: &str) -> bool {
    introspect(app, caller, token).await["active"] == true
}

/// A company request token generated by `admin` for `client`.
pub async fn request_token(app: &TestApp, admin: &Session, client: &AppCredentials) -> String {
    let (status, body) = app
        .post(
            admin,
            &format!("/companies/{}/request-tokens", admin.company_id),
            json!({ "app_id": client.id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["company_id"], admin.company_id.as_str());
    body["request_token"].as_str().unwrap().to_owned()
}

/// The company-level token exchange as Concur documents it.
pub async fn company_token(
    app: &impl Target,
    client: &AppCredentials,
    company_id: &str,
    request_token: &str,
) -> Answer {
    token(
        app,
        client,
        &[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", company_id),
            ("password", request_token),
        ],
    )
    .await
}

/// A PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes().repeat(3));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier.clone(), URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

pub fn authorize_url(app: &TestApp, client: &AppCredentials, extra: &[(&str, &str)]) -> String {
    let mut q = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", "https://app.example/callback"),
        ("state", "xyz-state"),
    ];
    q.extend_from_slice(extra);
    app.url(&format!(
        "/oauth2/v0/authorize?{}",
        serde_urlencoded::to_string(&q).unwrap()
    ))
}

/// GETs `url` as the signed-in user (the session cookie of `user`).
pub async fn browse(app: &TestApp, user: &Session, url: &str) -> reqwest::Response {
    app.client
        .get(url)
        .header("cookie", format!("portico_session={}", user.token))
        .send()
        .await
        .unwrap()
}

/// The hidden inputs of the consent form.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|chunk| {
            let attr = |name: &str| {
                let start = chunk.find(&format!("{name}=\""))? + name.len() + 2;
                let end = start + chunk[start..].find('"')?;
                Some(unescape(&chunk[start..end]))
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The user opens the authorization page, sees the consent page, and chooses; returns where
/// the browser is sent.
pub async fn consent(app: &TestApp, user: &Session, url: &str, decision: &str) -> url::Url {
    let page = browse(app, user, url).await;
    // A consent the user gave before stands: the browser goes straight back to the app.
    if page.status() == StatusCode::SEE_OTHER && decision == "allow" {
        return redirect_target(&page);
    }
    assert_eq!(page.status(), StatusCode::OK, "expected the consent page");
    let html = page.text().await.unwrap();
    assert!(html.contains("to access your data?"), "{html}");
    let mut form = hidden_inputs(&html);
    form.push(("decision".into(), decision.into()));
    let resp = app
        .client
        .post(app.url("/oauth2/v0/authorize"))
        .header("cookie", format!("portico_session={}", user.token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form).unwrap())
        .send()
        .await
        .unwrap();
    redirect_target(&resp)
}

#[track_caller]
pub fn redirect_target(resp: &reqwest::Response) -> url::Url {
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "expected a redirect");
    // Relative locations (the sign-in page) resolve against the server.
    let base = url::Url::parse(resp.url().as_str()).unwrap();
    base.join(resp.headers()["location"].to_str().unwrap())
        .unwrap()
}

pub fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A code for `user` through the whole authorization page, with PKCE.
pub async fn authorization_code(
    app: &TestApp,
    user: &Session,
    client: &AppCredentials,
    scope: Option<&str>,
) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut extra = vec![
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(s) = scope {
        extra.push(("scope", s));
    }
    let to = consent(app, user, &authorize_url(app, client, &extra), "allow").await;
    assert_eq!(query(&to, "state").as_deref(), Some("xyz-state"));
    assert_eq!(query(&to, "iss").as_deref(), Some(app.base.as_str()));
    (
        query(&to, "code").unwrap_or_else(|| panic!("no code in {to}")),
        verifier,
    )
}

pub async fn exchange(
    app: &impl Target,
    client: &AppCredentials,
    code: &str,
    verifier: &str,
) -> Answer {
    token(
        app,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "https://app.example/callback"),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// A JSON document the server publishes (metadata, say).
pub async fn get_json(app: &TestApp, path: &str) -> Value {
    app.client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The published JWKS.
pub async fn jwks(app: &TestApp) -> jsonwebtoken::jwk::JwkSet {
    app.client
        .get(app.url("/oauth2/v0/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies an access token the way a resource server would: with a key from the published
/// JWKS, through jsonwebtoken, never through Portico's own code.
pub async fn verify_jwt(app: &TestApp, token: &str) -> Value {
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwks = jwks(app).await;
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is published");
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&app.base]);
    // The audience is the resource asked (RFC 8707), or the default one: callers check it.
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims;
    for c in ["client_id", "scope", "jti", "principal_type"] {
        assert!(claims.get(c).is_some(), "{c} missing from {claims}");
    }
    claims
}
