//! Typed access-token claims (docs/tokens.md), from a JWT or an introspection response.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Who the token acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalType {
    /// A user of a company; `sub` is the user id.
    User,
    /// A company as a whole; `sub` is the company id.
    Company,
    /// The partner app itself; `sub` is the client id and there is no company.
    App,
}

/// A set of scope strings (also used for the sensitive data groups).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses a space-separated `scope` value (RFC 6749 §3.3); repeated spaces are tolerated.
    pub fn from_space_separated(value: &str) -> Self {
        Self(
            value
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Whether `scope` is in the set (exact, case-sensitive match).
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// The scopes in lexical order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Into<String>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

/// Space-separated, like the `scope` claim.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
        }
        Ok(())
    }
}

/// The verified claims of an access token.
///
/// Only this crate creates it, after verification, so holding one means the token was valid.
#[derive(Debug, Clone)]
pub struct Claims {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) audience: Vec<String>,
    pub(crate) client_id: String,
    pub(crate) scopes: ScopeSet,
    pub(crate) sensitive_data_groups: ScopeSet,
    pub(crate) jti: String,
    pub(crate) issued_at: Option<u64>,
    pub(crate) expires_at: u64,
    pub(crate) principal_type: PrincipalType,
    pub(crate) company_id: Option<String>,
    pub(crate) grant_id: Option<String>,
    pub(crate) dpop_jkt: Option<String>,
}

impl Claims {
    /// `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// `sub`: a user id, a company id or (app tokens) the client id.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// `aud`, as a list.
    pub fn audience(&self) -> &[String] {
        &self.audience
    }
    /// `client_id`: the partner app's key.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// The granted scopes (`scope`).
    pub fn scopes(&self) -> &ScopeSet {
        &self.scopes
    }
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
    /// `sensitive_data_groups`: the sensitive-data-group scopes among the granted ones.
    pub fn sensitive_data_groups(&self) -> &ScopeSet {
        &self.sensitive_data_groups
    }
    /// `jti`: the unique token id.
    pub fn jti(&self) -> &str {
        &self.jti
    }
    /// `iat`, seconds since the epoch (always present in a JWT, optional in introspection).
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }
    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
    /// `principal_type`.
    pub fn principal_type(&self) -> PrincipalType {
        self.principal_type
    }
    /// `company_id`; `None` for app tokens.
    pub fn company_id(&self) -> Option<&str> {
        self.company_id.as_deref()
    }
    /// `sid`: the grant (refresh-token family); `None` for app tokens.
    pub fn grant_id(&self) -> Option<&str> {
        self.grant_id.as_deref()
    }
    /// `cnf.jkt`: the RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §6);
    /// `None` for a bearer token. A verified bound token was always presented with a valid
    /// DPoP proof of that key.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.dpop_jkt.as_deref()
    }
    /// Whether the token is bound to a DPoP key (has `cnf.jkt`).
    pub fn is_dpop_bound(&self) -> bool {
        self.dpop_jkt.is_some()
    }
}

/// `aud` may be a string or an array (RFC 7519 §4.1.3).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub(crate) fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(aud) => aud == audience,
            Audience::Many(auds) => auds.iter().any(|aud| aud == audience),
        }
    }

    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            Audience::One(aud) => vec![aud],
            Audience::Many(auds) => auds,
        }
    }
}

/// The wire form shared by JWT payloads and active introspection responses. Fields that only
/// one of them must carry are optional here and enforced by the caller.
#[derive(Debug, Deserialize)]
pub(crate) struct RawClaims {
    pub(crate) iss: Option<String>,
    pub(crate) sub: String,
    pub(crate) aud: Option<Audience>,
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) scope: Option<String>,
    pub(crate) jti: String,
    pub(crate) iat: Option<u64>,
    pub(crate) exp: Option<u64>,
    pub(crate) principal_type: PrincipalType,
    #[serde(default)]
    pub(crate) company_id: Option<String>,
    #[serde(default)]
    pub(crate) sensitive_data_groups: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) sid: Option<String>,
    #[serde(default)]
    pub(crate) cnf: Option<Confirmation>,
}

/// `cnf` (RFC 7800); only the DPoP member `jkt` (RFC 9449 §6.1) is understood.
#[derive(Debug, Deserialize)]
pub(crate) struct Confirmation {
    #[serde(default)]
    jkt: Option<String>,
}

impl RawClaims {
    /// Converts after the caller has checked `iss`, `aud` and `exp`; missing ones are errors.
    pub(crate) fn into_claims(self) -> Option<Claims> {
        // A `cnf` without a usable `jkt` binds the token to something this library cannot
        // check (an mTLS certificate, say): refused rather than accepted as a bearer token.
        let dpop_jkt = match self.cnf {
            None => None,
            Some(cnf) => Some(cnf.jkt.filter(|jkt| !jkt.is_empty())?),
        };
        Some(Claims {
            issuer: self.iss?,
            audience: self.aud?.into_vec(),
            expires_at: self.exp?,
            subject: self.sub,
            client_id: self.client_id,
            scopes: ScopeSet::from_space_separated(self.scope.as_deref().unwrap_or_default()),
            sensitive_data_groups: self
                .sensitive_data_groups
                .unwrap_or_default()
                .into_iter()
                .collect(),
            jti: self.jti,
            issued_at: self.iat,
            principal_type: self.principal_type,
            company_id: self.company_id,
            grant_id: self.sid,
            dpop_jkt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_parse_and_match_exactly() {
        let scopes = ScopeSet::from_space_separated(" expense.report.read  travel.profile.read ");
        assert_eq!(scopes.len(), 2);
        assert!(scopes.contains("expense.report.read"));
        assert!(!scopes.contains("expense.report"));
        assert!(!scopes.contains("EXPENSE.REPORT.READ"));
        assert_eq!(
            scopes.to_string(),
            "expense.report.read travel.profile.read"
        );
        assert!(ScopeSet::from_space_separated("").is_empty());
    }

    #[test]
    fn cnf_jkt_binds_and_other_confirmations_are_refused() {
        let raw = |cnf: serde_json::Value| {
            let mut raw = serde_json::json!({
                "iss": "i", "aud": "a", "exp": 1, "sub": "s", "client_id": "c", "jti": "j",
                "principal_type": "app"
            });
            if !cnf.is_null() {
                raw["cnf"] = cnf;
            }
            serde_json::from_value::<RawClaims>(raw)
                .unwrap()
                .into_claims()
        };
        assert_eq!(raw(serde_json::Value::Null).unwrap().dpop_jkt(), None);
        let bound =
            raw(serde_json::json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }));
        assert_eq!(
            bound.unwrap().dpop_jkt(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
        assert!(raw(serde_json::json!({ "x5t#S256": "abc" })).is_none());
        assert!(raw(serde_json::json!({ "jkt": "" })).is_none());
    }

    #[test]
    fn unknown_principal_types_are_rejected() {
        let raw = serde_json::json!({
            "sub": "s", "client_id": "c", "jti": "j", "principal_type": "robot"
        });
        assert!(serde_json::from_value::<RawClaims>(raw).is_err());
    }
}
