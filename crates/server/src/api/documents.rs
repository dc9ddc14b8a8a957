//! What is generated from the live configuration under `/api`: `GET /documents/{name}` and
//! `GET /posture` (the risk register); and the readers of the clinic's configuration texts
//! (`vendors.toml`, `clinic.toml`, `posture.toml`, read through the app's `ClinicFiles` and
//! parsed by `facevault_domain::settings`). No app use case covers these yet: they gate and
//! journal through the app.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use facevault_app::{AppError, Jot};
use facevault_domain::posture::{assess, PostureReport};
use facevault_domain::settings::{self, SettingsError};
use facevault_domain::{Documents, VendorRegistry};
use facevault_vault::oversight::break_glass_uses;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{COMPLIANCE, S};
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
    paths(get_document, posture),
    components(schemas(PostureView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/documents/{name}", get(get_document)).route("/posture", get(posture))
}

/// A configuration text of the clinic, or `None` when it has none (read off the request
/// threads).
async fn read_config(s: &Arc<AppState>, name: &'static str) -> Result<Option<String>, AppError> {
    let s = Arc::clone(s);
    tokio::task::spawn_blocking(move || s.app().files().config(name)).await.map_err(AppError::internal)?
}

/// A configuration text the clinic wrote wrong: the detail goes to the server's log.
fn misconfigured(name: &str, e: &SettingsError) -> AppError {
    AppError::internal(format!("{name}: {e}"))
}

/// The registry from `vendors.toml` (empty without it), checked against the catalogue.
pub(crate) async fn registry(s: &Arc<AppState>) -> Result<VendorRegistry, AppError> {
    match read_config(s, VENDORS_FILE).await? {
        Some(text) => settings::vendor_registry(&text, s.app().policy().catalogue())
            .map_err(|e| misconfigured(VENDORS_FILE, &e)),
        None => Ok(VendorRegistry::default()),
    }
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
    let session = p.session();
    let app = s.app();
    let jot = Jot::new();
    let r = async {
        let format = q.format.as_deref().unwrap_or("md");
        let content_type = match format {
            "md" => "text/markdown; charset=utf-8",
            "html" => "text/html; charset=utf-8",
            "json" => "application/json",
            _ => return Err(AppError::field("format", "one of md, html, json")),
        };
        let public = match name.as_str() {
            "record-of-processing" => false,
            "retention-schedule" | "consent-notices" => true,
            _ => {
                return Err(AppError::not_found(
                    "no such document: record-of-processing, retention-schedule or consent-notices",
                ))
            }
        };
        let object = format!("document:{name}");
        if !public {
            app.gate(&session, &jot, COMPLIANCE, "docs.read", "administration", object.clone(), None)?;
        }
        let text = read_config(&s, CLINIC_FILE).await?.ok_or_else(|| {
            AppError::not_found("the clinic has not written clinic.toml in the vault directory yet")
        })?;
        let clinic = settings::clinic_info(&text).map_err(|e| misconfigured(CLINIC_FILE, &e))?;
        let reg = registry(&s).await?;
        let docs = Documents::generate(app.policy().catalogue(), reg.vendors(), &clinic);
        let body = match (name.as_str(), format) {
            ("record-of-processing", "md") => docs.record_of_processing.to_markdown(),
            ("record-of-processing", "html") => docs.record_of_processing.to_html(),
            ("record-of-processing", _) => docs.record_of_processing.to_json().map_err(AppError::internal)?,
            ("retention-schedule", "md") => docs.retention_schedule.to_markdown(),
            ("retention-schedule", "html") => docs.retention_schedule.to_html(),
            ("retention-schedule", _) => docs.retention_schedule.to_json().map_err(AppError::internal)?,
            (_, "md") => docs.consent_notices.to_markdown(),
            (_, "html") => docs.consent_notices.to_html(),
            _ => docs.consent_notices.to_json().map_err(AppError::internal)?,
        };
        jot.change("docs.read", "administration", object, format!("generated as {format}"));
        Ok((content_type, body))
    }
    .await;
    let (content_type, body) = app.audited(&session, jot, r).await?;
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
    let session = p.session();
    let app = s.app();
    let jot = Jot::new();
    let r = async {
        app.gate(&session, &jot, COMPLIANCE, "posture.report", "administration", "posture".into(), None)?;
        let at: facevault_domain::Timestamp = match q.at.as_deref() {
            Some(d) => facevault_app::time::parse_date(d)
                .ok_or_else(|| AppError::field("at", "not a YYYY-MM-DD date"))?
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
            None => facevault_app::time::now_ms(),
        };
        let criteria = match read_config(&s, POSTURE_FILE).await? {
            Some(text) => {
                settings::risk_criteria(Some(&text)).map_err(|e| misconfigured(POSTURE_FILE, &e))?
            }
            None => settings::risk_criteria(None).map_err(AppError::internal)?,
        };
        let reg = registry(&s).await?;
        let break_glass = app
            .journal()
            .read(|l| break_glass_uses(l.log.store()))
            .await?
            .map_err(|e| AppError::internal(format!("audit log: {e}")))?;
        let input = app.vault().posture_input(at, &reg, &facevault_app::calendar(), break_glass).await?;
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
    Ok(Json(app.audited(&session, jot, r).await?))
}
