//! Signing in and out, and turning a session token back into the [`Actor`].

use crate::Registry;
use chrono::{DateTime, Utc};
use portico_domain::{
    Actor, DomainError, DomainResult, PlainSecret, TokenDigest, User, repo::AdminSession,
};
use portico_guard::limits::now_ms;
use std::net::IpAddr;

/// A new session: the token is given to the client once (cookie or bearer) and only its digest
/// is stored.
#[derive(Debug)]
pub struct SignedIn {
    pub token: PlainSecret,
    pub expires_at: DateTime<Utc>,
    pub actor: Actor,
}

impl Registry {
    /// Checks a login id and password (see `portico_guard::sign_in`).
    pub async fn verify_credentials(
        &self,
        login_id: &str,
        password: &str,
        source: IpAddr,
    ) -> DomainResult<Actor> {
        self.passwords.verify(login_id, password, source).await
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
        self.start_session(actor).await
    }

    /// A session for an actor whose credentials were just established (sign-in, sign-up).
    pub(crate) async fn start_session(&self, actor: Actor) -> DomainResult<SignedIn> {
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
        Ok(self.session(token).await?.0)
    }

    /// [`Self::authenticate`], with when the session signed in (OpenID Connect's `auth_time`).
    pub async fn session(&self, token: &str) -> DomainResult<(Actor, DateTime<Utc>)> {
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
        let actor = self.actor_for(user).await?.ok_or_else(unauthenticated)?;
        Ok((actor, session.created_at))
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
        self.passwords.actor_for(user).await
    }
}
