//! Resource indicators (RFC 8707): which protected resources a token is for. A resource is an
//! API of the catalog (its `resource` URI), the platform's APIs as a whole (the configured
//! default audience), or an app the operator's staff marked as a resource server. Each serves
//! a set of scopes; a token asked for some resources carries them as its audience and only the
//! scopes they serve.

use crate::ScopeSet;
use std::collections::BTreeSet;

/// The longest resource URI accepted.
pub const MAX_RESOURCE_LEN: usize = 2000;

/// At most this many `resource` parameters in one request (RFC 8707 §3 encourages one).
pub const MAX_RESOURCES: usize = 8;

/// Why the resources asked cannot be served: every case is RFC 8707's `invalid_target`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("resource must be an absolute URI without a fragment: {0}")]
    Malformed(String),
    #[error("resource is not known to this server: {0}")]
    Unknown(String),
    #[error("resource was not granted: {0}")]
    NotGranted(String),
    #[error("too many resource parameters (at most {MAX_RESOURCES})")]
    TooMany,
    #[error("the requested resources serve none of the application's scopes")]
    NoScope,
    #[error("scope {0} is not served by the requested resources")]
    ScopeNotServed(String),
}

/// Checks a resource indicator's form (RFC 8707 §2): an absolute URI (a scheme, then
/// something), no fragment, no whitespace or control characters.
pub fn validate_resource(uri: &str) -> Result<(), TargetError> {
    let malformed = || TargetError::Malformed(uri.chars().take(100).collect());
    if uri.is_empty()
        || uri.len() > MAX_RESOURCE_LEN
        || uri.contains('#')
        || uri.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(malformed());
    }
    match url::Url::parse(uri) {
        Ok(u) if !u.cannot_be_a_base() || u.scheme() == "urn" => Ok(()),
        _ => Err(malformed()),
    }
}

/// The resources a token is for, and the scopes they serve together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The token's audience, in the order asked.
    pub resources: Vec<String>,
    /// Every scope the resources serve.
    pub scopes: BTreeSet<String>,
}

/// The target of a token request. `asked`: the `resource` parameters; `granted`: the resources
/// the grant (authorization code, refresh token) is bound to, `None` if it is not bound;
/// `serves`: the scopes a known resource serves, `None` for an unknown one.
///
/// Nothing asked: the grant's resources, or `None` (the default audience) for an unbound
/// grant. Something asked: each must be well-formed, known, and within the grant's resources.
pub fn resolve_target(
    asked: &[&str],
    granted: Option<&[String]>,
    serves: impl Fn(&str) -> Option<BTreeSet<String>>,
) -> Result<Option<Target>, TargetError> {
    if asked.len() > MAX_RESOURCES {
        return Err(TargetError::TooMany);
    }
    for r in asked {
        validate_resource(r)?;
    }
    let chosen: Vec<String> = if asked.is_empty() {
        match granted {
            None | Some([]) => return Ok(None),
            Some(g) => g.to_vec(),
        }
    } else {
        let mut chosen: Vec<String> = Vec::new();
        for r in asked {
            if !chosen.iter().any(|c| c == r) {
                chosen.push((*r).to_owned());
            }
        }
        chosen
    };
    let mut scopes = BTreeSet::new();
    for r in &chosen {
        let served = serves(r).ok_or_else(|| TargetError::Unknown(r.clone()))?;
        if let Some(g) = granted
            && !g.is_empty()
            && !g.contains(r)
        {
            return Err(TargetError::NotGranted(r.clone()));
        }
        scopes.extend(served);
    }
    Ok(Some(Target {
        resources: chosen,
        scopes,
    }))
}

impl Target {
    /// The part of `scope` these resources serve. `explicit`: the request named its scope, so
    /// a scope the resources do not serve is an error rather than dropped.
    pub fn narrow(&self, scope: &ScopeSet, explicit: bool) -> Result<ScopeSet, TargetError> {
        if explicit && let Some(s) = scope.iter().find(|s| !self.scopes.contains(*s)) {
            return Err(TargetError::ScopeNotServed(s.to_owned()));
        }
        let narrowed = scope.retain_in(&self.scopes);
        if narrowed.is_empty() {
            return Err(TargetError::NoScope);
        }
        Ok(narrowed)
    }
}

