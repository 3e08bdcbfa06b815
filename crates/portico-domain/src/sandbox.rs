//! The developer program's front door: a developer signs up for a sandbox (a Development
//! Partner company with one admin and a registered sample app), at once or after staff
//! approve the request, as the operator chose.

use crate::{
    ApiCatalog, ApiSelection, AppRegistration, CompanyId, DomainError, DomainResult, Edition,
    GrantType, NewCompany, UserId, validate, validate_login_id, validate_password,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whether anyone may sign up for a sandbox (the operator's choice).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignUpMode {
    /// No sign-up: staff create companies.
    #[default]
    Off,
    /// A Standard edition sandbox at once; a Professional one on staff approval.
    Open,
    /// Every sign-up waits for staff.
    Approval,
}

impl SignUpMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Self::Off),
            "open" => Some(Self::Open),
            "approval" => Some(Self::Approval),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Open => "open",
            Self::Approval => "approval",
        }
    }

    /// What a sign-up for `edition` does in this mode. "The sandbox that is created from the
    /// self-registration process produces a Standard Edition sandbox"; Professional is granted
    /// on request.
    pub fn path(self, edition: Edition) -> DomainResult<SignUpPath> {
        match (self, edition) {
            (Self::Off, _) => Err(DomainError::forbidden(
                "sandbox sign-up is not open on this server; ask the operator for a sandbox",
            )),
            (Self::Open, Edition::Standard) => Ok(SignUpPath::CreateNow),
            (Self::Open, Edition::Professional) | (Self::Approval, _) => {
                Ok(SignUpPath::WaitForStaff)
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignUpPath {
    CreateNow,
    WaitForStaff,
}

/// What a developer sends to sign up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSignUp {
    /// The developer's name.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_200))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::login_id))]
    pub login_id: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::password))]
    pub password: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_200))]
    pub company_name: String,
    /// Standard unless the developer asks for Professional (which staff grant).
    #[serde(default)]
    pub edition: Option<Edition>,
}

/// A sign-up whose every field is acceptable.
#[derive(Clone, Debug)]
pub struct ValidSignUp {
    pub display_name: String,
    pub login_id: String,
    pub password: String,
    pub company_name: String,
    pub edition: Edition,
}

impl SandboxSignUp {
    pub fn validate(self) -> DomainResult<ValidSignUp> {
        let display_name = validate::display_text("name", &self.name, 200)?;
        let login_id = validate_login_id(&self.login_id)?;
        validate_password(&self.password)?;
        let lowered = self.password.to_lowercase();
        let first = lowered.chars().next();
        if lowered.contains(&login_id) || lowered.chars().all(|c| Some(c) == first) {
            return Err(DomainError::invalid(
                "password",
                "must not contain the login id nor repeat one character",
            ));
        }
        let company_name = validate::display_text("company_name", &self.company_name, 200)?;
        Ok(ValidSignUp {
            display_name,
            login_id,
            password: self.password,
            company_name,
            edition: self.edition.unwrap_or(Edition::Standard),
        })
    }
}

impl ValidSignUp {
    /// The sandbox company: a Development Partner under a domain of its own beneath
    /// `domain_suffix` (`<name>-<random>.<suffix>`), so two sandboxes of one name never meet.
    pub fn company(&self, edition: Edition, domain_suffix: &str, random: &str) -> NewCompany {
        let mut label: String = self
            .company_name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        label = label
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        label.truncate(30);
        let label = label.trim_end_matches('-');
        let label = if label.is_empty() { "sandbox" } else { label };
        NewCompany {
            name: self.company_name.clone(),
            domain: format!("{label}-{random}.{domain_suffix}"),
            edition,
            development_partner: true,
            own_use_apps: false,
        }
    }
}

/// "The app in the system-generated sandbox should already be registered": a sample app
/// that can get a token at once (client credentials, for the first catalog API that needs no
/// other), the authorization code flow to a loopback redirect for the user flows, and the
/// company-level connection (a company request token).
pub fn sample_app(catalog: &ApiCatalog) -> AppRegistration {
    let apis = catalog
        .apis()
        .iter()
        .find(|a| a.requires.is_empty())
        .map(|a| {
            vec![ApiSelection {
                api: a.scope.clone(),
                sensitive_data_groups: vec![],
            }]
        })
        .unwrap_or_default();
    AppRegistration {
        name: "Sample App".into(),
        description: "Registered with your sandbox: use its Key and Secret to try the APIs.".into(),
        active: true,
        apis,
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        grant_types: Some(vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
            GrantType::CompanyRequestToken,
        ]),
        id_token_signed_response_alg: None,
        token_endpoint_auth_methods: None,
        jwks: None,
        dpop_bound_access_tokens: None,
        require_pushed_authorization_requests: None,
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxRequestStatus {
    Pending,
    Approved,
    Rejected,
}

impl SandboxRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A sign-up waiting for staff (or decided). The password is kept as its argon2id hash only,
/// to become the admin's on approval.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxRequest {
    pub id: Uuid,
    pub login_id: String,
    pub display_name: String,
    pub company_name: String,
    pub edition: Edition,
    pub status: SandboxRequestStatus,
    /// The network the sign-up came from (as counted by the sign-up limit).
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<UserId>,
    pub reason: Option<String>,
    /// The sandbox made on approval.
    pub company_id: Option<CompanyId>,
}

