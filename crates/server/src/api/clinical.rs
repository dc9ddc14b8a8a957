//! The clinical and consent endpoints under `/api`, the app's use cases as the CLI runs them:
//!
//! - analyses: `POST /scans/{id}/symmetry` and `POST /compare` (`analyze`): an analyze decision
//!   per scan, the analysis on a blocking thread, and the report and result mesh stored as
//!   derivatives of the scans (lineage). The policy decides who may (surgeons and clinical
//!   staff, for care). The options (side kept; mask, direction, regions, threshold) are the
//!   vault's `AnalysisOptions`, checked by the app: a value no analysis can run is a 400
//!   naming its field.
//! - `POST /subjects/{id}/consent`: records a consent from the form the CLI reads as TOML
//!   (`facevault_domain::consent_form`), sent as JSON with the notice as `text`; checked against
//!   what the subject's jurisdiction requires, and refused (403 `denied`) naming the first
//!   missing element.
//! - `POST /subjects/{id}/restrictions` (`facevault restrict`) and `POST /subjects/{id}/holds`,
//!   `POST /subjects/{id}/holds/release` (`facevault hold place|release`), gated by the CLI's
//!   role lists. A hold's reference is stored sealed; the audit log and replies carry its SHA-256.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use facevault_app::{parse_restriction, restriction_name, Analysed};
use facevault_domain::consent_form::ConsentForm;
use facevault_vault::analyses::{Analysis, AnalysisOptions, Region};
use facevault_vault::{ScanId, SubjectId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{parse_id, JsonBody, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        analyze_symmetry, analyze_compare, record_consent, set_restriction, place_hold,
        release_hold
    ),
    components(schemas(
        AnalysisView, CompareBody, RegionBody, ConsentBody, ConsentRecorded, RestrictionBody, RestrictionView, HoldBody,
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

/// What the app's `analyze` stored, as the API shows it.
fn analysis_view(a: Analysed) -> Result<AnalysisView, ApiError> {
    Ok(AnalysisView {
        analysis: a.analysis.name().into(),
        scans: a.analysis.scans().iter().map(ToString::to_string).collect(),
        measurements: a.stored.measurements.to_string(),
        mesh: a.stored.mesh.to_string(),
        report: serde_json::to_value(&a.outcome.report).map_err(ApiError::internal)?,
    })
}

fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// The symmetry analysis's query: `PurposeQuery`'s fields and the side kept.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SymmetryQuery {
    /// A purpose of the catalogue (GET /api/purposes); default `treatment-planning`.
    purpose: Option<String>,
    /// Emergency access (HIPAA break-glass): the reason, reviewed by the privacy officer.
    /// Do not name the patient. Valid for one hour.
    break_glass: Option<String>,
    /// Keep the scan's -x side when symmetrizing (`true` or `false`; default `false`: the +x
    /// side, the patient's left in the usual scanner frame).
    #[param(value_type = Option<bool>, example = true)]
    keep_negative_side: Option<String>,
}

/// A query string that does not parse: 400 naming `query` (a query's fields are strings
/// here, so only its shape can be wrong).
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|e| ApiError::field("query", e.body_text()))
}

/// Mid-sagittal plane and asymmetry of a scan (as `facevault scan analyze symmetry`): an
/// analyze decision for the purpose, then the report and the symmetrized surface are stored as
/// derivatives of the scan; `keep_negative_side` keeps the scan's -x side. 422 when the scan
/// does not allow a trustworthy answer.
#[utoipa::path(post, path = "/scans/{id}/symmetry", params(("id" = String, Path), SymmetryQuery),
    responses((status = 201, body = AnalysisView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
async fn analyze_symmetry(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    q: Result<Query<SymmetryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let scan: ScanId = parse_id("id", &id)?;
    let q = query(q)?;
    let keep_negative_side = match q.keep_negative_side.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::field("keep_negative_side", format!("{other:?}: true or false")));
        }
    };
    let analysis = Analysis::Symmetry { scan };
    let options = AnalysisOptions { keep_negative_side, ..AnalysisOptions::default() };
    let a = s
        .app()
        .analyze(&p.session(), analysis, &options, q.purpose.as_deref(), q.break_glass.as_deref())
        .await?;
    Ok(created(analysis_view(a)?))
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
    /// Register on these stable regions only: spheres `[x, y, z, radius]` in mm in the post
    /// scan's coordinates (radius above 0; at most 32), e.g. the forehead. Every vertex when
    /// absent.
    #[schema(value_type = Option<Vec<Vec<f64>>>, max_items = 32, example = json!([[0.0, 70.0, 85.0, 30.0]]))]
    mask: Option<Vec<[f64; 4]>>,
    /// Also measure displacement along this direction `[x, y, z]` (the pre scan's coordinates;
    /// not zero), e.g. the planned direction of a reduction.
    #[schema(value_type = Option<Vec<f64>>, min_items = 3, max_items = 3, example = json!([0.0, 0.0, -1.0]))]
    direction: Option<[f64; 3]>,
    /// Regions (the pre scan's coordinates) summarised separately; at most 32.
    #[schema(max_items = 32, example = json!([{"name": "nose", "centre": [0.0, 20.0, 110.0], "radius_mm": 20.0}]))]
    regions: Option<Vec<RegionBody>>,
    /// |distance| above this (mm, 0 or more) counts toward the area figure; default 0.5.
    #[schema(minimum = 0.0, example = 0.5)]
    threshold_mm: Option<f64>,
}

