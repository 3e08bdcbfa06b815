//! Small HTTP helpers shared by discovery, JWKS and introspection.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::VerifyError;

/// Upper bound for any document we read from the issuer; a metadata document or a JWKS of a few
/// keys is a few KiB, so this only stops a broken or hostile endpoint from exhausting memory.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The default client: bounded time, and no redirects, because the endpoints come from the
/// issuer's metadata and a redirect elsewhere is more likely an attack than a feature.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client, VerifyError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("portico-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| VerifyError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Reads at most [`MAX_DOCUMENT_BYTES`] of a response body and parses it as JSON.
pub(crate) async fn read_json<T: DeserializeOwned>(
    mut response: reqwest::Response,
    what: &str,
) -> Result<T, VerifyError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(VerifyError::Unavailable(format!("{what} is too large")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| VerifyError::Unavailable(format!("reading {what}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(VerifyError::Unavailable(format!("{what} is too large")));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|e| VerifyError::Unavailable(format!("{what} is not valid JSON: {e}")))
}

/// `application/x-www-form-urlencoded` encoding of one value, as RFC 6749 §2.3.1 requires for
/// the client id and secret before they go into HTTP Basic.
pub(crate) fn form_urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
    out
}

/// Seconds since the Unix epoch; a clock before 1970 reads as 0 instead of panicking.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::form_urlencode;

    #[test]
    fn form_urlencoding_follows_the_html_rules() {
        assert_eq!(form_urlencode("abc-XYZ_0.9*"), "abc-XYZ_0.9*");
        assert_eq!(form_urlencode("a b:c/d+e%"), "a+b%3Ac%2Fd%2Be%25");
        assert_eq!(form_urlencode("é"), "%C3%A9");
    }
}
