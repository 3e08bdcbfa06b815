//! Connections: who is connected to which app, and Disconnect. A company admin sees and ends
//! the connections at their company (one grant, all of a user's, all of an app's); staff may
//! also end an app's connections everywhere; every user sees and ends their own. Disconnect
//! revokes (see [`portico_domain::Connection`]); Disable (enablements) stays a suspension.

use crate::Registry;
use chrono::{DateTime, Utc};
use portico_domain::{
    Actor, AppId, AuditAction, AuditEvent, CompanyId, Connection, ConnectionFilter, DomainError,
    DomainResult, MAX_CONNECTIONS_LISTED, PrincipalType, UserId,
};
use serde::Serialize;
use std::collections::HashMap;

/// A connection as the admin API and the console show it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionView {
    pub grant_id: String,
    pub app_id: AppId,
    pub app_name: String,
    pub company_id: CompanyId,
    pub principal_type: PrincipalType,
    /// The user, for a user's connection; none for the company's own.
    pub user_id: Option<UserId>,
    pub user_login: Option<String>,
    /// API and identity scopes, in scope order.
    pub scopes: Vec<String>,
    pub sensitive_data_groups: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Which connections at a company a Disconnect ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectTarget {
    Grant(String),
    User(UserId),
    App(AppId),
    /// One user's connections to one app.
    UserApp(UserId, AppId),
}

