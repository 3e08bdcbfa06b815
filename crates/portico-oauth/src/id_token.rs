//! ID tokens (OpenID Connect Core §2): who signed in, for the client, signed with the server's
//! key of the algorithm the app chose (RS256 unless it chose ES256 or EdDSA), published in the
//! same JWKS as the access-token keys.

use crate::Inner;
use crate::issue::{Issuance, Principal};
use crate::settings::SigningAlgorithm;
use aws_lc_rs::digest;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use portico_domain::{CompanyId, PrincipalType};
use serde::Serialize;

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: String,
    /// The client, alone: a single audience needs no `azp` (Core §2, errata 2).
    aud: String,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: String,
    principal_type: PrincipalType,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_id: Option<CompanyId>,
}

/// `at_hash` (Core §3.1.3.6): the left half of the access token's hash, with the hash the ID
/// token's algorithm uses; for Ed25519, SHA-512 (OpenID's token hash guide, as oidc-token-hash).
pub(crate) fn at_hash(alg: SigningAlgorithm, access_token: &str) -> String {
    let (algorithm, half) = match alg {
        SigningAlgorithm::RS256 | SigningAlgorithm::ES256 => (&digest::SHA256, 16),
        SigningAlgorithm::EdDSA => (&digest::SHA512, 32),
    };
    let d = digest::digest(algorithm, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..half])
}

impl Inner {
    /// The ID token that goes with `access_token`. A user's `sub` is their id, a company's its
    /// id (as Concur's company tokens); `auth_time` when the user signed in; `nonce` exactly as
    /// the authorization request sent it.
    pub(crate) fn id_token(&self, issuance: &Issuance<'_>, access_token: &str, now: i64) -> String {
        let keys = self.keys();
        let alg = SigningAlgorithm::of_id_token(issuance.app.spec.id_token_signed_response_alg);
        let (sub, principal_type) = match issuance.principal {
            Principal::User { user, .. } => (user.to_string(), PrincipalType::User),
            Principal::Company(c) => (c.to_string(), PrincipalType::Company),
            Principal::App => (issuance.app.client_id(), PrincipalType::App),
        };
        let claims = IdClaims {
            iss: &self.settings.issuer,
            sub,
            aud: issuance.app.client_id(),
            exp: now + self.settings.access_token_ttl,
            iat: now,
            auth_time: issuance.auth_time,
            nonce: issuance.nonce,
            at_hash: at_hash(alg, access_token),
            principal_type,
            company_id: issuance.principal.company(),
        };
        let json = serde_json::to_vec(&claims).expect("claims serialize");
        keys.sign_id_token(alg, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half() {
        // OIDC Core §A.3's example: this access token's at_hash under RS256.
        assert_eq!(
            at_hash(
                SigningAlgorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash(SigningAlgorithm::EdDSA, "x").len(), 43);
    }
}
