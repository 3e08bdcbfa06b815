//! Issuing tokens, and the checks every issuance and refresh makes: the app is active and
//! enabled for the company, the company and user are enabled, the scope is what the app
//! registered.

use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::jwt::{AccessClaims, Audience, Confirmation};
use portico_domain::{
    self as domain, Asked, CompanyId, DomainError, GrantScope, Ineligible, MAX_RESOURCES,
    PartnerApp, PlainSecret, PrincipalType, RefreshTokenRecord, ScopeSet, Target, TokenGrant,
    UserId, join_resources, resolve_target, secret::random_token, validate_resource,
};
use std::collections::{BTreeSet, HashMap};

/// On whose behalf tokens are issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    User { user: UserId, company: CompanyId },
    Company(CompanyId),
    App,
}

impl Principal {
    pub(crate) fn company(&self) -> Option<CompanyId> {
        match self {
            Principal::User { company, .. } | Principal::Company(company) => Some(*company),
            Principal::App => None,
        }
    }

    pub(crate) fn of_grant(grant: &TokenGrant) -> Self {
        match grant.user_id {
            Some(user) => Principal::User {
                user,
                company: grant.company_id,
            },
            None => Principal::Company(grant.company_id),
        }
    }
}

/// What the token endpoint answers with.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
    pub refresh_token: Option<PlainSecret>,
    /// When the refresh token expires (epoch seconds), for Concur's `refresh_expires_in`.
    pub refresh_expires_at: Option<i64>,
    /// OpenID Connect: for a user who asked `openid`, and for every company token.
    pub id_token: Option<String>,
    /// `Bearer`, or `DPoP` for a token bound to a key.
    pub token_type: &'static str,
    /// Whose tokens these are (`user`, `company`, `app`); None for an answer given again
    /// within the refresh grace window.
    pub principal_type: Option<&'static str>,
}

/// What one issuance is for: the principal, the access token's scope and resources, and for an
/// ID token when the user signed in and the request's nonce.
pub(crate) struct Issuance<'a> {
    pub app: &'a PartnerApp,
    pub principal: Principal,
    pub scope: GrantScope,
    /// `None`: the configured default audience.
    pub target: Option<Target>,
    pub auth_time: Option<i64>,
    pub nonce: Option<&'a str>,
    /// The DPoP key the tokens are bound to (RFC 9449 §6: `cnf.jkt`).
    pub dpop_jkt: Option<&'a str>,
}

/// A new grant's own scope and resources, which later refreshes stay within (the access token
/// of the first issuance may be for a part of them).
pub(crate) struct NewGrant {
    pub scope: ScopeSet,
    pub resources: Option<String>,
    /// The id an authorization code was bound to (a new one otherwise).
    pub id: Option<String>,
}

/// The grant's id is taken: a replayed code revoked it before this exchange stored it.
pub(crate) const GRANT_EXISTS: &str = "the grant was revoked before it was stored";

pub(crate) const NOT_ENABLED: &str = "application is not enabled for this company";

/// A refusal of the eligibility rule as the token endpoints answer it. Unknown and disabled
/// companies and users read the same, so an answer does not tell which ids exist.
pub(crate) fn refusal(e: Ineligible) -> OAuthError {
    match e {
        Ineligible::AppInactive => OAuthError::invalid_grant("application is not active"),
        Ineligible::OwnerDisabled => {
            OAuthError::invalid_grant("the company that registered the application is disabled")
        }
        Ineligible::CompanyUnknown | Ineligible::CompanyDisabled => {
            OAuthError::invalid_grant("company is disabled")
        }
        Ineligible::UserUnknown | Ineligible::UserDisabled | Ineligible::UserNotOfCompany => {
            OAuthError::invalid_grant("user is disabled")
        }
        Ineligible::NotEnabled(_) => OAuthError::invalid_grant(NOT_ENABLED),
        Ineligible::Scope(e) => e.into(),
    }
}

impl Inner {
    /// The checks every issuance, refresh and introspection makes: the domain's eligibility
    /// rule ([`portico_domain::may_serve`]) over the app, the company, the user and the
    /// company's enablement choice as the directory has them.
    pub(crate) async fn check_principal(
        &self,
        app: &PartnerApp,
        principal: &Principal,
    ) -> OAuthResult<()> {
        self.eligibility(principal, app, |p, enablement| {
            domain::may_serve(app, p, enablement)
        })
        .await
    }

