//! Companies: the tenants of Portico.

use crate::{CompanyId, DomainError, DomainResult, validate};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The product edition decides which permission administers web services: Web Services
/// Administrator on Professional, Can Administer on Standard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    Standard,
    Professional,
}

impl Edition {
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Standard => "standard",
            Edition::Professional => "professional",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" => Some(Edition::Standard),
            "professional" => Some(Edition::Professional),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
    /// The company domain shown in an app's Application Authorization section.
    pub domain: String,
    pub edition: Edition,
    /// Development Partner companies (sandboxes) may register partner apps.
    pub development_partner: bool,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; the admin API's `ETag`.
    pub version: i64,
}

/// A validated request to create a company.
#[derive(Clone, Debug, Deserialize)]
pub struct NewCompany {
    pub name: String,
    pub domain: String,
    pub edition: Edition,
    #[serde(default)]
    pub development_partner: bool,
}

impl NewCompany {
    pub fn validate(mut self) -> DomainResult<Self> {
        self.name = validate::display_text("name", &self.name, 200)?;
        self.domain = validate_domain(&self.domain)?;
        Ok(self)
    }
}

/// Changes to a company; only the operator's staff makes them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyChanges {
    pub name: Option<String>,
    pub edition: Option<Edition>,
    pub development_partner: Option<bool>,
    pub enabled: Option<bool>,
}

impl CompanyChanges {
    pub fn apply(self, company: &Company) -> DomainResult<Company> {
        let mut next = company.clone();
        if let Some(name) = self.name {
            next.name = validate::display_text("name", &name, 200)?;
        }
        if let Some(edition) = self.edition {
            next.edition = edition;
        }
        if let Some(dp) = self.development_partner {
            next.development_partner = dp;
        }
        if let Some(enabled) = self.enabled {
            next.enabled = enabled;
        }
        Ok(next)
    }
}

/// A company domain: a DNS name, lower-cased, at least two labels.
pub fn validate_domain(domain: &str) -> DomainResult<String> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if d.len() > 253 || d.split('.').count() < 2 || !d.split('.').all(ok_label) {
        return Err(DomainError::invalid(
            "domain",
            "must be a DNS name such as example.com",
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(validate_domain(" Acme.Example. ").unwrap(), "acme.example");
        for bad in ["", "localhost", "a..b", "-a.com", "a_b.com", "a b.com"] {
            assert!(validate_domain(bad).is_err(), "{bad}");
        }
    }
}
