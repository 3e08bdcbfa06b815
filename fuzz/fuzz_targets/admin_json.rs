//! The admin API's JSON bodies, as the handlers read them: `portico_http::extract::parse_json`
//! (serde_json through serde_path_to_error, and the error naming the field), into the body type
//! of each route, then the validation the registry runs on it, against the shipped catalog
//! (`config/apis.toml`). The first byte picks the route ('0'..'9', 'a', 'b' in the seeds).
//!
//! Checks: no panic; every refusal is a 400 `invalid_request` (never a 500); validation is
//! idempotent (what it returns validates again to itself), so stored values are stable.
#![no_main]

use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

#[path = "timing.rs"]
mod timing;
use portico_domain::{
    ApiCatalog, AppChanges, AppId, AppRegistration, AppSpec, Company, CompanyChanges, CompanyId,
    DomainError, Edition, GrantType, NewCompany, NewUser, PartnerApp, Permissions, Review,
    ReviewDecision, ReviewStatus, User, UserChanges, UserId, Visibility, validate_login_id,
    validate_password,
};
use portico_http::error::ApiError;
use portico_http::extract::parse_json;
use serde::de::DeserializeOwned;
use std::sync::LazyLock;

static CATALOG: LazyLock<ApiCatalog> = LazyLock::new(|| {
    ApiCatalog::parse("config/apis.toml", include_str!("../../config/apis.toml")).unwrap()
});

