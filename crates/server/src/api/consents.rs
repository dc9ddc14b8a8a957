//! Consent and purposes under `/api`: `GET /subjects/{id}/consent` (the latest consent on
//! record, with its state), `POST /subjects/{id}/consent/withdraw` (a patient may withdraw
//! their own), `POST /subjects/{id}/consent/{consent}/confirm` (the patient puts a consent that
//! waits in force) and `.../approve` (the privacy officer, against the signed form's SHA-256),
//! and `GET /purposes` (the clinic's purpose catalogue). Recording a consent is `clinical.rs`.
//! The app's `consent`, `withdraw_consent`, `confirm_consent` and `approve_consent`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_app::parse_consent_id;
use facevault_vault::{StoredConsent, SubjectId};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use facevault_app::time::{now_ms, rfc3339};

use super::{parse_id, JsonBody, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(get_consent, withdraw_consent, confirm_consent, approve_consent, list_purposes),
    components(schemas(ConsentView, ConsentPurpose, WithdrawnView, PurposeView, ApproveBody)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/subjects/{id}/consent", get(get_consent))
        .route("/subjects/{id}/consent/withdraw", post(withdraw_consent))
        .route("/subjects/{id}/consent/{consent}/confirm", post(confirm_consent))
        .route("/subjects/{id}/consent/{consent}/approve", post(approve_consent))
        .route("/purposes", get(list_purposes))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsentPurpose {
    purpose: String,
    retention: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsentView {
    id: String,
    subject: String,
    recorded_at: String,
    jurisdiction: String,
    /// `pending` (waiting for the patient's confirmation or the privacy officer's approval; it
    /// grants nothing), `active`, `withdrawn` or `expired` now.
    status: String,
    /// The same as `status`.
    state: String,
    /// Why it waits (or waited) for confirmation: recorded by staff for a purpose beyond care,
    /// or after the patient withdrew.
    pending_reason: Option<String>,
    /// Who recorded it (a login name, or the subject id for the patient).
    recorded_by: Option<String>,
    /// `patient` (confirmed in the portal) or `privacy-officer` (approved against the form).
    confirmation: Option<String>,
    confirmed_by: Option<String>,
    confirmed_at: Option<String>,
    /// The SHA-256 of the signed form the privacy officer approved it against.
    form_sha256: Option<String>,
    purposes: Vec<ConsentPurpose>,
    /// Consent to share with third parties, separate from collection.
    share: bool,
    limit_use: bool,
    given_on: String,
    expires: Option<String>,
    withdrawn_at: Option<String>,
    notice_version: String,
    notice_sha256: String,
}

/// A subject's consent on record (the typed signature is not returned).
#[utoipa::path(get, path = "/subjects/{id}/consent", params(("id" = String, Path)),
    responses((status = 200, body = ConsentView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_consent(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<ConsentView>, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let c = s.app().consent(&p.session(), subject, "consent shown").await?;
    Ok(Json(consent_view(subject, &c)))
}

fn consent_view(subject: SubjectId, c: &StoredConsent) -> ConsentView {
    let rec = &c.record;
    let a = rec.consent();
    let now = facevault_domain::Timestamp::from(now_ms());
    let state = c.state_at(now).to_owned();
    let confirmed = c.confirmation.as_ref();
    ConsentView {
        id: c.id.to_string(),
        subject: subject.to_string(),
        recorded_at: rfc3339(c.recorded_at),
        jurisdiction: format!("{:?}", a.jurisdiction()),
        status: state.clone(),
        state,
        pending_reason: c.pending.clone(),
        recorded_by: c.recorded_by.clone(),
        confirmation: confirmed.map(|x| x.kind.as_str().to_owned()),
        confirmed_by: confirmed.map(|x| x.by.clone()),
        confirmed_at: confirmed.map(|x| rfc3339(x.at)),
        form_sha256: confirmed.and_then(|x| x.form_sha256.clone()),
        purposes: a
            .purposes()
            .iter()
            .map(|(purpose, retention)| ConsentPurpose {
                purpose: purpose.id.to_string(),
                retention: format!("{retention:?}"),
            })
            .collect(),
        share: a.share(),
        limit_use: a.limit_use(),
        given_on: a.given_on().to_string(),
        expires: a.expires().map(|d| d.to_string()),
        withdrawn_at: rec.withdrawn().map(|t| t.to_string()),
        notice_version: a.notice().version().to_owned(),
        notice_sha256: a.notice().sha256().iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// The patient confirms, in the portal, a consent that waits for them (one staff recorded for
/// a purpose beyond care, or after a withdrawal): it is in force from now on. Staff are
/// refused (403): the privacy officer approves instead. 409 if it is not pending.
#[utoipa::path(post, path = "/subjects/{id}/consent/{consent}/confirm",
    params(("id" = String, Path), ("consent" = String, Path)),
    responses((status = 200, body = ConsentView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn confirm_consent(
    State(s): S,
    p: Principal,
    Path((id, consent)): Path<(String, String)>,
) -> Result<Json<ConsentView>, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let consent = parse_consent_id(&consent)?;
    let (c, _) = s.app().confirm_consent(&p.session(), subject, consent).await?;
    Ok(Json(consent_view(subject, &c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveBody {
    /// The SHA-256 (64 hex digits) of the signed consent form kept on file.
    form_sha256: String,
}

/// The privacy officer approves a consent that waits, against the SHA-256 of the form the
/// patient signed: it is in force from now on. 409 if it is not pending.
#[utoipa::path(post, path = "/subjects/{id}/consent/{consent}/approve",
    params(("id" = String, Path), ("consent" = String, Path)), request_body = ApproveBody,
    responses((status = 200, body = ConsentView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError)))]
async fn approve_consent(
    State(s): S,
    p: Principal,
    Path((id, consent)): Path<(String, String)>,
    JsonBody(b): JsonBody<ApproveBody>,
) -> Result<Json<ConsentView>, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let consent = parse_consent_id(&consent)?;
    let (c, _) = s.app().approve_consent(&p.session(), subject, consent, &b.form_sha256).await?;
    Ok(Json(consent_view(subject, &c)))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct WithdrawnView {
    subject: String,
    withdrawn_at: String,
}

/// Withdraws a subject's consent: every later access is refused at once (deletion stays
/// possible). A patient may withdraw their own.
#[utoipa::path(post, path = "/subjects/{id}/consent/withdraw", params(("id" = String, Path)),
    responses((status = 200, body = WithdrawnView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn withdraw_consent(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<WithdrawnView>, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let at = s.app().withdraw_consent(&p.session(), subject).await?;
    Ok(Json(WithdrawnView { subject: subject.to_string(), withdrawn_at: rfc3339(at) }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PurposeView {
    id: String,
    description: String,
    retention: String,
    share: bool,
    sale: bool,
    enabled: bool,
}

/// The clinic's purpose catalogue.
#[utoipa::path(get, path = "/purposes", responses((status = 200, body = [PurposeView]), (status = 401, body = ApiError)))]
async fn list_purposes(State(s): S, _p: Principal) -> Json<Vec<PurposeView>> {
    Json(
        s.app()
            .policy()
            .catalogue()
            .iter()
            .map(|x| PurposeView {
                id: x.id.to_string(),
                description: x.description.clone(),
                retention: format!("{:?}", x.retention),
                share: x.share,
                sale: x.sale,
                enabled: x.enabled,
            })
            .collect(),
    )
}
