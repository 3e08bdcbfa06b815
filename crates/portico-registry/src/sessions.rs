//! Signing in and out, and turning a session token back into the [`Actor`].

use crate::{Registry, passwords};
use chrono::{DateTime, Utc};
use portico_domain::{
    Actor, DomainError, DomainResult, PlainSecret, TokenDigest, User, repo::AdminSession, secret,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A new session: the token is given to the client once (cookie or bearer) and only its digest
/// is stored.
#[derive(Debug)]
pub struct SignedIn {
    pub token: PlainSecret,
    pub expires_at: DateTime<Utc>,
    pub actor: Actor,
}

const WRONG_CREDENTIALS: &str = "wrong login id or password";

/// Consecutive failed sign-ins per login id, on this node. After a few, the login id is locked
/// for a time that doubles with each further failure (up to 15 minutes), and a locked attempt
/// is refused without spending argon2 on it. Unknown login ids are counted alike, so a lock
/// says nothing about whether an account exists.
#[derive(Default)]
pub(crate) struct SignInThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const FREE_ATTEMPTS: u32 = 5;
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Enough for every login id under attack at once; past it the table starts over.
const MAX_TRACKED: usize = 100_000;

impl SignInThrottle {
    fn check(&self, login_id: &str) -> DomainResult<()> {
        let failures = self.failures.lock().expect("throttle lock");
        match failures.get(login_id) {
            Some((n, until)) if *n >= FREE_ATTEMPTS && Instant::now() < *until => {
                Err(DomainError::TooManyAttempts {
                    retry_after_seconds: (*until - Instant::now()).as_secs() + 1,
                })
            }
            _ => Ok(()),
        }
    }

    fn failed(&self, login_id: &str) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() >= MAX_TRACKED {
            failures.clear();
        }
        let entry = failures
            .entry(login_id.to_owned())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
        if entry.0 >= FREE_ATTEMPTS {
            let doublings = (entry.0 - FREE_ATTEMPTS).min(10);
            entry.1 = Instant::now() + Duration::from_secs(1 << doublings).min(MAX_LOCK);
        }
    }

    fn succeeded(&self, login_id: &str) {
        self.failures
            .lock()
            .expect("throttle lock")
            .remove(login_id);
    }
}

impl Registry {
    /// Checks a login id and password; the same answer (and about the same time) for an unknown
    /// login id, a wrong password, or a disabled user or company.
    pub async fn verify_credentials(&self, login_id: &str, password: &str) -> DomainResult<Actor> {
        let login_id = login_id.trim().to_lowercase();
        self.throttle.check(&login_id)?;
        let found = self.store.user_credentials(&login_id).await?;
        let phc = found
            .as_ref()
            .map_or_else(|| secret::decoy_hash().to_owned(), |(_, h)| h.clone());
        let ok = passwords::verify(password.to_owned(), phc).await;
        let actor = match found {
            Some((user, _)) if ok => self.actor_for(user).await?,
            _ => None,
        };
        match actor {
            Some(actor) => {
                self.throttle.succeeded(&login_id);
                Ok(actor)
            }
            None => {
                self.throttle.failed(&login_id);
                Err(DomainError::Unauthenticated(WRONG_CREDENTIALS.into()))
            }
        }
    }

    pub async fn sign_in(&self, login_id: &str, password: &str) -> DomainResult<SignedIn> {
        let actor = self.verify_credentials(login_id, password).await?;
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
