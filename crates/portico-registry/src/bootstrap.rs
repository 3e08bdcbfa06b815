//! Making the first company and admin without anyone signed in: `portico bootstrap` and the
//! first-run sandbox.

use crate::Registry;
use portico_domain::{
    Company, DomainResult, Edition, NewCompany, NewUser, Permissions, PlainSecret, User,
};

/// A company made by bootstrap with its first admin, and the admin's password if generated.
#[derive(Debug)]
pub struct BootstrapOutcome {
    pub company: Company,
    pub admin: User,
    pub generated_password: Option<PlainSecret>,
}

/// What the first run creates so a new user can act at once.
#[derive(Debug)]
pub struct Sandbox {
    pub operator: BootstrapOutcome,
    pub developer: BootstrapOutcome,
}

impl Registry {
    /// Creates a company and its first admin: the permission that administers web services at
    /// that company's edition (plus staff, when asked for).
    pub async fn bootstrap(
        &self,
        company: NewCompany,
        login_id: String,
        display_name: String,
        password: Option<String>,
        staff: bool,
    ) -> DomainResult<BootstrapOutcome> {
        let permissions = Permissions {
            staff,
            ..Permissions::administrator_of(company.edition)
        };
        // Validate the admin before the company exists, so a bad login id leaves nothing behind.
        let admin = NewUser {
            login_id,
            display_name,
            password,
            permissions,
        }
        .validate()?;
        let company = self.insert_company(None, company).await?;
        let (admin, generated_password) = self.insert_user(None, company.id, admin).await?;
        Ok(BootstrapOutcome {
            company,
            admin,
            generated_password,
        })
    }

    /// On an empty database: the operator's company with a staff account, and a Development
    /// Partner company (Professional edition) with a Web Services Administrator. Returns None
    /// when any company exists already.
    pub async fn ensure_sandbox(&self) -> DomainResult<Option<Sandbox>> {
        if self.store.count_companies().await? > 0 {
            return Ok(None);
        }
        let operator = self
            .bootstrap(
                NewCompany {
                    name: "Portico Operator".into(),
                    domain: "operator.portico.test".into(),
                    edition: Edition::Professional,
                    development_partner: false,
                    own_use_apps: false,
                },
                "staff@operator.portico.test".into(),
                "Operator Staff".into(),
                None,
                true,
            )
            .await?;
        let developer = self
            .bootstrap(
                NewCompany {
                    name: "Sandbox Developer".into(),
                    domain: "sandbox.portico.test".into(),
                    edition: Edition::Professional,
                    development_partner: true,
                    own_use_apps: false,
                },
                "admin@sandbox.portico.test".into(),
                "Sandbox Administrator".into(),
                None,
                false,
            )
            .await?;
        Ok(Some(Sandbox {
            operator,
            developer,
        }))
    }
}
