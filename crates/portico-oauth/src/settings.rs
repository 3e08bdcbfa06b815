//! What the token service is configured with.

use serde::Deserialize;

/// The algorithm new access tokens are signed with. EdDSA is the default (the cheapest to sign
/// and verify); RS256 is there for resource servers that support nothing else (RFC 9068 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum SigningAlgorithm {
    EdDSA,
    ES256,
    RS256,
}

impl SigningAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "EdDSA" => Some(Self::EdDSA),
            "ES256" => Some(Self::ES256),
            "RS256" => Some(Self::RS256),
            _ => None,
        }
    }

    pub fn of_id_token(alg: portico_domain::IdTokenAlgorithm) -> Self {
        match alg {
            portico_domain::IdTokenAlgorithm::RS256 => Self::RS256,
            portico_domain::IdTokenAlgorithm::ES256 => Self::ES256,
            portico_domain::IdTokenAlgorithm::EdDSA => Self::EdDSA,
        }
    }

    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Self::ES256 => jsonwebtoken::Algorithm::ES256,
            Self::RS256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OAuthSettings {
    /// The issuer URL (`iss`), also the base of every endpoint in the metadata.
    pub issuer: String,
    /// The audience (`aud`) of access tokens: the platform's APIs.
    pub audience: String,
    pub signing_algorithm: SigningAlgorithm,
    pub access_token_ttl: i64,
    /// Each refresh starts a new window of this length (sliding expiry).
    pub refresh_token_ttl: i64,
    /// Seconds a rotated refresh token may be presented again by its client for the same
    /// answer (a lost response); 0 turns the grace window off.
    pub refresh_grace: i64,
    /// How long a rotated refresh token is kept so that its reuse ends its grant.
    pub refresh_reuse_detection: i64,
    pub authorization_code_ttl: i64,
    /// Revocations of each kind a node keeps in memory; past it the node asks the database.
    pub revocation_cache_entries: usize,
    /// Failed client authentications allowed per source network and per client.
    pub client_failures: portico_domain::FailureBudget,
    pub dpop: DpopSettings,
    pub par: PushedAuthorizationSettings,
}

/// DPoP proofs at the token endpoint (RFC 9449).
#[derive(Clone, Copy, Debug)]
pub struct DpopSettings {
    /// Every proof must carry a nonce of the server's (RFC 9449 §8): a proof made in advance
    /// (by malware holding the key for a moment) is then useless a minute or two later.
    pub require_nonce: bool,
    /// How old a proof's `iat` may be (seconds); its `jti` is kept as long.
    pub max_age: i64,
}

impl Default for DpopSettings {
    fn default() -> Self {
        Self {
            require_nonce: false,
            max_age: 60,
        }
    }
}

impl OAuthSettings {
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Access tokens use the configured algorithm; ID tokens the one their app chose, RS256
    /// unless it chose otherwise (OIDC Core §15.1, Registration §2).
    pub fn key_use(&self) -> crate::keys::KeyUse {
        crate::keys::KeyUse {
            access: self.signing_algorithm,
        }
    }
}

/// Pushed authorization requests (RFC 9126), given to [`crate::OAuthService::start_with`].
/// Beside [`OAuthSettings`] rather than in it so that the test fixtures building that struct
/// literally need no change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushedAuthorizationSettings {
    /// Every authorization request must be pushed first (RFC 9126 §5), whatever the app says.
    pub required: bool,
    /// How long a `request_uri` may be used after it was pushed (its `expires_in`).
    pub lifetime: i64,
}

impl Default for PushedAuthorizationSettings {
    fn default() -> Self {
        Self {
            required: false,
            lifetime: 60,
        }
    }
}
