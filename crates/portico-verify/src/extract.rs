//! axum extractors: [`AccessToken`] for any valid token, [`Scoped`] for a token with a scope.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::claims::Claims;
use crate::error::VerifyError;
use crate::verifier::Verifier;

/// A verified access token. As an extractor it needs a [`Verifier`] in the request extensions
/// (see [`VerifierLayer`](crate::VerifierLayer)); it rejects the request with 401 otherwise.
///
/// A token verified earlier in the same request (by [`RequireScope`](crate::RequireScope) or
/// another extractor) is reused, not verified again.
#[derive(Debug, Clone)]
pub struct AccessToken(Arc<Claims>);

impl AccessToken {
    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.0
    }

    /// `Ok` if the token carries `scope`, else [`VerifyError::InsufficientScope`] (a 403).
    pub fn require_scope(&self, scope: &str) -> Result<(), VerifyError> {
        if self.0.has_scope(scope) {
            Ok(())
        } else {
            Err(VerifyError::InsufficientScope {
                needed: scope.to_owned(),
            })
        }
    }
}

impl Deref for AccessToken {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = VerifyError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts).await
    }
}

/// Verifies the request's bearer token once and remembers the result in the extensions.
pub(crate) async fn authenticate(parts: &mut Parts) -> Result<AccessToken, VerifyError> {
    if let Some(token) = parts.extensions.get::<AccessToken>() {
        return Ok(token.clone());
    }
    let verifier = parts
        .extensions
        .get::<Verifier>()
        .cloned()
        .ok_or(VerifyError::MissingVerifier)?;
    let claims = verifier.verify(bearer_token(&parts.headers)?).await?;
    let token = AccessToken(Arc::new(claims));
    parts.extensions.insert(token.clone());
    Ok(token)
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1). Tokens in the query string
/// or the body are deliberately not supported: they end up in logs.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, VerifyError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(VerifyError::MissingToken);
    };
    if values.next().is_some() {
        return Err(VerifyError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| VerifyError::InvalidRequest("malformed Authorization header"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Other schemes carry no bearer token: answer with the plain challenge.
        return Err(VerifyError::MissingToken);
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(VerifyError::InvalidRequest("malformed bearer token"));
    }
    Ok(token)
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
    type Rejection = VerifyError;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let token = authenticate(parts).await?;
        token.require_scope(S::NAME)?;
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

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def.ghi"])).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(&headers(&["bearer  abc"])).unwrap(), "abc");
        assert!(matches!(
            bearer_token(&headers(&[])),
            Err(VerifyError::MissingToken)
        ));
        assert!(matches!(
            bearer_token(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(VerifyError::MissingToken)
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer"])),
            Err(VerifyError::InvalidRequest(_))
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer a b"])),
            Err(VerifyError::InvalidRequest(_))
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(VerifyError::InvalidRequest(_))
        ));
    }
}
