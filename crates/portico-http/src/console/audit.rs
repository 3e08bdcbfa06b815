//! The audit log: the company's changes (staff: everyone's), newest first, a page at a time.

use super::{error::ConsoleResult, session::Console, templates::Page, views::AuditView};
use crate::AppState;
use axum::extract::{Query, State};
use minijinja::context;
use serde::Deserialize;
use std::collections::HashMap;

const PAGE_SIZE: usize = 50;

#[derive(Deserialize)]
pub struct AuditQuery {
    /// Show entries older than this id (the last one of the previous page).
    before: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    cx: Console,
    Query(q): Query<AuditQuery>,
) -> ConsoleResult<Page> {
    let before = q.before.as_deref().and_then(|b| b.parse::<i64>().ok());
    let mut entries = s
        .registry
        .audit_log(&cx.actor, None, before, PAGE_SIZE as u64 + 1)
        .await?;
    let more = entries.len() > PAGE_SIZE;
    entries.truncate(PAGE_SIZE);
    // Staff read every company's entries: name the company of each.
    let companies: HashMap<String, String> = if cx.actor.is_staff() {
        s.registry
            .companies(&cx.actor)
            .await?
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .collect()
    } else {
        HashMap::new()
    };
    let rows: Vec<AuditView> = entries
        .iter()
        .map(|e| {
            let company = e
                .event
                .company_id
                .and_then(|c| companies.get(&c.to_string()).cloned());
            AuditView::new(e, company)
        })
        .collect();
    let older = more.then(|| rows.last().map(|r| r.id)).flatten();
    Ok(cx.page(
        "audit.html",
        context! {
            nav => "audit",
            entries => rows,
            older => older,
            paged => before.is_some(),
            all_companies => cx.actor.is_staff(),
        },
    ))
}
