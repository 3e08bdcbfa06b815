//! Client authentication at the token, introspection, revocation and PAR endpoints:
//! `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-encoded, then Basic),
//! `client_secret_post`, or `private_key_jwt` (RFC 7523 §2.2: a JWT signed with one of the
//! app's registered keys, its `jti` used once on every node). An app lists the methods it may
//! use. A secret verified once is remembered by the digest of the presented pair, so a client
//! that authenticated moments ago costs no second argon2 run; the memory goes with the app's
//! cache entry the moment the app changes (a New Secret, say), on every node. An assertion
//! costs one signature verification and one insert of its `jti`.

use crate::Inner;
use crate::directory::{ClientEntry, Directory};
use crate::error::{OAuthError, OAuthResult};
use crate::params::{Params, has_control};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use portico_domain::{AppId, ClientAuthMethod, FailureKey, TokenDigest};
use portico_guard::{Lane, Standing, argon, limits::now_ms};
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    Post,
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The method's name, as registered and advertised.
    pub(crate) fn as_str(self) -> &'static str {
        self.registered_as().as_str()
    }

    fn registered_as(self) -> ClientAuthMethod {
        match self {
            Self::Basic => ClientAuthMethod::ClientSecretBasic,
            Self::Post => ClientAuthMethod::ClientSecretPost,
            Self::PrivateKeyJwt => ClientAuthMethod::PrivateKeyJwt,
        }
    }
}

/// RFC 7523 §2.2's `client_assertion_type`.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest Authorization header read (a Basic header of a 36-character Key and a
/// 43-character Secret is under 150 bytes; later methods' assertions come in the body).
const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// Client credentials as presented.
#[derive(Clone)]
pub struct PresentedClient {
    pub client_id: String,
    /// The secret, or the client assertion (a JWT) for `private_key_jwt`.
    pub secret: String,
    pub method: AuthMethod,
}

impl std::fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedClient")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl PresentedClient {
    /// Reads the credentials from the Authorization header or the body; using both, or neither,
    /// is an error.
    pub fn from_request(authorization: Option<&str>, params: &Params) -> OAuthResult<Self> {
        let body_id = params.get("client_id");
        let body_secret = params.get("client_secret");
        let assertion_type = params.get("client_assertion_type");
        let assertion = params.get("client_assertion");
        if assertion_type.is_some() || assertion.is_some() {
            return Self::assertion(
                authorization,
                body_id,
                body_secret,
                assertion_type,
                assertion,
            );
        }
        match authorization {
            Some(header) => {
                if body_secret.is_some() {
                    return Err(OAuthError::invalid_request(
                        "use one client authentication method, not both Basic and client_secret",
                    ));
                }
                // A Key and a Secret fit in a few hundred bytes; a longer header is refused
                // before it is decoded.
                if header.len() > MAX_AUTHORIZATION_BYTES {
                    return Err(OAuthError::invalid_request(
                        "the Authorization header is too long",
                    ));
                }
                let basic = || OAuthError::bad_client_credentials(true);
                let (scheme, value) = header.split_once(' ').ok_or_else(basic)?;
                if !scheme.eq_ignore_ascii_case("basic") {
                    return Err(basic());
                }
                let decoded = STANDARD.decode(value.trim()).map_err(|_| basic())?;
                let decoded = String::from_utf8(decoded).map_err(|_| basic())?;
                let (id, secret) = decoded.split_once(':').ok_or_else(basic)?;
                let client_id = form_decode(id).ok_or_else(basic)?;
                if body_id.is_some_and(|b| b != client_id) {
                    return Err(OAuthError::invalid_request(
                        "client_id in the body does not match the authenticated client",
                    ));
                }
                let secret = form_decode(secret).ok_or_else(basic)?;
                for (name, value) in [("client_id", &client_id), ("client_secret", &secret)] {
                    if has_control(value) {
                        return Err(OAuthError::invalid_request(format!(
                            "{name} in the Authorization header contains a control character"
                        )));
                    }
                }
                Ok(Self {
                    client_id,
                    secret,
                    method: AuthMethod::Basic,
                })
            }
            None => match (body_id, body_secret) {
                (Some(id), Some(secret)) => Ok(Self {
                    client_id: id.to_owned(),
                    secret: secret.to_owned(),
                    method: AuthMethod::Post,
                }),
                _ => Err(OAuthError::InvalidClient {
                    description: "client authentication is required (client_secret_basic or client_secret_post)".into(),
                    basic: true,
                }),
            },
        }
    }

    /// `private_key_jwt`: the client is the assertion's subject (RFC 7523 §3), read here
    /// unverified only to find its keys; `client_id`, when sent too, must name the same client.
    fn assertion(
        authorization: Option<&str>,
        body_id: Option<&str>,
        body_secret: Option<&str>,
        assertion_type: Option<&str>,
        assertion: Option<&str>,
    ) -> OAuthResult<Self> {
        if authorization.is_some() || body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not a client assertion and a secret",
            ));
        }
        let (Some(kind), Some(assertion)) = (assertion_type, assertion) else {
            return Err(OAuthError::invalid_request(
                "client_assertion and client_assertion_type go together",
            ));
        };
        if kind != JWT_BEARER_ASSERTION {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER_ASSERTION}"
            )));
        }
        let subject = unverified_subject(assertion).ok_or_else(|| OAuthError::InvalidClient {
            description: "the client assertion is not a JWT with a sub claim".into(),
            basic: false,
        })?;
        if body_id.is_some_and(|id| id != subject) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the client assertion's subject",
            ));
        }
        Ok(Self {
            client_id: subject,
            secret: assertion.to_owned(),
            method: AuthMethod::PrivateKeyJwt,
        })
    }

    fn digest(&self) -> TokenDigest {
        TokenDigest::of(&format!("{}\u{0}{}", self.client_id, self.secret))
    }
}

