//! Several processes on one vault: `facevault serve` answers audited reads while CLI commands
//! run against the same vault and append to the same audit log. Every response and every
//! command succeeds, and the log keeps every entry of both and verifies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEK: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const PASSWORD: &str = "several-processes-pass";

/// The server process; killed when dropped, also when an assertion fails first.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fv(vault: &Path, role: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_facevault"));
    c.arg("--vault").arg(vault).args(["--actor", &format!("cli-{role}"), "--role", role]).args(args);
    for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR", "FACEVAULT_ROLE"] {
        c.env_remove(var);
    }
    c.env("FACEVAULT_KEK", KEK).stdin(Stdio::null());
    c
}

fn ok(what: &str, o: Output) -> String {
    assert!(
        o.status.success(),
        "`{what}` exited {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// One HTTP/1.1 exchange on a fresh connection; returns the status and the whole response.
fn http(addr: &str, method: &str, path: &str, cookie: Option<&str>, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out)
}

/// Logs in and returns the session cookie (`name=value`).
fn login(addr: &str, username: &str, totp: Option<&str>) -> String {
    let totp = totp.map(|t| format!(",\"totp\":\"{t}\"")).unwrap_or_default();
    let body = format!("{{\"username\":\"{username}\",\"password\":\"{PASSWORD}\"{totp}}}");
    let (status, resp) = http(addr, "POST", "/api/login", None, Some(&body));
    assert_eq!(status, 200, "{resp}");
    let line = resp.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap();
    line["set-cookie:".len()..].trim().split(';').next().unwrap().to_owned()
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facevault-several-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The audit entries as `audit list --json` prints them.
fn entries(vault: &Path) -> Vec<serde_json::Value> {
    let out = ok(
        "audit list",
        fv(vault, "privacy_officer", &["audit", "list", "--json", "--limit", "10000000"]).output().unwrap(),
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_server_and_cli_commands_append_to_one_audit_log() {
    let dir = scratch();
    let vault = dir.join("vault");
    ok("init", fv(&vault, "admin", &["init"]).output().unwrap());
    for role in ["surgeon", "privacy_officer"] {
        let mut add = fv(&vault, "admin", &["account", "add", role, role]);
        let out = ok("account add", add.env("FACEVAULT_NEW_PASSWORD", PASSWORD).output().unwrap());
        if let Some(secret) = out.lines().find_map(|l| l.strip_prefix("totp-secret ")) {
            std::fs::write(dir.join("totp-secret"), secret).unwrap();
        }
    }
    ok(
        "subject add",
        fv(&vault, "front_desk", &["subject", "add", "--name", "Several Processes", "--jurisdiction", "IL"])
            .output()
            .unwrap(),
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let server = Server(
        fv(&vault, "admin", &["serve"])
            .env("FACEVAULT_LISTEN", &addr)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let surgeon = login(&addr, "surgeon", None);

    // Four clients repeat an audited read while CLI commands run against the same vault.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (addr, cookie, stop) = (addr.clone(), surgeon.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut answered = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let (status, resp) = http(&addr, "GET", "/api/subjects", Some(&cookie), None);
                    assert!((200..300).contains(&status), "GET /api/subjects: {resp}");
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    let mut commands = 0u64;
    let begun = Instant::now();
    while begun.elapsed() < Duration::from_secs(4) {
        ok("request list", fv(&vault, "privacy_officer", &["request", "list"]).output().unwrap());
        ok("subject list", fv(&vault, "front_desk", &["subject", "list"]).output().unwrap());
        commands += 1;
        ok("audit verify", fv(&vault, "privacy_officer", &["audit", "verify"]).output().unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let answered: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(answered > 0 && commands > 0);

    // The server reads the log as the CLI left it: its verification covers every entry.
    let secret = std::fs::read_to_string(dir.join("totp-secret")).unwrap();
    let mut otp = Command::new(env!("CARGO_BIN_EXE_facevault"))
        .arg("otp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    otp.stdin.take().unwrap().write_all(secret.trim().as_bytes()).unwrap();
    let code = ok("otp", otp.wait_with_output().unwrap());
    let officer = login(&addr, "privacy_officer", Some(code.trim()));
    ok("subject list", fv(&vault, "front_desk", &["subject", "list"]).output().unwrap());
    let (status, resp) = http(&addr, "GET", "/api/audit/verify", Some(&officer), None);
    assert_eq!(status, 200, "{resp}");
    let verified: serde_json::Value = serde_json::from_str(resp.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    drop(server);

    let out = ok("audit verify", fv(&vault, "privacy_officer", &["audit", "verify"]).output().unwrap());
    assert!(out.starts_with("audit log OK"), "{out}");
    let all = entries(&vault);
    assert_eq!(verified["status"], "ok", "{verified}");
    // The server's verification saw the CLI's last `subject list` (and everything before it).
    let last_cli = all.iter().rposition(|e| e["actor"] == "cli-front_desk").unwrap() as u64;
    assert!(verified["entries"].as_u64().unwrap() > last_cli, "{verified}, CLI entry at {last_cli}");
    let count = |f: &dyn Fn(&serde_json::Value) -> bool| all.iter().filter(|e| f(e)).count() as u64;
    let served = count(&|e| e["role"] == "surgeon" && e["action"] == "subject.list");
    assert!(served >= answered, "{served} server entries for {answered} answered requests");
    let by_cli = count(&|e| e["actor"] == "cli-front_desk" && e["action"] == "subject.list");
    assert!(by_cli > commands, "{by_cli} CLI entries for {} `subject list` runs", commands + 1);
    assert!(count(&|e| e["actor"] == "cli-privacy_officer") >= commands);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e["index"].as_u64(), Some(i as u64), "every index once, in order");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
