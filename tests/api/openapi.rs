//! The admin API's OpenAPI contract as the server serves it at `/admin/v1/openapi.json`: an
//! OpenAPI 3.1 document with the bearer scheme and the error shape, describing exactly the
//! admin routes (`portico_http::admin::ADMIN_ROUTES`), each of which the real server routes.
//! `tests/contract/run.sh` runs schemathesis against it.

use crate::both_backends;
use crate::helpers::*;
use portico_http::admin::ADMIN_ROUTES;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `#/components/<kind>/<name>` in `doc`, or a panic naming the reference.
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let (kind, name) = reference
        .strip_prefix("#/components/")
        .and_then(|r| r.split_once('/'))
        .unwrap_or_else(|| panic!("not a component reference: {reference}"));
    let target = &doc["components"][kind][name];
    assert!(target.is_object(), "unresolved reference {reference}");
    target
}

/// Every `$ref` in `value`.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

async fn openapi_document(backend: Backend) {
    let app = spawn_app(backend).await;

    // Public, JSON, never cached.
    let resp = app
        .client
        .get(app.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let doc: Value = resp.json().await.unwrap();

    // OpenAPI 3.1, structurally: the version, info, paths, components.
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");

    // The authentication scheme: a bearer session token, required unless an operation says not.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["type"],
        "http"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));

    // The error shape: {"error", "message", "field"?}.
    let error = &schemas["Error"];
    assert_eq!(error["type"], "object");
    let mut required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["error", "message"]);
    for member in ["error", "message", "field"] {
        assert!(error["properties"][member].is_object(), "Error.{member}");
    }

    // Every reference resolves.
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        resolve(&doc, r);
    }

    // Every operation: a unique operationId, a 2xx answer, and every 4xx answer the error
    // shape; a body for every write that takes one; parameters for every `{...}` in its path.
    let mut described = BTreeSet::new();
    let mut operation_ids = BTreeMap::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            described.insert((method.to_uppercase(), path.clone()));
            let id = op["operationId"].as_str().expect("operationId");
            assert!(
                operation_ids.insert(id.to_owned(), path.clone()).is_none(),
                "operationId {id} twice"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no success answer"
            );
            for (status, response) in responses {
                if !status.starts_with('4') {
                    continue;
                }
                let response = match response["$ref"].as_str() {
                    Some(r) => resolve(&doc, r),
                    None => response,
                };
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} {status}"
                );
            }
            let params: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(params, in_path, "{method} {path}: path parameters");
        }
    }

    // Exactly the admin routes.
    let listed: BTreeSet<(String, String)> = ADMIN_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = listed.difference(&described).collect();
    let unlisted: Vec<_> = described.difference(&listed).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "routes not in the document: {missing:?}; operations not among the routes: {unlisted:?}"
    );

    // And the real server routes each of them: with no session, every one is answered by its
    // handler (401, or what a public one says to an empty request), never 404 or 405.
    for (method, path) in ADMIN_ROUTES {
        let concrete: String = path
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "00000000-0000-0000-0000-000000000000"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let resp = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&concrete),
            )
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status}"
        );
        let secured = doc["paths"][*path][method.to_lowercase()]
            .get("security")
            .is_none();
        if secured {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
}

both_backends!(openapi_document);
