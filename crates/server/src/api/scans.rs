//! Scans and what is derived from them under `/api`: `POST /subjects/{id}/scans` (an upload,
//! parsed in memory and sealed), `GET /scans/{id}` and `/scans/{id}/ply`, `GET
//! /derivatives/{id}`, and `GET /lineage/{id}`; with the scan and derivative views.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_crypto::Id;
use facevault_mesh::{ReadOptions, Unit};
use facevault_policy::{Action, Role};
use facevault_vault::{Capture, DerivativeId, Node, Purpose, ScanId, SubjectId, Target, VaultError};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::{audited, is_date, parse_id, utc, Jot, Known, PurposeQuery, CAPTURE, CARE, CLINICAL, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::journal::Record;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(upload_scan, get_scan, get_scan_ply, get_derivative, get_lineage),
    components(schemas(ScanView, DerivativeView, DerivativeContent, LineageView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    let upload_limit = axum::extract::DefaultBodyLimit::disable();
    Router::new()
        .route("/subjects/{id}/scans", post(upload_scan).layer(upload_limit))
        .route("/scans/{id}", get(get_scan))
        .route("/scans/{id}/ply", get(get_scan_ply))
        .route("/derivatives/{id}", get(get_derivative))
        .route("/lineage/{id}", get(get_lineage))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ScanView {
    id: String,
    subject: String,
    device: String,
    captured_on: String,
    purpose: String,
    source_unit: String,
    vertices: u64,
    triangles: u64,
    imported_at: String,
}

pub(crate) fn scan_view(x: &facevault_vault::Scan) -> ScanView {
    ScanView {
        id: x.id.to_string(),
        subject: x.subject.to_string(),
        device: x.capture.device.clone(),
        captured_on: x.capture.captured_on.clone(),
        purpose: x.capture.purpose.0.clone(),
        source_unit: x.source_unit.to_string(),
        vertices: x.vertices,
        triangles: x.triangles,
        imported_at: utc(x.imported_at),
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DerivativeView {
    id: String,
    subject: String,
    kind: String,
    producer: String,
    /// The producer's parameters (JSON text).
    parameters: String,
    /// The scans and derivatives it was made from.
    parents: Vec<String>,
    created_at: String,
}

pub(crate) fn derivative_view(d: &facevault_vault::Derivative) -> DerivativeView {
    DerivativeView {
        id: d.id.to_string(),
        subject: d.subject.to_string(),
        kind: d.kind.to_string(),
        producer: d.producer.clone(),
        parameters: d.parameters.clone(),
        parents: d.parents.iter().map(ToString::to_string).collect(),
        created_at: utc(d.created_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// The purpose of collection: a purpose id of the catalogue.
    purpose: String,
    /// The capturing device.
    device: Option<String>,
    /// The capture date, YYYY-MM-DD (default today, UTC).
    captured: Option<String>,
    /// The unit of the file (mm, cm, m, in), overriding what it declares.
    unit: Option<String>,
}

/// Uploads a scan (PLY, OBJ or STL; the body is the file). It is read up to the server's
/// upload limit, refused as soon as it goes over, parsed and validated in memory, and sealed
/// under the subject's key; nothing of it is written in plaintext. Needs the subject's consent
/// covering the purpose.
#[utoipa::path(post, path = "/subjects/{id}/scans", params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ScanView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError),
              (status = 422, body = ApiError)))]
async fn upload_scan(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        let purpose = p.purpose(Some(&q.purpose), CLINICAL)?;
        s.gate(&p, &jot, CAPTURE, "scan.import", object.clone(), Some(subject))?;
        if s.policy.catalogue().get(&purpose).filter(|x| x.enabled).is_none() {
            return Err(ApiError::field(
                "purpose",
                format!("{purpose:?} is not an enabled purpose of the catalogue"),
            ));
        }
        let captured_on =
            q.captured.clone().unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());
        if !is_date(&captured_on) {
            return Err(ApiError::field("captured", "not a YYYY-MM-DD date"));
        }
        let unit = q
            .unit
            .as_deref()
            .map(|u| u.parse::<Unit>().map_err(|_| ApiError::field("unit", "one of mm, cm, m, in")))
            .transpose()?;
        let device = q.device.clone().unwrap_or_else(|| "unknown".into());
        if device.is_empty() || device.len() > 256 {
            return Err(ApiError::field("device", "1 to 256 bytes"));
        }
        // Fail on an unknown subject before reading a large body.
        s.vault.scans_of(subject).await?;
        let limit = s.config.max_upload_bytes;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a scan upload is limited to {limit} bytes"),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(declared.map_or(0, |n| n as usize).min(limit)));
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::field("body", format!("the upload broke off: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let mesh = tokio::task::spawn_blocking(move || {
            facevault_mesh::read(&bytes, &ReadOptions { format: None, unit }).map(|m| m.mesh)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError {
            field: Some("body".into()),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed_mesh",
                format!("the scan is not a valid mesh: {e}"),
            )
        })?;
        let capture = Capture { device, captured_on, purpose: Purpose(purpose.clone()) };
        let scan = match s.vault.import_scan(subject, &mesh, capture).await {
            Ok(id) => id,
            Err(e @ (VaultError::NoConsent { .. } | VaultError::CaptureRefused { .. })) => {
                jot.push(Record {
                    action: "scan.import",
                    purpose,
                    object,
                    allowed: false,
                    reason: e.to_string(),
                });
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        jot.change("scan.import", &purpose, format!("scan:{scan}"), format!("captured for {object}"));
        Ok(scan_view(&s.vault.scan(scan).await?))
    }
    .await;
    let v = audited(&s, &p, jot, r).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// A scan's metadata (capture, size, purpose): a read for a purpose, decided and audited.
#[utoipa::path(get, path = "/scans/{id}", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, body = ScanView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_scan(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<ScanView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let scan: ScanId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        // The record is read once: it names the subject the decision needs (an unknown scan
        // is a 404 before any decision, as it would be from the decision's own read).
        let record = s.vault.scan(scan).await?;
        s.decide_on(
            &p,
            &jot,
            "scan.read",
            Action::Read,
            &purpose,
            Known::Scan(&record),
            q.break_glass.as_deref(),
        )
        .await?;
        Ok(scan_view(&record))
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

/// A scan's mesh as binary PLY, for viewing: a read for a purpose, decided and audited.
#[utoipa::path(get, path = "/scans/{id}/ply", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_scan_ply(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let scan: ScanId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        let grant = s
            .decide(
                &p,
                &jot,
                "scan.read",
                Action::Read,
                &purpose,
                Target::Node(Node::Scan(scan)),
                q.break_glass.as_deref(),
            )
            .await?;
        Ok(s.vault.scan_ply(&grant, scan).await?)
    }
    .await;
    let ply = audited(&s, &p, jot, r).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, "no-store")], ply)
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DerivativeContent {
    derivative: DerivativeView,
    /// A report's content (measurements, maps' statistics) as JSON; absent for meshes.
    #[schema(value_type = Option<Object>)]
    content: Option<serde_json::Value>,
}

/// A derivative (an analysis report or a derived mesh's metadata), with a report's content: a
/// read for a purpose, decided and audited.
#[utoipa::path(get, path = "/derivatives/{id}", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, body = DerivativeContent), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_derivative(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<DerivativeContent>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let der: DerivativeId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        let grant = s
            .decide(
                &p,
                &jot,
                "derivative.read",
                Action::Read,
                &purpose,
                Target::Node(Node::Derivative(der)),
                q.break_glass.as_deref(),
            )
            .await?;
        let d = s.vault.derivative(der).await?;
        let content = if d.kind.to_string() == "mesh" {
            None
        } else {
            let bytes = Zeroizing::new(s.vault.derivative_content(&grant, der).await?);
            serde_json::from_slice(&bytes).ok()
        };
        Ok(DerivativeContent { derivative: derivative_view(&d), content })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LineageView {
    node: String,
    subject: String,
    /// Everything it was made from.
    ancestors: Vec<String>,
    /// Everything made from it.
    descendants: Vec<String>,
}

/// What a scan or derivative came from and what was derived from it (ids only).
#[utoipa::path(get, path = "/lineage/{id}", params(("id" = String, Path)),
    responses((status = 200, body = LineageView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_lineage(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<LineageView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let raw: Id = parse_id("id", &id)?;
        let (node, subject) = match s.vault.scan(ScanId(raw)).await {
            Ok(x) => (Node::Scan(x.id), x.subject),
            Err(VaultError::UnknownScan { .. }) => {
                let d = s.vault.derivative(DerivativeId(raw)).await.map_err(|e| match e {
                    VaultError::UnknownDerivative { .. } => {
                        ApiError::not_found(format!("no scan or derivative {raw}"))
                    }
                    e => e.into(),
                })?;
                (Node::Derivative(d.id), d.subject)
            }
            Err(e) => return Err(e.into()),
        };
        let mut roles = CARE.to_vec();
        roles.push(Role::Patient);
        s.gate(&p, &jot, &roles, "lineage.read", format!("{node}"), Some(subject))?;
        let ancestors = s.vault.ancestors(node).await?.iter().map(ToString::to_string).collect();
        let descendants =
            s.vault.descendants(node).await?.iter().map(|d| Node::Derivative(*d).to_string()).collect();
        jot.change("lineage.read", "administration", node.to_string(), "lineage listed");
        Ok(LineageView { node: node.to_string(), subject: subject.to_string(), ancestors, descendants })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}
