//! HTML forms: `application/x-www-form-urlencoded` bodies as name/value pairs (checkbox fields
//! repeat), and the New / Modify Partner Application form turned into the domain's
//! [`AppRegistration`] and [`AppChanges`]. Nothing here validates what the domain validates:
//! the form is passed on as the user sent it, and the domain's errors are shown beside the
//! fields.
//!
//! The Client authentication fieldset carries a hidden `client_auth` field: a form without it
//! (one rendered before the fieldset existed, or a script's) leaves the app's client security
//! as it is, the way a form without `id_token_alg` leaves the ID token algorithm alone.

use super::error::ConsoleError;
use crate::AppState;
use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
};
use portico_domain::{
    ApiSelection, AppChanges, AppRegistration, AppSpec, ClientAuthMethod, ClientSecurity,
    DomainError, DomainResult, GrantType, IdTokenAlgorithm, IfVersion, PartnerApp,
};
use portico_oauth::params::{FormLimits, read_pairs};
use serde::Serialize;

/// The largest console form, the Modify Partner Application page, has one field per API, per
/// sensitive data group and per grant type; a description is a few thousand characters. The
/// largest value is the JWKS textarea: up to 16 KiB of compact JSON (the domain's limit), which
/// the form shows pretty-printed, so the value limit leaves room for the indentation.
const CONSOLE_FORM: FormLimits = FormLimits {
    max_pairs: 256,
    max_value_bytes: 32 * 1024,
    line_breaks: true,
};

/// A form body as sent: name/value pairs in order, names repeated for checkboxes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Result<Self, ConsoleError> {
        read_pairs(body, CONSOLE_FORM)
            .map(Self)
            .map_err(|e| ConsoleError::BadRequest(format!("the form could not be read: {e}")))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// Whether a checkbox was checked (sent at all).
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl FromRequest<AppState> for FormData {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let is_form = crate::extract::is_form(req.headers());
        if !is_form {
            return Err(ConsoleError::BadRequest(
                "expected a form (application/x-www-form-urlencoded)".into(),
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            ConsoleError::BadRequest(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "the form is too large".into()
            } else {
                "the form could not be read".into()
            })
        })?;
        Self::parse(&body)
    }
}

/// The New / Modify Partner Application form as the user filled it in, so it can be shown
/// again unchanged next to an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppForm {
    pub name: String,
    pub description: String,
    pub active: bool,
    /// The checked APIs (`api=<scope>`), in form order.
    pub apis: Vec<String>,
    /// The checked sensitive data groups (`group=<api scope>:<group scope>`), as
    /// (api, group).
    pub groups: Vec<(String, String)>,
    /// The redirect URI textarea as typed: one URI a line.
    pub redirect_uris: String,
    /// The checked grant types (`grant_type=<name>`).
    pub grant_types: Vec<String>,
    /// How the app's ID tokens are signed (`id_token_alg`: RS256, ES256 or EdDSA); empty on a
    /// form without the field (the registration's default, or the app's choice unchanged).
    pub id_token_alg: String,
    /// Whether the form carried the Client authentication fieldset (its hidden `client_auth`
    /// field). Without it, the four fields below are not changes: the registration's defaults,
    /// or the app's settings unchanged.
    pub client_auth: bool,
    /// The checked client authentication methods (`auth_method=<name>`).
    pub auth_methods: Vec<String>,
    /// The Public keys (JWKS) textarea as typed: a JWKS document, or empty for none.
    pub jwks: String,
    /// `dpop_bound_access_tokens`: every access token is DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    /// `require_pushed_authorization_requests`: authorization requests only through PAR.
    pub require_pushed_authorization_requests: bool,
    /// Modify only: the version of the app the form was filled in on (a hidden field), so a
    /// change made meanwhile is not overwritten by the form's older values.
    pub version: String,
}

impl AppForm {
    /// What a New Partner Application form starts with.
    pub fn blank() -> Self {
        Self {
            active: true,
            grant_types: [GrantType::AuthorizationCode, GrantType::RefreshToken]
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            id_token_alg: IdTokenAlgorithm::default().as_str().to_owned(),
            ..Self::with_security(&ClientSecurity::default())
        }
    }

