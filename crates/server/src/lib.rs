//! FaceVault's HTTP server: the API over one open vault, for clinicians, patients, the privacy
//! officer and integrations.
//!
//! For most cases: [`AppState::open`] with the application the binary opened
//! ([`facevault_app::App`]: the vault, its policy, the audit journal and the clinic's files),
//! then [`router`] (in-process tests call it with `oneshot`) or [`serve_on`].
//!
//! The server is a front end: its handlers parse the request into a [`facevault_app::Session`]
//! and the use case's arguments, call the use case (which decides, acts and journals, durably,
//! before it returns) and render what it returns, or its error as a status and a stable code.
//! It decides nothing itself.
//!
//! - `config`: the TOML file and environment variables, with documented defaults.
//! - `auth`: accounts (Argon2id, TOTP), sessions with CSRF, API tokens.
//! - `lockout`: login lockout and rate per account and address, the audit budget of refusals.
//! - `api`: the endpoints, one module per resource.
//! - `error`: the one JSON error body.
//! - `schedule`: retention enforced daily at the configured time (the binary starts it).
//!
//! Only this crate knows HTTP. It holds no plaintext on disk: uploads are parsed in memory and
//! sealed by the vault; sessions live in memory.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use facevault_vault::{AccountStore, DynBlobStore, DynMetadataStore};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

mod api;
pub mod auth;
mod config;
mod error;
mod gpc;
mod headers;
mod limits;
mod lockout;
pub mod schedule;
mod tls;

pub use auth::Principal;
pub use config::{Config, ConfigError, DEFAULT_LISTEN};
pub use error::ApiError;
use facevault_app::accounts::AccountsKey;
pub use tls::{server_config as tls_config, Peer, TlsError};

/// The application the server fronts, over the stores the binary chose behind the ports (the
/// server names no adapter type).
pub type ServerApp = facevault_app::App<DynMetadataStore, DynBlobStore>;

/// Health as `/health` and `/ready` report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// What the binary hands the server: the application it opened (the vault, its policy, the
/// started audit journal, the clinic's files).
#[derive(Debug)]
pub struct Backend {
    pub app: ServerApp,
}

/// Runs the app's CPU-heavy jobs on tokio's blocking threads, so request threads stay free.
#[derive(Clone, Copy, Debug)]
struct BlockingThreads;

impl facevault_app::Offload for BlockingThreads {
    fn run(&self, job: Box<dyn FnOnce() + Send>) {
        // The job answers through its own channel; a panic in it drops that channel, which the
        // app reports as an internal error.
        drop(tokio::task::spawn_blocking(job));
    }
}

/// What the server shares between requests.
#[derive(Debug)]
pub struct AppState {
    config: Config,
    app: ServerApp,
    accounts_key: AccountsKey,
    sessions: auth::Sessions,
    lockout: lockout::Lockout,
    used_codes: auth::UsedCodes,
    login_rate: lockout::LoginRate,
    /// The server's request permits (`max_concurrent`), taken once a body has arrived.
    admission: Arc<tokio::sync::Semaphore>,
    exports: limits::Exports,
    requests: AtomicU64,
    errors: AtomicU64,
    /// Password and TOTP verifications run (the lockout bounds them).
    password_checks: AtomicU64,
    totp_checks: AtomicU64,
    failure_audit: lockout::FailureAudit,
    unaudited_failures: AtomicU64,
}