/// The `sub` of a compact JWT, unverified (it only selects the keys to verify with).
fn unverified_subject(jwt: &str) -> Option<String> {
    let mut parts = jwt.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// `application/x-www-form-urlencoded` decoding of one value ('+' is a space).
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let h = bytes.next()?;
                let l = bytes.next()?;
                let hex = |c: u8| (c as char).to_digit(16);
                out.push((hex(h)? * 16 + hex(l)?) as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

/// Where a client authenticates; a client assertion's `aud` may name the endpoint's URL
/// (or the issuer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    Introspection,
    Revocation,
    RevocationFeed,
    PushedAuthorization,
}

impl Endpoint {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Token => "/oauth2/v0/token",
            Self::Introspection => "/oauth2/v0/introspect",
            Self::Revocation => "/oauth2/v0/revoke",
            Self::RevocationFeed => "/oauth2/v0/revocations",
            Self::PushedAuthorization => "/oauth2/v0/par",
        }
    }
}

/// A client the request proved to be, and how.
pub(crate) struct Authenticated {
    pub client: Arc<ClientEntry>,
    pub method: AuthMethod,
}

impl Inner {
    /// Authenticates the request's client, once, by the method it used; an inactive app is
    /// `invalid_client` at every endpoint.
    pub(crate) async fn authenticate_client(
        &self,
        authorization: Option<&str>,
        params: &Params,
        endpoint: Endpoint,
        source: IpAddr,
        now: i64,
    ) -> OAuthResult<Authenticated> {
        let presented = PresentedClient::from_request(authorization, params).inspect_err(|e| {
            crate::telemetry::client_authentication("none", e.code());
        })?;
        let answer = self
            .authenticate_presented(&presented, endpoint, source, now)
            .await;
        crate::telemetry::client_authentication(
            presented.method.as_str(),
            match &answer {
                Ok(_) => "ok",
                Err(e) => e.code(),
            },
        );
        answer
    }