    /// The Client authentication fieldset showing `security`, everything else empty.
    fn with_security(security: &ClientSecurity) -> Self {
        Self {
            client_auth: true,
            auth_methods: security
                .token_endpoint_auth_methods
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            jwks: security
                .jwks
                .as_ref()
                .and_then(|j| serde_json::to_string_pretty(j).ok())
                .unwrap_or_default(),
            dpop_bound_access_tokens: security.dpop_bound_access_tokens,
            require_pushed_authorization_requests: security.require_pushed_authorization_requests,
            ..Self::default()
        }
    }

    /// The Modify form of a registered app, at its current version.
    pub fn modify(app: &PartnerApp) -> Self {
        Self {
            version: app.version.to_string(),
            ..Self::of(&app.spec)
        }
    }

    /// A registered spec as the form shows it.
    pub fn of(spec: &AppSpec) -> Self {
        Self {
            name: spec.name.clone(),
            description: spec.description.clone(),
            active: spec.active,
            apis: spec.apis.iter().map(|s| s.api.clone()).collect(),
            groups: spec
                .apis
                .iter()
                .flat_map(|s| {
                    s.sensitive_data_groups
                        .iter()
                        .map(|g| (s.api.clone(), g.clone()))
                })
                .collect(),
            redirect_uris: spec.redirect_uris.join("\n"),
            grant_types: spec
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            id_token_alg: spec.id_token_signed_response_alg.as_str().to_owned(),
            ..Self::with_security(&spec.security)
        }
    }

    pub fn parse(form: &FormData) -> Self {
        Self {
            name: form.text("name"),
            description: form.text("description"),
            active: form.checked("active"),
            apis: form.all("api").map(str::to_owned).collect(),
            groups: form
                .all("group")
                .map(|v| match v.split_once(':') {
                    Some((api, group)) => (api.to_owned(), group.to_owned()),
                    None => (String::new(), v.to_owned()),
                })
                .collect(),
            redirect_uris: form.text("redirect_uris"),
            grant_types: form.all("grant_type").map(str::to_owned).collect(),
            id_token_alg: form.text("id_token_alg"),
            client_auth: form.checked("client_auth"),
            auth_methods: form.all("auth_method").map(str::to_owned).collect(),
            jwks: form.text("jwks"),
            dpop_bound_access_tokens: form.checked("dpop_bound_access_tokens"),
            require_pushed_authorization_requests: form
                .checked("require_pushed_authorization_requests"),
            version: form.text("version"),
        }
    }

    /// The version the Modify form was shown at, as the write's precondition. A form without
    /// one (from before versions) changes the current version; an unreadable one never
    /// matches.
    pub fn precondition(&self) -> IfVersion {
        match self.version.trim() {
            "" => IfVersion::Any,
            v => IfVersion::OneOf(v.parse().into_iter().collect()),
        }
    }

    pub fn has_api(&self, api: &str) -> bool {
        self.apis.iter().any(|a| a == api)
    }

    pub fn has_group(&self, api: &str, group: &str) -> bool {
        self.groups.iter().any(|(a, g)| a == api && g == group)
    }

    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    pub fn has_auth_method(&self, method: &str) -> bool {
        self.auth_methods.iter().any(|m| m == method)
    }

    /// Each checked API with the groups checked beneath it. A group whose API is not checked
    /// is passed on as an entry of its own, so the catalog names the problem instead of the
    /// group being dropped (or its API added) silently.
    pub fn selection(&self) -> Vec<ApiSelection> {
        let mut out: Vec<ApiSelection> = self
            .apis
            .iter()
            .map(|api| ApiSelection {
                api: api.clone(),
                sensitive_data_groups: self
                    .groups
                    .iter()
                    .filter(|(a, _)| a == api)
                    .map(|(_, g)| g.clone())
                    .collect(),
            })
            .collect();
        out.extend(
            self.groups
                .iter()
                .filter(|(a, _)| !self.has_api(a))
                .map(|(_, g)| ApiSelection {
                    api: g.clone(),
                    sensitive_data_groups: vec![],
                }),
        );
        out
    }

