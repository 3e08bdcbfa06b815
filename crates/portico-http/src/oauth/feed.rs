//! `GET /oauth2/v0/revocations`: the revocation feed as server-sent events, for resource
//! servers (see `portico_oauth::feed`). A reader resumes with `Last-Event-ID`; a comment
//! (`:ping`) every few seconds lets it tell a quiet feed from a dead one.

use super::error::OAuthErrorResponse;
use crate::AppState;
use crate::client_addr::ClientAddr;
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::stream;
use portico_oauth::feed::{FeedEvent, FeedReader, FeedRefusal};
use portico_oauth::{OAuthError, feed};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle feed says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(5);

pub(super) async fn revocations(
    State(s): State<AppState>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
) -> Response {
    let mut auth = headers.get_all(header::AUTHORIZATION).iter();
    let (first, second) = (auth.next(), auth.next());
    if second.is_some() {
        return OAuthErrorResponse(OAuthError::invalid_request(
            "more than one Authorization header",
        ))
        .into_response();
    }
    let Ok(authorization) = first.map(|v| v.to_str()).transpose() else {
        return OAuthErrorResponse(OAuthError::invalid_request(
            "the Authorization header is not text",
        ))
        .into_response();
    };
    let last = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) if v.trim().is_empty() => None,
        Some(Ok(v)) => match v.trim().parse::<i64>() {
            Ok(id) if id >= 0 => Some(id),
            _ => {
                return OAuthErrorResponse(OAuthError::invalid_request(
                    "Last-Event-ID must be an id this feed sent",
                ))
                .into_response();
            }
        },
        Some(Err(_)) => {
            return OAuthErrorResponse(OAuthError::invalid_request(
                "Last-Event-ID must be an id this feed sent",
            ))
            .into_response();
        }
    };
    let reader = match s.oauth.feed_reader(authorization, source, last).await {
        Ok(r) => r,
        Err(FeedRefusal::Client(e)) => return OAuthErrorResponse(e).into_response(),
        Err(e @ FeedRefusal::NotResourceServer) => {
            return (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({
                    "error": "unauthorized_client",
                    "error_description": e.to_string(),
                })),
            )
                .into_response();
        }
    };
    let events = stream::unfold(
        (reader, VecDeque::<FeedEvent>::new()),
        |(mut reader, mut queue): (FeedReader, VecDeque<FeedEvent>)| async move {
            while queue.is_empty() {
                match reader.next().await {
                    Ok(Some(batch)) => queue.extend(batch),
                    Ok(None) => return None,
                    Err(e) => {
                        // The reader resumes after the last id it saw, on this node or another.
                        tracing::warn!(error = %e, "revocation feed interrupted");
                        return None;
                    }
                }
            }
            let e = queue.pop_front()?;
            Some((Ok::<_, Infallible>(sse_event(&e)), (reader, queue)))
        },
    );
    let mut resp = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("ping"))
        .into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

fn sse_event(e: &feed::FeedEvent) -> Event {
    let event = Event::default().event(e.kind).data(e.data.to_string());
    match e.id {
        Some(id) => event.id(id.to_string()),
        None => event,
    }
}
