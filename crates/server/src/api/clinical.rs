//! The clinical and consent endpoints under `/api`, with the CLI's rules:
//!
//! - analyses: `POST /scans/{id}/symmetry` and `POST /compare` run what `facevault scan analyze
//!   symmetry|compare` runs (`facevault_vault::analyses`): an analyze decision per scan, the
//!   analysis on a blocking thread, and the report and result mesh stored as derivatives of the
//!   scans (lineage). The policy decides who may (surgeons and clinical staff, for care).
//! - `POST /subjects/{id}/consent`: records a consent from the form the CLI reads as TOML
//!   (`facevault_domain::consent_form`), sent as JSON with the notice as `text`; checked against
//!   what the subject's jurisdiction requires, and refused (403 `denied`) naming the first
//!   missing element.
//! - `POST /subjects/{id}/restrictions` (`facevault restrict`) and `POST /subjects/{id}/holds`,
//!   `POST /subjects/{id}/holds/release` (`facevault hold place|release`), gated by the CLI's
//!   role lists. A hold's reference is stored sealed; the audit log and replies carry its SHA-256.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use facevault_domain::consent_form::ConsentForm;
use facevault_policy::{gates, AccessGrant, Action};
use facevault_vault::analyses::{Analysis, Outcome};
use facevault_vault::{parse_hold_kind, Node, Restriction, ScanId, SubjectId, Target, VaultError};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{audited, parse_id, Jot, JsonBody, PurposeQuery, CLINICAL, COMPLIANCE, CONSENT, S};
use crate::auth::{sha256_hex, Principal};
use crate::error::ApiError;
use crate::journal::Record;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        analyze_symmetry, analyze_compare, record_consent, set_restriction, place_hold,
        release_hold
    ),
    components(schemas(
        AnalysisView, CompareBody, ConsentBody, ConsentRecorded, RestrictionBody, RestrictionView, HoldBody,
        ReleaseBody, HoldView
    )),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/scans/{id}/symmetry", post(analyze_symmetry))
        .route("/compare", post(analyze_compare))
        .route("/subjects/{id}/consent", post(record_consent))
        .route("/subjects/{id}/restrictions", post(set_restriction))
        .route("/subjects/{id}/holds", post(place_hold))
        .route("/subjects/{id}/holds/release", post(release_hold))
}

// ---------------------------------------------------------------- analyses

/// What an analysis stored, and its report.
#[derive(Serialize, ToSchema)]
pub(crate) struct AnalysisView {
    /// `symmetry` or `compare`.
    analysis: String,
    /// The scans analysed (the derivatives' parents).
    scans: Vec<String>,
    /// The derivative holding the report (kind `measurements`).
    measurements: String,
    /// The derivative holding the result mesh (kind `mesh`): the symmetrized surface, or the
    /// post scan aligned onto the pre scan.
    mesh: String,
    /// The report as stored (parameters, software version, plane or registration, figures).
    #[schema(value_type = Object)]
    report: serde_json::Value,
}