/// Resources as stored with a grant or code: space-separated (a resource URI has no spaces).
pub fn join_resources(resources: &[String]) -> Option<String> {
    (!resources.is_empty()).then(|| resources.join(" "))
}

pub fn split_resources(stored: Option<&str>) -> Option<Vec<String>> {
    stored
        .filter(|s| !s.is_empty())
        .map(|s| s.split(' ').map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn serves(r: &str) -> Option<BTreeSet<String>> {
        match r {
            "https://api.test/expense" => Some(set(&["expense.report.read"])),
            "https://api.test/travel" => {
                Some(set(&["travel.profile.read", "travel.profile.passport"]))
            }
            "urn:portico:api" => Some(set(&["expense.report.read", "travel.profile.read"])),
            _ => None,
        }
    }

    #[test]
    fn form_of_a_resource() {
        for ok in [
            "https://api.test/expense",
            "urn:portico:api",
            "https://api.test/x?tenant=1",
        ] {
            assert_eq!(validate_resource(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/expense",
            "api.test/expense",
            "https://api.test/expense#frag",
            "https://api.test/ex pense",
            "mailto:someone",
        ] {
            assert!(
                matches!(validate_resource(bad), Err(TargetError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn targets() {
        assert_eq!(resolve_target(&[], None, serves), Ok(None));
        let t = resolve_target(&["https://api.test/expense"], None, serves)
            .unwrap()
            .unwrap();
        assert_eq!(t.resources, vec!["https://api.test/expense"]);
        assert_eq!(t.scopes, set(&["expense.report.read"]));
        // Unknown, relative, fragment, and a mix of valid and invalid.
        assert_eq!(
            resolve_target(&["https://other.test/"], None, serves),
            Err(TargetError::Unknown("https://other.test/".into()))
        );
        assert!(matches!(
            resolve_target(&["https://api.test/expense", "/travel"], None, serves),
            Err(TargetError::Malformed(_))
        ));
        // Bound to the grant's resources: nothing asked means all of them; a subset narrows;
        // another resource is refused.
        let granted = vec![
            "https://api.test/expense".to_owned(),
            "https://api.test/travel".to_owned(),
        ];
        let all = resolve_target(&[], Some(&granted), serves)
            .unwrap()
            .unwrap();
        assert_eq!(all.resources, granted);
        let one = resolve_target(&["https://api.test/travel"], Some(&granted), serves)
            .unwrap()
            .unwrap();
        assert_eq!(one.resources, vec!["https://api.test/travel"]);
        assert_eq!(
            resolve_target(&["urn:portico:api"], Some(&granted[..1]), serves),
            Err(TargetError::NotGranted("urn:portico:api".into()))
        );
        let many: Vec<&str> =
            std::iter::repeat_n("https://api.test/expense", MAX_RESOURCES + 1).collect();
        assert_eq!(
            resolve_target(&many, None, serves),
            Err(TargetError::TooMany)
        );
    }

    #[test]
    fn scopes_within_the_target() {
        let t = resolve_target(&["https://api.test/travel"], None, serves)
            .unwrap()
            .unwrap();
        let asked = ScopeSet::parse("travel.profile.read expense.report.read").unwrap();
        assert_eq!(
            t.narrow(&asked, false).unwrap().to_string(),
            "travel.profile.read"
        );
        assert_eq!(
            t.narrow(&asked, true),
            Err(TargetError::ScopeNotServed("expense.report.read".into()))
        );
        let none = ScopeSet::parse("expense.report.read").unwrap();
        assert_eq!(t.narrow(&none, false), Err(TargetError::NoScope));
        assert_eq!(join_resources(&[]), None);
        let stored = join_resources(&t.resources);
        assert_eq!(
            split_resources(stored.as_deref()),
            Some(t.resources.clone())
        );
    }
}
