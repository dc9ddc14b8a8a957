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
//! characters; give it to the patient through another channel than the file) or the patient's
//! own age public key (`age1...`). Neither is stored or logged. Building and encrypting run on
//! a blocking thread (the scrypt recipient costs about a second by design). The audit entries
//! about the subject are read from the log by its writer thread, between batches.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use facevault_domain::request::RequestKind;
use facevault_export::{audit_about, objects_of, Seal};
use facevault_policy::Action;
use facevault_vault::{SubjectId, Target};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::completion::begin;
use super::governance::conflict;
use super::{audited, parse_id, Jot, JsonBody, PurposeQuery, S};
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
    /// A passphrase of at least 12 characters (age scrypt). Give it to the patient through
    /// another channel than the file; it is not stored.
    passphrase: Option<String>,
    /// The patient's own age X25519 public key (`age1...`).
    recipient: Option<String>,
}

impl PackageBody {
    fn seal(self) -> Result<Seal, ApiError> {
        match (self.passphrase.map(Zeroizing::new), self.recipient) {
            (Some(p), None) => Seal::passphrase(&p).map_err(|e| ApiError::field("passphrase", e.to_string())),
            (None, Some(r)) => Seal::recipient(&r).map_err(|e| ApiError::field("recipient", e.to_string())),
            _ => Err(ApiError::field("body", "give either a passphrase or a recipient (an age1... key)")),
        }
    }
}

/// The package as a download.
fn attachment(subject: SubjectId, sealed: Vec<u8>, state: Option<&str>) -> Response {
    let disposition = format!("attachment; filename=\"facevault-access-{subject}.tar.age\"");
    let mut res = (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        sealed,
    )
        .into_response();
    if let Some(state) = state.and_then(|s| header::HeaderValue::from_str(s).ok()) {
        res.headers_mut().insert("x-request-state", state);
    }
    res
}

/// Decides the export, gathers the package and the audit entries about the subject, and
/// builds and seals it.
async fn build(
    s: &AppState,
    p: &Principal,
    jot: &Jot,
    subject: SubjectId,
    purpose: &str,
    seal: Seal,
    break_glass: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    let grant = s
        .decide(p, jot, "subject.export", Action::Export, purpose, Target::Subject(subject), break_glass)
        .await?;
    let package = s.vault.subject_package(&grant, subject).await?.into_access();
    let objects = objects_of(&package);
    let audit = s
        .journal
        .read(move |log| audit_about(log.log.store(), subject, &objects))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || facevault_export::package(&package, &audit, seal))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// A subject's access and portability package (details, scans, derivatives, consents,
/// disclosures, retention, the audit entries about them), encrypted in the age format: an
/// export for a purpose (default: the first the subject consented to), decided and audited.
#[utoipa::path(post, path = "/subjects/{id}/export", params(("id" = String, Path), PurposeQuery), request_body = PackageBody,
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn export_subject(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
    JsonBody(b): JsonBody<PackageBody>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let seal = b.seal()?;
        let purpose = p.purpose(q.purpose.as_deref(), &s.vault.delete_purpose(subject).await?)?;
        let sealed = build(&s, &p, &jot, subject, &purpose, seal, q.break_glass.as_deref()).await?;
        Ok((subject, sealed))
    }
    .await;
    let (subject, sealed) = audited(&s, &p, jot, r).await?;
    Ok(attachment(subject, sealed, None))
}

/// Completes an access request: the subject's package, encrypted as the body says, is the
/// answer, and the request is completed (its new state in `X-Request-State`). Privacy
/// officer and admin, as every request move; the export itself is decided by the policy.
#[utoipa::path(post, path = "/requests/{id}/package", params(("id" = String, Path)), request_body = PackageBody,
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
              (status = 409, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn package_request(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PackageBody>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let c = begin(&s, &p, &jot, &id, |r| {
            if r.kind() == RequestKind::Access {
                return Ok(());
            }
            Err(conflict(format!(
                "request {} is a {} request: POST /api/requests/{}/complete carries it out",
                r.id(),
                r.kind(),
                r.id()
            )))
        })
        .await?;
        let seal = b.seal()?;
        let subject = c.subject;
        let sealed = build(&s, &p, &jot, subject, &c.purpose, seal, None).await?;
        let r = c.finish(&s, &jot).await?;
        Ok((subject, sealed, r.state().name()))
    }
    .await;
    let (subject, sealed, state) = audited(&s, &p, jot, r).await?;
    Ok(attachment(subject, sealed, Some(state)))
}