    /// The non-empty lines of the redirect URI textarea.
    pub fn redirect_uri_list(&self) -> Vec<String> {
        self.redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn grant_type_list(&self) -> DomainResult<Vec<GrantType>> {
        self.grant_types
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| {
                    DomainError::invalid("grant_types", format!("unknown grant type '{g}'"))
                })
            })
            .collect()
    }

    pub fn registration(&self) -> DomainResult<AppRegistration> {
        let security = self.security()?;
        Ok(AppRegistration {
            name: self.name.clone(),
            description: self.description.clone(),
            active: self.active,
            apis: self.selection(),
            redirect_uris: self.redirect_uri_list(),
            grant_types: Some(self.grant_type_list()?),
            id_token_signed_response_alg: self.id_token_alg()?,
            token_endpoint_auth_methods: security.as_ref().map(|s| s.methods.clone()),
            // An empty textarea: no keys (the registration's default).
            jwks: security.as_ref().and_then(|s| s.jwks.clone()),
            dpop_bound_access_tokens: security.as_ref().map(|s| s.dpop_bound_access_tokens),
            require_pushed_authorization_requests: security
                .as_ref()
                .map(|s| s.require_pushed_authorization_requests),
        })
    }

    /// A Modify sends the whole form, so every field is a change: an emptied JWKS textarea
    /// removes the keys, an unchecked box turns its setting off.
    pub fn changes(&self) -> DomainResult<AppChanges> {
        let security = self.security()?;
        Ok(AppChanges {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            active: Some(self.active),
            apis: Some(self.selection()),
            redirect_uris: Some(self.redirect_uri_list()),
            grant_types: Some(self.grant_type_list()?),
            id_token_signed_response_alg: self.id_token_alg()?,
            token_endpoint_auth_methods: security.as_ref().map(|s| s.methods.clone()),
            jwks: security
                .as_ref()
                .map(|s| s.jwks.clone().unwrap_or(serde_json::Value::Null)),
            dpop_bound_access_tokens: security.as_ref().map(|s| s.dpop_bound_access_tokens),
            require_pushed_authorization_requests: security
                .as_ref()
                .map(|s| s.require_pushed_authorization_requests),
        })
    }

    /// The Client authentication fieldset as the domain takes it; none when the form did not
    /// carry it. Only what the form itself must read is checked here (method names, JSON);
    /// the keys and the combination are the domain's to judge.
    fn security(&self) -> DomainResult<Option<SecurityInput>> {
        if !self.client_auth {
            return Ok(None);
        }
        let methods = self
            .auth_methods
            .iter()
            .map(|m| {
                ClientAuthMethod::parse(m).ok_or_else(|| {
                    DomainError::invalid(
                        "token_endpoint_auth_methods",
                        format!("unknown client authentication method '{m}'"),
                    )
                })
            })
            .collect::<DomainResult<_>>()?;
        let jwks = match self.jwks.trim() {
            "" => None,
            text => {
                let doc: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| DomainError::invalid("jwks", format!("not valid JSON ({e})")))?;
                // `null` typed in means no keys, like an empty textarea.
                (!doc.is_null()).then_some(doc)
            }
        };
        Ok(Some(SecurityInput {
            methods,
            jwks,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
        }))
    }

    /// The chosen ID token algorithm; none when the form did not carry the field.
    fn id_token_alg(&self) -> DomainResult<Option<IdTokenAlgorithm>> {
        match self.id_token_alg.trim() {
            "" => Ok(None),
            v => IdTokenAlgorithm::parse(v).map(Some).ok_or_else(|| {
                DomainError::invalid(
                    "id_token_signed_response_alg",
                    "choose RS256, ES256 or EdDSA",
                )
            }),
        }
    }
}

