//! The security headers, on every answer (one layer, so no endpoint can forget them):
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
//! a Content-Security-Policy, `Cache-Control: no-store` on everything but the Swagger UI's
//! static files (the API's answers carry identities, consents, derivatives and audit entries),
//! and `Strict-Transport-Security` when the server speaks TLS.
//!
//! The API's policy allows nothing (`default-src 'none'`): its answers are JSON, meshes and
//! plain documents, never pages to run. The Swagger UI at `/docs` loads its own script, styles
//! and images and fetches `/openapi.json` from this origin; React sets inline styles, hence
//! `'unsafe-inline'` for styles only. Neither may be framed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// The API's Content-Security-Policy.
pub(crate) const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// The Swagger UI's Content-Security-Policy.
pub(crate) const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// HSTS under TLS: a year, subdomains included (no preload: that is the clinic's decision).
pub(crate) const HSTS: &str = "max-age=31536000; includeSubDomains";

pub(crate) async fn security_headers(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let docs = req.uri().path().starts_with("/docs");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CONTENT_SECURITY_POLICY, if docs { DOCS_CSP } else { API_CSP });
    if !docs {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if state.config.tls_cert.is_some() {
        set(h, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    res
}