impl AppState {
    /// Loads the accounts key (creating it on first run); the app's CPU-heavy work (analyses,
    /// sealing packages) goes to blocking threads from then on.
    pub async fn open(config: Config, backend: Backend) -> Result<Arc<AppState>, ApiError> {
        let app = backend.app.with_offload(Box::new(BlockingThreads));
        let vault = app.vault();
        let accounts_key =
            AccountsKey::load(vault.id(), vault.metadata_store(), vault.key_provider().as_ref()).await?;
        let admission = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent));
        let exports = limits::Exports::new(config.max_concurrent_exports);
        let state = Arc::new(AppState {
            admission,
            exports,
            config,
            app,
            accounts_key,
            sessions: auth::Sessions::default(),
            lockout: lockout::Lockout::default(),
            used_codes: auth::UsedCodes::default(),
            login_rate: lockout::LoginRate::default(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            password_checks: AtomicU64::new(0),
            totp_checks: AtomicU64::new(0),
            failure_audit: lockout::FailureAudit::default(),
            unaudited_failures: AtomicU64::new(0),
        });
        auth::sweep_sessions(&state);
        Ok(state)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The use cases, the vault and the audit journal.
    pub fn app(&self) -> &ServerApp {
        &self.app
    }

    /// The vault's metadata store, which also keeps the server's accounts and tokens.
    pub(crate) fn meta(&self) -> &DynMetadataStore {
        self.app.vault().metadata_store()
    }

    pub fn accounts_key(&self) -> &AccountsKey {
        &self.accounts_key
    }

    /// Ages every session by `by` (tests of automatic logoff).
    #[doc(hidden)]
    pub fn age_sessions(&self, by: Duration) {
        self.sessions.age_all(by);
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::SESSION_COOKIE,
                "The session cookie set by POST /api/login. State-changing requests also send the \
                 login's csrf_token in the X-CSRF-Token header.",
            ))),
        );
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (fvt_...), scoped to a role and purposes."))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "FaceVault", description = "3D face scans: analysis and governance inside the clinic. \
        Every access to a subject's data is decided for a purpose by the clinic's policy and written \
        to the verifiable audit log before the response is sent."),
    paths(health, ready, metrics),
    components(schemas(ApiError, Health)),
    modifiers(&Security),
    security(("session" = []), ("token" = []))
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The whole OpenAPI document: the endpoints of every `api` module merged (operations on one
/// path from two modules are kept side by side), nested under `/api`, with the links of
/// [`LINKS`]. JSON, because utoipa 5 writes a link's `operationId` as `operation_id`.
pub fn openapi() -> serde_json::Value {
    let mut endpoints = api::Api::openapi();
    for part in [
        api::SessionsApi::openapi(),
        api::TokensApi::openapi(),
        api::AccountsApi::openapi(),
        api::SubjectsApi::openapi(),
        api::ScansApi::openapi(),
        api::ConsentsApi::openapi(),
        api::RetentionApi::openapi(),
        api::AuditApi::openapi(),
        api::RequestsApi::openapi(),
        api::VendorsApi::openapi(),
        api::DocumentsApi::openapi(),
        api::ClinicalApi::openapi(),
        api::CompletionApi::openapi(),
        api::PackageApi::openapi(),
    ] {
        endpoints.merge(part);
    }
    let doc = ApiDoc::openapi().nest("/api", endpoints);
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    for (from, field, to) in LINKS {
        link(&mut doc, from, field, to);
    }
    doc
}

/// Operations as (method, path).
type Targets = &'static [(&'static str, &'static str)];

/// What an operation's created object leads to: (the creating POST, the field of its 201
/// answer holding the id, the operations taking that id as `{id}`).
const LINKS: &[(&str, &str, Targets)] = &[
    (
        "/api/subjects",
        "id",
        &[
            ("get", "/api/subjects/{id}"),
            ("get", "/api/subjects/{id}/consent"),
            ("post", "/api/subjects/{id}/consent"),
            ("post", "/api/subjects/{id}/scans"),
            ("post", "/api/subjects/{id}/restrictions"),
            ("post", "/api/subjects/{id}/holds"),
            ("get", "/api/subjects/{id}/disclosures"),
            ("post", "/api/subjects/{id}/invitation"),
            ("post", "/api/subjects/{id}/export"),
        ],
    ),
    (
        "/api/subjects/{id}/scans",
        "id",
        &[
            ("get", "/api/scans/{id}"),
            ("get", "/api/scans/{id}/ply"),
            ("post", "/api/scans/{id}/symmetry"),
            ("get", "/api/lineage/{id}"),
        ],
    ),
    (
        "/api/scans/{id}/symmetry",
        "measurements",
        &[("get", "/api/derivatives/{id}"), ("get", "/api/lineage/{id}")],
    ),
    (
        "/api/requests",
        "id",
        &[
            ("get", "/api/requests/{id}"),
            ("post", "/api/requests/{id}/acknowledge"),
            ("post", "/api/requests/{id}/agent-authority"),
            ("post", "/api/requests/{id}/verify"),
            ("post", "/api/requests/{id}/start"),
            ("post", "/api/requests/{id}/extend"),
            ("post", "/api/requests/{id}/deny"),
            ("post", "/api/requests/{id}/cancel"),
            ("post", "/api/requests/{id}/complete"),
            ("post", "/api/requests/{id}/package"),
            ("post", "/api/requests/{id}/vendor-confirmed"),
            ("post", "/api/requests/{id}/backups-purged"),
        ],
    ),
    ("/api/tokens", "id", &[("delete", "/api/tokens/{id}")]),
];

/// Adds OpenAPI links from the 201 answer of `POST from` to each of `to`, passing the answer's
/// `field` as their `{id}` (so a client, and Schemathesis' stateful phase, can follow them).
fn link(doc: &mut serde_json::Value, from: &str, field: &str, to: &[(&str, &str)]) {
    let links: serde_json::Map<String, serde_json::Value> = to
        .iter()
        .filter_map(|(method, path)| {
            let id = doc["paths"][path][method]["operationId"].as_str()?.to_owned();
            let link = serde_json::json!({
                "operationId": id,
                "parameters": { "id": format!("$response.body#/{field}") },
                "description": format!("{} {path} with this {field}", method.to_uppercase()),
            });
            Some((id, link))
        })
        .collect();
    let pointer = format!("/paths/{}/post/responses/201", from.replace('~', "~0").replace('/', "~1"));
    if let Some(created) = doc.pointer_mut(&pointer).and_then(serde_json::Value::as_object_mut) {
        created.insert("links".into(), serde_json::Value::Object(links));
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

/// Readiness: the vault's database answers.
#[utoipa::path(get, path = "/ready", responses((status = 200, body = Health), (status = 503, body = ApiError)))]
async fn ready(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    match state.meta().tokens().await {
        Ok(_) => Ok(Json(Health { status: "ready".into(), version: env!("CARGO_PKG_VERSION").into() })),
        Err(e) => {
            eprintln!("facevault-server: not ready: {e}");
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the vault is not ready"))
        }
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
         facevault_http_errors_total {}\n\
         # HELP facevault_password_verifications_total Passwords checked against a hash (Argon2id).\n\
         # TYPE facevault_password_verifications_total counter\n\
         facevault_password_verifications_total {}\n\
         # HELP facevault_totp_verifications_total One-time codes checked.\n\
         # TYPE facevault_totp_verifications_total counter\n\
         facevault_totp_verifications_total {}\n\
         # HELP facevault_sessions Browser sessions held in memory.\n\
         # TYPE facevault_sessions gauge\n\
         facevault_sessions {}\n\
         # HELP facevault_auth_failures_unaudited_total Refused credentials over an address's audit budget.\n\
         # TYPE facevault_auth_failures_unaudited_total counter\n\
         facevault_auth_failures_unaudited_total {}\n",
        state.requests.load(Ordering::Relaxed),
        state.errors.load(Ordering::Relaxed),
        state.password_checks.load(Ordering::Relaxed),
        state.totp_checks.load(Ordering::Relaxed),
        state.sessions.len(),
        state.unaudited_failures.load(Ordering::Relaxed),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Counts requests and errors, and turns the limit layers' and extractors' bare statuses into
/// [`ApiError`]s.
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
    if is_json || status.is_success() || status.is_redirection() {
        return res;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is over the server's limit"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this endpoint does not take that method"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send the body as application/json"),
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        s if s.is_client_error() => ("bad_request", "the request is malformed (path, query or body)"),
        _ => ("internal", "the server failed; the error is logged"),
    };
    // The extractor's own text (which field failed to parse) is kept as the message when it
    // is short plain text: it names the problem and holds nothing secret.
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok());
    let message =
        text.filter(|t| !t.is_empty() && t.len() < 512 && status.is_client_error()).unwrap_or(message.into());
    let _ = parts;
    ApiError::new(status, code, message).into_response()
}

/// The router with every layer, for the server and for in-process tests (`oneshot`). The
/// layers run outside in: the security headers, counting and error bodies, admission (the body
/// read at its pace, then one of the server's permits: `limits`), the request timeout, the
/// body limit.
pub fn router(state: Arc<AppState>) -> Router {
    let c = &state.config;
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .nest("/api", api::routes(&state))
        .merge(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", openapi()))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(c.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(c.request_timeout_secs),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), limits::admit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn_with_state(state.clone(), headers::security_headers))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves, then finishes the requests in flight:
/// HTTPS when the configuration names a certificate and key, else plain HTTP.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = match (&state.config.tls_cert, &state.config.tls_key) {
        (Some(cert), Some(key)) => {
            Some(tls::server_config(cert, key).map_err(|e| std::io::Error::other(e.to_string()))?)
        }
        _ => None,
    };
    let headers = Duration::from_secs(state.config.header_timeout_secs);
    let per_address = state.config.max_connections_per_address;
    tls::serve_connections(listener, router(state), tls, headers, per_address, shutdown).await
}
