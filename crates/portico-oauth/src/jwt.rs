//! Access tokens: JWTs per RFC 9068 (`typ: at+jwt`).

use crate::error::OAuthResult;
use crate::keys::KeyRing;
use crate::settings::OAuthSettings;
use jsonwebtoken::{Validation, decode, decode_header};
use portico_domain::{CompanyId, PrincipalType};
use serde::{Deserialize, Serialize};

/// The claims of an access token (see docs/tokens.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub principal_type: PrincipalType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<CompanyId>,
    #[serde(default)]
    pub sensitive_data_groups: Vec<String>,
    /// The grant (refresh-token family) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AccessClaims {
    pub fn sign(&self, keys: &KeyRing) -> String {
        let json = serde_json::to_vec(self).expect("claims serialize");
        keys.sign(&json)
    }
}

/// Checks a token's signature (with a published key), `typ`, issuer, audience and lifetime.
/// Anything wrong is simply "not a valid token": callers answer inactive or invalid_token.
pub fn verify(
    token: &str,
    keys: &KeyRing,
    settings: &OAuthSettings,
) -> OAuthResult<Option<AccessClaims>> {
    let Ok(header) = decode_header(token) else {
        return Ok(None);
    };
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    let Some((alg, key)) = header.kid.as_deref().and_then(|kid| keys.verifier(kid)) else {
        return Ok(None);
    };
    if !typ_ok || header.alg != *alg {
        return Ok(None);
    }
    let mut v = Validation::new(*alg);
    v.set_issuer(&[&settings.issuer]);
    v.set_audience(&[&settings.audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    v.leeway = 5;
    Ok(decode::<AccessClaims>(token, key, &v)
        .ok()
        .map(|d| d.claims))
}
