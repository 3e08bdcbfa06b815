//! The revocation feed: what became invalid, pushed to resource servers that verify JWTs
//! locally, so they refuse a disabled app's, a disconnected grant's or a revoked token's
//! access token within a second, on whichever node made the change.
//!
//! The feed is the change log (one row per change notice, in commit order; see the store)
//! read after the position a reader resumes from. Each change is sent as the state it leads
//! to, read fresh from the store (not from this node's caches, which may not have heard the
//! notice yet), so a replay can never undo a later change. A reader starting out, or further
//! behind than the log holds, gets a snapshot of everything refused now instead. Every node
//! serves the same feed: the log is in the shared database, and any node's notice (or, when
//! notices are lost, a poll every second) wakes the readers.

use crate::client::Endpoint;
use crate::error::{OAuthError, OAuthResult};
use crate::params::Params;
use crate::{Inner, OAuthService, now};
use portico_domain::{AppId, Change, CompanyId, UserId, app_serves, repo::DenyState, standing};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How often a reader looks at the log when no notice woke it.
const POLL: Duration = Duration::from_secs(1);
/// Changes read per batch.
const BATCH: u64 = 500;
/// A reader further behind than this gets a snapshot instead of the backlog.
const MAX_BACKLOG: i64 = 20_000;

/// One message of the feed. Several messages may come from one change; only the last carries
/// the change's `id`, so a reader that resumes after it has seen all of them.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedEvent {
    pub id: Option<i64>,
    pub kind: &'static str,
    pub data: Value,
}

/// Why a caller may not follow the feed.
#[derive(Debug, thiserror::Error)]
pub enum FeedRefusal {
    /// The client did not authenticate (RFC 6749 §5.2 `invalid_client`).
    #[error("{0}")]
    Client(OAuthError),
    /// An app that staff have not marked as a resource server.
    #[error("only a resource server may follow the revocation feed")]
    NotResourceServer,
}

impl OAuthService {
    /// Authenticates a resource server (as at introspection: `client_secret_basic`) and opens
    /// a reader after `last_event_id`, or from a snapshot without one.
    pub async fn feed_reader(
        &self,
        authorization: Option<&str>,
        source: IpAddr,
        last_event_id: Option<i64>,
    ) -> Result<FeedReader, FeedRefusal> {
        let client = self
            .inner
            .authenticated_client(
                authorization,
                &Params::default(),
                Endpoint::RevocationFeed,
                source,
            )
            .await
            .map_err(FeedRefusal::Client)?;
        if !client.app.resource_server {
            return Err(FeedRefusal::NotResourceServer);
        }
        Ok(FeedReader {
            inner: self.inner.clone(),
            wake: self.inner.feed_wake.subscribe(),
            last: last_event_id,
        })
    }
}

/// One resource server's position in the feed.
pub struct FeedReader {
    inner: Arc<Inner>,
    wake: tokio::sync::watch::Receiver<u64>,
    last: Option<i64>,
}

impl FeedReader {
    /// The next messages, waiting for a change when there is none; `None` when the server is
    /// shutting down. An error ends the stream (the reader resumes after the last id it saw).
    pub async fn next(&mut self) -> OAuthResult<Option<Vec<FeedEvent>>> {
        loop {
            if self
                .inner
                .feeds_closed
                .load(std::sync::atomic::Ordering::Acquire)
            {
                return Ok(None);
            }
            // Marked seen before reading, so a change committed during the read wakes us.
            self.wake.borrow_and_update();
            let batch = self.read().await?;
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
            if let Ok(Err(_)) = tokio::time::timeout(POLL, self.wake.changed()).await {
                // The service is going away; keep polling until the connection closes.
                tokio::time::sleep(POLL).await;
            }
        }
    }

    async fn read(&mut self) -> OAuthResult<Vec<FeedEvent>> {
        let store = self.inner.directory.store();
        let (start, head) = store.change_log_bounds().await?;
        let resume = match self.last {
            // Ahead of the log (a restored database), behind what it still holds, or too far
            // behind: start over from a snapshot.
            Some(last)
                if last <= head
                    && start.is_none_or(|s| last >= s - 1)
                    && head - last <= MAX_BACKLOG =>
            {
                last
            }
            _ => return self.snapshot(head).await,
        };
        let changes = store.changes_after(resume, BATCH).await?;
        let mut out = Vec::new();
        for (seq, text) in changes {
            // An entry this version cannot read is skipped (its id moves the position on with
            // the next one).
            if let Ok(change) = text.parse::<Change>() {
                let mut events = self.translate(&change).await?;
                if let Some(last) = events.last_mut() {
                    last.id = Some(seq);
                }
                out.extend(events);
            }
            self.last = Some(seq);
        }
        Ok(out)
    }

