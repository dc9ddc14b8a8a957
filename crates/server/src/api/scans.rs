//! Scans and what is derived from them under `/api`: `POST /subjects/{id}/scans` (an upload,
//! parsed in memory and sealed), `GET /scans/{id}` and `/scans/{id}/ply`, `GET
//! /derivatives/{id}`, `GET /lineage/{id}`, and `POST /scans/{id}/export` (a scan to a
//! recipient: the one disclosure path, as `facevault scan export`); with the scan and
//! derivative views. The app's `import_scan`, `scan`, `scan_ply`, `derivative`, `lineage` and
//! `disclose_scan`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_app::time::rfc3339;
use facevault_app::{AppError, ErrorKind, ImportScan};
use facevault_crypto::Id;
use facevault_mesh::{Mesh, ReadOptions, Unit};
use facevault_vault::{DerivativeId, Node, ScanId, SubjectId};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::{parse_id, JsonBody, PurposeQuery, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(upload_scan, get_scan, get_scan_ply, export_scan, get_derivative, get_lineage),
    components(schemas(ScanView, DerivativeView, DerivativeContent, LineageView, ExportBody)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    let upload_limit = axum::extract::DefaultBodyLimit::disable();
    Router::new()
        .route("/subjects/{id}/scans", post(upload_scan).layer(upload_limit))
        .route("/scans/{id}", get(get_scan))
        .route("/scans/{id}/ply", get(get_scan_ply))
        .route("/scans/{id}/export", post(export_scan))
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
        imported_at: rfc3339(x.imported_at),
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
        created_at: rfc3339(d.created_at),
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
    let subject: SubjectId = parse_id("id", &id)?;
    let unit = q
        .unit
        .as_deref()
        .map(|u| u.parse::<Unit>().map_err(|_| ApiError::field("unit", "one of mm, cm, m, in")))
        .transpose()?;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let args = ImportScan { purpose: q.purpose, device: q.device, captured: q.captured };
    // The body is read only once the app's checks (role, purpose, dates, the subject) passed.
    let mesh = read_mesh(body, declared, s.config().max_upload_bytes, unit);
    let scan = s.app().import_scan(&p.session(), subject, args, mesh).await?;
    Ok((StatusCode::CREATED, Json(scan_view(&scan))).into_response())
}

/// The upload: read up to `limit` bytes (refused as soon as it goes over), then parsed and
/// validated in memory on a blocking thread. The buffer grows with the bytes that arrived,
/// never to what the client declared, and large buffers are wiped and freed on a blocking
/// thread.
async fn read_mesh(
    body: Body,
    declared: Option<u64>,
    limit: usize,
    unit: Option<Unit>,
) -> Result<Mesh, AppError> {
    let too_large =
        || AppError::new(ErrorKind::TooLarge, format!("a scan upload is limited to {limit} bytes"));
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut bytes = Upload::default();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| AppError::field("body", format!("the upload broke off: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.push(&chunk, limit);
    }
    let bytes = bytes.take();
    tokio::task::spawn_blocking(move || {
        facevault_mesh::read(&bytes, &ReadOptions { format: None, unit }).map(|m| m.mesh)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| {
        AppError::new(ErrorKind::MalformedMesh, format!("the scan is not a valid mesh: {e}")).at("body")
    })
}

/// An upload's bytes as they arrive, in a buffer wiped whenever it is let go (also each one
/// outgrown: `Vec`'s own growth would free the old bytes unwiped).
#[derive(Default)]
struct Upload(Option<Zeroizing<Vec<u8>>>);

/// A buffer this large is wiped and freed on a blocking thread, not a request thread.
const WIPE_OFF_THREAD: usize = 1 << 20;

impl Upload {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |b| b.len())
    }

    /// Appends `chunk`, doubling the buffer (up to `limit`) when it is full.
    fn push(&mut self, chunk: &[u8], limit: usize) {
        let buf = self.0.get_or_insert_with(|| Zeroizing::new(Vec::new()));
        if buf.capacity() - buf.len() < chunk.len() {
            let want = (buf.len() + chunk.len()).max(buf.capacity() * 2).min(limit);
            let mut grown = Zeroizing::new(Vec::with_capacity(want));
            grown.extend_from_slice(buf);
            wipe(std::mem::replace(buf, grown));
        }
        buf.extend_from_slice(chunk);
    }

    fn take(mut self) -> Zeroizing<Vec<u8>> {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(buf) = self.0.take() {
            wipe(buf);
        }
    }
}

/// Lets `buf` go: wiped (`Zeroizing`) where it is when small, else on a blocking thread.
fn wipe(buf: Zeroizing<Vec<u8>>) {
    if buf.capacity() >= WIPE_OFF_THREAD && tokio::runtime::Handle::try_current().is_ok() {
        drop(tokio::task::spawn_blocking(move || drop(buf)));
    }
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
    let scan: ScanId = parse_id("id", &id)?;
    let x = s.app().scan(&p.session(), scan, q.purpose.as_deref(), q.break_glass.as_deref()).await?;
    Ok(Json(scan_view(&x)))
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
    let scan: ScanId = parse_id("id", &id)?;
    let mut ply =
        s.app().scan_ply(&p.session(), scan, q.purpose.as_deref(), q.break_glass.as_deref()).await?;
    // Moved out, not copied: the response owns the one plaintext buffer.
    let ply = std::mem::take(&mut *ply);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], ply).into_response())
}

