//! Sign-up requests (staff): sandbox sign-ups waiting for the operator, with the edition each
//! asked for; approve (which makes the sandbox, of the edition chosen) or reject with a reason.

use super::{
    Done,
    error::{ConsoleError, ConsoleResult},
    session::{Console, CsrfForm},
    templates::Page,
    views::{edition_label, time},
};
use crate::AppState;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;
use portico_domain::{DomainError, Edition, SandboxDecision, SandboxRequestStatus};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// `all`: decided requests too.
    status: Option<String>,
    #[serde(flatten)]
    done: Done,
}

const EDITIONS: [Edition; 2] = [Edition::Standard, Edition::Professional];

fn status_label(s: SandboxRequestStatus) -> &'static str {
    match s {
        SandboxRequestStatus::Pending => "Pending",
        SandboxRequestStatus::Approved => "Approved",
        SandboxRequestStatus::Rejected => "Rejected",
    }
}

/// A failed decision: the request, what was chosen, and the reason typed.
struct Failed<'a> {
    id: &'a str,
    decision: &'a str,
    reason: &'a str,
}

/// The list; `failed` is the request whose decision failed, with what was typed for it.
async fn page(
    s: &AppState,
    cx: &Console,
    all: bool,
    done: &Done,
    failed: Option<Failed<'_>>,
) -> ConsoleResult<Page> {
    let status = (!all).then_some(SandboxRequestStatus::Pending);
    let requests = s.registry.sandbox_requests(&cx.actor, status).await?;
    let requests: Vec<_> = requests
        .iter()
        .map(|r| {
            context! {
                id => r.id.to_string(),
                login_id => &r.login_id,
                name => &r.display_name,
                company_name => &r.company_name,
                edition => r.edition.as_str(),
                edition_label => edition_label(r.edition),
                status => r.status.as_str(),
                status_label => status_label(r.status),
                pending => r.status == SandboxRequestStatus::Pending,
                source => &r.source,
                requested_at => time(&r.created_at),
                decided_at => r.decided_at.as_ref().map(time),
                reason => &r.reason,
                editions => EDITIONS
                    .iter()
                    .map(|e| context! {
                        value => e.as_str(),
                        label => edition_label(*e),
                        selected => *e == r.edition,
                    })
                    .collect::<Vec<_>>(),
            }
        })
        .collect();
    Ok(cx.page(
        "sandbox_requests.html",
        context! {
            nav => "sandbox_requests",
            requests => requests,
            all => all,
            mode => s.registry.sign_up_mode().as_str(),
            notice => done.notice(),
            failed => failed.map(|f| context! { id => f.id, decision => f.decision, reason => f.reason }),
        },
    ))
}

pub async fn list(
    State(s): State<AppState>,
    cx: Console,
    Query(q): Query<ListQuery>,
) -> ConsoleResult<Page> {
    page(&s, &cx, q.status.as_deref() == Some("all"), &q.done, None).await
}

pub async fn decide(
    State(s): State<AppState>,
    cx: Console,
    Path(raw_id): Path<String>,
    CsrfForm(f): CsrfForm,
) -> ConsoleResult<Response> {
    let id: uuid::Uuid = raw_id
        .parse()
        .map_err(|_| ConsoleError::from(DomainError::not_found("sign-up request")))?;
    let decision_name = f.get("decision").unwrap_or_default();
    let reason = f.get("reason").unwrap_or_default();
    let decision = match decision_name {
        "approve" => SandboxDecision::Approve {
            edition: match f.get("edition").unwrap_or_default() {
                "" => None,
                e => Some(Edition::parse(e).ok_or_else(|| {
                    ConsoleError::BadRequest("choose the Standard or Professional edition".into())
                })?),
            },
        },
        "reject" => SandboxDecision::Reject {
            reason: reason.to_owned(),
        },
        _ => return Err(ConsoleError::BadRequest("choose Approve or Reject".into())),
    };
    match s
        .registry
        .decide_sandbox_request(&cx.actor, id, decision)
        .await
    {
        Ok(decided) => {
            let done = match decided.request.status {
                SandboxRequestStatus::Rejected => "request_rejected",
                _ => "request_approved",
            };
            Ok(Redirect::to(&format!("/admin/sandbox-requests?done={done}")).into_response())
        }
        Err(e @ (DomainError::Invalid { .. } | DomainError::Conflict { .. })) => {
            let failed = Failed {
                id: &raw_id,
                decision: decision_name,
                reason,
            };
            Err(ConsoleError::on_form(
                e,
                page(&s, &cx, false, &Done::default(), Some(failed)).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
