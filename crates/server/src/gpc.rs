//! Global Privacy Control: a `Sec-GPC: 1` header on a request from a patient's session is
//! their opt-out preference signal, which the business must treat as an opt-out of sale and
//! sharing (11 CCR 7025). This layer only reads the header and the caller; the app records the
//! opt-out (once, audited). The answer carries `FaceVault-GPC: opt-out-recorded` (recorded now)
//! or `opt-out-on-record` (already), so the browser's user can see it was honoured.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::Principal;
use crate::AppState;

/// The answer's header saying the signal was honoured.
pub(crate) const HONOURED: &str = "facevault-gpc";

pub(crate) async fn honour(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let signal = req.headers().get("sec-gpc").is_some_and(|v| v.as_bytes().trim_ascii() == b"1");
    if !signal {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // The handler authenticates the request again and answers any failure itself.
    let honoured = match Principal::from_request_parts(&mut parts, &state).await {
        Ok(p) => state.app().honour_opt_out_signal(&p.session()).await,
        Err(_) => Ok(None),
    };
    let mut res = next.run(Request::from_parts(parts, body)).await;
    match honoured {
        Ok(Some(now)) => {
            let v = if now { "opt-out-recorded" } else { "opt-out-on-record" };
            res.headers_mut().insert(HONOURED, HeaderValue::from_static(v));
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("facevault-server: the opt-out preference signal was not recorded: {}", e.message)
        }
    }
    res
}
