//! Pushed authorization requests (RFC 9126). The PAR endpoint authenticates the client,
//! checks the request as the authorization endpoint would (`authorize::validate`) and keeps
//! it under the digest of a fresh `request_uri`; the authorization endpoint then runs it from
//! `client_id` and `request_uri` alone, ignoring any other parameter of the query (§4: only
//! the pushed ones count, so a front-channel copy cannot change them).
//!
//! Single use, with a user signing in and consenting in between. The sign-in redirect and the
//! consent form are seen (and can be changed) by the browser, so the parameters never travel
//! through them; only a reference does:
//!
//! - the client's `request_uri` is taken (deleted) from the store the first time the
//!   authorization endpoint reads it: a replay, even a concurrent one on another node, is
//!   `invalid_request_uri`;
//! - if the flow needs a page (sign-in or consent), the already-validated request is held
//!   under a new server-side reference (`urn:portico:authorization:…`, bound to the same
//!   client, [`INTERACTION_SECONDS`]), which the sign-in `next` URL and the consent form carry
//!   instead. It is read without being consumed while pages are shown (a reload works), and
//!   replaced when a sign-in changes the request (`prompt=login` dropped once satisfied);
//! - the step that answers the client (a code or an error redirect) takes the reference
//!   first, in one statement: of two consent forms posted at once, one gets the code and the
//!   other `invalid_request_uri`. So each pushed request yields at most one authorization
//!   response, and a tampered reference is merely unknown.
//!
//! A request that came this way counts as pushed for `require_pushed_authorization_requests`;
//! the parameters of a plain request cannot pass for pushed ones, since nothing the browser
//! holds carries them.

use crate::authorize::{AuthorizeStep, Invalid, failed, invalid_request_uri, validate};
use crate::client::{Authenticated, Endpoint};
use crate::directory::ClientEntry;
use crate::dpop::DpopHeader;
use crate::error::{OAuthError, OAuthResult};
use crate::params::Params;
use crate::{Inner, OAuthService, now};
use portico_domain::{TokenDigest, repo::PushedRequest, secret::random_token};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

/// RFC 9126 §2.2: the form of the `request_uri` the PAR endpoint hands out.
const PUSHED_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// A request held while the user signs in and decides (never given to a client).
const HELD_PREFIX: &str = "urn:portico:authorization:";
/// How long a held request waits for the user. A plain request has no limit; this one is a
/// row, and must go some time.
pub(crate) const INTERACTION_SECONDS: i64 = 600;

/// Client authentication is the PAR endpoint's business; it is not part of the request kept.
const CLIENT_AUTHENTICATION: [&str; 3] =
    ["client_secret", "client_assertion", "client_assertion_type"];

/// The PAR endpoint's answer (RFC 9126 §2.2).
#[derive(Clone, Debug, serde::Serialize)]
pub struct PushedAuthorization {
    pub request_uri: String,
    pub expires_in: i64,
}

fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    form.finish()
}

