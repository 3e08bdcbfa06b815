//! Sample resource server: an expense and travel-profile API protected by Portico tokens.
//!
//! ```text
//! PORTICO_ISSUER=http://127.0.0.1:8080 cargo run -p portico-verify --example expense_api
//! ```
//!
//! Environment: `PORTICO_ISSUER` (required), `PORTICO_AUDIENCE` (default `urn:portico:api`),
//! `BIND` (default `127.0.0.1:8090`), optionally `PORTICO_INTROSPECT_CLIENT_ID` with
//! `PORTICO_INTROSPECT_CLIENT_SECRET` to introspect every token, and optionally
//! `PORTICO_FEED_CLIENT_ID` with `PORTICO_FEED_CLIENT_SECRET` to follow the revocation feed
//! (`PORTICO_FEED_WHEN_DOWN`: `introspect`, the default, or `accept`). With the feed,
//! `GET /health` answers its status as JSON.
//!
//! DPoP (RFC 9449): `PUBLIC_URL` (the API's external base URL, e.g. `https://api.example.com`)
//! accepts DPoP-bound tokens and adds `GET /travel/passport`, which only a DPoP-bound token
//! with `travel.profile.passport` may read. `DPOP_REQUIRED=true` refuses bearer tokens on
//! every route; `DPOP_NONCE_SECRET` (at least 32 bytes, the same on every instance) requires
//! server nonces.
//!
//! The integration tests mount this file as a module and call [`app`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_verify::{
    AccessToken, DEFAULT_AUDIENCE, DpopConfig, FeedDown, IntrospectionConfig, RequireDpop,
    RequireScope, RevocationFeedConfig, Scoped, Verifier,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

portico_verify::scope!(pub TravelProfileRead = "travel.profile.read");

/// The API's routes, each guarded by its scope.
pub fn app(verifier: Verifier) -> Router {
    let mut router = Router::new();
    if verifier.accepts_dpop() {
        // Passport data only for sender-constrained tokens: a stolen token alone is useless
        // without the client's private key. RequireDpop goes last, so it runs first.
        router = router.route(
            "/travel/passport",
            get(passport)
                .route_layer(RequireScope::new("travel.profile.passport"))
                .route_layer(RequireDpop),
        );
    }
    router
        // Route-level guard: the handler only runs with `expense.report.read`.
        .route(
            "/expense/reports",
            get(list_reports).route_layer(RequireScope::new("expense.report.read")),
        )
        .route(
            "/quickexpense",
            post(create_quick_expense).route_layer(RequireScope::new("quickexpense.writeonly")),
        )
        // Type-level guard: the `Scoped<TravelProfileRead>` extractor checks the scope.
        .route("/travel/profile", get(travel_profile))
        .route("/health", {
            let verifier = verifier.clone();
            get(move || health(verifier.clone()))
        })
        .with_state(Arc::new(QuickExpenses::default()))
        .layer(verifier.layer())
}

/// Open. Plain `ok`, or with the revocation feed its status as JSON: `degraded` while the
/// feed is down. Still 200 then, since the down policy keeps the API correct (introspecting
/// or accepting until expiry), so a readiness probe should not take every instance out.
async fn health(verifier: Verifier) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(feed) = verifier.revocation_feed_status() else {
        return "ok".into_response();
    };
    let body = json!({
        "status": if feed.up { "ok" } else { "degraded" },
        "revocation_feed": {
            "up": feed.up,
            "last_event_id": feed.last_event_id,
            "last_message_age_ms": feed
                .last_message_age
                .map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX)),
            "when_down": format!("{:?}", feed.when_down),
            "last_error": feed.last_error,
        },
    });
    Json(body).into_response()
}

async fn list_reports(token: AccessToken) -> Json<Value> {
    Json(json!({
        "company_id": token.company_id(),
        "owner": token.subject(),
        "reports": [
            { "id": "RPT-1001", "name": "Customer visit Lyon", "total": 412.80, "currency": "EUR", "status": "submitted" },
            { "id": "RPT-1002", "name": "Team offsite", "total": 1290.00, "currency": "USD", "status": "approved" },
        ],
    }))
}

#[derive(Default)]
struct QuickExpenses {
    next_id: AtomicU64,
    items: Mutex<Vec<QuickExpense>>,
}

#[derive(Debug, Deserialize)]
struct NewQuickExpense {
    amount: f64,
    currency: String,
    vendor: String,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct QuickExpense {
    id: String,
    owner: String,
    company_id: Option<String>,
    amount: f64,
    currency: String,
    vendor: String,
    comment: Option<String>,
}

async fn create_quick_expense(
    State(store): State<Arc<QuickExpenses>>,
    token: AccessToken,
    Json(input): Json<NewQuickExpense>,
) -> Result<(StatusCode, Json<QuickExpense>), (StatusCode, Json<Value>)> {
    let valid_amount = input.amount.is_finite() && input.amount > 0.0;
    let valid_currency =
        input.currency.len() == 3 && input.currency.bytes().all(|b| b.is_ascii_uppercase());
    if !valid_amount || !valid_currency {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "invalid_expense",
                "error_description": "amount must be positive and currency an ISO 4217 code",
            })),
        ));
    }
    let expense = QuickExpense {
        id: format!("QE-{}", store.next_id.fetch_add(1, Ordering::Relaxed) + 1),
        owner: token.subject().to_owned(),
        company_id: token.company_id().map(str::to_owned),
        amount: input.amount,
        currency: input.currency,
        vendor: input.vendor,
        comment: input.comment,
    };
    store
        .items
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(expense.clone());
    Ok((StatusCode::CREATED, Json(expense)))
}