/// A spherical region of interest, in the pre scan's coordinates.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "nose", "centre": [0.0, 20.0, 110.0], "radius_mm": 20.0}))]
pub(crate) struct RegionBody {
    /// The region's name in the report.
    name: String,
    /// `[x, y, z]`, mm.
    #[schema(value_type = Vec<f64>, min_items = 3, max_items = 3)]
    centre: [f64; 3],
    /// Above 0, mm.
    #[schema(exclusive_minimum = 0.0)]
    radius_mm: f64,
}

/// Registers `post` onto `pre` and maps the change (as `facevault scan analyze compare`): an
/// analyze decision per scan, then the report and the aligned post scan are stored as
/// derivatives of both, with the options as their parameters. 400 naming the field when an
/// option cannot be run (a radius of 0 or less, a zero direction, a negative threshold, over
/// 32 spheres or regions) or the scans are two subjects'; 422 when they cannot be aligned.
#[utoipa::path(post, path = "/compare", request_body = CompareBody,
    responses((status = 201, body = AnalysisView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError),
              (status = 415, body = ApiError), (status = 422, body = ApiError)))]
async fn analyze_compare(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<CompareBody>,
) -> Result<Response, ApiError> {
    let pre: ScanId = parse_id("pre", &b.pre)?;
    let post: ScanId = parse_id("post", &b.post)?;
    let analysis = Analysis::Compare { pre, post };
    let options = AnalysisOptions {
        keep_negative_side: false,
        mask: b.mask.unwrap_or_default(),
        direction: b.direction,
        regions: (b.regions.unwrap_or_default().into_iter())
            .map(|r| Region { name: r.name, centre: r.centre, radius_mm: r.radius_mm })
            .collect(),
        threshold_mm: b.threshold_mm,
    };
    let a = s
        .app()
        .analyze(&p.session(), analysis, &options, b.purpose.as_deref(), b.break_glass.as_deref())
        .await?;
    Ok(created(analysis_view(a)?))
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
    /// `active`, or `pending`: recorded by staff for a purpose beyond care or after the patient
    /// withdrew, it grants nothing until the patient confirms it or the privacy officer approves
    /// it (`POST .../consent/{consent}/confirm`, `.../approve`).
    state: String,
    /// Why it waits.
    pending_reason: Option<String>,
}

/// Records a subject's consent (as `facevault consent add`); once in force it supersedes any
/// earlier one. Staff recording one for a purpose beyond care, or after the patient withdrew,
/// get it `pending`: it grants nothing until confirmed or approved. It
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
    let subject: SubjectId = parse_id("id", &id)?;
    let no_file =
        |_: &str| Err("send the notice as `text`: the server reads no file named in a request".to_owned());
    let c = s.app().record_consent(&p.session(), subject, &form, no_file).await?;
    Ok(created(ConsentRecorded {
        id: c.id.to_string(),
        subject: c.subject.to_string(),
        jurisdiction: c.jurisdiction,
        purposes: c.purposes,
        state: if c.pending.is_some() { "pending" } else { "active" }.to_owned(),
        pending_reason: c.pending,
    }))
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
/// privacy office, and a patient for themself. An opt-out is lifted only by the patient
/// (CCPA 1798.135(c)(4)): staff are answered 403 `denied`.
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
    let subject: SubjectId = parse_id("id", &id)?;
    let r = parse_restriction(&b.restriction)
        .ok_or_else(|| ApiError::field("restriction", "opt-out or limit-use"))?;
    s.app().set_restriction(&p.session(), subject, r, b.lift).await?;
    Ok(Json(RestrictionView {
        subject: subject.to_string(),
        restriction: restriction_name(r).into(),
        active: !b.lift,
    }))
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
    /// Why the hold's kind is outside the subject's statute (a litigation hold under BIPA
    /// 15(a), any hold under CUBI): it suspends destruction all the same, for counsel.
    #[serde(skip_serializing_if = "Option::is_none")]
    outside_statute: Option<String>,
}

/// Places a legal hold (as `facevault hold place`; privacy officer, admin): every destruction
/// of the subject's data is suspended until it is released, whatever its kind; a kind the
/// subject's law does not name is placed too and answered with `outside_statute`. 409 if a hold with this reference
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
    let subject: SubjectId = parse_id("id", &id)?;
    let placed = s.app().place_hold(&p.session(), subject, &b.kind, &b.reference, &b.reason).await?;
    Ok(created(HoldView {
        subject: subject.to_string(),
        reference_sha256: placed.reference_sha256,
        status: "placed".into(),
        outside_statute: placed.outside_statute,
    }))
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
    let subject: SubjectId = parse_id("id", &id)?;
    let hash = s.app().release_hold(&p.session(), subject, &b.reference).await?;
    Ok(Json(HoldView {
        subject: subject.to_string(),
        reference_sha256: hash,
        status: "released".into(),
        outside_statute: None,
    }))
}