    /// Loads what the eligibility rule reads (cached by the directory) and applies `rule`.
    async fn eligibility<T>(
        &self,
        principal: &Principal,
        app: &PartnerApp,
        rule: impl FnOnce(domain::Principal<'_>, Option<bool>) -> Result<T, Ineligible>,
    ) -> OAuthResult<T> {
        let owner = self.directory.company(app.company_id).await?;
        domain::owner_serves(app, owner.as_deref()).map_err(refusal)?;
        let Some(company_id) = principal.company() else {
            return rule(domain::Principal::App, None).map_err(refusal);
        };
        let company = self.directory.company(company_id).await?;
        let user = match principal {
            Principal::User { user, .. } => self.directory.user(*user).await?,
            _ => None,
        };
        let enablement = self.directory.enablement(app, company_id).await?;
        let principal = match principal {
            Principal::User { .. } => domain::Principal::User {
                user: user.as_deref(),
                company: company.as_deref(),
            },
            _ => domain::Principal::Company(company.as_deref()),
        };
        rule(principal, enablement).map_err(refusal)
    }

    /// Revokes a grant whose refresh token was reused; a failure is logged (the caller is
    /// refused either way).
    pub(crate) async fn revoke_grant(&self, grant_id: &str, now: i64) {
        if let Err(e) = self
            .directory
            .store()
            .revoke_grants(&[grant_id.to_owned()], now)
            .await
        {
            tracing::error!(error = %e, "revoking a reused grant failed");
        }
    }

    /// The scope and target of a request (`resource` parameters): the eligibility rule, then
    /// the resources, which keep the scopes they serve. `granted`: the resources a grant is
    /// bound to. `explicit`: the request named its scope (a scope the resources do not serve is
    /// then refused instead of dropped).
    pub(crate) async fn resolve(
        &self,
        app: &PartnerApp,
        principal: &Principal,
        asked: Asked<'_>,
        resources: &[&str],
        granted: Option<&[String]>,
        explicit: bool,
    ) -> OAuthResult<(GrantScope, Option<Target>)> {
        let mut scope = self.grant_scope(app, principal, asked).await?;
        let target = self.target(resources, granted).await?;
        if let Some(t) = &target
            && !scope.api.is_empty()
        {
            scope.api = t.narrow(&scope.api, explicit)?;
        }
        Ok((scope, target))
    }

    /// [`Self::check_principal`], then the scope, identity scopes included
    /// ([`portico_domain::grant_scope`]).
    pub(crate) async fn grant_scope(
        &self,
        app: &PartnerApp,
        principal: &Principal,
        asked: Asked<'_>,
    ) -> OAuthResult<GrantScope> {
        self.eligibility(principal, app, |p, enablement| {
            domain::grant_scope(app, p, enablement, asked, &self.catalog)
        })
        .await
    }

    /// The resources asked (RFC 8707), each well-formed, known and within `granted`: an API of
    /// the catalog, the platform's APIs as a whole (the default audience), or a resource
    /// server's app.
    pub(crate) async fn target(
        &self,
        asked: &[&str],
        granted: Option<&[String]>,
    ) -> OAuthResult<Option<Target>> {
        let mut served: HashMap<String, BTreeSet<String>> = HashMap::new();
        let names: Vec<&str> = if asked.is_empty() {
            granted
                .unwrap_or_default()
                .iter()
                .map(String::as_str)
                .collect()
        } else {
            asked.to_vec()
        };
        if names.len() <= MAX_RESOURCES {
            for r in names {
                if validate_resource(r).is_err() || served.contains_key(r) {
                    continue;
                }
                if let Some(scopes) = self.resource_scopes(r).await? {
                    served.insert(r.to_owned(), scopes);
                }
            }
        }
        Ok(resolve_target(asked, granted, |r| served.get(r).cloned())?)
    }

    async fn resource_scopes(&self, resource: &str) -> OAuthResult<Option<BTreeSet<String>>> {
        if resource == self.settings.audience {
            return Ok(Some(self.catalog.all_scopes().map(str::to_owned).collect()));
        }
        if let Some(scopes) = self.catalog.resource_scopes(resource) {
            return Ok(Some(scopes));
        }
        Ok(self
            .directory
            .resource_server(resource)
            .await?
            .filter(|rs| rs.spec.active)
            .map(|rs| rs.registered_scopes()))
    }

    /// A grant for a user or company with the scope and resources asked (or all the app
    /// registered), for the password grants: the user (or company) is there now.
    pub(crate) async fn grant_for(
        &self,
        req: &crate::grants::TokenRequest<'_>,
        principal: Principal,
        auth_time: Option<i64>,
    ) -> OAuthResult<IssuedTokens> {
        let (app, params, now) = (&req.client.app, req.params, req.now);
        let dpop_jkt = req.dpop_jkt.as_deref();
        let asked = params.get("scope");
        let (scope, target) = self
            .resolve(
                app,
                &principal,
                Asked::Grant(asked),
                &params.resources(),
                None,
                asked.is_some(),
            )
            .await?;
        let grant = NewGrant {
            scope: scope.scope(),
            resources: target.as_ref().and_then(|t| join_resources(&t.resources)),
            id: None,
        };
        let issuance = Issuance {
            app,
            principal,
            scope,
            target,
            auth_time,
            nonce: None,
            dpop_jkt,
        };
        self.start_grant(&issuance, grant, now).await
    }

    /// The access token (and ID token, if one is due) of an issuance; the refresh token, if
    /// any, is the caller's.
    pub(crate) fn issue(
        &self,
        issuance: &Issuance<'_>,
        sid: Option<&str>,
        refresh: Option<(PlainSecret, i64)>,
        now: i64,
    ) -> IssuedTokens {
        let scope = issuance.scope.scope();
        let audience = match &issuance.target {
            Some(t) => Audience::of(&t.resources),
            None => Audience::One(self.settings.audience.clone()),
        };
        let (access_token, expires_in) = self.access_token(issuance, &scope, audience, sid, now);
        let id_token = (issuance.scope.identity.openid
            || matches!(issuance.principal, Principal::Company(_)))
        .then(|| self.id_token(issuance, &access_token, now));
        let (refresh_token, refresh_expires_at) = match refresh {
            Some((t, at)) => (Some(t), Some(at)),
            None => (None, None),
        };
        IssuedTokens {
            access_token,
            expires_in,
            scope: scope.to_string(),
            refresh_token,
            refresh_expires_at,
            id_token,
            token_type: if issuance.dpop_jkt.is_some() {
                "DPoP"
            } else {
                "Bearer"
            },
            principal_type: Some(match issuance.principal {
                Principal::User { .. } => "user",
                Principal::Company(_) => "company",
                Principal::App => "app",
            }),
        }
    }

    /// A signed access token of an issuance (bound to its DPoP key, if any); returns the token
    /// and its lifetime.
    pub(crate) fn access_token(
        &self,
        issuance: &Issuance<'_>,
        scope: &ScopeSet,
        aud: Audience,
        sid: Option<&str>,
        now: i64,
    ) -> (String, i64) {
        let (app, principal, dpop_jkt) = (issuance.app, &issuance.principal, issuance.dpop_jkt);
        let ttl = self.settings.access_token_ttl;
        let sub = match principal {
            Principal::User { user, .. } => user.to_string(),
            Principal::Company(c) => c.to_string(),
            Principal::App => app.client_id(),
        };
        let principal_type = match principal {
            Principal::User { .. } => PrincipalType::User,
            Principal::Company(_) => PrincipalType::Company,
            Principal::App => PrincipalType::App,
        };
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub,
            aud,
            client_id: app.client_id(),
            scope: scope.to_string(),
            jti: random_token(16),
            iat: now,
            nbf: now,
            exp: now + ttl,
            principal_type,
            company_id: principal.company(),
            sensitive_data_groups: scope.sensitive_data_groups(&self.catalog),
            sid: sid.map(str::to_owned),
            cnf: dpop_jkt.map(|jkt| Confirmation {
                jkt: jkt.to_owned(),
            }),
        };
        (claims.sign(&self.keys()), ttl)
    }

