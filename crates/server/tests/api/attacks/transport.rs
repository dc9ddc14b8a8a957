//! The transport under load (findings 3, 4, 7 and 12): slow bodies that starved every login,
//! concurrent passphrase exports that took the server to 4 GiB, uploads that allocated what
//! they declared, and the security headers. Each attack goes over real TCP to a live server.
//!
//! The memory figures are the test process' own (`VmHWM` in /proc/self/status: the live server
//! runs in it); the heavy tests take [`HEAVY`] so that they do not count each other's memory.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::fixture;
use crate::common::{get, json_req, parse_reply, password, post, send, Live, Reply};

/// One memory-heavy test at a time in this binary.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The process' high-water mark of resident memory, in MiB.
fn hwm_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// Resets the high-water mark to the present resident size (Linux: write 5 to clear_refs).
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A TCP connection to the live server from the loopback address `127.0.0.{from}` (Linux
/// answers on all of 127/8, so these stand for several clients).
async fn connect_from(live: &Live, from: u8) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, from), 0)))?;
    socket.connect(live.addr).await
}

/// Opens a request whose head and first `sent` body bytes go out, the rest never: held open.
async fn slow_body(live: &Live, from: u8, head: &str, sent: &[u8]) -> Option<TcpStream> {
    let mut tcp = connect_from(live, from).await.ok()?;
    tcp.write_all(head.as_bytes()).await.ok()?;
    tcp.write_all(sent).await.ok()?;
    Some(tcp)
}

