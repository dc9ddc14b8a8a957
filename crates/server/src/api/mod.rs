//! The endpoints under `/api`. Each handler parses the request (path, query, body) into the
//! caller's [`facevault_app::Session`] and a use case's arguments, calls the use case of
//! [`facevault_app::App`], and renders what it returns as the API's views; the app decides
//! (the policy on a purpose, or a role gate), acts and journals, allowed or denied, and the
//! journal is appended to the audit log before the use case returns, so nothing is released
//! unrecorded. The few endpoints with no use case yet (vendors, documents, posture, tokens,
//! invitations, sessions) gate and journal through the app too ([`facevault_app::App::gate`],
//! [`facevault_app::App::audited`]).
//!
//! One module per resource, each with its routes and its OpenAPI `Api`; this one merges their
//! routes and holds what they share: the JSON body extractor, the id parser and the purpose
//! query.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use facevault_app::AppError;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::error::ApiError;
use crate::AppState;

mod accounts;
mod audit;
mod clinical;
mod completion;
mod consents;
mod documents;
mod package;
mod requests;
mod retention;
mod scans;
mod sessions;
mod subjects;
mod tokens;
mod vendors;

pub(crate) use accounts::Api as AccountsApi;
pub(crate) use audit::Api as AuditApi;
pub(crate) use clinical::Api as ClinicalApi;
pub(crate) use completion::Api as CompletionApi;
pub(crate) use consents::Api as ConsentsApi;
pub(crate) use documents::Api as DocumentsApi;
pub(crate) use package::Api as PackageApi;
pub(crate) use requests::Api as RequestsApi;
pub(crate) use retention::Api as RetentionApi;
pub(crate) use scans::Api as ScansApi;
pub(crate) use sessions::Api as SessionsApi;
pub(crate) use subjects::Api as SubjectsApi;
pub(crate) use tokens::Api as TokensApi;
pub(crate) use vendors::Api as VendorsApi;

pub(crate) type S = State<Arc<AppState>>;

/// What every endpoint shares: the session cookie or an API token. `openapi()` (lib.rs) merges
/// each module's `Api` into this one.
#[derive(OpenApi)]
#[openapi(security(("session" = []), ("token" = [])))]
pub(crate) struct Api;

pub(crate) fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .merge(sessions::routes())
        .merge(tokens::routes())
        .merge(accounts::routes())
        .merge(subjects::routes())
        .merge(scans::routes())
        .merge(consents::routes())
        .merge(retention::routes())
        .merge(audit::routes())
        .merge(requests::routes())
        .merge(vendors::routes())
        .merge(documents::routes())
        .merge(completion::routes())
        .merge(package::routes())
        .merge(clinical::routes())
        // A patient's opt-out preference signal (Sec-GPC), on every endpoint under /api.
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::gpc::honour))
}

/// A JSON request body whose every rejection is an [`ApiError`]: 415 without a JSON content
/// type, 413 over the body limit, 400 naming what is wrong with the body otherwise.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned, St: Send + Sync> axum::extract::FromRequest<St> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &St) -> Result<Self, ApiError> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is over the server's limit",
            )),
            Err(e) => Err(ApiError::field("body", e.body_text())),
        }
    }
}

/// An id of the path or body; a 400 naming `field` when it is not one.
pub(crate) fn parse_id<T: std::str::FromStr>(field: &str, s: &str) -> Result<T, AppError> {
    s.parse().map_err(|_| AppError::field(field, format!("{s:?} is not an id (32 hex digits)")))
}

/// Which purpose a request is for, and an optional break-glass reason.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PurposeQuery {
    /// A purpose of the catalogue (GET /api/purposes); default `treatment-planning`.
    pub(crate) purpose: Option<String>,
    /// Emergency access (HIPAA break-glass): the reason, reviewed by the privacy officer.
    /// Do not name the patient. Valid for one hour.
    pub(crate) break_glass: Option<String>,
}
