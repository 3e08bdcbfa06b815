//! Certification: staff turn a reviewed sandbox app into its production registration, with a
//! Key of its own; the sandbox app stays Private to the sandbox company.

use crate::{Registry, check_version, passwords, with_retries};
use chrono::Utc;
use portico_domain::{
    Actor, AppId, AuditAction, AuditEvent, DomainError, DomainResult, IfVersion, PartnerApp,
    PlainSecret, Visibility, repo::AppPart,
};
use serde::Serialize;

/// A certification's outcome: the production registration, and whether it was made now.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct Certified {
    pub production: PartnerApp,
    pub sandbox: PartnerApp,
    /// True when this certification created the production registration (its Secret is then
    /// issued to the developer's admins by New Secret, never shown to staff).
    pub created: bool,
}

impl Registry {
    /// Staff certify the approved sandbox app `id` (If-Match: the sandbox app's version). The
    /// first certification creates the production registration; a later one gives it the
    /// sandbox app's APIs as now approved, and the visibility chosen.
    pub async fn certify_app(
        &self,
        actor: &Actor,
        id: AppId,
        visibility: Visibility,
        precondition: &IfVersion,
    ) -> DomainResult<Certified> {
        actor.require_staff()?;
        let sandbox = self.app(actor, id).await?;
        check_version(precondition, sandbox.version, "application")?;
        let owner = self
            .store
            .company(sandbox.company_id)
            .await?
            .ok_or(DomainError::not_found("company"))?;
        if !owner.development_partner {
            return Err(DomainError::conflict(
                "own_use",
                "an application built for the company's own use is not certified",
            ));
        }
        let sandbox = &sandbox;
        let attempt = move |_| async move {
            let current = self.store.production_of(sandbox.id).await?;
            let now = Utc::now();
            let mut production = sandbox.certify(
                current.as_ref(),
                visibility,
                AppId::new(),
                actor.user_id,
                now,
            )?;
            let audit = |after: &PartnerApp| {
                AuditEvent::new(
                    Some(actor),
                    Some(after.company_id),
                    AuditAction::AppCertify,
                    ("app", after.id.to_string()),
                    current.as_ref(),
                    Some(after),
                )
            };
            match &current {
                None => {
                    // Nobody sees this secret: the developer's admins ask for the production
                    // Secret (New Secret), so staff never hold a partner's credential.
                    let hash = passwords::hash(PlainSecret::generate().expose().to_owned()).await?;
                    match self
                        .store
                        .insert_app(&production, &hash, None, &audit(&production))
                        .await
                    {
                        // Another certification made it meanwhile: certify that one again.
                        Err(DomainError::Conflict {
                            code: "already_certified",
                            ..
                        }) => Err(DomainError::stale("application")),
                        Err(e) => Err(e),
                        Ok(()) => Ok((production, true)),
                    }
                }
                Some(before) => {
                    production.version = before.version + 1;
                    self.store
                        .update_app(
                            before.version,
                            &production,
                            &[AppPart::Spec, AppPart::Review, AppPart::Visibility],
                            None,
                            &audit(&production),
                        )
                        .await?;
                    Ok((production, false))
                }
            }
        };
        let (production, created) = with_retries("application", &IfVersion::Any, attempt).await?;
        tracing::info!(sandbox = %id, production = %production.id, created, "application certified");
        Ok(Certified {
            production,
            sandbox: sandbox.clone(),
            created,
        })
    }

    /// The production registration of a sandbox app the actor may see, if it was certified.
    pub async fn production_of(
        &self,
        actor: &Actor,
        sandbox: AppId,
    ) -> DomainResult<Option<PartnerApp>> {
        self.app(actor, sandbox).await?;
        self.store.production_of(sandbox).await
    }
}
