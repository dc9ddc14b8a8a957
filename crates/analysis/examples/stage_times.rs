//! Profiling aid: wall and CPU time (all threads) of each stage of compare and symmetry, and
//! the process's peak memory (MiB) when each stage ends.
//!
//! `cargo run --release -p facevault-analysis --example stage_times -- PRE.ply POST.ply`
//! (`cargo xtask bench analysis` writes such a pair to target/bench).
use std::time::Instant;

use facevault_analysis::{compare, symmetry, CompareOptions, Stage, SymmetryOptions};
use facevault_mesh::{Mesh, ReadOptions, Unit};

fn read(path: &str) -> Result<Mesh, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let opts = ReadOptions { unit: Some(Unit::Millimetre), ..Default::default() };
    facevault_mesh::read(&bytes, &opts).map(|r| r.mesh).map_err(|e| format!("{path}: {e}"))
}

/// CPU time of all threads of this process so far, seconds (Linux).
fn cpu() -> f64 {
    let mut ns = 0u64;
    for e in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let s = std::fs::read_to_string(e.path().join("schedstat")).unwrap_or_default();
        ns += s.split_whitespace().next().and_then(|x| x.parse().ok()).unwrap_or(0u64);
    }
    ns as f64 * 1e-9
}

/// Peak resident memory of this process so far, MB (Linux).
fn peak_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib =
        s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kib.unwrap_or(f64::NAN) / 1024.0
}

/// Runs `f` with a progress callback that logs "wall/cpu -> next stage" for each stage.
fn timed<T>(f: impl FnOnce(&mut dyn FnMut(Stage)) -> T) -> (T, String) {
    let (t0, c0) = (Instant::now(), cpu());
    let (mut last, mut lastc) = (t0, c0);
    let mut log = String::new();
    let out = f(&mut |s: Stage| {
        let (now, c) = (Instant::now(), cpu());
        log +=
            &format!("{:.3}/{:.3} s, {:.0} MB -> {s:?}; ", (now - last).as_secs_f64(), c - lastc, peak_mb());
        (last, lastc) = (now, c);
    });
    let (now, c) = (Instant::now(), cpu());
    log += &format!(
        "{:.3}/{:.3} -> end; total {:.3} s wall, {:.3} s CPU",
        (now - last).as_secs_f64(),
        c - lastc,
        (now - t0).as_secs_f64(),
        c - c0
    );
    (out, log)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, pre, post] = &args[..] else { return Err("usage: stage_times PRE.ply POST.ply".into()) };
    let (pre, post) = (read(pre)?, read(post)?);
    for _ in 0..3 {
        let (r, log) = timed(|cb| compare(&pre, &post, None, &CompareOptions::default(), cb));
        println!("compare: {log} ({})", if r.is_ok() { "ok" } else { "failed" });
    }
    for _ in 0..3 {
        let (r, log) = timed(|cb| symmetry(&pre, &SymmetryOptions::default(), cb));
        println!("symmetry: {log} ({})", if r.is_ok() { "ok" } else { "failed" });
    }
    Ok(())
}