    async fn snapshot(&mut self, head: i64) -> OAuthResult<Vec<FeedEvent>> {
        let now = now();
        let ttl = self.inner.settings.access_token_ttl;
        // The position is read before the state: a change after it is sent again, and
        // replaying a change's resulting state is harmless.
        let DenyState {
            revoked_jtis,
            revoked_grants,
            unserved_apps,
            disabled_companies,
            disabled_users,
            disabled_enablements,
        } = self
            .inner
            .directory
            .store()
            .deny_state(now, now - ttl - 60)
            .await?;
        self.last = Some(head);
        let data = json!({
            "revoked_jtis": revoked_jtis.iter()
                .map(|(jti, exp)| json!({ "jti": jti, "exp": exp })).collect::<Vec<_>>(),
            "revoked_grants": revoked_grants.iter()
                .map(|(g, at)| json!({ "grant_id": g, "until": at + ttl + 60 }))
                .collect::<Vec<_>>(),
            "disabled_apps": unserved_apps.iter().map(AppId::to_string).collect::<Vec<_>>(),
            "disabled_companies": disabled_companies.iter().map(CompanyId::to_string)
                .collect::<Vec<_>>(),
            "disabled_users": disabled_users.iter().map(UserId::to_string).collect::<Vec<_>>(),
            "disabled_enablements": disabled_enablements.iter()
                .map(|(c, a)| json!({ "company_id": c, "client_id": a.to_string() }))
                .collect::<Vec<_>>(),
        });
        Ok(vec![FeedEvent {
            id: Some(head),
            kind: "snapshot",
            data,
        }])
    }

    /// The state a change leads to, as feed messages.
    async fn translate(&self, change: &Change) -> OAuthResult<Vec<FeedEvent>> {
        let store = self.inner.directory.store();
        let event = |kind, data| FeedEvent {
            id: None,
            kind,
            data,
        };
        Ok(match change {
            Change::AccessTokenRevoked { jti, exp } => {
                vec![event("jti", json!({ "jti": jti, "exp": exp }))]
            }
            Change::GrantRevoked { grant_id } => {
                // Its access tokens live at most a token lifetime from now.
                let until = now() + self.inner.settings.access_token_ttl + 60;
                vec![event(
                    "grant",
                    json!({ "grant_id": grant_id, "until": until }),
                )]
            }
            Change::Keys => vec![event("keys", json!({}))],
            Change::User(id) => {
                let enabled = store.user(*id).await?.is_some_and(|u| u.enabled);
                vec![event("user", json!({ "user_id": id, "enabled": enabled }))]
            }
            Change::App(id) => {
                let serving = match store.app(*id).await? {
                    Some(app) => app_serves(&app, store.company(app.company_id).await?.as_ref()),
                    None => false,
                };
                vec![event(
                    "app",
                    json!({ "client_id": id.to_string(), "serving": serving }),
                )]
            }
            Change::Company(id) => {
                let company = store.company(*id).await?;
                let enabled = company.as_ref().is_some_and(|c| c.enabled);
                // Its own apps stop and start with it.
                let mut events: Vec<FeedEvent> = store
                    .apps_of(*id)
                    .await?
                    .iter()
                    .map(|app| {
                        event(
                            "app",
                            json!({ "client_id": app.client_id(),
                                "serving": app_serves(app, company.as_ref()) }),
                        )
                    })
                    .collect();
                events.push(event(
                    "company",
                    json!({ "company_id": id, "enabled": enabled }),
                ));
                events
            }
            Change::Enablement(company, app_id) => {
                let enabled = match store.app(*app_id).await? {
                    Some(app) => {
                        let choice = store.enablement(*company, *app_id).await?;
                        standing(&app, *company, choice).is_enabled()
                    }
                    None => false,
                };
                vec![event(
                    "enablement",
                    json!({ "company_id": company, "client_id": app_id.to_string(),
                        "enabled": enabled }),
                )]
            }
        })
    }
}
