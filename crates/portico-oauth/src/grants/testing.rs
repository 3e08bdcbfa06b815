//! What the grants' unit tests share: a token service over an in-memory SQLite store, with the
//! sandbox's company and admin, apps registered through the registry as a developer would, and
//! requests made the way the token endpoint makes them.

use crate::DpopHeader;
use crate::issue::IssuedTokens;
use crate::keys::MasterKey;
use crate::{OAuthError, OAuthService, OAuthSettings, SigningAlgorithm};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use portico_domain::{
    Actor, ApiCatalog, ApiSelection, AppChanges, AppId, AppRegistration, ClientAuthMethod,
    CompanyId, FailureBudget, GrantType, IfVersion,
};
use portico_registry::{Registry, RegistrySettings};
use portico_store::Store;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

pub(crate) const CALLBACK: &str = "https://app.example/callback";
pub(crate) const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A registered app's Key and Secret.
pub(crate) struct TestClient {
    pub client_id: String,
    pub secret: String,
}

impl TestClient {
    pub(crate) fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.client_id, self.secret))
        )
    }

    fn id(&self) -> AppId {
        self.client_id.parse().expect("a registered Key")
    }
}

/// An Ed25519 key of a partner's: it signs client assertions and DPoP proofs.
pub(crate) struct TestKey {
    pkcs8: Vec<u8>,
    x: String,
    pub kid: String,
}

impl TestKey {
    pub fn new(kid: &str) -> Self {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let doc =
            Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("a key");
        let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).expect("the key parses");
        Self {
            pkcs8: doc.as_ref().to_vec(),
            x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            kid: kid.to_owned(),
        }
    }

    pub fn public_jwk(&self) -> Value {
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid})
    }

    /// The RFC 7638 thumbprint (`cnf.jkt` of tokens bound to this key).
    pub fn thumbprint(&self) -> String {
        portico_jose::PublicJwk::from_value(&self.public_jwk())
            .expect("a valid JWK")
            .thumbprint()
            .to_owned()
    }

    pub fn sign(&self, header: jsonwebtoken::Header, claims: &Value) -> String {
        let key = jsonwebtoken::EncodingKey::from_ed_der(&self.pkcs8);
        jsonwebtoken::encode(&header, claims, &key).expect("signs")
    }

    /// A client assertion for `client_id` to `aud`, with its own jti.
    pub fn assertion(&self, client_id: &str, aud: &str, jti: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        self.sign(
            header,
            &serde_json::json!({"iss": client_id, "sub": client_id, "aud": aud,
                "jti": jti, "iat": now, "exp": now + 60}),
        )
    }

    /// A DPoP proof for `method` `url` (and `nonce`, if given).
    pub fn proof(&self, method: &str, url: &str, nonce: Option<&str>) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(
            serde_json::from_value(
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": self.x}),
            )
            .expect("a jwk"),
        );
        let mut claims = serde_json::json!({"htm": method, "htu": url,
            "iat": chrono::Utc::now().timestamp(), "jti": uuid::Uuid::new_v4().to_string()});
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        self.sign(header, &claims)
    }
}

