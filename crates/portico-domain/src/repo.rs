//! The storage ports: what the services need from a store, in the domain's words. The sea-orm
//! implementation lives in `portico-store`. Every method that changes something takes the
//! audit event to write in the same transaction, and the store announces the [`crate::Change`].

use crate::Notice;
use crate::{
    AppId, AuditEntry, AuditEvent, AuditQuery, AuthorizationCodeRecord, CodeRedemption, Company,
    CompanyId, Connection, ConnectionFilter, DomainResult, PartnerApp, RefreshTokenRecord,
    RememberedConsent, RequestTokenRecord, Rotation, SigningKeyRecord, TokenDigest, TokenGrant,
    User, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[async_trait]
pub trait CompanyStore: Send + Sync {
    async fn insert_company(&self, company: &Company, audit: &AuditEvent) -> DomainResult<()>;
    async fn company(&self, id: CompanyId) -> DomainResult<Option<Company>>;
    async fn companies(&self) -> DomainResult<Vec<Company>>;
    /// Writes `company` with the next version if the stored one is still `expected_version`
    /// (else `Stale`); with `end_sessions`, ends every session of its users in the same
    /// transaction.
    async fn update_company(
        &self,
        expected_version: i64,
        company: &Company,
        end_sessions: bool,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
    async fn count_companies(&self) -> DomainResult<u64>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict { code: "login_id_taken" }` when the login id is in use.
    async fn insert_user(
        &self,
        user: &User,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
    async fn user(&self, id: UserId) -> DomainResult<Option<User>>;
    /// The user with this (lower-cased) login id and their password hash.
    async fn user_credentials(&self, login_id: &str) -> DomainResult<Option<(User, String)>>;
    async fn users_of(&self, company: CompanyId) -> DomainResult<Vec<User>>;
    /// Writes `user` (and the password hash when given) with the next version if the stored
    /// one is still `expected_version` (else `Stale`); with `end_sessions`, ends every session
    /// of the user in the same transaction.
    async fn update_user(
        &self,
        expected_version: i64,
        user: &User,
        password_hash: Option<&str>,
        end_sessions: bool,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
}

/// The hashes an app's secret is checked against. After a New Secret with a grace period the
/// previous hash stays valid until `previous_valid_until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSecrets {
    pub current_hash: String,
    pub previous_hash: Option<String>,
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// The columns of an app that one registry operation owns; its write touches only those.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppPart {
    /// What the owner edits (Modify): name, description, active, APIs, redirect URIs, grants.
    Spec,
    /// Review status, reason, submitter and reviewer.
    Review,
    Visibility,
    ResourceServer,
}

/// A company's own choice to enable or disable an app.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Enablement {
    pub company_id: CompanyId,
    pub app_id: AppId,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
}

#[async_trait]
pub trait AppStore: Send + Sync {
    /// Stores a new app with its secret hash and, when given, the registering company's
    /// enablement. Fails with `Conflict { code: "name_taken" }` if the company has an app of
    /// that name, and `Conflict { code: "already_certified" }` if the app's sandbox app has a
    /// production registration already.
    async fn insert_app(
        &self,
        app: &PartnerApp,
        secret_hash: &str,
        owner_enablement: Option<&Enablement>,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
    /// The production registration certified from `sandbox`, if any.
    async fn production_of(&self, sandbox: AppId) -> DomainResult<Option<PartnerApp>>;
    async fn app(&self, id: AppId) -> DomainResult<Option<PartnerApp>>;
    async fn apps_of(&self, company: CompanyId) -> DomainResult<Vec<PartnerApp>>;
    async fn apps_in_review(&self) -> DomainResult<Vec<PartnerApp>>;
    /// The app staff marked as the resource server of `resource_uri`, if any.
    async fn resource_server_app(&self, resource_uri: &str) -> DomainResult<Option<PartnerApp>>;
    /// Writes the `parts` of `app` (and, for a New Secret, `secrets` with `secret_rotated_at`),
    /// its `updated_at` and the next version, with `audit`, in one transaction, if the stored
    /// version is still `expected_version`; otherwise writes nothing and fails with `Stale`.
    async fn update_app(
        &self,
        expected_version: i64,
        app: &PartnerApp,
        parts: &[AppPart],
        secrets: Option<&ClientSecrets>,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
    async fn client_secrets(&self, id: AppId) -> DomainResult<Option<ClientSecrets>>;
    /// Active apps that are the company's own or public/global, with the company's choice.
    async fn apps_available_to(
        &self,
        company: CompanyId,
    ) -> DomainResult<Vec<(PartnerApp, Option<bool>)>>;
}

#[async_trait]
pub trait EnablementStore: Send + Sync {
    async fn enablement(&self, company: CompanyId, app: AppId) -> DomainResult<Option<bool>>;
    async fn set_enablement(&self, enablement: &Enablement, audit: &AuditEvent)
    -> DomainResult<()>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit_entries(&self, query: &AuditQuery) -> DomainResult<Vec<AuditEntry>>;
    /// Records an event that changes nothing else (a sign-in, a failed one).
    async fn record_event(&self, event: &AuditEvent) -> DomainResult<()>;
}

/// A signed-in admin session; only the digest of its token is stored.
#[derive(Clone, Debug)]
pub struct AdminSession {
    pub digest: TokenDigest,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &AdminSession) -> DomainResult<()>;
    async fn session(&self, digest: &TokenDigest) -> DomainResult<Option<AdminSession>>;
    async fn delete_session(&self, digest: &TokenDigest) -> DomainResult<()>;
    /// Ends every session of `user` (sign out everywhere); returns how many there were.
    async fn delete_sessions_of(&self, user: UserId) -> DomainResult<u64>;
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> DomainResult<u64>;
}

/// Company request tokens: generated by a company admin (the registry), exchanged by the app
/// (the token service).
#[async_trait]
pub trait RequestTokenStore: Send + Sync {
    async fn insert_request_token(
        &self,
        token: &RequestTokenRecord,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
    async fn find_request_token(
        &self,
        digest: &TokenDigest,
    ) -> DomainResult<Option<RequestTokenRecord>>;
}

/// What checking a sign-in reads: users with their password hashes, and their companies.
pub trait SignInStore: UserStore + CompanyStore {}
impl<T: UserStore + CompanyStore + ?Sized> SignInStore for T {}

/// What housekeeping deletes: expired codes, request tokens, pushed authorization requests,
/// refresh tokens (and their grants once empty) and revoked-token entries past their expiry;
/// rotated refresh tokens rotated before `rotated_before` (kept that long to detect their
/// reuse); sealed refresh replies of tokens rotated before `replies_before` (the grace
/// window); change-log rows before `changes_before` (a feed reader further behind gets a
/// snapshot). A revoked grant and its refresh tokens stay while access tokens of it may live
/// (revoked at or after `grants_revoked_before`): an unknown grant reads as not revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Purge {
    pub now: i64,
    pub grants_revoked_before: i64,
    pub rotated_before: i64,
    pub replies_before: i64,
    pub changes_before: i64,
}

/// Everything a resource server must refuse right now, for the revocation feed's snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DenyState {
    /// (jti, exp) of revoked access tokens not yet expired.
    pub revoked_jtis: Vec<(String, i64)>,
    /// (grant id, revoked_at) of grants revoked recently enough to have live access tokens.
    pub revoked_grants: Vec<(String, i64)>,
    /// Apps not served: inactive, or their owner company is disabled.
    pub unserved_apps: Vec<AppId>,
    pub disabled_companies: Vec<CompanyId>,
    pub disabled_users: Vec<UserId>,
    /// (company, app) pairs the company disabled.
    pub disabled_enablements: Vec<(CompanyId, AppId)>,
}

/// The change log, in commit order, and the state a feed reader starts from.
#[async_trait]
pub trait FeedStore: Send + Sync {
    /// The oldest `seq` still held (None: the log is empty) and the newest (0 when empty).
    async fn change_log_bounds(&self) -> DomainResult<(Option<i64>, i64)>;
    /// Up to `limit` logged changes after `after`, oldest first: (seq, encoded change).
    async fn changes_after(&self, after: i64, limit: u64) -> DomainResult<Vec<(i64, String)>>;
    /// What is refused now; grants revoked at or after `grants_since`.
    async fn deny_state(&self, now: i64, grants_since: i64) -> DomainResult<DenyState>;
}

/// Connections (live grants) and remembered consents.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Live connections matching `filter` at `now`, most recently used first, at most `limit`.
    async fn connections(
        &self,
        filter: &ConnectionFilter<'_>,
        now: i64,
        limit: u64,
    ) -> DomainResult<Vec<Connection>>;
    /// Revokes every unrevoked grant matching `filter` and withdraws the remembered consents
    /// of the same users and apps, with `audit`, in one transaction; each revoked grant is
    /// announced. Returns how many grants were revoked.
    async fn disconnect(
        &self,
        filter: &ConnectionFilter<'_>,
        audit: &AuditEvent,
        now: i64,
    ) -> DomainResult<u64>;
    async fn consent(&self, user: UserId, app: AppId) -> DomainResult<Option<RememberedConsent>>;
    /// Stores (or replaces) a user's consent to an app.
    async fn remember_consent(&self, consent: &RememberedConsent) -> DomainResult<()>;
}

/// A new sandbox as one write: its Development Partner company, the developer as its admin,
/// and the registered sample app (enabled for the company).
#[derive(Clone, Debug)]
pub struct NewSandbox {
    pub company: Company,
    pub admin: User,
    pub password_hash: String,
    pub app: PartnerApp,
    pub secret_hash: String,
    pub enablement: Enablement,
}

/// Sandbox sign-ups.
#[async_trait]
pub trait SandboxStore: Send + Sync {
    /// Writes the sandbox in one transaction with `audits`; with `approving`, also marks that
    /// pending request approved for the new company, or writes nothing (`Conflict
    /// { code: "not_pending" }`) if it was decided meanwhile. A login id in use fails with
    /// `Conflict { code: "login_id_taken" }`.
    async fn insert_sandbox(
        &self,
        sandbox: &NewSandbox,
        approving: Option<&crate::SandboxRequest>,
        audits: &[AuditEvent],
    ) -> DomainResult<()>;
    /// Stores a pending request; a login id already waiting fails with `login_id_taken`.
    async fn insert_sandbox_request(
        &self,
        request: &crate::SandboxRequest,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
    /// The request and the password hash it holds.
    async fn sandbox_request(
        &self,
        id: uuid::Uuid,
    ) -> DomainResult<Option<(crate::SandboxRequest, String)>>;
    /// Requests of that status (all when None), oldest first.
    async fn sandbox_requests(
        &self,
        status: Option<crate::SandboxRequestStatus>,
    ) -> DomainResult<Vec<crate::SandboxRequest>>;
    /// Writes a rejection if the request is still pending (else `not_pending`).
    async fn reject_sandbox_request(
        &self,
        rejected: &crate::SandboxRequest,
        audit: &AuditEvent,
    ) -> DomainResult<()>;
    /// Whether a user has this login id, or a pending request waits with it.
    async fn login_id_in_use(&self, login_id: &str) -> DomainResult<bool>;
}

/// Everything the registry services need, as one object.
pub trait RegistryStore:
    SignInStore
    + SandboxStore
    + ConnectionStore
    + AppStore
    + EnablementStore
    + AuditStore
    + SessionStore
    + FailureStore
    + RequestTokenStore
{
}

impl<T> RegistryStore for T where
    T: SignInStore
        + SandboxStore
        + ConnectionStore
        + AppStore
        + EnablementStore
        + AuditStore
        + SessionStore
        + FailureStore
        + RequestTokenStore
{
}

/// The `jti`s already used (of client assertions and DPoP proofs), shared by every node: a
/// replay is refused wherever it arrives. Kept until the token they came in could no longer
/// be accepted anyway.
#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records `digest` until `expires_at`; false when it was recorded before (a replay).
    async fn first_use(&self, digest: &TokenDigest, expires_at: i64) -> DomainResult<bool>;
    /// Forgets what expired before `now`.
    async fn purge_used(&self, now: i64) -> DomainResult<u64>;
}

/// An authorization request waiting at the authorization endpoint (RFC 9126), stored under the
/// digest of its `request_uri`, never the URI itself. Expired ones go with [`Purge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRequest {
    pub digest: TokenDigest,
    pub app_id: AppId,
    /// The request's parameters, form-encoded.
    pub params: String,
    pub expires_at: i64,
}