    async fn authenticate_presented(
        &self,
        presented: &PresentedClient,
        endpoint: Endpoint,
        source: IpAddr,
        now: i64,
    ) -> OAuthResult<Authenticated> {
        let client = match presented.method {
            AuthMethod::PrivateKeyJwt => {
                let audiences = [
                    self.settings.issuer.as_str(),
                    &self.settings.endpoint(endpoint.path()),
                ];
                self.directory
                    .authenticate_assertion(presented, &audiences, source, now)
                    .await?
            }
            _ => self.directory.authenticate(presented, source, now).await?,
        };
        if !client.app.spec.active {
            return Err(OAuthError::InvalidClient {
                description: "application is not active".into(),
                basic: presented.method == AuthMethod::Basic,
            });
        }
        Ok(Authenticated {
            client,
            method: presented.method,
        })
    }

    /// [`Self::authenticate_client`] for endpoints that need only the client.
    pub(crate) async fn authenticated_client(
        &self,
        authorization: Option<&str>,
        params: &Params,
        endpoint: Endpoint,
        source: IpAddr,
    ) -> OAuthResult<Arc<ClientEntry>> {
        Ok(self
            .authenticate_client(authorization, params, endpoint, source, crate::now())
            .await?
            .client)
    }
}

impl Directory {
    /// The registered app these credentials belong to, or `invalid_client`. A secret verified
    /// before (on this node, since the app last changed) costs a digest and no database round
    /// trip. Otherwise failures count against the source network and the client (see
    /// `portico_guard::limits`): a source over budget is refused with 429 before argon2; a
    /// client over budget is still verified, in the pool's suspect lane, so its right secret
    /// passes while strangers' wrong ones hold one worker at most.
    pub async fn authenticate(
        &self,
        presented: &PresentedClient,
        source: IpAddr,
        now: i64,
    ) -> OAuthResult<Arc<ClientEntry>> {
        let basic = presented.method == AuthMethod::Basic;
        let entry = match parse_client_id(&presented.client_id) {
            Some(id) => self.client(id).await?,
            None => None,
        };
        if let Some(entry) = &entry {
            entry.check_method(presented.method)?;
        }
        let digest = presented.digest();
        if let Some(entry) = &entry {
            let remembered = entry.remembers(&digest, now);
            crate::telemetry::cache_lookup("verified_secrets", remembered);
            if remembered {
                return Ok(entry.clone());
            }
        }
        let budget = self.client_failures;
        let now_ms = now_ms();
        let source = [FailureKey::client_source(source)];
        let Some(entry) = entry else {
            // A client id is a public identifier: nothing to hide by spending argon2 on an
            // unknown one. It still counts against the source.
            if let Standing::Refused {
                retry_after_seconds,
            } = self.limiter.standing(&source, &[], budget, now_ms).await?
            {
                return Err(OAuthError::TooManyAttempts {
                    retry_after_seconds,
                });
            }
            self.limiter.failed(&source, budget, now_ms).await?;
            return Err(OAuthError::bad_client_credentials(basic));
        };
        let client = [FailureKey::Client(entry.app.id)];
        let standing = self
            .limiter
            .standing(&source, &client, budget, now_ms)
            .await?;
        let lane = standing
            .lane()
            .map_err(|retry_after_seconds| OAuthError::TooManyAttempts {
                retry_after_seconds,
            })?;
        // Concurrent first requests with the same secret wait for one verification; other
        // secrets (a stranger's wrong ones) do not wait behind it.
        let turn = entry.turn_for(&digest);
        let _turn = turn.lock().await;
        if entry.remembers(&digest, now) {
            return Ok(entry);
        }
        let verified = self.verify_secret(&entry, presented, lane, now).await;
        entry.done_with(&digest);
        match verified? {
            Some(until) => {
                entry.remember(digest, until);
                Ok(entry)
            }
            None => {
                self.limiter
                    .failed(&[source[0].clone(), client[0].clone()], budget, now_ms)
                    .await?;
                match standing {
                    Standing::Suspect {
                        retry_after_seconds,
                    } => Err(OAuthError::TooManyAttempts {
                        retry_after_seconds,
                    }),
                    _ => Err(OAuthError::bad_client_credentials(basic)),
                }
            }
        }
    }

