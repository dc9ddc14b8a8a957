//! Data-subject requests under `/api`: list, open, show, and the simple moves
//! `acknowledge|agent-authority|verify|start|extend|deny|cancel` (the app's `requests`, `open_request`,
//! `request` and `move_request`); with the request view `completion.rs` and `package.rs` share.
//! Completing a request is `completion.rs`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_app::time::{now_ms, rfc3339};
use facevault_app::{Move, NewRequest, RequestFilter};
use facevault_domain::request::{overdue, Request, Requester};
use facevault_vault::SubjectId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{parse_id, JsonBody, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_requests, get_request, open_request, acknowledge_request, request_agent_authority, verify_request, start_request,
        extend_request, deny_request, cancel_request
    ),
    components(schemas(
        RequestView, RequestAgent, RequestEventView, RequestDue, VendorNoticeView, NewRequestBody,
        VerifyBody, ExtendBody, DenyBody, AgentAuthorityBody
    )),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/requests", get(list_requests).post(open_request))
        .route("/requests/{id}", get(get_request))
        .route("/requests/{id}/acknowledge", post(acknowledge_request))
        .route("/requests/{id}/agent-authority", post(request_agent_authority))
        .route("/requests/{id}/verify", post(verify_request))
        .route("/requests/{id}/start", post(start_request))
        .route("/requests/{id}/extend", post(extend_request))
        .route("/requests/{id}/deny", post(deny_request))
        .route("/requests/{id}/cancel", post(cancel_request))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RequestAgent {
    /// The agent's pseudonymous id.
    id: String,
    /// Whether the subject's signed permission was shown.
    proof_of_authority: bool,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RequestEventView {
    at: String,
    change: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RequestDue {
    /// acknowledge, respond or purge backups.
    obligation: String,
    /// YYYY-MM-DD.
    by: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct VendorNoticeView {
    vendor: String,
    sent_at: String,
    confirmed_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RequestView {
    id: String,
    /// The subject's pseudonymous id.
    subject: String,
    /// access, delete, correct, opt-out or limit-use.
    kind: String,
    /// The law whose deadlines apply.
    law: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<RequestAgent>,
    received: String,
    /// received, identity verification, in progress, extended, completed, denied, canceled.
    state: String,
    open: bool,
    /// The identity verification the request needs: none, standard or strong.
    required_verification: String,
    /// The verification done, if any.
    verified: Option<String>,
    /// YYYY-MM-DD deadlines.
    acknowledge_by: Option<String>,
    respond_by: String,
    backups_purged_by: Option<String>,
    /// Backups still to purge (MHMDA), by this day.
    backups_pending: Option<String>,
    /// Whether an obligation is past its deadline now.
    overdue: bool,
    /// The obligations past their deadline.
    overdue_obligations: Vec<RequestDue>,
    events: Vec<RequestEventView>,
    /// Deletion notices sent to vendors (an erasure); in `GET /requests/{id}` only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vendor_notices: Vec<VendorNoticeView>,
}

fn level(l: facevault_domain::VerificationLevel) -> String {
    format!("{l:?}").to_lowercase()
}

pub(crate) fn request_view(r: &Request, now: facevault_domain::Timestamp) -> RequestView {
    let d = r.deadlines();
    let late: Vec<RequestDue> = overdue(std::slice::from_ref(r), now)
        .into_iter()
        .map(|x| RequestDue { obligation: x.obligation.to_string(), by: x.by.to_string() })
        .collect();
    RequestView {
        id: r.id().to_string(),
        subject: r.subject().to_string(),
        kind: r.kind().to_string(),
        law: r.law().to_string(),
        agent: match r.requester() {
            Requester::Subject => None,
            Requester::Agent { agent_id, proof_of_authority } => {
                Some(RequestAgent { id: agent_id.clone(), proof_of_authority: *proof_of_authority })
            }
        },
        received: r.received().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        state: r.state().name().to_owned(),
        open: r.is_open(),
        required_verification: level(r.required_verification()),
        verified: r.verified().map(level),
        acknowledge_by: d.acknowledge_by.map(|x| x.to_string()),
        respond_by: r.respond_by().to_string(),
        backups_purged_by: d.backups_purged_by.map(|x| x.to_string()),
        backups_pending: r.backups_pending().map(|x| x.to_string()),
        overdue: !late.is_empty(),
        overdue_obligations: late,
        events: r
            .events()
            .iter()
            .map(|e| RequestEventView {
                at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                change: e.change.to_string(),
            })
            .collect(),
        vendor_notices: Vec::new(),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RequestsQuery {
    /// Only those past a deadline.
    overdue: Option<bool>,
    /// Only those with a deadline within this many days.
    due_within: Option<u32>,
}

/// Every data-subject request with its state, deadlines and whether it is overdue (privacy
/// officer, admin).
#[utoipa::path(get, path = "/requests", params(RequestsQuery),
    responses((status = 200, body = [RequestView]), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError)))]
async fn list_requests(
    State(s): S,
    p: Principal,
    Query(q): Query<RequestsQuery>,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    let filter = RequestFilter { overdue: q.overdue.unwrap_or(false), due_within: q.due_within };
    let rows = s.app().requests(&p.session(), filter).await?;
    let now = now_ms();
    Ok(Json(rows.iter().map(|r| request_view(r, now)).collect()))
}

/// A request's deadlines, history and vendor notices (privacy officer, admin).
#[utoipa::path(get, path = "/requests/{id}", params(("id" = String, Path)),
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let f = s.app().request(&p.session(), &id).await?;
    let mut view = request_view(&f.request, now_ms());
    view.vendor_notices = f
        .vendor_notices
        .into_iter()
        .map(|n| VendorNoticeView {
            vendor: n.vendor,
            sent_at: rfc3339(n.sent_at),
            confirmed_at: n.confirmed_at.map(rfc3339),
        })
        .collect();
    Ok(Json(view))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NewRequestBody {
    /// The subject's id.
    subject: String,
    /// access, delete, correct, opt-out or limit-use.
    kind: String,
    /// CCPA, GDPR, MHMDA, BIPA, CUBI, HIPAA or other; default from the subject's consent.
    law: Option<String>,
    /// Made by an authorized agent with this pseudonymous id (do not name them); staff only.
    agent: Option<String>,
    /// When it was received, RFC 3339 (default: now, by the server's clock). Staff only, with
    /// `received_reason`; never in the future nor before the subject was registered.
    received: Option<String>,
    /// Why the request is dated earlier than now (journaled); required with `received`.
    received_reason: Option<String>,
    /// Open it even if it duplicates an earlier request.
    #[serde(default)]
    allow_duplicate: bool,
}

/// Opens a data-subject request and returns its deadlines. The front desk and the privacy
/// office open them; a patient opens one for themself. A duplicate of an open request, of one
/// completed recently, or a third access request within 12 months is refused (409) naming the
/// earlier one, unless `allow_duplicate`.
#[utoipa::path(post, path = "/requests", request_body = NewRequestBody,
    responses((status = 201, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn open_request(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<NewRequestBody>,
) -> Result<Response, ApiError> {
    let subject: SubjectId = parse_id("subject", &b.subject)?;
    let new = NewRequest {
        subject,
        kind: b.kind,
        law: b.law,
        agent: b.agent,
        received: b.received,
        received_reason: b.received_reason,
        allow_duplicate: b.allow_duplicate,
    };
    let r = s.app().open_request(&p.session(), new).await?;
    Ok((StatusCode::CREATED, Json(request_view(&r, now_ms()))).into_response())
}

/// Applies one move to a request (privacy officer, admin) and returns it; a move its state does
/// not allow is a 409 naming why.
pub(crate) async fn transition(
    s: &AppState,
    p: &Principal,
    id: &str,
    m: Move,
) -> Result<Json<RequestView>, ApiError> {
    let r = s.app().move_request(&p.session(), id, m).await?;
    Ok(Json(request_view(&r, now_ms())))
}

/// Records that receipt was confirmed to the subject (privacy officer, admin; once), which ends
/// the acknowledgement deadline.
#[utoipa::path(post, path = "/requests/{id}/acknowledge", params(("id" = String, Path)),
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn acknowledge_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    transition(&s, &p, &id, Move::Acknowledge).await
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct AgentAuthorityBody {
    /// The SHA-256 (64 hex digits) of the agent's proof: the subject's signed permission or a
    /// power of attorney. Journaled as the evidence; the document itself stays on file.
    evidence_sha256: String,
}

/// Records the agent's proof of authority (the subject's signed permission), with its SHA-256
/// as evidence; until then an agent's request to know, delete or correct does not move.
#[utoipa::path(post, path = "/requests/{id}/agent-authority", params(("id" = String, Path)),
    request_body = AgentAuthorityBody,
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn request_agent_authority(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<AgentAuthorityBody>,
) -> Result<Json<RequestView>, ApiError> {
    transition(&s, &p, &id, Move::AgentAuthority { evidence_sha256: b.evidence_sha256 }).await
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct VerifyBody {
    /// none, standard or strong (a request about biometric data needs strong).
    level: String,
}

/// Records the identity verification done.
#[utoipa::path(post, path = "/requests/{id}/verify", params(("id" = String, Path)), request_body = VerifyBody,
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn verify_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<VerifyBody>,
) -> Result<Json<RequestView>, ApiError> {
    transition(&s, &p, &id, Move::Verify { level: b.level }).await
}

/// Starts work on the request (after verification).
#[utoipa::path(post, path = "/requests/{id}/start", params(("id" = String, Path)),
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn start_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    transition(&s, &p, &id, Move::Start).await
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ExtendBody {
    /// Why more time is needed, as told to the subject in the notice sent now.
    reason: String,
}

/// Extends the deadline once; the notice with its reason is sent to the subject now.
#[utoipa::path(post, path = "/requests/{id}/extend", params(("id" = String, Path)), request_body = ExtendBody,
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn extend_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ExtendBody>,
) -> Result<Json<RequestView>, ApiError> {
    transition(&s, &p, &id, Move::Extend { reason: b.reason }).await
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DenyBody {
    reason: String,
    /// The legal basis of the denial.
    basis: String,
}

/// Denies the request, with the reason and the legal basis.
#[utoipa::path(post, path = "/requests/{id}/deny", params(("id" = String, Path)), request_body = DenyBody,
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn deny_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<DenyBody>,
) -> Result<Json<RequestView>, ApiError> {
    transition(&s, &p, &id, Move::Deny { reason: b.reason, basis: b.basis }).await
}

/// Cancels the request (the subject withdrew it).
#[utoipa::path(post, path = "/requests/{id}/cancel", params(("id" = String, Path)),
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn cancel_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    transition(&s, &p, &id, Move::Cancel).await
}