/// Who a scan goes to and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportBody {
    /// `clinic` (the clinic's own record), `subject` (the patient), or a registered
    /// recipient's id (GET /api/vendors: a vendor under contract or a health care provider).
    recipient: String,
    /// A purpose of the catalogue; default `treatment-planning`.
    purpose: Option<String>,
    /// Emergency access (HIPAA break-glass): the reason, reviewed by the privacy officer.
    break_glass: Option<String>,
}

/// A scan leaving the vault for a recipient, as binary PLY: decided by the policy, checked
/// against the recipient's contract or treatment basis, the consent and any opt-out, and
/// recorded in the accounting of disclosures before the bytes are answered. An unregistered
/// recipient is a 400 naming how to register one. `X-Disclosure-Kind` says what it was
/// (`export`, `to-subject`, `treatment`, `business-purpose`, `share`, `sale`).
#[utoipa::path(post, path = "/scans/{id}/export", params(("id" = String, Path)), request_body = ExportBody,
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError), (status = 500, body = ApiError)))]
async fn export_scan(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ExportBody>,
) -> Result<Response, ApiError> {
    let scan: ScanId = parse_id("id", &id)?;
    let x = facevault_app::ScanExport {
        purpose: b.purpose.unwrap_or_else(|| facevault_app::CLINICAL.to_owned()),
        recipient: b.recipient,
        break_glass: b.break_glass,
    };
    let mut d = s.app().disclose_scan(&p.session(), scan, x).await?;
    // Moved out, not copied: the response owns the one plaintext buffer.
    let ply = std::mem::take(&mut *d.ply);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::HeaderName::from_static("x-disclosure-kind"), d.kind),
        ],
        ply,
    )
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
    let der: DerivativeId = parse_id("id", &id)?;
    let f = s.app().derivative(&p.session(), der, q.purpose.as_deref(), q.break_glass.as_deref()).await?;
    Ok(Json(DerivativeContent { derivative: derivative_view(&f.derivative), content: f.content }))
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
    let raw: Id = parse_id("id", &id)?;
    let l = s.app().lineage(&p.session(), raw).await?;
    Ok(Json(LineageView {
        node: l.node.to_string(),
        subject: l.subject.to_string(),
        ancestors: l.ancestors.iter().map(ToString::to_string).collect(),
        descendants: l.descendants.iter().map(|d| Node::Derivative(d.id).to_string()).collect(),
    }))
}
