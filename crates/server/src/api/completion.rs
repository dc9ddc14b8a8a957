//! Carrying out a data-subject request over HTTP (the privacy officer and admin, as `facevault
//! request complete` and its companions):
//!
//! - `POST /requests/{id}/complete` acts on the vault for the request's kind, then moves the
//!   request to completed:
//!   - delete: refused while a legal hold stands (deny the request with its basis instead);
//!     otherwise the subject is crypto-shredded under a policy decision, every vendor that
//!     received data gets a deletion notice (pending until it confirms), what the law keeps is
//!     recorded, the blobs are purged, and the signed deletion certificate is returned and
//!     written to the vault's `certificates/` folder, as the CLI does;
//!   - correct: the corrected identity fields in the body replace the stored ones (sealed);
//!   - opt-out, limit-use: the restriction is set, for every decision from then on;
//!   - access: refused with 409 naming `POST /requests/{id}/package` (`package.rs`), which
//!     answers with the encrypted package itself.
//! - `POST /requests/{id}/vendor-confirmed` records a vendor's confirmation of its deletion.
//! - `POST /requests/{id}/backups-purged` records that an MHMDA deletion reached the backups.
//!
//! Every decision and change is journaled and appended before the response, like the rest of
//! the API; the certificate is issued from the durable entry of the deletion.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use facevault_audit::{deletion_reason, issue_from_log, Deletion, DeletionCertificate, Destroyed};
use facevault_domain::request::{HolidayCalendar, Request, RequestKind};
use facevault_policy::Action;
use facevault_vault::oversight::ERASURE_KEEPS;
use facevault_vault::{Restriction, SubjectId, Target};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::requests::{calendar, conflict, request_id, request_view, update, RequestView};
use super::{now_ms, Jot, JsonBody, COMPLIANCE, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::journal::Record;
use crate::AppState;

/// Where deletion certificates are kept, in the vault directory (as the CLI keeps them).
const CERTIFICATE_DIR: &str = "certificates";

#[derive(OpenApi)]
#[openapi(
    paths(complete_request, vendor_confirmed, backups_purged),
    components(schemas(CompleteBody, CorrectedDetails, CompletionView, ErasureView, VendorBody)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/requests/{id}/complete", post(complete_request))
        .route("/requests/{id}/vendor-confirmed", post(vendor_confirmed))
        .route("/requests/{id}/backups-purged", post(backups_purged))
}

/// The corrected identity fields; those given replace the stored ones.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorrectedDetails {
    name: Option<String>,
    /// Date of birth as the clinic writes it.
    dob: Option<String>,
    contact: Option<String>,
    /// IL, TX, WA, CA, EU or another code.
    jurisdiction: Option<String>,
}

