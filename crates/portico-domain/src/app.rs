//! Partner applications: what is registered, and the rules of its review and visibility.

use crate::{
    ApiCatalog, ApiSelection, AppId, ClientAuthMethod, ClientSecurity, ClientSecurityChanges,
    CompanyId, DomainError, DomainResult, UserId, validate,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Who may see an app. Private: its own company only. Public: listed for every company, which
/// may enable it. Global: enabled for every company unless a company disables it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Private,
    Public,
    Global,
}

/// Where an app is in the operator's review. Visibility can leave Private only when approved.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Never submitted.
    Draft,
    Pending,
    Approved,
    Rejected,
}

/// The OAuth grants an app may use.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// The resource owner password grant for users (`credtype=password`). Off unless listed.
    Password,
    /// Concur's company-level connection: `grant_type=password&credtype=authtoken` with a
    /// company request token.
    CompanyRequestToken,
}

/// How an app's ID tokens are signed (OpenID Connect Registration's
/// `id_token_signed_response_alg`). RS256 unless the app chose otherwise: every OpenID client
/// accepts it without configuration. ES256 and EdDSA cost a fraction of an RSA signature,
/// which matters for apps that refresh company tokens often.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdTokenAlgorithm {
    #[default]
    RS256,
    ES256,
    EdDSA,
}

macro_rules! str_enum {
    ($ty:ty { $($variant:ident => $s:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$variant),)* _ => None }
            }
        }
    };
}
str_enum!(Visibility { Private => "private", Public => "public", Global => "global" });
str_enum!(IdTokenAlgorithm { RS256 => "RS256", ES256 => "ES256", EdDSA => "EdDSA" });
str_enum!(ReviewStatus { Draft => "draft", Pending => "pending", Approved => "approved", Rejected => "rejected" });
str_enum!(GrantType {
    AuthorizationCode => "authorization_code",
    RefreshToken => "refresh_token",
    ClientCredentials => "client_credentials",
    Password => "password",
    CompanyRequestToken => "company_request_token",
});

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub status: ReviewStatus,
    /// Why staff rejected the app (or a note on approval).
    pub reason: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl Review {
    pub fn draft() -> Self {
        Self {
            status: ReviewStatus::Draft,
            reason: None,
            submitted_at: None,
            reviewed_by: None,
            reviewed_at: None,
        }
    }
}

/// What staff decide about an app under review.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewDecision {
    Approve {
        /// A note on the approval.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::long_text_2000_or_null))]
        reason: Option<String>,
    },
    Reject {
        /// Why, shown to the app's developer.
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_2000))]
        reason: String,
    },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerApp {
    pub id: AppId,
    pub company_id: CompanyId,
    #[serde(flatten)]
    pub spec: AppSpec,
    pub visibility: Visibility,
    pub review: Review,
    /// Set by staff: a platform API that may introspect any app's tokens.
    pub resource_server: bool,
    /// Set by staff with `resource_server`: the resource indicator (RFC 8707) clients ask
    /// tokens for this resource server with. Tokens for it carry it as their audience and the
    /// scopes this app registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_uri: Option<String>,
    /// On a production registration: the sandbox app it was certified from. Its Key is not
    /// the sandbox's, and its APIs are the certified ones (see [`PartnerApp::certify`]).
    #[serde(default)]
    pub certified_from: Option<AppId>,
    pub secret_rotated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the admin API's `ETag`.
    pub version: i64,
}

/// The part of an app its owner edits, validated as a whole on register and on modify.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSpec {
    pub name: String,
    pub description: String,
    pub active: bool,
    pub apis: Vec<ApiSelection>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub id_token_signed_response_alg: IdTokenAlgorithm,
    #[serde(flatten)]
    pub security: ClientSecurity,
}

impl PartnerApp {
    /// The Key: the OAuth `client_id`.
    pub fn client_id(&self) -> String {
        self.id.to_string()
    }

    /// Every scope the app registered: its APIs and their chosen sensitive data groups.
    pub fn registered_scopes(&self) -> BTreeSet<String> {
        ApiCatalog::scopes_of(&self.spec.apis)
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.spec.grant_types.contains(&grant)
    }

