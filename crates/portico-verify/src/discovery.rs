//! RFC 8414 authorization-server metadata.

use reqwest::Url;
use serde::Deserialize;

use crate::error::VerifyError;
use crate::http::read_json;

/// The parts of the issuer's metadata document a resource server uses.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// The issuer identifier; equal to the configured issuer (checked on discovery).
    pub issuer: String,
    /// Where the signing keys are published.
    pub jwks_uri: String,
    /// RFC 7662 introspection endpoint, if the issuer offers one.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// Token endpoint (informational).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Revocation endpoint (informational).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Portico's revocation feed (Server-Sent Events), if the issuer offers one; followed with
    /// [`VerifierBuilder::revocation_feed`](crate::VerifierBuilder::revocation_feed).
    #[serde(default)]
    pub portico_revocation_feed_endpoint: Option<String>,
    /// Scopes the issuer knows (informational).
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// `{issuer}/.well-known/oauth-authorization-server`, as the Portico contract specifies.
pub(crate) fn metadata_url(issuer: &str) -> Result<Url, VerifyError> {
    let base = parse_endpoint(issuer, "issuer", false)?;
    if base.query().is_some() || base.fragment().is_some() {
        // RFC 8414 §2: the issuer has no query or fragment.
        return Err(VerifyError::Config(
            "the issuer must not have a query or fragment".into(),
        ));
    }
    let url = format!(
        "{}/.well-known/oauth-authorization-server",
        issuer.trim_end_matches('/')
    );
    parse_endpoint(&url, "metadata URL", false)
}

/// Fetches the metadata and checks that it describes the configured issuer (RFC 8414 §3.3);
/// otherwise a metadata document could make us trust someone else's keys.
pub(crate) async fn discover(
    client: &reqwest::Client,
    issuer: &str,
) -> Result<Metadata, VerifyError> {
    let url = metadata_url(issuer)?;
    let response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| VerifyError::Unavailable(format!("fetching the issuer metadata: {e}")))?;
    if !response.status().is_success() {
        return Err(VerifyError::Unavailable(format!(
            "the issuer metadata at {url} answered {}",
            response.status()
        )));
    }
    let metadata: Metadata = read_json(response, "the issuer metadata").await?;
    if metadata.issuer != issuer {
        return Err(VerifyError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: metadata.issuer,
        });
    }
    // An https issuer must not hand out plain-http endpoints: keys or introspection answers
    // fetched in clear text could be swapped on the way.
    let https_only = issuer.starts_with("https://");
    parse_endpoint(&metadata.jwks_uri, "jwks_uri", https_only)?;
    if let Some(endpoint) = &metadata.introspection_endpoint {
        parse_endpoint(endpoint, "introspection_endpoint", https_only)?;
    }
    if let Some(endpoint) = &metadata.portico_revocation_feed_endpoint {
        parse_endpoint(endpoint, "portico_revocation_feed_endpoint", https_only)?;
    }
    Ok(metadata)
}

/// Parses an absolute http(s) URL.
pub(crate) fn parse_endpoint(
    value: &str,
    what: &str,
    https_only: bool,
) -> Result<Url, VerifyError> {
    let url = Url::parse(value).map_err(|e| VerifyError::Config(format!("{what}: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if !https_only => Ok(url),
        _ => Err(VerifyError::Config(format!(
            "{what} must be an {} URL",
            if https_only { "https" } else { "http(s)" }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_appends_the_well_known_path() {
        let url = metadata_url("https://id.example.com").unwrap();
        assert_eq!(
            url.as_str(),
            "https://id.example.com/.well-known/oauth-authorization-server"
        );
        let url = metadata_url("https://id.example.com/tenant/").unwrap();
        assert_eq!(
            url.as_str(),
            "https://id.example.com/tenant/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn bad_issuers_are_configuration_errors() {
        for issuer in ["", "id.example.com", "ftp://x", "https://x/?a=b"] {
            assert!(
                matches!(metadata_url(issuer), Err(VerifyError::Config(_))),
                "{issuer}"
            );
        }
        assert!(parse_endpoint("http://x/jwks", "jwks_uri", true).is_err());
        assert!(parse_endpoint("https://x/jwks", "jwks_uri", true).is_ok());
    }
}
