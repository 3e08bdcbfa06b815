//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-encoded, then Basic) or
//! `client_secret_post`. A secret verified once is remembered by the digest of the presented
//! pair, so a client that authenticated moments ago costs no second argon2 run; the memory goes
//! with the app's cache entry the moment the app changes (a New Secret, say), on every node.

use crate::directory::{ClientEntry, Directory};
use crate::error::{OAuthError, OAuthResult};
use crate::params::Params;
use base64::{Engine, engine::general_purpose::STANDARD};
use portico_domain::{AppId, TokenDigest, secret};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    Post,
}

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
                Ok(Self {
                    client_id,
                    secret: form_decode(secret).ok_or_else(basic)?,
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
    /// The registered app these credentials belong to, or `invalid_client`. Unknown clients and
    /// wrong secrets answer alike and take about the same time.
    pub async fn authenticate(
        &self,
        presented: &PresentedClient,
        now: i64,
    ) -> OAuthResult<Arc<ClientEntry>> {
        let basic = presented.method == AuthMethod::Basic;
        let entry = match presented.client_id.parse::<AppId>() {
            Ok(id) => self.client(id).await?,
            Err(_) => None,
        };
        let Some(entry) = entry else {
            decoy(presented.secret.clone()).await;
            return Err(OAuthError::bad_client_credentials(basic));
        };
        let digest = presented.digest();
        if entry.remembers(&digest, now) {
            return Ok(entry);
        }
        let lock_holder = entry.clone();
        let _one_at_a_time = lock_holder.verifying.lock().await;
        if entry.remembers(&digest, now) {
            return Ok(entry);
        }
        let current = entry.secrets.current_hash.clone();
        if verify(presented.secret.clone(), current).await {
            entry.remember(digest, None);
            return Ok(entry);
        }
        if let (Some(previous), Some(until)) = (
            &entry.secrets.previous_hash,
            entry.secrets.previous_valid_until,
        ) && until.timestamp() > now
            && verify(presented.secret.clone(), previous.clone()).await
        {
            entry.remember(digest, Some(until.timestamp()));
            return Ok(entry);
        }
        Err(OAuthError::bad_client_credentials(basic))
    }
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
}

async fn verify(secret: String, phc: String) -> bool {
    portico_registry::passwords::verify(secret, phc).await
}

/// Spends an argon2 verification on nothing, so unknown clients cost what known ones do.
async fn decoy(secret: String) {
    verify(secret, secret::decoy_hash().to_owned()).await;
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
        let bearer = PresentedClient::from_request(Some("Bearer x"), &params(&[]));
        assert!(matches!(
            bearer,
            Err(OAuthError::InvalidClient { basic: true, .. })
        ));
    }
}