    /// `private_key_jwt`: the assertion's signature against the app's registered keys, its
    /// claims (`iss` = `sub` = the client, `aud` the issuer or this endpoint, a short `exp`),
    /// then its `jti`, recorded once for every node until the assertion expires. No argon2, so
    /// nothing to queue: a failure counts against the source and the client, and a source
    /// over budget is answered 429 — but the right assertion always passes.
    pub async fn authenticate_assertion(
        &self,
        presented: &PresentedClient,
        audiences: &[&str],
        source: IpAddr,
        now: i64,
    ) -> OAuthResult<Arc<ClientEntry>> {
        let entry = match parse_client_id(&presented.client_id) {
            Some(id) => self.client(id).await?,
            None => None,
        };
        let refused = |description: String| OAuthError::InvalidClient {
            description,
            basic: false,
        };
        let outcome = match entry {
            None => Err((None, refused("client authentication failed".into()))),
            Some(entry) => {
                entry.check_method(AuthMethod::PrivateKeyJwt)?;
                let verified = match &entry.keys {
                    None => Err(refused("the application registered no keys".into())),
                    Some(keys) => portico_jose::verify_client_assertion(
                        &presented.secret,
                        keys,
                        &presented.client_id,
                        audiences,
                        now,
                        &portico_jose::AssertionRules::default(),
                    )
                    .map_err(|e| refused(format!("client assertion refused: {e}"))),
                };
                match verified {
                    Ok(v) => Ok((entry, v)),
                    Err(e) => Err((Some(entry), e)),
                }
            }
        };
        let (entry, verified) = match outcome {
            Ok(pair) => pair,
            Err((entry, e)) => {
                let now_ms = now_ms();
                let mut keys = vec![FailureKey::client_source(source)];
                if let Some(entry) = &entry {
                    keys.push(FailureKey::Client(entry.app.id));
                }
                let budget = self.client_failures;
                self.limiter.failed(&keys, budget, now_ms).await?;
                if let Standing::Refused {
                    retry_after_seconds,
                } = self
                    .limiter
                    .standing(&keys[..1], &[], budget, now_ms)
                    .await?
                {
                    return Err(OAuthError::TooManyAttempts {
                        retry_after_seconds,
                    });
                }
                return Err(e);
            }
        };
        let replay = TokenDigest::of(&format!(
            "client_assertion\u{0}{}\u{0}{}",
            presented.client_id, verified.jti
        ));
        if !self
            .store()
            .first_use(&replay, verified.replay_until)
            .await?
        {
            return Err(refused("the client assertion was used before (jti)".into()));
        }
        Ok(entry)
    }

    /// Checks the secret against the current hash, then the previous one while its grace
    /// lasts. `Some(until)`: it matched, valid until `until` (None: as long as the entry).
    async fn verify_secret(
        &self,
        entry: &ClientEntry,
        presented: &PresentedClient,
        lane: Lane,
        now: i64,
    ) -> OAuthResult<Option<Option<i64>>> {
        let pool = argon::pool();
        let current = entry.secrets.current_hash.clone();
        if pool.verify(lane, presented.secret.clone(), current).await? {
            return Ok(Some(None));
        }
        if let (Some(previous), Some(until)) = (
            &entry.secrets.previous_hash,
            entry.secrets.previous_valid_until,
        ) && until.timestamp() > now
            && pool
                .verify(lane, presented.secret.clone(), previous.clone())
                .await?
        {
            return Ok(Some(Some(until.timestamp())));
        }
        Ok(None)
    }
}

/// A Key as issued is a lower-case UUID; any other spelling names no client (compared as
/// text everywhere, so an upper-case Key fails alike on every grant).
pub(crate) fn parse_client_id(s: &str) -> Option<AppId> {
    let id: AppId = s.parse().ok()?;
    (id.to_string() == s).then_some(id)
}

impl ClientEntry {
    /// The app registered the method it used (an app may be keys-only).
    fn check_method(&self, method: AuthMethod) -> OAuthResult<()> {
        if self.app.spec.security.allows(method.registered_as()) {
            return Ok(());
        }
        Err(OAuthError::InvalidClient {
            description: format!(
                "the application does not authenticate with {}",
                method.registered_as().as_str()
            ),
            basic: method == AuthMethod::Basic,
        })
    }

