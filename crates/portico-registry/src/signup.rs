//! Sandbox sign-up: "Register for a sandbox … produces a Standard Edition sandbox"; "the user
//! that creates the sandbox is granted the Web Services Administrator permission" (on
//! Standard, Can Administer, as the seeds' self-registration does); "the app in the
//! system-generated sandbox should already be registered".

use crate::{RegisteredApp, Registry, SignedIn, apps::new_app, passwords};
use chrono::Utc;
use portico_domain::{
    Actor, AuditAction, AuditEvent, Company, DomainError, DomainResult, Edition, FailureBudget,
    FailureKey, Permissions, PlainSecret, SandboxDecision, SandboxRequest, SandboxRequestStatus,
    SandboxSignUp, SignUpMode, SignUpPath, User, UserId, ValidSignUp,
    repo::{Enablement, NewSandbox},
    sample_app,
};
use portico_guard::limits::{Standing, now_ms};
use serde::Serialize;
use std::net::IpAddr;

/// How sign-up works on this server (the operator's choice).
#[derive(Clone, Debug)]
pub struct SignUpSettings {
    pub mode: SignUpMode,
    /// Sandbox companies get a domain `<name>-<random>.<domain_suffix>`.
    pub domain_suffix: String,
    /// Sign-ups allowed per source network, successful or not.
    pub per_source: FailureBudget,
}

impl Default for SignUpSettings {
    fn default() -> Self {
        Self {
            mode: SignUpMode::Off,
            domain_suffix: "sandbox.portico.test".into(),
            // 5 at once, then one every 12 minutes (5 an hour).
            per_source: FailureBudget {
                burst: 5,
                interval_ms: 12 * 60_000,
            },
        }
    }
}

/// A sandbox made just now: the developer is signed in, and the sample app's Secret is shown
/// this once.
#[derive(Debug)]
pub struct NewSandboxMade {
    pub company: Company,
    pub admin: User,
    pub sample_app: RegisteredApp,
    pub session: SignedIn,
}

#[derive(Debug)]
pub enum SignUpOutcome {
    Created(Box<NewSandboxMade>),
    /// Waiting for staff (approval mode, or a Professional edition sandbox).
    Waiting(SandboxRequest),
}

/// What staff's decision made.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct SandboxDecided {
    pub request: SandboxRequest,
    /// On approval: the sandbox company.
    pub company: Option<Company>,
}

impl Registry {
    pub fn sign_up_mode(&self) -> SignUpMode {
        self.settings.sign_up.mode
    }

    /// A developer signs up from `source`. Every attempt counts against the source network's
    /// budget; a bad field, a taken login id or sign-up being off creates nothing.
    pub async fn sign_up(
        &self,
        form: SandboxSignUp,
        source: IpAddr,
    ) -> DomainResult<SignUpOutcome> {
        let settings = &self.settings.sign_up;
        // Off refuses before anything is counted or read; the edition's path is decided below.
        settings.mode.path(Edition::Standard)?;
        let key = FailureKey::sign_up_source(source);
        let now = now_ms();
        if let Standing::Refused {
            retry_after_seconds,
        } = self
            .limiter
            .standing(std::slice::from_ref(&key), &[], settings.per_source, now)
            .await?
        {
            return Err(DomainError::TooManyAttempts {
                retry_after_seconds,
            });
        }
        self.limiter
            .failed(&[key], settings.per_source, now)
            .await?;
        let form = form.validate()?;
        let path = settings.mode.path(form.edition)?;
        if self.store.login_id_in_use(&form.login_id).await? {
            return Err(login_taken());
        }
        let password_hash = passwords::hash(form.password.clone()).await?;
        match path {
            SignUpPath::CreateNow => {
                let made = self
                    .make_sandbox(&form, form.edition, password_hash, None, None)
                    .await?;
                let session = self
                    .start_session(Actor {
                        user_id: made.admin.id,
                        login_id: made.admin.login_id.clone(),
                        company: made.company.clone(),
                        permissions: made.admin.permissions,
                        source: Some(source),
                    })
                    .await?;
                Ok(SignUpOutcome::Created(Box::new(NewSandboxMade {
                    company: made.company,
                    admin: made.admin,
                    sample_app: made.sample_app,
                    session,
                })))
            }
            SignUpPath::WaitForStaff => {
                let request = SandboxRequest {
                    id: uuid::Uuid::new_v4(),
                    login_id: form.login_id.clone(),
                    display_name: form.display_name.clone(),
                    company_name: form.company_name.clone(),
                    edition: form.edition,
                    status: SandboxRequestStatus::Pending,
                    source: FailureKey::network(source),
                    created_at: Utc::now(),
                    decided_at: None,
                    decided_by: None,
                    reason: None,
                    company_id: None,
                };
                let audit = developer_event(
                    &form.login_id,
                    None,
                    ("sandbox_request", request.id.to_string()),
                    &request,
                );
                self.store
                    .insert_sandbox_request(&request, &password_hash, &audit)
                    .await
                    .map_err(taken_as_field)?;
                tracing::info!(request = %request.id, "sandbox sign-up waits for staff");
                Ok(SignUpOutcome::Waiting(request))
            }
        }
    }

