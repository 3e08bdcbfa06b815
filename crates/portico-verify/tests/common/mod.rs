//! A small real issuer for the tests (and the benchmark): it serves the RFC 8414 metadata, a
//! JWKS the test controls, and an RFC 7662 introspection endpoint, on 127.0.0.1:0, and counts
//! the requests it gets. Keys are generated per test with aws-lc-rs.
//!
//! It also serves Portico's revocation feed on a second listener, in plain HTTP/1.1 written by
//! hand (chunked Server-Sent Events), so a test can push raw SSE text, drop the stream, and
//! see each request's `Last-Event-ID` and `Authorization`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

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
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use portico_verify::{Verifier, VerifierBuilder};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

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
    feed_url: String,
    feed_advertised: AtomicBool,
}

/// The running fixture issuer; stops when dropped.
pub struct Issuer {
    pub url: String,
    state: Arc<IssuerState>,
    task: tokio::task::JoinHandle<()>,
    feed: Arc<FeedState>,
    feed_task: tokio::task::JoinHandle<()>,
}

impl Issuer {
    pub async fn start(keys: &[&TestKey]) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fixture issuer");
        let addr: SocketAddr = listener.local_addr().expect("local address");
        let url = format!("http://{addr}");
        let feed_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fixture feed");
        let feed_addr = feed_listener.local_addr().expect("feed address");
        let feed = Arc::new(FeedState::default());
        let feed_task = tokio::spawn(serve_feed(feed_listener, Arc::clone(&feed)));
        let state = Arc::new(IssuerState {
            url: url.clone(),
            advertised_issuer: RwLock::new(url.clone()),
            jwks: RwLock::new(jwks(keys)),
            jwks_fetches: AtomicUsize::new(0),
            jwks_fails: AtomicBool::new(false),
            introspection: Mutex::new(HashMap::new()),
            introspections: AtomicUsize::new(0),
            feed_url: format!("http://{feed_addr}/oauth2/v0/revocations"),
            feed_advertised: AtomicBool::new(true),
        });
        let router = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/oauth2/v0/jwks", get(serve_jwks))
            .route("/oauth2/v0/introspect", post(introspect))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("fixture issuer");
        });
        Issuer {
            url,
            state,
            task,
            feed,
            feed_task,
        }
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

    /// The answer Portico gives for a live DPoP-bound token (the claims carry `cnf`).
    pub fn active_dpop(claims: &Value) -> Value {
        let mut answer = Issuer::active(claims);
        answer["token_type"] = json!("DPoP");
        answer
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
        self.feed_task.abort();
        self.feed.close_all();
    }
}

/// One request the feed endpoint received.
#[derive(Debug, Clone)]
pub struct FeedRequest {
    pub path: String,
    pub last_event_id: Option<String>,
    pub authorization: Option<String>,
}

enum FeedCmd {
    Send(String),
    Close,
}

struct FeedState {
    requests: Mutex<Vec<FeedRequest>>,
    /// Sent as the first chunk on every accepted connection (e.g. a snapshot).
    on_connect: Mutex<String>,
    /// 200, or the status every request gets instead (401, 403, 500).
    status: AtomicU16,
    heartbeat: Mutex<Option<Duration>>,
    /// Commands for each open connection, newest last.
    connections: Mutex<Vec<mpsc::UnboundedSender<FeedCmd>>>,
    accepted: AtomicUsize,
    open: AtomicUsize,
}

impl Default for FeedState {
    fn default() -> Self {
        FeedState {
            requests: Mutex::new(Vec::new()),
            on_connect: Mutex::new(String::new()),
            status: AtomicU16::new(200),
            heartbeat: Mutex::new(Some(Duration::from_millis(50))),
            connections: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
        }
    }
}

impl FeedState {
    fn close_all(&self) {
        for tx in self.connections.lock().unwrap().drain(..) {
            let _ = tx.send(FeedCmd::Close);
        }
    }
}

/// Raw SSE: an event with an id, a type and one-line JSON data.
pub fn sse_event(id: u64, event: &str, data: &Value) -> String {
    format!("id: {id}\nevent: {event}\ndata: {data}\n\n")
}

impl Issuer {
    /// Raw SSE text sent at the start of every feed connection from now on.
    pub fn feed_on_connect(&self, text: &str) {
        *self.feed.on_connect.lock().unwrap() = text.to_owned();
    }

    /// Sends raw SSE text on the newest feed connection (as one HTTP chunk).
    pub fn feed_send(&self, text: &str) {
        let connections = self.feed.connections.lock().unwrap();
        let tx = connections.last().expect("no feed connection");
        tx.send(FeedCmd::Send(text.to_owned()))
            .expect("feed connection gone");
    }

    /// Ends every open feed stream (the server drops the client).
    pub fn feed_close(&self) {
        self.feed.close_all();
    }

    /// `Some(interval)`: a `: ping` comment after each quiet interval (default 50 ms).
    pub fn feed_heartbeat(&self, interval: Option<Duration>) {
        *self.feed.heartbeat.lock().unwrap() = interval;
    }

    /// Answers every feed request with this status instead (200 = normal).
    pub fn feed_answer(&self, status: u16) {
        self.feed.status.store(status, Ordering::SeqCst);
    }

    /// Leaves `portico_revocation_feed_endpoint` out of the metadata.
    pub fn advertise_feed(&self, advertise: bool) {
        self.state
            .feed_advertised
            .store(advertise, Ordering::SeqCst);
    }

    pub fn feed_requests(&self) -> Vec<FeedRequest> {
        self.feed.requests.lock().unwrap().clone()
    }

    /// Streams accepted so far (requests answered 200).
    pub fn feed_streams(&self) -> usize {
        self.feed.accepted.load(Ordering::SeqCst)
    }

