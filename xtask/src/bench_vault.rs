//! `cargo xtask bench vault`: the issue-4 figures on the on-disk stack (SQLite + local blob
//! files, fsync on): seal/open throughput on 64 MiB next to memcpy and `openssl speed`, scan
//! import of an 860k-vertex binary PLY end to end, and shredding a subject with 1,000 scans.
//! The measuring code is the `vault_bench` example of `facevault-store-sql`, built in release.

use anyhow::{bail, Result};

use crate::{cargo, run};

pub fn run_bench(args: &[&str]) -> Result<()> {
    if let Some(bad) = args.iter().find(|a| **a != "--quick") {
        bail!("bench vault: unknown argument {bad:?} (only --quick: 8 MiB, 20k vertices, 50 scans)");
    }
    run(cargo()
        .args(["run", "--release", "-q", "-p", "facevault-store-sql", "--example", "vault_bench", "--"])
        .args(args))
}
