//! The router in process (`oneshot`) over a real vault (SQLite, blob files, the SQL audit log
//! in a temporary directory): who may do what over HTTP, the security properties of logging
//! in, sessions, tokens and uploads, and the plumbing (health, metrics, OpenAPI, errors,
//! configuration).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use facevault_app::accounts::totp_now;
use facevault_server::Config;
use facevault_vault::{AccountStore, TokenRow};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::common::{self, get, json_req, password, send, small_ply, Fixture, Subjects, Who, STAFF};

/// Patients A and B in Illinois, each with a scan.
async fn fixture(name: &str, tweak: impl FnOnce(&mut Config)) -> Fixture {
    let subjects = Subjects { jurisdiction: "US-IL", b_scanned: true };
    common::fixture(&format!("server-{name}"), subjects, tweak).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_is_denied_what_it_must_be_denied() {
    let f = fixture("authz", |_| ()).await;
    let (a, b, scan_a) = (f.a, f.b, f.scan_a);
    let mut who = std::collections::HashMap::new();
    for user in STAFF.iter().map(|r| r.as_str()).chain(["patient-a", "patient-b"]) {
        who.insert(user, f.login(user).await);
    }
    // (path, the users allowed); everyone else must get 403.
    let reads: Vec<(String, Vec<&str>)> = vec![
        (
            "/api/subjects".into(),
            vec![
                "surgeon",
                "clinical_staff",
                "front_desk",
                "privacy_officer",
                "admin",
                "patient-a",
                "patient-b",
            ],
        ),
        (format!("/api/subjects/{a}"), vec!["surgeon", "clinical_staff", "privacy_officer", "patient-a"]),
        (format!("/api/scans/{scan_a}"), vec!["surgeon", "clinical_staff", "privacy_officer", "patient-a"]),
        (
            format!("/api/scans/{scan_a}/ply"),
            vec!["surgeon", "clinical_staff", "privacy_officer", "patient-a"],
        ),
        (
            format!("/api/lineage/{scan_a}"),
            vec!["surgeon", "clinical_staff", "front_desk", "privacy_officer", "admin", "patient-a"],
        ),
        (
            format!("/api/subjects/{a}/consent"),
            vec!["surgeon", "clinical_staff", "front_desk", "privacy_officer", "admin", "patient-a"],
        ),
        ("/api/audit/entries".into(), vec!["privacy_officer", "admin"]),
        ("/api/audit/verify".into(), vec!["privacy_officer", "admin"]),
        ("/api/retention/plan".into(), vec!["privacy_officer", "admin"]),
        ("/api/tokens".into(), vec!["privacy_officer", "admin"]),
    ];
    let mut table = String::new();
    for (path, allowed) in &reads {
        for (user, w) in &who {
            let r = send(&f.app, get(path, Some(w))).await;
            let want = if allowed.contains(user) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            if r.status != want {
                table.push_str(&format!("GET {path} as {user}: {} (want {want}) {}\n", r.status, r.body));
            }
        }
    }
    assert!(table.is_empty(), "{table}");

    // A patient's listing holds only themselves.
    let mine = send(&f.app, get("/api/subjects", Some(&who["patient-a"]))).await.body;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["id"], a.to_string());

    // Patient B guesses patient A's ids: every read and change is refused, and audited.
    let guesses = [
        get(&format!("/api/subjects/{a}"), Some(&who["patient-b"])),
        get(&format!("/api/scans/{scan_a}"), Some(&who["patient-b"])),
        get(&format!("/api/scans/{scan_a}/ply"), Some(&who["patient-b"])),
        get(&format!("/api/lineage/{scan_a}"), Some(&who["patient-b"])),
        get(&format!("/api/subjects/{a}/consent"), Some(&who["patient-b"])),
        json_req(
            Method::POST,
            &format!("/api/subjects/{a}/consent/withdraw"),
            Some(&who["patient-b"]),
            &json!({}),
        ),
        get(&format!("/api/subjects/{a}?purpose=research"), Some(&who["patient-b"])),
    ];
    for req in guesses {
        let path = req.uri().to_string();
        let r = send(&f.app, req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        assert!(!r.body.to_string().contains("Patient A"), "{}", r.body);
    }
    // Changes by role: creating a subject, uploading a scan, issuing a token.
    let changes: Vec<(&str, Method, String, Value, Vec<&str>)> = vec![
        (
            "subject.add",
            Method::POST,
            "/api/subjects".into(),
            json!({"name": "New Patient"}),
            vec!["surgeon", "clinical_staff", "front_desk", "privacy_officer", "admin"],
        ),
        (
            "token.create",
            Method::POST,
            "/api/tokens".into(),
            json!({"name": "monitor", "role": "admin", "purposes": ["treatment-planning"], "expires_in_days": 30}),
            vec!["privacy_officer", "admin"],
        ),
        (
            "invite",
            Method::POST,
            format!("/api/subjects/{b}/invitation"),
            json!({}),
            // B has a portal account: only the privacy officer invites again (replacing it); the
            // care team's invitation conflicts with it, and the rest may not invite.
            vec!["privacy_officer"],
        ),
    ];
    let mut table = String::new();
    for (what, method, path, body, allowed) in &changes {
        for (user, w) in &who {
            let r = send(&f.app, json_req(method.clone(), path, Some(w), body)).await;
            let ok = if allowed.contains(user) {
                r.status == StatusCode::CREATED
            } else if *what == "invite" && ["surgeon", "clinical_staff"].contains(user) {
                r.status == StatusCode::CONFLICT
            } else {
                r.status == StatusCode::FORBIDDEN
            };
            if !ok {
                table.push_str(&format!("{what} as {user}: {} {}\n", r.status, r.body));
            }
        }
    }
    assert!(table.is_empty(), "{table}");
    let ply = small_ply();
    for (user, w) in &who {
        let req = Request::post(format!("/api/subjects/{a}/scans?purpose=treatment-planning"))
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf)
            .body(Body::from(ply.clone()))
            .unwrap();
        let r = send(&f.app, req).await;
        let want = if ["surgeon", "clinical_staff"].contains(user) {
            StatusCode::CREATED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(r.status, want, "upload as {user}: {}", r.body);
    }

    // The refusals are in the audit log, under the patient's account (a generated handle).
    let po = &who["privacy_officer"];
    let denied =
        send(&f.app, get(&format!("/api/audit/entries?denied=true&limit=1000&object=subject:{a}"), Some(po)))
            .await
            .body;
    let denied = denied.as_array().unwrap();
    let pb = f.username("patient-b");
    assert!(denied.iter().any(|e| e["actor"] == pb.as_str() && e["role"] == "patient"), "{denied:?}");
    assert!(denied.iter().any(|e| e["role"] == "marketing"), "{denied:?}");
    let v = send(&f.app, get("/api/audit/verify", Some(po))).await.body;
    assert_eq!(v["status"], "ok", "{v}");

    // Patient A withdraws their own consent: every later read of their data is refused.
    let r = send(
        &f.app,
        json_req(
            Method::POST,
            &format!("/api/subjects/{a}/consent/withdraw"),
            Some(&who["patient-a"]),
            &json!({}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(&f.app, get(&format!("/api/scans/{scan_a}"), Some(&who["surgeon"]))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("withdrawn"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sessions_csrf_and_lockout() {
    let f = fixture("login", |c| c.login_max_failures = 3).await;
    // No credentials, a made-up cookie.
    let r = send(&f.app, get("/api/subjects", None)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let fake = Who { cookie: "fv_session=forged".into(), csrf: String::new() };
    assert_eq!(send(&f.app, get("/api/subjects", Some(&fake))).await.status, StatusCode::UNAUTHORIZED);

    // CSRF: a change without the session's token (or with another) is refused.
    let w = f.login("front_desk").await;
    let body = json!({"name": "Someone"});
    let no_csrf = Request::post("/api/subjects")
        .header(header::COOKIE, &w.cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = send(&f.app, no_csrf).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf")), "{}", r.body);
    let other = Who { csrf: f.login("surgeon").await.csrf, ..w.clone() };
    let r = send(&f.app, json_req(Method::POST, "/api/subjects", Some(&other), &body)).await;
    assert_eq!(r.body["code"], "csrf");
    let r = send(&f.app, json_req(Method::POST, "/api/subjects", Some(&w), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Logout ends the session.
    let r = send(&f.app, json_req(Method::POST, "/api/logout", Some(&w), &json!({}))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(send(&f.app, get("/api/subjects", Some(&w))).await.status, StatusCode::UNAUTHORIZED);

    // Automatic logoff: a session idle past its limit is expired.
    let w = f.login("surgeon").await;
    assert_eq!(send(&f.app, get("/api/subjects", Some(&w))).await.status, StatusCode::OK);
    f.state.age_sessions(Duration::from_secs(16 * 60));
    let r = send(&f.app, get("/api/subjects", Some(&w))).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("session_expired")));

    // Brute force: the third wrong password locks the name, and then even the right one waits.
    for i in 1..=3 {
        let r = f.try_login("clinical_staff", "wrong-password-guess", None).await;
        let want = if i < 3 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(r.status, want, "attempt {i}: {}", r.body);
    }
    let r = f.try_login("clinical_staff", &password("clinical_staff"), None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("locked_out")));
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    // An unknown name answers like a wrong password (no account enumeration), and locks too.
    let r = f.try_login("nobody", "whatever-password", None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));

    // The second factor: required with the password (its absence answers as a wrong password
    // does), checked, and a code works once.
    let r = f.try_login("admin", &password("admin"), None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    let r = f.try_login("admin", &password("admin"), Some("000000".into())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let code = totp_now(&f.secrets["admin"]).unwrap();
    let r = f.try_login("admin", &password("admin"), Some(code.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = f.try_login("admin", &password("admin"), Some(code)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a replayed code: {}", r.body);

    // No secret in what the server says: neither the password nor the session token.
    let text = r.body.to_string();
    assert!(!text.contains(&password("admin")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_scoped_hashed_and_expire() {
    let f = fixture("tokens", |_| ()).await;
    let po = f.login("privacy_officer").await;
    // The privacy officer issues a token in their own role (no more than they may do).
    let body = json!({"name": "recovery-app", "role": "privacy_officer", "purposes": ["post-op-tracking"], "expires_in_days": 7});
    let r = send(&f.app, json_req(Method::POST, "/api/tokens", Some(&po), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("fvt_"));
    // Only the hash is kept.
    let rows = f.state.app().vault().metadata_store().tokens().await.unwrap();
    assert!(rows.iter().all(|t| t.token_hash != token && !t.token_hash.contains(&token[4..])));
    let bearer = |path: &str, token: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let scan = f.scan_a;
    let r = send(&f.app, bearer(&format!("/api/scans/{scan}?purpose=post-op-tracking"), &token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Outside its purposes (the default purpose too), it is refused.
    for path in [format!("/api/scans/{scan}?purpose=treatment-planning"), format!("/api/scans/{scan}")] {
        let r = send(&f.app, bearer(&path, &token)).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("out_of_scope")),
            "{path}"
        );
    }
    // No token manages tokens.
    let mut make = json_req(Method::POST, "/api/tokens", None, &body);
    make.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    assert_eq!(send(&f.app, make).await.status, StatusCode::FORBIDDEN);
    // A patient token cannot be issued.
    let patient =
        json!({"name": "x-app", "role": "patient", "purposes": ["post-op-tracking"], "expires_in_days": 7});
    let r = send(&f.app, json_req(Method::POST, "/api/tokens", Some(&po), &patient)).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("role")));
    // Revoked: refused at once.
    let rev = Request::delete(format!("/api/tokens/{id}"))
        .header(header::COOKIE, &po.cookie)
        .header("x-csrf-token", &po.csrf)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, rev).await.status, StatusCode::NO_CONTENT);
    let r = send(&f.app, bearer(&format!("/api/scans/{scan}?purpose=post-op-tracking"), &token)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Expired: refused.
    let old = "fvt_an-old-token-for-this-test";
    f.state
        .app()
        .vault()
        .metadata_store()
        .add_token(&TokenRow {
            id: "0".repeat(32),
            token_hash: facevault_server::auth::sha256_hex(old.as_bytes()),
            name: "old".into(),
            role: "surgeon".into(),
            purposes: "post-op-tracking".into(),
            created_by: "test".into(),
            created_at: 0,
            expires_at: 1,
            revoked: false,
        })
        .await
        .unwrap();
    let r = send(&f.app, bearer(&format!("/api/scans/{scan}?purpose=post-op-tracking"), old)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("session_expired")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_limited_streamed_and_validated() {
    let limit = 128 * 1024;
    let f = fixture("upload", |c| c.max_upload_bytes = limit).await;
    let w = f.login("surgeon").await;
    let a = f.a;
    let before = f.state.app().vault().scans_of(a).await.unwrap().len();
    let upload = |body: Body| {
        Request::post(format!("/api/subjects/{a}/scans?purpose=treatment-planning"))
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf)
            .body(body)
            .unwrap()
    };
    // 16 MiB streamed without a length: refused once the limit is passed, having read only
    // a little past it.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let chunks = (0..1024).map(move |_| {
        counter.fetch_add(16 * 1024, Ordering::SeqCst);
        Ok::<_, std::io::Error>(vec![b'x'; 16 * 1024])
    });
    let r = send(&f.app, upload(Body::from_stream(futures_util::stream::iter(chunks)))).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let read = pulled.load(Ordering::SeqCst);
    assert!(read <= limit + 2 * 16 * 1024, "read {read} bytes of a 16 MiB body with a {limit}-byte limit");
    // A declared length over the limit is refused before any byte is read.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let chunks = (0..4).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(vec![b'x'; 1024])
    });
    let mut req = upload(Body::from_stream(futures_util::stream::iter(chunks)));
    req.headers_mut().insert(header::CONTENT_LENGTH, "10000000".parse().unwrap());
    assert_eq!(send(&f.app, req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);

    // A malformed mesh: 422 naming the problem, and nothing stored.
    let blobs_before = std::fs::read_dir(f.dir.join("blobs")).map(|d| d.count()).unwrap_or(0);
    let bad = b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n";
    let r = send(&f.app, upload(Body::from(bad.to_vec()))).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("malformed_mesh")),
        "{}",
        r.body
    );
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains('7') && msg.contains("line"), "{msg}");
    let r = send(&f.app, upload(Body::from(b"not a mesh at all".to_vec()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(f.state.app().vault().scans_of(a).await.unwrap().len(), before);
    assert_eq!(std::fs::read_dir(f.dir.join("blobs")).map(|d| d.count()).unwrap_or(0), blobs_before);

    // A good one is sealed and its metadata returned.
    let r = send(&f.app, upload(Body::from(small_ply()))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["vertices"].as_u64(),
        Some(facevault_synthface::generate(&Default::default(), 1500).mesh.vertex_count() as u64)
    );
    // Unknown subject, bad purpose, bad id: named.
    let r = send(
        &f.app,
        Request::post("/api/subjects/zz/scans?purpose=treatment-planning")
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("id")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_openapi_and_errors() {
    let f = fixture("plumbing", |c| c.max_body_bytes = 1024).await;
    let r = send(&f.app, get("/health", None)).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("ok")));
    assert_eq!(send(&f.app, get("/ready", None)).await.status, StatusCode::OK);
    let r = send(&f.app, get("/no/such/thing", None)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let r = send(&f.app, Request::delete("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(r.body["code"], "method_not_allowed");
    // A JSON body over the limit is refused from its declared length.
    let big = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "1048576")
        .body(Body::from(vec![b' '; 2048]))
        .unwrap();
    let r = send(&f.app, big).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
        "{}",
        r.body
    );
    // A malformed body names what is wrong.
    let r = send(&f.app, json_req(Method::POST, "/api/login", None, &json!({"username": 3}))).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("body")), "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("username"), "{}", r.body);
    let no_type = Request::post("/api/login").body(Body::from("{}")).unwrap();
    let r = send(&f.app, no_type).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
    );

    let res = f.app.clone().oneshot(get("/metrics", None)).await.unwrap();
    let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.contains("facevault_http_requests_total 8"), "{text}");
    assert!(text.contains("facevault_http_errors_total 5"), "{text}");

    let doc = send(&f.app, get("/openapi.json", None)).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    for path in [
        "/api/login",
        "/api/subjects",
        "/api/subjects/{id}/scans",
        "/api/scans/{id}",
        "/api/audit/proof/{index}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["securitySchemes"]["session"].is_object());
    let res = f.app.clone().oneshot(get("/docs/", None)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(html.contains("swagger-ui") && !html.contains("cdn"), "the Swagger UI must be vendored");
}

#[test]
fn configuration_from_file_and_environment() {
    let c = Config::load(None, |_| None).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8080");
    assert_eq!((c.session_idle_minutes, c.login_max_failures), (15, 5));
    let dir = std::env::temp_dir().join(format!("facevault-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("facevault.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9999\"\nmax_upload_bytes = 100\nunknown = 1\n").unwrap();
    let err = Config::load(Some(&file), |_| None).unwrap_err().to_string();
    assert!(err.contains("unknown"), "{err}");
    std::fs::write(&file, "listen = \"127.0.0.1:9999\"\nmax_upload_bytes = 100\n").unwrap();
    let c = Config::load(Some(&file), |v| (v == "FACEVAULT_MAX_UPLOAD_BYTES").then(|| "4096".to_owned()))
        .unwrap();
    assert_eq!((c.listen.as_str(), c.max_upload_bytes), ("127.0.0.1:9999", 4096));
    let err = Config::load(None, |v| (v == "FACEVAULT_LISTEN").then(|| "everywhere".to_owned())).unwrap_err();
    assert!(err.to_string().contains("FACEVAULT_LISTEN"), "{err}");
    let err = Config::load(None, |v| (v == "FACEVAULT_TLS_CERT").then(|| "cert.pem".to_owned())).unwrap_err();
    assert!(err.to_string().contains("tls_key"), "{err}");
    let both = |v: &str| match v {
        "FACEVAULT_TLS_CERT" => Some("cert.pem".to_owned()),
        "FACEVAULT_TLS_KEY" => Some("key.pem".to_owned()),
        _ => None,
    };
    let c = Config::load(None, both).unwrap();
    assert_eq!(c.tls_key.as_deref(), Some(std::path::Path::new("key.pem")));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_when_a_certificate_is_configured() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (cert, key) = (fixtures.join("localhost-cert.pem"), fixtures.join("localhost-key.pem"));
    let f = fixture("tls", |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    // The session cookie is Secure under TLS.
    let r = f.try_login("surgeon", &password("surgeon"), None).await;
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(set.contains("; Secure"), "{set}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(facevault_server::serve_on(listener, f.state.clone(), async {
        let _ = stopped.await;
    }));
    // A client that trusts the test certificate gets /health over TLS.
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for c in rustls_pki_types::CertificateDer::pem_file_iter(fixtures.join("test-ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200") && text.contains("\"status\":\"ok\""), "{text}");
    // Plain HTTP on the same port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("HTTP/1.1 200"), "plain HTTP was answered");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_rate_limited_per_address_and_unknown_names_are_not_logged() {
    let f = fixture("rate", |c| c.login_per_minute = 4).await;
    let from = |ip: [u8; 4], user: &str, pw: &str| {
        let body = json!({"username": f.username(user), "password": pw});
        let mut req = json_req(Method::POST, "/api/login", None, &body);
        let peer = std::net::SocketAddr::from((ip, 40_000));
        req.extensions_mut().insert(axum::extract::ConnectInfo(facevault_server::Peer(peer)));
        req
    };
    // One address trying many names: the fifth attempt in the minute is refused before any
    // password is checked, even with the right password.
    for i in 0..4 {
        let r = send(&f.app, from([10, 0, 0, 1], "front_desk", &format!("wrong-{i}"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    let r = send(&f.app, from([10, 0, 0, 1], "surgeon", &password("surgeon"))).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    // Another address is not held up.
    let r = send(&f.app, from([10, 0, 0, 2], "surgeon", &password("surgeon"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // A password typed into the name field is not written to the audit log.
    let typed = "my-Secret-passw0rd";
    let r = send(&f.app, from([10, 0, 0, 3], typed, "whatever")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let po = f.login("privacy_officer").await;
    let entries = send(&f.app, get("/api/audit/entries?limit=1000", Some(&po))).await.body;
    let text = entries.to_string();
    assert!(!text.to_lowercase().contains(&typed.to_lowercase()), "{text}");
    assert!(text.contains("account:unknown") && text.contains("account:front_desk"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fixture("slow", |c| c.header_timeout_secs = 1).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(facevault_server::serve_on(listener, f.state.clone(), async {
        let _ = stopped.await;
    }));
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 10 s");
    assert!(started.elapsed() < Duration::from_secs(5), "closed after {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    // A client that sends its headers in time is served meanwhile.
    let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
    ok.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    ok.read_to_end(&mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn the_openapi_document_links_created_objects_to_what_takes_their_id() {
    let doc = serde_json::to_value(facevault_server::openapi()).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                ids.insert(id.to_owned());
            }
        }
    }
    let links = |path: &str| doc["paths"][path]["post"]["responses"]["201"]["links"].as_object().cloned();
    let expected = [
        ("/api/subjects", 9, "$response.body#/id", "get_subject"),
        ("/api/subjects/{id}/scans", 4, "$response.body#/id", "get_scan_ply"),
        ("/api/scans/{id}/symmetry", 2, "$response.body#/measurements", "get_derivative"),
        ("/api/requests", 12, "$response.body#/id", "acknowledge_request"),
        ("/api/tokens", 1, "$response.body#/id", "revoke_token"),
    ];
    for (path, count, value, one) in expected {
        let l = links(path).unwrap_or_else(|| panic!("POST {path} has no links"));
        assert_eq!(l.len(), count, "POST {path}: {l:?}");
        assert!(l.contains_key(one), "POST {path} does not link to {one}: {l:?}");
        for (name, link) in &l {
            let target = link["operationId"].as_str().unwrap_or_else(|| panic!("{name}: {link}"));
            assert!(ids.contains(target), "POST {path} links to no operation {target}");
            assert_eq!(link["parameters"]["id"], value, "{name}");
        }
    }
}
