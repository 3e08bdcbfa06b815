//! Register Partner Application: Application Registration (the company's apps), New and
//! Modify Partner Application, the app page (Application Authorization, review, the
//! production registration of a sandbox app, and for staff certification and visibility),
//! New Secret, and Submit for review.

use super::{
    Done,
    error::{ConsoleError, ConsoleResult, OrForm},
    forms::AppForm,
    session::{Console, CsrfForm},
    templates::Page,
    views::{
        AppView, api_options, auth_method_options, grant_options, scope_title, visibility_label,
    },
};
use crate::AppState;
use axum::{
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;
use portico_domain::{
    AppId, DomainError, DomainResult, IfVersion, PartnerApp, ReviewStatus, Visibility,
};
use portico_registry::RegisteredApp;

/// An app id from the path; anything else is an app that does not exist.
pub fn app_id(raw: &str) -> ConsoleResult<AppId> {
    raw.parse()
        .map_err(|_| DomainError::not_found("application").into())
}

pub async fn list(
    State(s): State<AppState>,
    cx: Console,
    Query(done): Query<Done>,
) -> ConsoleResult<Page> {
    let apps = s.registry.apps(&cx.actor, cx.actor.company_id()).await?;
    let catalog = s.registry.catalog();
    let apps: Vec<AppView> = apps.iter().map(|a| AppView::new(a, catalog)).collect();
    Ok(cx.page(
        "apps.html",
        context! { nav => "apps", apps => apps, notice => done.notice() },
    ))
}

/// The New or Modify Partner Application form, showing `form` as the user left it.
fn form_page(s: &AppState, cx: &Console, app: Option<&PartnerApp>, form: &AppForm) -> Page {
    let catalog = s.registry.catalog();
    cx.page(
        "app_form.html",
        context! {
            nav => "apps",
            app => app.map(|a| AppView::new(a, catalog)),
            company_domain => &cx.actor.company.domain,
            visibility_label => visibility_label(app.map_or(Visibility::Private, |a| a.visibility)),
            form => form,
            apis => api_options(catalog, form),
            grant_types => grant_options(form),
            auth_methods => auth_method_options(form),
            action => app.map_or_else(|| "/admin/apps".to_owned(), |a| format!("/admin/apps/{}/edit", a.id)),
        },
    )
}

pub async fn new_form(State(s): State<AppState>, cx: Console) -> ConsoleResult<Page> {
    // Only a Development Partner's web services admin registers apps: say so before the form.
    cx.actor.require_app_developer()?;
    Ok(form_page(&s, &cx, None, &AppForm::blank()))
}

pub async fn register(
    State(s): State<AppState>,
    cx: Console,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let form = AppForm::parse(&f);
    let again = || form_page(&s, &cx, None, &form);
    let registration = form.registration().or_form(again)?;
    let registered = s
        .registry
        .register_app(&cx.actor, registration)
        .await
        .or_form(again)?;
    Ok(secret_page(&s, &cx, &registered, None))
}

/// Application Authorization with the Secret, shown this once: only ever in the response to
/// the POST that made it, never cached.
fn secret_page(
    s: &AppState,
    cx: &Console,
    registered: &RegisteredApp,
    grace_seconds: Option<u64>,
) -> Response {
    let app = &registered.app;
    let page = cx.page(
        "app_secret.html",
        context! {
            nav => "apps",
            app => AppView::new(app, s.registry.catalog()),
            company_domain => &registered.company_domain,
            client_id => &registered.client_id,
            client_secret => registered.client_secret.as_ref().map(|s| s.expose()),
            new_secret => grace_seconds.is_some(),
            grace_seconds => grace_seconds,
            can_submit => cx.actor.company.development_partner
                && app.submit_for_review(chrono::Utc::now()).is_ok(),
        },
    );
    let mut resp = page.into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The app page: its settings, Application Authorization without the secret, its review, and
/// for staff the visibility control (production registrations) or the certification (an
/// approved sandbox app). A sandbox app shows its production registration beside it; a
/// production registration names the sandbox app it was certified from.
async fn app_page(s: &AppState, cx: &Console, app: &PartnerApp) -> ConsoleResult<Page> {
    let catalog = s.registry.catalog();
    let owned = app.company_id == cx.actor.company_id();
    let owner = if owned {
        cx.actor.company.clone()
    } else {
        s.registry.company(&cx.actor, app.company_id).await?
    };
    let visibilities: Vec<_> = [Visibility::Private, Visibility::Public, Visibility::Global]
        .iter()
        .map(|v| {
            context! {
                value => v.as_str(),
                label => visibility_label(*v),
                selected => *v == app.visibility,
            }
        })
        .collect();
    let production = match app.is_production() {
        true => None,
        false => s.registry.production_of(&cx.actor, app.id).await?,
    };
    // The sandbox app, when whoever looks may see it (another company sees only production).
    let sandbox = match app.certified_from {
        Some(id) => s.registry.app(&cx.actor, id).await.ok(),
        None => None,
    };
    // APIs the sandbox app asks for now that its production registration was not certified
    // for (they need a review and a new certification).
    let uncertified: Vec<String> = production
        .as_ref()
        .map(|p| {
            app.registered_scopes()
                .difference(&p.registered_scopes())
                .map(|scope| scope_title(catalog, scope))
                .collect()
        })
        .unwrap_or_default();
    let certify_visibilities: Vec<_> = [Visibility::Public, Visibility::Global]
        .iter()
        .map(|v| {
            let current = production
                .as_ref()
                .map_or(Visibility::Public, |p| p.visibility);
            context! {
                value => v.as_str(),
                label => visibility_label(*v),
                selected => *v == current,
            }
        })
        .collect();
    Ok(cx.page(
        "app.html",
        context! {
            nav => "apps",
            app => AppView::new(app, catalog),
            owned => owned,
            owner_name => owner.name,
            company_domain => owner.domain,
            own_use => !owner.development_partner,
            // An own-use app (a client company's) is never submitted.
            can_submit => owned
                && owner.development_partner
                && app.submit_for_review(chrono::Utc::now()).is_ok(),
            visibilities => visibilities,
            can_certify => cx.actor.is_staff()
                && !app.is_production()
                && owner.development_partner
                && app.review.status == ReviewStatus::Approved,
            certify_visibilities => certify_visibilities,
            production => production.as_ref().map(|p| AppView::new(p, catalog)),
            uncertified => uncertified,
            sandbox => sandbox.map(|a| context! { id => a.id.to_string(), name => a.spec.name }),
        },
    ))
}

/// Shows a failed action's error on the app page.
async fn or_app_page<T>(
    result: DomainResult<T>,
    s: &AppState,
    cx: &Console,
    id: AppId,
) -> ConsoleResult<T> {
    match result {
        Ok(v) => Ok(v),
        Err(e @ (DomainError::Invalid { .. } | DomainError::Conflict { .. })) => {
            let app = s.registry.app(&cx.actor, id).await?;
            Err(ConsoleError::on_form(e, app_page(s, cx, &app).await?))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn show(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> ConsoleResult<Page> {
    let app = s.registry.app(&cx.actor, app_id(&id)?).await?;
    Ok(app_page(&s, &cx, &app)
        .await?
        .with(context! { notice => done.notice() }))
}

pub async fn edit_form(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
) -> ConsoleResult<Page> {
    let app = s.registry.app_to_change(&cx.actor, app_id(&id)?).await?;
    Ok(form_page(&s, &cx, Some(&app), &AppForm::modify(&app)))
}

pub async fn modify(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&id)?;
    let app = s.registry.app(&cx.actor, id).await?;
    let form = AppForm::parse(&f);
    let again = || form_page(&s, &cx, Some(&app), &form);
    let changes = form.changes().or_form(again)?;
    s.registry
        .modify_app(&cx.actor, id, changes, &form.precondition())
        .await
        .or_form(again)?;
    Ok(Redirect::to(&format!("/admin/apps/{id}?done=modified")).into_response())
}

/// The New Secret confirmation; for an app that authenticates with its keys only, why it has
/// no secret to renew instead (the registry refuses one: `keys_only`).
fn new_secret_page(cx: &Console, app: &PartnerApp, grace: &str) -> Page {
    cx.page(
        "new_secret.html",
        context! {
            nav => "apps",
            app => context! { id => app.id.to_string(), name => &app.spec.name },
            grace_seconds => grace,
            keys_only => !app.spec.security.uses_secret(),
        },
    )
}

pub async fn new_secret_form(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
) -> ConsoleResult<Page> {
    let app = s.registry.app_to_change(&cx.actor, app_id(&id)?).await?;
    Ok(new_secret_page(&cx, &app, "0"))
}

pub async fn new_secret(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&id)?;
    let app = s.registry.app(&cx.actor, id).await?;
    let raw = f.get("grace_seconds").unwrap_or_default().trim();
    let again = || new_secret_page(&cx, &app, raw);
    let grace = if raw.is_empty() {
        Ok(0)
    } else {
        raw.parse::<u64>().map_err(|_| {
            DomainError::invalid(
                "grace_seconds",
                "enter a whole number of seconds (0 or more)",
            )
        })
    }
    .or_form(again)?;
    let registered = s
        .registry
        .new_secret(&cx.actor, id, grace, &IfVersion::Any)
        .await
        .or_form(again)?;
    Ok(secret_page(&s, &cx, &registered, Some(grace)))
}

pub async fn submit(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&id)?;
    or_app_page(
        s.registry
            .submit_for_review(&cx.actor, id, &IfVersion::Any)
            .await,
        &s,
        &cx,
        id,
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/apps/{id}?done=submitted")).into_response())
}

pub async fn visibility(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&id)?;
    let result = match f.get("visibility").and_then(Visibility::parse) {
        Some(v) => {
            s.registry
                .set_visibility(&cx.actor, id, v, &IfVersion::Any)
                .await
        }
        None => Err(DomainError::invalid(
            "visibility",
            "choose Private, Public or Global",
        )),
    };
    or_app_page(result, &s, &cx, id).await?;
    Ok(Redirect::to(&format!("/admin/apps/{id}?done=visibility")).into_response())
}

/// Staff certify an approved sandbox app: its production registration (made now, or given
/// the APIs approved since) gets the visibility chosen. The production Secret is never shown
/// here: the developer's admins get it with New Secret on the production registration.
pub async fn certify(
    State(s): State<AppState>,
    cx: Console,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let id = app_id(&id)?;
    let result = match f.get("visibility").and_then(Visibility::parse) {
        Some(v) => s
            .registry
            .certify_app(&cx.actor, id, v, &IfVersion::Any)
            .await
            .map(|_| ()),
        None => Err(DomainError::invalid(
            "certify_visibility",
            "choose Public or Global",
        )),
    };
    or_app_page(result, &s, &cx, id).await?;
    Ok(Redirect::to(&format!("/admin/apps/{id}?done=certified")).into_response())
}
