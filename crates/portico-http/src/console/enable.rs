//! Enable Partner Application: the apps available to the company, each with its state and an
//! Enable or Disable button.

use super::{
    Done,
    apps::app_id,
    error::{ConsoleError, ConsoleResult},
    session::{Console, CsrfForm},
    templates::Page,
    views::visibility_label,
};
use crate::AppState;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;
use portico_domain::DomainError;

async fn page(s: &AppState, cx: &Console, done: &Done) -> ConsoleResult<Page> {
    let apps = s
        .registry
        .available_apps(&cx.actor, cx.actor.company_id())
        .await?;
    let rows: Vec<_> = apps
        .iter()
        .map(|a| {
            context! {
                id => a.app_id.to_string(),
                name => &a.name,
                description => &a.description,
                visibility => visibility_label(a.visibility),
                own => a.owner_company_id == cx.actor.company_id(),
                enabled => a.enabled,
            }
        })
        .collect();
    // "<name> is now enabled": the app the last POST changed, when it is listed.
    let changed = done
        .app
        .as_deref()
        .and_then(|id| apps.iter().find(|a| a.app_id.to_string() == id));
    let notice = match (changed, done.notice()) {
        (Some(app), Some(_)) if app.enabled => {
            Some(format!("{} is now enabled for your company.", app.name))
        }
        (Some(app), Some(_)) => Some(format!("{} is now disabled for your company.", app.name)),
        (None, notice) => notice.map(str::to_owned),
        (Some(_), None) => None,
    };
    Ok(cx.page(
        "enable.html",
        context! { nav => "enable", apps => rows, notice => notice },
    ))
}

pub async fn list(
    State(s): State<AppState>,
    cx: Console,
    Query(done): Query<Done>,
) -> ConsoleResult<Page> {
    page(&s, &cx, &done).await
}

pub async fn set(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&id)?;
    let enabled = match f.get("enabled") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(ConsoleError::BadRequest("choose Enable or Disable".into())),
    };
    match s
        .registry
        .set_enabled(&cx.actor, cx.actor.company_id(), id, enabled)
        .await
    {
        Ok(_) => {
            let done = if enabled { "enabled" } else { "disabled" };
            Ok(Redirect::to(&format!("/admin/enable?done={done}&app={id}")).into_response())
        }
        Err(e @ (DomainError::Conflict { .. } | DomainError::Invalid { .. })) => Err(
            ConsoleError::on_form(e, page(&s, &cx, &Done::default()).await?),
        ),
        Err(e) => Err(e.into()),
    }
}
