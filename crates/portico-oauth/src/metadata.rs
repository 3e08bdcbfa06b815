//! What the server publishes about itself: the OAuth 2.0 authorization server metadata
//! (RFC 8414, at `/.well-known/oauth-authorization-server`) and the OpenID Provider
//! configuration (OpenID Connect Discovery 1.0 §3, at `/.well-known/openid-configuration`).
//! Both are built from the same facts; each carries what its own specification defines.

use crate::OAuthService;
use portico_domain::IDENTITY_SCOPES;
use serde_json::{Value, json};

/// The claims UserInfo and ID tokens may carry (OpenID Connect Core §5.1, plus the company).
const CLAIMS: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "name",
    "preferred_username",
    "email",
    "email_verified",
    "company_id",
    "company_name",
    "principal_type",
    "sid",
];

impl OAuthService {
    /// RFC 8414 §2.
    pub fn metadata(&self) -> Value {
        let s = &self.inner.settings;
        let auth_methods = portico_domain::ClientAuthMethod::ALL.map(|m| m.as_str());
        // Client assertions and DPoP proofs: asymmetric algorithms only (no `none`, no HMAC).
        let jws_algs = portico_jose::ALGORITHM_NAMES;
        let mut scopes: Vec<&str> = IDENTITY_SCOPES.to_vec();
        scopes.extend(self.inner.catalog.all_scopes());
        json!({
            "issuer": s.issuer,
            "authorization_endpoint": s.endpoint("/oauth2/v0/authorize"),
            "token_endpoint": s.endpoint("/oauth2/v0/token"),
            "jwks_uri": s.endpoint("/oauth2/v0/jwks"),
            "introspection_endpoint": s.endpoint("/oauth2/v0/introspect"),
            "revocation_endpoint": s.endpoint("/oauth2/v0/revoke"),
            // RFC 9126 §5; its client authentication is the token endpoint's.
            "pushed_authorization_request_endpoint": s.endpoint("/oauth2/v0/par"),
            "require_pushed_authorization_requests": self.inner.settings.par.required,
            // Portico's own: what became invalid, for resource servers (see `feed`).
            "portico_revocation_feed_endpoint": s.endpoint("/oauth2/v0/revocations"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token", "password"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": jws_algs,
            "introspection_endpoint_auth_signing_alg_values_supported": jws_algs,
            "revocation_endpoint_auth_signing_alg_values_supported": jws_algs,
            "dpop_signing_alg_values_supported": jws_algs,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": scopes,
            "authorization_response_iss_parameter_supported": true,
            "access_token_signing_alg_values_supported": [self.inner.keys().algorithm().as_str()],
        })
    }

    /// OpenID Connect Discovery 1.0 §3: the RFC 8414 members it shares, and the OpenID
    /// Provider's own. `request_uri_parameter_supported` defaults to true when omitted, so it
    /// is published as false: it is about request objects by reference (Core §6.2), which are
    /// not supported; PAR's `request_uri` is announced by `pushed_authorization_request_endpoint`
    /// (RFC 9126 §5 keeps the two apart).
    pub fn openid_configuration(&self) -> Value {
        let s = &self.inner.settings;
        let mut doc = self.metadata();
        let obj = doc.as_object_mut().expect("metadata is an object");
        // Not defined by Discovery; RFC 8414 keeps them.
        obj.remove("access_token_signing_alg_values_supported");
        let op = json!({
            "userinfo_endpoint": s.endpoint("/oauth2/v0/userinfo"),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "claims_supported": CLAIMS,
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        });
        for (k, v) in op.as_object().expect("an object") {
            obj.insert(k.clone(), v.clone());
        }
        doc
    }
}
