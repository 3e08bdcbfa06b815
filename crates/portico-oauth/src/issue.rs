//! Issuing tokens, and the checks every issuance and refresh makes: the app is active and
//! enabled for the company, the company and user are enabled, the scope is what the app
//! registered.

use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::jwt::AccessClaims;
use crate::params::Params;
use portico_domain::{
    self as domain, Asked, CompanyId, DomainError, Ineligible, PartnerApp, PlainSecret,
    PrincipalType, RefreshTokenRecord, ScopeSet, TokenGrant, UserId, secret::random_token,
};

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
}

/// The grant's id is taken: a replayed code revoked it before this exchange stored it.
pub(crate) const GRANT_EXISTS: &str = "the grant was revoked before it was stored";

pub(crate) const NOT_ENABLED: &str = "application is not enabled for this company";

/// A refusal of the eligibility rule as the token endpoints answer it. Unknown and disabled
/// companies and users read the same, so an answer does not tell which ids exist.
pub(crate) fn refusal(e: Ineligible) -> OAuthError {
    match e {
        Ineligible::AppInactive => OAuthError::invalid_grant("application is not active"),
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

    /// [`Self::check_principal`], then the scope a new grant or a refresh may carry
    /// ([`portico_domain::grantable_scopes`]).
    pub(crate) async fn grantable_scopes(
        &self,
        app: &PartnerApp,
        principal: &Principal,
        asked: Asked<'_>,
    ) -> OAuthResult<ScopeSet> {
        self.eligibility(principal, app, |p, enablement| {
            domain::grantable_scopes(app, p, enablement, asked, &self.catalog)
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

    /// Starts a grant for a user or company with the scope asked (or all the app registered),
    /// for the password grants.
    pub(crate) async fn grant_for(
        &self,
        app: &PartnerApp,
        principal: Principal,
        params: &Params,
        now: i64,
    ) -> OAuthResult<IssuedTokens> {
        let scope = self
            .grantable_scopes(app, &principal, Asked::Grant(params.get("scope")))
            .await?;
        let (_, issued) = self.start_grant(app, &principal, &scope, None, now).await?;
        Ok(issued)
    }

    /// A signed access token for `principal`; returns the token and its lifetime.
    pub(crate) fn access_token(
        &self,
        app: &PartnerApp,
        principal: &Principal,
        scope: &ScopeSet,
        sid: Option<&str>,
        now: i64,
    ) -> (String, i64) {
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
            aud: self.settings.audience.clone(),
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
        };
        (token, record)
    }

    /// Starts a grant (refresh-token family) for a user or company and issues its first tokens.
    /// `id`: the id an authorization code was bound to (a new one otherwise).
    pub(crate) async fn start_grant(
        &self,
        app: &PartnerApp,
        principal: &Principal,
        scope: &ScopeSet,
        id: Option<String>,
        now: i64,
    ) -> OAuthResult<(TokenGrant, IssuedTokens)> {
        let company = principal
            .company()
            .ok_or_else(|| OAuthError::Server("a grant needs a company".into()))?;
        let grant = TokenGrant {
            id: id.unwrap_or_else(|| random_token(24)),
            app_id: app.id,
            company_id: company,
            user_id: match principal {
                Principal::User { user, .. } => Some(*user),
                _ => None,
            },
            scope: scope.to_string(),
            created_at: now,
            revoked_at: None,
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
        let (access_token, expires_in) =
            self.access_token(app, principal, scope, Some(&grant.id), now);
        Ok((
            grant,
            IssuedTokens {
                access_token,
                expires_in,
                scope: scope.to_string(),
                refresh_token: Some(refresh),
            },
        ))
    }
}
