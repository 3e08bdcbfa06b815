//! Extractors that turn bad input into [`ApiError`]s naming what is wrong, instead of axum's
//! plain-text rejections.

use crate::error::ApiError;
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{header, request::Parts},
};
use portico_domain::IfVersion;
use serde::de::DeserializeOwned;

/// A JSON body; errors name the field (`apis[0].api`) where serde can tell.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json")
                    || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest {
                        field: None,
                        message: "the request body could not be read".into(),
                    }
                }
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// An optional JSON body: none at all (no content type, nothing sent) is `None`.
impl<S: Send + Sync, T: DeserializeOwned> axum::extract::OptionalFromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let no_body = !req.headers().contains_key(header::CONTENT_TYPE)
            && req
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0");
        if no_body {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// Public for the fuzz targets (`fuzz/`); handlers take [`JsonBody`].
#[doc(hidden)]
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest {
                field: None,
                message: format!("malformed JSON: {message}"),
            };
        }
        // serde reports a missing field at its parent's path; name the field itself.
        let path = e.path().to_string();
        let missing = message
            .split_once("missing field `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name);
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_owned(),
            (p, Some(name)) => format!("{p}.{name}"),
            (p, None) => p.to_owned(),
        };
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        ApiError::BadRequest {
            field: Some(field),
            message,
        }
    })
}

/// The `If-Match` precondition (RFC 9110 §13.1.1) on the version of the resource: absent or
/// `*` is no precondition; otherwise the strong entity tags `"<version>"` listed. Weak or
/// malformed tags never match (If-Match uses the strong comparison), so they get a 412.
pub struct IfMatch(pub IfVersion);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let values: Vec<_> = parts.headers.get_all(header::IF_MATCH).iter().collect();
        if values.is_empty() {
            return Ok(IfMatch(IfVersion::Any));
        }
        let mut versions = Vec::new();
        for value in values {
            let Ok(value) = value.to_str() else {
                continue;
            };
            for tag in value.split(',').map(str::trim) {
                if tag == "*" {
                    return Ok(IfMatch(IfVersion::Any));
                }
                if let Some(v) = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse::<i64>().ok())
                {
                    versions.push(v);
                }
            }
        }
        Ok(IfMatch(IfVersion::OneOf(versions)))
    }
}

/// A JSON response with the `ETag` of the resource's version: `"<version>"`, a strong tag.
pub struct Tagged<T>(pub i64, pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Tagged<T> {
    fn into_response(self) -> axum::response::Response {
        let mut resp = axum::Json(self.1).into_response();
        if let Ok(tag) = header::HeaderValue::from_str(&format!("\"{}\"", self.0)) {
            resp.headers_mut().insert(header::ETAG, tag);
        }
        resp
    }
}

/// A path segment that must be a UUID-based id; a bad one names the parameter.
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadRequest {
                field: None,
                message: "bad path".into(),
            })?;
        // Handlers using PathId take exactly one parameter: the last one of the route.
        let (name, value) = params
            .iter()
            .last()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .ok_or_else(|| ApiError::BadRequest {
                field: None,
                message: "missing path parameter".into(),
            })?;
        parse_id(&name, &value).map(PathId)
    }
}

/// An id from the path or the query; a bad one is a 400 naming the parameter.
pub fn parse_id<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| ApiError::BadRequest {
        field: Some(field.to_owned()),
        message: format!("'{value}' is not a valid {field}"),
    })
}

/// Whether the request body is declared `application/x-www-form-urlencoded` (parameters
/// allowed, case-insensitive).
pub(crate) fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        items: Vec<Inner>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        api: String,
    }

    fn field(json: &str) -> Option<String> {
        match parse_json::<Outer>(json.as_bytes()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_fields() {
        assert_eq!(field(r#"{"items": []}"#).as_deref(), Some("name"));
        assert_eq!(
            field(r#"{"name": 1, "items": []}"#).as_deref(),
            Some("name")
        );
        assert_eq!(
            field(r#"{"name": "a", "items": [{"api": 2}]}"#).as_deref(),
            Some("items[0].api")
        );
        assert_eq!(
            field(r#"{"name": "a", "items": [{}]}"#).as_deref(),
            Some("items[0].api")
        );
        assert_eq!(
            field(r#"{"name": "a", "items": [], "x": 1}"#).as_deref(),
            Some("x")
        );
        assert_eq!(field(r#"{"name": "#), None);
    }
}
