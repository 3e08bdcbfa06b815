//! Form parameters of OAuth requests, read strictly and in linear time: a repeated parameter is
//! an error whether or not a copy is empty (RFC 6749 §3.1, §3.2), an empty one counts as absent,
//! and a request with more parameters, or longer ones, than any OAuth request needs is refused
//! before the rest of it is decoded. The same reader serves the console's forms, with limits of
//! their own ([`read_pairs`]).

use crate::error::{OAuthError, OAuthResult};
use std::collections::HashSet;

/// No OAuth request here has more than about 15 parameters (an authorization request with
/// PKCE, OIDC and resource indicators); 64 leaves room for extensions.
pub const MAX_PARAMS: usize = 64;
/// The longest value: a JWT assertion or a DPoP-bound request stays well under 8 KiB.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;
/// Parameter names are short ASCII words.
const MAX_NAME_BYTES: usize = 64;

/// Limits for one kind of form.
#[derive(Clone, Copy, Debug)]
pub struct FormLimits {
    pub max_pairs: usize,
    pub max_value_bytes: usize,
    /// Multi-line text fields (a console textarea) may carry TAB, CR and LF; nothing may carry
    /// any other control character.
    pub line_breaks: bool,
}

impl FormLimits {
    pub const OAUTH: Self = Self {
        max_pairs: MAX_PARAMS,
        max_value_bytes: MAX_VALUE_BYTES,
        line_breaks: false,
    };
}

/// Why a form was refused; `Display` is the description a client sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the parameters are not valid form encoding")]
    Encoding,
    #[error("too many parameters (at most {0})")]
    TooMany(usize),
    #[error("parameter '{0}' is too long")]
    TooLong(String),
    #[error("a parameter name is too long")]
    NameTooLong,
    #[error("parameter '{0}' contains a control character")]
    Control(String),
    #[error("parameter '{0}' is repeated")]
    Repeated(String),
}

impl From<FormError> for OAuthError {
    fn from(e: FormError) -> Self {
        OAuthError::invalid_request(e.to_string())
    }
}