    /// Whether `company` may see the app at all (in its Enable Applications list): see
    /// [`crate::standing`].
    pub fn is_available_to(&self, company: CompanyId) -> bool {
        crate::standing(self, company, None).is_listed()
    }

    /// The enablement that holds for `company`, given the company's own choice if it made one.
    /// A global app counts as enabled unless the company disabled it: see [`crate::standing`].
    pub fn is_enabled_for(&self, company: CompanyId, choice: Option<bool>) -> bool {
        crate::standing(self, company, choice).is_enabled()
    }

    /// Whether `redirect_uri` is one the app registered: both in their normal form
    /// ([`normalize_redirect_uri`]; a URI that has none matches nothing), compared exactly,
    /// except that a loopback `http` URI matches on any port (RFC 8252 §7.3: native apps pick
    /// a free port). Registered URIs are stored normalized; normalizing them again here keeps
    /// URIs stored before that rule comparable.
    pub fn matches_redirect_uri(&self, redirect_uri: &str) -> bool {
        let Ok(presented) = normalize_redirect_uri(redirect_uri) else {
            return false;
        };
        self.spec
            .redirect_uris
            .iter()
            .filter_map(|r| normalize_redirect_uri(r).ok())
            .any(|r| r == presented || loopback_equal(&r, &presented))
    }

    /// The owner submits the app for the operator's review.
    pub fn submit_for_review(&self, now: DateTime<Utc>) -> DomainResult<Review> {
        if self.is_production() {
            return Err(DomainError::conflict(
                "already_production",
                "a production registration is certified, not submitted; submit its sandbox \
                 application",
            ));
        }
        match self.review.status {
            ReviewStatus::Draft | ReviewStatus::Rejected => Ok(Review {
                status: ReviewStatus::Pending,
                reason: None,
                submitted_at: Some(now),
                reviewed_by: None,
                reviewed_at: None,
            }),
            ReviewStatus::Pending => Err(DomainError::conflict(
                "review_pending",
                "the application is already waiting for review",
            )),
            ReviewStatus::Approved => Err(DomainError::conflict(
                "already_approved",
                "the application is already approved",
            )),
        }
    }

    /// Staff approve or reject an app that is waiting for review.
    pub fn decide_review(
        &self,
        decision: ReviewDecision,
        reviewer: UserId,
        now: DateTime<Utc>,
    ) -> DomainResult<Review> {
        if self.review.status != ReviewStatus::Pending {
            return Err(DomainError::conflict(
                "not_pending",
                "only an application waiting for review can be approved or rejected",
            ));
        }
        let (status, reason) = match decision {
            ReviewDecision::Approve { reason } => (
                ReviewStatus::Approved,
                reason
                    .map(|r| validate::long_text("reason", &r, 2000))
                    .transpose()?,
            ),
            ReviewDecision::Reject { reason } => (
                ReviewStatus::Rejected,
                Some(validate::display_text("reason", &reason, 2000)?),
            ),
        };
        Ok(Review {
            status,
            reason: reason.filter(|r| !r.is_empty()),
            submitted_at: self.review.submitted_at,
            reviewed_by: Some(reviewer),
            reviewed_at: Some(now),
        })
    }

    /// The app after its owner changed it. Asking for more than was reviewed (a new API or
    /// sensitive data group) sends a reviewed app back to Draft and Private: other companies
    /// enabled what staff approved, not what the app asks for now. Asking for less needs no
    /// review.
    pub fn modified(&self, spec: AppSpec, now: DateTime<Utc>) -> PartnerApp {
        let widened = !ApiCatalog::scopes_of(&spec.apis).is_subset(&self.registered_scopes());
        let reviewed = matches!(
            self.review.status,
            ReviewStatus::Pending | ReviewStatus::Approved
        );
        let mut next = PartnerApp {
            spec,
            updated_at: now,
            ..self.clone()
        };
        if widened && reviewed {
            next.review = Review {
                reason: Some(
                    "The APIs used changed after review; submit the application again.".into(),
                ),
                ..Review::draft()
            };
            next.visibility = Visibility::Private;
        }
        next
    }

