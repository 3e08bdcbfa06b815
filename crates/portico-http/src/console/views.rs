//! What the templates show: domain values as display-ready records (titles instead of scopes,
//! labels instead of enum names, formatted times). Presentation only; no rule is decided here.

use super::forms::AppForm;
use chrono::{DateTime, Utc};
use portico_domain::{
    ApiCatalog, ApiSelection, AuditEntry, ClientAuthMethod, ClientSecurity, Edition, GrantType,
    PartnerApp, ReviewStatus, Visibility,
};
use serde::Serialize;

pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn visibility_label(v: Visibility) -> &'static str {
    match v {
        Visibility::Private => "Private",
        Visibility::Public => "Public",
        Visibility::Global => "Global",
    }
}

pub fn edition_label(e: Edition) -> &'static str {
    match e {
        Edition::Standard => "Standard",
        Edition::Professional => "Professional",
    }
}

/// The catalog's title of an API or sensitive data group scope (the scope itself when the
/// catalog no longer lists it).
pub fn scope_title(catalog: &ApiCatalog, scope: &str) -> String {
    if let Some(api) = catalog.api(scope) {
        return api.title.clone();
    }
    catalog
        .group_owner(scope)
        .and_then(|api| {
            api.sensitive_data_groups
                .iter()
                .find(|g| g.scope == scope)
                .map(|g| format!("{} ({})", g.title, api.title))
        })
        .unwrap_or_else(|| scope.to_owned())
}

pub fn review_label(r: ReviewStatus) -> &'static str {
    match r {
        ReviewStatus::Draft => "Not submitted",
        ReviewStatus::Pending => "Pending review",
        ReviewStatus::Approved => "Approved",
        ReviewStatus::Rejected => "Rejected",
    }
}

/// Every grant type the form offers, with its label, in the order shown.
pub const GRANT_TYPES: &[(GrantType, &str, &str)] = &[
    (
        GrantType::AuthorizationCode,
        "Authorization code",
        "Users sign in and approve the app (needs a redirect URI).",
    ),
    (
        GrantType::RefreshToken,
        "Refresh token",
        "Renew access tokens without asking the user again.",
    ),
    (
        GrantType::ClientCredentials,
        "Client credentials",
        "The app acts for itself with its Key and Secret.",
    ),
    (
        GrantType::Password,
        "Password",
        "The app sends a user's login id and password (not recommended).",
    ),
    (
        GrantType::CompanyRequestToken,
        "Company request token",
        "Company-level connection with a request token from Company Request Token.",
    ),
];

/// Every client authentication method the form offers, with its label and hint, in the order
/// shown.
pub const AUTH_METHODS: &[(ClientAuthMethod, &str, &str)] = &[
    (
        ClientAuthMethod::ClientSecretBasic,
        "Secret in the Authorization header",
        "The app sends its Key and Secret with HTTP Basic authentication.",
    ),
    (
        ClientAuthMethod::ClientSecretPost,
        "Secret in the request body",
        "The app sends its Key and Secret as the client_id and client_secret form fields.",
    ),
    (
        ClientAuthMethod::PrivateKeyJwt,
        "Signed JWT",
        "The app signs a short-lived JWT with its private key; Portico checks it with the \
         public keys below. Nothing secret is shared: alone, the app has no Secret.",
    ),
];

fn auth_method_label(m: ClientAuthMethod) -> &'static str {
    AUTH_METHODS
        .iter()
        .find(|(t, _, _)| *t == m)
        .map_or(m.as_str(), |(_, label, _)| label)
}

fn grant_label(g: GrantType) -> &'static str {
    GRANT_TYPES
        .iter()
        .find(|(t, _, _)| *t == g)
        .map_or(g.as_str(), |(_, label, _)| label)
}

#[derive(Serialize)]
pub struct GroupUse {
    pub scope: String,
    pub title: String,
}

#[derive(Serialize)]
pub struct ApiUse {
    pub scope: String,
    pub title: String,
    pub groups: Vec<GroupUse>,
}

