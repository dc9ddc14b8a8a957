//! Subjects under `/api`: `GET /subjects` (pseudonymous ids; a patient sees only themself),
//! `POST /subjects` (details sealed under the subject's own key), and `GET /subjects/{id}`
//! (the record, decrypted: a read for a purpose, decided by the policy and audited).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use facevault_policy::{Action, Role};
use facevault_vault::{MetadataStore, SubjectDetails, SubjectId, Target};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::scans::{derivative_view, scan_view, DerivativeView, ScanView};
use super::{audited, is_date, parse_id, utc, Jot, JsonBody, PurposeQuery, CARE, CLINICAL, CONSENT, S};
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
    let jot = Jot::default();
    let r = async {
        let meta = s.meta();
        let mut subjects = if p.role == Role::Patient {
            s.gate(&p, &jot, CONSENT, "subject.list", "subjects".into(), p.subject)?;
            match p.subject {
                Some(id) => meta.subject(id).await.map_err(ApiError::internal)?.into_iter().collect(),
                None => Vec::new(),
            }
        } else {
            s.gate(&p, &jot, CARE, "subject.list", "subjects".into(), None)?;
            meta.subjects().await.map_err(ApiError::internal)?
        };
        subjects.sort_by_key(|x| (x.created_at, x.id));
        let mut out = Vec::with_capacity(subjects.len());
        for x in subjects {
            out.push(SubjectSummary {
                id: x.id.to_string(),
                created_at: utc(x.created_at),
                scans: meta.scans_of(x.id).await.map_err(ApiError::internal)?.len(),
                derivatives: meta.derivatives_of(x.id).await.map_err(ApiError::internal)?.len(),
            });
        }
        jot.change("subject.list", "administration", "subjects".into(), format!("{} listed", out.len()));
        Ok(out)
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
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
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, CARE, "subject.add", "subject:new".into(), None)?;
        let name = Zeroizing::new(b.name);
        if name.trim().is_empty() || name.len() > 1024 {
            return Err(ApiError::field("name", "give the subject's name (at most 1024 bytes)"));
        }
        if b.date_of_birth.as_deref().is_some_and(|d| !is_date(d)) {
            return Err(ApiError::field("date_of_birth", "not a YYYY-MM-DD date"));
        }
        for (field, v) in [("contact", &b.contact), ("jurisdiction", &b.jurisdiction)] {
            if v.as_ref().is_some_and(|v| v.len() > 1024) {
                return Err(ApiError::field(field, "at most 1024 bytes"));
            }
        }
        let details = SubjectDetails {
            name: name.to_string(),
            date_of_birth: b.date_of_birth,
            contact: b.contact,
            jurisdiction: b.jurisdiction,
        };
        let id = s.vault.create_subject(&details).await?;
        jot.change("subject.add", "administration", format!("subject:{id}"), "details sealed");
        Ok(Created { id: id.to_string() })
    }
    .await;
    let c = audited(&s, &p, jot, r).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
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
    node: String,
    at: String,
    kind: String,
    purpose: String,
    recipient: String,
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
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        let grant = s
            .decide(
                &p,
                &jot,
                "subject.read",
                Action::Read,
                &purpose,
                Target::Subject(subject),
                q.break_glass.as_deref(),
            )
            .await?;
        let x = s.vault.subject(&grant, subject).await?;
        let d = &x.details;
        let derivatives = s.meta().derivatives_of(subject).await.map_err(ApiError::internal)?;
        Ok(SubjectView {
            id: x.id.to_string(),
            created_at: utc(x.created_at),
            details: DetailsView {
                name: d.name.clone(),
                date_of_birth: d.date_of_birth.clone(),
                contact: d.contact.clone(),
                jurisdiction: d.jurisdiction.clone(),
            },
            scans: s.vault.scans_of(subject).await?.iter().map(scan_view).collect(),
            derivatives: derivatives.iter().map(derivative_view).collect(),
            disclosures: s
                .vault
                .disclosures_of(subject)
                .await?
                .into_iter()
                .map(|d| DisclosureView {
                    node: d.node.to_string(),
                    at: utc(d.at),
                    kind: d.kind,
                    purpose: d.purpose.0,
                    recipient: d.recipient,
                })
                .collect(),
        })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}
