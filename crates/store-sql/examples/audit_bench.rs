//! The audit benchmark (issue 5) on the durable store (SQLite, WAL, `synchronous = FULL`):
//! append throughput with group commit at several batch sizes, and whole-log verification
//! (open, then `verify_log` against a signed checkpoint) of a large log. Run:
//! `cargo run --release -p facevault-store-sql --example audit_bench [--quick]`.

use std::time::Instant;

use facevault_audit::{
    open_checkpoint, sign_checkpoint, verify_log, AuditEntry, AuditLog, Decision, Reason, SigningKey,
    Timestamp, Token,
};
use facevault_store_sql::SqlLogStore;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const ORIGIN: &str = "bench.example/facevault-audit";

/// A realistic entry: 32-hex pseudonymous ids, a policy reason, microsecond time.
fn entry(i: u64) -> Res<AuditEntry> {
    let id = |tag: u64| format!("{:016x}{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ tag, i);
    Ok(AuditEntry {
        actor: Token::new("actor", &id(1))?,
        role: Token::new("role", ["surgeon", "clinical_staff", "front_desk"][(i % 3) as usize])?,
        action: Token::new("action", ["scan.read", "scan.analyze", "scan.export"][(i % 3) as usize])?,
        purpose: Token::new("purpose", "treatment_planning")?,
        object: Token::new("object", &id(2))?,
        decision: if i % 17 == 0 { Decision::Denied } else { Decision::Allowed },
        reason: Reason::new("policy:default-surgeon-treatment")?,
        time: Timestamp::from_unix_micros(1_790_000_000_000_000 + i as i64 * 1000)?,
    })
}

fn entries(from: u64, n: u64) -> Res<Vec<AuditEntry>> {
    (from..from + n).map(entry).collect()
}

/// Appends `total` entries in batches of `batch`; returns entries per second. Entries are built
/// before the clock starts, so this measures hashing plus the durable commits.
fn append_rate(dir: &std::path::Path, batch: u64, total: u64) -> Res<f64> {
    let path = dir.join(format!("append-{batch}.db"));
    let mut log = AuditLog::open(SqlLogStore::open_sqlite(&path)?)?;
    let batches: Vec<Vec<AuditEntry>> =
        (0..total / batch).map(|b| entries(b * batch, batch)).collect::<Res<_>>()?;
    let t = Instant::now();
    for b in &batches {
        log.append_batch(b)?;
    }
    let secs = t.elapsed().as_secs_f64();
    log.into_store().close();
    Ok((total / batch * batch) as f64 / secs)
}

fn main() -> Res<()> {
    let quick = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--quick") => true,
        Some(other) => return Err(format!("unknown argument {other:?} (only --quick)").into()),
    };
    let dir = tempfile::tempdir()?;
    println!("audit log on SQLite (WAL, synchronous=FULL: every commit fsync'd), {}", dir.path().display());

    println!("\ndurable append (group commit: one transaction per batch)");
    for (batch, total) in [(1u64, 200u64), (10, 2_000), (100, 20_000), (1_000, 200_000), (10_000, 200_000)] {
        let total = if quick { total / 4 } else { total };
        let rate = append_rate(dir.path(), batch, total)?;
        println!(
            "  batch {batch:>6}: {rate:>10.0} entries/s  ({:.0} commits/s, {total} entries)",
            rate / batch as f64
        );
    }

    let n: u64 = if quick { 200_000 } else { 1_000_000 };
    let path = dir.path().join("verify.db");
    let mut log = AuditLog::open(SqlLogStore::open_sqlite(&path)?)?;
    let t = Instant::now();
    for from in (0..n).step_by(10_000) {
        log.append_batch(&entries(from, 10_000.min(n - from))?)?;
    }
    let fill = t.elapsed().as_secs_f64();
    let key = SigningKey::generate(ORIGIN)?;
    let note = sign_checkpoint(&log.checkpoint(ORIGIN), &key)?;
    log.into_store().close();
    let bytes = std::fs::metadata(&path)?.len();

    let t = Instant::now();
    let store = SqlLogStore::open_sqlite(&path)?;
    let open = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let checkpoint = open_checkpoint(&note, &key.verifier(), ORIGIN)?;
    let checked = verify_log(&store, &checkpoint)?;
    let verify = t.elapsed().as_secs_f64();
    assert_eq!(checked, n);
    println!(
        "\nfull-log verification of {n} entries ({:.0} MB database; filled in {fill:.1} s)",
        bytes as f64 / 1e6
    );
    println!("  open (load subtree hashes): {open:>6.2} s");
    println!(
        "  verify_log (stream every entry from SQLite, rehash, check the signed root): {verify:.2} s = {:.0} entries/s",
        n as f64 / verify
    );
    println!("  open + verify: {:.0} entries/s", n as f64 / (open + verify));
    store.close();

    Ok(())
}
