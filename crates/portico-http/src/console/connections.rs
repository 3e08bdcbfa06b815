//! Connections: an admin's page of who is connected to which app at the company (with
//! Disconnect for one connection, a user's or an app's), and every user's page of the apps
//! connected to them.

use super::{
    apps::app_id,
    error::{ConsoleError, ConsoleResult},
    session::{Console, CsrfForm},
    templates::Page,
    views::time,
};
use crate::AppState;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::{Value, context};
use portico_registry::{ConnectionView, DisconnectTarget};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    app: Option<String>,
    done: Option<u64>,
}

fn row(c: &ConnectionView) -> Value {
    context! {
        grant_id => &c.grant_id,
        app_id => c.app_id.to_string(),
        app_name => &c.app_name,
        user_id => c.user_id.map(|u| u.to_string()),
        who => c.user_login.clone().unwrap_or_else(|| "Company connection".into()),
        company => c.user_id.is_none(),
        scopes => &c.scopes,
        groups => &c.sensitive_data_groups,
        created => time(&c.created_at),
        last_used => time(&c.last_used_at),
        expires => time(&c.expires_at),
    }
}

fn notice(done: Option<u64>) -> Option<String> {
    done.map(|n| match n {
        1 => "1 connection was disconnected.".to_owned(),
        n => format!("{n} connections were disconnected."),
    })
}

/// The company's connections, optionally of one app.
pub async fn list(
    State(s): State<AppState>,
    cx: Console,
    Query(q): Query<ListQuery>,
) -> ConsoleResult<Page> {
    let app = match q.app.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(app_id(a)?),
        None => None,
    };
    let company = cx.actor.company_id();
    let all = s
        .registry
        .connections(&cx.actor, company, None, None)
        .await?;
    // The filter's choices: every app connected here.
    let mut apps: Vec<(String, String)> = all
        .iter()
        .map(|c| (c.app_id.to_string(), c.app_name.clone()))
        .collect();
    apps.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    apps.dedup();
    let shown: Vec<Value> = all
        .iter()
        .filter(|c| app.is_none_or(|a| c.app_id == a))
        .map(row)
        .collect();
    Ok(cx.page(
        "connections.html",
        context! {
            nav => "connections",
            connections => shown,
            apps => apps.iter().map(|(id, name)| context! { id => id, name => name }).collect::<Vec<_>>(),
            selected => app.map(|a| a.to_string()),
            notice => notice(q.done),
        },
    ))
}

/// Disconnect: `grant` (one connection), `user` (all of a user's) or `app` (all of an app's).
pub async fn disconnect(
    State(s): State<AppState>,
    cx: Console,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let target = match (f.get("grant"), f.get("user"), f.get("app")) {
        (Some(g), None, None) if !g.is_empty() => DisconnectTarget::Grant(g.to_owned()),
        (None, Some(u), None) => DisconnectTarget::User(
            u.parse()
                .map_err(|_| ConsoleError::BadRequest("that is not a user".into()))?,
        ),
        (None, None, Some(a)) => DisconnectTarget::App(app_id(a)?),
        _ => {
            return Err(ConsoleError::BadRequest(
                "choose one connection, a user or an application to disconnect".into(),
            ));
        }
    };
    let done = s
        .registry
        .disconnect(&cx.actor, cx.actor.company_id(), target)
        .await?;
    Ok(Redirect::to(&format!("/admin/connections?done={}", done.grants_revoked)).into_response())
}

/// The apps connected to the signed-in user.
pub async fn mine(
    State(s): State<AppState>,
    cx: Console,
    Query(q): Query<ListQuery>,
) -> ConsoleResult<Page> {
    let rows: Vec<Value> = s
        .registry
        .my_connections(&cx.actor)
        .await?
        .iter()
        .map(row)
        .collect();
    Ok(cx.page(
        "my_connections.html",
        context! { connections => rows, notice => notice(q.done) },
    ))
}

pub async fn disconnect_mine(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&id)?;
    let done = s.registry.disconnect_mine(&cx.actor, id).await?;
    Ok(Redirect::to(&format!(
        "/admin/my-connections?done={}",
        done.grants_revoked
    ))
    .into_response())
}
