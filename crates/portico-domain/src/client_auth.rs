//! How an app proves who it is at the token, introspection, revocation and PAR endpoints, and
//! what its requests and tokens must carry: the client metadata of RFC 7591
//! (`token_endpoint_auth_method`, `jwks`), RFC 9449 §5.2 (`dpop_bound_access_tokens`) and
//! RFC 9126 §6 (`require_pushed_authorization_requests`).

use crate::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A client authentication method (RFC 7591 §2 names).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 §2.2: a JWT signed with one of the app's registered keys. No shared secret.
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub const ALL: [Self; 3] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn uses_secret(self) -> bool {
        self != Self::PrivateKeyJwt
    }
}

/// The most keys an app registers at once: enough to rotate (old, new, next).
pub const MAX_CLIENT_KEYS: usize = 10;

/// How the app authenticates and how its tokens are bound.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecurity {
    /// The methods the app may use; any other is refused with `invalid_client`. An app of
    /// `private_key_jwt` alone has no usable secret.
    #[serde(default = "secret_methods")]
    pub token_endpoint_auth_methods: Vec<ClientAuthMethod>,
    /// The app's public keys (a JWKS document, validated: ES256, EdDSA or RS256/PS256 keys,
    /// public members only, a `kid` on each when there are several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Every access token the app gets is DPoP-bound (RFC 9449 §5.2): a token request without
    /// a proof is refused.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Authorization requests only through PAR (RFC 9126 §6).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
}

fn secret_methods() -> Vec<ClientAuthMethod> {
    vec![
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
    ]
}

impl Default for ClientSecurity {
    fn default() -> Self {
        Self {
            token_endpoint_auth_methods: secret_methods(),
            jwks: None,
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
        }
    }
}

impl ClientSecurity {
    pub fn allows(&self, method: ClientAuthMethod) -> bool {
        self.token_endpoint_auth_methods.contains(&method)
    }

    /// Whether a secret is of any use to the app.
    pub fn uses_secret(&self) -> bool {
        self.token_endpoint_auth_methods
            .iter()
            .any(|m| m.uses_secret())
    }

    /// The keys, parsed (validated when stored; `None` when the app registered none).
    pub fn keys(&self) -> Option<portico_jose::JwkSet> {
        self.jwks
            .as_ref()
            .and_then(|j| portico_jose::JwkSet::from_value(j).ok())
    }

    pub fn validate(self) -> DomainResult<Self> {
        let methods: BTreeSet<ClientAuthMethod> =
            self.token_endpoint_auth_methods.iter().copied().collect();
        if methods.is_empty() {
            return Err(DomainError::invalid(
                "token_endpoint_auth_methods",
                "choose at least one client authentication method",
            ));
        }
        let jwks = match self.jwks {
            None | Some(serde_json::Value::Null) => None,
            Some(doc) => {
                let set = portico_jose::JwkSet::from_value(&doc).map_err(|e| {
                    let at = e.field();
                    let field = if at.is_empty() {
                        "jwks".into()
                    } else {
                        format!("jwks.{at}")
                    };
                    DomainError::invalid(field, e.reason())
                })?;
                Some(set.to_json())
            }
        };
        if methods.contains(&ClientAuthMethod::PrivateKeyJwt) && jwks.is_none() {
            return Err(DomainError::invalid(
                "jwks",
                "private_key_jwt needs the application's public keys (a JWKS document)",
            ));
        }
        Ok(Self {
            token_endpoint_auth_methods: methods.into_iter().collect(),
            jwks,
            ..self
        })
    }
}

/// The fields of [`ClientSecurity`] a registration or a Modify may set; absent ones keep their
/// value (a `jwks` of JSON `null` removes the keys).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSecurityChanges {
    pub token_endpoint_auth_methods: Option<Vec<ClientAuthMethod>>,
    pub jwks: Option<serde_json::Value>,
    pub dpop_bound_access_tokens: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
}

impl ClientSecurityChanges {
    pub fn apply(self, current: &ClientSecurity) -> DomainResult<ClientSecurity> {
        ClientSecurity {
            token_endpoint_auth_methods: self
                .token_endpoint_auth_methods
                .unwrap_or_else(|| current.token_endpoint_auth_methods.clone()),
            jwks: match self.jwks {
                None => current.jwks.clone(),
                Some(serde_json::Value::Null) => None,
                Some(doc) => Some(doc),
            },
            dpop_bound_access_tokens: self
                .dpop_bound_access_tokens
                .unwrap_or(current.dpop_bound_access_tokens),
            require_pushed_authorization_requests: self
                .require_pushed_authorization_requests
                .unwrap_or(current.require_pushed_authorization_requests),
        }
        .validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(r: DomainResult<ClientSecurity>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn ed25519_jwks() -> serde_json::Value {
        // RFC 8037 §A.2's public key.
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})
    }

    #[test]
    fn defaults_are_the_secret_methods() {
        let s = ClientSecurity::default().validate().unwrap();
        assert!(s.allows(ClientAuthMethod::ClientSecretBasic));
        assert!(s.allows(ClientAuthMethod::ClientSecretPost));
        assert!(!s.allows(ClientAuthMethod::PrivateKeyJwt));
        assert!(s.uses_secret());
    }

    #[test]
    fn keys_only_needs_keys() {
        let keys_only = ClientSecurityChanges {
            token_endpoint_auth_methods: Some(vec![ClientAuthMethod::PrivateKeyJwt]),
            ..Default::default()
        };
        assert_eq!(
            field(keys_only.clone().apply(&ClientSecurity::default())),
            "jwks"
        );
        let with_keys = ClientSecurityChanges {
            jwks: Some(ed25519_jwks()),
            ..keys_only
        }
        .apply(&ClientSecurity::default())
        .unwrap();
        assert!(!with_keys.uses_secret());
        assert_eq!(with_keys.keys().unwrap().keys().len(), 1);
        // Removing the keys of a keys-only app is refused, not half-applied.
        let remove = ClientSecurityChanges {
            jwks: Some(serde_json::Value::Null),
            ..Default::default()
        };
        assert_eq!(field(remove.apply(&with_keys)), "jwks");
    }

    #[test]
    fn methods_are_deduplicated_and_not_empty() {
        let s = ClientSecurityChanges {
            token_endpoint_auth_methods: Some(vec![
                ClientAuthMethod::ClientSecretPost,
                ClientAuthMethod::ClientSecretPost,
            ]),
            ..Default::default()
        }
        .apply(&ClientSecurity::default())
        .unwrap();
        assert_eq!(
            s.token_endpoint_auth_methods,
            vec![ClientAuthMethod::ClientSecretPost]
        );
        let none = ClientSecurityChanges {
            token_endpoint_auth_methods: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            field(none.apply(&ClientSecurity::default())),
            "token_endpoint_auth_methods"
        );
    }

    #[test]
    fn a_bad_key_names_its_member() {
        let mut doc = ed25519_jwks();
        doc["keys"][0]["d"] = json!("private");
        let r = ClientSecurityChanges {
            jwks: Some(doc),
            ..Default::default()
        }
        .apply(&ClientSecurity::default());
        assert!(field(r).starts_with("jwks.keys[0]"));
        let oct = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
        let r = ClientSecurityChanges {
            jwks: Some(oct),
            ..Default::default()
        }
        .apply(&ClientSecurity::default());
        assert!(field(r).starts_with("jwks"));
    }
}
