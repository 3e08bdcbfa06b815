//! Eligibility, the product's headline rule: Portico serves an app for a company only if the app
//! is active and enabled for that company, the company (and the user, if any) is enabled, and
//! only with the API scopes and sensitive data groups the app registered and the API catalog
//! still offers. The token service, introspection, the console's Enable Applications list and
//! the storage's SQL all follow the functions here.
//!
//! - [`standing`]: where an app stands for one company (hidden, inactive, disabled, enabled),
//!   from the app and the company's own choice alone: what the console lists and the SQL
//!   selects.
//! - [`may_serve`]: whether tokens may be issued (or stay active) for a principal: the app, a
//!   company or a user of a company.
//! - [`grantable_scopes`]: [`may_serve`], then the scopes a new grant or a refresh may carry.

use crate::{
    ApiCatalog, Company, CompanyId, Identity, PartnerApp, ScopeError, ScopeSet, User, Visibility,
    narrow_scope, resolve_scope,
};
use std::collections::BTreeSet;

/// On whose behalf a token is asked (or was issued), as the registry found it: `None` where no
/// company or user has the id the request or token names.
#[derive(Clone, Copy, Debug)]
pub enum Principal<'a> {
    /// The app on its own behalf (client credentials): no company, no user.
    App,
    /// A company (Concur's company request token).
    Company(Option<&'a Company>),
    /// A user of a company (authorization code, user password).
    User {
        user: Option<&'a User>,
        company: Option<&'a Company>,
    },
}

/// Where an app stands for one company, given the company's enablement choice if it made one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Another company's private app: this company does not see it at all.
    Hidden,
    /// The app is not active: no company lists it or may use it (its owner may still disable
    /// it, and sees it in its own list of apps).
    Inactive,
    /// Listed, and the company disabled it (its choice is "disabled").
    DisabledByCompany,
    /// Listed, and never enabled: a public app (or the company's own non-global app) with no
    /// choice recorded. A global app counts as enabled until the company disables it.
    NeverEnabled,
    Enabled,
}

impl Standing {
    /// Whether the company's Enable Applications list shows the app (enabled or not).
    pub fn is_listed(self) -> bool {
        matches!(
            self,
            Standing::DisabledByCompany | Standing::NeverEnabled | Standing::Enabled
        )
    }

    pub fn is_enabled(self) -> bool {
        self == Standing::Enabled
    }
}

/// Why an active app is not enabled for a company.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotEnabled {
    /// Another company's private app.
    Hidden,
    /// The company disabled it.
    DisabledByCompany,
    /// The company never enabled it (and it is not global).
    NeverEnabled,
}

/// Why Portico refuses to serve an app for a principal, or to grant the scopes asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("the application is not active")]
    AppInactive,
    /// The company that registered the app is disabled (or gone): its apps stop, as an
    /// inactive app does.
    #[error("the company that registered the application is disabled")]
    OwnerDisabled,
    #[error("no company has this id")]
    CompanyUnknown,
    #[error("the company is disabled")]
    CompanyDisabled,
    #[error("no user has this id")]
    UserUnknown,
    #[error("the user is disabled")]
    UserDisabled,
    #[error("the user belongs to another company")]
    UserNotOfCompany,
    #[error("the application is not enabled for this company ({0:?})")]
    NotEnabled(NotEnabled),
    #[error(transparent)]
    Scope(#[from] ScopeError),
}

/// The scope a grant asks for.
#[derive(Clone, Copy, Debug)]
pub enum Asked<'a> {
    /// A new grant: the `scope` parameter, if any. Nothing (or an empty string) asks for
    /// everything the app may be granted.
    Grant(Option<&'a str>),
    /// A refresh (RFC 6749 §6): the `scope` parameter, if any, within the scope `granted`
    /// originally. Nothing asks for the original scope.
    Refresh {
        scope: Option<&'a str>,
        granted: &'a ScopeSet,
    },
}

/// Where `app` stands for `company`, given the company's own choice (`enablement`) if it made
/// one. Another company's private app is hidden (even when inactive); an inactive app is listed
/// nowhere; otherwise the choice decides, and without one only a global app is enabled.
pub fn standing(app: &PartnerApp, company: CompanyId, enablement: Option<bool>) -> Standing {
    if app.company_id != company && app.visibility == Visibility::Private {
        return Standing::Hidden;
    }
    if !app.spec.active {
        return Standing::Inactive;
    }
    match enablement {
        Some(true) => Standing::Enabled,
        Some(false) => Standing::DisabledByCompany,
        None if app.visibility == Visibility::Global => Standing::Enabled,
        None => Standing::NeverEnabled,
    }
}

