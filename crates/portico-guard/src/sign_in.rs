//! A login id and password checked under the sign-in failure budgets: used by the admin
//! sign-in (API and console) and by the password grant, so every way in is limited alike.

use crate::{Limiter, Standing, argon, limits::now_ms};
pub use portico_domain::repo::SignInStore;
use portico_domain::{
    Actor, DomainError, DomainResult, FailureBudget, FailureKey, User, secret, validate_login_id,
};
use std::net::IpAddr;
use std::sync::Arc;

pub const WRONG_CREDENTIALS: &str = "wrong login id or password";

/// Checks login ids and passwords.
pub struct PasswordCheck {
    store: Arc<dyn SignInStore>,
    limiter: Arc<Limiter>,
    budget: FailureBudget,
}

impl PasswordCheck {
    pub fn new(store: Arc<dyn SignInStore>, limiter: Arc<Limiter>, budget: FailureBudget) -> Self {
        Self {
            store,
            limiter,
            budget,
        }
    }

    /// The same answer (and about the same time) for an unknown login id, a wrong password, or
    /// a disabled user or company. Failures count against the source network (over budget:
    /// refused before argon2) and the login id (over budget: still verified, one such attempt
    /// at a time, so the right password passes while a flood of wrong ones for the account
    /// cannot take the pool; see `limits`).
    pub async fn verify(
        &self,
        login_id: &str,
        password: &str,
        source: IpAddr,
    ) -> DomainResult<Actor> {
        // Validated before it is counted or looked up: a NUL, a control character or a 60 KB
        // id is a 400 naming the field, and never reaches storage.
        let login_id = validate_login_id(login_id)?;
        let now = now_ms();
        let keys = [
            FailureKey::sign_in_source(source),
            FailureKey::login(&login_id),
        ];
        let standing = self
            .limiter
            .standing(&keys[..1], &keys[1..], self.budget, now)
            .await?;
        let lane = standing
            .lane()
            .map_err(|retry_after_seconds| DomainError::TooManyAttempts {
                retry_after_seconds,
            })?;
        let found = self.store.user_credentials(&login_id).await?;
        let phc = found
            .as_ref()
            .map_or_else(|| secret::decoy_hash().to_owned(), |(_, h)| h.clone());
        let ok = argon::pool().verify(lane, password.to_owned(), phc).await?;
        let actor = match found {
            Some((user, _)) if ok => self.actor_for(user).await?,
            _ => None,
        };
        if let Some(actor) = actor {
            return Ok(actor);
        }
        self.limiter.failed(&keys, self.budget, now).await?;
        match standing {
            Standing::Suspect {
                retry_after_seconds,
            } => Err(DomainError::TooManyAttempts {
                retry_after_seconds,
            }),
            _ => Err(DomainError::Unauthenticated(WRONG_CREDENTIALS.into())),
        }
    }

    /// The actor for an enabled user of an enabled company.
    pub async fn actor_for(&self, user: User) -> DomainResult<Option<Actor>> {
        actor_for(&*self.store, user).await
    }
}

/// The actor for an enabled user of an enabled company.
pub async fn actor_for(store: &dyn SignInStore, user: User) -> DomainResult<Option<Actor>> {
    if !user.enabled {
        return Ok(None);
    }
    let Some(company) = store.company(user.company_id).await? else {
        return Ok(None);
    };
    Ok(company.enabled.then_some(Actor {
        user_id: user.id,
        login_id: user.login_id,
        company,
        permissions: user.permissions,
        source: None,
    }))
}