    /// Streams still open.
    pub fn feed_open_streams(&self) -> usize {
        self.feed.open.load(Ordering::SeqCst)
    }
}

/// Polls `cond` every 10 ms until it holds; panics after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if cond().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn serve_feed(listener: tokio::net::TcpListener, state: Arc<FeedState>) {
    while let Ok((socket, _)) = listener.accept().await {
        tokio::spawn(feed_connection(socket, Arc::clone(&state)));
    }
}

/// Reads the request head (the client sends no body on GET).
async fn read_head(socket: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

async fn feed_connection(mut socket: TcpStream, state: Arc<FeedState>) {
    let Some(head) = read_head(&mut socket).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let mut request = FeedRequest {
        path,
        last_event_id: None,
        authorization: None,
    };
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = Some(value.trim().to_owned());
            if name.eq_ignore_ascii_case("last-event-id") {
                request.last_event_id = value;
            } else if name.eq_ignore_ascii_case("authorization") {
                request.authorization = value;
            }
        }
    }
    let expected = format!("Basic {}", STANDARD.encode(INTROSPECT_ENCODED_CREDENTIALS));
    let authorized = request.authorization.as_deref() == Some(expected.as_str());
    let right_path = request.path == "/oauth2/v0/revocations";
    state.requests.lock().unwrap().push(request);
    let status = match state.status.load(Ordering::SeqCst) {
        200 if !right_path => 404,
        200 if !authorized => 401,
        status => status,
    };
    if status != 200 {
        let answer = format!(
            "HTTP/1.1 {status} Refused\r\ncontent-type: application/json\r\n\
             content-length: 26\r\nconnection: close\r\n\r\n{{\"error\":\"invalid_client\"}}"
        );
        let _ = socket.write_all(answer.as_bytes()).await;
        let _ = socket.shutdown().await;
        return;
    }
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                transfer-encoding: chunked\r\n\r\n";
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let first = state.on_connect.lock().unwrap().clone();
    if !first.is_empty() {
        let _ = tx.send(FeedCmd::Send(first));
    }
    state.connections.lock().unwrap().push(tx);
    state.accepted.fetch_add(1, Ordering::SeqCst);
    state.open.fetch_add(1, Ordering::SeqCst);
    let mut last_write = Instant::now();
    loop {
        let cmd = tokio::select! {
            cmd = rx.recv() => cmd.unwrap_or(FeedCmd::Close),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                let heartbeat = *state.heartbeat.lock().unwrap();
                match heartbeat {
                    Some(every) if last_write.elapsed() >= every => FeedCmd::Send(": ping\n\n".into()),
                    _ => continue,
                }
            }
        };
        let ok = match cmd {
            FeedCmd::Send(text) => {
                let chunk = format!("{:x}\r\n{text}\r\n", text.len());
                socket.write_all(chunk.as_bytes()).await.is_ok()
            }
            FeedCmd::Close => {
                let _ = socket.write_all(b"0\r\n\r\n").await;
                let _ = socket.shutdown().await;
                false
            }
        };
        if !ok {
            break;
        }
        last_write = Instant::now();
    }
    state.open.fetch_sub(1, Ordering::SeqCst);
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
        "portico_revocation_feed_endpoint": state
            .feed_advertised
            .load(Ordering::SeqCst)
            .then(|| state.feed_url.clone()),
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

/// A client's DPoP key: generated with aws-lc-rs, proofs signed by jsonwebtoken, the
/// thumbprint computed by jsonwebtoken (independently of portico-jose).
pub struct DpopKey {
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// The public JWK that goes into the proof header.
    pub jwk: Value,
    /// RFC 7638 SHA-256 thumbprint: the `cnf.jkt` of tokens bound to this key.
    pub jkt: String,
}

static PROOF_JTI: AtomicU64 = AtomicU64::new(1);

impl DpopKey {
    pub fn generate(alg: Algorithm) -> DpopKey {
        let (encoding, jwk) = match alg {
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("P-256 key");
                let pkcs8 = pair.to_pkcs8v1().expect("PKCS#8");
                let point = pair.public_key().as_ref();
                let jwk = json!({
                    "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]),
                });
                (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().expect("Ed25519 key");
                let pkcs8 = pair.to_pkcs8v1().expect("PKCS#8");
                let jwk = json!({
                    "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()),
                });
                (EncodingKey::from_ed_der(pkcs8.as_ref()), jwk)
            }
            other => panic!("the fixture makes no DPoP key for {other:?}"),
        };
        let jkt = serde_json::from_value::<Jwk>(jwk.clone())
            .expect("JWK")
            .thumbprint(ThumbprintHash::SHA256)
            .expect("thumbprint");
        DpopKey {
            alg,
            encoding,
            jwk,
            jkt,
        }
    }

    pub fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk })
    }

    /// The claims of a fresh proof for `method` `htu`, with `ath` for `token`.
    pub fn claims(method: &str, htu: &str, token: Option<&str>) -> Value {
        let mut claims = json!({
            "jti": format!("proof-{}", PROOF_JTI.fetch_add(1, Ordering::Relaxed)),
            "htm": method,
            "htu": htu,
            "iat": now(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(ath(token));
        }
        claims
    }

    /// A valid proof for a request to a resource with `token`.
    pub fn proof(&self, method: &str, htu: &str, token: &str) -> String {
        self.sign(&self.header(), &DpopKey::claims(method, htu, Some(token)))
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg)
            .expect("DPoP proof signature");
        format!("{input}.{signature}")
    }
}

/// `ath`: base64url(SHA-256(access token)).
pub fn ath(token: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref())
}