    /// Staff: sign-up requests (pending ones unless `status` says otherwise), oldest first.
    pub async fn sandbox_requests(
        &self,
        actor: &Actor,
        status: Option<SandboxRequestStatus>,
    ) -> DomainResult<Vec<SandboxRequest>> {
        actor.require_staff()?;
        self.store.sandbox_requests(status).await
    }

    /// Staff approve (making the sandbox, of the edition asked for unless they choose another)
    /// or reject a pending sign-up. The sample app's Secret is not shown to staff: the
    /// developer's admin asks for it (New Secret) after signing in.
    pub async fn decide_sandbox_request(
        &self,
        actor: &Actor,
        id: uuid::Uuid,
        decision: SandboxDecision,
    ) -> DomainResult<SandboxDecided> {
        actor.require_staff()?;
        let (request, password_hash) = self
            .store
            .sandbox_request(id)
            .await?
            .ok_or(DomainError::not_found("sign-up request"))?;
        let mut decided = request.decide(&decision, actor.user_id, Utc::now())?;
        let audit = AuditEvent::new(
            Some(actor),
            None,
            AuditAction::SandboxDecide,
            ("sandbox_request", id.to_string()),
            Some(&request),
            Some(&decided),
        );
        if decided.status == SandboxRequestStatus::Rejected {
            self.store.reject_sandbox_request(&decided, &audit).await?;
            return Ok(SandboxDecided {
                request: decided,
                company: None,
            });
        }
        let form = ValidSignUp {
            display_name: request.display_name.clone(),
            login_id: request.login_id.clone(),
            password: String::new(),
            company_name: request.company_name.clone(),
            edition: decided.edition,
        };
        let made = self
            .make_sandbox(
                &form,
                decided.edition,
                password_hash,
                Some(&mut decided),
                Some(audit),
            )
            .await?;
        Ok(SandboxDecided {
            request: decided,
            company: Some(made.company),
        })
    }

    /// Writes a sandbox for `form` in one transaction (approving `request` in it, if given).
    async fn make_sandbox(
        &self,
        form: &ValidSignUp,
        edition: Edition,
        password_hash: String,
        request: Option<&mut SandboxRequest>,
        staff_audit: Option<AuditEvent>,
    ) -> DomainResult<SandboxParts> {
        let now = Utc::now();
        let random = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let new = form
            .company(edition, &self.settings.sign_up.domain_suffix, random)
            .validate()?;
        let company = Company {
            id: portico_domain::CompanyId::new(),
            name: new.name,
            domain: new.domain,
            edition: new.edition,
            development_partner: true,
            own_use_apps: false,
            enabled: true,
            created_at: now,
            version: 1,
        };
        let admin = User {
            id: UserId::new(),
            company_id: company.id,
            login_id: form.login_id.clone(),
            display_name: form.display_name.clone(),
            enabled: true,
            permissions: Permissions::administrator_of(edition),
            created_at: now,
            version: 1,
        };
        let app = new_app(
            company.id,
            sample_app(&self.catalog).validate(&self.catalog)?,
            now,
        );
        let secret = PlainSecret::generate();
        let secret_hash = passwords::hash(secret.expose().to_owned()).await?;
        let target = ("company", company.id.to_string());
        let mut audits = vec![developer_event(
            &admin.login_id,
            Some(company.id),
            target.clone(),
            &serde_json::json!({
                "company": company,
                "admin": admin,
                "sample_app": app.id,
            }),
        )];
        audits.extend(staff_audit.map(|mut a| {
            // The decision's record names the company it made.
            a.company_id = Some(company.id);
            a
        }));
        let approving = request.map(|r| {
            r.company_id = Some(company.id);
            &*r
        });
        let sandbox = NewSandbox {
            company: company.clone(),
            admin: admin.clone(),
            password_hash,
            app: app.clone(),
            secret_hash,
            enablement: Enablement {
                company_id: company.id,
                app_id: app.id,
                enabled: true,
                updated_at: now,
                updated_by: Some(admin.id),
            },
        };
        self.store
            .insert_sandbox(&sandbox, approving, &audits)
            .await
            .map_err(taken_as_field)?;
        tracing::info!(company = %company.id, edition = edition.as_str(), "sandbox created");
        Ok(SandboxParts {
            sample_app: RegisteredApp {
                client_id: app.client_id(),
                app,
                client_secret: Some(secret),
                company_domain: company.domain.clone(),
            },
            company,
            admin,
        })
    }
}

/// What [`Registry::make_sandbox`] wrote.
struct SandboxParts {
    company: Company,
    admin: User,
    sample_app: RegisteredApp,
}

fn login_taken() -> DomainError {
    DomainError::invalid("login_id", "is already in use; choose another login id")
}

/// A login id taken between the check and the write is the same answer as one taken before.
fn taken_as_field(e: DomainError) -> DomainError {
    match e {
        DomainError::Conflict {
            code: "login_id_taken",
            ..
        } => login_taken(),
        other => other,
    }
}

/// The developer, not yet anyone's actor, is who signed up.
fn developer_event<A: Serialize>(
    login_id: &str,
    company: Option<portico_domain::CompanyId>,
    target: (&str, String),
    after: &A,
) -> AuditEvent {
    let mut event = AuditEvent::new(
        None,
        company,
        AuditAction::SandboxSignUp,
        target,
        None::<&()>,
        Some(after),
    );
    event.actor_login = login_id.to_owned();
    event
}