/// An API selection with the catalog's titles (the scope itself when the catalog no longer
/// lists it).
pub fn api_uses(catalog: &ApiCatalog, apis: &[ApiSelection]) -> Vec<ApiUse> {
    apis.iter()
        .map(|sel| {
            let api = catalog.api(&sel.api);
            ApiUse {
                scope: sel.api.clone(),
                title: api.map_or_else(|| sel.api.clone(), |a| a.title.clone()),
                groups: sel
                    .sensitive_data_groups
                    .iter()
                    .map(|g| GroupUse {
                        scope: g.clone(),
                        title: api
                            .and_then(|a| a.sensitive_data_groups.iter().find(|d| &d.scope == g))
                            .map_or_else(|| g.clone(), |d| d.title.clone()),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A client authentication method the app allows.
#[derive(Serialize)]
pub struct MethodUse {
    pub value: &'static str,
    pub label: &'static str,
}

/// A registered public key, as the app page lists it.
#[derive(Serialize)]
pub struct KeyView {
    pub kid: Option<String>,
    pub kty: String,
    /// The curve, or the RSA modulus length: `Ed25519`, `P-256`, `2048 bits`.
    pub size: String,
    /// The key's `alg`, or when it has none, what its type verifies.
    pub alg: String,
}

impl KeyView {
    /// A key of a registered (validated) JWKS.
    fn new(key: &serde_json::Value) -> Self {
        let member = |name: &str| key.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let kty = member("kty").unwrap_or_default();
        let size = match kty.as_str() {
            // base64url without padding: 4 characters a 3 bytes.
            "RSA" => {
                member("n").map_or_else(String::new, |n| format!("{} bits", n.len() * 6 / 8 * 8))
            }
            _ => member("crv").unwrap_or_default(),
        };
        let alg = member("alg").unwrap_or_else(|| {
            match kty.as_str() {
                "OKP" => "EdDSA",
                "EC" => "ES256",
                "RSA" => "RS256 or PS256",
                _ => "",
            }
            .to_owned()
        });
        Self {
            kid: member("kid"),
            kty,
            size,
            alg,
        }
    }
}

/// How the app authenticates and how its tokens are bound, as its page shows it.
#[derive(Serialize)]
pub struct SecurityView {
    pub auth_methods: Vec<MethodUse>,
    /// Whether the app has a Secret to use (false: keys only, `private_key_jwt`).
    pub uses_secret: bool,
    pub keys: Vec<KeyView>,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
}

impl SecurityView {
    pub fn new(security: &ClientSecurity) -> Self {
        Self {
            auth_methods: security
                .token_endpoint_auth_methods
                .iter()
                .map(|m| MethodUse {
                    value: m.as_str(),
                    label: auth_method_label(*m),
                })
                .collect(),
            uses_secret: security.uses_secret(),
            keys: security
                .jwks
                .as_ref()
                .and_then(|j| j.get("keys"))
                .and_then(|k| k.as_array())
                .map(|keys| keys.iter().map(KeyView::new).collect())
                .unwrap_or_default(),
            dpop_bound_access_tokens: security.dpop_bound_access_tokens,
            require_pushed_authorization_requests: security.require_pushed_authorization_requests,
        }
    }
}

/// A partner app as its pages show it.
#[derive(Serialize)]
pub struct AppView {
    pub id: String,
    pub client_id: String,
    pub company_id: String,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub visibility: &'static str,
    pub visibility_label: &'static str,
    pub review: &'static str,
    pub review_label: &'static str,
    pub review_reason: Option<String>,
    pub submitted_at: Option<String>,
    pub reviewed_at: Option<String>,
    pub apis: Vec<ApiUse>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<&'static str>,
    pub security: SecurityView,
    /// A production registration (made by certification), not a sandbox app.
    pub production: bool,
    /// On a production registration: the sandbox app it was certified from.
    pub certified_from: Option<String>,
    pub secret_rotated_at: String,
    pub created_at: String,
    pub updated_at: String,
}

impl AppView {
    pub fn new(app: &PartnerApp, catalog: &ApiCatalog) -> Self {
        Self {
            id: app.id.to_string(),
            client_id: app.client_id(),
            company_id: app.company_id.to_string(),
            name: app.spec.name.clone(),
            description: app.spec.description.clone(),
            active: app.spec.active,
            visibility: app.visibility.as_str(),
            visibility_label: visibility_label(app.visibility),
            review: app.review.status.as_str(),
            review_label: review_label(app.review.status),
            review_reason: app.review.reason.clone(),
            submitted_at: app.review.submitted_at.as_ref().map(time),
            reviewed_at: app.review.reviewed_at.as_ref().map(time),
            apis: api_uses(catalog, &app.spec.apis),
            redirect_uris: app.spec.redirect_uris.clone(),
            grant_types: app
                .spec
                .grant_types
                .iter()
                .map(|g| grant_label(*g))
                .collect(),
            security: SecurityView::new(&app.spec.security),
            production: app.is_production(),
            certified_from: app.certified_from.map(|id| id.to_string()),
            secret_rotated_at: time(&app.secret_rotated_at),
            created_at: time(&app.created_at),
            updated_at: time(&app.updated_at),
        }
    }
}

/// A DOM id from a scope (`travel.profile.read` -> `travel-profile-read`).
fn dom_id(prefix: &str, scope: &str) -> String {
    let tail: String = scope
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{prefix}-{tail}")
}

#[derive(Serialize)]
pub struct GroupOption {
    pub id: String,
    pub scope: String,
    pub title: String,
    pub description: String,
    pub code: Option<String>,
    /// The checkbox value: `<api scope>:<group scope>`.
    pub value: String,
    pub checked: bool,
}

#[derive(Serialize)]
pub struct ApiOption {
    pub id: String,
    pub scope: String,
    pub title: String,
    pub description: String,
    /// Titles of the APIs this one needs ("Requires Expense Report").
    pub requires: Vec<String>,
    pub checked: bool,
    pub groups: Vec<GroupOption>,
}

#[derive(Serialize)]
pub struct GrantOption {
    pub id: String,
    pub value: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub checked: bool,
}

/// A Client authentication method checkbox.
#[derive(Serialize)]
pub struct AuthMethodOption {
    pub id: String,
    pub value: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub checked: bool,
}

/// The client authentication method checkboxes, checked as in `form`.
pub fn auth_method_options(form: &AppForm) -> Vec<AuthMethodOption> {
    AUTH_METHODS
        .iter()
        .map(|(m, label, hint)| AuthMethodOption {
            id: dom_id("auth", m.as_str()),
            value: m.as_str(),
            label,
            hint,
            checked: form.has_auth_method(m.as_str()),
        })
        .collect()
}

/// The APIs Used checkboxes: the whole catalog, checked as in `form`.
pub fn api_options(catalog: &ApiCatalog, form: &AppForm) -> Vec<ApiOption> {
    catalog
        .apis()
        .iter()
        .map(|api| ApiOption {
            id: dom_id("api", &api.scope),
            scope: api.scope.clone(),
            title: api.title.clone(),
            description: api.description.clone(),
            requires: api
                .requires
                .iter()
                .map(|r| {
                    catalog
                        .api(r)
                        .map_or_else(|| r.clone(), |a| a.title.clone())
                })
                .collect(),
            checked: form.has_api(&api.scope),
            groups: api
                .sensitive_data_groups
                .iter()
                .map(|g| GroupOption {
                    id: dom_id("group", &g.scope),
                    scope: g.scope.clone(),
                    title: g.title.clone(),
                    description: g.description.clone(),
                    code: g.code.clone(),
                    value: format!("{}:{}", api.scope, g.scope),
                    checked: form.has_group(&api.scope, &g.scope),
                })
                .collect(),
        })
        .collect()
}

pub fn grant_options(form: &AppForm) -> Vec<GrantOption> {
    GRANT_TYPES
        .iter()
        .map(|(g, label, hint)| GrantOption {
            id: dom_id("grant", g.as_str()),
            value: g.as_str(),
            label,
            hint,
            checked: form.has_grant(g.as_str()),
        })
        .collect()
}

/// An audit log line.
#[derive(Serialize)]
pub struct AuditView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub company: Option<String>,
    pub action: &'static str,
    pub target_type: String,
    pub target_id: String,
    /// The target's name when its snapshot has one.
    pub target_name: Option<String>,
    /// The top-level fields that differ between before and after.
    pub changed: Vec<String>,
}

impl AuditView {
    pub fn new(entry: &AuditEntry, company: Option<String>) -> Self {
        let e = &entry.event;
        let name_of = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .and_then(|v| v.get("name").or_else(|| v.get("login_id")))
                .and_then(|n| n.as_str())
                .map(str::to_owned)
        };
        let changed = match (&e.before, &e.after) {
            (Some(serde_json::Value::Object(b)), Some(serde_json::Value::Object(a))) => {
                let mut keys: Vec<String> = a
                    .iter()
                    .filter(|(k, v)| k.as_str() != "updated_at" && b.get(k.as_str()) != Some(v))
                    .map(
                        |(k, v)| match (b.get(k.as_str()).and_then(short), short(v)) {
                            (Some(was), Some(now)) => format!("{k}: {was} → {now}"),
                            _ => k.clone(),
                        },
                    )
                    .collect();
                keys.extend(b.keys().filter(|k| !a.contains_key(k.as_str())).cloned());
                keys
            }
            _ => vec![],
        };
        Self {
            id: entry.id,
            at: time(&e.at),
            actor: e.actor_login.clone(),
            company,
            action: e.action.as_str(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            target_name: name_of(&e.after).or_else(|| name_of(&e.before)),
            changed,
        }
    }
}

/// A scalar JSON value short enough to show inline in the audit log.
fn short(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if s.chars().count() <= 40 => Some(s.clone()),
        serde_json::Value::Null => Some("none".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_domain::{AuditAction, AuditEvent};
    use serde_json::json;

    #[test]
    fn audit_lines_name_what_changed() {
        let entry = AuditEntry {
            id: 7,
            event: AuditEvent::new::<_, _>(
                None,
                None,
                AuditAction::AppVisibility,
                ("app", "a1".into()),
                Some(
                    &json!({ "name": "Sync", "visibility": "private", "updated_at": 1,
                              "apis": [1] }),
                ),
                Some(
                    &json!({ "name": "Sync", "visibility": "public", "updated_at": 2,
                              "apis": [1, 2] }),
                ),
            ),
        };
        let v = AuditView::new(&entry, None);
        assert_eq!(v.target_name.as_deref(), Some("Sync"));
        assert_eq!(v.actor, "system");
        assert_eq!(v.changed, vec!["apis", "visibility: private → public"]);
    }
}
