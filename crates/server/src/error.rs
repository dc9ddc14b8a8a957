//! The one error body every endpoint returns: a stable code, a message for the user, and the
//! field at fault. Internal details go to the server's log (ids only, never content), never
//! to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use facevault_app::AppError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A failed request. `code` is stable and machine-readable: `bad_request`, `unauthenticated`,
/// `session_expired`, `invalid_credentials`, `locked_out`, `rate_limited`, `csrf`, `forbidden`,
/// `denied`, `out_of_scope`, `not_found`, `conflict`, `payload_too_large`, `malformed_mesh`,
/// `analysis_failed`, `unsupported_media_type`,
/// `timeout`, `unavailable`, `internal`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip)]
    pub status: u16,
    /// Seconds to wait (a lockout), sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
            field: None,
            status: status.as_u16(),
            retry_after: None,
        }
    }

    /// A request value that is wrong, naming the field.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
        }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Something failed inside: the detail is logged, the client gets a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        eprintln!("facevault-server: internal error: {detail}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the server failed; the error is logged")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let mut res = (status, Json(self)).into_response();
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

impl From<AppError> for ApiError {
    /// A use case's failure, rendered: the status and code of its kind, and the field at fault.
    /// An internal kind's message is for the operator: it is logged and the client gets a
    /// generic one.
    fn from(e: AppError) -> ApiError {
        if e.kind.is_internal() {
            return ApiError::internal(e.message);
        }
        let status = StatusCode::from_u16(e.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError { field: e.field, ..ApiError::new(status, e.kind.code(), e.message) }
    }
}
