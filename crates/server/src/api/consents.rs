//! Consent and purposes under `/api`: `GET /subjects/{id}/consent` (the consent on record),
//! `POST /subjects/{id}/consent/withdraw` (a patient may withdraw their own), and `GET
//! /purposes` (the clinic's purpose catalogue). Recording a consent is `clinical.rs`. The app's
//! `consent` and `withdraw_consent`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_vault::SubjectId;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use facevault_app::time::{now_ms, rfc3339};

use super::{parse_id, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(get_consent, withdraw_consent, list_purposes),
    components(schemas(ConsentView, ConsentPurpose, WithdrawnView, PurposeView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/subjects/{id}/consent", get(get_consent))
        .route("/subjects/{id}/consent/withdraw", post(withdraw_consent))
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
    /// `active`, `withdrawn` or `expired` now.
    status: String,
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
    let rec = &c.record;
    let a = rec.consent();
    let now = facevault_domain::Timestamp::from(now_ms());
    Ok(Json(ConsentView {
        id: c.id.to_string(),
        subject: subject.to_string(),
        recorded_at: rfc3339(c.recorded_at),
        jurisdiction: format!("{:?}", a.jurisdiction()),
        status: format!("{:?}", rec.status_at(now)).to_lowercase(),
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
    }))
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