    fn remembers(&self, digest: &TokenDigest, now: i64) -> bool {
        self.verified
            .lock()
            .expect("verified lock")
            .iter()
            .any(|(d, until)| d == digest && until.is_none_or(|u| u > now))
    }

    fn remember(&self, digest: TokenDigest, until: Option<i64>) {
        let mut v = self.verified.lock().expect("verified lock");
        // A handful of secrets is all an app has (current, one in grace); keep the list short.
        if v.len() >= 4 {
            v.remove(0);
        }
        v.push((digest, until));
    }

    /// The lock that verifications of this presented secret take turns on.
    fn turn_for(&self, digest: &TokenDigest) -> Arc<tokio::sync::Mutex<()>> {
        self.verifying
            .lock()
            .expect("verifying lock")
            .entry(digest.clone())
            .or_default()
            .clone()
    }

    /// Forgets the turn lock once a verification ended (waiters hold their own handle).
    fn done_with(&self, digest: &TokenDigest) {
        self.verifying
            .lock()
            .expect("verifying lock")
            .remove(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::parse(serde_urlencoded_like(pairs).as_bytes()).unwrap()
    }

    fn serde_urlencoded_like(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "a b%" form-encodes to a+b%25.
        let header = format!("Basic {}", STANDARD.encode("my+id:a+b%25"));
        let c = PresentedClient::from_request(Some(&header), &params(&[])).unwrap();
        assert_eq!((c.client_id.as_str(), c.secret.as_str()), ("my id", "a b%"));
        assert_eq!(c.method, AuthMethod::Basic);
    }

    #[test]
    fn one_method_only() {
        let header = format!("Basic {}", STANDARD.encode("id:secret"));
        let both = PresentedClient::from_request(Some(&header), &params(&[("client_secret", "s")]));
        assert_eq!(both.unwrap_err().code(), "invalid_request");
        let none = PresentedClient::from_request(None, &params(&[("client_id", "id")]));
        assert_eq!(none.unwrap_err().code(), "invalid_client");
        let post = PresentedClient::from_request(
            None,
            &params(&[("client_id", "id"), ("client_secret", "s")]),
        )
        .unwrap();
        assert_eq!(post.method, AuthMethod::Post);
        let huge = format!("Basic {}", "A".repeat(MAX_AUTHORIZATION_BYTES));
        let huge = PresentedClient::from_request(Some(&huge), &params(&[]));
        assert_eq!(huge.unwrap_err().code(), "invalid_request");
        let bearer = PresentedClient::from_request(Some("Bearer x"), &params(&[]));
        assert!(matches!(
            bearer,
            Err(OAuthError::InvalidClient { basic: true, .. })
        ));
    }
}

#[cfg(test)]
mod private_key_jwt {
    use crate::grants::testing::{Kit, TOKEN_URL, TestKey, assertion_fields};

    fn cc(assertion: String) -> Vec<(&'static str, String)> {
        let mut f = vec![("grant_type", "client_credentials".to_owned())];
        f.extend(assertion_fields(assertion));
        f
    }

    #[tokio::test]
    async fn a_keys_only_app_authenticates_with_its_key_once_per_assertion() {
        let kit = Kit::new().await;
        let key = TestKey::new("k1");
        let app = kit.keyed_app(&["client_credentials"], &key, false).await;
        assert!(app.secret.is_empty(), "a keys-only app has no secret");
        // The audience may be the token endpoint or the issuer.
        for aud in [TOKEN_URL, "https://portico.test"] {
            let a = key.assertion(&app.client_id, aud, &format!("jti-{aud}"));
            let issued = kit.token_unauthenticated(None, &cc(a)).await.unwrap();
            assert_eq!(issued.token_type, "Bearer");
        }
        // The same assertion again: a replay, refused on every node (the jti is stored).
        let a = key.assertion(&app.client_id, TOKEN_URL, "once");
        kit.token_unauthenticated(None, &cc(a.clone()))
            .await
            .unwrap();
        let replay = kit.token_unauthenticated(None, &cc(a)).await.unwrap_err();
        assert_eq!(replay.code(), "invalid_client");
        assert!(replay.to_string().contains("used before"), "{replay}");
    }

