//! The review queue (staff): apps waiting for review with the APIs and sensitive data groups
//! they ask for; approve (then certify, on the app's page), or reject with a reason.

use super::{
    Done,
    apps::app_id,
    error::{ConsoleError, ConsoleResult},
    session::{Console, CsrfForm},
    templates::Page,
    views::AppView,
};
use crate::AppState;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;
use portico_domain::{DomainError, IfVersion, ReviewDecision, ReviewStatus};
use std::collections::HashMap;

/// The queue; `failed` is the app whose decision failed, with what was typed for it.
async fn page(
    s: &AppState,
    cx: &Console,
    done: &Done,
    failed: Option<(&str, &str, &str)>,
) -> ConsoleResult<Page> {
    let queue = s.registry.review_queue(&cx.actor).await?;
    let companies: HashMap<String, String> = s
        .registry
        .companies(&cx.actor)
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    let catalog = s.registry.catalog();
    let apps: Vec<_> = queue
        .iter()
        .map(|a| {
            context! {
                company => companies.get(&a.company_id.to_string()),
                ..minijinja::Value::from_serialize(AppView::new(a, catalog))
            }
        })
        .collect();
    // The app the last decision was about, to link to (it is certified on its page).
    let decided = match done.app.as_deref().map(app_id) {
        Some(Ok(id)) => s.registry.app(&cx.actor, id).await.ok().map(|a| {
            context! {
                id => a.id.to_string(),
                approved => a.review.status == ReviewStatus::Approved,
                name => a.spec.name,
            }
        }),
        _ => None,
    };
    Ok(cx.page(
        "review.html",
        context! {
            nav => "review",
            apps => apps,
            notice => done.notice(),
            decided => decided,
            failed => failed.map(|(id, decision, reason)| context! { id, decision, reason }),
        },
    ))
}

pub async fn queue(
    State(s): State<AppState>,
    cx: Console,
    Query(done): Query<Done>,
) -> ConsoleResult<Page> {
    page(&s, &cx, &done, None).await
}

pub async fn decide(
    State(s): State<AppState>,
    cx: Console,
    Path(raw_id): Path<String>,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&raw_id)?;
    let reason = f.get("reason").unwrap_or_default();
    let decision_name = f.get("decision").unwrap_or_default();
    let decision = match decision_name {
        "approve" => ReviewDecision::Approve {
            reason: Some(reason.to_owned()).filter(|r| !r.trim().is_empty()),
        },
        "reject" => ReviewDecision::Reject {
            reason: reason.to_owned(),
        },
        _ => return Err(ConsoleError::BadRequest("choose Approve or Reject".into())),
    };
    match s
        .registry
        .review_app(&cx.actor, id, decision, &IfVersion::Any)
        .await
    {
        Ok(app) => {
            let done = app.review.status.as_str();
            Ok(Redirect::to(&format!("/admin/review?done={done}&app={id}")).into_response())
        }
        Err(e @ (DomainError::Invalid { .. } | DomainError::Conflict { .. })) => {
            let failed = Some((raw_id.as_str(), decision_name, reason));
            Err(ConsoleError::on_form(
                e,
                page(&s, &cx, &Done::default(), failed).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
