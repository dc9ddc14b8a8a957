//! Data-subject requests under `/api`: list, open (`facevault request open`'s rules), show, and
//! the simple moves `agent-authority|verify|start|extend|deny|cancel`; with the request view and
//! the helpers `completion.rs` and `package.rs` share. Completing a request is `completion.rs`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_domain::request::{due_within, overdue, HolidayCalendar, Request, RequestState, Requester};
use facevault_domain::settings;
use facevault_policy::gates;
use facevault_vault::oversight::{parse_law, Opened, RequestIntake};
use facevault_vault::{parse_level, parse_request_kind, RequestUpdateError, SubjectId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{audited, now_ms, parse_id, utc, Jot, JsonBody, COMPLIANCE, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_requests, get_request, open_request, request_agent_authority, verify_request, start_request,
        extend_request, deny_request, cancel_request
    ),
    components(schemas(
        RequestView, RequestAgent, RequestEventView, RequestDue, VendorNoticeView, NewRequestBody,
        VerifyBody, ExtendBody, DenyBody
    )),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/requests", get(list_requests).post(open_request))
        .route("/requests/{id}", get(get_request))
        .route("/requests/{id}/agent-authority", post(request_agent_authority))
        .route("/requests/{id}/verify", post(verify_request))
        .route("/requests/{id}/start", post(start_request))
        .route("/requests/{id}/extend", post(extend_request))
        .route("/requests/{id}/deny", post(deny_request))
        .route("/requests/{id}/cancel", post(cancel_request))
}

pub(crate) fn calendar() -> HolidayCalendar {
    settings::request_calendar(chrono::Datelike::year(&chrono::Utc::now()))
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

/// A request id: what `POST /requests` returned (32 hex digits).
pub(crate) fn request_id(id: &str) -> Result<String, ApiError> {
    let raw: facevault_crypto::Id = parse_id("id", id)?;
    Ok(raw.to_string())
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
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, COMPLIANCE, "request.list", "requests".into(), None)?;
        let now = now_ms();
        let all = s.vault.requests(&calendar()).await?;
        let keep: Option<Vec<&Request>> = if q.overdue.unwrap_or(false) {
            Some(overdue(&all, now).into_iter().map(|d| d.request).collect())
        } else {
            q.due_within.map(|n| due_within(&all, now, n).into_iter().map(|d| d.request).collect())
        };
        let rows: Vec<RequestView> = all
            .iter()
            .filter(|r| keep.as_ref().is_none_or(|k| k.iter().any(|x| x.id() == r.id())))
            .map(|r| request_view(r, now))
            .collect();
        jot.change("request.list", "request", "requests".into(), format!("{} listed", rows.len()));
        Ok(rows)
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
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
    let jot = Jot::default();
    let r = async {
        let id = request_id(&id)?;
        let object = format!("request:{id}");
        s.gate(&p, &jot, COMPLIANCE, "request.show", object.clone(), None)?;
        let r = s.vault.request(&id, &calendar()).await?;
        let mut view = request_view(&r, now_ms());
        view.vendor_notices = s
            .vault
            .vendor_notices()
            .await?
            .into_iter()
            .filter(|n| n.request == id)
            .map(|n| VendorNoticeView {
                vendor: n.vendor,
                sent_at: utc(n.sent_at),
                confirmed_at: n.confirmed_at.map(utc),
            })
            .collect();
        jot.change("request.show", "request", object, "shown");
        Ok(view)
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NewRequestBody {
    /// The subject's id.
    subject: String,
    /// access, delete, correct, opt-out or limit-use.
    kind: String,
    /// CCPA, GDPR, MHMDA, BIPA, CUBI or other; default from the subject's consent.
    law: Option<String>,
    /// Made by an authorized agent with this pseudonymous id (do not name them).
    agent: Option<String>,
    /// When it was received, RFC 3339 (default now).
    received: Option<String>,
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
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId =
            b.subject.parse().map_err(|_| ApiError::field("subject", "not a subject id (32 hex digits)"))?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, gates::REQUEST_OPEN, "request.open", object.clone(), Some(subject))?;
        let kind = parse_request_kind(&b.kind)
            .ok_or_else(|| ApiError::field("kind", "one of access, delete, correct, opt-out, limit-use"))?;
        let law = b
            .law
            .as_deref()
            .map(|l| {
                parse_law(l)
                    .ok_or_else(|| ApiError::field("law", "one of CCPA, GDPR, MHMDA, BIPA, CUBI, other"))
            })
            .transpose()?;
        if b.agent.as_ref().is_some_and(|a| a.trim().is_empty() || a.len() > 256) {
            return Err(ApiError::field("agent", "the agent's pseudonymous id, 1 to 256 bytes"));
        }
        let received = match b.received.as_deref() {
            Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| ApiError::field("received", "not an RFC 3339 time"))?
                .with_timezone(&chrono::Utc),
            None => now_ms(),
        };
        let intake = RequestIntake { subject, kind, law, agent: b.agent.clone(), received };
        let cal = calendar();
        match s.vault.open_request_checked(intake, b.allow_duplicate, &cal).await? {
            Opened::Opened(r) => {
                jot.change(
                    "request.open",
                    "request",
                    format!("request:{}", r.id()),
                    format!("{kind} under {} for {object}, respond by {}", r.law(), r.respond_by()),
                );
                Ok(request_view(&r, now_ms()))
            }
            Opened::Duplicate(dup) => {
                let reason = format!("duplicate of request {} ({:?})", dup.of, dup.reason);
                jot.push(crate::journal::Record {
                    action: "request.open",
                    purpose: "request".into(),
                    object,
                    allowed: false,
                    reason: reason.clone(),
                });
                Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("{reason}; send allow_duplicate to open it anyway"),
                ))
            }
        }
    }
    .await;
    let v = audited(&s, &p, jot, r).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Applies one move to a request (privacy officer, admin), journals it, and returns the
