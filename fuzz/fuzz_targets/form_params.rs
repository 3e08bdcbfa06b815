//! The form parser (`portico_oauth::params`): every OAuth endpoint's body and query, the consent
//! form and the console's forms. Checks the limits and the refusals hold on whatever is accepted,
//! and that what is accepted decodes exactly as the WHATWG form decoder (`form_urlencoded`) does.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "timing.rs"]
mod timing;
use portico_oauth::params::{FormLimits, MAX_PARAMS, MAX_VALUE_BYTES, Params, read_pairs};
use std::collections::HashSet;

/// The console's forms (`crates/portico-http/src/console/forms.rs`).
const CONSOLE: FormLimits = FormLimits {
    max_pairs: 256,
    max_value_bytes: 16 * 1024,
    line_breaks: true,
};
/// The consent form (`crates/portico-http/src/oauth/authorize.rs`).
const CONSENT: FormLimits = FormLimits {
    max_pairs: MAX_PARAMS + 2,
    ..FormLimits::OAUTH
};

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn check_pairs(data: &[u8], limits: FormLimits) -> Option<Vec<(String, String)>> {
    let pairs = read_pairs(data, limits).ok()?;
    assert!(pairs.len() <= limits.max_pairs, "{} pairs", pairs.len());
    for (name, value) in &pairs {
        assert!(name.len() <= 64, "name of {} bytes", name.len());
        assert!(!name.bytes().any(is_control), "control in name {name:?}");
        assert!(
            value.len() <= limits.max_value_bytes,
            "value of {} bytes",
            value.len()
        );
        assert!(
            !value
                .bytes()
                .any(|b| is_control(b) && !(limits.line_breaks && b"\t\r\n".contains(&b))),
            "control in value {value:?}"
        );
    }
    // Accepted input is well-formed, so the lenient standard decoder must agree pair for pair.
    let reference: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(pairs, reference);
    Some(pairs)
}

fuzz_target!(|data: &[u8]| timing::timed(data, || {
    let oauth = check_pairs(data, FormLimits::OAUTH);
    let consent = check_pairs(data, CONSENT);
    let console = check_pairs(data, CONSOLE);
    // Looser limits accept everything tighter ones do, and the same pairs.
    if let Some(p) = &oauth {
        assert_eq!(consent.as_ref(), Some(p));
    }
    if let Some(p) = &consent {
        // CONSOLE allows more pairs, longer values and line breaks: a superset.
        assert!(p.iter().all(|(_, v)| v.len() <= MAX_VALUE_BYTES));
        assert_eq!(console.as_ref(), Some(p));
    }

    match Params::parse(data) {
        Ok(params) => {
            let pairs = oauth.expect("Params accepted what read_pairs refused");
            let names: HashSet<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names.len(), pairs.len(), "a repeated name was accepted");
            let mut seen = HashSet::new();
            for (k, v) in params.pairs() {
                assert!(seen.insert(k), "repeated parameter {k:?}");
                assert!(!v.is_empty(), "empty parameter {k:?} kept");
                assert_eq!(params.get(k), Some(v));
            }
            // Exactly the non-empty pairs, in order.
            let kept: Vec<(&str, &str)> = pairs
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(params.pairs().collect::<Vec<_>>(), kept);
        }
        Err(e) => {
            // Refused only for a reason read_pairs gave, or a repeat.
            if let Some(pairs) = &oauth {
                let names: HashSet<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                assert!(names.len() < pairs.len(), "refused without a repeat: {e:?}");
            }
            assert!(!e.description().is_empty());
        }
    }
}));
