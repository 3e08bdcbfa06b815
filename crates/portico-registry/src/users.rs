//! Users of a company: its admins (and staff) create and change them.

use crate::{Registry, check_version, passwords, with_retries};
use chrono::Utc;
use portico_domain::{
    Actor, AuditAction, AuditEvent, CompanyId, DomainError, DomainResult, IfVersion, NewUser,
    PlainSecret, User, UserChanges, UserId,
};

const USER: &str = "user";

impl Registry {
    /// Creates a user; without a password in the request, one is generated and returned once.
    pub async fn create_user(
        &self,
        actor: &Actor,
        company: CompanyId,
        new: NewUser,
    ) -> DomainResult<(User, Option<PlainSecret>)> {
        actor.require_company_admin(company)?;
        actor.require_may_set_permissions(&new.permissions)?;
        self.company(actor, company).await?;
        self.insert_user(Some(actor), company, new).await
    }

    pub(crate) async fn insert_user(
        &self,
        actor: Option<&Actor>,
        company: CompanyId,
        new: NewUser,
    ) -> DomainResult<(User, Option<PlainSecret>)> {
        let new = new.validate()?;
        let (password, generated) = match new.password {
            Some(p) => (p, None),
            None => {
                let p = PlainSecret::generate();
                (p.expose().to_owned(), Some(p))
            }
        };
        let user = User {
            id: UserId::new(),
            company_id: company,
            login_id: new.login_id,
            display_name: new.display_name,
            enabled: true,
            permissions: new.permissions,
            created_at: Utc::now(),
            version: 1,
        };
        let hash = passwords::hash(password).await?;
        let audit = AuditEvent::new(
            actor,
            Some(company),
            AuditAction::UserCreate,
            ("user", user.id.to_string()),
            None::<&()>,
            Some(&user),
        );
        self.store.insert_user(&user, &hash, &audit).await?;
        Ok((user, generated))
    }

    pub async fn users(&self, actor: &Actor, company: CompanyId) -> DomainResult<Vec<User>> {
        actor.require_company_admin(company)?;
        self.store.users_of(company).await
    }

    pub async fn user(&self, actor: &Actor, id: UserId) -> DomainResult<User> {
        let user = self
            .store
            .user(id)
            .await?
            .ok_or(DomainError::not_found("user"))?;
        actor
            .require_company_admin(user.company_id)
            .map_err(|e| match e {
                // Users of other companies do not exist for this actor.
                DomainError::NotFound { .. } => DomainError::not_found("user"),
                other => other,
            })?;
        Ok(user)
    }

    /// Changes a user, decided on the current row (and again if it changes before the write).
    /// A new password, a disable or a permission taken away ends the user's sessions in the
    /// same transaction: whoever signed in before must sign in again.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        changes: UserChanges,
        precondition: &IfVersion,
    ) -> DomainResult<User> {
        // Checked once before argon2 runs, so a refused change costs no hashing.
        decide_user_update(actor, &self.user(actor, id).await?, &changes)?;
        let hash = match &changes.password {
            Some(p) => Some(passwords::hash(p.clone()).await?),
            None => None,
        };
        let (changes, hash) = (&changes, hash.as_deref());
        with_retries(USER, precondition, move |_| async move {
            let before = self.user(actor, id).await?;
            let mut after = decide_user_update(actor, &before, changes)?;
            check_version(precondition, before.version, USER)?;
            after.version = before.version + 1;
            let end_sessions = hash.is_some()
                || (before.enabled && !after.enabled)
                || before.permissions.loses_any(&after.permissions);
            // The password itself never reaches the log; that it changed does.
            let mut recorded = serde_json::to_value(&after).unwrap_or_default();
            if hash.is_some() {
                recorded["password_changed"] = serde_json::Value::Bool(true);
            }
            if end_sessions {
                recorded["sessions_ended"] = serde_json::Value::Bool(true);
            }
            let audit = AuditEvent::new(
                Some(actor),
                Some(after.company_id),
                AuditAction::UserUpdate,
                ("user", id.to_string()),
                Some(&before),
                Some(&recorded),
            );
            self.store
                .update_user(before.version, &after, hash, end_sessions, &audit)
                .await?;
            Ok(after)
        })
        .await
    }
}

/// The user after `changes`, if the actor may make them.
fn decide_user_update(actor: &Actor, before: &User, changes: &UserChanges) -> DomainResult<User> {
    if before.permissions.staff && !actor.is_staff() {
        return Err(DomainError::forbidden(
            "only the operator's staff may change a staff member",
        ));
    }
    let after = changes.apply(before)?;
    if after.permissions != before.permissions {
        actor.require_may_set_permissions(&after.permissions)?;
    }
    if before.id == actor.user_id {
        // An admin cannot lock themselves out; another admin (or staff) must do it.
        if !after.enabled {
            return Err(DomainError::invalid(
                "enabled",
                "you cannot disable yourself",
            ));
        }
        if after.permissions != before.permissions {
            return Err(DomainError::invalid(
                "permissions",
                "you cannot change your own permissions",
            ));
        }
    }
    Ok(after)
}
