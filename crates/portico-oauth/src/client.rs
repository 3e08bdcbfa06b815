//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-encoded, then Basic) or
//! `client_secret_post`. A secret verified once is remembered by the digest of the presented
//! pair, so a client that authenticated moments ago costs no second argon2 run; the memory goes
//! with the app's cache entry the moment the app changes (a New Secret, say), on every node.

use crate::directory::{ClientEntry, Directory};
use crate::error::{OAuthError, OAuthResult};
use crate::params::{Params, has_control};
use base64::{Engine, engine::general_purpose::STANDARD};
use portico_domain::{AppId, FailureKey, TokenDigest};
use portico_guard::{Lane, Standing, argon, limits::now_ms};
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    Post,
}

/// The longest Authorization header read (a Basic header of a 36-character Key and a
/// 43-character Secret is under 150 bytes; later methods' assertions come in the body).
const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// Client credentials as presented.
#[derive(Clone)]
pub struct PresentedClient {
    pub client_id: String,
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

    fn digest(&self) -> TokenDigest {
        TokenDigest::of(&format!("{}\u{0}{}", self.client_id, self.secret))
    }
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
        let digest = presented.digest();
        if let Some(entry) = &entry
            && entry.remembers(&digest, now)
        {
            return Ok(entry.clone());
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