    /// Staff change visibility. Only a production registration (certified, so approved)
    /// leaves Private: the Key a developer tested with in the sandbox never becomes a
    /// production credential. Any app may be made Private.
    pub fn check_visibility_change(&self, to: Visibility) -> DomainResult<()> {
        if to == Visibility::Private {
            return Ok(());
        }
        if self.review.status != ReviewStatus::Approved {
            return Err(DomainError::conflict(
                "not_approved",
                "only an approved application can be made public or global",
            ));
        }
        if self.certified_from.is_none() {
            return Err(DomainError::conflict(
                "certification_required",
                "a sandbox application stays Private; certify it to publish its production \
                 registration (a new Key) instead",
            ));
        }
        Ok(())
    }

    /// Whether this is a production registration (made by certification).
    pub fn is_production(&self) -> bool {
        self.certified_from.is_some()
    }

    /// A production registration's owner may change it, but not ask for more than was
    /// certified: more APIs go through the sandbox app and a new certification.
    pub fn check_production_change(&self, spec: &AppSpec) -> DomainResult<()> {
        let widened = !ApiCatalog::scopes_of(&spec.apis).is_subset(&self.registered_scopes());
        if self.is_production() && widened {
            return Err(DomainError::conflict(
                "certification_required",
                "a production registration uses only the APIs certified for it; ask for more \
                 in the sandbox application and have it certified again",
            ));
        }
        Ok(())
    }

    /// Staff certify this reviewed sandbox app: its production registration, new (`id`, with
    /// a Key of its own) or, when `current` exists, certified again. It carries the sandbox
    /// app's APIs and sensitive data groups as reviewed, with the visibility staff chose; a
    /// new one starts from the rest of the sandbox app's registration, which its owner then
    /// keeps (redirect URIs, keys, name) as production needs.
    pub fn certify(
        &self,
        current: Option<&PartnerApp>,
        visibility: Visibility,
        id: AppId,
        reviewer: UserId,
        now: DateTime<Utc>,
    ) -> DomainResult<PartnerApp> {
        if self.is_production() {
            return Err(DomainError::conflict(
                "already_production",
                "this is a production registration; certify the sandbox application it \
                 came from",
            ));
        }
        if self.review.status != ReviewStatus::Approved {
            return Err(DomainError::conflict(
                "not_approved",
                "only an approved application can be certified; submit it for review first",
            ));
        }
        if visibility == Visibility::Private {
            return Err(DomainError::invalid(
                "visibility",
                "a production registration is public or global",
            ));
        }
        let review = Review {
            status: ReviewStatus::Approved,
            reason: Some(format!("Certified from sandbox application {}.", self.id)),
            submitted_at: self.review.submitted_at,
            reviewed_by: Some(reviewer),
            reviewed_at: Some(now),
        };
        Ok(match current {
            Some(production) => {
                let mut next = production.clone();
                next.spec.apis = self.spec.apis.clone();
                next.visibility = visibility;
                next.review = review;
                next.updated_at = now;
                next
            }
            None => PartnerApp {
                id,
                company_id: self.company_id,
                spec: self.spec.clone(),
                visibility,
                review,
                resource_server: false,
                resource_uri: None,
                certified_from: Some(self.id),
                secret_rotated_at: now,
                created_at: now,
                updated_at: now,
                version: 1,
            },
        })
    }
}

/// A request to register a partner app.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRegistration {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_100))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::long_text_2000))]
    pub description: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub apis: Vec<ApiSelection>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Defaults to authorization_code + refresh_token.
    pub grant_types: Option<Vec<GrantType>>,
    /// Defaults to RS256.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<IdTokenAlgorithm>,
    /// Defaults to client_secret_basic and client_secret_post.
    #[serde(default)]
    pub token_endpoint_auth_methods: Option<Vec<ClientAuthMethod>>,
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    #[serde(default)]
    pub require_pushed_authorization_requests: Option<bool>,
}

