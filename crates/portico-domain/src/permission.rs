//! Who may do what. Every service call checks these rules with the signed-in [`Actor`]; no
//! handler or template decides on its own.

use crate::{Company, CompanyId, DomainError, DomainResult, Edition, Permissions, UserId};

/// The signed-in user on whose behalf an admin operation runs, with the company it belongs to.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: UserId,
    pub login_id: String,
    pub company: Company,
    pub permissions: Permissions,
    /// Where the actor's request came from, for the audit log (None off the network: CLI).
    pub source: Option<std::net::IpAddr>,
}

impl Actor {
    pub fn company_id(&self) -> CompanyId {
        self.company.id
    }

    /// The operator's staff: reviews apps and sets their visibility, manages companies.
    pub fn is_staff(&self) -> bool {
        self.permissions.staff
    }

    /// Web Services Administrator on a Professional company, Can Administer on a Standard one:
    /// the permission that enables partner apps (and, at a Development Partner, registers them).
    pub fn administers_web_services(&self) -> bool {
        match self.company.edition {
            Edition::Professional => self.permissions.web_services_administrator,
            Edition::Standard => self.permissions.can_administer,
        }
    }

    /// Shows the Administration menu at all.
    pub fn is_admin(&self) -> bool {
        self.is_staff() || self.administers_web_services()
    }

    pub fn require_staff(&self) -> DomainResult<()> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(DomainError::forbidden(
                "only the operator's staff may do this",
            ))
        }
    }

    /// Enable or disable apps, generate company request tokens, read the company's audit log.
    pub fn require_web_services_admin(&self) -> DomainResult<()> {
        if self.administers_web_services() {
            return Ok(());
        }
        Err(DomainError::forbidden(match self.company.edition {
            Edition::Professional => {
                "the Web Services Administrator permission is required at a Professional edition company"
            }
            Edition::Standard => {
                "the Can Administer permission is required at a Standard edition company"
            }
        }))
    }

    /// Register and modify partner apps: a web services admin of a Development Partner company,
    /// or of a client company that staff allowed to build apps for its own use.
    pub fn require_app_developer(&self) -> DomainResult<()> {
        self.require_web_services_admin()?;
        if !self.company.registers_apps() {
            return Err(DomainError::forbidden(
                "only Development Partner companies (and client companies that the operator \
                 allowed to build their own) may register partner applications",
            ));
        }
        Ok(())
    }

    /// Whether the actor may see and manage `company`'s data (its apps, users, enablements).
    /// Cross-company access answers "not found" so ids of other tenants are not confirmed.
    pub fn require_company_admin(&self, company: CompanyId) -> DomainResult<()> {
        if self.is_staff() {
            return Ok(());
        }
        if company != self.company.id {
            return Err(DomainError::not_found("company"));
        }
        self.require_web_services_admin()
    }

    /// Only staff may grant the staff role, and only staff may change a staff member.
    pub fn require_may_set_permissions(&self, wanted: &Permissions) -> DomainResult<()> {
        if wanted.staff && !self.is_staff() {
            return Err(DomainError::invalid(
                "permissions.staff",
                "only the operator's staff may grant the staff role",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn actor(edition: Edition, dev: bool, perms: Permissions) -> Actor {
        Actor {
            user_id: UserId::new(),
            login_id: "a@x.example".into(),
            company: Company {
                id: CompanyId::new(),
                name: "X".into(),
                domain: "x.example".into(),
                edition,
                development_partner: dev,
                own_use_apps: false,
                enabled: true,
                created_at: Utc::now(),
                version: 1,
            },
            permissions: perms,
            source: None,
        }
    }

    #[test]
    fn the_edition_decides_which_permission_counts() {
        let wsa = Permissions {
            web_services_administrator: true,
            ..Default::default()
        };
        let ca = Permissions {
            can_administer: true,
            ..Default::default()
        };
        assert!(actor(Edition::Professional, false, wsa).administers_web_services());
        assert!(!actor(Edition::Professional, false, ca).administers_web_services());
        assert!(actor(Edition::Standard, false, ca).administers_web_services());
        assert!(!actor(Edition::Standard, false, wsa).administers_web_services());
    }

    #[test]
    fn only_development_partners_register() {
        let ca = Permissions {
            can_administer: true,
            ..Default::default()
        };
        assert!(
            actor(Edition::Standard, true, ca)
                .require_app_developer()
                .is_ok()
        );
        assert!(matches!(
            actor(Edition::Standard, false, ca).require_app_developer(),
            Err(DomainError::Forbidden(_))
        ));
    }

    #[test]
    fn other_companies_are_not_found() {
        let ca = Permissions {
            can_administer: true,
            ..Default::default()
        };
        let a = actor(Edition::Standard, true, ca);
        assert!(a.require_company_admin(a.company_id()).is_ok());
        assert!(matches!(
            a.require_company_admin(CompanyId::new()),
            Err(DomainError::NotFound { .. })
        ));
    }
}
