//! The admin API's OpenAPI 3.1 contract, served at `GET /admin/v1/openapi.json`.
//!
//! Generated from the code with utoipa rather than written by hand: the schemas are derived
//! from the very types the handlers deserialize and serialize (the domain's and the registry's,
//! with their serde attributes: `flatten`, `tag = "decision"`, `rename_all`, defaults), and
//! every route is registered through utoipa-axum's `routes!` together with its handler's
//! `#[utoipa::path]`, so a route cannot be served without being described, and a type cannot
//! change without its schema changing. [`ADMIN_ROUTES`] lists the routes once more, by hand,
//! and the tests below check the list, the document and the real router against each other.

use super::routes;
use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use std::sync::OnceLock;
use utoipa::{
    Modify, OpenApi, ToResponse,
    openapi::{
        self, Content, Ref, RefOr,
        header::Header,
        response::ResponseBuilder,
        schema::{AdditionalProperties, Object, Schema, Type},
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

/// Where the admin API is mounted (see [`crate::app`]).
pub const BASE: &str = "/admin/v1";

/// Every admin route as (method, path), in the router's path syntax. Kept by hand next to the
/// routers: the tests check that each one is answered by the real router (not 404 or 405) and
/// that the document describes exactly these operations, so neither can drift.
pub const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/v1/openapi.json"),
    ("POST", "/admin/v1/session"),
    ("DELETE", "/admin/v1/session"),
    ("DELETE", "/admin/v1/session/all"),
    ("GET", "/admin/v1/me"),
    ("GET", "/admin/v1/companies"),
    ("POST", "/admin/v1/companies"),
    ("GET", "/admin/v1/companies/{company_id}"),
    ("PATCH", "/admin/v1/companies/{company_id}"),
    ("GET", "/admin/v1/companies/{company_id}/users"),
    ("POST", "/admin/v1/companies/{company_id}/users"),
    ("GET", "/admin/v1/users/{user_id}"),
    ("PATCH", "/admin/v1/users/{user_id}"),
    ("GET", "/admin/v1/catalog"),
    ("GET", "/admin/v1/apps"),
    ("POST", "/admin/v1/apps"),
    ("GET", "/admin/v1/companies/{company_id}/apps"),
    ("GET", "/admin/v1/apps/{app_id}"),
    ("PATCH", "/admin/v1/apps/{app_id}"),
    ("POST", "/admin/v1/apps/{app_id}/secret"),
    ("POST", "/admin/v1/apps/{app_id}/submit"),
    ("POST", "/admin/v1/apps/{app_id}/review"),
    ("PUT", "/admin/v1/apps/{app_id}/visibility"),
    ("PUT", "/admin/v1/apps/{app_id}/resource-server"),
    ("GET", "/admin/v1/review-queue"),
    ("GET", "/admin/v1/companies/{company_id}/enablements"),
    (
        "PUT",
        "/admin/v1/companies/{company_id}/enablements/{app_id}",
    ),
    ("GET", "/admin/v1/companies/{company_id}/connections"),
    ("DELETE", "/admin/v1/companies/{company_id}/connections"),
    (
        "DELETE",
        "/admin/v1/companies/{company_id}/connections/{grant_id}",
    ),
    ("DELETE", "/admin/v1/apps/{app_id}/connections"),
    ("GET", "/admin/v1/me/connections"),
    ("DELETE", "/admin/v1/me/connections/{app_id}"),
    ("GET", "/admin/v1/audit"),
    ("POST", "/admin/v1/companies/{company_id}/request-tokens"),
    ("GET", "/admin/v1/sign-up"),
    ("POST", "/admin/v1/sign-up"),
    ("GET", "/admin/v1/sandbox-requests"),
    ("POST", "/admin/v1/sandbox-requests/{request_id}/decision"),
    ("POST", "/admin/v1/apps/{app_id}/certification"),
    ("GET", "/admin/v1/apps/{app_id}/production"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portico admin API",
        description = "The admin REST API of Portico, an OAuth 2.0 authorization server for \
partner applications: companies, users, partner apps and their review, enablement, connections, \
company request tokens, the audit log and the developer program.\n\n\
Authentication: a session from `POST /admin/v1/session` (or sign-up), sent as \
`Authorization: Bearer <token>`. Browsers may use the `portico_session` cookie instead, and then \
send the session's `csrf_token` in `X-CSRF-Token` on every request that changes something.\n\n\
Errors are `{\"error\", \"message\", \"field\"?}` (schema `Error`). Apps, companies and users \
carry a `version`, answered as a strong `ETag` (`\"3\"`); a write with `If-Match` on an older \
version is refused with 412 and changes nothing. Every answer carries `Cache-Control: no-store`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&BearerSession),
    security(("bearer" = [])),
    components(schemas(crate::error::Body), responses(
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyAttempts,
        Unavailable,
    )),
    tags(
        (name = "session", description = "Sign in, sign out, who am I"),
        (name = "companies", description = "Companies (tenants) and their users"),
        (name = "apps", description = "Partner applications, their review and visibility"),
        (name = "enablements", description = "Enable Partner Application, per company"),
        (name = "connections", description = "Live grants, and Disconnect"),
        (name = "request-tokens", description = "Company request tokens"),
        (name = "audit", description = "The audit log"),
        (name = "developer-program", description = "Sandbox sign-up and certification"),
        (name = "contract", description = "This document"),
    )
)]
struct ApiDoc;

/// The `bearer` scheme: the session token, from `POST /admin/v1/session`.
struct BearerSession;

impl Modify for BearerSession {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some(
            "A session token from `POST /admin/v1/session` (`token`), or the `portico_session` \
             cookie plus `X-CSRF-Token` on writes."
                .into(),
        );
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// serde's `deny_unknown_fields` on the internally tagged decision enums
/// ([`portico_domain::ReviewDecision`], [`portico_domain::SandboxDecision`]) refuses any other
/// member, but utoipa states `additionalProperties: false` only for structs: state it on each
/// variant here (the test `decisions_refuse_unknown_members` holds the two together).
struct ClosedDecisions;

const CLOSED_DECISIONS: [&str; 2] = ["ReviewDecision", "SandboxDecision"];

impl Modify for ClosedDecisions {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let Some(components) = api.components.as_mut() else {
            return;
        };
        for name in CLOSED_DECISIONS {
            if let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(name) {
                for variant in &mut one_of.items {
                    if let RefOr::T(Schema::Object(o)) = variant {
                        o.additional_properties =
                            Some(Box::new(AdditionalProperties::FreeForm(false)));
                    }
                }
            }
        }
    }
}

/// The whole document: the routers' operations under [`BASE`], with the info, security scheme
/// and shared responses above. Built once.
pub fn document() -> &'static openapi::OpenApi {
    static DOC: OnceLock<openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, paths) = routes().split_for_parts();
        let mut doc = ApiDoc::openapi().nest(BASE, paths);
        // After the nesting: the schemas come with the routers' operations.
        ClosedDecisions.modify(&mut doc);
        doc
    })
}

fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_json().expect("the document serializes"))
}

/// This document (public: no session needed).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "contract",
    operation_id = "openapi",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of the admin API", body = Object)),
)]
pub(super) async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document_json(),
    )
        .into_response()
}

/// A header holding a string (or a number of seconds).
fn header(ty: Type, description: &str) -> Header {
    let mut h = Header::new(Object::with_type(ty));
    h.description = Some(description.into());
    h
}

/// Error responses shared by the operations: each is the `Error` body with a status.
macro_rules! error_responses {
    ($($name:ident: $description:literal $(, $header:literal = $ty:ident: $hdesc:literal)*;)*) => {$(
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<openapi::response::Response>) {
                #[allow(unused_mut)]
                let mut b = ResponseBuilder::new().description($description).content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("Error"))),
                );
                $( b = b.header($header, header(Type::$ty, $hdesc)); )*
                (stringify!($name), b.build().into())
            }
        }
    )*};
}

error_responses! {
    BadRequest: "The request is not acceptable: a malformed body or parameter, or a value the \
        server's rules refuse; `field` names it";
    Unauthenticated: "No session, an ended one, or wrong credentials",
        "WWW-Authenticate" = String: "`Bearer realm=\"portico-admin\"`";
    Forbidden: "Signed in, but not allowed to do this (or a cookie-authenticated write without \
        its `X-CSRF-Token`)";
    NotFound: "No such thing, or one the caller may not know of";
    Conflict: "The request conflicts with the current state; `error` says how";
    PreconditionFailed: "`If-Match` names a version that is not the current one: nothing was \
        changed (`field`: `If-Match`)";
    PayloadTooLarge: "The body is larger than the server accepts";
    UnsupportedMediaType: "The body is not declared `application/json`";
    TooManyAttempts: "Too many attempts from this network or for this account",
        "Retry-After" = Integer: "Seconds to wait";
    Unavailable: "The server cannot take the work now (its password hashing is saturated); \
        nothing was done",
        "Retry-After" = Integer: "Seconds to wait";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn operations() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(document()).unwrap();
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
        ops
    }

    #[test]
    fn decisions_refuse_unknown_members() {
        let doc = serde_json::to_value(document()).unwrap();
        for name in CLOSED_DECISIONS {
            for variant in doc["components"]["schemas"][name]["oneOf"]
                .as_array()
                .unwrap()
            {
                assert_eq!(variant["additionalProperties"], false, "{name}");
            }
        }
        let extra = br#"{"decision": "approve", "x": 1}"#;
        assert!(crate::extract::parse_json::<portico_domain::ReviewDecision>(extra).is_err());
        assert!(crate::extract::parse_json::<portico_domain::SandboxDecision>(extra).is_err());
    }

    /// Every admin route goes through `routes!`, so it is described: a plain `.route(` would
    /// serve an operation the document does not know.
    #[test]
    fn every_admin_route_is_registered_with_its_description() {
        for (file, source) in [
            ("apps.rs", include_str!("apps.rs")),
            ("audit.rs", include_str!("audit.rs")),
            ("companies.rs", include_str!("companies.rs")),
            ("connections.rs", include_str!("connections.rs")),
            ("developer.rs", include_str!("developer.rs")),
            ("enablements.rs", include_str!("enablements.rs")),
            ("mod.rs", include_str!("mod.rs")),
            ("request_tokens.rs", include_str!("request_tokens.rs")),
            ("sessions.rs", include_str!("sessions.rs")),
        ] {
            assert!(
                !source.contains(concat!(".route", "(")),
                "{file} registers a route without its description; use .routes(routes!(handler))"
            );
        }
    }

    #[test]
    fn document_describes_exactly_the_listed_routes() {
        let listed: BTreeSet<(String, String)> = ADMIN_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(listed.len(), ADMIN_ROUTES.len(), "a route is listed twice");
        let described = operations();
        let missing: Vec<_> = listed.difference(&described).collect();
        let unlisted: Vec<_> = described.difference(&listed).collect();
        assert!(
            missing.is_empty() && unlisted.is_empty(),
            "listed but not described: {missing:?}; described but not listed: {unlisted:?}"
        );
    }

    /// `PORTICO_OPENAPI_OUT=<file> cargo test -p portico-http document_is_openapi` writes the
    /// document out, to read it without a server.
    #[test]
    fn document_is_openapi_3_1_with_the_bearer_scheme() {
        if let Some(out) = std::env::var_os("PORTICO_OPENAPI_OUT") {
            std::fs::write(out, document().to_pretty_json().unwrap()).unwrap();
        }
        let doc = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert!(doc["components"]["schemas"]["Error"].is_object());
        // Every $ref resolves within the document.
        let text = document_json();
        let mut rest = text;
        while let Some(at) = rest.find("\"$ref\":\"#/components/") {
            let tail = &rest[at + "\"$ref\":\"#/components/".len()..];
            let end = tail.find('"').unwrap();
            let (kind, name) = tail[..end].split_once('/').unwrap();
            assert!(
                doc["components"][kind][name].is_object(),
                "unresolved $ref {kind}/{name}"
            );
            rest = &tail[end..];
        }
    }
}