fn yes() -> bool {
    true
}

impl AppRegistration {
    pub fn validate(self, catalog: &ApiCatalog) -> DomainResult<AppSpec> {
        AppSpec {
            name: self.name,
            description: self.description,
            active: self.active,
            apis: self.apis,
            redirect_uris: self.redirect_uris,
            grant_types: self
                .grant_types
                .unwrap_or_else(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
            id_token_signed_response_alg: self.id_token_signed_response_alg.unwrap_or_default(),
            security: ClientSecurityChanges {
                token_endpoint_auth_methods: self.token_endpoint_auth_methods,
                jwks: self.jwks,
                dpop_bound_access_tokens: self.dpop_bound_access_tokens,
                require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            }
            .apply(&ClientSecurity::default())?,
        }
        .validate(catalog)
    }
}

/// A Modify: only the fields present change; the result is validated as a whole.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppChanges {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_100_or_null))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::long_text_2000_or_null))]
    pub description: Option<String>,
    pub active: Option<bool>,
    pub apis: Option<Vec<ApiSelection>>,
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub id_token_signed_response_alg: Option<IdTokenAlgorithm>,
    pub token_endpoint_auth_methods: Option<Vec<ClientAuthMethod>>,
    /// JSON `null` removes the keys.
    #[serde(default, deserialize_with = "present")]
    pub jwks: Option<serde_json::Value>,
    pub dpop_bound_access_tokens: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
}

/// A member that is present, even as `null`, is `Some` (`Some(Value::Null)` for `null`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl AppChanges {
    pub fn apply(self, current: &AppSpec, catalog: &ApiCatalog) -> DomainResult<AppSpec> {
        AppSpec {
            name: self.name.unwrap_or_else(|| current.name.clone()),
            description: self
                .description
                .unwrap_or_else(|| current.description.clone()),
            active: self.active.unwrap_or(current.active),
            apis: self.apis.unwrap_or_else(|| current.apis.clone()),
            redirect_uris: self
                .redirect_uris
                .unwrap_or_else(|| current.redirect_uris.clone()),
            grant_types: self
                .grant_types
                .unwrap_or_else(|| current.grant_types.clone()),
            id_token_signed_response_alg: self
                .id_token_signed_response_alg
                .unwrap_or(current.id_token_signed_response_alg),
            security: ClientSecurityChanges {
                token_endpoint_auth_methods: self.token_endpoint_auth_methods,
                jwks: self.jwks,
                dpop_bound_access_tokens: self.dpop_bound_access_tokens,
                require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            }
            .apply(&current.security)?,
        }
        .validate(catalog)
    }
}

const MAX_REDIRECT_URIS: usize = 10;

impl AppSpec {
    pub fn validate(self, catalog: &ApiCatalog) -> DomainResult<Self> {
        let name = validate::display_text("name", &self.name, 100)?;
        let description = validate::long_text("description", &self.description, 2000)?;
        let apis = catalog.validate_selection(&self.apis)?;

        if self.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(DomainError::invalid(
                "redirect_uris",
                format!("at most {MAX_REDIRECT_URIS} redirect URIs"),
            ));
        }
        let mut redirect_uris: Vec<String> = Vec::with_capacity(self.redirect_uris.len());
        for (i, uri) in self.redirect_uris.iter().enumerate() {
            let uri = validate_redirect_uri(&format!("redirect_uris[{i}]"), uri)?;
            if !redirect_uris.contains(&uri) {
                redirect_uris.push(uri);
            }
        }