    #[tokio::test]
    async fn assertions_that_are_not_the_apps_are_refused() {
        let kit = Kit::new().await;
        let key = TestKey::new("k1");
        let app = kit.keyed_app(&["client_credentials"], &key, false).await;
        let other = TestKey::new("k1");
        let now = chrono::Utc::now().timestamp();
        let claims = |aud: &str, exp: i64| {
            serde_json::json!({"iss": app.client_id, "sub": app.client_id, "aud": aud,
                "jti": uuid::Uuid::new_v4().to_string(), "exp": exp})
        };
        let eddsa = || {
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
            h.kid = Some("k1".into());
            h
        };
        let refused = [
            // Another key under the same kid.
            other.sign(eddsa(), &claims(TOKEN_URL, now + 60)),
            // Another audience.
            key.sign(
                eddsa(),
                &claims("https://elsewhere.example/token", now + 60),
            ),
            // Expired, and too long-lived.
            key.sign(eddsa(), &claims(TOKEN_URL, now - 60)),
            key.sign(eddsa(), &claims(TOKEN_URL, now + 3600)),
            // HMAC with the public key as the secret.
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims(TOKEN_URL, now + 60),
                &jsonwebtoken::EncodingKey::from_secret(
                    key.public_jwk()["x"].as_str().unwrap().as_bytes(),
                ),
            )
            .unwrap(),
        ];
        for a in refused {
            let e = kit.token_unauthenticated(None, &cc(a)).await.unwrap_err();
            assert_eq!(e.code(), "invalid_client", "{e}");
        }
        // alg none: not even a signature.
        let none = format!(
            "{}.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                r#"{"alg":"none"}"#
            ),
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                claims(TOKEN_URL, now + 60).to_string()
            ),
        );
        let e = kit
            .token_unauthenticated(None, &cc(none))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_client");
        // The right assertion still passes after all those failures.
        let a = key.assertion(&app.client_id, TOKEN_URL, "right");
        kit.token_unauthenticated(None, &cc(a)).await.unwrap();
    }

    #[tokio::test]
    async fn each_app_uses_only_the_methods_it_registered() {
        let kit = Kit::new().await;
        let key = TestKey::new("k1");
        let keyed = kit.keyed_app(&["client_credentials"], &key, false).await;
        // A secret for a keys-only app: refused whatever it is.
        let keyed_with_secret = crate::grants::testing::TestClient {
            client_id: keyed.client_id.clone(),
            secret: "guess".into(),
        };
        let e = kit
            .token(
                &keyed_with_secret,
                &[("grant_type", "client_credentials".into())],
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_client");
        // An assertion for an app of secrets only.
        let secret_app = kit.app(&["client_credentials"]).await;
        let a = key.assertion(&secret_app.client_id, TOKEN_URL, "x");
        let e = kit.token_unauthenticated(None, &cc(a)).await.unwrap_err();
        assert_eq!(e.code(), "invalid_client");
        assert!(e.to_string().contains("private_key_jwt"), "{e}");
        // An assertion and a secret together, or a client_id naming another client.
        let a = key.assertion(&keyed.client_id, TOKEN_URL, "y");
        let mut both = cc(a.clone());
        both.push(("client_secret", "s".into()));
        let e = kit.token_unauthenticated(None, &both).await.unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        let mut other_id = cc(a);
        other_id.push(("client_id", secret_app.client_id.clone()));
        let e = kit
            .token_unauthenticated(None, &other_id)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        // A wrong assertion type.
        let mut f = cc(key.assertion(&keyed.client_id, TOKEN_URL, "z"));
        f[1].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into();
        let e = kit.token_unauthenticated(None, &f).await.unwrap_err();
        assert_eq!(e.code(), "invalid_request");
    }
}
