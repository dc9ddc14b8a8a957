//! What is generated from the live configuration under `/api`: `GET /documents/{name}` and
//! `GET /posture` (the risk register); and the readers of the configuration files in the vault
//! directory (`vendors.toml`, `clinic.toml`, `posture.toml`; parsed by `facevault_domain::settings`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use facevault_domain::posture::{assess, PostureReport};
use facevault_domain::settings::{self, SettingsError};
use facevault_domain::{Documents, VendorRegistry};
use facevault_vault::oversight::break_glass_uses;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::requests::calendar;
use super::{audited, now_ms, Jot, COMPLIANCE, S};
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

/// A configuration file of the vault directory: its text, or `None` when it does not exist.
async fn read_config(s: &AppState, name: &'static str) -> Result<Option<(PathBuf, String)>, ApiError> {
    let path = s.config().vault.join(name);
    tokio::task::spawn_blocking(move || match std::fs::read_to_string(&path) {
        Ok(t) => Ok(Some((path, t))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(format!("{}: {e}", path.display()))),
    })
    .await
    .map_err(ApiError::internal)?
}

/// A configuration file the clinic wrote wrong: the detail goes to the server's log.
fn misconfigured(path: &std::path::Path, e: &SettingsError) -> ApiError {
    ApiError::internal(format!("{}: {e}", path.display()))
}

/// The registry from `vendors.toml` (empty without it), checked against the catalogue.
pub(crate) async fn registry(s: &AppState) -> Result<VendorRegistry, ApiError> {
    match read_config(s, VENDORS_FILE).await? {
        Some((path, text)) => {
            settings::vendor_registry(&text, s.policy.catalogue()).map_err(|e| misconfigured(&path, &e))
        }
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
    let jot = Jot::default();
    let r = async {
        let format = q.format.as_deref().unwrap_or("md");
        let content_type = match format {
            "md" => "text/markdown; charset=utf-8",
            "html" => "text/html; charset=utf-8",
            "json" => "application/json",
            _ => return Err(ApiError::field("format", "one of md, html, json")),
        };
        let public = match name.as_str() {
            "record-of-processing" => false,
            "retention-schedule" | "consent-notices" => true,
            _ => {
                return Err(ApiError::not_found(
                    "no such document: record-of-processing, retention-schedule or consent-notices",
                ))
            }
        };
        let object = format!("document:{name}");
        if !public {
            s.gate(&p, &jot, COMPLIANCE, "docs.read", object.clone(), None)?;
        }
        let (path, text) = read_config(&s, CLINIC_FILE).await?.ok_or_else(|| {
            ApiError::not_found("the clinic has not written clinic.toml in the vault directory yet")
        })?;
        let clinic = settings::clinic_info(&text).map_err(|e| misconfigured(&path, &e))?;
        let reg = registry(&s).await?;
        let docs = Documents::generate(s.policy.catalogue(), reg.vendors(), &clinic);
        let body = match (name.as_str(), format) {
            ("record-of-processing", "md") => docs.record_of_processing.to_markdown(),
            ("record-of-processing", "html") => docs.record_of_processing.to_html(),
            ("record-of-processing", _) => docs.record_of_processing.to_json().map_err(ApiError::internal)?,
            ("retention-schedule", "md") => docs.retention_schedule.to_markdown(),
            ("retention-schedule", "html") => docs.retention_schedule.to_html(),
            ("retention-schedule", _) => docs.retention_schedule.to_json().map_err(ApiError::internal)?,
            (_, "md") => docs.consent_notices.to_markdown(),
            (_, "html") => docs.consent_notices.to_html(),
            _ => docs.consent_notices.to_json().map_err(ApiError::internal)?,
        };
        jot.change("docs.read", "administration", object, format!("generated as {format}"));
        Ok((content_type, body))
    }
    .await;
    let (content_type, body) = audited(&s, &p, jot, r).await?;
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
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, COMPLIANCE, "posture.report", "posture".into(), None)?;
        let at: facevault_domain::Timestamp = match q.at.as_deref() {
            Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .filter(|_| d.len() == 10)
                .ok_or_else(|| ApiError::field("at", "not a YYYY-MM-DD date"))?
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
            None => now_ms(),
        };
        let criteria = match read_config(&s, POSTURE_FILE).await? {
            Some((path, text)) => {
                settings::risk_criteria(Some(&text)).map_err(|e| misconfigured(&path, &e))?
            }
            None => settings::risk_criteria(None).map_err(ApiError::internal)?,
        };
        let reg = registry(&s).await?;
        let break_glass = s
            .journal
            .read(|l| break_glass_uses(l.log.store()))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::internal(format!("audit log: {e}")))?;
        let input = s.vault.posture_input(at, &reg, &calendar(), break_glass).await?;
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
    audited(&s, &p, jot, r).await.map(Json)
}
