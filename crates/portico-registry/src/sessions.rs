//! Signing in and out, and turning a session token back into the [`Actor`].

use crate::{Registry, passwords};
use chrono::{DateTime, Utc};
use portico_domain::{
    Actor, DomainError, DomainResult, FailureKey, PlainSecret, TokenDigest, User,
    repo::AdminSession, secret, validate_login_id,
};
use portico_guard::{Lane, Standing, limits::now_ms};
use std::net::IpAddr;

/// A new session: the token is given to the client once (cookie or bearer) and only its digest
/// is stored.
#[derive(Debug)]
pub struct SignedIn {
    pub token: PlainSecret,
    pub expires_at: DateTime<Utc>,
    pub actor: Actor,
}

const WRONG_CREDENTIALS: &str = "wrong login id or password";

impl Registry {
    /// Checks a login id and password; the same answer (and about the same time) for an unknown
    /// login id, a wrong password, or a disabled user or company. Failures count against the
    /// source network (over budget: refused before argon2) and the login id (over budget: still
    /// verified, one such attempt at a time, so the right password passes while a flood of
    /// wrong ones for the account cannot take the pool; see `portico_guard::limits`).
    pub async fn verify_credentials(
        &self,
        login_id: &str,
        password: &str,
        source: IpAddr,
    ) -> DomainResult<Actor> {
        // Validated before it is counted or looked up: a NUL, a control character or a 60 KB
        // id is a 400 naming the field, and never reaches storage.
        let login_id = validate_login_id(login_id)?;
        let budget = self.settings.sign_in_failures;
        let now = now_ms();
        let keys = [
            FailureKey::sign_in_source(source),
            FailureKey::login(&login_id),
        ];
        let standing = self
            .limiter
            .standing(&keys[..1], &keys[1..], budget, now)
            .await?;
        let lane = match standing {
            Standing::Refused {
                retry_after_seconds,
            } => {
                return Err(DomainError::TooManyAttempts {
                    retry_after_seconds,
                });
            }
            Standing::Suspect { .. } => Lane::Suspect,
            Standing::Clear => Lane::Normal,
        };
        let found = self.store.user_credentials(&login_id).await?;
        let phc = found
            .as_ref()
            .map_or_else(|| secret::decoy_hash().to_owned(), |(_, h)| h.clone());
        let ok = passwords::verify(lane, password.to_owned(), phc).await?;
        let actor = match found {
            Some((user, _)) if ok => self.actor_for(user).await?,
            _ => None,
        };
        if let Some(actor) = actor {
            return Ok(actor);
        }
        self.limiter.failed(&keys, budget, now).await?;
        match standing {
            Standing::Suspect {
                retry_after_seconds,
            } => Err(DomainError::TooManyAttempts {
                retry_after_seconds,
            }),
            _ => Err(DomainError::Unauthenticated(WRONG_CREDENTIALS.into())),
        }
    }

    /// Forgets failure budgets that are whole again; run now and then.
    pub async fn purge_failure_budgets(&self) -> DomainResult<u64> {
        self.limiter.purge(now_ms()).await
    }

    pub async fn sign_in(
        &self,
        login_id: &str,
        password: &str,
        source: IpAddr,
    ) -> DomainResult<SignedIn> {
        let actor = self.verify_credentials(login_id, password, source).await?;
        let token = PlainSecret::generate();
        let now = Utc::now();
        let session = AdminSession {
            digest: token.digest(),
            user_id: actor.user_id,
            created_at: now,
            expires_at: now + self.settings.session_ttl,
        };
        self.store.insert_session(&session).await?;
        tracing::info!(user = %actor.user_id, company = %actor.company_id(), "signed in");
        Ok(SignedIn {
            token,
            expires_at: session.expires_at,
            actor,
        })
    }

    /// The actor behind a session token, if the session is live and the user and company are
    /// still enabled.
    pub async fn authenticate(&self, token: &str) -> DomainResult<Actor> {
        let unauthenticated = || DomainError::Unauthenticated("sign in first".into());
        let digest = TokenDigest::of(token);
        let session = self
            .store
            .session(&digest)
            .await?
            .filter(|s| s.expires_at > Utc::now())
            .ok_or_else(unauthenticated)?;
        let user = self
            .store
            .user(session.user_id)
            .await?
            .ok_or_else(unauthenticated)?;
        self.actor_for(user).await?.ok_or_else(unauthenticated)
    }

    pub async fn sign_out(&self, token: &str) -> DomainResult<()> {
        self.store.delete_session(&TokenDigest::of(token)).await
    }

    /// Sign out everywhere: ends every session of the actor's user, this one included.
    pub async fn sign_out_everywhere(&self, actor: &Actor) -> DomainResult<u64> {
        let ended = self.store.delete_sessions_of(actor.user_id).await?;
        tracing::info!(user = %actor.user_id, sessions = ended, "signed out everywhere");
        Ok(ended)
    }

    /// Drops expired sessions; run now and then.
    pub async fn purge_expired_sessions(&self) -> DomainResult<u64> {
        self.store.delete_expired_sessions(Utc::now()).await
    }

    /// The actor for an enabled user of an enabled company.
    async fn actor_for(&self, user: User) -> DomainResult<Option<Actor>> {
        if !user.enabled {
            return Ok(None);
        }
        let Some(company) = self.store.company(user.company_id).await? else {
            return Ok(None);
        };
        Ok(company.enabled.then_some(Actor {
            user_id: user.id,
            login_id: user.login_id,
            company,
            permissions: user.permissions,
        }))
    }
}
