//! axum extractors: [`AccessToken`] for any valid token, [`Scoped`] for a token with a scope.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};

use crate::claims::Claims;
use crate::error::{DpopMode, Presented, Rejection, VerifyError};
use crate::verifier::Verifier;

/// The `DPoP` request header carrying the proof (RFC 9449 §4.1).
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");

/// A verified access token. As an extractor it needs a [`Verifier`] in the request extensions
/// (see [`VerifierLayer`](crate::VerifierLayer)); it rejects the request with 401 otherwise.
///
/// A token verified earlier in the same request (by [`RequireScope`](crate::RequireScope) or
/// another extractor) is reused, not verified again. A DPoP-bound token
/// ([`Claims::dpop_jkt`]) came with a valid proof of its key.
#[derive(Debug, Clone)]
pub struct AccessToken(Arc<Claims>);

impl AccessToken {
    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.0
    }

    /// `Ok` if the token carries `scope`, else [`VerifyError::InsufficientScope`] (a 403).
    /// That error answers with a `Bearer` challenge; [`RequireScope`](crate::RequireScope)
    /// and [`Scoped`] answer in the scheme the request used.
    pub fn require_scope(&self, scope: &str) -> Result<(), VerifyError> {
        if self.0.has_scope(scope) {
            Ok(())
        } else {
            Err(VerifyError::InsufficientScope {
                needed: scope.to_owned(),
            })
        }
    }

    /// [`require_scope`](Self::require_scope) with the challenge in the token's scheme.
    pub(crate) fn require_scope_rejection(&self, scope: &str) -> Result<(), Rejection> {
        self.require_scope(scope).map_err(|error| {
            let presented = if self.0.is_dpop_bound() {
                Presented::Dpop
            } else {
                Presented::Bearer
            };
            Rejection::new(error, presented, DpopMode::Off)
        })
    }
}

impl Deref for AccessToken {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, false).await
    }
}

/// Verifies the request's token once and remembers the result in the extensions.
/// `require_dpop` (a [`RequireDpop`](crate::RequireDpop) route) refuses bearer tokens.
pub(crate) async fn authenticate(
    parts: &mut Parts,
    require_dpop: bool,
) -> Result<AccessToken, Rejection> {
    if let Some(token) = parts.extensions.get::<AccessToken>() {
        if require_dpop && !token.is_dpop_bound() {
            return Err(Rejection::new(
                VerifyError::DpopRequired,
                Presented::Bearer,
                DpopMode::Required,
            ));
        }
        return Ok(token.clone());
    }
    let verifier = parts
        .extensions
        .get::<Verifier>()
        .cloned()
        .ok_or(VerifyError::MissingVerifier)?;
    let mode = match (verifier.dpop_mode(), require_dpop) {
        (DpopMode::Off, true) => {
            return Err(VerifyError::Config(
                "RequireDpop is used but the verifier has no DPoP configuration".into(),
            )
            .into());
        }
        (_, true) => DpopMode::Required,
        (mode, false) => mode,
    };
    let reject = |error, presented| Rejection::new(error, presented, mode);
    let claims = match credentials(&parts.headers) {
        // Without DPoP configured the scheme is as foreign as Basic.
        Err((_, Presented::Dpop)) if mode == DpopMode::Off => {
            return Err(reject(VerifyError::MissingToken, Presented::Nothing));
        }
        Err((e, presented)) => return Err(reject(e, presented)),
        Ok(Credentials::Bearer(_)) if mode == DpopMode::Required => {
            return Err(reject(VerifyError::DpopRequired, Presented::Bearer));
        }
        Ok(Credentials::Bearer(token)) => verifier
            .verify(token)
            .await
            .map_err(|e| reject(e, Presented::Bearer))?,
        Ok(Credentials::Dpop(token)) => {
            let Some(dpop) = verifier.dpop() else {
                return Err(reject(VerifyError::MissingToken, Presented::Nothing));
            };
            let proof = dpop_proof(&parts.headers).map_err(|e| reject(e, Presented::Dpop))?;
            // The URI the client addressed: nested routers strip their prefix from
            // `parts.uri`, the outermost Router keeps the whole one in `OriginalUri`.
            let path = parts
                .extensions
                .get::<OriginalUri>()
                .map_or(parts.uri.path(), |original| original.0.path());
            let uri = dpop.request_uri(path);
            verifier
                .verify_dpop(token, proof, parts.method.as_str(), &uri)
                .await
                .map_err(|e| reject(e, Presented::Dpop))?
        }
    };
    let token = AccessToken(Arc::new(claims));
    parts.extensions.insert(token.clone());
    Ok(token)
}