/// The name/value pairs of `application/x-www-form-urlencoded` bytes, in order, decoded one at
/// a time so the work stops at the first pair over a limit. Control characters (C0 and DEL)
/// are refused in names and values: no form field of this server legitimately carries one,
/// and storage must never see a NUL.
pub fn read_pairs(bytes: &[u8], limits: FormLimits) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for raw in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        if out.len() == limits.max_pairs {
            return Err(FormError::TooMany(limits.max_pairs));
        }
        let (name, value) = match raw.iter().position(|b| *b == b'=') {
            Some(i) => (&raw[..i], &raw[i + 1..]),
            None => (raw, &raw[raw.len()..]),
        };
        // Percent-encoding only ever shrinks, so the encoded length bounds the decoded one.
        if name.len() > MAX_NAME_BYTES * 3 {
            return Err(FormError::NameTooLong);
        }
        let name = decode(name)?;
        if name.len() > MAX_NAME_BYTES {
            return Err(FormError::NameTooLong);
        }
        if has_control(&name) {
            return Err(FormError::Control(printable(&name)));
        }
        if value.len() > limits.max_value_bytes * 3 {
            return Err(FormError::TooLong(name));
        }
        let value = decode(value)?;
        if value.len() > limits.max_value_bytes {
            return Err(FormError::TooLong(name));
        }
        if value
            .bytes()
            .any(|b| is_control(b) && !(limits.line_breaks && b"\t\r\n".contains(&b)))
        {
            return Err(FormError::Control(name));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

pub(crate) fn has_control(s: &str) -> bool {
    s.bytes().any(is_control)
}

/// A name fit to quote in an error: its control characters escaped.
fn printable(s: &str) -> String {
    s.escape_default().collect()
}

/// Decodes one form-encoded component as the WHATWG URL standard does: '+' is a space, `%XY`
/// a byte, and a '%' not followed by two hex digits stands for itself. The result must be
/// UTF-8.
fn decode(s: &[u8]) -> Result<String, FormError> {
    // Most values (tokens, ids, grant types) have nothing to decode: copied as they are.
    if !s.iter().any(|b| matches!(b, b'+' | b'%')) {
        return std::str::from_utf8(s)
            .map(str::to_owned)
            .map_err(|_| FormError::Encoding);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(s.get(i + 1)), hex(s.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::Encoding)
}

/// The one parameter that may repeat: a request may name several resources (RFC 8707 §2).
const REPEATABLE: [&str; 1] = ["resource"];

#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn parse(bytes: &[u8]) -> OAuthResult<Self> {
        let pairs = read_pairs(bytes, FormLimits::OAUTH)?;
        let mut seen = HashSet::with_capacity(pairs.len());
        for (k, _) in &pairs {
            if !seen.insert(k.as_str()) && !REPEATABLE.contains(&k.as_str()) {
                return Err(FormError::Repeated(k.clone()).into());
            }
        }
        Ok(Self(
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        ))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter, in order (empty ones count as absent).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `resource` parameters (RFC 8707).
    pub fn resources(&self) -> Vec<&str> {
        self.all("resource").collect()
    }

    pub fn require(&self, name: &str) -> OAuthResult<&str> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter '{name}' is required")))
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_encoded_values_decode_alike() {
        // Nothing to decode (the fast path) and the same text encoded: the same pairs.
        let plain = read_pairs(b"token=a.b-c_d~e&x=1", FormLimits::OAUTH).unwrap();
        let coded = read_pairs(b"token=a%2Eb-c_d%7Ee&x=%31", FormLimits::OAUTH).unwrap();
        assert_eq!(plain, coded);
        assert_eq!(
            read_pairs(b"s=a+b%20c%zz", FormLimits::OAUTH).unwrap(),
            vec![("s".to_owned(), "a b c%zz".to_owned())]
        );
        // Not UTF-8, with or without escapes: refused.
        assert_eq!(
            read_pairs(b"s=\xff", FormLimits::OAUTH),
            Err(FormError::Encoding)
        );
        assert_eq!(
            read_pairs(b"s=%ff", FormLimits::OAUTH),
            Err(FormError::Encoding)
        );
        // Repeats are found among few pairs and many.
        let many: Vec<String> = (0..12).map(|i| format!("p{i}=v")).collect();
        let repeated = format!("{}&p3=w", many.join("&"));
        let e = Params::parse(repeated.as_bytes()).unwrap_err();
        assert_eq!(e.description(), "parameter 'p3' is repeated");
        let e = Params::parse(b"a=1&b=2&a=3").unwrap_err();
        assert_eq!(e.description(), "parameter 'a' is repeated");
        assert!(Params::parse(b"resource=x&resource=y&a=1").is_ok());
    }

    #[test]
    fn strict_parsing() {
        let p = Params::parse(b"grant_type=client_credentials&scope=&x=a%20b+c").unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("x"), Some("a b c"));
        let e = Params::parse(b"scope=a&scope=b").unwrap_err();
        assert_eq!(e.description(), "parameter 'scope' is repeated");
        assert!(p.require("code").is_err());
    }

    #[test]
    fn resource_may_repeat() {
        let p =
            Params::parse(b"resource=https%3A%2F%2Fa.test%2F&resource=urn%3Ax&resource=").unwrap();
        assert_eq!(p.resources(), vec!["https://a.test/", "urn:x"]);
        assert!(Params::parse(b"resource=a&scope=x&scope=y").is_err());
    }

    #[test]
    fn an_empty_copy_still_counts_as_a_repeat() {
        for body in [&b"scope=&scope=x"[..], b"scope=x&scope=", b"scope&scope=x"] {
            let e = Params::parse(body).unwrap_err();
            assert_eq!(e.description(), "parameter 'scope' is repeated", "{body:?}");
        }
    }

    #[test]
    fn limits_are_enforced_before_decoding_the_rest() {
        let many: String = (0..MAX_PARAMS + 1).map(|i| format!("p{i}=v&")).collect();
        assert_eq!(
            Params::parse(many.as_bytes()).unwrap_err().description(),
            format!("too many parameters (at most {MAX_PARAMS})")
        );
        let long = format!("code={}", "a".repeat(MAX_VALUE_BYTES + 1));
        assert_eq!(
            Params::parse(long.as_bytes()).unwrap_err().description(),
            "parameter 'code' is too long"
        );
        let ok = format!("code={}", "a".repeat(MAX_VALUE_BYTES));
        assert!(Params::parse(ok.as_bytes()).is_ok());
        let name = format!("{}=1", "n".repeat(65));
        assert_eq!(
            Params::parse(name.as_bytes()).unwrap_err().description(),
            "a parameter name is too long"
        );
    }

    #[test]
    fn control_characters_and_bad_encoding_are_refused() {
        for (body, expected) in [
            (
                &b"username=a%00b"[..],
                "parameter 'username' contains a control character",
            ),
            (
                b"scope=a%09b",
                "parameter 'scope' contains a control character",
            ),
            (
                b"scope=a%7Fb",
                "parameter 'scope' contains a control character",
            ),
            (b"x%0A=1", "parameter 'x\\n' contains a control character"),
            (b"code=%ff", "the parameters are not valid form encoding"),
            (b"code=%C3", "the parameters are not valid form encoding"),
        ] {
            assert_eq!(
                Params::parse(body).unwrap_err().description(),
                expected,
                "{body:?}"
            );
        }
        // A stray '%' stands for itself (WHATWG), as browsers and form libraries send it.
        let p = Params::parse(b"a=%zz&b=%4&c=100%").unwrap();
        assert_eq!(
            (p.get("a"), p.get("b"), p.get("c")),
            (Some("%zz"), Some("%4"), Some("100%"))
        );
        // Non-ASCII text is fine.
        assert_eq!(
            Params::parse("state=%C3%A9t%C3%A9".as_bytes())
                .unwrap()
                .get("state"),
            Some("été")
        );
    }

    #[test]
    fn a_large_body_of_distinct_parameters_stops_at_the_cap() {
        // 64 KiB of distinct names: refused at the 65th pair, whatever follows (even garbage).
        let mut body: String = (0..8000).map(|i| format!("k{i}=v&")).collect();
        body.push_str("%ff");
        assert_eq!(
            read_pairs(body.as_bytes(), FormLimits::OAUTH),
            Err(FormError::TooMany(MAX_PARAMS))
        );
    }

    #[test]
    fn textareas_may_break_lines() {
        let limits = FormLimits {
            line_breaks: true,
            ..FormLimits::OAUTH
        };
        let pairs = read_pairs(b"uris=a%0D%0Ab%09c", limits).unwrap();
        assert_eq!(pairs[0].1, "a\r\nb\tc");
        assert_eq!(
            read_pairs(b"uris=a%00", limits),
            Err(FormError::Control("uris".into()))
        );
    }
}