/// Each sensitive section of the profile with the data group that unlocks it.
fn sensitive_sections() -> [(&'static str, &'static str, Value); 7] {
    [
        (
            "travel.profile.passport",
            "passport",
            json!({
                "number": "X1234567", "country": "FR", "expires": "2031-04-30",
            }),
        ),
        (
            "travel.profile.medical",
            "medical_alerts",
            json!(["Peanut allergy"]),
        ),
        (
            "travel.profile.emergency",
            "emergency_contact",
            json!({
                "name": "Camille Martin", "relationship": "Spouse", "phone": "+33 6 12 34 56 78",
            }),
        ),
        (
            "travel.profile.company",
            "company_details",
            json!({
                "employee_id": "E-20417", "cost_center": "CC-310", "department": "Sales EMEA",
            }),
        ),
        (
            "travel.profile.tsa",
            "tsa_info",
            json!({
                "known_traveler_number": "KTN998877", "redress_number": null,
            }),
        ),
        (
            "travel.profile.unusedtickets",
            "unused_tickets",
            json!([
                { "ticket": "057-2400012345", "carrier": "AF", "value": 318.40, "currency": "EUR" },
            ]),
        ),
        (
            "travel.profile.tmc",
            "tmc_specific",
            json!({
                "agency": "Northwind Travel", "profile_code": "NW-5521",
            }),
        ),
    ]
}

async fn passport(token: AccessToken) -> Json<Value> {
    let passport = sensitive_sections()
        .into_iter()
        .find_map(|(group, _, data)| (group == "travel.profile.passport").then_some(data));
    Json(json!({
        "user_id": token.subject(),
        // RequireDpop let the request in: the token is bound and came with a valid proof.
        "dpop_jkt": token.dpop_jkt(),
        "passport": passport,
    }))
}

/// The profile always has the basic fields; each sensitive section is left out unless the
/// token carries its sensitive data group.
async fn travel_profile(token: Scoped<TravelProfileRead>) -> Json<Value> {
    let mut profile = Map::new();
    profile.insert("user_id".into(), json!(token.subject()));
    profile.insert("company_id".into(), json!(token.company_id()));
    profile.insert("name".into(), json!({ "first": "Alex", "last": "Martin" }));
    profile.insert("email".into(), json!("alex.martin@example.com"));
    profile.insert(
        "preferences".into(),
        json!({ "seat": "aisle", "meal": "vegetarian" }),
    );
    for (group, section, data) in sensitive_sections() {
        if token.sensitive_data_groups().contains(group) {
            profile.insert(section.into(), data);
        }
    }
    Json(Value::Object(profile))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("expense_api: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let issuer = env("PORTICO_ISSUER").ok_or("PORTICO_ISSUER is required")?;
    let audience = env("PORTICO_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
    let bind = env("BIND").unwrap_or_else(|| "127.0.0.1:8090".to_owned());

    let mut builder = Verifier::builder(issuer).audience(audience);
    match (
        env("PORTICO_INTROSPECT_CLIENT_ID"),
        env("PORTICO_INTROSPECT_CLIENT_SECRET"),
    ) {
        (Some(id), Some(secret)) => {
            builder = builder.introspection(IntrospectionConfig::new(id, secret));
        }
        (None, None) => {}
        _ => {
            return Err("set both PORTICO_INTROSPECT_CLIENT_ID and \
                        PORTICO_INTROSPECT_CLIENT_SECRET, or neither"
                .into());
        }
    }
    match (
        env("PORTICO_FEED_CLIENT_ID"),
        env("PORTICO_FEED_CLIENT_SECRET"),
    ) {
        (Some(id), Some(secret)) => {
            let when_down = match env("PORTICO_FEED_WHEN_DOWN").as_deref() {
                None | Some("introspect") => FeedDown::Introspect,
                Some("accept") => FeedDown::AcceptUntilExpiry,
                Some(_) => return Err("PORTICO_FEED_WHEN_DOWN is introspect or accept".into()),
            };
            builder =
                builder.revocation_feed(RevocationFeedConfig::new(id, secret).when_down(when_down));
        }
        (None, None) => {}
        _ => {
            return Err(
                "set both PORTICO_FEED_CLIENT_ID and PORTICO_FEED_CLIENT_SECRET, \
                        or neither"
                    .into(),
            );
        }
    }
    if let Some(public_url) = env("PUBLIC_URL") {
        let mut dpop = DpopConfig::new(public_url)
            .required(env("DPOP_REQUIRED").is_some_and(|v| v == "true" || v == "1"));
        if let Some(secret) = env("DPOP_NONCE_SECRET") {
            dpop = dpop.nonce_secret(secret.into_bytes());
        }
        builder = builder.dpop(dpop);
    } else if env("DPOP_REQUIRED").is_some() || env("DPOP_NONCE_SECRET").is_some() {
        return Err("DPOP_REQUIRED and DPOP_NONCE_SECRET need PUBLIC_URL".into());
    }
    let verifier = builder.build().await?;

    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!(
        "expense API on http://{} (introspection: {}, DPoP: {}, revocation feed: {})",
        listener.local_addr()?,
        verifier.introspects(),
        match (verifier.accepts_dpop(), verifier.requires_dpop()) {
            (false, _) => "off",
            (true, false) => "accepted",
            (true, true) => "required",
        },
        match verifier.revocation_feed_status() {
            None => "off",
            Some(status) if status.up => "up",
            Some(_) => "down",
        }
    );
    axum::serve(listener, app(verifier)).await?;
    Ok(())
}