/// Whether tokens may be issued (or stay active) for `app` on behalf of `principal`:
/// the app is active; for a company or user, the company exists and is enabled, the user
/// exists, is enabled and belongs to that company, and the app is enabled for the company
/// (`enablement`: the company's choice, if it made one; unused for [`Principal::App`]).
/// Checked in that order; the first refusal is the answer.
pub fn may_serve(
    app: &PartnerApp,
    principal: Principal<'_>,
    enablement: Option<bool>,
) -> Result<(), Ineligible> {
    if !app.spec.active {
        return Err(Ineligible::AppInactive);
    }
    let company = match principal {
        Principal::App => return Ok(()),
        Principal::Company(company) | Principal::User { company, .. } => company,
    };
    let company = company.ok_or(Ineligible::CompanyUnknown)?;
    if !company.enabled {
        return Err(Ineligible::CompanyDisabled);
    }
    if let Principal::User { user, .. } = principal {
        let user = user.ok_or(Ineligible::UserUnknown)?;
        if !user.enabled {
            return Err(Ineligible::UserDisabled);
        }
        if user.company_id != company.id {
            return Err(Ineligible::UserNotOfCompany);
        }
    }
    match standing(app, company.id, enablement) {
        Standing::Enabled => Ok(()),
        Standing::Inactive => Err(Ineligible::AppInactive),
        Standing::Hidden => Err(Ineligible::NotEnabled(NotEnabled::Hidden)),
        Standing::DisabledByCompany => Err(Ineligible::NotEnabled(NotEnabled::DisabledByCompany)),
        Standing::NeverEnabled => Err(Ineligible::NotEnabled(NotEnabled::NeverEnabled)),
    }
}

/// Whether the company that registered `app` lets it be served: it exists and is enabled. A
/// disabled owner stops its apps for every principal, client credentials included, and its
/// apps are listed nowhere (as inactive ones).
pub fn owner_serves(app: &PartnerApp, owner: Option<&Company>) -> Result<(), Ineligible> {
    match owner {
        Some(c) if c.id == app.company_id && c.enabled => Ok(()),
        _ => Err(Ineligible::OwnerDisabled),
    }
}

/// Whether tokens of `app` are served at all: it is active and its owner company serves it
/// (what the revocation feed tells resource servers about an app).
pub fn app_serves(app: &PartnerApp, owner: Option<&Company>) -> bool {
    app.spec.active && owner_serves(app, owner).is_ok()
}

/// The scopes a grant for `principal` may carry, or why none may be granted: first
/// [`may_serve`], then the scope asked.
///
/// A new grant gets exactly what it asks for, each scope registered by the app and still
/// offered by the catalog, each sensitive data group together with its API; asking for nothing
/// gets everything the app may be granted ([`offered_scopes`]). A refresh gets a subset of the
/// original grant, limited to what is still offered, each group together with its API.
/// An empty result is refused.
pub fn grantable_scopes(
    app: &PartnerApp,
    principal: Principal<'_>,
    enablement: Option<bool>,
    asked: Asked<'_>,
    catalog: &ApiCatalog,
) -> Result<ScopeSet, Ineligible> {
    may_serve(app, principal, enablement)?;
    Ok(scope_of(app, asked, catalog)?)
}

/// A grant's scope in its two parts: the catalog's API scopes, which the eligibility rule
/// decides, and OpenID Connect's identity scopes, which any app may ask for a user or company.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantScope {
    pub api: ScopeSet,
    pub identity: Identity,
}

impl GrantScope {
    /// Splits a stored or asked scope.
    pub fn parse(scope: &str) -> Result<GrantScope, ScopeError> {
        let (identity, rest) = Identity::split(Some(scope));
        Ok(GrantScope {
            api: ScopeSet::parse(rest.as_deref().unwrap_or_default())?,
            identity,
        })
    }

    /// Both parts as one scope, as tokens and responses carry it.
    pub fn scope(&self) -> ScopeSet {
        self.api.with(self.identity.words())
    }
}

/// [`grantable_scopes`] for a request that may also ask for identity scopes: they go to a user
/// or a company only, `profile` and `email` only with `openid`; a request that asks for
/// identity scopes alone gets no API scope (it signs a user in), otherwise the API part follows
/// [`grantable_scopes`]. On a refresh both parts stay within the original grant.
pub fn grant_scope(
    app: &PartnerApp,
    principal: Principal<'_>,
    enablement: Option<bool>,
    asked: Asked<'_>,
    catalog: &ApiCatalog,
) -> Result<GrantScope, Ineligible> {
    may_serve(app, principal, enablement)?;
    let scope = scope_with_identity(app, asked, catalog)?;
    if matches!(principal, Principal::App)
        && let Some(w) = scope.identity.words().next()
    {
        return Err(ScopeError::IdentityWithoutUser(w.to_owned()).into());
    }
    Ok(scope)
}

