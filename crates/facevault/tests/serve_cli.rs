//! `facevault serve` as a process: it refuses a directory without a vault, answers on the
//! configured address over an opened vault, asks for a login before any data, and on SIGTERM
//! finishes and exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn serves_health_and_readiness_and_stops_on_sigterm() {
    // A free port: bind, read it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let vault = std::env::temp_dir().join(format!("facevault-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&vault);
    let fv = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_facevault"));
        c.arg("--vault").arg(&vault).args(args).env("FACEVAULT_KEK", KEK).env_remove("FACEVAULT_DIR");
        c
    };
    let missing = fv(&["serve"]).env("FACEVAULT_LISTEN", &addr).output().unwrap();
    assert_eq!(missing.status.code(), Some(3), "{}", String::from_utf8_lossy(&missing.stderr));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no vault here"));
    assert!(fv(&["init"]).output().unwrap().status.success());
    let mut child = fv(&["serve"])
        .env("FACEVAULT_LISTEN", &addr)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let health = loop {
        if let Some(r) = get(&addr, "/health") {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(health.starts_with("HTTP/1.1 200") && health.contains("\"status\":\"ok\""), "{health}");
    let ready = get(&addr, "/ready").unwrap();
    assert!(ready.starts_with("HTTP/1.1 200") && ready.contains("\"status\":\"ready\""), "{ready}");
    let data = get(&addr, "/api/subjects").unwrap();
    assert!(data.starts_with("HTTP/1.1 401") && data.contains("unauthenticated"), "{data}");
    let doc = get(&addr, "/openapi.json").unwrap();
    assert!(doc.contains("\"openapi\":\"3.1"), "{}", &doc[..200.min(doc.len())]);
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains(&format!("listening on http://{addr}")) && err.contains("shutting down"), "{err}");
    let _ = std::fs::remove_dir_all(&vault);
}

const KEK: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

#[test]
fn under_tls_it_says_https() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let vault = std::env::temp_dir().join(format!("facevault-serve-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&vault);
    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures");
    let fv = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_facevault"));
        c.arg("--vault").arg(&vault).args(args).env("FACEVAULT_KEK", KEK).env_remove("FACEVAULT_DIR");
        c
    };
    assert!(fv(&["init"]).output().unwrap().status.success());
    let mut child = fv(&["serve"])
        .env("FACEVAULT_LISTEN", &addr)
        .env("FACEVAULT_TLS_CERT", certs.join("localhost-cert.pem"))
        .env("FACEVAULT_TLS_KEY", certs.join("localhost-key.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Serving (and so listening for SIGTERM) once a plain-HTTP request is answered by closing
    // the connection: it is not a TLS handshake.
    let start = Instant::now();
    let closed = || {
        let mut s = TcpStream::connect(&addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).ok()
    };
    while closed().is_none() {
        assert!(start.elapsed() < Duration::from_secs(20), "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains(&format!("listening on https://{addr}")) && !err.contains("http://"), "{err}");
    let _ = std::fs::remove_dir_all(&vault);
}
