//! Scope resolution: what a token may carry, given what was asked for and what the app
//! registered.

use crate::ApiCatalog;
use std::collections::BTreeSet;
use std::fmt;

/// A set of scope tokens (RFC 6749 §3.3), kept sorted so its string form is stable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

/// Why a requested scope cannot be granted; each names the scope so the client can fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("the scope parameter is malformed")]
    Malformed,
    #[error("scope '{0}' is not registered for this application")]
    NotRegistered(String),
    #[error("sensitive data group '{group}' can only be requested together with its API '{api}'")]
    GroupWithoutApi { group: String, api: String },
    #[error("scope '{0}' exceeds the scope originally granted")]
    NotGranted(String),
    /// The app registered the scope, but the API catalog no longer offers it to the app (the
    /// API was withdrawn, or the sensitive data group moved to an API the app did not register).
    #[error("scope '{0}' is no longer offered to this application by the API catalog")]
    NotOffered(String),
    #[error("the application registered no APIs, so there is no scope to grant")]
    NothingRegistered,
    #[error("none of the application's registered scopes is offered by the API catalog any more")]
    NothingOffered,
    #[error("none of the granted scopes is still registered for this application")]
    NothingStillRegistered,
    /// OpenID Connect's identity scopes are about a user (or a company): client credentials
    /// carry no ID token.
    #[error("scope '{0}' needs a user: the client credentials grant carries no identity")]
    IdentityWithoutUser(String),
}

impl ScopeSet {
    /// Parses a space-delimited scope parameter. Scope tokens are `%x21 / %x23-5B / %x5D-7E`.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        let valid = |t: &str| {
            t.bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        };
        let mut set = BTreeSet::new();
        for token in s.split(' ') {
            if token.is_empty() {
                continue;
            }
            if !valid(token) {
                return Err(ScopeError::Malformed);
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This set with `words` added.
    pub fn with<'a>(&self, words: impl IntoIterator<Item = &'a str>) -> ScopeSet {
        let mut set = self.0.clone();
        set.extend(words.into_iter().map(str::to_owned));
        ScopeSet(set)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Drops every scope not in `allowed`.
    pub fn retain_in(&self, allowed: &BTreeSet<String>) -> ScopeSet {
        ScopeSet(self.0.intersection(allowed).cloned().collect())
    }

    /// The sensitive data groups among these scopes.
    pub fn sensitive_data_groups(&self, catalog: &ApiCatalog) -> Vec<String> {
        self.0
            .iter()
            .filter(|s| catalog.is_sensitive_data_group(s))
            .cloned()
            .collect()
    }
}

impl From<BTreeSet<String>> for ScopeSet {
    fn from(set: BTreeSet<String>) -> Self {
        Self(set)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

/// The scope of a new grant: everything the app registered when nothing (or an empty string)
/// is requested; otherwise exactly what was requested, each scope registered, each sensitive
/// data group together with its API.
pub fn resolve_scope(
    requested: Option<&str>,
    registered: &BTreeSet<String>,
    catalog: &ApiCatalog,
) -> Result<ScopeSet, ScopeError> {
    let requested = match requested.map(ScopeSet::parse).transpose()? {
        Some(set) if !set.is_empty() => set,
        _ => return Ok(ScopeSet(registered.clone())),
    };
    for scope in requested.iter() {
        if !registered.contains(scope) {
            return Err(ScopeError::NotRegistered(scope.to_owned()));
        }
        if let Some(api) = catalog.group_owner(scope)
            && !requested.contains(&api.scope)
        {
            return Err(ScopeError::GroupWithoutApi {
                group: scope.to_owned(),
                api: api.scope.clone(),
            });
        }
    }
    Ok(requested)
}

/// The scope of a refreshed token: a subset of the original grant (RFC 6749 §6), limited to
/// what the app still registers now (a scope the app dropped is not carried forward).
pub fn narrow_scope(
    requested: Option<&str>,
    original: &ScopeSet,
    registered_now: &BTreeSet<String>,
) -> Result<ScopeSet, ScopeError> {
    let wanted = match requested.map(ScopeSet::parse).transpose()? {
        Some(set) if !set.is_empty() => set,
        _ => original.clone(),
    };
    if let Some(extra) = wanted.iter().find(|s| !original.contains(s)) {
        return Err(ScopeError::NotGranted(extra.to_owned()));
    }
    Ok(wanted.retain_in(registered_now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ApiCatalog {
        ApiCatalog::parse("apis.toml", include_str!("../../../config/apis.toml")).unwrap()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nothing_requested_means_everything_registered() {
        let reg = set(&["expense.report.read", "travel.profile.read"]);
        assert_eq!(
            resolve_scope(None, &reg, &catalog()).unwrap().to_string(),
            "expense.report.read travel.profile.read"
        );
        assert_eq!(resolve_scope(Some(""), &reg, &catalog()).unwrap().0, reg);
    }

    #[test]
    fn unregistered_scopes_are_named() {
        let reg = set(&["expense.report.read"]);
        assert_eq!(
            resolve_scope(Some("expense.report.read user.read"), &reg, &catalog()),
            Err(ScopeError::NotRegistered("user.read".into()))
        );
        assert_eq!(
            resolve_scope(Some("a\"b"), &reg, &catalog()),
            Err(ScopeError::Malformed)
        );
    }

    #[test]
    fn groups_need_their_api() {
        let reg = set(&["travel.profile.read", "travel.profile.passport"]);
        assert!(matches!(
            resolve_scope(Some("travel.profile.passport"), &reg, &catalog()),
            Err(ScopeError::GroupWithoutApi { .. })
        ));
        let granted = resolve_scope(
            Some("travel.profile.read  travel.profile.passport"),
            &reg,
            &catalog(),
        )
        .unwrap();
        assert_eq!(
            granted.sensitive_data_groups(&catalog()),
            vec!["travel.profile.passport"]
        );
    }

    #[test]
    fn refresh_narrows_only() {
        let original = ScopeSet(set(&["a", "b"]));
        let reg = set(&["a", "b"]);
        assert_eq!(
            narrow_scope(Some("a"), &original, &reg)
                .unwrap()
                .to_string(),
            "a"
        );
        assert_eq!(
            narrow_scope(Some("a c"), &original, &reg),
            Err(ScopeError::NotGranted("c".into()))
        );
        assert_eq!(
            narrow_scope(None, &original, &set(&["b"]))
                .unwrap()
                .to_string(),
            "b"
        );
    }
}
