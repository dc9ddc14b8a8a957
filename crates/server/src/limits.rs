//! What keeps one client, or many slow ones, from taking the server from everyone else:
//!
//! - [`admit`]: every request's body is read under a pace (`body_timeout_secs`,
//!   `body_min_bytes`), up to the JSON body limit (or the upload limit if smaller), *before*
//!   the request takes one of the server's `max_concurrent` permits; so bodies trickled in
//!   slowly hold a connection, never a permit, and a login is not queued behind them. The permits are one semaphore for the whole
//!   server (a tower `ConcurrencyLimitLayer` on an axum `Router` is one limit per route).
//! - [`Exports`]: sealing a package to a passphrase runs scrypt with 256 MiB of memory; at most
//!   `max_concurrent_exports` run at once (more wait) and each caller one at a time (a second
//!   is answered 429 with `Retry-After`).
//!
//! The per-address connection cap is in the connection loop (`tls.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::AppState;

/// Why a request body stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("the request body came too slowly: less than {floor} bytes in {window:?}")]
    TooSlow { floor: u64, window: Duration },
    #[error("the request body broke off: {0}")]
    Broken(axum::Error),
}

/// `body`, failing with [`BodyError::TooSlow`] when a `window` passes without `floor` more
/// bytes (a body smaller than `floor` must arrive whole within one window).
pub(crate) fn paced(body: Body, window: Duration, floor: u64) -> Body {
    let start = (body.into_data_stream(), Instant::now() + window, 0u64);
    Body::from_stream(futures_util::stream::unfold(Some(start), move |state| async move {
        let (mut stream, mut due, mut got) = state?;
        match tokio::time::timeout_at(due, stream.next()).await {
            Err(_) => Some((Err(BodyError::TooSlow { floor, window }), None)),
            Ok(None) => None,
            Ok(Some(Err(e))) => Some((Err(BodyError::Broken(e)), None)),
            Ok(Some(Ok(chunk))) => {
                got += chunk.len() as u64;
                if got >= floor {
                    (due, got) = (Instant::now() + window, 0);
                }
                Some((Ok(chunk), Some((stream, due, got))))
            }
        }
    }))
}

/// Reads the body at its pace up to the smaller of the JSON body and upload limits, then waits
/// for one of the server's permits and runs the request holding it. A larger body (an upload)
/// goes on streaming, still paced, to its handler; one declared over both limits is refused
/// before a byte of it is read.
pub(crate) async fn admit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let c = &state.config;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > c.max_body_bytes.max(c.max_upload_bytes) as u64) {
        let too_large = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is over the server's limit",
        );
        return closing(too_large);
    }
    let (parts, body) = req.into_parts();
    let window = Duration::from_secs(c.body_timeout_secs);
    let mut stream = paced(body, window, c.body_min_bytes).into_data_stream();
    let read_first = c.max_body_bytes.min(c.max_upload_bytes);
    let mut head = Vec::new();
    let rest = loop {
        if head.len() > read_first {
            break Some(stream);
        }
        match stream.next().await {
            None => break None,
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(e)) => return body_failed(&e),
        }
    };
    let head = Bytes::from(head);
    let body = match rest {
        None => Body::from(head),
        Some(rest) => Body::from_stream(futures_util::stream::iter([Ok(head)]).chain(rest)),
    };
    let Ok(_permit) = state.admission.clone().acquire_owned().await else {
        return ApiError::internal("the admission semaphore was closed").into_response();
    };
    next.run(Request::from_parts(parts, body)).await
}

/// A body that came too slowly (408) or broke off (400); the connection is closed.
fn body_failed(e: &axum::Error) -> Response {
    let text = e.to_string();
    let slow = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<BodyError>())
        .is_some_and(|b| matches!(b, BodyError::TooSlow { .. }))
        || text.contains("too slowly");
    closing(if slow {
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", text)
    } else {
        ApiError::field("body", text)
    })
}

/// `e` as the answer, closing the connection (the rest of the body is not read).
fn closing(e: ApiError) -> Response {
    let mut res = e.into_response();
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// The exports in flight: a global limit, and who is exporting now.
#[derive(Debug)]
pub(crate) struct Exports {
    running: Arc<Semaphore>,
    callers: Mutex<HashSet<String>>,
}

/// One caller's export slot, released when dropped.
pub(crate) struct ExportSlot<'a> {
    exports: &'a Exports,
    caller: String,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ExportSlot<'_> {
    fn drop(&mut self) {
        self.exports.callers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.caller);
    }
}

/// How long a refused caller is told to wait: about one export's time.
const EXPORT_RETRY_SECS: u64 = 5;

impl Exports {
    pub(crate) fn new(at_once: usize) -> Exports {
        Exports { running: Arc::new(Semaphore::new(at_once)), callers: Mutex::default() }
    }

    /// A slot for `caller`'s export: 429 if they have one running, else waits for the global
    /// limit.
    pub(crate) async fn slot(&self, caller: &str) -> Result<ExportSlot<'_>, ApiError> {
        let fresh =
            self.callers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(caller.to_owned());
        if !fresh {
            return Err(ApiError {
                retry_after: Some(EXPORT_RETRY_SECS),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "busy",
                    "an export of yours is still being sealed: one at a time; try again when it is done",
                )
            });
        }
        // Registered first, so the slot's drop unregisters even if the wait is cancelled.
        let pending = PendingCaller { exports: self, caller: Some(caller.to_owned()) };
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the export semaphore was closed"))?;
        Ok(ExportSlot { exports: self, caller: pending.take(), _permit: permit })
    }
}

/// A caller registered while waiting for the global limit: unregistered if the wait ends
/// without a slot (the client went away).
struct PendingCaller<'a> {
    exports: &'a Exports,
    caller: Option<String>,
}

impl PendingCaller<'_> {
    fn take(mut self) -> String {
        self.caller.take().unwrap_or_default()
    }
}

impl Drop for PendingCaller<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.caller.take() {
            self.exports.callers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&c);
        }
    }
}
