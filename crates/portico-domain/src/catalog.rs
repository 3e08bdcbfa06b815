//! The API catalog: the Web Service APIs a partner app may use, the sensitive data groups
//! beneath each, and which APIs depend on which. It is data (`config/apis.toml`), read once at
//! start; a malformed catalog stops the server with the file, line and problem.

use crate::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use toml::Spanned;

/// One Web Service API, granted as one scope.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebServiceApi {
    pub scope: String,
    pub title: String,
    pub description: String,
    /// Scopes of the APIs this one cannot work without.
    pub requires: Vec<String>,
    pub sensitive_data_groups: Vec<SensitiveDataGroup>,
    /// Its resource indicator (RFC 8707): a token asked for this resource is for this API (and
    /// any other API sharing the URI). `urn:portico:api:<scope>` unless the catalog names one.
    pub resource: String,
}

/// A sensitive part of an API's data (a Travel Profile's passport section, say), granted as its
/// own scope and only together with its API.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SensitiveDataGroup {
    pub scope: String,
    pub title: String,
    pub description: String,
    /// The legacy Concur code (PASSV, MEDIC, ...), for reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The APIs an app registers: an API scope and the sensitive data groups chosen beneath it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSelection {
    pub api: String,
    #[serde(default)]
    pub sensitive_data_groups: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ApiCatalog {
    apis: Vec<WebServiceApi>,
    /// scope -> (api index, Some(group index) for a sensitive data group)
    index: HashMap<String, (usize, Option<usize>)>,
}

/// A catalog that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CatalogError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

// The file format, with spans so that every problem can name its line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    api: Vec<ApiEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiEntry {
    scope: Spanned<String>,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    requires: Vec<Spanned<String>>,
    #[serde(default)]
    sensitive_data_group: Vec<GroupEntry>,
    resource: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupEntry {
    scope: Spanned<String>,
    title: String,
    #[serde(default)]
    description: String,
    code: Option<String>,
}

/// RFC 6749 §3.3 allows more, but a narrow alphabet keeps scopes readable and safe everywhere.
fn valid_scope_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

impl ApiCatalog {
    /// Parses and checks a catalog; `file` is only used in error messages.
    pub fn parse(file: &str, text: &str) -> Result<Self, CatalogError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let fail = |offset: usize, message: String| CatalogError {
            file: file.to_owned(),
            line: line_of(offset),
            message,
        };
        let parsed: CatalogFile = toml::from_str(text).map_err(|e| {
            fail(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_owned(),
            )
        })?;
        if parsed.api.is_empty() {
            return Err(fail(0, "the catalog lists no [[api]]".into()));
        }

