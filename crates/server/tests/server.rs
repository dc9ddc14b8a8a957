//! The router in process (`oneshot`): health, readiness, metrics, the OpenAPI document and the
//! vendored Swagger UI, the JSON error body for unknown paths, methods and oversized bodies,
//! and the configuration with its environment overrides.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use facevault_server::{router, AppState, Config};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn config(vault: &std::path::Path) -> Config {
    Config { vault: vault.to_path_buf(), max_body_bytes: 1024, ..Config::default() }
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let ctype =
        res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn health_readiness_metrics_and_errors() {
    let dir = std::env::temp_dir().join(format!("facevault-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let app = router(AppState::new(config(&dir)));

    let (s, ctype, body) = call(&app, get("/health")).await;
    assert_eq!((s, ctype.as_str()), (StatusCode::OK, "application/json"));
    assert!(body.contains("\"status\":\"ok\""), "{body}");

    // No vault yet: not ready, and the path is not revealed.
    let (s, _, body) = call(&app, get("/ready")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let err: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["code"], "unavailable");
    assert!(!body.contains(dir.to_str().unwrap()), "{body}");
    std::fs::write(dir.join("vault.db"), b"").unwrap();
    assert_eq!(call(&app, get("/ready")).await.0, StatusCode::OK);

    let (s, _, body) = call(&app, get("/no/such/thing")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["code"], "not_found");
    let (s, ctype, body) = call(&app, Request::delete("/health").body(Body::empty()).unwrap()).await;
    assert_eq!((s, ctype.as_str()), (StatusCode::METHOD_NOT_ALLOWED, "application/json"), "{body}");

    // A body over the limit is refused from its declared length, before it is read.
    let big = Request::post("/health")
        .header(header::CONTENT_LENGTH, "1048576")
        .body(Body::from(vec![0u8; 2048]))
        .unwrap();
    let (s, ctype, body) = call(&app, big).await;
    assert_eq!((s, ctype.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "application/json"), "{body}");
    assert!(body.contains("payload_too_large"), "{body}");

    let (s, ctype, body) = call(&app, get("/metrics")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let count = |name: &str| -> u64 {
        body.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap().parse().unwrap()
    };
    assert_eq!(count("facevault_http_requests_total"), 7, "{body}");
    assert_eq!(count("facevault_http_errors_total"), 4, "{body}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn openapi_document_and_vendored_swagger_ui() {
    let app = router(AppState::new(Config::default()));
    let (s, _, body) = call(&app, get("/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    for path in ["/health", "/ready", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["ApiError"].is_object());
    let (s, ctype, body) = call(&app, get("/docs/")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(ctype.starts_with("text/html") && body.contains("swagger"), "{ctype}");
    let (s, _, _) = call(&app, get("/docs/swagger-ui-bundle.js")).await;
    assert_eq!(s, StatusCode::OK, "the UI's script is served from the binary, not a CDN");
}

#[test]
fn configuration_from_file_and_environment() {
    let c = Config::load(None, |_| None).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8080");
    let dir = std::env::temp_dir().join(format!("facevault-server-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("facevault.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9999\"\nmax-concurrent = 4\n").unwrap();
    let err = Config::load(Some(&file), |_| None).unwrap_err().to_string();
    assert!(err.contains("facevault.toml") && err.contains("max-concurrent"), "{err}");
    std::fs::write(&file, "listen = \"127.0.0.1:9999\"\nmax_concurrent = 4\n").unwrap();
    let c =
        Config::load(Some(&file), |v| (v == "FACEVAULT_MAX_BODY_BYTES").then(|| "4096".to_owned())).unwrap();
    assert_eq!((c.listen.as_str(), c.max_concurrent, c.max_body_bytes), ("127.0.0.1:9999", 4, 4096));
    let err = Config::load(None, |v| (v == "FACEVAULT_LISTEN").then(|| "everywhere".to_owned()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("FACEVAULT_LISTEN") && err.contains("everywhere"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
