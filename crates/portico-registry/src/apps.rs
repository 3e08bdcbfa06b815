//! Partner apps: register, modify, New Secret, review and visibility.

use crate::{Registry, passwords};
use chrono::{Duration, Utc};
use portico_domain::{
    Actor, AppChanges, AppId, AppRegistration, AuditAction, AuditEvent, DomainError, DomainResult,
    PartnerApp, PlainSecret, Review, ReviewDecision, Visibility,
    repo::{ClientSecrets, Enablement},
};
use serde::Serialize;

/// What registration (and New Secret) hands back: the app, its Key and Secret (shown this once),
/// and the company domain, as the Application Authorization section shows them.
#[derive(Debug, Serialize)]
pub struct RegisteredApp {
    pub app: PartnerApp,
    pub client_id: String,
    #[serde(serialize_with = "expose")]
    pub client_secret: PlainSecret,
    pub company_domain: String,
}

fn expose<S: serde::Serializer>(s: &PlainSecret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

impl Registry {
    pub async fn register_app(
        &self,
        actor: &Actor,
        registration: AppRegistration,
    ) -> DomainResult<RegisteredApp> {
        actor.require_app_developer()?;
        let spec = registration.validate(&self.catalog)?;
        let now = Utc::now();
        let app = PartnerApp {
            id: AppId::new(),
            company_id: actor.company_id(),
            spec,
            visibility: Visibility::Private,
            review: Review::draft(),
            resource_server: false,
            secret_rotated_at: now,
            created_at: now,
            updated_at: now,
        };
        let secret = PlainSecret::generate();
        let hash = passwords::hash(secret.expose().to_owned()).await?;
        // The guides: "The application will automatically be enabled for your company."
        let enablement = Enablement {
            company_id: app.company_id,
            app_id: app.id,
            enabled: true,
            updated_at: now,
            updated_by: Some(actor.user_id),
        };
        let audit = AuditEvent::new(
            Some(actor),
            Some(app.company_id),
            AuditAction::AppRegister,
            ("app", app.id.to_string()),
            None::<&()>,
            Some(&app),
        );
        self.store
            .insert_app(&app, &hash, &enablement, &audit)
            .await?;
        Ok(RegisteredApp {
            client_id: app.client_id(),
            app,
            client_secret: secret,
            company_domain: actor.company.domain.clone(),
        })
    }

    /// The apps a company registered (Application Registration).
    pub async fn apps(
        &self,
        actor: &Actor,
        company: portico_domain::CompanyId,
    ) -> DomainResult<Vec<PartnerApp>> {
        actor.require_company_admin(company)?;
        self.store.apps_of(company).await
    }

    /// One app, to its owner company's admins and to staff (who review it).
    pub async fn app(&self, actor: &Actor, id: AppId) -> DomainResult<PartnerApp> {
        let app = self
            .store
            .app(id)
            .await?
            .ok_or(DomainError::not_found("application"))?;
        if actor.is_staff() || (app.company_id == actor.company_id() && actor.is_admin()) {
            Ok(app)
        } else {
            Err(DomainError::not_found("application"))
        }
    }

    /// An app the actor may change (Modify, New Secret, submit): registered by the actor's own
    /// Development Partner company. Forms ask this before they are shown.
    pub async fn app_to_change(&self, actor: &Actor, id: AppId) -> DomainResult<PartnerApp> {
        let app = self.app(actor, id).await?;
        if app.company_id != actor.company_id() {
            return Err(DomainError::forbidden(
                "only the company that registered the application may change it",
            ));
        }
        actor.require_app_developer()?;
        Ok(app)
    }

    pub async fn modify_app(
        &self,
        actor: &Actor,
        id: AppId,
        changes: AppChanges,
    ) -> DomainResult<PartnerApp> {
        let before = self.app_to_change(actor, id).await?;
        let spec = changes.apply(&before.spec, &self.catalog)?;
        let after = before.modified(spec, Utc::now());
        self.save(actor, AuditAction::AppModify, &before, &after)
            .await?;
        Ok(after)
    }

    /// New Secret: from now on the old secret fails, unless a grace period (at most the
    /// configured maximum) keeps it valid a little longer.
    pub async fn new_secret(
        &self,
        actor: &Actor,
        id: AppId,
        grace_seconds: u64,
    ) -> DomainResult<RegisteredApp> {
        let before = self.app_to_change(actor, id).await?;
        let grace = i64::try_from(grace_seconds)
            .ok()
            .map(Duration::seconds)
            .filter(|g| *g <= self.settings.max_secret_grace)
            .ok_or_else(|| {
                DomainError::invalid(
                    "grace_seconds",
                    format!(
                        "must be between 0 and {}",
                        self.settings.max_secret_grace.num_seconds()
                    ),
                )
            })?;
        let current = self
            .store
            .client_secrets(id)
            .await?
            .ok_or(DomainError::not_found("application"))?;
        let now = Utc::now();
        let secret = PlainSecret::generate();
        let secrets = ClientSecrets {
            current_hash: passwords::hash(secret.expose().to_owned()).await?,
            previous_hash: (grace > Duration::zero()).then_some(current.current_hash),
            previous_valid_until: (grace > Duration::zero()).then_some(now + grace),
        };
        let after = PartnerApp {
            secret_rotated_at: now,
            updated_at: now,
            ..before.clone()
        };
        let audit = AuditEvent::new(
            Some(actor),
            Some(after.company_id),
            AuditAction::AppNewSecret,
            ("app", id.to_string()),
            Some(&serde_json::json!({ "secret_rotated_at": before.secret_rotated_at })),
            Some(&serde_json::json!({
                "secret_rotated_at": now,
                "grace_seconds": grace_seconds,
            })),
        );
        self.store.replace_secret(&after, &secrets, &audit).await?;
        Ok(RegisteredApp {
            client_id: after.client_id(),
            app: after,
            client_secret: secret,
            company_domain: actor.company.domain.clone(),
        })
    }

    pub async fn submit_for_review(&self, actor: &Actor, id: AppId) -> DomainResult<PartnerApp> {
        let before = self.app_to_change(actor, id).await?;
        let after = PartnerApp {
            review: before.submit_for_review(Utc::now())?,
            ..before.clone()
        };
        self.save(actor, AuditAction::AppSubmit, &before, &after)
            .await?;
        Ok(after)
    }

    /// Staff: the apps waiting for review, oldest submission first.
    pub async fn review_queue(&self, actor: &Actor) -> DomainResult<Vec<PartnerApp>> {
        actor.require_staff()?;
        self.store.apps_in_review().await
    }

    pub async fn review_app(
        &self,
        actor: &Actor,
        id: AppId,
        decision: ReviewDecision,
    ) -> DomainResult<PartnerApp> {
        actor.require_staff()?;
        let before = self.app(actor, id).await?;
        let after = PartnerApp {
            review: before.decide_review(decision, actor.user_id, Utc::now())?,
            ..before.clone()
        };
        self.save(actor, AuditAction::AppReview, &before, &after)
            .await?;
        Ok(after)
    }

    pub async fn set_visibility(
        &self,
        actor: &Actor,
        id: AppId,
        visibility: Visibility,
    ) -> DomainResult<PartnerApp> {
        actor.require_staff()?;
        let before = self.app(actor, id).await?;
        before.check_visibility_change(visibility)?;
        let after = PartnerApp {
            visibility,
            ..before.clone()
        };
        self.save(actor, AuditAction::AppVisibility, &before, &after)
            .await?;
        Ok(after)
    }

    /// Staff mark a platform API's app as a resource server, which may introspect any token.
    pub async fn set_resource_server(
        &self,
        actor: &Actor,
        id: AppId,
        resource_server: bool,
    ) -> DomainResult<PartnerApp> {
        actor.require_staff()?;
        let before = self.app(actor, id).await?;
        let after = PartnerApp {
            resource_server,
            ..before.clone()
        };
        self.save(actor, AuditAction::AppResourceServer, &before, &after)
            .await?;
        Ok(after)
    }

    async fn save(
        &self,
        actor: &Actor,
        action: AuditAction,
        before: &PartnerApp,
        after: &PartnerApp,
    ) -> DomainResult<()> {
        let audit = AuditEvent::new(
            Some(actor),
            Some(after.company_id),
            action,
            ("app", after.id.to_string()),
            Some(before),
            Some(after),
        );
        self.store.update_app(after, &audit).await
    }
}
