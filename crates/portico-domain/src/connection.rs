//! Connections: the live grants that tie an app to a user or a company, what ending them
//! means, and the consent a user gave that spares them the consent page next time.
//!
//! Disconnect and Disable differ: Disable (enablement) suspends an app for a whole company and
//! re-enabling revives every grant; Disconnect revokes grants, for good: their refresh tokens
//! and the access tokens issued from them stop at once, and the user's remembered consent is
//! withdrawn, so the next authorization asks again.

use crate::{AppId, CompanyId, ScopeSet, UserId};
use serde::Serialize;

/// A live grant: not revoked, with an unexpired refresh token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub grant_id: String,
    pub app_id: AppId,
    pub company_id: CompanyId,
    /// `None`: a company connection (a company request token's grant).
    pub user_id: Option<UserId>,
    pub scope: String,
    pub created_at: i64,
    /// When tokens were last issued from it (its newest refresh token).
    pub last_used_at: i64,
    /// When it ends unless refreshed (its live refresh token's expiry).
    pub expires_at: i64,
}

/// Which connections to list or end. Every field narrows; a company is required except for
/// staff ending an app's connections everywhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionFilter<'a> {
    pub company: Option<CompanyId>,
    pub app: Option<AppId>,
    pub user: Option<UserId>,
    pub grant: Option<&'a str>,
}

/// The most connections one list answer holds (newest use first).
pub const MAX_CONNECTIONS_LISTED: u64 = 500;

/// A consent a user gave an app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RememberedConsent {
    pub user_id: UserId,
    pub app_id: AppId,
    pub company_id: CompanyId,
    pub scope: ScopeSet,
    pub granted_at: i64,
}

/// Whether a remembered consent spares the consent page: given at this company, for every
/// scope (and sensitive data group) asked now. Asking for more, at another company (a user
/// moved), or `prompt=consent` (the caller's check) asks again.
pub fn consent_covers(
    remembered: Option<&RememberedConsent>,
    company: CompanyId,
    asked: &ScopeSet,
) -> bool {
    remembered.is_some_and(|c| c.company_id == company && asked.is_subset(&c.scope))
}

/// What to remember after the user allowed `asked`: what they allowed before at this company
/// and what they allowed now (a consent to more does not forget the rest).
pub fn consent_after_allow(
    remembered: Option<&RememberedConsent>,
    company: CompanyId,
    asked: &ScopeSet,
) -> ScopeSet {
    match remembered {
        Some(c) if c.company_id == company => c.scope.with(asked.iter()),
        _ => asked.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(company: CompanyId, scope: &str) -> RememberedConsent {
        RememberedConsent {
            user_id: UserId::new(),
            app_id: AppId::new(),
            company_id: company,
            scope: ScopeSet::parse(scope).unwrap(),
            granted_at: 0,
        }
    }

    #[test]
    fn a_consent_covers_what_it_allowed_at_its_company() {
        let acme = CompanyId::new();
        let c = consent(acme, "openid expense.report.read travel.profile.read");
        let s = |v: &str| ScopeSet::parse(v).unwrap();
        let cases = [
            (Some(&c), acme, "expense.report.read", true),
            (
                Some(&c),
                acme,
                "openid expense.report.read travel.profile.read",
                true,
            ),
            // More than allowed: a sensitive data group, another API.
            (
                Some(&c),
                acme,
                "travel.profile.read travel.profile.passport",
                false,
            ),
            (Some(&c), acme, "expense.report.read user.read", false),
            // Given at another company.
            (Some(&c), CompanyId::new(), "expense.report.read", false),
            // Never given, or withdrawn.
            (None, acme, "expense.report.read", false),
        ];
        for (remembered, company, asked, covered) in cases {
            assert_eq!(
                consent_covers(remembered, company, &s(asked)),
                covered,
                "{asked}"
            );
        }
    }

    #[test]
    fn allowing_more_remembers_both() {
        let acme = CompanyId::new();
        let c = consent(acme, "expense.report.read");
        let asked = ScopeSet::parse("travel.profile.read").unwrap();
        assert_eq!(
            consent_after_allow(Some(&c), acme, &asked).to_string(),
            "expense.report.read travel.profile.read"
        );
        // A consent from another company is not carried over.
        assert_eq!(
            consent_after_allow(Some(&c), CompanyId::new(), &asked).to_string(),
            "travel.profile.read"
        );
        assert_eq!(
            consent_after_allow(None, acme, &asked).to_string(),
            "travel.profile.read"
        );
    }
}
