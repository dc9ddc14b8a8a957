//! The audit log under `/api/audit`, for the privacy office: the latest signed checkpoint,
//! inclusion and consistency proofs (RFC 9162) against it, a full verification, and the
//! entries to review; the app's `audit_*` use cases. Reads never sign: each is answered
//! against the latest checkpoint the journal stored (it signs one after every batch).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use facevault_app::{EntryFilter, Verified};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::S;
use crate::auth::{sha256_hex, Principal};
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(audit_checkpoint, audit_proof, audit_consistency, audit_verify, audit_entries),
    components(schemas(CheckpointView, ProofView, ConsistencyView, VerifyView, EntryView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/audit/checkpoint", get(audit_checkpoint))
        .route("/audit/proof/{index}", get(audit_proof))
        .route("/audit/consistency", get(audit_consistency))
        .route("/audit/verify", get(audit_verify))
        .route("/audit/entries", get(audit_entries))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CheckpointView {
    /// The C2SP signed note.
    checkpoint: String,
    size: u64,
    /// The verifier key (name+id+key) to check it with.
    verifier: String,
}

/// The latest signed checkpoint of the audit log (the journal signs one after every batch).
#[utoipa::path(get, path = "/audit/checkpoint", responses((status = 200, body = CheckpointView), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_checkpoint(State(s): S, p: Principal) -> Result<Json<CheckpointView>, ApiError> {
    let c = s.app().audit_checkpoint(&p.session()).await?;
    Ok(Json(CheckpointView { checkpoint: c.note, size: c.checkpoint.size, verifier: c.verifier }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ProofView {
    index: u64,
    size: u64,
    /// Hex hashes, RFC 9162 order.
    path: Vec<String>,
    /// The encoded entry, base64.
    entry: String,
    leaf_hash: String,
    root: String,
    checkpoint: String,
}

/// The inclusion proof of entry `index` against the latest signed checkpoint (RFC 9162).
#[utoipa::path(get, path = "/audit/proof/{index}", params(("index" = u64, Path)),
    responses((status = 200, body = ProofView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn audit_proof(State(s): S, p: Principal, Path(index): Path<u64>) -> Result<Json<ProofView>, ApiError> {
    use base64::Engine as _;
    let x = s.app().audit_proof(&p.session(), index).await?;
    Ok(Json(ProofView {
        index: x.index,
        size: x.size,
        path: x.path,
        entry: base64::engine::general_purpose::STANDARD.encode(&x.entry),
        leaf_hash: x.leaf_hash,
        root: x.root,
        checkpoint: x.checkpoint,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The size of the older tree.
    from: u64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsistencyView {
    old_size: u64,
    new_size: u64,
    path: Vec<String>,
    old_root: String,
    new_root: String,
    checkpoint: String,
}

/// The consistency proof from the tree of `from` entries to the latest signed checkpoint.
#[utoipa::path(get, path = "/audit/consistency", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn audit_consistency(
    State(s): S,
    p: Principal,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let c = s.app().audit_consistency(&p.session(), q.from).await?;
    Ok(Json(ConsistencyView {
        old_size: c.old_size,
        new_size: c.new_size,
        path: c.path,
        old_root: c.old_root,
        new_root: c.new_root,
        checkpoint: c.checkpoint,
    }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct VerifyView {
    /// `ok`, or `damaged` with the first bad entry named in `problem`.
    status: String,
    entries: u64,
    root: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// Checks every entry of the log against the latest signed checkpoint, and says where it differs.
#[utoipa::path(get, path = "/audit/verify", responses((status = 200, body = VerifyView), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_verify(State(s): S, p: Principal) -> Result<Json<VerifyView>, ApiError> {
    let view = match s.app().audit_verify(&p.session()).await? {
        // No entry and no checkpoint yet: the empty tree, whose root is the hash of nothing.
        Verified::Empty => {
            VerifyView { status: "ok".into(), entries: 0, root: sha256_hex(&[]), problem: None }
        }
        Verified::Ok { entries, root } => VerifyView { status: "ok".into(), entries, root, problem: None },
        Verified::Damaged { entries, root, problem } => {
            VerifyView { status: "damaged".into(), entries, root, problem: Some(problem) }
        }
    };
    Ok(Json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EntriesQuery {
    /// Start at this entry index (default 0).
    from: Option<u64>,
    /// At most this many entries (default 100, at most 1000).
    limit: Option<usize>,
    /// Only entries about this object (`subject:<id>`, `scan:<id>`).
    object: Option<String>,
    /// Only denied decisions.
    denied: Option<bool>,
    /// Only break-glass accesses: the ones to review.
    flagged: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EntryView {
    index: u64,
    time: String,
    actor: String,
    role: String,
    action: String,
    purpose: String,
    object: String,
    /// `allowed` or `denied`.
    decision: String,
    reason: String,
}

/// Audit entries, for the privacy officer's review (break-glass uses, denials, an object).
#[utoipa::path(get, path = "/audit/entries", params(EntriesQuery),
    responses((status = 200, body = [EntryView]), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_entries(
    State(s): S,
    p: Principal,
    Query(q): Query<EntriesQuery>,
) -> Result<Json<Vec<EntryView>>, ApiError> {
    let filter = EntryFilter {
        from: q.from.unwrap_or(0),
        limit: q.limit.unwrap_or(100).min(1000),
        object: q.object,
        denied: q.denied.unwrap_or(false),
        flagged: q.flagged.unwrap_or(false),
    };
    let rows = s.app().audit_entries(&p.session(), filter).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(index, e)| {
                let facevault_audit::EntryView {
                    index,
                    time,
                    actor,
                    role,
                    action,
                    purpose,
                    object,
                    decision,
                    reason,
                } = facevault_audit::EntryView::of(index, &e);
                EntryView { index, time, actor, role, action, purpose, object, decision, reason }
            })
            .collect(),
    ))
}