/// Decides, runs and stores one analysis; the caller has parsed the ids and the purpose.
async fn run_analysis(
    s: &AppState,
    p: &Principal,
    jot: &Jot,
    analysis: Analysis,
    purpose: &str,
    break_glass: Option<&str>,
) -> Result<AnalysisView, ApiError> {
    let mut grants: Vec<AccessGrant> = Vec::new();
    for scan in analysis.scans() {
        let target = Target::Node(Node::Scan(scan));
        grants.push(s.decide(p, jot, "scan.analyze", Action::Analyze, purpose, target, break_glass).await?);
    }
    let grants: Vec<&AccessGrant> = grants.iter().collect();
    let job = s.vault.prepare_analysis(analysis, &grants).await.map_err(|e| match (e, analysis) {
        (VaultError::ParentOfOtherSubject { .. }, Analysis::Compare { pre, post }) => ApiError::field(
            "post",
            format!("scans {pre} and {post} belong to different subjects: compare one subject's scans"),
        ),
        (e, _) => e.into(),
    })?;
    let outcome: Outcome = tokio::task::spawn_blocking(move || job.run(&mut |_| ()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| analysis_failed(analysis, &e))?;
    let stored = s.vault.store_analysis(&grants, &outcome).await?;
    let scans: Vec<String> = analysis.scans().iter().map(|x| format!("scan:{x}")).collect();
    for (id, kind) in [(stored.measurements, "report"), (stored.mesh, "mesh")] {
        jot.change(
            "derivative.add",
            purpose,
            format!("derivative:{id}"),
            format!("{} {kind} of {}", analysis.name(), scans.join(", ")),
        );
    }
    Ok(AnalysisView {
        analysis: analysis.name().into(),
        scans: analysis.scans().iter().map(ToString::to_string).collect(),
        measurements: stored.measurements.to_string(),
        mesh: stored.mesh.to_string(),
        report: serde_json::to_value(&outcome.report).map_err(ApiError::internal)?,
    })
}

/// An analysis that ran but could not give a trustworthy answer (too small a scan, a poor
/// alignment): the scans are the problem, not the request's form.
fn analysis_failed(analysis: Analysis, e: &impl std::fmt::Display) -> ApiError {
    let what = match analysis {
        Analysis::Symmetry { scan } => format!("symmetry analysis of scan {scan}"),
        Analysis::Compare { pre, post } => format!("comparison of scan {post} with scan {pre}"),
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "analysis_failed", format!("{what} failed: {e}"))
}

fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// Mid-sagittal plane and asymmetry of a scan (as `facevault scan analyze symmetry`): an
/// analyze decision for the purpose, then the report and the symmetrized surface are stored as
/// derivatives of the scan. 422 when the scan does not allow a trustworthy answer.
#[utoipa::path(post, path = "/scans/{id}/symmetry", params(("id" = String, Path), PurposeQuery),
    responses((status = 201, body = AnalysisView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
async fn analyze_symmetry(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let scan: ScanId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        let analysis = Analysis::Symmetry { scan };
        run_analysis(&s, &p, &jot, analysis, &purpose, q.break_glass.as_deref()).await
    }
    .await;
    audited(&s, &p, jot, r).await.map(created)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompareBody {
    /// The reference (pre-op) scan.
    pre: String,
    /// The scan registered onto it (post-op); the same subject's.
    post: String,
    /// A purpose of the catalogue; default `treatment-planning`.
    purpose: Option<String>,
    /// Emergency access (HIPAA break-glass): the reason, reviewed by the privacy officer.
    break_glass: Option<String>,
}

/// Registers `post` onto `pre` and maps the change (as `facevault scan analyze compare`): an
/// analyze decision per scan, then the report and the aligned post scan are stored as
/// derivatives of both. 400 when the scans are two subjects'; 422 when they cannot be aligned.
#[utoipa::path(post, path = "/compare", request_body = CompareBody,
    responses((status = 201, body = AnalysisView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError),
              (status = 415, body = ApiError), (status = 422, body = ApiError)))]
async fn analyze_compare(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<CompareBody>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let pre: ScanId = parse_id("pre", &b.pre)?;
        let post: ScanId = parse_id("post", &b.post)?;
        let purpose = p.purpose(b.purpose.as_deref(), CLINICAL)?;
        let analysis = Analysis::Compare { pre, post };
        run_analysis(&s, &p, &jot, analysis, &purpose, b.break_glass.as_deref()).await
    }
    .await;
    audited(&s, &p, jot, r).await.map(created)
}

// ---------------------------------------------------------------- consent

/// The consent form, with the fields of the CLI's TOML file (docs/examples/consent-il.toml):
/// `jurisdiction` (IL, TX, WA, CA, EU, other), `collect`, `share`, `limit_use` (booleans),
/// `expires` (YYYY-MM-DD), `notice` {`version`, `text`, `covers`: [purposes, retention,
/// withdrawal, limit-use]}, `signature` {`method`: handwritten|electronic|verbal, `typed_name`,
/// `at` (RFC 3339, default now)}, `purpose`: [{`id`, `retention` ("3y", "18m", "30d")}],
/// `sale_authorization` {`buyer`, `signed`, `expires`}. The notice is sent as `text`: the
/// server reads no file.
#[derive(Deserialize, ToSchema)]
#[schema(value_type = Object, example = json!({
    "jurisdiction": "IL", "collect": true,
    "notice": {"version": "il-2026-01", "text": "The notice shown.", "covers": ["purposes", "retention", "withdrawal"]},
    "signature": {"method": "electronic", "typed_name": "A. Patient"},
    "purpose": [{"id": "treatment-planning", "retention": "3y"}]
}))]
pub(crate) struct ConsentBody(ConsentForm);

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsentRecorded {
    id: String,
    subject: String,
    jurisdiction: String,
    purposes: Vec<String>,
}

/// Records a subject's consent (as `facevault consent add`); it supersedes any earlier one. It
/// is checked against what the subject's jurisdiction requires: a consent lacking an element
/// (IL: a written release, signed) is refused with 403 `denied` naming the element and its
/// rule. A value the form cannot hold (an unknown purpose, a bad date) is 400 naming the field.
#[utoipa::path(post, path = "/subjects/{id}/consent", params(("id" = String, Path)), request_body = ConsentBody,
    responses((status = 201, body = ConsentRecorded), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError),
              (status = 415, body = ApiError)))]