/// The scope part of [`grant_scope`] alone (the authorization endpoint's, before the user is
/// known).
pub fn scope_with_identity(
    app: &PartnerApp,
    asked: Asked<'_>,
    catalog: &ApiCatalog,
) -> Result<GrantScope, ScopeError> {
    let (identity, api_asked, original) = match asked {
        Asked::Grant(scope) => {
            let (identity, rest) = Identity::split(scope);
            (identity, rest, None)
        }
        Asked::Refresh { scope, granted } => {
            let original = GrantScope::parse(&granted.to_string())?;
            let (identity, rest) = match scope.filter(|s| !s.trim().is_empty()) {
                Some(s) => Identity::split(Some(s)),
                None => (original.identity, None),
            };
            if let Some(w) = identity
                .words()
                .find(|w| !original.identity.words().any(|o| o == *w))
            {
                return Err(ScopeError::NotGranted(w.to_owned()));
            }
            (identity, rest, Some(original))
        }
    };
    if let Some(w) = identity.without_openid() {
        return Err(ScopeError::NotRegistered(w.to_owned()));
    }
    let identity_only =
        !identity.is_empty() && api_asked.as_deref().is_some_and(|s| s.trim().is_empty());
    let first_word =
        |s: Option<&str>| s.and_then(|s| s.split(' ').find(|w| !w.is_empty()).map(str::to_owned));
    let api = match (original, identity_only) {
        (_, true) => ScopeSet::default(),
        (Some(o), false) if o.api.is_empty() => match first_word(api_asked.as_deref()) {
            Some(w) => return Err(ScopeError::NotGranted(w)),
            None => ScopeSet::default(),
        },
        (Some(o), false) => scope_of(
            app,
            Asked::Refresh {
                scope: api_asked.as_deref(),
                granted: &o.api,
            },
            catalog,
        )?,
        (None, false) => scope_of(app, Asked::Grant(api_asked.as_deref()), catalog)?,
    };
    Ok(GrantScope { api, identity })
}

/// The scope part of [`grantable_scopes`] alone.
pub fn scope_of(
    app: &PartnerApp,
    asked: Asked<'_>,
    catalog: &ApiCatalog,
) -> Result<ScopeSet, ScopeError> {
    let registered = app.registered_scopes();
    let offered = offered_scopes(app, catalog);
    let granted = match asked {
        Asked::Grant(scope) => resolve_scope(scope, &offered, catalog).map_err(|e| match e {
            ScopeError::NotRegistered(s) if registered.contains(&s) => ScopeError::NotOffered(s),
            e => e,
        })?,
        Asked::Refresh { scope, granted } => {
            let narrowed = narrow_scope(scope, granted, &offered)?;
            if let Some((group, api)) = narrowed.iter().find_map(|s| {
                catalog
                    .group_owner(s)
                    .filter(|api| !narrowed.contains(&api.scope))
                    .map(|api| (s, api))
            }) {
                return Err(ScopeError::GroupWithoutApi {
                    group: group.to_owned(),
                    api: api.scope.clone(),
                });
            }
            narrowed
        }
    };
    if granted.is_empty() {
        return Err(match asked {
            Asked::Grant(_) if registered.is_empty() => ScopeError::NothingRegistered,
            Asked::Grant(_) => ScopeError::NothingOffered,
            Asked::Refresh { .. } => ScopeError::NothingStillRegistered,
        });
    }
    Ok(granted)
}

