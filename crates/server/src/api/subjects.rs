//! Subjects under `/api`: `GET /subjects` (pseudonymous ids; a patient sees only themself),
//! `POST /subjects` (details sealed under the subject's own key), and `GET /subjects/{id}`
//! (the record, decrypted: a read for a purpose, decided by the policy and audited); the app's
//! `list_subjects`, `add_subject` and `subject_file`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use facevault_app::time::rfc3339;
use facevault_vault::{Disclosure, SubjectId};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::scans::{derivative_view, scan_view, DerivativeView, ScanView};
use super::{parse_id, JsonBody, PurposeQuery, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_subjects, create_subject, get_subject),
    components(schemas(SubjectSummary, NewSubject, Created, SubjectView, DetailsView, DisclosureView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/subjects", get(list_subjects).post(create_subject))
        .route("/subjects/{id}", get(get_subject))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubjectSummary {
    id: String,
    created_at: String,
    scans: usize,
    derivatives: usize,
}

/// Subjects by pseudonymous id (no identifying detail is decrypted). A patient sees only
/// themselves.
#[utoipa::path(get, path = "/subjects",
    responses((status = 200, body = [SubjectSummary]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_subjects(State(s): S, p: Principal) -> Result<Json<Vec<SubjectSummary>>, ApiError> {
    let rows = s.app().list_subjects(&p.session()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|x| SubjectSummary {
                id: x.id.to_string(),
                created_at: rfc3339(x.created_at),
                scans: x.scans,
                derivatives: x.derivatives,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NewSubject {
    name: String,
    /// YYYY-MM-DD.
    date_of_birth: Option<String>,
    contact: Option<String>,
    /// Where the subject lives, which decides the law (e.g. US-IL, US-CA, EU-FR).
    jurisdiction: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Created {
    id: String,
}

/// Adds a subject; their details are sealed under their own data key.
#[utoipa::path(post, path = "/subjects", request_body = NewSubject,
    responses((status = 413, body = ApiError), (status = 415, body = ApiError), (status = 201, body = Created), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn create_subject(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<NewSubject>,
) -> Result<Response, ApiError> {
    let new = facevault_app::NewSubject {
        name: Zeroizing::new(b.name),
        date_of_birth: b.date_of_birth,
        contact: b.contact,
        jurisdiction: b.jurisdiction,
    };
    let id = s.app().add_subject(&p.session(), new).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })).into_response())
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DetailsView {
    name: String,
    date_of_birth: Option<String>,
    contact: Option<String>,
    jurisdiction: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DisclosureView {
    pub(crate) node: String,
    pub(crate) at: String,
    pub(crate) kind: String,
    pub(crate) purpose: String,
    pub(crate) recipient: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubjectView {
    id: String,
    created_at: String,
    details: DetailsView,
    scans: Vec<ScanView>,
    derivatives: Vec<DerivativeView>,
    disclosures: Vec<DisclosureView>,
}

/// A subject's record: details (decrypted), scans, derivatives, disclosures. A read for a
/// purpose, decided by the policy and audited.
#[utoipa::path(get, path = "/subjects/{id}", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, body = SubjectView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_subject(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<SubjectView>, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let f =
        s.app().subject_file(&p.session(), subject, q.purpose.as_deref(), q.break_glass.as_deref()).await?;
    let d = &f.subject.details;
    Ok(Json(SubjectView {
        id: f.subject.id.to_string(),
        created_at: rfc3339(f.subject.created_at),
        details: DetailsView {
            name: d.name.clone(),
            date_of_birth: d.date_of_birth.clone(),
            contact: d.contact.clone(),
            jurisdiction: d.jurisdiction.clone(),
        },
        scans: f.scans.iter().map(scan_view).collect(),
        derivatives: f.derivatives.iter().map(derivative_view).collect(),
        disclosures: f.disclosures.into_iter().map(disclosure_view).collect(),
    }))
}

pub(crate) fn disclosure_view(d: Disclosure) -> DisclosureView {
    DisclosureView {
        node: d.node.to_string(),
        at: rfc3339(d.at),
        kind: d.kind,
        purpose: d.purpose.0,
        recipient: d.recipient,
    }
}
