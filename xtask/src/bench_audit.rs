//! `cargo xtask bench audit`: the issue-5 figures on the durable audit store (SQLite, fsync on):
//! append throughput with group commit per batch size, whole-log verification of 1M entries,
//! the authorization decision latency (the policy alone, and the vault's whole decision over
//! SQLite). The measuring code is the `audit_bench` example of
//! `facevault-store-sql` and the `decision_latency` example of `facevault-policy`, in release.

use anyhow::{bail, Result};

use crate::{cargo, run};

pub fn run_bench(args: &[&str]) -> Result<()> {
    if let Some(bad) = args.iter().find(|a| **a != "--quick") {
        bail!(
            "bench audit: unknown argument {bad:?} (only --quick: a quarter of the appends, 200k-entry log)"
        );
    }
    run(cargo()
        .args(["run", "--release", "-q", "-p", "facevault-store-sql", "--example", "audit_bench", "--"])
        .args(args))?;
    println!();
    run(cargo().args(["run", "--release", "-q", "-p", "facevault-policy", "--example", "decision_latency"]))?;
    run(cargo().args([
        "run",
        "--release",
        "-q",
        "-p",
        "facevault-store-sql",
        "--example",
        "authorize_latency",
    ]))
}