        let mut index = HashMap::new();
        let mut apis = Vec::with_capacity(parsed.api.len());
        let mut seen = |scope: &Spanned<String>, at: (usize, Option<usize>)| {
            if !valid_scope_name(scope.get_ref()) {
                return Err(fail(
                    scope.span().start,
                    format!(
                        "scope '{}' must be 1-100 characters of a-z, 0-9, '.', '_' or '-'",
                        scope.get_ref()
                    ),
                ));
            }
            if index.insert(scope.get_ref().clone(), at).is_some() {
                return Err(fail(
                    scope.span().start,
                    format!("scope '{}' is listed twice", scope.get_ref()),
                ));
            }
            Ok(())
        };
        for (i, entry) in parsed.api.iter().enumerate() {
            seen(&entry.scope, (i, None))?;
            if entry.title.trim().is_empty() {
                return Err(fail(
                    entry.scope.span().start,
                    format!("API '{}' has an empty title", entry.scope.get_ref()),
                ));
            }
            let mut groups = Vec::new();
            for (g, group) in entry.sensitive_data_group.iter().enumerate() {
                seen(&group.scope, (i, Some(g)))?;
                if group.title.trim().is_empty() {
                    return Err(fail(
                        group.scope.span().start,
                        format!(
                            "sensitive data group '{}' has an empty title",
                            group.scope.get_ref()
                        ),
                    ));
                }
                groups.push(SensitiveDataGroup {
                    scope: group.scope.get_ref().clone(),
                    title: group.title.trim().to_owned(),
                    description: group.description.trim().to_owned(),
                    code: group.code.clone(),
                });
            }
            let resource = match &entry.resource {
                Some(r) => {
                    crate::resource::validate_resource(r.get_ref()).map_err(|e| {
                        fail(
                            r.span().start,
                            format!("API '{}': {e}", entry.scope.get_ref()),
                        )
                    })?;
                    r.get_ref().clone()
                }
                None => format!("urn:portico:api:{}", entry.scope.get_ref()),
            };
            apis.push(WebServiceApi {
                resource,
                scope: entry.scope.get_ref().clone(),
                title: entry.title.trim().to_owned(),
                description: entry.description.trim().to_owned(),
                requires: entry.requires.iter().map(|r| r.get_ref().clone()).collect(),
                sensitive_data_groups: groups,
            });
        }
        // Dependencies must name APIs (not groups, not themselves) that exist.
        for entry in &parsed.api {
            for req in &entry.requires {
                match index.get(req.get_ref()) {
                    Some((_, None)) if req.get_ref() != entry.scope.get_ref() => {}
                    Some((_, None)) => {
                        return Err(fail(
                            req.span().start,
                            format!("API '{}' requires itself", req.get_ref()),
                        ));
                    }
                    Some((_, Some(_))) => {
                        return Err(fail(
                            req.span().start,
                            format!(
                                "'{}' is a sensitive data group; requires names APIs",
                                req.get_ref()
                            ),
                        ));
                    }
                    None => {
                        return Err(fail(
                            req.span().start,
                            format!(
                                "API '{}' requires unknown API '{}'",
                                entry.scope.get_ref(),
                                req.get_ref()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(Self { apis, index })
    }

    pub fn apis(&self) -> &[WebServiceApi] {
        &self.apis
    }

    pub fn api(&self, scope: &str) -> Option<&WebServiceApi> {
        match self.index.get(scope) {
            Some((i, None)) => Some(&self.apis[*i]),
            _ => None,
        }
    }

    /// The API a sensitive data group belongs to, if `scope` is one.
    pub fn group_owner(&self, scope: &str) -> Option<&WebServiceApi> {
        match self.index.get(scope) {
            Some((i, Some(_))) => Some(&self.apis[*i]),
            _ => None,
        }
    }

    pub fn is_sensitive_data_group(&self, scope: &str) -> bool {
        self.group_owner(scope).is_some()
    }

    /// Checks an app's API selection: every API known and chosen once, every sensitive data
    /// group under the API it belongs to, every dependency chosen too (never added silently).
    /// Returns the selection normalized (groups de-duplicated and sorted).
    pub fn validate_selection(
        &self,
        selection: &[ApiSelection],
    ) -> DomainResult<Vec<ApiSelection>> {
        let mut chosen = BTreeSet::new();
        let mut out = Vec::with_capacity(selection.len());
        for (i, sel) in selection.iter().enumerate() {
            let field = format!("apis[{i}].api");
            let Some(api) = self.api(&sel.api) else {
                let hint = match self.group_owner(&sel.api) {
                    Some(owner) => format!(
                        "'{}' is a sensitive data group of {}; list it under that API",
                        sel.api, owner.title
                    ),
                    None => format!("unknown API '{}'", sel.api),
                };
                return Err(DomainError::invalid(field, hint));
            };
            if !chosen.insert(api.scope.as_str()) {
                return Err(DomainError::invalid(
                    field,
                    format!("{} is listed twice", api.title),
                ));
            }
            let mut groups = BTreeSet::new();
            for group in &sel.sensitive_data_groups {
                let gfield = format!("apis[{i}].sensitive_data_groups");
                match self.group_owner(group) {
                    Some(owner) if owner.scope == api.scope => {
                        groups.insert(group.clone());
                    }
                    Some(owner) => {
                        return Err(DomainError::invalid(
                            gfield,
                            format!(
                                "sensitive data group '{group}' belongs to {} ({}), not to {}",
                                owner.title, owner.scope, api.title
                            ),
                        ));
                    }
                    None => {
                        return Err(DomainError::invalid(
                            gfield,
                            format!("'{group}' is not a sensitive data group of {}", api.title),
                        ));
                    }
                }
            }
            out.push(ApiSelection {
                api: api.scope.clone(),
                sensitive_data_groups: groups.into_iter().collect(),
            });
        }
        for sel in &out {
            let api = self.api(&sel.api).expect("checked above");
            for req in &api.requires {
                if !chosen.contains(req.as_str()) {
                    let needed = self
                        .api(req)
                        .expect("catalog dependencies are checked at load");
                    return Err(DomainError::invalid(
                        "apis",
                        format!(
                            "{} requires {} ({}); add it to the APIs used",
                            api.title, needed.title, needed.scope
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Every scope a selection registers: its API scopes and sensitive-data-group scopes.
    pub fn scopes_of(selection: &[ApiSelection]) -> BTreeSet<String> {
        selection
            .iter()
            .flat_map(|s| std::iter::once(&s.api).chain(&s.sensitive_data_groups))
            .cloned()
            .collect()
    }

    /// The scopes a resource URI of the catalog serves: every API with that resource, with its
    /// sensitive data groups. `None` if no API has it.
    pub fn resource_scopes(&self, resource: &str) -> Option<BTreeSet<String>> {
        let mut scopes = BTreeSet::new();
        for api in self.apis.iter().filter(|a| a.resource == resource) {
            scopes.insert(api.scope.clone());
            scopes.extend(api.sensitive_data_groups.iter().map(|g| g.scope.clone()));
        }
        (!scopes.is_empty()).then_some(scopes)
    }

    /// Every resource URI of the catalog, once each, in catalog order.
    pub fn resources(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for api in &self.apis {
            if !out.contains(&api.resource.as_str()) {
                out.push(&api.resource);
            }
        }
        out
    }

    /// Every scope the catalog knows, APIs and groups alike, in catalog order.
    pub fn all_scopes(&self) -> impl Iterator<Item = &str> {
        self.apis.iter().flat_map(|a| {
            std::iter::once(a.scope.as_str())
                .chain(a.sensitive_data_groups.iter().map(|g| g.scope.as_str()))
        })
    }
}

impl fmt::Display for WebServiceApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.title, self.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[[api]]
scope = "expense.report.read"
title = "Expense Report"

[[api]]
scope = "quickexpense.writeonly"
title = "Quick Expense"
requires = ["expense.report.read"]

[[api]]
scope = "travel.profile.read"
title = "Travel Profile"

[[api.sensitive_data_group]]
scope = "travel.profile.passport"
title = "Passport / Visa"
code = "PASSV"
"#;

    fn sel(api: &str, groups: &[&str]) -> ApiSelection {
        ApiSelection {
            api: api.into(),
            sensitive_data_groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn field_of(e: DomainError) -> (String, String) {
        match e {
            DomainError::Invalid { field, message } => (field, message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn the_shipped_catalog_parses() {
        let text = include_str!("../../../config/apis.toml");
        let c = ApiCatalog::parse("config/apis.toml", text).unwrap();
        assert!(
            c.api("travel.profile.read")
                .unwrap()
                .sensitive_data_groups
                .len()
                >= 7
        );
        assert!(
            c.api("quickexpense.writeonly")
                .unwrap()
                .requires
                .contains(&"expense.report.read".to_string())
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = ApiCatalog::parse("apis.toml", "[[api]]\nscope = \"a\"\ntitle = 3\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("apis.toml", 3));
        let text = "[[api]]\nscope = \"a\"\ntitle = \"A\"\nrequires = [\"zz\"]\n";
        let e = ApiCatalog::parse("apis.toml", text).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("unknown API 'zz'"), "{e}");
        let dup = "[[api]]\nscope = \"a\"\ntitle = \"A\"\n[[api]]\nscope = \"a\"\ntitle = \"B\"\n";
        let e = ApiCatalog::parse("apis.toml", dup).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(
            e.to_string()
                .starts_with("apis.toml:5: scope 'a' is listed twice")
        );
        let e =
            ApiCatalog::parse("apis.toml", "[[api]]\nscope = \"A B\"\ntitle = \"x\"").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn selection_rules() {
        let c = ApiCatalog::parse("t", SAMPLE).unwrap();
        let ok = c
            .validate_selection(&[
                sel("expense.report.read", &[]),
                sel("quickexpense.writeonly", &[]),
                sel(
                    "travel.profile.read",
                    &["travel.profile.passport", "travel.profile.passport"],
                ),
            ])
            .unwrap();
        assert_eq!(ok[2].sensitive_data_groups, vec!["travel.profile.passport"]);

        let (field, msg) = field_of(
            c.validate_selection(&[sel("quickexpense.writeonly", &[])])
                .unwrap_err(),
        );
        assert_eq!(field, "apis");
        assert!(msg.contains("Expense Report"), "{msg}");

        let (field, msg) = field_of(c.validate_selection(&[sel("nope", &[])]).unwrap_err());
        assert_eq!(field, "apis[0].api");
        assert!(msg.contains("unknown API 'nope'"));

        let (field, _) = field_of(
            c.validate_selection(&[sel("expense.report.read", &["travel.profile.passport"])])
                .unwrap_err(),
        );
        assert_eq!(field, "apis[0].sensitive_data_groups");

        let (field, msg) = field_of(
            c.validate_selection(&[sel("travel.profile.passport", &[])])
                .unwrap_err(),
        );
        assert_eq!(field, "apis[0].api");
        assert!(msg.contains("sensitive data group of Travel Profile"));
    }
}