/// The Client authentication fieldset, read.
struct SecurityInput {
    methods: Vec<ClientAuthMethod>,
    /// None: the textarea was empty.
    jwks: Option<serde_json::Value>,
    dpop_bound_access_tokens: bool,
    require_pushed_authorization_requests: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_domain::ApiCatalog;

    fn catalog() -> ApiCatalog {
        ApiCatalog::parse("apis.toml", include_str!("../../../../config/apis.toml")).unwrap()
    }

    fn form(body: &str) -> AppForm {
        AppForm::parse(&FormData::parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn repeated_fields_keep_their_order() {
        let f = FormData::parse(b"a=1&b=2&a=3&c=&a=x%20y").unwrap();
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.all("a").collect::<Vec<_>>(), ["1", "3", "x y"]);
        assert!(f.checked("c"));
        assert!(!f.checked("d"));
        assert_eq!(f.text("d"), "");
    }

    #[test]
    fn the_id_token_algorithm_is_chosen_or_left_alone() {
        let with = |v: &str| form(&format!("name=A&id_token_alg={v}"));
        assert_eq!(
            with("EdDSA")
                .registration()
                .unwrap()
                .id_token_signed_response_alg,
            Some(IdTokenAlgorithm::EdDSA)
        );
        assert_eq!(
            with("ES256")
                .changes()
                .unwrap()
                .id_token_signed_response_alg,
            Some(IdTokenAlgorithm::ES256)
        );
        // A form without the field keeps the default (or the app's choice).
        assert_eq!(
            form("name=A")
                .changes()
                .unwrap()
                .id_token_signed_response_alg,
            None
        );
        match with("HS256").registration() {
            Err(DomainError::Invalid { field, .. }) => {
                assert_eq!(field, "id_token_signed_response_alg")
            }
            other => panic!("expected a refusal naming the field, got {other:?}"),
        }
        // The New form starts at RS256; Modify shows the app's choice.
        assert_eq!(AppForm::blank().id_token_alg, "RS256");
    }

    #[test]
    fn checkboxes_become_apis_with_nested_groups() {
        let f = form(
            "csrf_token=t&name=Expense+Sync&description=Syncs+reports&active=on\
             &api=expense.report.read\
             &api=travel.profile.read\
             &group=travel.profile.read%3Atravel.profile.passport\
             &group=travel.profile.read:travel.profile.medical\
             &redirect_uris=https%3A%2F%2Fapp.example%2Fcb%0D%0A%0D%0A++http://127.0.0.1:8123/cb++%0D%0A\
             &grant_type=authorization_code&grant_type=refresh_token",
        );
        let reg = f.registration().unwrap();
        assert_eq!(reg.name, "Expense Sync");
        assert_eq!(reg.description, "Syncs reports");
        assert!(reg.active);
        assert_eq!(
            reg.apis,
            vec![
                ApiSelection {
                    api: "expense.report.read".into(),
                    sensitive_data_groups: vec![],
                },
                ApiSelection {
                    api: "travel.profile.read".into(),
                    sensitive_data_groups: vec![
                        "travel.profile.passport".into(),
                        "travel.profile.medical".into()
                    ],
                },
            ]
        );
        assert_eq!(
            reg.redirect_uris,
            vec!["https://app.example/cb", "http://127.0.0.1:8123/cb"]
        );
        assert_eq!(
            reg.grant_types,
            Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])
        );
        // And the domain accepts it as it is.
        let spec = reg.validate(&catalog()).unwrap();
        assert_eq!(spec.apis[1].sensitive_data_groups.len(), 2);
    }

    #[test]
    fn an_unchecked_active_box_means_inactive() {
        let f = form("name=x&grant_type=client_credentials");
        assert!(!f.active);
        assert!(!f.changes().unwrap().active.unwrap());
    }

    #[test]
    fn a_group_without_its_api_is_left_to_the_catalog() {
        let f = form(
            "name=x&api=expense.report.read&group=travel.profile.read:travel.profile.passport\
             &redirect_uris=https://a.example/cb&grant_type=authorization_code",
        );
        let sel = f.selection();
        assert_eq!(sel.len(), 2);
        assert_eq!(sel[1].api, "travel.profile.passport");
        match f.registration().unwrap().validate(&catalog()) {
            Err(DomainError::Invalid { field, message }) => {
                assert_eq!(field, "apis[1].api");
                assert!(message.contains("Travel Profile"), "{message}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_group_under_another_api_is_refused_by_the_catalog() {
        let f = form(
            "name=x&api=expense.report.read&group=expense.report.read:travel.profile.passport\
             &redirect_uris=https://a.example/cb&grant_type=authorization_code",
        );
        match f.registration().unwrap().validate(&catalog()) {
            Err(DomainError::Invalid { field, .. }) => {
                assert_eq!(field, "apis[0].sensitive_data_groups")
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn unknown_grant_types_name_the_field() {
        let f = form("name=x&grant_type=implicit");
        match f.registration() {
            Err(DomainError::Invalid { field, message }) => {
                assert_eq!(field, "grant_types");
                assert!(message.contains("implicit"));
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// RFC 8037 §A.2's public key.
    const ED25519: &str = r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    fn invalid_field<T: std::fmt::Debug>(r: DomainResult<T>) -> (String, String) {
        match r {
            Err(DomainError::Invalid { field, message }) => (field, message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// What a browser sends for `form` as app_form.html shows it: the same field names, one
    /// pair a checked box, textareas with CRLF line breaks.
    fn submitted(form: &AppForm) -> AppForm {
        let crlf = |s: &str| s.replace('\n', "\r\n");
        let mut pairs: Vec<(&str, String)> = vec![
            ("csrf_token", "t".into()),
            ("version", form.version.clone()),
            ("name", form.name.clone()),
            ("description", crlf(&form.description)),
        ];
        if form.active {
            pairs.push(("active", "on".into()));
        }
        pairs.extend(form.apis.iter().map(|a| ("api", a.clone())));
        pairs.extend(
            form.groups
                .iter()
                .map(|(a, g)| ("group", format!("{a}:{g}"))),
        );
        pairs.push(("redirect_uris", crlf(&form.redirect_uris)));
        pairs.push(("id_token_alg", form.id_token_alg.clone()));
        pairs.extend(form.grant_types.iter().map(|g| ("grant_type", g.clone())));
        pairs.push(("client_auth", "1".into()));
        pairs.extend(form.auth_methods.iter().map(|m| ("auth_method", m.clone())));
        pairs.push(("jwks", crlf(&form.jwks)));
        if form.dpop_bound_access_tokens {
            pairs.push(("dpop_bound_access_tokens", "on".into()));
        }
        if form.require_pushed_authorization_requests {
            pairs.push(("require_pushed_authorization_requests", "on".into()));
        }
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        AppForm::parse(&FormData::parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn the_client_authentication_fieldset_becomes_the_security_settings() {
        let body = serde_urlencoded::to_string([
            ("name", "Keys Only"),
            ("grant_type", "client_credentials"),
            ("client_auth", "1"),
            ("auth_method", "private_key_jwt"),
            ("jwks", ED25519),
            ("dpop_bound_access_tokens", "on"),
            ("require_pushed_authorization_requests", "on"),
        ])
        .unwrap();
        let f = form(&body);
        let reg = f.registration().unwrap();
        assert_eq!(
            reg.token_endpoint_auth_methods,
            Some(vec![ClientAuthMethod::PrivateKeyJwt])
        );
        assert_eq!(reg.jwks.as_ref().unwrap()["keys"][0]["kid"], "k1");
        assert_eq!(reg.dpop_bound_access_tokens, Some(true));
        assert_eq!(reg.require_pushed_authorization_requests, Some(true));
        let spec = reg.validate(&catalog()).unwrap();
        assert!(!spec.security.uses_secret());
        assert!(spec.security.dpop_bound_access_tokens);
        assert!(spec.security.require_pushed_authorization_requests);
        assert_eq!(spec.security.keys().unwrap().keys().len(), 1);

        // Unchecked boxes are off, on a Modify too.
        let f = form("name=A&client_auth=1&auth_method=client_secret_post&jwks=");
        let changes = f.changes().unwrap();
        assert_eq!(
            changes.token_endpoint_auth_methods,
            Some(vec![ClientAuthMethod::ClientSecretPost])
        );
        assert_eq!(changes.dpop_bound_access_tokens, Some(false));
        assert_eq!(changes.require_pushed_authorization_requests, Some(false));
    }

    #[test]
    fn an_empty_jwks_textarea_is_no_keys() {
        let f = form("name=A&client_auth=1&auth_method=client_secret_basic&jwks=+%0D%0A+");
        // Registered: none. Modified: the keys are removed.
        assert_eq!(f.registration().unwrap().jwks, None);
        assert_eq!(f.changes().unwrap().jwks, Some(serde_json::Value::Null));
        // `null` typed in says the same.
        let f = form("name=A&client_auth=1&auth_method=client_secret_basic&jwks=null");
        assert_eq!(f.registration().unwrap().jwks, None);
        assert_eq!(f.changes().unwrap().jwks, Some(serde_json::Value::Null));
    }

    #[test]
    fn a_form_without_the_fieldset_leaves_the_security_settings_alone() {
        let f = form("name=A&grant_type=client_credentials");
        assert!(!f.client_auth);
        let reg = f.registration().unwrap();
        assert_eq!(reg.token_endpoint_auth_methods, None);
        assert_eq!(reg.jwks, None);
        assert_eq!(reg.dpop_bound_access_tokens, None);
        assert_eq!(reg.require_pushed_authorization_requests, None);
        let changes = f.changes().unwrap();
        assert_eq!(changes.token_endpoint_auth_methods, None);
        assert_eq!(changes.jwks, None, "not a removal of the keys");
        assert_eq!(changes.dpop_bound_access_tokens, None);
        assert_eq!(changes.require_pushed_authorization_requests, None);
    }

    #[test]
    fn a_jwks_that_is_not_json_is_an_error_at_the_field() {
        let body = serde_urlencoded::to_string([
            ("name", "A"),
            ("client_auth", "1"),
            ("auth_method", "private_key_jwt"),
            ("jwks", r#"{"keys": [{"kty": "OKP",}]}"#),
        ])
        .unwrap();
        let f = form(&body);
        for r in [f.registration().map(|_| ()), f.changes().map(|_| ())] {
            let (field, message) = invalid_field(r);
            assert_eq!(field, "jwks");
            assert!(message.starts_with("not valid JSON"), "{message}");
            // Beside the textarea.
            assert_eq!(super::super::error::field_error(&field, &message).0, "jwks");
        }
        // What was typed is kept, to be shown again.
        assert_eq!(f.jwks, r#"{"keys": [{"kty": "OKP",}]}"#);
        assert!(f.has_auth_method("private_key_jwt"));
    }

    #[test]
    fn the_domains_key_errors_show_at_the_jwks_field() {
        let with_d = ED25519.replace(r#""kid": "k1","#, r#""kid": "k1", "d": "private","#);
        let body = serde_urlencoded::to_string([
            ("name", "A"),
            ("grant_type", "client_credentials"),
            ("client_auth", "1"),
            ("auth_method", "private_key_jwt"),
            ("jwks", with_d.as_str()),
        ])
        .unwrap();
        let (field, message) =
            invalid_field(form(&body).registration().unwrap().validate(&catalog()));
        assert_eq!(field, "jwks.keys[0].d");
        let (key, shown) = super::super::error::field_error(&field, &message);
        assert_eq!(key, "jwks");
        assert!(shown.starts_with("Key 1, \"d\": "), "{shown}");
        assert!(shown.contains("private key member"), "{shown}");

        // Keys only without keys: at the textarea too. No method: at the methods.
        let (field, _) = invalid_field(
            form("name=A&grant_type=client_credentials&client_auth=1&auth_method=private_key_jwt")
                .registration()
                .unwrap()
                .validate(&catalog()),
        );
        assert_eq!(field, "jwks");
        let (field, _) = invalid_field(
            form("name=A&grant_type=client_credentials&client_auth=1")
                .registration()
                .unwrap()
                .validate(&catalog()),
        );
        assert_eq!(field, "token_endpoint_auth_methods");
        let (field, message) =
            invalid_field(form("name=A&client_auth=1&auth_method=tls_client_auth").changes());
        assert_eq!(field, "token_endpoint_auth_methods");
        assert!(message.contains("tls_client_auth"), "{message}");
    }

    #[test]
    fn the_new_form_starts_with_the_secret_methods() {
        let blank = AppForm::blank();
        assert!(blank.client_auth);
        assert_eq!(
            blank.auth_methods,
            ["client_secret_basic", "client_secret_post"]
        );
        assert_eq!(blank.jwks, "");
        assert!(!blank.dpop_bound_access_tokens);
        assert!(!blank.require_pushed_authorization_requests);
        // Sent as shown (with a redirect URI), it registers the defaults.
        let f = AppForm {
            name: "A".into(),
            redirect_uris: "https://a.example/cb".into(),
            ..blank
        };
        let spec = submitted(&f)
            .registration()
            .unwrap()
            .validate(&catalog())
            .unwrap();
        assert_eq!(spec.security, ClientSecurity::default());
    }

    #[test]
    fn a_modify_form_sent_unchanged_keeps_the_security_settings() {
        let catalog = catalog();
        let two_keys = r#"{"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "EC", "crv": "P-256", "kid": "k2", "use": "sig",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
        let registrations = [
            // The defaults: secrets, no keys.
            "name=A&grant_type=client_credentials&client_auth=1\
             &auth_method=client_secret_basic&auth_method=client_secret_post"
                .to_owned(),
            // Keys only, DPoP and PAR.
            serde_urlencoded::to_string([
                ("name", "B"),
                ("grant_type", "authorization_code"),
                ("redirect_uris", "https://b.example/cb"),
                ("client_auth", "1"),
                ("auth_method", "private_key_jwt"),
                ("jwks", ED25519),
                ("dpop_bound_access_tokens", "on"),
                ("require_pushed_authorization_requests", "on"),
            ])
            .unwrap(),
            // A secret and keys, two of them.
            serde_urlencoded::to_string([
                ("name", "C"),
                ("grant_type", "client_credentials"),
                ("client_auth", "1"),
                ("auth_method", "private_key_jwt"),
                ("auth_method", "client_secret_basic"),
                ("jwks", two_keys),
                ("dpop_bound_access_tokens", "on"),
            ])
            .unwrap(),
        ];
        for body in registrations {
            let spec = form(&body)
                .registration()
                .unwrap()
                .validate(&catalog)
                .unwrap();
            let shown = AppForm::of(&spec);
            assert!(shown.client_auth);
            if spec.security.jwks.is_some() {
                // Pretty-printed, one member a line.
                assert!(shown.jwks.contains("\n  \"keys\": ["), "{}", shown.jwks);
            }
            let again = submitted(&shown);
            assert_eq!(again.auth_methods, shown.auth_methods);
            let after = again.changes().unwrap().apply(&spec, &catalog).unwrap();
            assert_eq!(after.security, spec.security, "{body}");
            assert_eq!(after, spec, "{body}");
        }
    }

    #[test]
    fn a_registered_spec_round_trips_through_the_form() {
        let f = form(
            "name=App&description=d&active=on&api=travel.profile.read\
             &group=travel.profile.read:travel.profile.passport\
             &redirect_uris=https://a.example/cb&grant_type=authorization_code",
        );
        let spec = f.registration().unwrap().validate(&catalog()).unwrap();
        let again = AppForm::of(&spec);
        assert_eq!(again.apis, f.apis);
        assert_eq!(again.groups, f.groups);
        assert!(again.has_group("travel.profile.read", "travel.profile.passport"));
        assert_eq!(again.redirect_uri_list(), f.redirect_uri_list());
        assert_eq!(again.grant_types, f.grant_types);
    }
}
