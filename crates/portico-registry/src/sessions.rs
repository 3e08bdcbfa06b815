//! Signing in and out, and turning a session token back into the [`Actor`].

use crate::Registry;
use chrono::{DateTime, Utc};
use portico_domain::{
    Actor, AuditAction, AuditEvent, DomainError, DomainResult, PlainSecret, TokenDigest, User,
    repo::AdminSession,
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
        let actor = match self.verify_credentials(login_id, password, source).await {
            Ok(actor) => actor,
            Err(e) => {
                if matches!(e, DomainError::Unauthenticated(_)) {
                    self.audit_failed_sign_in(login_id, source).await;
                }
                return Err(e);
            }
        };
        let actor = Actor {
            source: Some(source),
            ..actor
        };
        let signed_in = self.start_session(actor).await?;
        let audit = AuditEvent::new::<(), _>(
            Some(&signed_in.actor),
            Some(signed_in.actor.company_id()),
            AuditAction::SignIn,
            ("user", signed_in.actor.user_id.to_string()),
            None,
            Some(&serde_json::json!({ "expires_at": signed_in.expires_at })),
        );
        self.store.record_event(&audit).await?;
        Ok(signed_in)
    }

    /// A wrong password or an unknown login id, with the login id as presented (at most 254
    /// characters; never the password) and, when the login id is a user's, their company, so
    /// its admins see attempts on their users. Refusals of a source over its budget are not
    /// recorded one by one: the budget bounds what an attacker can write here. A failure to
    /// record is logged and does not change the answer.
    async fn audit_failed_sign_in(&self, login_id: &str, source: IpAddr) {
        let presented: String = login_id.trim().to_lowercase().chars().take(254).collect();
        let user = match self.store.user_credentials(&presented).await {
            Ok(found) => found.map(|(u, _)| u),
            Err(_) => None,
        };
        let mut audit = AuditEvent::new::<(), ()>(
            None,
            user.as_ref().map(|u| u.company_id),
            AuditAction::SignInFailed,
            (
                "user",
                user.as_ref().map_or_else(String::new, |u| u.id.to_string()),
            ),
            None,
            None,
        )
        .from_source(source);
        audit.actor_login = presented;
        if let Err(e) = self.store.record_event(&audit).await {
            tracing::warn!(error = %e, "a failed sign-in could not be audited");
        }
    }

    /// [`Self::authenticate`] for a request from `source`: the actor carries it into the
    /// audit records of what it does.
    pub async fn authenticate_from(&self, token: &str, source: IpAddr) -> DomainResult<Actor> {
        let actor = self.authenticate(token).await?;
        Ok(Actor {
            source: Some(source),
            ..actor
        })
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
