//! Companies: the operator's staff create and change them; a company's admins read their own.

use crate::Registry;
use chrono::Utc;
use portico_domain::{
    Actor, AuditAction, AuditEvent, Company, CompanyChanges, CompanyId, DomainError, DomainResult,
    NewCompany,
};

impl Registry {
    pub async fn create_company(&self, actor: &Actor, new: NewCompany) -> DomainResult<Company> {
        actor.require_staff()?;
        self.insert_company(Some(actor), new).await
    }

    pub(crate) async fn insert_company(
        &self,
        actor: Option<&Actor>,
        new: NewCompany,
    ) -> DomainResult<Company> {
        let new = new.validate()?;
        let company = Company {
            id: CompanyId::new(),
            name: new.name,
            domain: new.domain,
            edition: new.edition,
            development_partner: new.development_partner,
            enabled: true,
            created_at: Utc::now(),
        };
        let audit = AuditEvent::new(
            actor,
            Some(company.id),
            AuditAction::CompanyCreate,
            ("company", company.id.to_string()),
            None::<&()>,
            Some(&company),
        );
        self.store.insert_company(&company, &audit).await?;
        Ok(company)
    }

    /// Staff see every company; anyone else sees their own.
    pub async fn companies(&self, actor: &Actor) -> DomainResult<Vec<Company>> {
        if actor.is_staff() {
            self.store.companies().await
        } else {
            actor.require_company_admin(actor.company_id())?;
            Ok(vec![actor.company.clone()])
        }
    }

    pub async fn company(&self, actor: &Actor, id: CompanyId) -> DomainResult<Company> {
        actor.require_company_admin(id)?;
        self.store
            .company(id)
            .await?
            .ok_or(DomainError::not_found("company"))
    }

    pub async fn update_company(
        &self,
        actor: &Actor,
        id: CompanyId,
        changes: CompanyChanges,
    ) -> DomainResult<Company> {
        actor.require_staff()?;
        let before = self
            .store
            .company(id)
            .await?
            .ok_or(DomainError::not_found("company"))?;
        if id == actor.company_id() && changes.enabled == Some(false) {
            return Err(DomainError::invalid(
                "enabled",
                "you cannot disable your own company",
            ));
        }
        let after = changes.apply(&before)?;
        let audit = AuditEvent::new(
            Some(actor),
            Some(id),
            AuditAction::CompanyUpdate,
            ("company", id.to_string()),
            Some(&before),
            Some(&after),
        );
        self.store.update_company(&after, &audit).await?;
        Ok(after)
    }
}
