//! Partner apps: register, modify, New Secret, review and visibility.

use crate::{Registry, check_version, passwords, with_retries};
use chrono::{Duration, Utc};
use portico_domain::{
    Actor, AppChanges, AppId, AppRegistration, AuditAction, AuditEvent, DomainError, DomainResult,
    IfVersion, PartnerApp, PlainSecret, Review, ReviewDecision, Visibility,
    repo::{AppPart, ClientSecrets, Enablement},
};

const APP: &str = "application";
use serde::Serialize;

/// What registration (and New Secret) hands back: the app, its Key and Secret (shown this once),
/// and the company domain, as the Application Authorization section shows them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct RegisteredApp {
    pub app: PartnerApp,
    pub client_id: String,
    /// Shown once; `null` for an app that authenticates with keys only (`private_key_jwt`):
    /// it has no usable secret, and none is ever shown.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub client_secret: Option<PlainSecret>,
    pub company_domain: String,
}

fn expose<S: serde::Serializer>(s: &Option<PlainSecret>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_str(s.expose()),
        None => ser.serialize_none(),
    }
}

/// A newly registered app: Private, never reviewed, its company's own.
pub(crate) fn new_app(
    company_id: portico_domain::CompanyId,
    spec: portico_domain::AppSpec,
    now: chrono::DateTime<Utc>,
) -> PartnerApp {
    PartnerApp {
        id: AppId::new(),
        company_id,
        spec,
        visibility: Visibility::Private,
        review: Review::draft(),
        resource_server: false,
        resource_uri: None,
        certified_from: None,
        secret_rotated_at: now,
        created_at: now,
        updated_at: now,
        version: 1,
    }
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
        let app = new_app(actor.company_id(), spec, now);
        // A keys-only app still gets a stored hash (of a secret nobody sees): should its admins
        // allow a secret method later, New Secret makes one to show.
        let secret = PlainSecret::generate();
        let hash = passwords::hash(secret.expose().to_owned()).await?;
        let secret = app.spec.security.uses_secret().then_some(secret);
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
            .insert_app(&app, &hash, Some(&enablement), &audit)
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

    /// Modify: writes the spec, and the review and visibility when asking for more APIs sends
    /// the app back to review. Decided on the current row; if the row changes before the write
    /// (a staff decision, say), decided again on the new one, so neither change is lost.
    pub async fn modify_app(
        &self,
        actor: &Actor,
        id: AppId,
        changes: AppChanges,
        precondition: &IfVersion,
    ) -> DomainResult<PartnerApp> {
        let changes = &changes;
        with_retries(APP, precondition, move |_| async move {
            let before = self.app_to_change(actor, id).await?;
            let spec = changes.clone().apply(&before.spec, &self.catalog)?;
            before.check_production_change(&spec)?;
            check_version(precondition, before.version, APP)?;
            let after = before.modified(spec, Utc::now());
            let mut parts = vec![AppPart::Spec];
            if after.review != before.review {
                parts.push(AppPart::Review);
            }
            if after.visibility != before.visibility {
                parts.push(AppPart::Visibility);
            }
            self.save(actor, AuditAction::AppModify, &before, after, &parts)
                .await
        })
        .await
    }

    /// New Secret: from now on the old secret fails, unless a grace period (at most the
    /// configured maximum) keeps it valid a little longer.
    ///
    /// New Secrets are serialized by the version: the secret handed back is the one stored,
    /// and it works until the next New Secret. One that finds, when it comes to write, that
    /// another New Secret was stored since it read the app is refused (409 `secret_changed`)
    /// instead of silently replacing a secret just shown to someone else; any other change
    /// meanwhile (Modify, a staff decision) only makes it write again on the new row.
    pub async fn new_secret(
        &self,
        actor: &Actor,
        id: AppId,
        grace_seconds: u64,
        precondition: &IfVersion,
    ) -> DomainResult<RegisteredApp> {
        let first = self.app_to_change(actor, id).await?;
        if !first.spec.security.uses_secret() {
            return Err(DomainError::conflict(
                "keys_only",
                "the application authenticates with its keys only (private_key_jwt); \
                 allow client_secret_basic or client_secret_post before asking for a secret",
            ));
        }
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
        check_version(precondition, first.version, APP)?;
        let first_hash = self.secrets_of(id).await?.current_hash;
        // Hashed once: argon2 is the slow part, and a retry needs only the write again.
        let secret = PlainSecret::generate();
        let hash = passwords::hash(secret.expose().to_owned()).await?;
        let (first, first_hash, hash) = (&first, &first_hash, &hash);
        let app = with_retries(APP, precondition, move |attempt| async move {
            let before = if attempt == 0 {
                first.clone()
            } else {
                self.app_to_change(actor, id).await?
            };
            check_version(precondition, before.version, APP)?;
            let current = self.secrets_of(id).await?;
            if current.current_hash != *first_hash {
                return Err(DomainError::conflict(
                    "secret_changed",
                    "another New Secret was made for this application at the same time; \
                     use the secret it showed, or ask for a New Secret again",
                ));
            }
            let now = Utc::now();
            let secrets = ClientSecrets {
                current_hash: hash.clone(),
                previous_hash: (grace > Duration::zero()).then_some(current.current_hash),
                previous_valid_until: (grace > Duration::zero()).then_some(now + grace),
            };
            let after = PartnerApp {
                secret_rotated_at: now,
                updated_at: now,
                version: before.version + 1,
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
            self.store
                .update_app(before.version, &after, &[], Some(&secrets), &audit)
                .await?;
            Ok(after)
        })
        .await?;
        Ok(RegisteredApp {
            client_id: app.client_id(),
            app,
            client_secret: Some(secret),
            company_domain: actor.company.domain.clone(),
        })
    }

    async fn secrets_of(&self, id: AppId) -> DomainResult<ClientSecrets> {
        self.store
            .client_secrets(id)
            .await?
            .ok_or(DomainError::not_found("application"))
    }

    pub async fn submit_for_review(
        &self,
        actor: &Actor,
        id: AppId,
        precondition: &IfVersion,
    ) -> DomainResult<PartnerApp> {
        with_retries(APP, precondition, move |_| async move {
            let before = self.app_to_change(actor, id).await?;
            if !actor.company.development_partner {
                return Err(DomainError::conflict(
                    "own_use",
                    "an application built for the company's own use stays Private to it and \
                     is not submitted for review",
                ));
            }
            let review = before.submit_for_review(Utc::now())?;
            check_version(precondition, before.version, APP)?;
            let after = PartnerApp {
                review,
                ..before.clone()
            };
            self.save(
                actor,
                AuditAction::AppSubmit,
                &before,
                after,
                &[AppPart::Review],
            )
            .await
        })
        .await
    }

    /// Staff: the apps waiting for review, oldest submission first.
    pub async fn review_queue(&self, actor: &Actor) -> DomainResult<Vec<PartnerApp>> {
        actor.require_staff()?;
        self.store.apps_in_review().await
    }

    /// Staff decide on an app waiting for review. Only a pending app can be decided, and the
    /// decision is written only onto the row it was made on.
    pub async fn review_app(
        &self,
        actor: &Actor,
        id: AppId,
        decision: ReviewDecision,
        precondition: &IfVersion,
    ) -> DomainResult<PartnerApp> {
        actor.require_staff()?;
        let decision = &decision;
        with_retries(APP, precondition, move |_| async move {
            let before = self.app(actor, id).await?;
            let review = before.decide_review(decision.clone(), actor.user_id, Utc::now())?;
            check_version(precondition, before.version, APP)?;
            let after = PartnerApp {
                review,
                ..before.clone()
            };
            self.save(
                actor,
                AuditAction::AppReview,
                &before,
                after,
                &[AppPart::Review],
            )
            .await
        })
        .await
    }

    pub async fn set_visibility(
        &self,
        actor: &Actor,
        id: AppId,
        visibility: Visibility,
        precondition: &IfVersion,
    ) -> DomainResult<PartnerApp> {
        actor.require_staff()?;
        with_retries(APP, precondition, move |_| async move {
            let before = self.app(actor, id).await?;
            before.check_visibility_change(visibility)?;
            check_version(precondition, before.version, APP)?;
            let after = PartnerApp {
                visibility,
                ..before.clone()
            };
            self.save(
                actor,
                AuditAction::AppVisibility,
                &before,
                after,
                &[AppPart::Visibility],
            )
            .await
        })
        .await
    }

    /// Staff mark an app as a resource server: it may introspect tokens, and with a
    /// `resource_uri` clients may ask tokens for it (RFC 8707). Unmarking clears the URI.
    pub async fn set_resource_server(
        &self,
        actor: &Actor,
        id: AppId,
        resource_server: bool,
        resource_uri: Option<String>,
        precondition: &IfVersion,
    ) -> DomainResult<PartnerApp> {
        actor.require_staff()?;
        let resource_uri = self.check_resource_uri(resource_server, resource_uri)?;
        with_retries(APP, precondition, move |_| {
            let resource_uri = resource_uri.clone();
            async move {
                let before = self.app(actor, id).await?;
                check_version(precondition, before.version, APP)?;
                let after = PartnerApp {
                    resource_server,
                    resource_uri,
                    ..before.clone()
                };
                self.save(
                    actor,
                    AuditAction::AppResourceServer,
                    &before,
                    after,
                    &[AppPart::ResourceServer],
                )
                .await
            }
        })
        .await
    }

    /// A resource server's URI: an absolute `https` URI without a fragment, not one of the
    /// catalog's resources nor in Portico's own `urn:portico:` namespace; only with
    /// `resource_server`.
    fn check_resource_uri(
        &self,
        resource_server: bool,
        uri: Option<String>,
    ) -> DomainResult<Option<String>> {
        const FIELD: &str = "resource_uri";
        let Some(uri) = uri.filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        if !resource_server {
            return Err(DomainError::invalid(
                FIELD,
                "only a resource server has a resource_uri",
            ));
        }
        portico_domain::validate_resource(&uri).map_err(|e| DomainError::invalid(FIELD, e))?;
        if !uri.starts_with("https://") {
            return Err(DomainError::invalid(
                FIELD,
                "a resource_uri must be an https URI",
            ));
        }
        if uri.starts_with("urn:portico:") || self.catalog.resource_scopes(&uri).is_some() {
            return Err(DomainError::invalid(
                FIELD,
                "this resource belongs to the platform's API catalog",
            ));
        }
        Ok(Some(uri))
    }

    /// Writes the `parts` of `after` if the app is still at `before`'s version; the audit
    /// record says what changed, in the same transaction.
    async fn save(
        &self,
        actor: &Actor,
        action: AuditAction,
        before: &PartnerApp,
        mut after: PartnerApp,
        parts: &[AppPart],
    ) -> DomainResult<PartnerApp> {
        after.version = before.version + 1;
        after.updated_at = Utc::now();
        let audit = AuditEvent::new(
            Some(actor),
            Some(after.company_id),
            action,
            ("app", after.id.to_string()),
            Some(before),
            Some(&after),
        );
        self.store
            .update_app(before.version, &after, parts, None, &audit)
            .await?;
        Ok(after)
    }
}