impl OAuthService {
    /// `POST /oauth2/v0/par`: authenticate the client, check the request as the authorization
    /// endpoint will, and keep it for one use.
    pub async fn push_authorization_request(
        &self,
        authorization: Option<&str>,
        dpop: DpopHeader<'_>,
        body: &[u8],
        source: IpAddr,
    ) -> OAuthResult<PushedAuthorization> {
        let params = Params::parse(body)?;
        let inner = &*self.inner;
        let now = now();
        let Authenticated { client, .. } = inner
            .authenticate_client(
                authorization,
                &params,
                Endpoint::PushedAuthorization,
                source,
                now,
            )
            .await?;
        let client_id = client.app.client_id();
        if params.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the authenticated client",
            ));
        }
        if params.get("request_uri").is_some() {
            return Err(OAuthError::invalid_request(
                "request_uri cannot be pushed (RFC 9126 §2.1)",
            ));
        }
        if params.get("request").is_some() {
            return Err(OAuthError::invalid_request(
                "request objects (the request parameter) are not supported",
            ));
        }
        // RFC 9449 §10.1: a proof with the push binds the code to its key, as `dpop_jkt`
        // would; both must then name the same key.
        let proof = inner
            .dpop_proof(
                dpop,
                "POST",
                Endpoint::PushedAuthorization.path(),
                None,
                now,
            )
            .await?;
        let bound = match (&proof, params.get("dpop_jkt")) {
            (Some(p), Some(jkt)) if p.jkt != jkt => {
                return Err(OAuthError::InvalidDpopProof(
                    "dpop_jkt does not match the key of the DPoP proof".into(),
                ));
            }
            (Some(p), None) => Some(p.jkt.as_str()),
            _ => None,
        };
        let kept = std::iter::once(("client_id", client_id.as_str()))
            .chain(
                params
                    .pairs()
                    .filter(|(k, _)| *k != "client_id" && !CLIENT_AUTHENTICATION.contains(k)),
            )
            .chain(bound.map(|jkt| ("dpop_jkt", jkt)));
        let encoded = encode(kept);
        let request = Params::parse(encoded.as_bytes())?;
        validate(inner, client.clone(), &request, now)
            .await
            .map_err(Invalid::into_error)?;
        let lifetime = inner.settings.par.lifetime;
        // 256 bits: the reference is a bearer of the request until used.
        let request_uri = format!("{PUSHED_PREFIX}{}", random_token(32));
        inner
            .directory
            .store()
            .insert_pushed_request(&PushedRequest {
                digest: TokenDigest::of(&request_uri),
                app_id: client.app.id,
                params: encoded,
                expires_at: now + lifetime,
            })
            .await?;
        Ok(PushedAuthorization {
            request_uri,
            expires_in: lifetime,
        })
    }
}

/// Where a pushed request is while the authorization endpoint runs it.
enum Held {
    /// The client's `request_uri`, taken from the store as it was read.
    Taken,
    /// A held request, still stored under this reference.
    Reference(String),
}

/// A pushed request the authorization endpoint is running (see the module's comment).
pub(crate) struct Pushed {
    client_id: String,
    app_id: portico_domain::AppId,
    held: Held,
    /// The stored form of the request (to tell whether a sign-in changed it).
    stored: String,
    /// Whether this run owns the request now (it was taken from the store).
    claimed: AtomicBool,
}

impl Pushed {
    /// The request behind `request_uri` for `client`, or None when it cannot be used.
    pub(crate) async fn open(
        inner: &Inner,
        client: &ClientEntry,
        request_uri: &str,
        now: i64,
    ) -> OAuthResult<Option<(Params, Self)>> {
        let digest = TokenDigest::of(request_uri);
        let store = inner.directory.store();
        let app_id = client.app.id;
        let (stored, held) = if request_uri.starts_with(PUSHED_PREFIX) {
            let taken = store.take_pushed_request(&digest, app_id, now).await?;
            (taken, Held::Taken)
        } else if request_uri.starts_with(HELD_PREFIX) {
            let read = store.pushed_request(&digest, app_id, now).await?;
            (read, Held::Reference(request_uri.to_owned()))
        } else {
            return Ok(None);
        };
        let Some(stored) = stored else {
            return Ok(None);
        };
        let params = Params::parse(stored.as_bytes())
            .map_err(|e| OAuthError::Server(format!("a stored pushed request: {e}")))?;
        let claimed = AtomicBool::new(matches!(held, Held::Taken));
        Ok(Some((
            params,
            Self {
                client_id: client.app.client_id(),
                app_id,
                held,
                stored,
                claimed,
            },
        )))
    }

    /// Takes the request for this run; false when another run took it first.
    pub(crate) async fn claim(&self, inner: &Inner, now: i64) -> OAuthResult<bool> {
        if self.claimed.load(Ordering::Acquire) {
            return Ok(true);
        }
        let Held::Reference(uri) = &self.held else {
            return Ok(true);
        };
        let taken = inner
            .directory
            .store()
            .take_pushed_request(&TokenDigest::of(uri), self.app_id, now)
            .await?;
        self.claimed.store(taken.is_some(), Ordering::Release);
        Ok(taken.is_some())
    }

