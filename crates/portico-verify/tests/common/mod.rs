//! A small real issuer for the tests (and the benchmark): it serves the RFC 8414 metadata, a
//! JWKS the test controls, and an RFC 7662 introspection endpoint, on 127.0.0.1:0, and counts
//! the requests it gets. Keys are generated per test with aws-lc-rs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents,
};
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use portico_verify::{Verifier, VerifierBuilder};
use serde_json::{Value, json};

pub const AUDIENCE: &str = "urn:portico:api";
pub const USER_ID: &str = "7d1c4a52-3f0e-4b7a-9a55-0c4be7b1d001";
pub const COMPANY_ID: &str = "a3f2e1d0-5b6c-4d7e-8f90-1a2b3c4d5e6f";
pub const CLIENT_ID: &str = "partner-app-7";
/// Credentials of the resource server at the introspection endpoint. They contain characters
/// that must be form-urlencoded before HTTP Basic (RFC 6749 §2.3.1).
pub const INTROSPECT_CLIENT_ID: &str = "rs:expense api";
pub const INTROSPECT_CLIENT_SECRET: &str = "s3cr3t/+:é";
/// What a correct client sends: base64 of the form-urlencoded `id:secret`.
const INTROSPECT_ENCODED_CREDENTIALS: &str = "rs%3Aexpense+api:s3cr3t%2F%2B%3A%C3%A9";

/// The sensitive data groups of the Travel Profile API.
pub const SENSITIVE_DATA_GROUPS: [&str; 7] = [
    "travel.profile.passport",
    "travel.profile.medical",
    "travel.profile.emergency",
    "travel.profile.company",
    "travel.profile.tsa",
    "travel.profile.unusedtickets",
    "travel.profile.tmc",
];

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

enum Pair {
    Ed(Ed25519KeyPair),
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A signing key with its public JWK; `kid` is the RFC 7638 thumbprint, as Portico does.
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pair: Pair,
    jwk: Jwk,
}

impl TestKey {
    pub fn generate(alg: Algorithm) -> TestKey {
        let (pair, public) = match alg {
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().expect("Ed25519 key");
                let public = DecodingKey::from_ed_der(pair.public_key().as_ref());
                (Pair::Ed(pair), public)
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("P-256 key");
                let public = DecodingKey::from_ec_der(pair.public_key().as_ref());
                (Pair::Ec(pair), public)
            }
            Algorithm::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
                let parts = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let public = DecodingKey::from_rsa_raw_components(&parts.n, &parts.e);
                (Pair::Rsa(pair), public)
            }
            other => panic!("the fixture does not sign with {other:?}"),
        };
        let mut jwk = Jwk::from_decoding_key(&public, Some(alg)).expect("public JWK");
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).expect("thumbprint");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        TestKey {
            kid,
            alg,
            pair,
            jwk,
        }
    }

    /// The same key published (and used in headers) under another kid.
    pub fn with_kid(mut self, kid: &str) -> TestKey {
        self.kid = kid.to_owned();
        self.jwk.common.key_id = Some(kid.to_owned());
        self
    }

    pub fn jwk(&self) -> Value {
        serde_json::to_value(&self.jwk).expect("JWK JSON")
    }

    /// The raw public key (Ed25519: 32 bytes, P-256: the uncompressed point, RSA: DER).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.pair {
            Pair::Ed(p) => p.public_key().as_ref().to_vec(),
            Pair::Ec(p) => p.public_key().as_ref().to_vec(),
            Pair::Rsa(p) => p.public_key().as_ref().to_vec(),
        }
    }

    /// The standard RFC 9068 header for this key.
    pub fn header(&self) -> Value {
        json!({ "alg": self.alg, "typ": "at+jwt", "kid": self.kid })
    }

    pub fn token(&self, claims: &Value) -> String {
        self.sign(&self.header(), claims)
    }

    /// Signs any header and payload, so tests can craft bad headers with a good signature.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Ed(p) => p.sign(input.as_bytes()).as_ref().to_vec(),
            Pair::Ec(p) => p
                .sign(&rng, input.as_bytes())
                .expect("ECDSA signature")
                .as_ref()
                .to_vec(),
            Pair::Rsa(p) => {
                let mut out = vec![0; p.public_modulus_len()];
                p.sign(&sig::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut out)
                    .expect("RSA signature");
                out
            }
        };
        format!("{input}.{}", b64(&signature))
    }
}

pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// An HS256 token whose HMAC key is `secret` (used to play the key-confusion attack).
pub fn hs256_token(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

static JTI: AtomicU64 = AtomicU64::new(1);

/// Valid user-token claims per docs/tokens.md; the sensitive data groups are those in `scope`.
pub fn user_claims(issuer: &str, scope: &str) -> Value {
    let now = now();
    let groups: Vec<&str> = scope
        .split(' ')
        .filter(|s| SENSITIVE_DATA_GROUPS.contains(s))
        .collect();
    json!({
        "iss": issuer,
        "sub": USER_ID,
        "aud": AUDIENCE,
        "client_id": CLIENT_ID,
        "scope": scope,
        "jti": format!("jti-{}", JTI.fetch_add(1, Ordering::Relaxed)),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "principal_type": "user",
        "company_id": COMPANY_ID,
        "sensitive_data_groups": groups,
        "sid": "grant-42",
    })
}

struct IssuerState {
    url: String,
    advertised_issuer: RwLock<String>,
    jwks: RwLock<Value>,
    jwks_fetches: AtomicUsize,
    jwks_fails: AtomicBool,
    /// token → introspection answer; unknown tokens are inactive.
    introspection: Mutex<HashMap<String, Value>>,
    introspections: AtomicUsize,
}

/// The running fixture issuer; stops when dropped.
pub struct Issuer {
    pub url: String,
    state: Arc<IssuerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Issuer {
    pub async fn start(keys: &[&TestKey]) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fixture issuer");
        let addr: SocketAddr = listener.local_addr().expect("local address");
        let url = format!("http://{addr}");
        let state = Arc::new(IssuerState {
            url: url.clone(),
            advertised_issuer: RwLock::new(url.clone()),
            jwks: RwLock::new(jwks(keys)),
            jwks_fetches: AtomicUsize::new(0),
            jwks_fails: AtomicBool::new(false),
            introspection: Mutex::new(HashMap::new()),
            introspections: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/oauth2/v0/jwks", get(serve_jwks))
            .route("/oauth2/v0/introspect", post(introspect))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("fixture issuer");
        });
        Issuer { url, state, task }
    }

    /// A verifier builder for this issuer.
    pub fn verifier(&self) -> VerifierBuilder {
        Verifier::builder(self.url.clone())
    }

    pub fn user_claims(&self, scope: &str) -> Value {
        user_claims(&self.url, scope)
    }

    pub fn set_keys(&self, keys: &[&TestKey]) {
        self.set_jwks(jwks(keys));
    }

    pub fn set_jwks(&self, value: Value) {
        *self.state.jwks.write().unwrap() = value;
    }

    /// Makes the metadata document name another issuer.
    pub fn advertise_issuer(&self, issuer: &str) {
        *self.state.advertised_issuer.write().unwrap() = issuer.to_owned();
    }

    /// Makes the JWKS endpoint answer 500.
    pub fn fail_jwks(&self, fail: bool) {
        self.state.jwks_fails.store(fail, Ordering::SeqCst);
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn introspections(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }

    /// Sets the introspection answer for `token`.
    pub fn set_introspection(&self, token: &str, answer: Value) {
        self.state
            .introspection
            .lock()
            .unwrap()
            .insert(token.to_owned(), answer);
    }

    /// The answer Portico gives for a live token with these claims.
    pub fn active(claims: &Value) -> Value {
        let mut answer = claims.clone();
        answer["active"] = json!(true);
        answer["token_type"] = json!("Bearer");
        if let Some(map) = answer.as_object_mut() {
            map.remove("nbf");
            map.remove("sid");
        }
        answer
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

async fn metadata(State(state): State<Arc<IssuerState>>) -> Json<Value> {
    let url = &state.url;
    Json(json!({
        "issuer": *state.advertised_issuer.read().unwrap(),
        "authorization_endpoint": format!("{url}/oauth2/v0/authorize"),
        "token_endpoint": format!("{url}/oauth2/v0/token"),
        "jwks_uri": format!("{url}/oauth2/v0/jwks"),
        "introspection_endpoint": format!("{url}/oauth2/v0/introspect"),
        "revocation_endpoint": format!("{url}/oauth2/v0/revoke"),
        "scopes_supported": ["expense.report.read", "quickexpense.writeonly", "travel.profile.read"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn serve_jwks(State(state): State<Arc<IssuerState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if state.jwks_fails.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Json(state.jwks.read().unwrap().clone()).into_response()
}

async fn introspect(
    State(state): State<Arc<IssuerState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.introspections.fetch_add(1, Ordering::SeqCst);
    let expected = format!("Basic {}", STANDARD.encode(INTROSPECT_ENCODED_CREDENTIALS));
    if headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let answer = state
        .introspection
        .lock()
        .unwrap()
        .get(&token)
        .cloned()
        .unwrap_or_else(|| json!({ "active": false }));
    Json(answer).into_response()
}