/// A patient's login over TCP from 127.0.0.1, timed.
async fn timed_login(f: &crate::common::Fixture, live: &Live) -> (Duration, Option<Reply>) {
    let body = json!({"username": f.username("patient-a"), "password": password("patient-a")});
    let start = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(2),
        live.send(json_req(Method::POST, "/api/login", None, &body)),
    )
    .await
    .ok();
    (start.elapsed(), r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_do_not_starve_login() {
    let f = fixture("slow-bodies", |_| ()).await;
    let live = f.serve().await;
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        live.addr
    );
    // 150 slow logins from one address, 150 from ten others: 300 bodies held open.
    let mut held = Vec::new();
    for i in 0..300u32 {
        let from = if i < 150 { 2 } else { 3 + (i % 10) as u8 };
        held.push(slow_body(&live, from, &head, b"{\"username\":\"").await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (took, r) = timed_login(&f, &live).await;
    eprintln!("login with 300 slow bodies held open: {took:?}");
    let r = r.unwrap_or_else(|| {
        panic!("no answer to a login within 2 s ({took:?}) while 300 slow bodies are held")
    });
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The slow bodies are cut off by the body read timeout, not held for the request timeout.
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_more_than_its_connections() {
    let f = fixture("per-address", |c| c.max_connections_per_address = 8).await;
    let live = f.serve().await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(connect_from(&live, 4).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The ninth from that address is closed at once; another address is served.
    let mut ninth = connect_from(&live, 4).await.unwrap();
    let _ = ninth.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), ninth.read_to_end(&mut raw)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the ninth connection was served: {raw:?}");
    let r = live.send(get("/health", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_cut_off() {
    let f = fixture("body-timeout", |c| c.body_timeout_secs = 1).await;
    let live = f.serve().await;
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        live.addr
    );
    let mut tcp = slow_body(&live, 1, &head, b"{").await.unwrap();
    let start = Instant::now();
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "the slow body was still held after 10 s");
    eprintln!("a stalled body cut off after {:?}", start.elapsed());
    let r = parse_reply(&raw);
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT, "{}", r.text);
    assert!(r.text.contains("body"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_stay_within_memory() {
    let _heavy = HEAVY.lock().await;
    let f = fixture("export-memory", |_| ()).await;
    let live = std::sync::Arc::new(f.serve().await);
    let (a, b) = (f.a, f.b);
    let mut who = Vec::new();
    for user in ["patient-a", "patient-b", "privacy_officer"] {
        who.push((user, f.session(user).await));
    }
    reset_hwm();
    let before = hwm_mib();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (user, w) = who[i % 3].clone();
        let subject = if user == "patient-b" { b } else { a };
        let path = format!("/api/subjects/{subject}/export?purpose=treatment-planning");
        let body = json!({"passphrase": "tulip-granite-harbour-violin"});
        let live = live.clone();
        tasks.push(tokio::spawn(async move { live.send(post(&path, Some(&w), &body)).await }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers.get(header::RETRY_AFTER).is_some(), "429 without Retry-After");
            assert_eq!(r.body["code"], "busy", "{}", r.text);
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        statuses.push(r.status.as_u16());
    }
    let grew = hwm_mib().saturating_sub(before);
    eprintln!("16 concurrent exports: statuses {statuses:?}, high-water mark grew {grew} MiB");
    assert!(grew < 1024, "16 concurrent exports grew the server by {grew} MiB");
    assert!(statuses.iter().filter(|s| **s == 200).count() >= 3, "{statuses:?}");
    // One export at a time per user: a user's second concurrent export is refused.
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_uploads_allocate_only_what_arrived() {
    let _heavy = HEAVY.lock().await;
    let f = fixture("upload-memory", |_| ()).await;
    let live = f.serve().await;
    let w = f.session("surgeon").await;
    let declared: u64 = 512 << 20;
    let head = format!(
        "POST /api/subjects/{}/scans?purpose=treatment-planning HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\
         X-CSRF-Token: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n",
        f.a, live.addr, w.cookie, w.csrf
    );
    reset_hwm();
    let before = hwm_mib();
    // 32 uploads declaring 512 MiB send 1.5 MiB each, stall, then break off.
    let chunk = vec![b'x'; 3 << 19];
    let mut uploads = Vec::new();
    for _ in 0..32 {
        uploads.push(slow_body(&live, 1, &head, &chunk).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(uploads);
    // /health keeps answering while the aborted uploads are let go.
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let start = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(5), live.send(get("/health", None))).await;
        assert_eq!(r.expect("/health did not answer in 5 s").status, StatusCode::OK);
        slowest = slowest.max(start.elapsed());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let grew = hwm_mib().saturating_sub(before);
    eprintln!("32 aborted 512 MiB uploads: high-water mark grew {grew} MiB, slowest /health {slowest:?}");
    assert!(grew < 384, "32 aborted uploads grew the server by {grew} MiB");
    assert!(slowest < Duration::from_secs(1), "/health took {slowest:?}");
}

/// The headers every answer carries, and those of the API's.
fn check_headers(what: &str, r: &Reply, api: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    let h = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut want = vec![
        ("x-content-type-options", "nosniff".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
    ];
    if api {
        want.push(("cache-control", "no-store".to_owned()));
        want.push(("content-security-policy", "default-src 'none'; frame-ancestors 'none'".to_owned()));
    }
    for (name, value) in want {
        if h(name) != value {
            wrong.push(format!("{what} ({}): {name} is {:?}, want {value:?}", r.status, h(name)));
        }
    }
    if !h("content-security-policy").contains("frame-ancestors 'none'") {
        wrong
            .push(format!("{what}: no frame-ancestors 'none' in the CSP {:?}", h("content-security-policy")));
    }
    if !h("strict-transport-security").is_empty() {
        wrong.push(format!("{what}: HSTS over plain HTTP"));
    }
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let f = fixture("headers", |_| ()).await;
    let live = f.serve().await;
    let surgeon = f.session("surgeon").await;
    let doc = facevault_server::openapi();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", &f.a.to_string());
        for method in ops.as_object().unwrap().keys() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            // Anonymous with the operation's method; signed in with GET where it is one.
            let anon =
                Request::builder().method(m.clone()).uri(&concrete).body(axum::body::Body::empty()).unwrap();
            let r = live.send(anon).await;
            wrong.extend(check_headers(&format!("{method} {path}"), &r, true));
            if m == Method::GET {
                let r = live.send(get(&concrete, Some(&surgeon))).await;
                wrong.extend(check_headers(&format!("{method} {path} as surgeon"), &r, true));
            }
            checked += 1;
        }
    }
    for path in ["/openapi.json", "/no-such-page"] {
        let r = live.send(get(path, None)).await;
        wrong.extend(check_headers(path, &r, true));
    }
    // The Swagger UI loads its own script and style, and still may not be framed.
    let r = live.send(get("/docs/", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    wrong.extend(check_headers("/docs/", &r, false));
    let csp = r.headers.get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"), "{csp}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/swagger-initializer.js"] {
        let r = live.send(get(asset, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{asset}");
        wrong.extend(check_headers(asset, &r, false));
    }
    assert!(checked > 40, "only {checked} operations in the document");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_under_tls() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let f = fixture("hsts", |c| {
        c.tls_cert = Some(fixtures.join("localhost-cert.pem"));
        c.tls_key = Some(fixtures.join("localhost-key.pem"));
    })
    .await;
    for path in ["/health", "/api/subjects"] {
        let r = send(&f.app, get(path, None)).await;
        let hsts = r.headers.get(header::STRICT_TRANSPORT_SECURITY).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(hsts.as_deref(), Some("max-age=31536000; includeSubDomains"), "{path}");
    }
}