    /// Keeps `pairs` under a new reference for the pages to come.
    async fn hold(
        &self,
        inner: &Inner,
        pairs: &[(String, String)],
        now: i64,
    ) -> OAuthResult<String> {
        let uri = format!("{HELD_PREFIX}{}", random_token(32));
        inner
            .directory
            .store()
            .insert_pushed_request(&PushedRequest {
                digest: TokenDigest::of(&uri),
                app_id: self.app_id,
                params: encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                expires_at: now + INTERACTION_SECONDS,
            })
            .await?;
        Ok(uri)
    }

    /// What the browser carries instead of the request.
    fn reference(&self, uri: String) -> Vec<(String, String)> {
        vec![
            ("client_id".into(), self.client_id.clone()),
            ("request_uri".into(), uri),
        ]
    }

    /// The step of the authorization endpoint, for a pushed request: an answer to the client
    /// only if this run owns the request; a page with a reference to it instead of its
    /// parameters.
    pub(crate) async fn settle(
        self,
        inner: &Inner,
        step: AuthorizeStep,
        now: i64,
    ) -> AuthorizeStep {
        match step {
            AuthorizeStep::Refuse { .. } => step,
            AuthorizeStep::Redirect(url) => match self.claim(inner, now).await {
                Ok(true) => AuthorizeStep::Redirect(url),
                Ok(false) => invalid_request_uri(),
                Err(e) => failed(&e),
            },
            AuthorizeStep::Consent(mut page) => {
                let uri = match &self.held {
                    Held::Reference(uri) => uri.clone(),
                    Held::Taken => match self.hold(inner, &page.form, now).await {
                        Ok(uri) => uri,
                        Err(e) => return failed(&e),
                    },
                };
                page.form = self.reference(uri);
                AuthorizeStep::Consent(page)
            }
            AuthorizeStep::SignIn { again, resume } => {
                let resumed = encode(resume.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let uri = match &self.held {
                    Held::Reference(uri) if resumed == self.stored => uri.clone(),
                    held => {
                        // The request changes: the old reference goes, so only one is live.
                        if matches!(held, Held::Reference(_)) {
                            match self.claim(inner, now).await {
                                Ok(true) => {}
                                Ok(false) => return invalid_request_uri(),
                                Err(e) => return failed(&e),
                            }
                        }
                        match self.hold(inner, &resume, now).await {
                            Ok(uri) => uri,
                            Err(e) => return failed(&e),
                        }
                    }
                };
                AuthorizeStep::SignIn {
                    again,
                    resume: self.reference(uri),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decision;
    use crate::grants::testing::{Kit, TestClient};
    use base64::{
        Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD,
    };
    use portico_domain::repo::Purge;
    use std::net::Ipv4Addr;

    const CALLBACK: &str = "https://app.example/callback";
    const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn basic(c: &TestClient) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", c.client_id, c.secret))
        )
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        encode(pairs.iter().copied()).into_bytes()
    }

    /// (verifier, S256 challenge)
    fn pkce() -> (String, String) {
        let verifier = URL_SAFE_NO_PAD.encode([5u8; 40]);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
    }

    fn request(challenge: &str, extra: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = [
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("state", "st"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        pairs.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        pairs
    }

    async fn push(
        kit: &Kit,
        client: &TestClient,
        pairs: &[(String, String)],
    ) -> OAuthResult<PushedAuthorization> {
        let body = encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        kit.svc
            .push_authorization_request(
                Some(&basic(client)),
                DpopHeader::Absent,
                body.as_bytes(),
                SOURCE,
            )
            .await
    }

    fn by_reference(client: &TestClient, uri: &str) -> Params {
        Params::parse(&form(&[
            ("client_id", &client.client_id),
            ("request_uri", uri),
        ]))
        .unwrap()
    }

    fn pairs_of(p: &[(String, String)]) -> Params {
        Params::parse(encode(p.iter().map(|(k, v)| (k.as_str(), v.as_str()))).as_bytes()).unwrap()
    }

    fn query(url: &str, name: &str) -> Option<String> {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    #[track_caller]
    fn assert_invalid_request_uri(step: &AuthorizeStep) {
        match step {
            AuthorizeStep::Refuse {
                status: 400,
                message,
            } => {
                assert!(message.starts_with("invalid_request_uri"), "{message}");
            }
            other => panic!("expected the invalid_request_uri page, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_pushed_request_is_used_once_and_yields_a_code() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code", "refresh_token"]).await;
        let (verifier, challenge) = pkce();
        let pushed = push(
            &kit,
            &app,
            &request(&challenge, &[("scope", "expense.report.read")]),
        )
        .await
        .unwrap();
        assert!(pushed.request_uri.starts_with(PUSHED_PREFIX));
        assert!(
            pushed.request_uri.len() - PUSHED_PREFIX.len() >= 22,
            "≥128 bits"
        );
        assert_eq!(pushed.expires_in, 60);
        // Only client_id and request_uri count: another redirect_uri or scope in the query
        // changes nothing.
        let mut q = vec![
            ("client_id", app.client_id.as_str()),
            ("request_uri", pushed.request_uri.as_str()),
        ];
        q.extend([
            ("redirect_uri", "https://evil.example/"),
            ("scope", "openid"),
        ]);
        let params = Params::parse(&form(&q)).unwrap();
        let step = kit
            .svc
            .authorize(&params, Some(kit.signed_in()), Some(Decision::Allow))
            .await;
        let AuthorizeStep::Redirect(to) = step else {
            panic!("expected a code, got {step:?}");
        };
        assert!(to.starts_with(CALLBACK), "{to}");
        assert_eq!(query(&to, "state").as_deref(), Some("st"));
        let code = query(&to, "code").expect("a code");
        let issued = kit
            .token(
                &app,
                &[
                    ("grant_type", "authorization_code".into()),
                    ("code", code),
                    ("redirect_uri", CALLBACK.into()),
                    ("code_verifier", verifier),
                ],
            )
            .await
            .unwrap();
        assert_eq!(issued.scope, "expense.report.read");
        // Used: a replay is refused on a page.
        let again = kit
            .svc
            .authorize(
                &by_reference(&app, &pushed.request_uri),
                Some(kit.signed_in()),
                Some(Decision::Allow),
            )
            .await;
        assert_invalid_request_uri(&again);
    }

    #[tokio::test]
    async fn the_request_survives_sign_in_and_consent_but_answers_once() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code"]).await;
        let (_, challenge) = pkce();
        let pushed = push(&kit, &app, &request(&challenge, &[])).await.unwrap();
        // Not signed in: the sign-in page comes back with a reference, not the parameters.
        let step = kit
            .svc
            .authorize(&by_reference(&app, &pushed.request_uri), None, None)
            .await;
        let AuthorizeStep::SignIn { again, resume } = step else {
            panic!("expected the sign-in page, got {step:?}");
        };
        assert!(!again);
        let names: Vec<&str> = resume.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["client_id", "request_uri"]);
        let held = resume[1].1.clone();
        assert!(held.starts_with(HELD_PREFIX), "{held}");
        // The client's request_uri was used up as it was read.
        let replay = kit
            .svc
            .authorize(
                &by_reference(&app, &pushed.request_uri),
                Some(kit.signed_in()),
                None,
            )
            .await;
        assert_invalid_request_uri(&replay);
        // Back from sign-in: the consent page, whose form again carries only the reference; a
        // reload shows it again.
        for _ in 0..2 {
            let step = kit
                .svc
                .authorize(&pairs_of(&resume), Some(kit.signed_in()), None)
                .await;
            let AuthorizeStep::Consent(page) = step else {
                panic!("expected the consent page, got {step:?}");
            };
            assert_eq!(page.form, resume);
            assert_eq!(page.redirect_uri, CALLBACK);
        }
        // Two decisions posted at once: one code, one refusal.
        let form = pairs_of(&resume);
        let (a, b) = tokio::join!(
            kit.svc
                .authorize(&form, Some(kit.signed_in()), Some(Decision::Allow)),
            kit.svc
                .authorize(&form, Some(kit.signed_in()), Some(Decision::Allow)),
        );
        let codes = [&a, &b]
            .iter()
            .filter(|s| matches!(s, AuthorizeStep::Redirect(u) if query(u, "code").is_some()))
            .count();
        assert_eq!(codes, 1, "{a:?} {b:?}");
        let refused = if matches!(a, AuthorizeStep::Redirect(_)) {
            b
        } else {
            a
        };
        assert_invalid_request_uri(&refused);
        // And a deny afterwards cannot answer either.
        let late = kit
            .svc
            .authorize(&form, Some(kit.signed_in()), Some(Decision::Deny))
            .await;
        assert_invalid_request_uri(&late);
    }

    #[tokio::test]
    async fn a_sign_in_the_request_demanded_is_not_asked_again() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code"]).await;
        let (_, challenge) = pkce();
        let pushed = push(&kit, &app, &request(&challenge, &[("prompt", "login")]))
            .await
            .unwrap();
        let step = kit
            .svc
            .authorize(
                &by_reference(&app, &pushed.request_uri),
                Some(kit.signed_in()),
                None,
            )
            .await;
        let AuthorizeStep::SignIn {
            again: true,
            resume,
        } = step
        else {
            panic!("expected the sign-in page again, got {step:?}");
        };
        let step = kit
            .svc
            .authorize(&pairs_of(&resume), Some(kit.signed_in()), None)
            .await;
        assert!(matches!(step, AuthorizeStep::Consent(_)), "{step:?}");
    }

    #[tokio::test]
    async fn unknown_expired_and_other_clients_requests_are_refused() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code"]).await;
        let other = kit.app(&["authorization_code"]).await;
        let (_, challenge) = pkce();
        let user = Some(kit.signed_in());
        let allow = Some(Decision::Allow);
        for unknown in [
            format!("{PUSHED_PREFIX}nothing-pushed-here"),
            format!("{HELD_PREFIX}nothing-held-here"),
            "https://app.example/request.jwt".to_owned(),
        ] {
            let step = kit
                .svc
                .authorize(&by_reference(&app, &unknown), user, allow)
                .await;
            assert_invalid_request_uri(&step);
        }
        // Pushed by one client, used with another's client_id: refused, and left to its owner.
        let pushed = push(&kit, &app, &request(&challenge, &[])).await.unwrap();
        let step = kit
            .svc
            .authorize(&by_reference(&other, &pushed.request_uri), user, allow)
            .await;
        assert_invalid_request_uri(&step);
        let step = kit
            .svc
            .authorize(&by_reference(&app, &pushed.request_uri), user, allow)
            .await;
        assert!(matches!(step, AuthorizeStep::Redirect(_)), "{step:?}");
        // Expired: refused, and the housekeeping purge deletes it.
        let store = kit.svc.inner.directory.store();
        let uri = format!("{PUSHED_PREFIX}expired");
        let now = crate::now();
        store
            .insert_pushed_request(&PushedRequest {
                digest: TokenDigest::of(&uri),
                app_id: app.client_id.parse().unwrap(),
                params: encode(
                    request(&challenge, &[])
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .chain([("client_id", app.client_id.as_str())]),
                ),
                expires_at: now - 1,
            })
            .await
            .unwrap();
        let step = kit
            .svc
            .authorize(&by_reference(&app, &uri), user, allow)
            .await;
        assert_invalid_request_uri(&step);
        let digest = TokenDigest::of(&uri);
        let app_id = app.client_id.parse().unwrap();
        assert!(
            store
                .pushed_request(&digest, app_id, now - 10)
                .await
                .unwrap()
                .is_some()
        );
        store
            .purge_expired(&Purge {
                now,
                grants_revoked_before: now,
                rotated_before: now,
                replies_before: now,
                changes_before: now,
            })
            .await
            .unwrap();
        assert!(
            store
                .pushed_request(&digest, app_id, now - 10)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn the_par_endpoint_checks_the_client_and_the_request() {
        let kit = Kit::new().await;
        let app = kit.app(&["authorization_code"]).await;
        let machine = kit.app(&["client_credentials"]).await;
        let (_, challenge) = pkce();
        let ok = request(&challenge, &[]);
        let with = |extra: &[(&'static str, &'static str)]| request(&challenge, extra);
        let code = |r: OAuthResult<PushedAuthorization>| r.unwrap_err().code();
        // The client must authenticate, and be the one named.
        let wrong = TestClient {
            client_id: app.client_id.clone(),
            secret: "not the secret".into(),
        };
        assert_eq!(code(push(&kit, &wrong, &ok).await), "invalid_client");
        let unauthenticated = kit
            .svc
            .push_authorization_request(
                None,
                DpopHeader::Absent,
                &form(&[("client_id", &app.client_id)]),
                SOURCE,
            )
            .await;
        assert_eq!(code(unauthenticated), "invalid_client");
        let mut named_other = ok.clone();
        named_other.push(("client_id".into(), machine.client_id.clone()));
        assert_eq!(
            code(push(&kit, &app, &named_other).await),
            "invalid_request"
        );
        // RFC 9126 §2.1: no request_uri in a pushed request.
        let nested = with(&[("request_uri", "urn:ietf:params:oauth:request_uri:x")]);
        assert_eq!(code(push(&kit, &app, &nested).await), "invalid_request");
        // The authorization endpoint's rules, answered as JSON errors.
        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (
                ok.iter()
                    .map(|(k, v)| {
                        let v = if k == "redirect_uri" {
                            "https://app.example/elsewhere"
                        } else {
                            v
                        };
                        (k.clone(), v.to_owned())
                    })
                    .collect(),
                "invalid_request",
            ),
            (
                ok.iter()
                    .filter(|(k, _)| !k.starts_with("code_challenge"))
                    .cloned()
                    .collect(),
                "invalid_request",
            ),
            (
                ok.iter()
                    .map(|(k, v)| {
                        let v = if k == "response_type" { "token" } else { v };
                        (k.clone(), v.to_owned())
                    })
                    .collect(),
                "unsupported_response_type",
            ),
            (with(&[("scope", "user.read")]), "invalid_scope"),
            (with(&[("prompt", "sometimes")]), "invalid_request"),
            (with(&[("max_age", "soon")]), "invalid_request"),
            (
                with(&[("resource", "https://unknown.example/")]),
                "invalid_target",
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(code(push(&kit, &app, &pairs).await), expected, "{pairs:?}");
        }
        // An app without the authorization_code grant.
        assert_eq!(code(push(&kit, &machine, &ok).await), "unauthorized_client");
        // client_secret_post: the secret authenticates, and is not part of what is kept.
        let mut posted = ok.clone();
        posted.push(("client_id".into(), app.client_id.clone()));
        posted.push(("client_secret".into(), app.secret.clone()));
        let body = encode(posted.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let pushed = kit
            .svc
            .push_authorization_request(None, DpopHeader::Absent, body.as_bytes(), SOURCE)
            .await
            .unwrap();
        let kept = kit
            .svc
            .inner
            .directory
            .store()
            .pushed_request(
                &TokenDigest::of(&pushed.request_uri),
                app.client_id.parse().unwrap(),
                crate::now(),
            )
            .await
            .unwrap()
            .expect("kept");
        assert!(!kept.contains("client_secret"), "{kept}");
        assert!(kept.contains("client_id="), "{kept}");
    }
}
