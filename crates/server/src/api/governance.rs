//! The privacy office's endpoints under `/api`, with the CLI's role rules:
//!
//! - data-subject requests: `GET /requests` and `GET /requests/{id}` (privacy officer, admin),
//!   `POST /requests` (the front desk, the privacy office, and a patient for their own subject;
//!   the duplicate, agent and verification rules of `facevault request open`), and the simple
//!   moves `POST /requests/{id}/agent-authority|verify|start|extend|deny|cancel` (privacy
//!   officer, admin). Completing a request is `completion.rs`.
//! - `GET /vendors`: the vendor registry (`vendors.toml` in the vault directory) with the
//!   contract terms each vendor lacks (privacy officer, admin); `GET /subjects/{id}/disclosures`
//!   (care roles, and the patient themself).
//! - `GET /documents/{name}?format=md|html|json`: the documents generated from the live
//!   configuration (`purposes`, `vendors.toml`, `clinic.toml`): the retention schedule and the
//!   consent notices are public (any logged-in caller), the record of processing is the privacy
//!   office's.
//! - `GET /posture`: the privacy posture report (risk register) as JSON (privacy officer, admin).
//!
//! Parsing the configuration files is `facevault_domain::settings` and gathering what the
//! vault knows is `facevault_vault::oversight`, shared with the CLI; this module reads the files
//! and speaks HTTP. Every call is journaled like the rest of the API.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_domain::posture::{assess, PostureReport};
use facevault_domain::request::{due_within, overdue, HolidayCalendar, Request, RequestState, Requester};
use facevault_domain::settings::{self, SettingsError};
use facevault_domain::{missing_terms, Documents, VendorRegistry};
use facevault_policy::{gates, Role};
use facevault_vault::oversight::{break_glass_uses, parse_law, Opened, RequestIntake};
use facevault_vault::{parse_level, parse_request_kind, RequestUpdateError, SubjectId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{audited, now_ms, parse_id, utc, Jot, JsonBody, CARE, COMPLIANCE, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

/// The vendor registry in the vault directory (as the CLI keeps it).
const VENDORS_FILE: &str = "vendors.toml";
/// Who the clinic is, for the generated documents.
const CLINIC_FILE: &str = "clinic.toml";
/// The clinic's risk acceptance criteria.
const POSTURE_FILE: &str = "posture.toml";

#[derive(OpenApi)]
#[openapi(
    paths(
        list_requests, get_request, open_request, request_agent_authority, verify_request, start_request,
        extend_request, deny_request, cancel_request, list_vendors, subject_disclosures, get_document,
        posture
    ),
    components(schemas(
        RequestView, RequestAgent, RequestEventView, RequestDue, VendorNoticeView, NewRequestBody,
        VerifyBody, ExtendBody, DenyBody, VendorView, SubjectDisclosure, PostureView
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
        .route("/vendors", get(list_vendors))
        .route("/subjects/{id}/disclosures", get(subject_disclosures))
        .route("/documents/{name}", get(get_document))
        .route("/posture", get(posture))
}

// ---------------------------------------------------------------- configuration files

/// A configuration file of the vault directory: its text, or `None` when it does not exist.
async fn read_config(s: &AppState, name: &'static str) -> Result<Option<(PathBuf, String)>, ApiError> {
    let path = s.config().vault.join(name);
    tokio::task::spawn_blocking(move || match std::fs::read_to_string(&path) {
        Ok(t) => Ok(Some((path, t))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(format!("{}: {e}", path.display()))),
    })
    .await
    .map_err(ApiError::internal)?
}

/// A configuration file the clinic wrote wrong: the detail goes to the server's log.
fn misconfigured(path: &std::path::Path, e: &SettingsError) -> ApiError {
    ApiError::internal(format!("{}: {e}", path.display()))
}

/// The registry from `vendors.toml` (empty without it), checked against the catalogue.
async fn registry(s: &AppState) -> Result<VendorRegistry, ApiError> {
    match read_config(s, VENDORS_FILE).await? {
        Some((path, text)) => {
            settings::vendor_registry(&text, s.policy.catalogue()).map_err(|e| misconfigured(&path, &e))
        }
        None => Ok(VendorRegistry::default()),
    }
}

pub(crate) fn calendar() -> HolidayCalendar {
    settings::request_calendar(chrono::Datelike::year(&chrono::Utc::now()))
}

// ---------------------------------------------------------------- data-subject requests

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

// ---------------------------------------------------------------- vendors and disclosures

#[derive(Serialize, ToSchema)]
pub(crate) struct VendorView {
    id: String,
    name: String,
    /// service-provider, contractor, third-party or business-associate.
    role: String,
    region: String,
    purposes: Vec<String>,
    categories: Vec<String>,
    /// The contract terms the signed contract holds.
    terms: Vec<String>,
    /// The terms its role requires that the contract lacks: nothing is disclosed to it until
    /// they are added.
    missing_terms: Vec<String>,
    contact: Option<String>,
}

/// The vendor registry (`vendors.toml` in the vault directory), with the contract terms each
/// vendor lacks (privacy officer, admin).
#[utoipa::path(get, path = "/vendors",
    responses((status = 200, body = [VendorView]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_vendors(State(s): S, p: Principal) -> Result<Json<Vec<VendorView>>, ApiError> {
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, COMPLIANCE, "vendor.list", "vendors".into(), None)?;
        let reg = registry(&s).await?;
        let out: Vec<VendorView> = reg
            .vendors()
            .iter()
            .map(|v| VendorView {
                id: v.id.as_str().to_owned(),
                name: v.name.clone(),
                role: serde_name(&v.role),
                region: v.region.clone(),
                purposes: v.purposes.iter().map(|x| x.as_str().to_owned()).collect(),
                categories: v.categories.iter().map(|c| c.id().to_owned()).collect(),
                terms: v.terms.iter().map(|t| t.id().to_owned()).collect(),
                missing_terms: missing_terms(v).iter().map(|t| t.id().to_owned()).collect(),
                contact: v.contact.clone(),
            })
            .collect();
        jot.change("vendor.list", "administration", "vendors".into(), format!("{} listed", out.len()));
        Ok(out)
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

/// How serde writes a unit enum value (the TOML spelling, e.g. `service-provider`).
fn serde_name(v: &impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubjectDisclosure {
    /// The scan or derivative disclosed.
    node: String,
    at: String,
    /// export, business-purpose, share or sale.
    kind: String,
    purpose: String,
    /// Who received it.
    recipient: String,
    /// The registered vendor, if it went to one.
    vendor: Option<String>,
}

/// The disclosures of a subject's data (the accounting of disclosures): care roles, and the
/// patient themself.
#[utoipa::path(get, path = "/subjects/{id}/disclosures", params(("id" = String, Path)),
    responses((status = 200, body = [SubjectDisclosure]), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn subject_disclosures(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<SubjectDisclosure>>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        let mut roles = CARE.to_vec();
        roles.push(Role::Patient);
        s.gate(&p, &jot, &roles, "disclosure.list", object.clone(), Some(subject))?;
        // An unknown subject is a 404, not an empty list.
        s.vault.scans_of(subject).await?;
        let out: Vec<SubjectDisclosure> = s
            .vault
            .disclosures_of(subject)
            .await?
            .into_iter()
            .map(|d| SubjectDisclosure {
                node: d.node.to_string(),
                at: utc(d.at),
                kind: d.kind,
                purpose: d.purpose.0,
                recipient: d.recipient,
                vendor: d.vendor,
            })
            .collect();
        jot.change("disclosure.list", "administration", object, format!("{} listed", out.len()));
        Ok(out)
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

// ---------------------------------------------------------------- generated documents

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DocumentQuery {
    /// md (default), html or json.
    format: Option<String>,
}

/// A document generated from the live configuration: `record-of-processing` (GDPR Art. 30;
/// privacy officer, admin), `retention-schedule` (the public biometric retention schedule,
/// BIPA 15(a)) or `consent-notices` (the notices per jurisdiction); the public ones to any
/// logged-in caller. Needs `clinic.toml` in the vault directory (404 without it).
#[utoipa::path(get, path = "/documents/{name}", params(("name" = String, Path), DocumentQuery),
    responses((status = 200, content((String = "text/markdown"), (String = "text/html"), (Object = "application/json"))),
              (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
              (status = 404, body = ApiError)))]
async fn get_document(
    State(s): S,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<DocumentQuery>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let format = q.format.as_deref().unwrap_or("md");
        let content_type = match format {
            "md" => "text/markdown; charset=utf-8",
            "html" => "text/html; charset=utf-8",
            "json" => "application/json",
            _ => return Err(ApiError::field("format", "one of md, html, json")),
        };
        let public = match name.as_str() {
            "record-of-processing" => false,
            "retention-schedule" | "consent-notices" => true,
            _ => {
                return Err(ApiError::not_found(
                    "no such document: record-of-processing, retention-schedule or consent-notices",
                ))
            }
        };
        let object = format!("document:{name}");
        if !public {
            s.gate(&p, &jot, COMPLIANCE, "docs.read", object.clone(), None)?;
        }
        let (path, text) = read_config(&s, CLINIC_FILE).await?.ok_or_else(|| {
            ApiError::not_found("the clinic has not written clinic.toml in the vault directory yet")
        })?;
        let clinic = settings::clinic_info(&text).map_err(|e| misconfigured(&path, &e))?;
        let reg = registry(&s).await?;
        let docs = Documents::generate(s.policy.catalogue(), reg.vendors(), &clinic);
        let body = match (name.as_str(), format) {
            ("record-of-processing", "md") => docs.record_of_processing.to_markdown(),
            ("record-of-processing", "html") => docs.record_of_processing.to_html(),
            ("record-of-processing", _) => docs.record_of_processing.to_json().map_err(ApiError::internal)?,
            ("retention-schedule", "md") => docs.retention_schedule.to_markdown(),
            ("retention-schedule", "html") => docs.retention_schedule.to_html(),
            ("retention-schedule", _) => docs.retention_schedule.to_json().map_err(ApiError::internal)?,
            (_, "md") => docs.consent_notices.to_markdown(),
            (_, "html") => docs.consent_notices.to_html(),
            _ => docs.consent_notices.to_json().map_err(ApiError::internal)?,
        };
        jot.change("docs.read", "administration", object, format!("generated as {format}"));
        Ok((content_type, body))
    }
    .await;
    let (content_type, body) = audited(&s, &p, jot, r).await?;
    Ok(([(header::CONTENT_TYPE, content_type), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], body)
        .into_response())
}

// ---------------------------------------------------------------- posture

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PostureQuery {
    /// The day the report is as of (YYYY-MM-DD, from its start, UTC; default now).
    at: Option<String>,
}

/// The privacy posture report: the risk register (`facevault posture --json`).
#[derive(Serialize)]
#[serde(transparent)]
pub(crate) struct PostureView(PostureReport);

impl utoipa::PartialSchema for PostureView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .description(Some(
                "The risk register: at (RFC 3339), criteria, findings (id, category, severity, title, \
                 automated_processing, records, risk) and summary, as `facevault posture --json` prints it.",
            ))
            .into()
    }
}

impl ToSchema for PostureView {}

/// The privacy posture report (risk register) from the live vault, the vendor registry, the
/// requests and the audit log's break-glass entries, scored against `posture.toml` (privacy
/// officer, admin). Names pseudonymous ids only.
#[utoipa::path(get, path = "/posture", params(PostureQuery),
    responses((status = 200, body = PostureView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError)))]
async fn posture(
    State(s): S,
    p: Principal,
    Query(q): Query<PostureQuery>,
) -> Result<Json<PostureView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, COMPLIANCE, "posture.report", "posture".into(), None)?;
        let at: facevault_domain::Timestamp = match q.at.as_deref() {
            Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .filter(|_| d.len() == 10)
                .ok_or_else(|| ApiError::field("at", "not a YYYY-MM-DD date"))?
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
            None => now_ms(),
        };
        let criteria = match read_config(&s, POSTURE_FILE).await? {
            Some((path, text)) => {
                settings::risk_criteria(Some(&text)).map_err(|e| misconfigured(&path, &e))?
            }
            None => settings::risk_criteria(None).map_err(ApiError::internal)?,
        };
        let reg = registry(&s).await?;
        let break_glass = s
            .journal
            .read(|l| break_glass_uses(l.log.store()))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::internal(format!("audit log: {e}")))?;
        let input = s.vault.posture_input(at, &reg, &calendar(), break_glass).await?;
        let report = assess(&input, &criteria);
        let m = &report.summary;
        jot.change(
            "posture.report",
            "administration",
            "posture".into(),
            format!(
                "risk register as of {}: {} finding(s) with records, {} not acceptable (acceptable score {})",
                report.at, m.findings_with_records, m.unacceptable, criteria.acceptable_score
            ),
        );
        Ok(PostureView(report))
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}
