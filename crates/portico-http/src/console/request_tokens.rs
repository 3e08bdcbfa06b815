//! Company Request Token: a company admin picks an app enabled for the company and generates a
//! token the app exchanges for a company-level connection; the company id and the token are
//! shown once.

use super::{
    apps::app_id,
    error::{ConsoleResult, OrForm},
    session::{Console, CsrfForm},
    templates::Page,
};
use crate::AppState;
use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use minijinja::context;
use portico_domain::DomainError;

/// The form: the company's enabled apps to choose from.
async fn form(s: &AppState, cx: &Console, chosen: Option<&str>) -> ConsoleResult<Page> {
    let apps: Vec<_> = s
        .registry
        .available_apps(&cx.actor, cx.actor.company_id())
        .await?
        .into_iter()
        .filter(|a| a.enabled)
        .map(|a| context! { id => a.app_id.to_string(), name => a.name })
        .collect();
    Ok(cx.page(
        "request_token.html",
        context! {
            nav => "request_tokens",
            apps => apps,
            company_id => cx.actor.company_id().to_string(),
            chosen => chosen,
        },
    ))
}

pub async fn show(State(s): State<AppState>, cx: Console) -> ConsoleResult<Page> {
    form(&s, &cx, None).await
}

pub async fn generate(
    State(s): State<AppState>,
    cx: Console,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let chosen = f.get("app_id").unwrap_or_default();
    let again = form(&s, &cx, Some(chosen)).await?;
    let app = match app_id(chosen) {
        Ok(id) => id,
        Err(_) => {
            return Err(DomainError::invalid("app_id", "choose an application")).or_form(|| again);
        }
    };
    let issued = s
        .registry
        .create_request_token(&cx.actor, cx.actor.company_id(), app)
        .await
        .or_form(|| again)?;
    let page = cx.page(
        "request_token.html",
        context! {
            nav => "request_tokens",
            issued => context! {
                company_id => issued.company_id.to_string(),
                app_id => issued.app_id.to_string(),
                request_token => issued.request_token.expose(),
                expires_at => issued.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            },
        },
    );
    // The token is shown in this response only: never cached, never shown by a GET.
    let mut resp = page.into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