// The handlers' own small bodies are private to their modules; these are the same definitions
// (crates/portico-http/src/admin/{sessions,apps,enablements,request_tokens}.rs).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInRequest {
    login_id: String,
    password: String,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NewSecretRequest {
    #[serde(default)]
    grace_seconds: u64,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct VisibilityRequest {
    visibility: Visibility,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SetEnabled {
    enabled: bool,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CreateRequestToken {
    app_id: AppId,
}

fn when() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

/// An app as stored: what a registration with the defaults validates to, waiting for review.
static APP: LazyLock<PartnerApp> = LazyLock::new(|| {
    let spec = AppSpec {
        name: "Expense Sync".into(),
        description: "Syncs expense reports.".into(),
        active: true,
        apis: vec![portico_domain::ApiSelection {
            api: "expense.report.read".into(),
            sensitive_data_groups: vec![],
        }],
        redirect_uris: vec!["https://partner.example/callback".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        id_token_signed_response_alg: Default::default(),
        security: Default::default(),
    }
    .validate(&CATALOG)
    .unwrap();
    PartnerApp {
        id: AppId::new(),
        company_id: CompanyId::new(),
        spec,
        visibility: Visibility::Private,
        review: Review {
            status: ReviewStatus::Pending,
            submitted_at: Some(when()),
            ..Review::draft()
        },
        resource_server: false,
        resource_uri: None,
        secret_rotated_at: when(),
        created_at: when(),
        updated_at: when(),
    }
});

fn company() -> Company {
    Company {
        id: CompanyId::new(),
        name: "Acme".into(),
        domain: "acme.example".into(),
        edition: Edition::Professional,
        development_partner: true,
        enabled: true,
        created_at: when(),
    }
}

fn user() -> User {
    User {
        id: UserId::new(),
        company_id: CompanyId::new(),
        login_id: "admin@acme.example".into(),
        display_name: "Admin".into(),
        enabled: true,
        permissions: Permissions::default(),
        created_at: when(),
    }
}

/// A refusal is a 400 `invalid_request`: never a 500, never a panic while mapping it.
fn refused(e: ApiError) {
    let resp = e.into_response();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

fn domain_refused(e: DomainError) {
    assert!(matches!(e, DomainError::Invalid { .. }), "{e:?}");
    refused(ApiError::Domain(e));
}

fn body<T: DeserializeOwned>(json: &[u8]) -> Option<T> {
    match parse_json::<T>(json) {
        Ok(v) => Some(v),
        Err(e) => {
            // `field` may be "" when the offending key is the empty string: that is its name.
            assert!(matches!(e, ApiError::BadRequest { .. }), "{e:?}");
            refused(e);
            None
        }
    }
}

fuzz_target!(|data: &[u8]| timing::timed(data, || {
    let Some((&route, json)) = data.split_first() else {
        return;
    };
    let catalog = &*CATALOG;
    let route = match route {
        b'0'..=b'9' => route - b'0',
        b'a' | b'b' => route - b'a' + 10,
        other => other % 12,
    };
    match route {
        // POST /apps
        0 => {
            if let Some(req) = body::<AppRegistration>(json) {
                match req.validate(catalog) {
                    Ok(spec) => {
                        assert!(!spec.grant_types.is_empty());
                        assert!(spec.redirect_uris.len() <= 10);
                        assert_eq!(spec.clone().validate(catalog).unwrap(), spec);
                    }
                    Err(e) => domain_refused(e),
                }
            }
        }
        // PATCH /apps/{id}
        1 => {
            if let Some(changes) = body::<AppChanges>(json) {
                match changes.apply(&APP.spec, catalog) {
                    Ok(spec) => assert_eq!(spec.clone().validate(catalog).unwrap(), spec),
                    Err(e) => domain_refused(e),
                }
            }
        }
        // POST /apps/{id}/review
        2 => {
            if let Some(decision) = body::<ReviewDecision>(json) {
                match APP.decide_review(decision, UserId::new(), when()) {
                    Ok(review) => {
                        assert!(matches!(
                            review.status,
                            ReviewStatus::Approved | ReviewStatus::Rejected
                        ));
                        if let Some(r) = &review.reason {
                            assert!(!r.is_empty() && r.trim() == r);
                        }
                    }
                    Err(e) => domain_refused(e),
                }
            }
        }
        // POST /companies
        3 => {
            if let Some(new) = body::<NewCompany>(json) {
                match new.validate() {
                    Ok(c) => {
                        let again = c.clone().validate().unwrap();
                        assert_eq!((&again.name, &again.domain), (&c.name, &c.domain));
                    }
                    Err(e) => domain_refused(e),
                }
            }
        }
        // PATCH /companies/{id}
        4 => {
            if let Some(changes) = body::<CompanyChanges>(json)
                && let Err(e) = changes.apply(&company())
            {
                domain_refused(e);
            }
        }
        // POST /companies/{id}/users
        5 => {
            if let Some(new) = body::<NewUser>(json) {
                match new.validate() {
                    Ok(u) => {
                        let again = u.clone().validate().unwrap();
                        assert_eq!(again.login_id, u.login_id, "login id not stable");
                        assert_eq!(again.display_name, u.display_name);
                        // Signing in validates the id the same way: the stored one matches.
                        assert_eq!(validate_login_id(&u.login_id).unwrap(), u.login_id);
                    }
                    Err(e) => domain_refused(e),
                }
            }
        }
        // PATCH /users/{id}
        6 => {
            if let Some(changes) = body::<UserChanges>(json)
                && let Err(e) = changes.apply(&user())
            {
                domain_refused(e);
            }
        }
        // POST /session
        7 => {
            if let Some(req) = body::<SignInRequest>(json) {
                match validate_login_id(&req.login_id) {
                    Ok(id) => assert_eq!(validate_login_id(&id).unwrap(), id),
                    Err(e) => domain_refused(e),
                }
                if let Err(e) = validate_password(&req.password) {
                    domain_refused(e);
                }
            }
        }
        // PUT /apps/{id}/visibility
        8 => {
            if let Some(req) = body::<VisibilityRequest>(json)
                && let Err(e) = APP.check_visibility_change(req.visibility)
            {
                assert!(matches!(e, DomainError::Conflict { .. }));
            }
        }
        // POST /apps/{id}/secret, PUT .../enablements/{app}, POST .../request-tokens
        9 => drop(body::<NewSecretRequest>(json)),
        10 => drop(body::<SetEnabled>(json)),
        _ => drop(body::<CreateRequestToken>(json)),
    }
}));
