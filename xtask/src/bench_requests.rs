//! `cargo xtask bench requests`: the issue-6 figures on data-subject requests, timed through the
//! release `facevault` binary end to end (process start, vault open, decision, audit append):
//! the erasure of a subject with 100 scans and 1,000 derivatives (`request complete` of a verified
//! delete request: shred, certificate, vendor notice, blob purge), and the access export of a
//! subject with 10 scans of 200k vertices (`subject export`: package, tar, age with scrypt).
//! The erased subjects are populated by the `requests_bench` example of `facevault-store-sql`
//! (importing and analysing 1,100 objects one CLI process at a time would take minutes); the
//! exported subject's scans are imported through the CLI. Each figure is min and median of 3.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use facevault_mesh::FileFormat;

use crate::{cargo, child_json, number, root, run};

/// A fixed benchmark KEK (the vault is a throwaway one).
const KEK: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const PURPOSE: &str = "treatment-planning";
const RUNS: usize = 3;
const ERASE_SCANS: usize = 100;
const ERASE_DERIVATIVES: usize = 1_000;
const EXPORT_SCANS: usize = 10;
const EXPORT_VERTICES: usize = 200_000;

const CONSENT: &str = "jurisdiction = \"CA\"\ncollect = true\nshare = true\n[notice]\nversion = \"v1\"\n\
     text = \"We use your scan to plan treatment and keep it 3 years ...\"\n\
     covers = [\"purposes\", \"retention\", \"withdrawal\", \"limit-use\"]\n\
     [signature]\nmethod = \"electronic\"\ntyped_name = \"B. S.\"\n\
     [[purpose]]\nid = \"treatment-planning\"\nretention = \"3y\"\n";

pub fn run_bench(args: &[&str]) -> Result<()> {
    if let Some(bad) = args.first() {
        bail!("bench requests: unknown argument {bad:?} (it takes none)");
    }
    run(cargo().args(["build", "--release", "-q", "-p", "facevault"]))?;
    run(cargo().args([
        "build",
        "--release",
        "-q",
        "-p",
        "facevault-store-sql",
        "--example",
        "requests_bench",
    ]))?;
    let dir = std::env::temp_dir().join(format!("facevault-bench-requests-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = bench(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

pub(crate) struct Cli {
    pub bin: PathBuf,
    pub vault: PathBuf,
}

impl Cli {
    pub fn command(&self, role: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--vault").arg(&self.vault).args(["--actor", "bench", "--role", role]).args(args);
        for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR", "FACEVAULT_ROLE"] {
            cmd.env_remove(var);
        }
        cmd.env("FACEVAULT_KEK", KEK).stdin(Stdio::null());
        cmd
    }

    /// Runs one command; its stdout, or its stderr as the error.
    pub fn ok(&self, role: &str, args: &[&str]) -> Result<String> {
        Ok(self.both(self.command(role, args))?.0.trim().to_owned())
    }

    /// Runs one command; its stdout and its stderr (where the CLI reports what it did).
    fn both(&self, mut cmd: Command) -> Result<(String, String)> {
        let out = cmd.output().context("starting facevault")?;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("facevault {:?} failed: {err}", cmd.get_args().collect::<Vec<_>>());
        }
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), err))
    }

    /// A new subject with a consent (CCPA, treatment planning) recorded through the CLI.
    pub fn subject(&self, dir: &Path, name: &str) -> Result<String> {
        let subject = self.ok("front_desk", &["subject", "add", "--name", name])?;
        let consent = dir.join("consent.toml");
        std::fs::write(&consent, CONSENT)?;
        self.ok("front_desk", &["consent", "add", &subject, path(&consent)?])?;
        Ok(subject)
    }
}

pub(crate) fn path(p: &Path) -> Result<&str> {
    p.to_str().with_context(|| format!("{}: not UTF-8", p.display()))
}

/// Min and median, in seconds.
fn stats(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2])
}

