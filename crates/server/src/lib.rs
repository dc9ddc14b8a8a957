//! FaceVault's HTTP server, first part: configuration (a TOML file plus environment variables,
//! with documented defaults), the router with health, readiness and Prometheus metrics, one
//! structured JSON error type, request limits (body size, time, concurrency), graceful
//! shutdown, and the OpenAPI 3.1 document generated from the code with a vendored Swagger UI.
//!
//! It serves no subject data yet: the data endpoints come with authentication (staff accounts,
//! sessions, API tokens), so nothing personal is ever reachable without it.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

/// Where the server listens unless configured otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The server's configuration: `facevault.toml` keys, each overridable by an environment
/// variable (`FACEVAULT_LISTEN`, `FACEVAULT_MAX_BODY_BYTES`, `FACEVAULT_REQUEST_TIMEOUT_SECS`,
/// `FACEVAULT_MAX_CONCURRENT`, `FACEVAULT_DIR`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port (default 127.0.0.1:8080).
    pub listen: String,
    /// The vault directory (default ./facevault-vault).
    pub vault: PathBuf,
    /// The largest request body accepted, in bytes (default 1 GiB: an 860k-vertex scan is ~43 MB).
    pub max_body_bytes: usize,
    /// How long one request may take, in seconds (default 120).
    pub request_timeout_secs: u64,
    /// Requests handled at once; more wait (default 256).
    pub max_concurrent: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.into(),
            vault: PathBuf::from("facevault-vault"),
            max_body_bytes: 1 << 30,
            request_timeout_secs: 120,
            max_concurrent: 256,
        }
    }
}

/// A configuration problem, naming the file or variable and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("${var}={value:?}: {message}")]
    Env { var: &'static str, value: String, message: String },
}

impl Config {
    /// Reads `file` (if given) over the defaults, then the environment over that.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut c = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::File {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        if let Some(v) = env("FACEVAULT_LISTEN") {
            c.listen = v;
        }
        if let Some(v) = env("FACEVAULT_DIR") {
            c.vault = PathBuf::from(v);
        }
        fn number<T: std::str::FromStr>(var: &'static str, v: String) -> Result<T, ConfigError> {
            v.parse().map_err(|_| ConfigError::Env {
                var,
                value: v,
                message: "not a positive whole number".into(),
            })
        }
        if let Some(v) = env("FACEVAULT_MAX_BODY_BYTES") {
            c.max_body_bytes = number("FACEVAULT_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = env("FACEVAULT_REQUEST_TIMEOUT_SECS") {
            c.request_timeout_secs = number("FACEVAULT_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = env("FACEVAULT_MAX_CONCURRENT") {
            c.max_concurrent = number("FACEVAULT_MAX_CONCURRENT", v)?;
        }
        c.listen.parse::<SocketAddr>().map_err(|e| ConfigError::Env {
            var: "FACEVAULT_LISTEN",
            value: c.listen.clone(),
            message: format!("not an address:port ({e})"),
        })?;
        if c.max_concurrent == 0 || c.request_timeout_secs == 0 || c.max_body_bytes == 0 {
            return Err(ConfigError::File {
                file: "configuration".into(),
                message: "limits must be above zero".into(),
            });
        }
        Ok(c)
    }
}

/// The one error body every endpoint returns: a stable code, a message for the user, and the
/// field at fault. Internal details are logged by the server, never returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Stable, machine-readable: `not_found`, `payload_too_large`, `timeout`, `unavailable`, ...
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip)]
    pub status: u16,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { code: code.into(), message: message.into(), field: None, status: status.as_u16() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

/// Health as `/health` and `/ready` report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// What the server shares between requests.
#[derive(Debug)]
pub struct AppState {
    config: Config,
    requests: AtomicU64,
    errors: AtomicU64,
}

impl AppState {
    pub fn new(config: Config) -> Arc<AppState> {
        Arc::new(AppState { config, requests: AtomicU64::new(0), errors: AtomicU64::new(0) })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "FaceVault", description = "3D face scans: analysis and governance inside the clinic."),
    paths(health, ready, metrics),
    components(schemas(ApiError, Health))
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

/// Readiness: the vault directory holds a vault database the server can reach.
#[utoipa::path(get, path = "/ready", responses((status = 200, body = Health), (status = 503, body = ApiError)))]
async fn ready(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    let db = state.config.vault.join("vault.db");
    match std::fs::metadata(&db) {
        Ok(m) if m.is_file() => {
            Ok(Json(Health { status: "ready".into(), version: env!("CARGO_PKG_VERSION").into() }))
        }
        // The path stays in the server's own log; the client learns only that it is not ready.
        _ => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the vault is not ready")),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let body = format!(
        "# HELP facevault_http_requests_total HTTP requests handled.\n\
         # TYPE facevault_http_requests_total counter\n\
         facevault_http_requests_total {}\n\
         # HELP facevault_http_errors_total HTTP responses with a 4xx or 5xx status.\n\
         # TYPE facevault_http_errors_total counter\n\
         facevault_http_errors_total {}\n",
        state.requests.load(Ordering::Relaxed),
        state.errors.load(Ordering::Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Counts requests and errors, and turns the limit layers' bare statuses into [`ApiError`]s.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let res = next.run(req).await;
    let status = res.status();
    if status.is_client_error() || status.is_server_error() {
        state.errors.fetch_add(1, Ordering::Relaxed);
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return res;
    }
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "payload_too_large", "the request body is over the server's limit")
                .into_response()
        }
        StatusCode::REQUEST_TIMEOUT => {
            ApiError::new(status, "timeout", "the request took too long").into_response()
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new(status, "method_not_allowed", "this endpoint does not take that method")
                .into_response()
        }
        _ => res,
    }
}

/// The router with every layer, for the server and for in-process tests (`oneshot`).
pub fn router(state: Arc<AppState>) -> Router {
    let c = &state.config;
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(c.max_body_bytes))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(c.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(c.request_timeout_secs),
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(c.max_concurrent))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    let app = router(AppState::new(config));
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