async fn record_consent(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(ConsentBody(form)): JsonBody<ConsentBody>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, CONSENT, "consent.add", object.clone(), Some(subject))?;
        s.vault.scans_of(subject).await?;
        let no_file = |_: &str| {
            Err("send the notice as `text`: the server reads no file named in a request".to_owned())
        };
        let (j, draft) = form
            .draft(s.policy.catalogue(), super::now_ms(), no_file)
            .map_err(|e| ApiError::field(&e.field, e.message))?;
        let purposes: Vec<String> = draft.purposes.iter().map(|g| g.purpose.id.as_str().to_owned()).collect();
        match s.vault.record_consent(subject, j, &draft).await {
            Ok(id) => {
                jot.change(
                    "consent.add",
                    "consent",
                    object,
                    format!("consent {id} ({j}) for {}", purposes.join(", ")),
                );
                Ok(ConsentRecorded {
                    id: id.to_string(),
                    subject: subject.to_string(),
                    jurisdiction: j.to_string(),
                    purposes,
                })
            }
            Err(VaultError::ConsentRefused { subject, reason }) => {
                jot.push(Record {
                    action: "consent.add",
                    purpose: "consent".into(),
                    object,
                    allowed: false,
                    reason: reason.clone(),
                });
                Err(VaultError::ConsentRefused { subject, reason }.into())
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    audited(&s, &p, jot, r).await.map(created)
}

// ---------------------------------------------------------------- restrictions and holds

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RestrictionBody {
    /// `opt-out` (of sale and sharing, CCPA/CPRA 1798.120) or `limit-use` (of sensitive
    /// personal information to the care asked for, 1798.121).
    restriction: String,
    /// Lift the restriction instead of setting it.
    #[serde(default)]
    lift: bool,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RestrictionView {
    subject: String,
    restriction: String,
    /// Whether it now applies (to every decision from now on).
    active: bool,
}

/// Sets or lifts a subject's restriction (as `facevault restrict`): the front desk, the
/// privacy office, and a patient for themself.
#[utoipa::path(post, path = "/subjects/{id}/restrictions", params(("id" = String, Path)), request_body = RestrictionBody,
    responses((status = 200, body = RestrictionView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn set_restriction(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RestrictionBody>,
) -> Result<Json<RestrictionView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, gates::RESTRICTION, "restriction.set", object.clone(), Some(subject))?;
        let (r, name) = match b.restriction.as_str() {
            "opt-out" => (Restriction::OptOut, "opt-out"),
            "limit-use" => (Restriction::LimitUse, "limit-use"),
            _ => return Err(ApiError::field("restriction", "opt-out or limit-use")),
        };
        s.vault.scans_of(subject).await?;
        s.vault.set_restriction(subject, r, !b.lift).await?;
        let verb = if b.lift { "lifted" } else { "set" };
        jot.change("restriction.set", name, object, format!("{name} {verb}"));
        Ok(RestrictionView { subject: subject.to_string(), restriction: name.into(), active: !b.lift })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoldBody {
    /// `warrant`, `subpoena` or `litigation`.
    kind: String,
    /// The docket or case reference (stored sealed; the audit log keeps only its SHA-256).
    reference: String,
    /// Why (stored sealed). Do not name the patient.
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseBody {
    /// The reference of the open hold.
    reference: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HoldView {
    subject: String,
    /// The SHA-256 of the hold's reference, as the audit log names it.
    reference_sha256: String,
    /// `placed` or `released`.
    status: String,
}

/// Places a legal hold (as `facevault hold place`; privacy officer, admin): every destruction
/// of the subject's data is suspended until it is released. 409 if a hold with this reference
/// is already open.
#[utoipa::path(post, path = "/subjects/{id}/holds", params(("id" = String, Path)), request_body = HoldBody,
    responses((status = 201, body = HoldView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn place_hold(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<HoldBody>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, COMPLIANCE, "hold.place", object.clone(), Some(subject))?;
        let kind = parse_hold_kind(&b.kind)
            .ok_or_else(|| ApiError::field("kind", "warrant, subpoena or litigation"))?;
        if b.reference.trim().is_empty() || b.reference.len() > 1024 {
            return Err(ApiError::field("reference", "1 to 1024 bytes"));
        }
        if b.reason.trim().is_empty() || b.reason.len() > 4096 {
            return Err(ApiError::field("reason", "1 to 4096 bytes"));
        }
        s.vault.scans_of(subject).await?;
        s.vault.place_hold(subject, kind, &b.reference, &b.reason).await?;
        let hash = sha256_hex(b.reference.as_bytes());
        jot.change(
            "hold.place",
            "legal-hold",
            object,
            format!("{} hold placed, reference sha256:{hash}", b.kind),
        );
        Ok(HoldView { subject: subject.to_string(), reference_sha256: hash, status: "placed".into() })
    }
    .await;
    audited(&s, &p, jot, r).await.map(created)
}

/// Releases a legal hold (as `facevault hold release`; privacy officer, admin): what fell due
/// meanwhile becomes due today. 409 if no open hold has this reference.
#[utoipa::path(post, path = "/subjects/{id}/holds/release", params(("id" = String, Path)), request_body = ReleaseBody,
    responses((status = 200, body = HoldView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn release_hold(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReleaseBody>,
) -> Result<Json<HoldView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, COMPLIANCE, "hold.release", object.clone(), Some(subject))?;
        s.vault.scans_of(subject).await?;
        s.vault.release_hold(subject, &b.reference).await?;
        let hash = sha256_hex(b.reference.as_bytes());
        jot.change("hold.release", "legal-hold", object, format!("hold released, reference sha256:{hash}"));
        Ok(HoldView { subject: subject.to_string(), reference_sha256: hash, status: "released".into() })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}