        let grants: BTreeSet<GrantType> = self.grant_types.iter().copied().collect();
        if grants.is_empty() {
            return Err(DomainError::invalid(
                "grant_types",
                "choose at least one grant type",
            ));
        }
        if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(DomainError::invalid(
                "redirect_uris",
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        let issues_refresh = [
            GrantType::AuthorizationCode,
            GrantType::Password,
            GrantType::CompanyRequestToken,
        ];
        if grants.contains(&GrantType::RefreshToken)
            && !issues_refresh.iter().any(|g| grants.contains(g))
        {
            return Err(DomainError::invalid(
                "grant_types",
                "refresh_token needs a grant that issues refresh tokens \
                 (authorization_code, password or company_request_token)",
            ));
        }
        Ok(Self {
            name,
            description,
            active: self.active,
            apis,
            redirect_uris,
            grant_types: grants.into_iter().collect(),
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            security: self.security,
        })
    }
}

/// Why a redirect URI is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("must be at most 2000 characters")]
    TooLong,
    #[error("must not contain control characters, spaces or backslashes")]
    ControlCharacter,
    #[error("is not an absolute URI ({0})")]
    NotAbsolute(String),
    #[error("must not contain user information")]
    UserInfo,
    #[error("must not contain a fragment")]
    Fragment,
    #[error("must be an https URI")]
    NotHttps,
    #[error(
        "http is allowed only on a loopback address written as 127.0.0.1, [::1] or localhost; use https"
    )]
    NotLoopback,
    #[error("an IP address must be written in dotted-decimal form (such as 192.0.2.1)")]
    OddAddress,
}

/// The one normal form of a redirect URI, used at registration (what is stored and displayed)
/// and at authorization (what is matched). Refuses rather than repairs: control characters,
/// spaces and backslashes anywhere (parsers silently drop or reinterpret them, so the URI shown
/// would not be the one used), user information, fragments, `http` except on a loopback host
/// written exactly as `127.0.0.1`, `[::1]` or `localhost` (RFC 8252 §7.3), and IPv4 addresses
/// in any spelling but dotted-decimal (`127.1`, `2130706433`, `0x7f.1`).
pub fn normalize_redirect_uri(uri: &str) -> Result<String, RedirectUriError> {
    let uri = uri.trim_matches(' ');
    if uri.len() > 2000 {
        return Err(RedirectUriError::TooLong);
    }
    if uri
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(RedirectUriError::ControlCharacter);
    }
    let parsed = url::Url::parse(uri).map_err(|e| RedirectUriError::NotAbsolute(e.to_string()))?;
    let written = written_authority(uri);
    if written.is_some_and(|a| a.contains('@'))
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(RedirectUriError::UserInfo);
    }
    if parsed.fragment().is_some() {
        return Err(RedirectUriError::Fragment);
    }
    let written_host = written.map(host_of_authority).unwrap_or_default();
    match (parsed.scheme(), parsed.host()) {
        ("http", Some(_)) if LOOPBACK_HOSTS.contains(&written_host) => {}
        ("http", _) => return Err(RedirectUriError::NotLoopback),
        ("https", Some(url::Host::Ipv4(ip))) if ip.to_string() != written_host => {
            return Err(RedirectUriError::OddAddress);
        }
        ("https", Some(_)) => {}
        _ => return Err(RedirectUriError::NotHttps),
    }
    Ok(parsed.into())
}

