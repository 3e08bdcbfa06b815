//! Companies: the operator's staff create and change them; a company's admins read their own.

use crate::{Registry, check_version, with_retries};
use chrono::Utc;
use portico_domain::{
    Actor, AuditAction, AuditEvent, Company, CompanyChanges, CompanyId, DomainError, DomainResult,
    IfVersion, NewCompany,
};

const COMPANY: &str = "company";

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
            own_use_apps: new.own_use_apps,
            enabled: true,
            created_at: Utc::now(),
            version: 1,
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

    /// Staff change a company. Disabling it ends its users' sessions in the same transaction.
    pub async fn update_company(
        &self,
        actor: &Actor,
        id: CompanyId,
        changes: CompanyChanges,
        precondition: &IfVersion,
    ) -> DomainResult<Company> {
        actor.require_staff()?;
        if id == actor.company_id() && changes.enabled == Some(false) {
            return Err(DomainError::invalid(
                "enabled",
                "you cannot disable your own company",
            ));
        }
        let changes = &changes;
        with_retries(COMPANY, precondition, move |_| async move {
            let before = self
                .store
                .company(id)
                .await?
                .ok_or(DomainError::not_found("company"))?;
            let mut after = changes.clone().apply(&before)?;
            check_version(precondition, before.version, COMPANY)?;
            after.version = before.version + 1;
            let end_sessions = before.enabled && !after.enabled;
            let audit = AuditEvent::new(
                Some(actor),
                Some(id),
                AuditAction::CompanyUpdate,
                ("company", id.to_string()),
                Some(&before),
                Some(&after),
            );
            self.store
                .update_company(before.version, &after, end_sessions, &audit)
                .await?;
            Ok(after)
        })
        .await
    }
}
