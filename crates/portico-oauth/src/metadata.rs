//! Authorization server metadata (RFC 8414).

use crate::OAuthService;
use serde_json::{Value, json};

impl OAuthService {
    pub fn metadata(&self) -> Value {
        let s = &self.inner.settings;
        let auth_methods = ["client_secret_basic", "client_secret_post"];
        json!({
            "issuer": s.issuer,
            "authorization_endpoint": s.endpoint("/oauth2/v0/authorize"),
            "token_endpoint": s.endpoint("/oauth2/v0/token"),
            "jwks_uri": s.endpoint("/oauth2/v0/jwks"),
            "introspection_endpoint": s.endpoint("/oauth2/v0/introspect"),
            "revocation_endpoint": s.endpoint("/oauth2/v0/revoke"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token", "password"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": self.inner.catalog.all_scopes().collect::<Vec<_>>(),
            "authorization_response_iss_parameter_supported": true,
            "access_token_signing_alg_values_supported": [self.inner.keys().algorithm().as_str()],
        })
    }
}
