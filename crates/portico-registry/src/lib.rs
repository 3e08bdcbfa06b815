//! The registry's use cases, shared by the admin REST API, the admin console and the CLI:
//! each takes the signed-in [`Actor`], checks what the actor may do with the domain's rules,
//! validates with the domain's types, and stores through the domain's ports (with an audit
//! record in the same transaction). Handlers call these and nothing else.

mod apps;
mod bootstrap;
mod certification;
mod cli_support;
mod companies;
mod connections;
mod enablements;
pub mod passwords;
mod request_tokens;
mod sessions;
mod signup;
mod users;

pub use apps::RegisteredApp;
pub use bootstrap::{BootstrapOutcome, Sandbox};
pub use certification::Certified;
pub use connections::{ConnectionView, DisconnectTarget, Disconnected};
pub use enablements::AvailableApp;
pub use request_tokens::IssuedRequestToken;
pub use sessions::SignedIn;
pub use signup::{NewSandboxMade, SandboxDecided, SignUpOutcome, SignUpSettings};

use portico_domain::{
    Actor, ApiCatalog, AuditEntry, AuditQuery, CompanyId, DomainError, DomainResult, FailureBudget,
    IfVersion, repo::RegistryStore,
};
use portico_guard::{Limiter, PasswordCheck};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct RegistrySettings {
    /// How long an admin session lasts after sign-in.
    pub session_ttl: chrono::Duration,
    /// The longest grace a New Secret may give the old secret.
    pub max_secret_grace: chrono::Duration,
    /// Failed sign-ins allowed per source network and per login id.
    pub sign_in_failures: FailureBudget,
    /// How long a company request token can be exchanged.
    pub request_token_ttl: chrono::Duration,
    /// Sandbox sign-up.
    pub sign_up: SignUpSettings,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            session_ttl: chrono::Duration::hours(8),
            max_secret_grace: chrono::Duration::days(7),
            sign_in_failures: FailureBudget::new(10, 5),
            request_token_ttl: chrono::Duration::days(1),
            sign_up: SignUpSettings::default(),
        }
    }
}

/// The registry services; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn RegistryStore>,
    catalog: Arc<ApiCatalog>,
    settings: RegistrySettings,
    limiter: Arc<Limiter>,
    passwords: Arc<PasswordCheck>,
}

impl Registry {
    pub fn new(
        store: Arc<dyn RegistryStore>,
        catalog: Arc<ApiCatalog>,
        settings: RegistrySettings,
    ) -> Self {
        let limiter = Arc::new(Limiter::new(store.clone()));
        Self {
            passwords: Arc::new(PasswordCheck::new(
                store.clone(),
                limiter.clone(),
                settings.sign_in_failures,
            )),
            limiter,
            store,
            catalog,
            settings,
        }
    }

    /// The sign-in checks, for the token service's password grant: one set of failure
    /// budgets for every way in.
    pub fn password_check(&self) -> Arc<PasswordCheck> {
        self.passwords.clone()
    }

    /// Every ten minutes: drop expired sessions and failure budgets that are whole again.
    pub fn spawn_housekeeping(&self) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = registry.purge_expired_sessions().await {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
                if let Err(e) = registry.purge_failure_budgets().await {
                    tracing::warn!(error = %e, "purging failure budgets failed");
                }
            }
        })
    }

    pub fn catalog(&self) -> &ApiCatalog {
        &self.catalog
    }

    /// The audit log, newest first. Staff read any company's (or all); a company admin reads
    /// only their own company's.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        company: Option<CompanyId>,
        before_id: Option<i64>,
        limit: u64,
    ) -> DomainResult<Vec<AuditEntry>> {
        let company_id = if actor.is_staff() {
            company
        } else {
            let own = company.unwrap_or(actor.company_id());
            actor.require_company_admin(own)?;
            Some(own)
        };
        self.store
            .audit_entries(&AuditQuery {
                company_id,
                before_id,
                limit: limit.clamp(1, 500),
            })
            .await
    }
}

/// How often a write is decided again when its row changed between the read and the write.
const ATTEMPTS: usize = 5;

/// Runs a read-decide-write (which ends in a compare-and-set on the row's version) until it
/// is not stale; `attempt` gets the attempt's number, from 0. A caller who named a version is
/// told at once that it is stale (412); otherwise the operation is decided again on the
/// current row, a few times.
pub(crate) async fn with_retries<T, F, Fut>(
    what: &'static str,
    precondition: &IfVersion,
    mut attempt: F,
) -> DomainResult<T>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = DomainResult<T>>,
{
    for n in 0..ATTEMPTS {
        match attempt(n).await {
            Err(DomainError::Stale { .. }) if !precondition.is_conditional() => continue,
            other => return other,
        }
    }
    Err(DomainError::conflict(
        "changed_meanwhile",
        format!("the {what} kept changing while this was being saved; try again"),
    ))
}

/// The caller's precondition on the version just read.
pub(crate) fn check_version(
    precondition: &IfVersion,
    current: i64,
    what: &'static str,
) -> DomainResult<()> {
    if precondition.admits(current) {
        Ok(())
    } else {
        Err(DomainError::stale(what))
    }
}