    pub(crate) fn new_refresh_token(
        &self,
        grant_id: &str,
        now: i64,
    ) -> (PlainSecret, RefreshTokenRecord) {
        let token = PlainSecret::generate();
        let record = RefreshTokenRecord {
            digest: token.digest(),
            grant_id: grant_id.to_owned(),
            issued_at: now,
            expires_at: now + self.settings.refresh_token_ttl,
            rotated_at: None,
            successor: None,
            reply: None,
        };
        (token, record)
    }

    /// Starts a grant (refresh-token family) for a user or company and issues its first tokens.
    pub(crate) async fn start_grant(
        &self,
        issuance: &Issuance<'_>,
        new: NewGrant,
        now: i64,
    ) -> OAuthResult<IssuedTokens> {
        let principal = &issuance.principal;
        let company = principal
            .company()
            .ok_or_else(|| OAuthError::Server("a grant needs a company".into()))?;
        let grant = TokenGrant {
            id: new.id.unwrap_or_else(|| random_token(24)),
            app_id: issuance.app.id,
            company_id: company,
            user_id: match principal {
                Principal::User { user, .. } => Some(*user),
                _ => None,
            },
            scope: new.scope.to_string(),
            created_at: now,
            revoked_at: None,
            resources: new.resources,
            auth_time: issuance.auth_time,
            dpop_jkt: issuance.dpop_jkt.map(str::to_owned),
        };
        let (refresh, record) = self.new_refresh_token(&grant.id, now);
        self.directory
            .store()
            .insert_grant(&grant, &record)
            .await
            .map_err(|e| match e {
                DomainError::Conflict {
                    code: "grant_exists",
                    ..
                } => OAuthError::invalid_grant(GRANT_EXISTS),
                e => e.into(),
            })?;
        self.directory.remember_refresh(&record, &grant, now);
        Ok(self.issue(
            issuance,
            Some(&grant.id),
            Some((refresh, record.expires_at)),
            now,
        ))
    }
}
