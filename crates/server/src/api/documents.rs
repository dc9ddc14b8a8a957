//! What is generated from the live configuration under `/api`: `GET /documents/{name}` and
//! `GET /posture` (the risk register), the application's `documents` and `posture` use cases.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use facevault_app::Document;
use facevault_domain::posture::PostureReport;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::S;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(get_document, posture),
    components(schemas(PostureView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/documents/{name}", get(get_document)).route("/posture", get(posture))
}

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
    let format = q.format.as_deref().unwrap_or("md");
    let content_type = match format {
        "md" => "text/markdown; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        _ => return Err(ApiError::field("format", "one of md, html, json")),
    };
    let which = Document::parse(&name).ok_or_else(|| {
        ApiError::not_found("no such document: record-of-processing, retention-schedule or consent-notices")
    })?;
    let docs = s.app().documents(&p.session(), which, format).await?;
    let body = match (which, format) {
        (Document::RecordOfProcessing, "md") => docs.record_of_processing.to_markdown(),
        (Document::RecordOfProcessing, "html") => docs.record_of_processing.to_html(),
        (Document::RecordOfProcessing, _) => {
            docs.record_of_processing.to_json().map_err(ApiError::internal)?
        }
        (Document::RetentionSchedule, "md") => docs.retention_schedule.to_markdown(),
        (Document::RetentionSchedule, "html") => docs.retention_schedule.to_html(),
        (Document::RetentionSchedule, _) => docs.retention_schedule.to_json().map_err(ApiError::internal)?,
        (_, "md") => docs.consent_notices.to_markdown(),
        (_, "html") => docs.consent_notices.to_html(),
        _ => docs.consent_notices.to_json().map_err(ApiError::internal)?,
    };
    Ok(([(header::CONTENT_TYPE, content_type), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], body)
        .into_response())
}

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
    Ok(Json(PostureView(s.app().posture(&p.session(), q.at.as_deref()).await?)))
}
