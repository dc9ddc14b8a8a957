//! `cargo xtask bench server`: the HTTP API under load on loopback, through the release
//! `facevault serve` over SQLite, with Debian's `wrk` as the load generator (bounded in time).
//!
//! Side by side in one run: `GET /health` (no login, no decision, no audit) and the
//! authorized scan-metadata read `GET /api/scans/{id}` (session lookup, the policy decision
//! with the stored consent and governance, and its audit entry appended durably before the
//! response). Prints requests/s and p50/p99 of each, and their ratio. Then uploads an
//! 860k-vertex binary PLY scan with curl several times (parse, validate, seal) and prints each
//! time. The audit log is verified at the end and must hold one entry per authorized read.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bench_requests::{path, Cli};
use crate::{cargo, root, run};

const UPLOAD_VERTICES: usize = 860_000;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn http(addr: &str, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// What wrk measured.
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
}

fn ms(s: &str) -> Result<f64> {
    let (n, unit) = s.trim().split_at(s.trim().find(|c: char| c.is_ascii_alphabetic()).context("no unit")?);
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        u => bail!("unknown wrk unit {u:?}"),
    })
}

fn wrk(url: &str, cookie: Option<&str>, secs: u32, connections: u32) -> Result<Load> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", &format!("-c{connections}"), &format!("-d{secs}s"), "--latency", "--timeout", "5s"]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    let out = cmd.arg(url).output().context("running wrk (apt-get install -y wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let field = |prefix: &str| -> Result<&str> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(str::trim)
            .with_context(|| format!("wrk printed no {prefix:?}: {text}"))
    };
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in ").map(|(n, _)| n.trim().parse::<u64>()))
        .context("wrk printed no request count")??;
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:").map(|n| n.trim().parse::<u64>()))
        .transpose()?
        .unwrap_or(0);
    Ok(Load {
        rps: field("Requests/sec:")?.parse()?,
        p50_ms: ms(field("50%")?)?,
        p99_ms: ms(field("99%")?)?,
        requests,
        errors,
    })
}

fn json_field(body: &str, name: &str) -> Result<String> {
    let start = body.find("\r\n\r\n").map_or(0, |i| i + 4);
    let v: serde_json::Value =
        serde_json::from_str(&body[start..]).with_context(|| format!("not JSON: {body}"))?;
    v[name].as_str().map(str::to_owned).with_context(|| format!("no {name} in {body}"))
}

pub fn run_bench(args: &[&str]) -> Result<()> {
    let secs: u32 = match args {
        [] => 10,
        ["--quick"] => 3,
        [bad, ..] => bail!("bench server: unknown argument {bad:?} (it takes --quick)"),
    };
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("bench server needs wrk: apt-get install -y wrk");
    }
    run(cargo().args(["build", "--release", "-q", "-p", "facevault"]))?;
    let dir = std::env::temp_dir().join(format!("facevault-bench-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = bench(&dir, secs);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(dir: &std::path::Path, secs: u32) -> Result<()> {
    let cli = Cli { bin: root().join("target/release/facevault"), vault: dir.join("vault") };
    cli.ok("admin", &["init"])?;
    let subject = cli.subject(dir, "Bench Subject")?;
    let (face, _) = crate::bench::bench_face(UPLOAD_VERTICES)?;
    let small = dir.join("small.ply");
    let (small_face, _) = crate::bench::bench_face(20_000)?;
    std::fs::copy(&small_face, &small)?;
    let scan =
        cli.ok("surgeon", &["scan", "import", &subject, path(&small)?, "--purpose", "treatment-planning"])?;
    let password = "bench-surgeon-password";
    let mut add = cli.command("admin", &["account", "add", "surgeon", "surgeon"]);
    let added = add.env("FACEVAULT_NEW_PASSWORD", password).output()?;
    if !added.status.success() {
        bail!("account add: {}", String::from_utf8_lossy(&added.stderr));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let mut serve = cli.command("admin", &["serve"]);
    serve.env("FACEVAULT_LISTEN", &addr).stdout(Stdio::null()).stderr(Stdio::null());
    let _server = Server(serve.spawn()?);
    let start = Instant::now();
    while http(&addr, &format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")).is_none()
    {
        if start.elapsed() > Duration::from_secs(30) {
            bail!("the server did not come up on {addr}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = format!("{{\"username\":\"surgeon\",\"password\":\"{password}\"}}");
    let login = http(
        &addr,
        &format!(
            "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .context("logging in")?;
    let cookie = login
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .with_context(|| format!("no session cookie: {login}"))?
        .to_owned();
    let csrf = json_field(&login, "csrf_token")?;
    let before = audit_size(&cli)?;

    println!("wrk, 2 threads, 32 connections, {secs} s each, on {addr} (2 cores shared with wrk)");
    let health = wrk(&format!("http://{addr}/health"), None, secs, 32)?;
    let read = wrk(&format!("http://{addr}/api/scans/{scan}"), Some(&cookie), secs, 32)?;
    println!("{:<46} {:>10} {:>9} {:>9} {:>8}", "endpoint", "req/s", "p50 ms", "p99 ms", "non-2xx");
    for (name, l) in
        [("GET /health (no auth, no audit)", &health), ("GET /api/scans/{id} (decided + audited)", &read)]
    {
        println!("{name:<46} {:>10.0} {:>9.2} {:>9.2} {:>8}", l.rps, l.p50_ms, l.p99_ms, l.errors);
    }
    println!("ratio: the authorized, audited read runs at {:.2}x the rate of /health", read.rps / health.rps);
    if read.errors > 0 {
        bail!("{} authorized reads failed", read.errors);
    }
    let after = audit_size(&cli)?;
    println!(
        "audit log: {} entries appended for {} authorized reads (wrk counts completed responses; the log verifies)",
        after - before,
        read.requests
    );
    if after - before < read.requests {
        bail!("fewer audit entries ({}) than reads answered ({})", after - before, read.requests);
    }

    let size = std::fs::metadata(&face)?.len();
    println!(
        "\nupload: {} ({:.1} MB, {UPLOAD_VERTICES} vertices), 5 runs, curl on loopback",
        face.display(),
        size as f64 / 1e6
    );
    let mut times = Vec::new();
    for _ in 0..5 {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H"])
            .arg(format!("Cookie: {cookie}"))
            .args(["-H", &format!("X-CSRF-Token: {csrf}"), "-H", "Content-Type: application/octet-stream"])
            .arg("--data-binary")
            .arg(format!("@{}", face.display()))
            .arg(format!("http://{addr}/api/subjects/{subject}/scans?purpose=treatment-planning"))
            .output()
            .context("running curl")?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (code, t) = text.split_once(' ').context("curl printed nothing")?;
        if code != "201" {
            bail!("upload answered {code}");
        }
        times.push(t.parse::<f64>()?);
    }
    let shown: Vec<String> = times.iter().map(|t| format!("{t:.3}")).collect();
    times.sort_by(f64::total_cmp);
    println!("upload times (s): {}; median {:.3} s, max {:.3} s", shown.join(", "), times[2], times[4]);
    Ok(())
}

/// The audit log's size, from `facevault audit verify` (which also checks every entry).
fn audit_size(cli: &Cli) -> Result<u64> {
    let out = cli.command("privacy_officer", &["audit", "verify"]).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("audit verify: {}", String::from_utf8_lossy(&out.stderr));
    }
    text.split_whitespace()
        .skip_while(|w| *w != "OK:")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("audit verify printed {text}"))
}
