//! Enable Partner Application: each company enables or disables the apps it may see.

use crate::Registry;
use chrono::Utc;
use portico_domain::{
    Actor, AppId, AuditAction, AuditEvent, CompanyId, DomainError, DomainResult, PartnerApp,
    Standing, Visibility, repo::Enablement, standing,
};
use serde::Serialize;

/// An app in a company's Enable Applications list.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct AvailableApp {
    pub app_id: AppId,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    pub owner_company_id: CompanyId,
    /// Whether the app is enabled for this company now (a global app is, unless disabled).
    pub enabled: bool,
}

impl AvailableApp {
    fn new(app: &PartnerApp, company: CompanyId, choice: Option<bool>) -> Self {
        Self {
            app_id: app.id,
            name: app.spec.name.clone(),
            description: app.spec.description.clone(),
            visibility: app.visibility,
            owner_company_id: app.company_id,
            enabled: standing(app, company, choice).is_enabled(),
        }
    }
}

impl Registry {
    /// The active apps a company may enable: its own, and public or global ones.
    pub async fn available_apps(
        &self,
        actor: &Actor,
        company: CompanyId,
    ) -> DomainResult<Vec<AvailableApp>> {
        actor.require_company_admin(company)?;
        // The store selects by the same rule; filtering again keeps the list right even if
        // the SQL and the rule ever part (the store's eligibility test pins them together).
        Ok(self
            .store
            .apps_available_to(company)
            .await?
            .iter()
            .filter(|(app, choice)| standing(app, company, *choice).is_listed())
            .map(|(app, choice)| AvailableApp::new(app, company, *choice))
            .collect())
    }

    /// Enable or disable an app for a company. An inactive app cannot be enabled; an app the
    /// company may not see does not exist for it.
    pub async fn set_enabled(
        &self,
        actor: &Actor,
        company: CompanyId,
        app_id: AppId,
        enabled: bool,
    ) -> DomainResult<AvailableApp> {
        actor.require_company_admin(company)?;
        let app = self
            .store
            .app(app_id)
            .await?
            .ok_or(DomainError::not_found("application"))?;
        let before = self.store.enablement(company, app_id).await?;
        match standing(&app, company, before) {
            Standing::Hidden => return Err(DomainError::not_found("application")),
            Standing::Inactive if enabled => {
                return Err(DomainError::conflict(
                    "app_inactive",
                    "an inactive application cannot be enabled",
                ));
            }
            _ => {}
        }
        let enablement = Enablement {
            company_id: company,
            app_id,
            enabled,
            updated_at: Utc::now(),
            updated_by: Some(actor.user_id),
        };
        let audit = AuditEvent::new(
            Some(actor),
            Some(company),
            AuditAction::EnablementSet,
            ("app", app_id.to_string()),
            Some(&serde_json::json!({ "enabled": standing(&app, company, before).is_enabled() })),
            Some(&serde_json::json!({ "enabled": enabled })),
        );
        self.store.set_enablement(&enablement, &audit).await?;
        Ok(AvailableApp::new(&app, company, Some(enabled)))
    }
}
