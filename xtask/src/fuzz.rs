//! `cargo xtask fuzz`: run each cargo-fuzz target (in `fuzz/`, outside the workspace) for a
//! while and print executions per second and coverage from libFuzzer's final statistics.
//! Needs cargo-fuzz (`cargo install cargo-fuzz`); on the stable toolchain it runs with
//! RUSTC_BOOTSTRAP=1.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

pub const TARGETS: [&str; 4] = ["read_ply", "read_obj", "read_stl", "consent_form"];

pub fn run(args: &[&str]) -> Result<()> {
    let mut seconds = 600u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        match a {
            "--seconds" => seconds = it.next().context("--seconds needs a value")?.parse()?,
            t if TARGETS.contains(&t) => targets.push(t),
            other => bail!("unknown fuzz argument {other:?}; targets are {TARGETS:?}"),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let fuzz_dir = crate::root().join("fuzz");
    let mut rows = Vec::new();
    for target in targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        eprintln!("fuzzing {target} for {seconds} s");
        let out = Command::new("cargo")
            .current_dir(&fuzz_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", target])
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(["-print_final_stats=1", "-max_len=65536", "-rss_limit_mb=1024"])
            .stdout(Stdio::inherit())
            .output()?;
        let log = String::from_utf8_lossy(&out.stderr);
        let stat = |name: &str| {
            log.lines()
                .find(|l| l.starts_with(&format!("stat::{name}:")))
                .and_then(|l| l.split(':').nth(3).or_else(|| l.rsplit(':').next()))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "?".into())
        };
        let last_cov = log
            .lines()
            .rev()
            .find_map(|l| {
                let (_, rest) = l.split_once("cov: ")?;
                let mut words = rest.split_whitespace();
                let cov = words.next()?;
                let ft = if words.next() == Some("ft:") { words.next().unwrap_or("?") } else { "?" };
                Some(format!("{cov} edges, {ft} features"))
            })
            .unwrap_or_else(|| "?".into());
        let crashed = !out.status.success();
        if crashed {
            eprintln!("{log}");
        }
        rows.push((
            target,
            stat("number_of_executed_units"),
            stat("average_exec_per_sec"),
            last_cov,
            crashed,
        ));
    }
    println!("\n{:<10} {:>12} {:>10}  {:<24} result", "target", "executions", "exec/s", "coverage");
    for (t, n, eps, cov, crashed) in &rows {
        println!(
            "{t:<10} {n:>12} {eps:>10}  {cov:<24} {}",
            if *crashed { "CRASH (see fuzz/artifacts)" } else { "no crash" }
        );
    }
    if rows.iter().any(|r| r.4) {
        bail!("a fuzz target crashed");
    }
    Ok(())
}