/// The token of the `Authorization` header and its scheme.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// RFC 6750 §2.1.
    Bearer(&'a str),
    /// RFC 9449 §7.1.
    Dpop(&'a str),
}

/// Reads `Authorization: Bearer <token>` or `Authorization: DPoP <token>`; an error comes with
/// the scheme it was found under. Tokens in the query string or the body are deliberately not
/// supported: they end up in logs.
pub(crate) fn credentials(
    headers: &HeaderMap,
) -> Result<Credentials<'_>, (VerifyError, Presented)> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err((VerifyError::MissingToken, Presented::Nothing));
    };
    if values.next().is_some() {
        return Err((
            VerifyError::InvalidRequest("more than one Authorization header"),
            Presented::Nothing,
        ));
    }
    let value = value.to_str().map_err(|_| {
        (
            VerifyError::InvalidRequest("malformed Authorization header"),
            Presented::Nothing,
        )
    })?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let presented = if scheme.eq_ignore_ascii_case("bearer") {
        Presented::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Presented::Dpop
    } else {
        // Other schemes carry no access token: answer with the plain challenge.
        return Err((VerifyError::MissingToken, Presented::Nothing));
    };
    let token = rest.trim_matches(' ');
    if token.is_empty() || token.contains(' ') {
        let why = match presented {
            Presented::Dpop => "malformed DPoP access token",
            _ => "malformed bearer token",
        };
        return Err((VerifyError::InvalidRequest(why), presented));
    }
    Ok(match presented {
        Presented::Dpop => Credentials::Dpop(token),
        _ => Credentials::Bearer(token),
    })
}

/// The one `DPoP` header (RFC 9449 §4.3 step 1).
fn dpop_proof(headers: &HeaderMap) -> Result<&str, VerifyError> {
    let mut values = headers.get_all(DPOP).iter();
    let Some(value) = values.next() else {
        return Err(VerifyError::MissingProof);
    };
    if values.next().is_some() {
        return Err(VerifyError::MultipleProofs);
    }
    value
        .to_str()
        .map_err(|_| VerifyError::InvalidProof(portico_jose::DpopError::Malformed))
}

/// Names a scope at the type level, for [`Scoped`]. Usually written with [`scope!`](crate::scope).
pub trait ScopeName {
    /// The scope string, e.g. `expense.report.read`.
    const NAME: &'static str;
}

/// Declares a [`ScopeName`] marker type: `portico_verify::scope!(pub ReadReports = "expense.report.read");`
#[macro_export]
macro_rules! scope {
    ($vis:vis $name:ident = $scope:literal) => {
        #[doc = concat!("The `", $scope, "` scope.")]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::ScopeName for $name {
            const NAME: &'static str = $scope;
        }
    };
}

/// A verified access token that carries the scope `S`; 401 without a valid token, 403 with
/// `insufficient_scope` without the scope.
pub struct Scoped<S: ScopeName> {
    token: AccessToken,
    _scope: PhantomData<fn() -> S>,
}

impl<S: ScopeName> Scoped<S> {
    /// The underlying token.
    pub fn token(&self) -> &AccessToken {
        &self.token
    }
}

impl<S: ScopeName> Deref for Scoped<S> {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.token
    }
}

impl<S: ScopeName> std::fmt::Debug for Scoped<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoped")
            .field("scope", &S::NAME)
            .field("token", &self.token)
            .finish()
    }
}

impl<St: Send + Sync, S: ScopeName> FromRequestParts<St> for Scoped<S> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let token = authenticate(parts, false).await?;
        token.require_scope_rejection(S::NAME)?;
        Ok(Self {
            token,
            _scope: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn credentials(headers: &HeaderMap) -> Result<Credentials<'_>, VerifyError> {
        super::credentials(headers).map_err(|(e, _)| e)
    }

    #[test]
    fn authorization_header_parsing() {
        assert_eq!(
            credentials(&headers(&["Bearer abc.def.ghi"])).unwrap(),
            Credentials::Bearer("abc.def.ghi")
        );
        assert_eq!(
            credentials(&headers(&["bearer  abc"])).unwrap(),
            Credentials::Bearer("abc")
        );
        assert_eq!(
            credentials(&headers(&["DPoP abc.def.ghi"])).unwrap(),
            Credentials::Dpop("abc.def.ghi")
        );
        assert_eq!(
            credentials(&headers(&["dpop abc"])).unwrap(),
            Credentials::Dpop("abc")
        );
        assert!(matches!(
            credentials(&headers(&[])),
            Err(VerifyError::MissingToken)
        ));
        assert!(matches!(
            credentials(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(VerifyError::MissingToken)
        ));
        for bad in ["Bearer", "Bearer a b", "DPoP", "DPoP  "] {
            assert!(
                matches!(
                    credentials(&headers(&[bad])),
                    Err(VerifyError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            credentials(&headers(&["Bearer a", "Bearer b"])),
            Err(VerifyError::InvalidRequest(_))
        ));
        assert!(matches!(
            super::credentials(&headers(&["DPoP a b"])),
            Err((VerifyError::InvalidRequest(_), Presented::Dpop))
        ));
    }

    #[test]
    fn exactly_one_dpop_header() {
        let mut map = HeaderMap::new();
        assert!(matches!(dpop_proof(&map), Err(VerifyError::MissingProof)));
        map.append(DPOP, HeaderValue::from_static("a.b.c"));
        assert_eq!(dpop_proof(&map).unwrap(), "a.b.c");
        map.append(DPOP, HeaderValue::from_static("d.e.f"));
        assert!(matches!(dpop_proof(&map), Err(VerifyError::MultipleProofs)));
        let mut map = HeaderMap::new();
        map.append(DPOP, HeaderValue::from_bytes(b"\xff").unwrap());
        assert!(matches!(
            dpop_proof(&map),
            Err(VerifyError::InvalidProof(_))
        ));
    }
}
