//! For the `portico` CLI, which works on the database directly: the [`Actor`] an operator acts
//! as (`--as <login id>`), and users named by their login id.

use crate::Registry;
use portico_domain::{Actor, DomainError, DomainResult, User, validate_login_id};

impl Registry {
    /// The actor for the user with this login id, built as a session's is (an enabled user of
    /// an enabled company); every use case then checks what they may do and audits them as
    /// the actor. An unknown or disabled user is `Unauthenticated`, saying which.
    pub async fn act_as(&self, login_id: &str) -> DomainResult<Actor> {
        let login = validate_login_id(login_id).map_err(|_| {
            DomainError::Unauthenticated(format!("no user has the login id '{login_id}'"))
        })?;
        let (user, _) = self.store.user_credentials(&login).await?.ok_or_else(|| {
            DomainError::Unauthenticated(format!("no user has the login id '{login}'"))
        })?;
        self.passwords.actor_for(user).await?.ok_or_else(|| {
            DomainError::Unauthenticated(format!(
                "cannot act as '{login}': the user or their company is disabled"
            ))
        })
    }

    /// The user with this login id, if the actor may see them (as [`Registry::user`]).
    pub async fn user_by_login_id(&self, actor: &Actor, login_id: &str) -> DomainResult<User> {
        let login = validate_login_id(login_id).map_err(|_| DomainError::not_found("user"))?;
        let (user, _) = self
            .store
            .user_credentials(&login)
            .await?
            .ok_or(DomainError::not_found("user"))?;
        self.user(actor, user.id).await
    }
}