/// The form fields of a `private_key_jwt` authentication.
pub(crate) fn assertion_fields(assertion: String) -> [(&'static str, String); 2] {
    [
        (
            "client_assertion_type",
            crate::client::JWT_BEARER_ASSERTION.to_owned(),
        ),
        ("client_assertion", assertion),
    ]
}

pub(crate) const TOKEN_URL: &str = "https://portico.test/oauth2/v0/token";

pub(crate) struct Kit {
    pub svc: OAuthService,
    registry: Registry,
    /// The sandbox developer company's Web Services Administrator.
    admin: Actor,
    pub company: CompanyId,
    pub user_login: String,
    pub password: String,
    counter: std::sync::atomic::AtomicU32,
}

fn form(pairs: &[(&str, String)]) -> Vec<u8> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

impl Kit {
    pub async fn new() -> Self {
        Self::with_grace(5).await
    }

    /// A kit whose refresh grace window is `grace` seconds (0: off).
    pub async fn with_grace(grace: i64) -> Self {
        Self::with_settings(grace, Default::default()).await
    }

    /// A kit with these DPoP settings (server nonces, proof age).
    pub async fn with_dpop(dpop: crate::settings::DpopSettings) -> Self {
        Self::with_settings(5, dpop).await
    }

    async fn with_settings(grace: i64, dpop: crate::settings::DpopSettings) -> Self {
        // One connection: an in-memory SQLite database lives in its connection.
        let store = Store::connect("sqlite::memory:", 1).await.expect("sqlite");
        store.migrate().await.expect("migrations");
        let store = Arc::new(store);
        let catalog = Arc::new(
            ApiCatalog::parse("apis.toml", include_str!("../../../../config/apis.toml"))
                .expect("the catalog"),
        );
        let registry = Registry::new(store.clone(), catalog.clone(), RegistrySettings::default());
        let sandbox = registry
            .ensure_sandbox()
            .await
            .expect("sandbox")
            .expect("a new sandbox");
        let dev = sandbox.developer;
        let password = dev
            .generated_password
            .expect("a generated password")
            .expose()
            .to_owned();
        let admin = registry
            .verify_credentials(&dev.admin.login_id, &password, SOURCE)
            .await
            .expect("the sandbox admin signs in");
        let settings = OAuthSettings {
            issuer: "https://portico.test".into(),
            audience: "urn:portico:api".into(),
            signing_algorithm: SigningAlgorithm::EdDSA,
            access_token_ttl: 3600,
            refresh_token_ttl: 86_400,
            refresh_grace: grace,
            refresh_reuse_detection: 30 * 86_400,
            authorization_code_ttl: 60,
            revocation_cache_entries: 1000,
            client_failures: FailureBudget::new(20, 10),
            dpop,
            par: Default::default(),
        };
        let master = MasterKey::from_base64(&STANDARD.encode([7u8; 32])).expect("a master key");
        let svc = OAuthService::start(settings, store, catalog, registry.password_check(), master)
            .await
            .expect("the token service starts");
        Self {
            svc,
            registry,
            company: dev.company.id,
            user_login: dev.admin.login_id.clone(),
            admin,
            password,
            counter: Default::default(),
        }
    }

    /// Registers an app (Expense Report, Travel Profile with Passport) with these grants.
    pub async fn app(&self, grants: &[&str]) -> TestClient {
        self.app_with(grants, None).await
    }

    /// [`Self::app`], with its choice of ID token algorithm.
    pub async fn app_with(
        &self,
        grants: &[&str],
        id_token_alg: Option<portico_domain::IdTokenAlgorithm>,
    ) -> TestClient {
        self.register(grants, |r| r.id_token_signed_response_alg = id_token_alg)
            .await
    }

    /// An app of `private_key_jwt` only, with `key`'s public JWK registered (and DPoP-bound
    /// tokens if `dpop_bound`): it has no secret.
    pub async fn keyed_app(&self, grants: &[&str], key: &TestKey, dpop_bound: bool) -> TestClient {
        self.register(grants, |r| {
            r.token_endpoint_auth_methods = Some(vec![ClientAuthMethod::PrivateKeyJwt]);
            r.jwks = Some(serde_json::json!({ "keys": [key.public_jwk()] }));
            r.dpop_bound_access_tokens = Some(dpop_bound);
        })
        .await
    }

    async fn register(
        &self,
        grants: &[&str],
        tweak: impl FnOnce(&mut AppRegistration),
    ) -> TestClient {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut registration = AppRegistration {
            name: format!("App {n}"),
            description: String::new(),
            active: true,
            apis: vec![
                ApiSelection {
                    api: "expense.report.read".into(),
                    sensitive_data_groups: vec![],
                },
                ApiSelection {
                    api: "travel.profile.read".into(),
                    sensitive_data_groups: vec!["travel.profile.passport".into()],
                },
            ],
            redirect_uris: vec![CALLBACK.into()],
            grant_types: Some(
                grants
                    .iter()
                    .map(|g| GrantType::parse(g).expect("a grant type"))
                    .collect(),
            ),
            id_token_signed_response_alg: None,
            token_endpoint_auth_methods: None,
            jwks: None,
            dpop_bound_access_tokens: None,
            require_pushed_authorization_requests: None,
        };
        tweak(&mut registration);
        let reg = self
            .registry
            .register_app(&self.admin, registration)
            .await
            .expect("registered");
        TestClient {
            client_id: reg.client_id,
            // A keys-only app has none.
            secret: reg
                .client_secret
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
        }
    }

    /// A token request authenticated by `form` alone (a client assertion), with an optional
    /// DPoP proof.
    pub async fn token_unauthenticated(
        &self,
        proof: Option<&str>,
        pairs: &[(&str, String)],
    ) -> Result<IssuedTokens, OAuthError> {
        let dpop = proof.map_or(DpopHeader::Absent, DpopHeader::One);
        self.svc.token(None, dpop, &form(pairs), SOURCE).await
    }

    pub async fn token(
        &self,
        client: &TestClient,
        pairs: &[(&str, String)],
    ) -> Result<IssuedTokens, OAuthError> {
        self.svc
            .token(
                Some(&client.basic()),
                DpopHeader::Absent,
                &form(pairs),
                SOURCE,
            )
            .await
    }

    /// A token request with a DPoP proof.
    pub async fn token_with_proof(
        &self,
        client: &TestClient,
        proof: &str,
        pairs: &[(&str, String)],
    ) -> Result<IssuedTokens, OAuthError> {
        self.svc
            .token(
                Some(&client.basic()),
                DpopHeader::One(proof),
                &form(pairs),
                SOURCE,
            )
            .await
    }

    pub async fn is_active(&self, client: &TestClient, token: &str) -> bool {
        let answer = self
            .svc
            .introspect(
                Some(&client.basic()),
                &form(&[("token", token.to_owned())]),
                SOURCE,
            )
            .await
            .expect("introspection answers");
        answer.is_active()
    }

    pub async fn revoke(&self, client: &TestClient, token: &str) {
        self.svc
            .revoke(
                Some(&client.basic()),
                &form(&[("token", token.to_owned())]),
                SOURCE,
            )
            .await
            .expect("revocation answers");
    }

    /// The claims of an ID token, checked as a relying party would (OIDC Core §3.1.3.7): a
    /// signature by a key of the JWKS, `typ: JWT`, the issuer, a live `exp`.
    pub fn id_claims(&self, jwt: &str) -> Value {
        use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
        let header = decode_header(jwt).expect("a JOSE header");
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let set: JwkSet = serde_json::from_str(&self.svc.jwks()).expect("the JWKS");
        let jwk = set
            .find(header.kid.as_deref().expect("a kid"))
            .expect("a published key");
        let mut v = Validation::new(header.alg);
        v.set_issuer(&["https://portico.test"]);
        v.validate_aud = false;
        decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).expect("a key"), &v)
            .expect("a valid ID token")
            .claims
    }

    /// The claims of an access token (its signature is the JWT tests' business).
    pub fn claims(&self, jwt: &str) -> Value {
        let payload = jwt.split('.').nth(1).expect("a JWT");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
            .expect("JSON claims")
    }

    pub async fn request_token(&self, client: &TestClient) -> String {
        self.registry
            .create_request_token(&self.admin, self.company, client.id())
            .await
            .expect("a request token")
            .request_token
            .expose()
            .to_owned()
    }

    /// A company-level token, as Concur's guides describe the exchange.
    pub async fn company_token(&self, client: &TestClient) -> IssuedTokens {
        let rt = self.request_token(client).await;
        self.token(
            client,
            &[
                ("grant_type", "password".into()),
                ("credtype", "authtoken".into()),
                ("username", self.company.to_string()),
                ("password", rt),
            ],
        )
        .await
        .expect("a company token")
    }

    /// A code the admin (a user of the company) allowed for `client`: (code, verifier).
    pub async fn code_for(&self, client: &TestClient) -> (String, String) {
        self.code_with(client, &[]).await
    }

    /// [`Self::code_for`], with more parameters on the authorization request.
    pub async fn code_with(
        &self,
        client: &TestClient,
        extra: &[(&str, String)],
    ) -> (String, String) {
        let verifier = URL_SAFE_NO_PAD.encode([9u8; 40]);
        let challenge = URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
        );
        let mut pairs = vec![
            ("response_type", "code".into()),
            ("client_id", client.client_id.clone()),
            ("redirect_uri", CALLBACK.into()),
            ("state", "s".into()),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256".into()),
        ];
        pairs.extend(extra.iter().cloned());
        let query = form(&pairs);
        let params = crate::params::Params::parse(&query).expect("parameters");
        let step = self
            .svc
            .authorize(
                &params,
                Some(self.signed_in()),
                Some(crate::Decision::Allow),
            )
            .await;
        let crate::AuthorizeStep::Redirect(to) = step else {
            panic!("expected a redirect with a code, got {step:?}");
        };
        let url = url::Url::parse(&to).expect("a URL");
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in {to}"));
        (code, verifier)
    }

    /// The admin, signed in a minute ago.
    pub fn signed_in(&self) -> crate::SignedInUser<'_> {
        crate::SignedInUser {
            actor: &self.admin,
            auth_time: crate::now() - 60,
        }
    }

    pub async fn deactivate(&self, client: &TestClient) {
        let changes = AppChanges {
            active: Some(false),
            ..AppChanges::default()
        };
        self.registry
            .modify_app(&self.admin, client.id(), changes, &IfVersion::Any)
            .await
            .expect("deactivated");
    }

    pub async fn disable_for_company(&self, client: &TestClient) {
        self.registry
            .set_enabled(&self.admin, self.company, client.id(), false)
            .await
            .expect("disabled");
    }
}
