//! Form parameters of OAuth requests, read strictly: a repeated parameter is an error
//! (RFC 6749 §3.1, §3.2) and an empty one counts as absent.

use crate::error::{OAuthError, OAuthResult};

#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn parse(bytes: &[u8]) -> OAuthResult<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|_| {
            OAuthError::invalid_request("the parameters are not valid form encoding")
        })?;
        let mut kept: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            if kept.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{k}' is repeated"
                )));
            }
            if !v.is_empty() {
                kept.push((k, v));
            }
        }
        Ok(Self(kept))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> OAuthResult<&str> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter '{name}' is required")))
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing() {
        let p = Params::parse(b"grant_type=client_credentials&scope=&x=a%20b").unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("x"), Some("a b"));
        let e = Params::parse(b"scope=a&scope=b").unwrap_err();
        assert_eq!(e.description(), "parameter 'scope' is repeated");
        assert!(p.require("code").is_err());
    }
}