/// The scopes the app registered that the catalog still offers it: every registered API the
/// catalog still lists, and every registered sensitive data group the catalog still lists under
/// one of those APIs. They differ from [`PartnerApp::registered_scopes`] only after the catalog
/// changed (an API withdrawn, a group moved to another API).
pub fn offered_scopes(app: &PartnerApp, catalog: &ApiCatalog) -> BTreeSet<String> {
    let registered = app.registered_scopes();
    registered
        .iter()
        .filter(|s| {
            catalog.api(s).is_some()
                || catalog
                    .group_owner(s)
                    .is_some_and(|api| registered.contains(&api.scope))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiSelection, AppId, AppSpec, Edition, GrantType, Permissions, Review, UserId};
    use chrono::Utc;

    fn catalog() -> ApiCatalog {
        ApiCatalog::parse("apis.toml", include_str!("../../../config/apis.toml")).unwrap()
    }

    fn sel(api: &str, groups: &[&str]) -> ApiSelection {
        ApiSelection {
            api: api.into(),
            sensitive_data_groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn app(owner: CompanyId, visibility: Visibility, active: bool) -> PartnerApp {
        let now = Utc::now();
        PartnerApp {
            id: AppId::new(),
            company_id: owner,
            spec: AppSpec {
                name: "Expense Sync".into(),
                description: String::new(),
                active,
                apis: vec![
                    sel("expense.report.read", &[]),
                    sel("travel.profile.read", &["travel.profile.passport"]),
                ],
                redirect_uris: vec!["https://app.example/cb".into()],
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                id_token_signed_response_alg: Default::default(),
                security: Default::default(),
            },
            visibility,
            review: Review::draft(),
            resource_server: false,
            resource_uri: None,
            certified_from: None,
            secret_rotated_at: now,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn company(enabled: bool) -> Company {
        Company {
            id: CompanyId::new(),
            name: "Acme".into(),
            domain: "acme.example".into(),
            edition: Edition::Professional,
            development_partner: false,
            own_use_apps: false,
            enabled,
            created_at: Utc::now(),
            version: 1,
        }
    }

    fn user(of: &Company, enabled: bool) -> User {
        User {
            id: UserId::new(),
            company_id: of.id,
            login_id: "ann@acme.example".into(),
            display_name: "Ann".into(),
            enabled,
            permissions: Permissions::default(),
            created_at: Utc::now(),
            version: 1,
        }
    }

    use Standing::{DisabledByCompany, Enabled, Hidden, Inactive, NeverEnabled};
    use Visibility::{Global, Private, Public};

    /// Every app a company meets: (active, visibility, the company's own?, its choice) and
    /// where the app stands for it. Written out, not computed.
    const STANDINGS: [(bool, Visibility, bool, Option<bool>, Standing); 36] = [
        // Active apps of the company itself: the choice decides; none means enabled only if
        // global (registration records "enabled" for the owner).
        (true, Private, true, Some(true), Enabled),
        (true, Private, true, Some(false), DisabledByCompany),
        (true, Private, true, None, NeverEnabled),
        (true, Public, true, Some(true), Enabled),
        (true, Public, true, Some(false), DisabledByCompany),
        (true, Public, true, None, NeverEnabled),
        (true, Global, true, Some(true), Enabled),
        (true, Global, true, Some(false), DisabledByCompany),
        (true, Global, true, None, Enabled),
        // Active apps of another company: private ones are hidden whatever the choice says.
        (true, Private, false, Some(true), Hidden),
        (true, Private, false, Some(false), Hidden),
        (true, Private, false, None, Hidden),
        (true, Public, false, Some(true), Enabled),
        (true, Public, false, Some(false), DisabledByCompany),
        (true, Public, false, None, NeverEnabled),
        (true, Global, false, Some(true), Enabled),
        (true, Global, false, Some(false), DisabledByCompany),
        (true, Global, false, None, Enabled),
        // Inactive apps: enabled nowhere, and another company's private one stays hidden.
        (false, Private, true, Some(true), Inactive),
        (false, Private, true, Some(false), Inactive),
        (false, Private, true, None, Inactive),
        (false, Public, true, Some(true), Inactive),
        (false, Public, true, Some(false), Inactive),
        (false, Public, true, None, Inactive),
        (false, Global, true, Some(true), Inactive),
        (false, Global, true, Some(false), Inactive),
        (false, Global, true, None, Inactive),
        (false, Private, false, Some(true), Hidden),
        (false, Private, false, Some(false), Hidden),
        (false, Private, false, None, Hidden),
        (false, Public, false, Some(true), Inactive),
        (false, Public, false, Some(false), Inactive),
        (false, Public, false, None, Inactive),
        (false, Global, false, Some(true), Inactive),
        (false, Global, false, Some(false), Inactive),
        (false, Global, false, None, Inactive),
    ];

    #[test]
    fn where_every_app_stands_for_a_company() {
        let acme = company(true);
        for (active, visibility, own, choice, expected) in STANDINGS {
            let owner = if own { acme.id } else { CompanyId::new() };
            let a = app(owner, visibility, active);
            let case = format!("active={active} {visibility:?} own={own} choice={choice:?}");
            assert_eq!(standing(&a, acme.id, choice), expected, "{case}");
            // The app's own predicates are the same rule.
            assert_eq!(
                a.is_enabled_for(acme.id, choice),
                expected.is_enabled(),
                "{case}"
            );
            assert_eq!(a.is_available_to(acme.id), expected.is_listed(), "{case}");
        }
        // Every combination is in the table once.
        let mut seen = std::collections::HashSet::new();
        for (active, visibility, own, choice, _) in STANDINGS {
            assert!(seen.insert((active, visibility.as_str(), own, choice)));
        }
        assert_eq!(seen.len(), 2 * 3 * 2 * 3);
    }

    /// The principals a token can be for, with the refusal each gets from an app that is
    /// active and enabled (`None`: served).
    fn principals(acme: &Company) -> Vec<(&'static str, PrincipalCase, Option<Ineligible>)> {
        use PrincipalCase as P;
        vec![
            ("the app itself", P::App, None),
            (
                "an unknown company",
                P::Company(None),
                Some(Ineligible::CompanyUnknown),
            ),
            (
                "a disabled company",
                P::Company(Some(Company {
                    enabled: false,
                    ..acme.clone()
                })),
                Some(Ineligible::CompanyDisabled),
            ),
            ("the company", P::Company(Some(acme.clone())), None),
            (
                "a user of an unknown company",
                P::User(Some(user(acme, true)), None),
                Some(Ineligible::CompanyUnknown),
            ),
            (
                "a user of a disabled company",
                P::User(
                    Some(user(acme, true)),
                    Some(Company {
                        enabled: false,
                        ..acme.clone()
                    }),
                ),
                Some(Ineligible::CompanyDisabled),
            ),
            (
                "an unknown user",
                P::User(None, Some(acme.clone())),
                Some(Ineligible::UserUnknown),
            ),
            (
                "a disabled user",
                P::User(Some(user(acme, false)), Some(acme.clone())),
                Some(Ineligible::UserDisabled),
            ),
            (
                "a user of another company",
                P::User(Some(user(&company(true), true)), Some(acme.clone())),
                Some(Ineligible::UserNotOfCompany),
            ),
            (
                "a disabled user of another company",
                P::User(Some(user(&company(true), false)), Some(acme.clone())),
                Some(Ineligible::UserDisabled),
            ),
            (
                "a user",
                P::User(Some(user(acme, true)), Some(acme.clone())),
                None,
            ),
        ]
    }

    enum PrincipalCase {
        App,
        Company(Option<Company>),
        User(Option<User>, Option<Company>),
    }

    impl PrincipalCase {
        fn principal(&self) -> Principal<'_> {
            match self {
                PrincipalCase::App => Principal::App,
                PrincipalCase::Company(c) => Principal::Company(c.as_ref()),
                PrincipalCase::User(u, c) => Principal::User {
                    user: u.as_ref(),
                    company: c.as_ref(),
                },
            }
        }
    }

    #[test]
    fn every_app_for_every_principal() {
        let acme = company(true);
        let mut cases = 0;
        for (active, visibility, own, choice, stands) in STANDINGS {
            let owner = if own { acme.id } else { CompanyId::new() };
            let a = app(owner, visibility, active);
            for (who, p, refused) in principals(&acme) {
                // An inactive app is refused for everyone, first; the app itself needs nothing
                // else; then the company and user; then the app's standing for the company.
                let expected = if !active {
                    Err(Ineligible::AppInactive)
                } else if let Some(refusal) = refused {
                    Err(refusal)
                } else if matches!(p, PrincipalCase::App) {
                    Ok(())
                } else {
                    match stands {
                        Enabled => Ok(()),
                        Hidden => Err(Ineligible::NotEnabled(NotEnabled::Hidden)),
                        DisabledByCompany => {
                            Err(Ineligible::NotEnabled(NotEnabled::DisabledByCompany))
                        }
                        NeverEnabled => Err(Ineligible::NotEnabled(NotEnabled::NeverEnabled)),
                        Inactive => unreachable!("active apps only here"),
                    }
                };
                let case =
                    format!("{who}, active={active} {visibility:?} own={own} choice={choice:?}");
                assert_eq!(may_serve(&a, p.principal(), choice), expected, "{case}");
                let scopes =
                    grantable_scopes(&a, p.principal(), choice, Asked::Grant(None), &catalog());
                match expected {
                    Ok(()) => assert_eq!(
                        scopes.unwrap().to_string(),
                        "expense.report.read travel.profile.passport travel.profile.read",
                        "{case}"
                    ),
                    Err(e) => assert_eq!(scopes, Err(e), "{case}"),
                }
                cases += 1;
            }
        }
        assert_eq!(cases, 36 * 11);
    }

    #[test]
    fn spot_checks_in_plain_words() {
        let acme = company(true);
        let ann = user(&acme, true);
        let as_ann = Principal::User {
            user: Some(&ann),
            company: Some(&acme),
        };
        let other = CompanyId::new();
        // Another company's public app, never enabled here: refused until enabled.
        let public = app(other, Public, true);
        assert_eq!(
            may_serve(&public, as_ann, None),
            Err(Ineligible::NotEnabled(NotEnabled::NeverEnabled))
        );
        assert_eq!(may_serve(&public, as_ann, Some(true)), Ok(()));
        // A global app serves until the company disables it.
        let global = app(other, Global, true);
        assert_eq!(may_serve(&global, as_ann, None), Ok(()));
        assert_eq!(
            may_serve(&global, as_ann, Some(false)),
            Err(Ineligible::NotEnabled(NotEnabled::DisabledByCompany))
        );
        // Client credentials: only the app's own activity matters.
        assert_eq!(
            may_serve(&app(other, Private, true), Principal::App, Some(false)),
            Ok(())
        );
        assert_eq!(
            may_serve(&app(other, Global, false), Principal::App, None),
            Err(Ineligible::AppInactive)
        );
    }

    /// An app that registered Expense Report, and Travel Profile with its passport group.
    fn scope_cases() -> Vec<(Option<&'static str>, Result<&'static str, ScopeError>)> {
        use ScopeError as E;
        vec![
            (
                None,
                Ok("expense.report.read travel.profile.passport travel.profile.read"),
            ),
            (
                Some(""),
                Ok("expense.report.read travel.profile.passport travel.profile.read"),
            ),
            (
                Some("  "),
                Ok("expense.report.read travel.profile.passport travel.profile.read"),
            ),
            (Some("expense.report.read"), Ok("expense.report.read")),
            (
                Some("travel.profile.read travel.profile.passport"),
                Ok("travel.profile.passport travel.profile.read"),
            ),
            (
                Some("expense.report.read  expense.report.read"),
                Ok("expense.report.read"),
            ),
            // Not registered: an API in the catalog, a group of a registered API, unknown.
            (
                Some("expense.report.read user.read"),
                Err(E::NotRegistered("user.read".into())),
            ),
            (
                Some("travel.profile.read travel.profile.medical"),
                Err(E::NotRegistered("travel.profile.medical".into())),
            ),
            (Some("nope"), Err(E::NotRegistered("nope".into()))),
            // A sensitive data group without its API.
            (
                Some("travel.profile.passport"),
                Err(E::GroupWithoutApi {
                    group: "travel.profile.passport".into(),
                    api: "travel.profile.read".into(),
                }),
            ),
            (
                Some("expense.report.read travel.profile.passport"),
                Err(E::GroupWithoutApi {
                    group: "travel.profile.passport".into(),
                    api: "travel.profile.read".into(),
                }),
            ),
            (Some("a\"b"), Err(E::Malformed)),
            (Some("expense.report.read\\"), Err(E::Malformed)),
        ]
    }

    #[test]
    fn scopes_of_a_new_grant() {
        let acme = company(true);
        let a = app(acme.id, Private, true);
        for (asked, expected) in scope_cases() {
            let got = grantable_scopes(
                &a,
                Principal::Company(Some(&acme)),
                Some(true),
                Asked::Grant(asked),
                &catalog(),
            );
            match expected {
                Ok(scope) => assert_eq!(got.unwrap().to_string(), scope, "{asked:?}"),
                Err(e) => assert_eq!(got, Err(Ineligible::Scope(e)), "{asked:?}"),
            }
        }
        // The refusal of the principal comes before any scope problem.
        assert_eq!(
            grantable_scopes(
                &a,
                Principal::Company(Some(&acme)),
                Some(false),
                Asked::Grant(Some("nope")),
                &catalog()
            ),
            Err(Ineligible::NotEnabled(NotEnabled::DisabledByCompany))
        );
        // An app that registered no API has nothing to grant.
        let mut bare = a.clone();
        bare.spec.apis.clear();
        assert_eq!(
            scope_of(&bare, Asked::Grant(None), &catalog()),
            Err(ScopeError::NothingRegistered)
        );
        assert_eq!(
            scope_of(&bare, Asked::Grant(Some("expense.report.read")), &catalog()),
            Err(ScopeError::NotRegistered("expense.report.read".into()))
        );
    }

    #[test]
    fn scopes_of_a_refresh() {
        use ScopeError as E;
        let a = app(CompanyId::new(), Private, true);
        let all =
            ScopeSet::parse("expense.report.read travel.profile.read travel.profile.passport")
                .unwrap();
        let some = ScopeSet::parse("expense.report.read").unwrap();
        let cases: [(&ScopeSet, Option<&str>, Result<&str, ScopeError>); 9] = [
            (
                &all,
                None,
                Ok("expense.report.read travel.profile.passport travel.profile.read"),
            ),
            (
                &all,
                Some(""),
                Ok("expense.report.read travel.profile.passport travel.profile.read"),
            ),
            (&all, Some("expense.report.read"), Ok("expense.report.read")),
            (
                &all,
                Some("travel.profile.read travel.profile.passport"),
                Ok("travel.profile.passport travel.profile.read"),
            ),
            // Narrowing never leaves a sensitive data group without its API.
            (
                &all,
                Some("expense.report.read travel.profile.passport"),
                Err(E::GroupWithoutApi {
                    group: "travel.profile.passport".into(),
                    api: "travel.profile.read".into(),
                }),
            ),
            // Never more than the original grant, even what the app registered.
            (
                &some,
                Some("travel.profile.read"),
                Err(E::NotGranted("travel.profile.read".into())),
            ),
            (
                &some,
                Some("user.read"),
                Err(E::NotGranted("user.read".into())),
            ),
            (&some, None, Ok("expense.report.read")),
            (&all, Some("a\"b"), Err(E::Malformed)),
        ];
        for (granted, scope, expected) in cases {
            let got = scope_of(&a, Asked::Refresh { scope, granted }, &catalog());
            match expected {
                Ok(s) => assert_eq!(got.unwrap().to_string(), s, "{granted} {scope:?}"),
                Err(e) => assert_eq!(got, Err(e), "{granted} {scope:?}"),
            }
        }
        // The app dropped an API since: it is not carried forward; all of them: refused.
        let mut narrower = a.clone();
        narrower.spec.apis = vec![sel("travel.profile.read", &[])];
        assert_eq!(
            scope_of(
                &narrower,
                Asked::Refresh {
                    scope: None,
                    granted: &all
                },
                &catalog()
            )
            .unwrap()
            .to_string(),
            "travel.profile.read"
        );
        narrower.spec.apis = vec![sel("user.read", &[])];
        assert_eq!(
            scope_of(
                &narrower,
                Asked::Refresh {
                    scope: None,
                    granted: &some
                },
                &catalog()
            ),
            Err(E::NothingStillRegistered)
        );
    }

    /// The catalog after a change: Expense Report withdrawn, the passport group moved from
    /// Travel Profile to a new Travel Documents API.
    const CHANGED: &str = r#"
[[api]]
scope = "travel.profile.read"
title = "Travel Profile"

[[api]]
scope = "travel.documents.read"
title = "Travel Documents"

[[api.sensitive_data_group]]
scope = "travel.profile.passport"
title = "Passport / Visa"
"#;

    #[test]
    fn a_catalog_change_takes_back_what_it_no_longer_offers() {
        use ScopeError as E;
        let changed = ApiCatalog::parse("changed.toml", CHANGED).unwrap();
        let a = app(CompanyId::new(), Private, true);
        assert_eq!(
            offered_scopes(&a, &changed),
            BTreeSet::from(["travel.profile.read".to_string()])
        );
        assert_eq!(offered_scopes(&a, &catalog()), a.registered_scopes());
        let cases: [(Option<&str>, Result<&str, ScopeError>); 6] = [
            (None, Ok("travel.profile.read")),
            (Some("travel.profile.read"), Ok("travel.profile.read")),
            (
                Some("expense.report.read"),
                Err(E::NotOffered("expense.report.read".into())),
            ),
            // The group now belongs to an API the app did not register.
            (
                Some("travel.profile.read travel.profile.passport"),
                Err(E::NotOffered("travel.profile.passport".into())),
            ),
            (
                Some("travel.documents.read"),
                Err(E::NotRegistered("travel.documents.read".into())),
            ),
            (Some("user.read"), Err(E::NotRegistered("user.read".into()))),
        ];
        for (asked, expected) in cases {
            let got = scope_of(&a, Asked::Grant(asked), &changed);
            match expected {
                Ok(s) => assert_eq!(got.unwrap().to_string(), s, "{asked:?}"),
                Err(e) => assert_eq!(got, Err(e), "{asked:?}"),
            }
        }
        // A refresh of a grant made before the change keeps only what is still offered.
        let before = ScopeSet::from(a.registered_scopes());
        assert_eq!(
            scope_of(
                &a,
                Asked::Refresh {
                    scope: None,
                    granted: &before
                },
                &changed
            )
            .unwrap()
            .to_string(),
            "travel.profile.read"
        );
        // Nothing left to offer at all.
        let mut expense_only = a.clone();
        expense_only.spec.apis = vec![sel("expense.report.read", &[])];
        assert_eq!(
            scope_of(&expense_only, Asked::Grant(None), &changed),
            Err(E::NothingOffered)
        );
        assert_eq!(
            scope_of(
                &expense_only,
                Asked::Refresh {
                    scope: None,
                    granted: &ScopeSet::parse("expense.report.read").unwrap()
                },
                &changed
            ),
            Err(E::NothingStillRegistered)
        );
    }

    #[test]
    fn a_disabled_owner_stops_its_apps() {
        let owner = company(true);
        let a = app(owner.id, Global, true);
        assert_eq!(owner_serves(&a, Some(&owner)), Ok(()));
        let off = Company {
            enabled: false,
            ..owner.clone()
        };
        assert_eq!(owner_serves(&a, Some(&off)), Err(Ineligible::OwnerDisabled));
        assert_eq!(owner_serves(&a, None), Err(Ineligible::OwnerDisabled));
        // Another company is not the owner.
        assert_eq!(
            owner_serves(&a, Some(&company(true))),
            Err(Ineligible::OwnerDisabled)
        );
        // Served at all: active, and its owner serves it.
        assert!(app_serves(&a, Some(&owner)));
        assert!(!app_serves(&a, Some(&off)));
        assert!(!app_serves(&app(owner.id, Global, false), Some(&owner)));
    }

    #[test]
    fn identity_scopes_go_with_users_and_companies() {
        let acme = company(true);
        let ann = user(&acme, true);
        let a = app(acme.id, Private, true);
        let cat = catalog();
        let for_ann = Principal::User {
            user: Some(&ann),
            company: Some(&acme),
        };
        let scope = |asked| {
            grant_scope(&a, for_ann, Some(true), asked, &cat).map(|g| g.scope().to_string())
        };
        // Identity alone signs in: no API scope.
        assert_eq!(
            scope(Asked::Grant(Some("openid profile"))).unwrap(),
            "openid profile"
        );
        // With API scopes, the API part follows the rule.
        assert_eq!(
            scope(Asked::Grant(Some("openid expense.report.read"))).unwrap(),
            "expense.report.read openid"
        );
        assert_eq!(
            scope(Asked::Grant(Some("openid user.read"))),
            Err(Ineligible::Scope(ScopeError::NotRegistered(
                "user.read".into()
            )))
        );
        // Nothing asked: every registered API scope, no identity.
        assert_eq!(
            scope(Asked::Grant(None)).unwrap(),
            "expense.report.read travel.profile.passport travel.profile.read"
        );
        // profile or email without openid are not scopes of their own.
        assert_eq!(
            scope(Asked::Grant(Some("email"))),
            Err(Ineligible::Scope(ScopeError::NotRegistered("email".into())))
        );
        // Client credentials: no identity.
        assert_eq!(
            grant_scope(&a, Principal::App, None, Asked::Grant(Some("openid")), &cat),
            Err(Ineligible::Scope(ScopeError::IdentityWithoutUser(
                "openid".into()
            )))
        );
        // A company principal may have an ID token.
        assert!(
            grant_scope(
                &a,
                Principal::Company(Some(&acme)),
                Some(true),
                Asked::Grant(Some("openid")),
                &cat
            )
            .is_ok()
        );
        // Refresh: within the original, both parts.
        let granted = ScopeSet::parse("openid expense.report.read").unwrap();
        let refresh = |scope| Asked::Refresh {
            scope,
            granted: &granted,
        };
        assert_eq!(scope(refresh(None)).unwrap(), "expense.report.read openid");
        assert_eq!(scope(refresh(Some("openid"))).unwrap(), "openid");
        assert_eq!(
            scope(refresh(Some("expense.report.read"))).unwrap(),
            "expense.report.read"
        );
        assert_eq!(
            scope(refresh(Some("openid email"))),
            Err(Ineligible::Scope(ScopeError::NotGranted("email".into())))
        );
        let identity_only = ScopeSet::parse("openid").unwrap();
        assert_eq!(
            scope(Asked::Refresh {
                scope: Some("expense.report.read"),
                granted: &identity_only
            }),
            Err(Ineligible::Scope(ScopeError::NotGranted(
                "expense.report.read".into()
            )))
        );
        // And the eligibility rule comes first.
        let off = company(false);
        assert_eq!(
            grant_scope(
                &a,
                Principal::Company(Some(&off)),
                Some(true),
                Asked::Grant(Some("openid")),
                &cat
            ),
            Err(Ineligible::CompanyDisabled)
        );
    }
}