impl CorrectedDetails {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.dob.is_none() && self.contact.is_none() && self.jurisdiction.is_none()
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompleteBody {
    /// A correction request's corrected fields (required for `correct`, refused otherwise).
    details: Option<CorrectedDetails>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErasureView {
    scans: usize,
    derivatives: usize,
    blobs_purged: usize,
    /// Vendors sent a deletion notice, pending until each confirms.
    vendor_notices: Vec<String>,
    /// What the law requires keeping.
    kept: String,
    /// The signed deletion certificate (check it with `facevault certificate verify`).
    #[schema(value_type = Object)]
    certificate: DeletionCertificate,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CompletionView {
    request: RequestView,
    /// What was done: `erased`, `corrected`, `opt-out set` or `limit-use set`.
    outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    erasure: Option<ErasureView>,
    /// The fields a correction replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    corrected: Option<Vec<String>>,
}

fn subject_of(r: &Request) -> Result<SubjectId, ApiError> {
    r.subject().0.parse().map_err(|e: String| ApiError::internal(format!("request {}: {e}", r.id())))
}

/// A request about to be completed, after every check that comes before acting on the vault.
pub(crate) struct Completing {
    pub(crate) id: String,
    /// `request:<id>`, as the audit log names it.
    pub(crate) object: String,
    pub(crate) request: Request,
    pub(crate) subject: SubjectId,
    /// The purpose its actions are decided for: the first the subject consented to.
    pub(crate) purpose: String,
    cal: HolidayCalendar,
    now: facevault_domain::Timestamp,
}

/// Checks a completion of request `id` (privacy officer, admin): the request exists, passes
/// `fits` (what this endpoint takes of its kind), may move to completed, and an API token is
/// issued for the purpose its actions are decided for. Nothing is done to the vault yet.
pub(crate) async fn begin(
    s: &AppState,
    p: &Principal,
    jot: &Jot,
    id: &str,
    fits: impl FnOnce(&Request) -> Result<(), ApiError>,
) -> Result<Completing, ApiError> {
    let id = request_id(id)?;
    let object = format!("request:{id}");
    s.gate(p, jot, COMPLIANCE, "request.complete", object.clone(), None)?;
    let cal = calendar();
    let now = now_ms();
    let request = s.vault.request(&id, &cal).await?;
    let subject = subject_of(&request)?;
    fits(&request)?;
    request.clone().complete(now).map_err(|e| conflict(format!("request {id}: {e}")))?;
    // An API token acts only for its purposes, here too.
    let purpose = p.purpose(None, &s.vault.delete_purpose(subject).await?)?;
    Ok(Completing { id, object, request, subject, purpose, cal, now })
}

impl Completing {
    /// Moves the request to completed, once its work is done, and journals the move.
    pub(crate) async fn finish(self, s: &AppState, jot: &Jot) -> Result<Request, ApiError> {
        let now = self.now;
        let r = update(s, &self.id, &self.cal, |r| r.complete(now)).await?;
        jot.change("request.complete", "request", self.object, r.state().name());
        Ok(r)
    }
}

/// A corrected field's new value, if given; an empty one is refused naming the field.
fn given(
    name: &'static str,
    value: Option<String>,
    changed: &mut Vec<String>,
) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Err(ApiError::field(
            &format!("details.{name}"),
            "must not be empty (leave it out to keep it)",
        ));
    }
    changed.push(name.to_owned());
    Ok(Some(v.to_owned()))
}

/// A deletion journaled, waiting for its entry's index to be issued a certificate.
struct PendingErasure {
    journal_index: usize,
    deletion: Deletion,
    scans: usize,
    derivatives: usize,
    blobs_purged: usize,
    vendor_notices: Vec<String>,
}

/// Carries out the request on the vault and completes it (privacy officer, admin).
#[utoipa::path(post, path = "/requests/{id}/complete", params(("id" = String, Path)), request_body = CompleteBody,
    responses((status = 200, body = CompletionView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn complete_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<CompleteBody>,
) -> Result<Json<CompletionView>, ApiError> {
    let jot = Jot::default();
    let done = carry_out(&s, &p, &jot, &id, b).await;
    let first = s.commit_at(&p, jot).await?;
    let (mut view, pending) = done?;
    if let Some(e) = pending {
        let index = first + e.journal_index as u64;
        view.erasure = Some(ErasureView {
            certificate: certify(&s, index, e.deletion).await?,
            scans: e.scans,
            derivatives: e.derivatives,
            blobs_purged: e.blobs_purged,
            vendor_notices: e.vendor_notices,
            kept: ERASURE_KEEPS.into(),
        });
    }
    Ok(Json(view))
}

async fn carry_out(
    s: &AppState,
    p: &Principal,
    jot: &Jot,
    id: &str,
    b: CompleteBody,
) -> Result<(CompletionView, Option<PendingErasure>), ApiError> {
    let c = begin(s, p, jot, id, |r| {
        if b.details.is_some() && r.kind() != RequestKind::Correct {
            return Err(ApiError::field("details", "only a correction request takes corrected details"));
        }
        Ok(())
    })
    .await?;
    let (id, object, subject, purpose) = (&c.id, &c.object, c.subject, &c.purpose);
    let mut pending = None;
    let mut corrected = None;
    let outcome = match c.request.kind() {
        RequestKind::Access => {
            return Err(conflict(format!(
                "request {id} is an access request: POST /api/requests/{id}/package completes it and returns \
                 the encrypted package"
            )))
        }
        RequestKind::Delete => {
            pending = Some(erase(s, p, jot, &c.request, subject, purpose).await?);
            "erased"
        }
        RequestKind::Correct => {
            let fields = b.details.unwrap_or_default();
            if fields.is_empty() {
                return Err(ApiError::field("details", "a correction needs the corrected fields"));
            }
            let grant = s
                .decide(p, jot, "subject.correct", Action::Read, purpose, Target::Subject(subject), None)
                .await?;
            let mut details = s.vault.subject(&grant, subject).await?.details;
            let mut changed = Vec::new();
            if let Some(v) = given("name", fields.name, &mut changed)? {
                details.name = v;
            }
            if let Some(v) = given("dob", fields.dob, &mut changed)? {
                details.date_of_birth = Some(v);
            }
            if let Some(v) = given("contact", fields.contact, &mut changed)? {
                details.contact = Some(v);
            }
            if let Some(v) = given("jurisdiction", fields.jurisdiction, &mut changed)? {
                details.jurisdiction = Some(v);
            }
            s.vault.correct_details(&grant, subject, &details).await?;
            jot.change(
                "subject.correct",
                "request",
                format!("subject:{subject}"),
                format!("{} corrected for request:{id}", changed.join(", ")),
            );
            corrected = Some(changed);
            "corrected"
        }
        RequestKind::OptOut => {
            s.vault.set_restriction(subject, Restriction::OptOut, true).await?;
            jot.change(
                "restriction.set",
                "opt-out",
                format!("subject:{subject}"),
                format!("opt-out set for {object}"),
            );
            "opt-out set"
        }
        RequestKind::LimitUse => {
            s.vault.set_restriction(subject, Restriction::LimitUse, true).await?;
            jot.change(
                "restriction.set",
                "limit-use",
                format!("subject:{subject}"),
                format!("limit-use set for {object}"),
            );
            "limit-use set"
        }
    };
    let r = c.finish(s, jot).await?;
    let view = CompletionView {
        request: request_view(&r, now_ms()),
        outcome: outcome.into(),
        erasure: None,
        corrected,
    };
    Ok((view, pending))
}

/// The erasure of a deletion request: refused under a legal hold; else vendors noticed, the
/// subject crypto-shredded under a decision, the deletion journaled for its certificate.
async fn erase(
    s: &AppState,
    p: &Principal,
    jot: &Jot,
    r: &Request,
    subject: SubjectId,
    purpose: &str,
) -> Result<PendingErasure, ApiError> {
    let object = format!("request:{}", r.id());
    // A legal hold is an exception the law requires: the data stays, the request is denied.
    if s.vault.governance(subject).await?.open_hold().is_some() {
        let reason = "a legal hold suspends destruction of this subject's data".to_owned();
        jot.push(Record {
            action: "request.erasure",
            purpose: "request".into(),
            object,
            allowed: false,
            reason: reason.clone(),
        });
        return Err(conflict(format!(
            "{reason}; deny the request with its basis (POST /api/requests/{}/deny)",
            r.id()
        )));
    }
    let vendors = s.vault.disclosed_vendors(subject).await?;
    let grant =
        s.decide(p, jot, "subject.delete", Action::Delete, purpose, Target::Subject(subject), None).await?;
    let report = s.vault.shred_subject(&grant, subject).await?;
    let destroyed: Vec<Destroyed> = report.destroyed();
    let rule = object.clone();
    let reason = deletion_reason(&rule, &destroyed).map_err(ApiError::internal)?;
    let journal_index =
        jot.push_at(Record::change("request.erasure", "erasure", format!("subject:{subject}"), reason));
    for v in &vendors {
        s.vault.notify_vendor(&r.id().0, subject, v).await?;
        jot.change(
            "request.vendor-notice",
            "request",
            object.clone(),
            format!("deletion notice to vendor {v}"),
        );
    }
    jot.change("request.erasure-exceptions", "request", object, ERASURE_KEEPS);
    let purged = s.vault.purge_blobs(|_, _| {}).await?;
    Ok(PendingErasure {
        journal_index,
        deletion: Deletion {
            subject: subject.to_string(),
            destroyed,
            rule,
            key_id: Some(format!("subject-key:{subject}")),
        },
        scans: report.scans,
        derivatives: report.derivatives,
        blobs_purged: purged,
        vendor_notices: vendors,
    })
}

/// Issues the certificate of the deletion journaled at `index` (durable by now) against a
/// fresh signed checkpoint and writes it to `certificates/`.
async fn certify(s: &AppState, index: u64, deletion: Deletion) -> Result<DeletionCertificate, ApiError> {
    let path = s.config().vault.join(CERTIFICATE_DIR).join(format!("{}-{index}.json", deletion.subject));
    let cert = s
        .journal
        .read(move |log| {
            let note = log.checkpoint()?;
            issue_from_log(&log.log, &note, &log.key, index, &deletion).map_err(|e| e.to_string())
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut json = serde_json::to_vec_pretty(&cert).map_err(ApiError::internal)?;
    json.push(b'\n');
    tokio::task::spawn_blocking(move || {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        facevault_crypto::write_private(&path, &json)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(cert)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VendorBody {
    /// The vendor's id in the registry.
    vendor: String,
}

/// Records that a vendor confirmed deleting what it received (privacy officer, admin).
#[utoipa::path(post, path = "/requests/{id}/vendor-confirmed", params(("id" = String, Path)), request_body = VendorBody,
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError),
              (status = 415, body = ApiError)))]
async fn vendor_confirmed(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<VendorBody>,
) -> Result<Json<RequestView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let id = request_id(&id)?;
        let object = format!("request:{id}");
        s.gate(&p, &jot, COMPLIANCE, "request.vendor-confirmed", object.clone(), None)?;
        let r = s.vault.request(&id, &calendar()).await?;
        if !s.vault.confirm_vendor(&id, &b.vendor).await? {
            return Err(ApiError::not_found(format!("request {id} sent no notice to vendor {:?}", b.vendor)));
        }
        jot.change(
            "request.vendor-confirmed",
            "request",
            object,
            format!("vendor {} confirmed deletion", b.vendor),
        );
        Ok(request_view(&r, now_ms()))
    }
    .await;
    super::audited(&s, &p, jot, r).await.map(Json)
}

/// Records that an MHMDA deletion also reached the backups (privacy officer, admin).
#[utoipa::path(post, path = "/requests/{id}/backups-purged", params(("id" = String, Path)),
    responses((status = 200, body = RequestView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn backups_purged(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let now = now_ms();
    super::requests::transition(&s, &p, &id, "request.backups-purged", |r| r.record_backups_purged(now))
        .await
        .map(Json)
}
