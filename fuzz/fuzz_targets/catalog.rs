//! The API catalog file (`ApiCatalog::parse`), read at start and by `portico check-config`:
//! any text either fails with a file:line inside the text, or gives a catalog whose rules hold
//! (valid, unique scopes; dependencies naming other APIs; groups findable under their API).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "timing.rs"]
mod timing;
use portico_domain::{ApiCatalog, ApiSelection};
use std::collections::HashSet;

fn valid_scope(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

fuzz_target!(|data: &[u8]| timing::timed(data, || {
    let text = String::from_utf8_lossy(data);
    match ApiCatalog::parse("fuzz.toml", &text) {
        Err(e) => {
            assert_eq!(e.file, "fuzz.toml");
            let lines = text.matches('\n').count() + 1;
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
            assert!(
                e.to_string()
                    .starts_with(&format!("fuzz.toml:{}: ", e.line))
            );
        }
        Ok(c) => {
            assert!(!c.apis().is_empty());
            let mut scopes = HashSet::new();
            for api in c.apis() {
                assert!(valid_scope(&api.scope), "{:?}", api.scope);
                assert!(scopes.insert(api.scope.as_str()), "{} twice", api.scope);
                assert!(!api.title.is_empty() && api.title.trim() == api.title);
                assert_eq!(c.api(&api.scope), Some(api));
                assert!(!c.is_sensitive_data_group(&api.scope));
                for g in &api.sensitive_data_groups {
                    assert!(valid_scope(&g.scope), "{:?}", g.scope);
                    assert!(scopes.insert(g.scope.as_str()), "{} twice", g.scope);
                    assert_eq!(c.group_owner(&g.scope), Some(api));
                    assert!(c.api(&g.scope).is_none());
                }
                for r in &api.requires {
                    assert_ne!(r, &api.scope);
                    assert!(c.api(r).is_some(), "requires unknown {r}");
                }
            }
            assert_eq!(c.all_scopes().count(), scopes.len());
            // Choosing every API with all its groups is always a valid selection.
            let all: Vec<ApiSelection> = c
                .apis()
                .iter()
                .map(|a| ApiSelection {
                    api: a.scope.clone(),
                    sensitive_data_groups: a
                        .sensitive_data_groups
                        .iter()
                        .map(|g| g.scope.clone())
                        .collect(),
                })
                .collect();
            c.validate_selection(&all)
                .expect("the whole catalog is a valid selection");
        }
    }
}));
