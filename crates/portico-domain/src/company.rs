//! Companies: the tenants of Portico.

use crate::{CompanyId, DomainError, DomainResult, validate};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The product edition decides which permission administers web services: Web Services
/// Administrator on Professional, Can Administer on Standard.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
    /// The company domain shown in an app's Application Authorization section.
    pub domain: String,
    pub edition: Edition,
    /// Development Partner companies (sandboxes) may register partner apps.
    pub development_partner: bool,
    /// Set by staff on a client company (not a Development Partner): it may register apps for
    /// its own use, always Private to it and never submitted for review.
    #[serde(default)]
    pub own_use_apps: bool,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; the admin API's `ETag`.
    pub version: i64,
}

/// A validated request to create a company.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewCompany {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_200))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::domain))]
    pub domain: String,
    pub edition: Edition,
    #[serde(default)]
    pub development_partner: bool,
    #[serde(default)]
    pub own_use_apps: bool,
}

impl NewCompany {
    pub fn validate(mut self) -> DomainResult<Self> {
        self.name = validate::display_text("name", &self.name, 200)?;
        self.domain = validate_domain(&self.domain)?;
        if self.own_use_apps && self.development_partner {
            return Err(own_use_conflict());
        }
        Ok(self)
    }
}

impl Company {
    /// Whether the company's admins may register apps: a Development Partner's (sandbox apps,
    /// which may be certified), or a client company's that staff allowed to build its own.
    pub fn registers_apps(&self) -> bool {
        self.development_partner || self.own_use_apps
    }

    /// Own use is what a client company has instead of being a Development Partner.
    fn check_app_building(&self) -> DomainResult<()> {
        if self.own_use_apps && self.development_partner {
            return Err(own_use_conflict());
        }
        Ok(())
    }
}

fn own_use_conflict() -> DomainError {
    DomainError::invalid(
        "own_use_apps",
        "a Development Partner registers sandbox apps already; own use is for client companies",
    )
}

/// Changes to a company; only the operator's staff makes them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyChanges {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_200_or_null))]
    pub name: Option<String>,
    pub edition: Option<Edition>,
    pub development_partner: Option<bool>,
    pub own_use_apps: Option<bool>,
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
        if let Some(own_use) = self.own_use_apps {
            next.own_use_apps = own_use;
        }
        if let Some(enabled) = self.enabled {
            next.enabled = enabled;
        }
        next.check_app_building()?;
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
