//! The audit log under `/api/audit`, for the privacy office: the signed checkpoint, inclusion
//! and consistency proofs (RFC 9162), a full verification, and the entries to review.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use facevault_audit::{open_checkpoint, verify_log, Decision as AuditDecision, LogStore};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{audited, Jot, COMPLIANCE, S};
use crate::auth::Principal;
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

/// Who may read the audit log itself: the privacy office (an auditor logs in with that role).
fn audit_gate(s: &AppState, p: &Principal, jot: &Jot, action: &'static str) -> Result<(), ApiError> {
    s.gate(p, jot, COMPLIANCE, action, "audit-log".into(), None)
}

/// The latest signed checkpoint of the audit log (signed now over every entry).
#[utoipa::path(get, path = "/audit/checkpoint", responses((status = 200, body = CheckpointView), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_checkpoint(State(s): S, p: Principal) -> Result<Json<CheckpointView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.checkpoint")?;
        let (note, size, verifier) = s
            .journal
            .read(|l| l.checkpoint().map(|n| (n, l.log.size(), l.key.verifier().to_string())))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        Ok(CheckpointView { checkpoint: note, size, verifier })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
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

/// The inclusion proof of entry `index` against a checkpoint signed now (RFC 9162).
#[utoipa::path(get, path = "/audit/proof/{index}", params(("index" = u64, Path)),
    responses((status = 200, body = ProofView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn audit_proof(State(s): S, p: Principal, Path(index): Path<u64>) -> Result<Json<ProofView>, ApiError> {
    use base64::Engine as _;
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.prove")?;
        s.journal
            .read(move |l| -> Result<ProofView, ApiError> {
                let size = l.log.size();
                if index >= size {
                    return Err(ApiError::not_found(format!("audit entry {index}: the log has {size}")));
                }
                let note = l.checkpoint().map_err(ApiError::internal)?;
                let entry = l
                    .log
                    .store()
                    .entry(index)
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::internal("entry missing"))?;
                let proof = l.log.inclusion_proof(index, size).map_err(ApiError::internal)?;
                Ok(ProofView {
                    index,
                    size,
                    path: proof.path.iter().map(ToString::to_string).collect(),
                    entry: base64::engine::general_purpose::STANDARD.encode(&entry),
                    leaf_hash: facevault_audit::leaf_hash(&entry).to_string(),
                    root: l.log.root().to_string(),
                    checkpoint: note,
                })
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
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

/// The consistency proof from the tree of `from` entries to a checkpoint signed now.
#[utoipa::path(get, path = "/audit/consistency", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn audit_consistency(
    State(s): S,
    p: Principal,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let jot = Jot::default();
    let old = q.from;
    let r = async {
        audit_gate(&s, &p, &jot, "audit.consistency")?;
        s.journal
            .read(move |l| -> Result<ConsistencyView, ApiError> {
                let size = l.log.size();
                if old > size {
                    return Err(ApiError::not_found(format!("audit size {old}: the log has {size}")));
                }
                let note = l.checkpoint().map_err(ApiError::internal)?;
                let proof = l.log.consistency_proof(old, size).map_err(ApiError::internal)?;
                Ok(ConsistencyView {
                    old_size: old,
                    new_size: size,
                    path: proof.path.iter().map(ToString::to_string).collect(),
                    old_root: l.log.root_at(old).map_err(ApiError::internal)?.to_string(),
                    new_root: l.log.root().to_string(),
                    checkpoint: note,
                })
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
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

/// Checks every entry of the log against a checkpoint signed now, and says where it differs.
#[utoipa::path(get, path = "/audit/verify", responses((status = 200, body = VerifyView), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_verify(State(s): S, p: Principal) -> Result<Json<VerifyView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.verify")?;
        s.journal
            .read(|l| -> Result<VerifyView, ApiError> {
                let note = l.checkpoint().map_err(ApiError::internal)?;
                let cp = open_checkpoint(&note, &l.key.verifier(), &l.origin).map_err(ApiError::internal)?;
                Ok(match verify_log(l.log.store(), &cp) {
                    Ok(n) => VerifyView {
                        status: "ok".into(),
                        entries: n,
                        root: cp.root.to_string(),
                        problem: None,
                    },
                    Err(e) => VerifyView {
                        status: "damaged".into(),
                        entries: cp.size,
                        root: cp.root.to_string(),
                        problem: Some(e.to_string()),
                    },
                })
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
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
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.list")?;
        let limit = q.limit.unwrap_or(100).min(1000);
        let from = q.from.unwrap_or(0);
        let (object, denied, flagged) =
            (q.object.clone(), q.denied.unwrap_or(false), q.flagged.unwrap_or(false));
        s.journal
            .read(move |l| -> Result<Vec<EntryView>, ApiError> {
                let mut out = Vec::new();
                let mut i = from;
                while i < l.log.size() && out.len() < limit {
                    let e = l.log.entry(i).map_err(ApiError::internal)?;
                    let keep = object.as_deref().is_none_or(|o| e.object.as_str() == o)
                        && (!denied || e.decision == AuditDecision::Denied)
                        && (!flagged || facevault_vault::oversight::is_break_glass(e.reason.as_str()));
                    if keep {
                        out.push(EntryView {
                            index: i,
                            time: e.time.to_string(),
                            actor: e.actor.as_str().into(),
                            role: e.role.as_str().into(),
                            action: e.action.as_str().into(),
                            purpose: e.purpose.as_str().into(),
                            object: e.object.as_str().into(),
                            decision: if e.decision == AuditDecision::Allowed { "allowed" } else { "denied" }
                                .into(),
                            reason: e.reason.as_str().into(),
                        });
                    }
                    i += 1;
                }
                Ok(out)
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}