/// What a Disconnect did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Disconnected {
    pub grants_revoked: u64,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl Registry {
    /// The live connections at `company`, most recently used first, optionally of one app or
    /// one user. An unknown app or a user of another company is "not found".
    pub async fn connections(
        &self,
        actor: &Actor,
        company: CompanyId,
        app: Option<AppId>,
        user: Option<UserId>,
    ) -> DomainResult<Vec<ConnectionView>> {
        actor.require_company_admin(company)?;
        if let Some(app) = app {
            self.existing_app(app).await?;
        }
        if let Some(user) = user {
            self.user_of(company, user).await?;
        }
        let filter = ConnectionFilter {
            company: Some(company),
            app,
            user,
            grant: None,
        };
        self.views(&filter).await
    }

    /// The signed-in user's own connections.
    pub async fn my_connections(&self, actor: &Actor) -> DomainResult<Vec<ConnectionView>> {
        let filter = ConnectionFilter {
            company: Some(actor.company_id()),
            user: Some(actor.user_id),
            ..ConnectionFilter::default()
        };
        self.views(&filter).await
    }

    /// Ends connections at `company`: a grant of another company, a stale page's grant (already
    /// ended), an unknown app or user is "not found" and changes nothing.
    pub async fn disconnect(
        &self,
        actor: &Actor,
        company: CompanyId,
        target: DisconnectTarget,
    ) -> DomainResult<Disconnected> {
        actor.require_company_admin(company)?;
        let mut filter = ConnectionFilter {
            company: Some(company),
            ..ConnectionFilter::default()
        };
        let (kind, id) = match &target {
            DisconnectTarget::Grant(grant) => {
                filter.grant = Some(grant);
                // Only a live grant of this company can be ended here.
                let live = self
                    .store
                    .connections(&filter, Utc::now().timestamp(), 1)
                    .await?;
                if live.is_empty() {
                    return Err(DomainError::not_found("connection"));
                }
                ("grant", grant.clone())
            }
            DisconnectTarget::User(user) => {
                self.user_of(company, *user).await?;
                filter.user = Some(*user);
                ("user", user.to_string())
            }
            DisconnectTarget::App(app) => {
                self.existing_app(*app).await?;
                filter.app = Some(*app);
                ("app", app.to_string())
            }
            DisconnectTarget::UserApp(user, app) => {
                self.user_of(company, *user).await?;
                self.existing_app(*app).await?;
                filter.user = Some(*user);
                filter.app = Some(*app);
                ("user", user.to_string())
            }
        };
        let audit = AuditEvent::new(
            Some(actor),
            Some(company),
            AuditAction::ConnectionDisconnect,
            (kind, id),
            None::<&()>,
            Some(&serde_json::json!({
                "app_id": filter.app,
                "user_id": filter.user,
                "grant_id": filter.grant,
            })),
        );
        self.end(&filter, &audit).await
    }

    /// Staff: ends every connection of an app, at every company.
    pub async fn disconnect_everywhere(
        &self,
        actor: &Actor,
        app: AppId,
    ) -> DomainResult<Disconnected> {
        actor.require_staff()?;
        let owner = self.existing_app(app).await?;
        let filter = ConnectionFilter {
            app: Some(app),
            ..ConnectionFilter::default()
        };
        let audit = AuditEvent::new(
            Some(actor),
            Some(owner),
            AuditAction::ConnectionDisconnect,
            ("app", app.to_string()),
            None::<&()>,
            Some(&serde_json::json!({ "app_id": app, "everywhere": true })),
        );
        self.end(&filter, &audit).await
    }

    /// The signed-in user disconnects an app from themselves (Concur's
    /// `DELETE /app-mgmt/v0/connections`): every grant of theirs for it, and their consent.
    pub async fn disconnect_mine(&self, actor: &Actor, app: AppId) -> DomainResult<Disconnected> {
        let filter = ConnectionFilter {
            company: Some(actor.company_id()),
            user: Some(actor.user_id),
            app: Some(app),
            grant: None,
        };
        if self
            .store
            .connections(&filter, Utc::now().timestamp(), 1)
            .await?
            .is_empty()
        {
            return Err(DomainError::not_found("connection"));
        }
        let audit = AuditEvent::new(
            Some(actor),
            Some(actor.company_id()),
            AuditAction::ConnectionDisconnect,
            ("app", app.to_string()),
            None::<&()>,
            Some(&serde_json::json!({ "app_id": app, "user_id": actor.user_id, "own": true })),
        );
        self.end(&filter, &audit).await
    }

    async fn end(
        &self,
        filter: &ConnectionFilter<'_>,
        audit: &AuditEvent,
    ) -> DomainResult<Disconnected> {
        let grants_revoked = self
            .store
            .disconnect(filter, audit, Utc::now().timestamp())
            .await?;
        Ok(Disconnected { grants_revoked })
    }

    /// The app's owner company, or "not found".
    async fn existing_app(&self, app: AppId) -> DomainResult<CompanyId> {
        Ok(self
            .store
            .app(app)
            .await?
            .ok_or(DomainError::not_found("application"))?
            .company_id)
    }

    async fn user_of(&self, company: CompanyId, user: UserId) -> DomainResult<()> {
        match self.store.user(user).await? {
            Some(u) if u.company_id == company => Ok(()),
            _ => Err(DomainError::not_found("user")),
        }
    }

    async fn views(&self, filter: &ConnectionFilter<'_>) -> DomainResult<Vec<ConnectionView>> {
        let found = self
            .store
            .connections(filter, Utc::now().timestamp(), MAX_CONNECTIONS_LISTED)
            .await?;
        let mut apps: HashMap<AppId, String> = HashMap::new();
        let mut users: HashMap<UserId, Option<String>> = HashMap::new();
        let mut out = Vec::with_capacity(found.len());
        for c in found {
            if let std::collections::hash_map::Entry::Vacant(e) = apps.entry(c.app_id) {
                let name = self
                    .store
                    .app(c.app_id)
                    .await?
                    .map_or_else(String::new, |a| a.spec.name);
                e.insert(name);
            }
            if let Some(u) = c.user_id
                && !users.contains_key(&u)
            {
                let login = self.store.user(u).await?.map(|u| u.login_id);
                users.insert(u, login);
            }
            out.push(self.view(c, &apps, &users));
        }
        Ok(out)
    }

    fn view(
        &self,
        c: Connection,
        apps: &HashMap<AppId, String>,
        users: &HashMap<UserId, Option<String>>,
    ) -> ConnectionView {
        let (groups, scopes): (Vec<String>, Vec<String>) = c
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .partition(|s| self.catalog.is_sensitive_data_group(s));
        ConnectionView {
            grant_id: c.grant_id,
            app_id: c.app_id,
            app_name: apps.get(&c.app_id).cloned().unwrap_or_default(),
            company_id: c.company_id,
            principal_type: if c.user_id.is_some() {
                PrincipalType::User
            } else {
                PrincipalType::Company
            },
            user_id: c.user_id,
            user_login: c.user_id.and_then(|u| users.get(&u).cloned().flatten()),
            scopes,
            sensitive_data_groups: groups,
            created_at: at(c.created_at),
            last_used_at: at(c.last_used_at),
            expires_at: at(c.expires_at),
        }
    }
}