/// Pushed authorization requests, shared by every node.
#[async_trait]
pub trait PushedRequestStore: Send + Sync {
    async fn insert_pushed_request(&self, request: &PushedRequest) -> DomainResult<()>;
    /// Deletes the live request `digest` of `client` and returns its parameters, in one
    /// statement: of concurrent callers, on any node, exactly one gets them. Another client's,
    /// an expired or an unknown one is `None` (and left alone).
    async fn take_pushed_request(
        &self,
        digest: &TokenDigest,
        client: AppId,
        now: i64,
    ) -> DomainResult<Option<String>>;
    /// The parameters of the live request `digest` of `client`, left in place.
    async fn pushed_request(
        &self,
        digest: &TokenDigest,
        client: AppId,
        now: i64,
    ) -> DomainResult<Option<String>>;
}

/// The token service's storage. Revocations announce themselves like registry changes do.
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn insert_code(&self, code: &AuthorizationCodeRecord) -> DomainResult<()>;
    /// Marks the code used by `client` and binds it to `grant_id`, in one statement, and
    /// returns it, once; later calls report the earlier redemption and its grant. A code of
    /// another client is left untouched.
    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        client: AppId,
        grant_id: &str,
        now: i64,
    ) -> DomainResult<CodeRedemption>;
    /// Revokes the grant a replayed code was bound to, whether or not its first redemption
    /// has stored it yet: a grant stored later under that id is refused (`Conflict`), so no
    /// token of it is ever issued.
    async fn revoke_code_grant(
        &self,
        code: &AuthorizationCodeRecord,
        grant_id: &str,
        now: i64,
    ) -> DomainResult<()>;

    /// Fails with `Conflict { code: "grant_exists" }` if a grant of that id exists (a code's
    /// grant revoked by a replay before it was stored).
    async fn insert_grant(
        &self,
        grant: &TokenGrant,
        refresh: &RefreshTokenRecord,
    ) -> DomainResult<()>;
    async fn find_refresh_token(
        &self,
        digest: &TokenDigest,
    ) -> DomainResult<Option<(RefreshTokenRecord, TokenGrant)>>;
    /// Marks `old` rotated (recording `new` as its successor and the sealed `reply` for the
    /// grace window) and stores `new`, atomically, unless `old` was rotated already or its
    /// grant is revoked (checked in the same statement, so no cache can let a revoked grant
    /// rotate).
    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        new: &RefreshTokenRecord,
        reply: Option<&[u8]>,
        now: i64,
    ) -> DomainResult<Rotation>;
    async fn revoke_grants(&self, grant_ids: &[String], now: i64) -> DomainResult<()>;
    /// The live grants of a user for an app.
    async fn grants_of(&self, user: UserId, app: AppId) -> DomainResult<Vec<String>>;
    /// Grants revoked at or after `since`: (id, revoked_at).
    async fn revoked_grants_since(&self, since: i64) -> DomainResult<Vec<(String, i64)>>;
    /// Whether the grant was revoked (an unknown grant was not: it is purged only once every
    /// token of it has expired). Asked when a node's revocation list cannot answer.
    async fn is_grant_revoked(&self, grant_id: &str) -> DomainResult<bool>;

    async fn revoke_access_token(&self, jti: &str, expires_at: i64, now: i64) -> DomainResult<()>;
    /// Revoked access tokens that have not expired yet: (jti, exp).
    async fn revoked_access_tokens(&self, now: i64) -> DomainResult<Vec<(String, i64)>>;
    /// Whether this access token was revoked; asked when a node's list cannot answer.
    async fn is_access_token_revoked(&self, jti: &str) -> DomainResult<bool>;

    async fn signing_keys(&self) -> DomainResult<Vec<SigningKeyRecord>>;
    /// Adds a new set of signing keys (one per algorithm in use) and retires every other active
    /// key, at once.
    /// Adds keys (retiring the active ones of their algorithms) with `audit`, in one
    /// transaction.
    async fn add_signing_keys(
        &self,
        keys: &[SigningKeyRecord],
        now: i64,
        audit: &AuditEvent,
    ) -> DomainResult<()>;

    /// Deletes what no rule needs any more (see [`Purge`]).
    async fn purge_expired(&self, purge: &Purge) -> DomainResult<u64>;
}

