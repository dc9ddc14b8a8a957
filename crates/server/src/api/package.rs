//! The access and portability package over HTTP (`facevault-export`, the same archive the CLI
//! writes), answered as an `application/octet-stream` attachment:
//!
//! - `POST /subjects/{id}/export`: a subject's package, under an export decision for a purpose
//!   (the patient for themself through the portal, the privacy officer; whoever the policy
//!   lets export);
//! - `POST /requests/{id}/package`: completes an access request (privacy officer, admin), as
//!   `facevault request complete ID --out FILE` does.
//!
//! The body says what the package is encrypted to: a passphrase the caller chose (at least 12
//! characters and hard enough to guess: `facevault_export::Seal::passphrase`; give it to the
//! patient through another channel than the file) or the patient's own age public key
//! (`age1...`). Neither is stored or logged. The app's `export_subject` and `complete_request`
//! (this module's `CompletionInput` takes access requests only) build it; encrypting runs on a
//! blocking thread (the scrypt recipient costs about a second and 256 MiB by design), so
//! exports run one at a time per caller under the server's `max_concurrent_exports`
//! (`limits::Exports`): a caller's second export while one runs is answered 429.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use facevault_app::{AppError, CompletionInput, CorrectedDetails, Outcome, Seal};
use facevault_domain::request::RequestKind;
use facevault_vault::SubjectId;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::{parse_id, JsonBody, PurposeQuery, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(export_subject, package_request),
    components(schemas(PackageBody)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/subjects/{id}/export", post(export_subject))
        .route("/requests/{id}/package", post(package_request))
}

/// What the package is encrypted to: exactly one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackageBody {
    /// A passphrase of at least 12 characters that zxcvbn scores 3 or more (age scrypt);
    /// a weak one is refused with why. Give it to the patient through another channel than
    /// the file; it is not stored.
    passphrase: Option<String>,
    /// The patient's own age X25519 public key (`age1...`).
    recipient: Option<String>,
}

impl PackageBody {
    fn seal(self) -> Result<Seal, AppError> {
        match (self.passphrase.map(Zeroizing::new), self.recipient) {
            (Some(p), None) => Seal::passphrase(&p).map_err(|e| AppError::field("passphrase", e.to_string())),
            (None, Some(r)) => Seal::recipient(&r).map_err(|e| AppError::field("recipient", e.to_string())),
            _ => Err(AppError::field("body", "give either a passphrase or a recipient (an age1... key)")),
        }
    }
}

/// What `/package` takes: an access request only, and what to seal its package to.
struct Packaging {
    id: String,
    seal: Option<Seal>,
}

impl CompletionInput for Packaging {
    fn fits(&self, kind: RequestKind) -> Result<(), AppError> {
        if kind == RequestKind::Access {
            return Ok(());
        }
        let id = &self.id;
        Err(AppError::conflict(format!(
            "request {id} is a {kind} request: POST /api/requests/{id}/complete carries it out"
        )))
    }

    fn corrected(&mut self) -> Result<CorrectedDetails, AppError> {
        Err(AppError::internal("a correction reached /package"))
    }

    fn seal(&mut self) -> Result<Seal, AppError> {
        self.seal.take().ok_or_else(|| AppError::internal("the package body was taken twice"))
    }
}

/// The package as a download.
fn attachment(subject: SubjectId, sealed: Vec<u8>, state: Option<&str>) -> Response {
    let disposition = format!("attachment; filename=\"facevault-access-{subject}.tar.age\"");
    let mut res = (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        sealed,
    )
        .into_response();
    if let Some(state) = state.and_then(|s| header::HeaderValue::from_str(s).ok()) {
        res.headers_mut().insert("x-request-state", state);
    }
    res
}

/// A subject's access and portability package (details, scans, derivatives, consents,
/// disclosures, retention, the audit entries about them), encrypted in the age format: an
/// export for a purpose (default: the first the subject consented to), decided and audited.
#[utoipa::path(post, path = "/subjects/{id}/export", params(("id" = String, Path), PurposeQuery), request_body = PackageBody,
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError), (status = 429, body = ApiError)))]
async fn export_subject(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
    JsonBody(b): JsonBody<PackageBody>,
) -> Result<Response, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let seal = b.seal()?;
    let _slot = s.exports.slot(&p.actor).await?;
    let sealed = s
        .app()
        .export_subject(&p.session(), subject, q.purpose.as_deref(), seal, q.break_glass.as_deref())
        .await?;
    Ok(attachment(subject, sealed, None))
}

/// Completes an access request: the subject's package, encrypted as the body says, is the
/// answer, and the request is completed (its new state in `X-Request-State`). Privacy
/// officer and admin, as every request move; the export itself is decided by the policy.
#[utoipa::path(post, path = "/requests/{id}/package", params(("id" = String, Path)), request_body = PackageBody,
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
              (status = 409, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError),
              (status = 429, body = ApiError)))]
async fn package_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PackageBody>,
) -> Result<Response, ApiError> {
    // The body is checked first (a weak passphrase is refused before anything is looked up).
    let mut input = Packaging { id: id.clone(), seal: Some(b.seal()?) };
    let _slot = s.exports.slot(&p.actor).await?;
    let done = s.app().complete_request(&p.session(), &id, &mut input).await?;
    let Outcome::Packaged(sealed) = done.outcome else {
        return Err(ApiError::internal(format!("request {id}: /package completed it without a package")));
    };
    let subject: SubjectId = done.request.subject().0.parse().map_err(ApiError::internal)?;
    Ok(attachment(subject, sealed, Some(done.request.state().name())))
}