/// Loopback hosts as RFC 8252 §7.3 and §8.3 allow them, exactly as written.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// The authority as written (`user@host:port`), for an absolute URI with `//`.
fn written_authority(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// The host of a written authority: without user information and port.
fn host_of_authority(authority: &str) -> &str {
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.split(':').next().unwrap_or(host)
}

/// Whether `presented` is `registered` on another port, for a loopback `http` URI.
fn loopback_equal(registered: &str, presented: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    a.scheme() == "http"
        && b.scheme() == "http"
        && a.host_str().is_some_and(|h| LOOPBACK_HOSTS.contains(&h))
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
}

/// [`normalize_redirect_uri`], with the field to name when it is refused.
pub fn validate_redirect_uri(field: &str, uri: &str) -> DomainResult<String> {
    normalize_redirect_uri(uri).map_err(|e| DomainError::invalid(field, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ApiCatalog {
        ApiCatalog::parse("apis.toml", include_str!("../../../config/apis.toml")).unwrap()
    }

    fn registration() -> AppRegistration {
        AppRegistration {
            name: " Expense Sync ".into(),
            description: "Syncs".into(),
            active: true,
            apis: vec![ApiSelection {
                api: "expense.report.read".into(),
                sensitive_data_groups: vec![],
            }],
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: None,
            id_token_signed_response_alg: None,
            token_endpoint_auth_methods: None,
            jwks: None,
            dpop_bound_access_tokens: None,
            require_pushed_authorization_requests: None,
        }
    }

    fn invalid_field(r: DomainResult<AppSpec>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn registration_defaults_and_trims() {
        let spec = registration().validate(&catalog()).unwrap();
        assert_eq!(spec.name, "Expense Sync");
        assert_eq!(
            spec.grant_types,
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
    }

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:8123/cb",
            "http://[::1]/cb",
            "http://localhost:3000/x?y=1",
        ] {
            assert!(validate_redirect_uri("r", ok).is_ok(), "{ok}");
        }
        for bad in [
            "/relative",
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "https://user:pw@app.example/cb",
            "javascript:alert(1)",
            "ftp://x.example/",
        ] {
            assert!(validate_redirect_uri("r", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uris_have_one_normal_form() {
        use RedirectUriError as E;
        let n = normalize_redirect_uri;
        assert_eq!(
            n("https://App.Example/cb").unwrap(),
            "https://app.example/cb"
        );
        assert_eq!(n("https://app.example").unwrap(), "https://app.example/");
        assert_eq!(
            n(" https://app.example/cb ").unwrap(),
            "https://app.example/cb"
        );
        assert_eq!(n("http://[::1]:8080/cb").unwrap(), "http://[::1]:8080/cb");
        assert_eq!(n("https://192.0.2.1/cb").unwrap(), "https://192.0.2.1/cb");
        // The normal form is its own normal form: what is stored is what is matched.
        for ok in [
            "https://app.example/cb?x=1",
            "http://localhost/cb",
            "http://127.0.0.1:1/",
        ] {
            let once = n(ok).unwrap();
            assert_eq!(n(&once).unwrap(), once);
        }
        for (bad, why) in [
            ("https://app\texample/cb", E::ControlCharacter),
            ("https://app.example/c\tb", E::ControlCharacter),
            ("https://app.example/cb\t", E::ControlCharacter),
            ("https://app.example/\0cb", E::ControlCharacter),
            ("https://app.example/\r\ncb", E::ControlCharacter),
            ("https://app.example/a b", E::ControlCharacter),
            ("https://app.example\\evil.example/cb", E::ControlCharacter),
            ("http://127.0.0.1\t:9999/cb", E::ControlCharacter),
            ("http://evil@127.0.0.1:9999/cb", E::UserInfo),
            ("https://user:pw@app.example/cb", E::UserInfo),
            ("https://@app.example/cb", E::UserInfo),
            ("https://app.example/cb#", E::Fragment),
            ("http://127.1/cb", E::NotLoopback),
            ("http://2130706433/cb", E::NotLoopback),
            ("http://0x7f.1/cb", E::NotLoopback),
            ("http://127.0.0.2/cb", E::NotLoopback),
            ("http://[0:0:0:0:0:0:0:1]/cb", E::NotLoopback),
            ("http://LOCALHOST/cb", E::NotLoopback),
            ("http://localhost./cb", E::NotLoopback),
            ("https://0x7f.1/cb", E::OddAddress),
            ("https://3221225985/cb", E::OddAddress),
            ("https://192.000.2.1/cb", E::OddAddress),
            ("urn:x:y", E::NotHttps),
        ] {
            assert_eq!(n(bad), Err(why), "{bad:?}");
        }
        assert!(matches!(n("/relative"), Err(E::NotAbsolute(_))));
    }

    #[test]
    fn grant_rules() {
        let mut r = registration();
        r.redirect_uris.clear();
        assert_eq!(invalid_field(r.validate(&catalog())), "redirect_uris");
        let mut r = registration();
        r.grant_types = Some(vec![GrantType::RefreshToken]);
        assert_eq!(invalid_field(r.validate(&catalog())), "grant_types");
        let mut r = registration();
        r.grant_types = Some(vec![]);
        assert_eq!(invalid_field(r.validate(&catalog())), "grant_types");
        let mut r = registration();
        r.name = "  ".into();
        assert_eq!(invalid_field(r.validate(&catalog())), "name");
    }

    fn app(visibility: Visibility, active: bool) -> PartnerApp {
        let now = Utc::now();
        PartnerApp {
            id: AppId::new(),
            company_id: CompanyId::new(),
            spec: AppSpec {
                active,
                ..registration().validate(&catalog()).unwrap()
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

    fn conflict_code(r: DomainResult<impl std::fmt::Debug>) -> &'static str {
        match r {
            Err(DomainError::Conflict { code, .. }) => code,
            other => panic!("expected Conflict, got {other:?}"),
        }
    }

    #[test]
    fn certification_makes_the_production_registration() {
        let staff = UserId::new();
        let now = Utc::now();
        let mut sandbox = app(Visibility::Private, true);
        let certify = |s: &PartnerApp, current: Option<&PartnerApp>, v| {
            s.certify(current, v, AppId::new(), staff, now)
        };
        assert_eq!(
            conflict_code(certify(&sandbox, None, Visibility::Public)),
            "not_approved"
        );
        sandbox.review.status = ReviewStatus::Approved;
        assert!(matches!(
            certify(&sandbox, None, Visibility::Private),
            Err(DomainError::Invalid { ref field, .. }) if field == "visibility"
        ));
        // The sandbox app itself never leaves Private.
        assert_eq!(
            conflict_code(sandbox.check_visibility_change(Visibility::Public)),
            "certification_required"
        );
        assert!(sandbox.check_visibility_change(Visibility::Private).is_ok());

        let production = certify(&sandbox, None, Visibility::Public).unwrap();
        assert_ne!(production.id, sandbox.id);
        assert_eq!(production.certified_from, Some(sandbox.id));
        assert_eq!(production.company_id, sandbox.company_id);
        assert_eq!(production.spec, sandbox.spec);
        assert_eq!(production.review.status, ReviewStatus::Approved);
        assert_eq!(production.review.reviewed_by, Some(staff));
        assert!(
            production
                .check_visibility_change(Visibility::Global)
                .is_ok()
        );
        assert_eq!(
            conflict_code(certify(&production, None, Visibility::Public)),
            "already_production"
        );
        assert_eq!(
            conflict_code(production.submit_for_review(now)),
            "already_production"
        );

        // Production asks for no more than was certified; less is fine.
        let mut wider = production.spec.clone();
        wider.apis.push(ApiSelection {
            api: "imaging.readwrite".into(),
            sensitive_data_groups: vec![],
        });
        assert_eq!(
            conflict_code(production.check_production_change(&wider)),
            "certification_required"
        );
        assert!(sandbox.check_production_change(&wider).is_ok());
        let mut narrower = production.spec.clone();
        narrower.apis.truncate(0);
        assert!(production.check_production_change(&narrower).is_ok());

        // Certified again: the APIs now approved, the visibility chosen, the same Key, and
        // the production registration's own redirect URIs kept.
        let mut edited = production.clone();
        edited.spec.redirect_uris = vec!["https://prod.example/cb".into()];
        sandbox.spec = wider.clone();
        let again = certify(&sandbox, Some(&edited), Visibility::Global).unwrap();
        assert_eq!(again.id, production.id);
        assert_eq!(again.spec.apis, wider.apis);
        assert_eq!(again.spec.redirect_uris, edited.spec.redirect_uris);
        assert_eq!(again.visibility, Visibility::Global);
    }

    #[test]
    fn availability_and_enablement() {
        let other = CompanyId::new();
        let private = app(Visibility::Private, true);
        assert!(private.is_available_to(private.company_id));
        assert!(!private.is_available_to(other));
        assert!(!private.is_enabled_for(other, Some(true)));
        let public = app(Visibility::Public, true);
        assert!(public.is_available_to(other));
        assert!(!public.is_enabled_for(other, None));
        assert!(public.is_enabled_for(other, Some(true)));
        let global = app(Visibility::Global, true);
        assert!(global.is_enabled_for(other, None));
        assert!(!global.is_enabled_for(other, Some(false)));
        let inactive = app(Visibility::Global, false);
        assert!(!inactive.is_available_to(inactive.company_id));
        assert!(!inactive.is_enabled_for(inactive.company_id, Some(true)));
    }

    #[test]
    fn review_flow() {
        let now = Utc::now();
        let mut a = app(Visibility::Private, true);
        assert!(a.check_visibility_change(Visibility::Public).is_err());
        assert!(
            a.decide_review(ReviewDecision::Approve { reason: None }, UserId::new(), now)
                .is_err()
        );
        a.review = a.submit_for_review(now).unwrap();
        assert!(a.submit_for_review(now).is_err());
        let rejected = a
            .decide_review(
                ReviewDecision::Reject {
                    reason: "asks for too much".into(),
                },
                UserId::new(),
                now,
            )
            .unwrap();
        assert_eq!(rejected.reason.as_deref(), Some("asks for too much"));
        a.review = a
            .decide_review(ReviewDecision::Approve { reason: None }, UserId::new(), now)
            .unwrap();
        // Approved, yet a sandbox app: only its certified production registration is published.
        assert!(a.check_visibility_change(Visibility::Global).is_err());
        let production = a
            .certify(None, Visibility::Public, AppId::new(), UserId::new(), now)
            .unwrap();
        assert!(
            production
                .check_visibility_change(Visibility::Global)
                .is_ok()
        );
    }

    #[test]
    fn asking_for_more_after_review_needs_a_new_review() {
        let now = Utc::now();
        let mut a = app(Visibility::Global, true);
        a.review.status = ReviewStatus::Approved;
        let mut narrower = a.spec.clone();
        narrower.apis.clear();
        let same = a.modified(narrower, now);
        assert_eq!(
            (same.review.status, same.visibility),
            (ReviewStatus::Approved, Visibility::Global)
        );
        let mut wider = a.spec.clone();
        wider.apis.push(ApiSelection {
            api: "user.read".into(),
            sensitive_data_groups: vec![],
        });
        let back = a.modified(wider, now);
        assert_eq!(
            (back.review.status, back.visibility),
            (ReviewStatus::Draft, Visibility::Private)
        );
        assert!(back.review.reason.is_some());
        let mut draft = app(Visibility::Private, true);
        draft.spec.apis.clear();
        let changed = draft.modified(a.spec.clone(), now);
        assert_eq!(changed.review.status, ReviewStatus::Draft);
    }

    #[test]
    fn loopback_redirects_match_on_any_port() {
        let mut a = app(Visibility::Private, true);
        a.spec.redirect_uris = vec![
            "http://127.0.0.1/cb".into(),
            "https://app.example/cb".into(),
        ];
        assert!(a.matches_redirect_uri("http://127.0.0.1:53124/cb"));
        assert!(!a.matches_redirect_uri("http://127.0.0.1:53124/other"));
        assert!(a.matches_redirect_uri("https://app.example/cb"));
        assert!(!a.matches_redirect_uri("https://app.example/cb/"));
        assert!(!a.matches_redirect_uri("https://app.example:444/cb"));
        // Only the spellings registration accepts match, on loopback too.
        for refused in [
            "http://evil@127.0.0.1:9999/cb",
            "http://127.1:9999/cb",
            "http://2130706433:9999/cb",
            "http://0x7f.1/cb",
            "http://127.0.0.1\t:9999/cb",
            "http://localhost:9999/cb",
            "http://127.0.0.1:9999/cb#x",
        ] {
            assert!(!a.matches_redirect_uri(refused), "{refused:?}");
        }
        // A URI stored before normalization still matches its normal form.
        a.spec.redirect_uris = vec!["https://App.Example".into()];
        assert!(a.matches_redirect_uri("https://app.example/"));
        assert!(a.matches_redirect_uri("https://app.example"));
    }
}