/// Failure budgets (see [`crate::FailureBudget`]), shared by every node.
#[async_trait]
pub trait FailureStore: Send + Sync {
    /// Records one failure against `key` with `budget`; returns the key's new state.
    async fn record_failure(
        &self,
        key: &str,
        budget: crate::FailureBudget,
        now_ms: i64,
    ) -> DomainResult<i64>;
    /// The stored state of each key (None: nothing on record), in order.
    async fn failure_states(&self, keys: &[String]) -> DomainResult<Vec<Option<i64>>>;
    /// Forgets keys whose whole budget is back.
    async fn purge_failures(&self, now_ms: i64) -> DomainResult<u64>;
}

/// Called with every notice, synchronously: for a change made on this node before the call that
/// made it returns, so nothing on this node can act on stale cached state afterwards.
pub type NoticeObserver = Arc<dyn Fn(&Notice) + Send + Sync>;

/// Where caches learn about changes (this node's, and other nodes' where the store relays them).
pub trait ChangeNotices: Send + Sync {
    fn observe_changes(&self, observer: NoticeObserver);
    /// Whether every change any node committed more than a second ago has reached the
    /// observers. While it is false, caches must not answer: storage does (or nobody, during
    /// an outage), so a node cut off from the others' notices fails closed.
    fn notices_current(&self) -> bool {
        true
    }
}
