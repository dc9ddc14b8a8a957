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
//! The app's `complete_request` (this module's `CompletionInput` says what `/complete` takes),
//! `vendor_confirmed` and `move_request`: every decision and change is journaled and appended
//! before the response, and the certificate is issued from the durable entry of the deletion.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use facevault_app::time::now_ms;
use facevault_app::{AppError, CompletionInput, Move, Outcome, Seal};
use facevault_audit::DeletionCertificate;
use facevault_domain::request::RequestKind;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::requests::{request_view, transition, RequestView};
use super::{JsonBody, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

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

/// What `/complete` takes for the request's kind: every kind but access (whose answer is the
/// package, `POST /requests/{id}/package`), and corrected details for a correction only.
struct Completion {
    id: String,
    details: Option<CorrectedDetails>,
}

impl CompletionInput for Completion {
    fn fits(&self, kind: RequestKind) -> Result<(), AppError> {
        let id = &self.id;
        if kind == RequestKind::Access {
            return Err(AppError::conflict(format!(
                "request {id} is an access request: POST /api/requests/{id}/package completes it and returns \
                 the encrypted package"
            )));
        }
        if self.details.is_some() && kind != RequestKind::Correct {
            return Err(AppError::field("details", "only a correction request takes corrected details"));
        }
        Ok(())
    }

    fn corrected(&mut self) -> Result<facevault_app::CorrectedDetails, AppError> {
        let d = self.details.take().unwrap_or_default();
        Ok(facevault_app::CorrectedDetails {
            name: d.name,
            dob: d.dob,
            contact: d.contact,
            jurisdiction: d.jurisdiction,
        })
    }

    fn seal(&mut self) -> Result<Seal, AppError> {
        Err(AppError::internal("an access request reached /complete"))
    }
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
    let mut input = Completion { id: id.clone(), details: b.details };
    let done = s.app().complete_request(&p.session(), &id, &mut input).await?;
    let (outcome, erasure, corrected) = match done.outcome {
        Outcome::Erased(e) => {
            let view = ErasureView {
                scans: e.scans,
                derivatives: e.derivatives,
                blobs_purged: e.blobs_purged,
                vendor_notices: e.vendor_notices,
                kept: e.kept.unwrap_or_default().into(),
                certificate: e.certificate.certificate,
            };
            ("erased".to_owned(), Some(view), None)
        }
        Outcome::Corrected(fields) => ("corrected".to_owned(), None, Some(fields)),
        Outcome::Restricted(name) => (format!("{name} set"), None, None),
        Outcome::Packaged(_) => {
            return Err(ApiError::internal("an access request was packaged by /complete"))
        }
    };
    Ok(Json(CompletionView { request: request_view(&done.request, now_ms()), outcome, erasure, corrected }))
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
    let r = s.app().vendor_confirmed(&p.session(), &id, &b.vendor).await?;
    Ok(Json(request_view(&r, now_ms())))
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
    transition(&s, &p, &id, Move::BackupsPurged).await
}