/// What staff decide about a pending sign-up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum SandboxDecision {
    /// Makes the sandbox, of the edition asked for unless staff choose another.
    Approve { edition: Option<Edition> },
    Reject {
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_2000))]
        reason: String,
    },
}

impl SandboxRequest {
    /// The request after staff decided; only a pending request is decided.
    pub fn decide(
        &self,
        decision: &SandboxDecision,
        by: UserId,
        now: DateTime<Utc>,
    ) -> DomainResult<SandboxRequest> {
        if self.status != SandboxRequestStatus::Pending {
            return Err(DomainError::conflict(
                "not_pending",
                "this sign-up request was decided already",
            ));
        }
        let mut next = self.clone();
        next.decided_at = Some(now);
        next.decided_by = Some(by);
        match decision {
            SandboxDecision::Approve { edition } => {
                next.status = SandboxRequestStatus::Approved;
                next.edition = edition.unwrap_or(self.edition);
            }
            SandboxDecision::Reject { reason } => {
                next.status = SandboxRequestStatus::Rejected;
                next.reason = Some(validate::display_text("reason", reason, 2000)?);
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signup(password: &str) -> SandboxSignUp {
        SandboxSignUp {
            name: "Dana Developer".into(),
            login_id: "Dana@Example.com".into(),
            password: password.into(),
            company_name: "Dana's Expense Tools".into(),
            edition: None,
        }
    }

    #[test]
    fn the_mode_decides_the_path() {
        use SignUpPath::*;
        assert!(SignUpMode::Off.path(Edition::Standard).is_err());
        assert_eq!(SignUpMode::Open.path(Edition::Standard).unwrap(), CreateNow);
        assert_eq!(
            SignUpMode::Open.path(Edition::Professional).unwrap(),
            WaitForStaff
        );
        assert_eq!(
            SignUpMode::Approval.path(Edition::Standard).unwrap(),
            WaitForStaff
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let field = |s: SandboxSignUp| match s.validate() {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(signup("short")), "password");
        assert_eq!(field(signup(&"x".repeat(2000))), "password");
        assert_eq!(field(signup("aaaaaaaaaaaaaaaa")), "password");
        assert_eq!(field(signup("dana@example.com-and-more")), "password");
        let mut s = signup("correct horse battery");
        s.company_name = "\u{7}\u{8}".into();
        assert_eq!(field(s), "company_name");
        let mut s = signup("correct horse battery");
        s.login_id = "a b".into();
        assert_eq!(field(s), "login_id");
        let mut s = signup("correct horse battery");
        s.name = " ".into();
        assert_eq!(field(s), "name");
    }

    #[test]
    fn the_company_is_a_development_partner_with_a_domain_of_its_own() {
        let v = signup("correct horse battery").validate().unwrap();
        assert_eq!(v.login_id, "dana@example.com");
        assert_eq!(v.edition, Edition::Standard);
        let c = v.company(Edition::Standard, "sandbox.portico.test", "k3x9");
        assert!(c.development_partner);
        assert_eq!(c.domain, "dana-s-expense-tools-k3x9.sandbox.portico.test");
        assert!(c.clone().validate().is_ok());
        let mut odd = v.clone();
        odd.company_name = "株式会社".into();
        assert_eq!(
            odd.company(Edition::Standard, "sandbox.portico.test", "k3x9")
                .domain,
            "sandbox-k3x9.sandbox.portico.test"
        );
    }

    #[test]
    fn only_a_pending_request_is_decided() {
        let r = SandboxRequest {
            id: Uuid::new_v4(),
            login_id: "dana@example.com".into(),
            display_name: "Dana".into(),
            company_name: "Dana Co".into(),
            edition: Edition::Professional,
            status: SandboxRequestStatus::Pending,
            source: "127.0.0.1".into(),
            created_at: Utc::now(),
            decided_at: None,
            decided_by: None,
            reason: None,
            company_id: None,
        };
        let staff = UserId::new();
        let approved = r
            .decide(
                &SandboxDecision::Approve { edition: None },
                staff,
                Utc::now(),
            )
            .unwrap();
        assert_eq!(approved.status, SandboxRequestStatus::Approved);
        assert_eq!(approved.edition, Edition::Professional);
        assert!(
            approved
                .decide(
                    &SandboxDecision::Reject { reason: "x".into() },
                    staff,
                    Utc::now()
                )
                .is_err()
        );
        let standard = r
            .decide(
                &SandboxDecision::Approve {
                    edition: Some(Edition::Standard),
                },
                staff,
                Utc::now(),
            )
            .unwrap();
        assert_eq!(standard.edition, Edition::Standard);
    }
}
