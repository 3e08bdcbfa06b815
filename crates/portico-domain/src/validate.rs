//! Small validators shared by the domain types; each names the field it rejects.

use crate::{DomainError, DomainResult};

/// A one-line human text: trimmed, not empty, at most `max` characters, no control characters.
pub fn display_text(field: &str, value: &str, max: usize) -> DomainResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}

/// A multi-line text that may be empty: at most `max` characters; tabs and newlines allowed.
pub fn long_text(field: &str, value: &str, max: usize) -> DomainResult<String> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}
