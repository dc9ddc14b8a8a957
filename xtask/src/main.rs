//! Dev tooling: `cargo xtask <task>`. Tasks: ci, test, bench mesh|analysis|vault|audit|requests|server,
//! fuzz.
//!
//! Everything a fresh machine needs for the test suite (the Python venv with the peer tools,
//! the libusb that Open3D loads) is installed here, so the README's test command works on a
//! clean clone.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

mod bench;
mod bench_analysis;
mod bench_audit;
mod bench_requests;
mod bench_server;
mod bench_vault;
mod fuzz;

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["ci"] => ci(),
        ["test"] => test(),
        ["bench", "mesh", rest @ ..] => bench::mesh(rest),
        ["bench", "analysis", rest @ ..] => bench_analysis::run(rest),
        ["bench-analysis-child", rest @ ..] => bench_analysis::child(rest),
        ["bench", "vault", rest @ ..] => bench_vault::run_bench(rest),
        ["bench", "audit", rest @ ..] => bench_audit::run_bench(rest),
        ["bench", "requests", rest @ ..] => bench_requests::run_bench(rest),
        ["bench", "server", rest @ ..] => bench_server::run_bench(rest),
        ["fuzz", rest @ ..] => fuzz::run(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\
                 \n  ci                 fmt check, clippy, then the whole test suite\
                 \n  test               the whole test suite: cargo tests, then the interop tests\
                 \n  bench mesh [--vertices N] [--runs R]\
                 \n                     read one binary PLY with FaceVault, Open3D and trimesh\
                 \n  bench vault [--quick]\
                 \n                     seal/open vs memcpy and openssl, 860k-vertex import, shred\
                 \n  bench audit [--quick]\
                 \n                     durable audit appends (group commit), 1M-entry verification\
                 \n  bench requests     erasure (100 scans, 1,000 derivatives) and access export\
                 \n  bench server [--quick]\
                 \n                     HTTP load with wrk: /health vs an authorized, audited read; 860k upload\
                 \n                     (10 scans of 200k vertices) through the release binary\
                 \n  bench analysis [--vertices N,N,..] [--runs R]\
                 \n                     compare and symmetry vs Open3D at 50k, 200k, 860k vertices\
                 \n  fuzz [--seconds S] [TARGET...]\
                 \n                     run the cargo-fuzz targets, print execs/s and coverage"
            );
            bail!("unknown task {:?}", args.join(" "))
        }
    }
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Run a command from the workspace root, failing on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", show(cmd));
    let status = cmd.current_dir(root()).status().with_context(|| format!("starting {}", show(cmd)))?;
    if !status.success() {
        bail!("{} failed: {status}", show(cmd));
    }
    Ok(())
}

/// Run a benchmark child and read the numeric fields of the JSON object on its last stdout line.
pub fn child_json(cmd: &mut Command) -> Result<serde_json::Map<String, serde_json::Value>> {
    let out = cmd.output().with_context(|| format!("starting {}", show(cmd)))?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().context("no output")?;
    match serde_json::from_str(line).with_context(|| format!("not JSON: {line}"))? {
        serde_json::Value::Object(map) => Ok(map),
        other => bail!("expected a JSON object, got {other}"),
    }
}

/// A numeric field of a [`child_json`] result.
pub fn number(map: &serde_json::Map<String, serde_json::Value>, name: &str) -> Result<f64> {
    map.get(name).and_then(serde_json::Value::as_f64).with_context(|| format!("no number {name:?}"))
}

fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program().to_string_lossy().into_owned())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn ci() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    test()
}

fn test() -> Result<()> {
    run(cargo().args(["test", "--workspace"]))?;
    run(cargo().args(["build", "--release", "-p", "facevault"]))?;
    let py = venv()?;
    run(Command::new(py)
        .args(["-m", "pytest", "-q", "-p", "no:dash", "tests/interop"])
        .env("FACEVAULT_BIN", root().join("target/release/facevault")))
}

/// The Python venv with the peer tools (trimesh, Open3D, pytest), created on first use.
pub fn venv() -> Result<PathBuf> {
    let dir = root().join("target/venv");
    let py = dir.join("bin/python");
    let reqs = root().join("tests/interop/requirements.txt");
    let stamp = dir.join("requirements.installed");
    let wanted = std::fs::read_to_string(&reqs)?;
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        ensure_libusb()?;
        if !py.exists() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
        }
        run(Command::new(&py)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r"])
            .arg(&reqs))?;
        std::fs::write(&stamp, wanted)?;
    }
    Ok(py)
}

/// Open3D's wheel links libusb-1.0; Debian images don't always ship it.
fn ensure_libusb() -> Result<()> {
    let present = [
        "/usr/lib/x86_64-linux-gnu/libusb-1.0.so.0",
        "/usr/lib/aarch64-linux-gnu/libusb-1.0.so.0",
        "/lib/x86_64-linux-gnu/libusb-1.0.so.0",
    ]
    .iter()
    .any(|p| Path::new(p).exists());
    if present {
        return Ok(());
    }
    eprintln!("libusb-1.0 is missing (Open3D needs it); installing it with apt-get");
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "libusb-1.0-0"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