/// request. A move its state does not allow is a 409 naming why.
pub(crate) async fn transition(
    s: &AppState,
    p: &Principal,
    id: &str,
    action: &'static str,
    change: impl FnOnce(&mut Request) -> Result<(), facevault_domain::RequestError>,
) -> Result<RequestView, ApiError> {
    let jot = Jot::default();
    let r = async {
        let id = request_id(id)?;
        let object = format!("request:{id}");
        s.gate(p, &jot, COMPLIANCE, action, object.clone(), None)?;
        let cal = calendar();
        let r = update(s, &id, &cal, change).await?;
        jot.change(action, "request", object, r.state().name());
        Ok(request_view(&r, now_ms()))
    }
    .await;
    audited(s, p, jot, r).await
}

/// Applies `change` to request `id` and returns it; a move its state does not allow is a 409
/// naming why.
pub(crate) async fn update(
    s: &AppState,
    id: &str,
    cal: &HolidayCalendar,
    change: impl FnOnce(&mut Request) -> Result<(), facevault_domain::RequestError>,
) -> Result<Request, ApiError> {
    s.vault.update_request(id, cal, change).await.map_err(|e| match e {
        RequestUpdateError::Refused(e) => conflict(format!("request {id}: {e}")),
        RequestUpdateError::Vault(e) => e.into(),
    })
}

pub(crate) fn conflict(msg: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", msg)
}

/// Records the agent's proof of authority (the subject's signed permission).
#[utoipa::path(post, path = "/requests/{id}/agent-authority", params(("id" = String, Path)),
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn request_agent_authority(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let now = now_ms();
    transition(&s, &p, &id, "request.agent-authority", |r| r.record_agent_authority(now)).await.map(Json)
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
    let now = now_ms();
    let Some(lvl) = parse_level(&b.level) else {
        return audited(
            &s,
            &p,
            Jot::default(),
            Err(ApiError::field("level", "one of none, standard, strong")),
        )
        .await;
    };
    transition(&s, &p, &id, "request.verify", |r| {
        if matches!(r.state(), RequestState::Received) {
            r.begin_verification(now)?;
        }
        r.verify(now, lvl)
    })
    .await
    .map(Json)
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
    let now = now_ms();
    transition(&s, &p, &id, "request.start", |r| r.start(now)).await.map(Json)
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
    if b.reason.trim().is_empty() {
        return audited(
            &s,
            &p,
            Jot::default(),
            Err(ApiError::field("reason", "say why more time is needed")),
        )
        .await;
    }
    let now = now_ms();
    transition(&s, &p, &id, "request.extend", |r| r.extend(now, now, &b.reason)).await.map(Json)
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
    for (field, v) in [("reason", &b.reason), ("basis", &b.basis)] {
        if v.trim().is_empty() {
            return audited(&s, &p, Jot::default(), Err(ApiError::field(field, "must not be empty"))).await;
        }
    }
    let now = now_ms();
    transition(&s, &p, &id, "request.deny", |r| r.deny(now, &b.reason, &b.basis)).await.map(Json)
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
    let now = now_ms();
    transition(&s, &p, &id, "request.cancel", |r| r.cancel(now)).await.map(Json)
}