fn bench(dir: &Path) -> Result<()> {
    let cli = Cli { bin: root().join("target/release/facevault"), vault: dir.join("vault") };
    cli.ok("admin", &["init"])?;
    let vendors = root().join("docs/examples/vendors.toml");
    cli.ok("privacy_officer", &["vendor", "add", path(&vendors)?])?;

    // Erasure: a fresh subject for each run, populated first, then erased one after the other.
    let populate = root().join("target/release/examples/requests_bench");
    let mut subjects = Vec::new();
    for run in 0..RUNS {
        let subject = cli.subject(dir, &format!("Erasure Subject {run}"))?;
        let made = child_json(
            Command::new(&populate)
                .arg(&cli.vault)
                .arg(&subject)
                .arg(ERASE_SCANS.to_string())
                .arg(ERASE_DERIVATIVES.to_string())
                .env("FACEVAULT_KEK", KEK),
        )?;
        let scan = made.get("first_scan").and_then(|s| s.as_str()).context("no first_scan")?.to_owned();
        println!(
            "populated subject {} with {ERASE_SCANS} scans (2,000 vertices) and {ERASE_DERIVATIVES} derivatives in {:.1} s (library, not timed)",
            run + 1,
            number(&made, "seconds")?
        );
        // One disclosure to a vendor, so that the erasure also records a vendor notice.
        let out = dir.join(format!("lab-{run}.ply"));
        cli.ok("surgeon", &["disclose", &scan, path(&out)?, "--vendor", "lab-3d", "--purpose", PURPOSE])?;
        let request = cli.ok("front_desk", &["request", "open", &subject, "--kind", "delete"])?;
        cli.ok("privacy_officer", &["request", "verify", &request, "--level", "strong"])?;
        subjects.push(request);
    }
    let mut erase = Vec::new();
    let mut purged = String::new();
    for request in &subjects {
        let cmd = cli.command("privacy_officer", &["request", "complete", request]);
        let t = Instant::now();
        let (done, report) = cli.both(cmd)?;
        erase.push(t.elapsed().as_secs_f64());
        let erased = format!("{ERASE_SCANS} scan(s), {ERASE_DERIVATIVES} derivative(s); ");
        let (Some(rest), true, true) = (
            report.split_once(&erased).map(|(_, rest)| rest),
            done.contains("is completed") && done.contains("certificate "),
            report.contains("deletion notice to vendor lab-3d"),
        ) else {
            bail!("request complete did not report the erasure, certificate and notice: {done}\n{report}");
        };
        purged = rest.split_whitespace().next().unwrap_or("?").to_owned();
    }
    let (min, median) = stats(erase);
    println!(
        "erasure of a subject with {ERASE_SCANS} scans and {ERASE_DERIVATIVES} derivatives \
         (`facevault request complete` of a verified delete request: decision, shred, certificate, \
         vendor notice, {purged} blobs purged, audit append; whole process): min {min:.3} s, median \
         {median:.3} s over {RUNS} (target <= 1 s)"
    );

    // Access export: one subject with 10 scans of 200k vertices imported through the CLI.
    let face =
        facevault_synthface::generate(&facevault_synthface::FaceParams::default(), EXPORT_VERTICES).mesh;
    let ply = dir.join("face.ply");
    std::fs::write(&ply, facevault_mesh::to_bytes(&face, FileFormat::PlyBinaryLittleEndian))?;
    let ply_size = std::fs::metadata(&ply)?.len();
    let subject = cli.subject(dir, "Export Subject")?;
    let t = Instant::now();
    for _ in 0..EXPORT_SCANS {
        cli.ok("surgeon", &["scan", "import", &subject, path(&ply)?, "--purpose", PURPOSE])?;
    }
    println!(
        "imported {EXPORT_SCANS} scans of {} vertices ({:.1} MB binary PLY each) through the CLI in {:.1} s (not timed)",
        face.vertex_count(),
        ply_size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut export = Vec::new();
    let mut size = 0;
    for run in 0..RUNS {
        let out = dir.join(format!("export-{run}.tar.age"));
        let mut cmd = cli.command("privacy_officer", &["subject", "export", &subject, path(&out)?]);
        cmd.env("FACEVAULT_EXPORT_PASSPHRASE", "bench-export-passphrase");
        let t = Instant::now();
        let (_, report) = cli.both(cmd)?;
        export.push(t.elapsed().as_secs_f64());
        if !report.contains(&format!("({EXPORT_SCANS} scan(s), ")) {
            bail!("subject export did not report {EXPORT_SCANS} scans: {report}");
        }
        size = std::fs::metadata(&out)?.len();
        std::fs::remove_file(&out)?;
    }
    let (min, median) = stats(export);
    println!(
        "access export of a subject with {EXPORT_SCANS} scans of {} vertices (`facevault subject export`: \
         decision, package, audit entries, tar, age with scrypt log N 18, write; whole process): \
         min {min:.3} s, median {median:.3} s over {RUNS}, package {:.1} MB (target <= 3 s)",
        face.vertex_count(),
        size as f64 / 1e6
    );
    Ok(())
}
