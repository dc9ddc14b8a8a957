//! Measures the audit log in memory: append throughput (batches of 1000), full-log verification
//! against a signed checkpoint, and proof generation. Run in release:
//! `cargo run --release -p facevault-audit --example audit_speed -- [ENTRIES]`.

use std::time::Instant;

use facevault_audit::{
    open_checkpoint, sign_checkpoint, verify_log, AuditEntry, AuditLog, Decision, MemoryStore, Reason,
    SigningKey, Timestamp, Token,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let origin = "clinic.example/facevault-audit";
    let template = AuditEntry {
        actor: Token::new("actor", "actor:0001f3a9")?,
        role: Token::new("role", "clinical-staff")?,
        action: Token::new("action", "read")?,
        purpose: Token::new("purpose", "treatment-planning")?,
        object: Token::new("object", "scan:01J9Z3K4M5N6P7Q8R9S0T1V2W3")?,
        decision: Decision::Allowed,
        reason: Reason::new("policy default-allow")?,
        time: Timestamp::from_unix_micros(1_795_000_000_000_000)?,
    };
    let entries: Vec<AuditEntry> = (0..n)
        .map(|i| {
            let mut e = template.clone();
            e.time = Timestamp::from_unix_micros(1_795_000_000_000_000 + i as i64).unwrap_or(e.time);
            e
        })
        .collect();
    let bytes = template.encode().len();

    let mut log = AuditLog::open(MemoryStore::new())?;
    let t = Instant::now();
    for chunk in entries.chunks(1000) {
        log.append_batch(chunk)?;
    }
    let append = t.elapsed().as_secs_f64();

    let key = SigningKey::generate(origin)?;
    let note = sign_checkpoint(&log.checkpoint(origin), &key)?;
    let cp = open_checkpoint(&note, &key.verifier(), origin)?;
    let t = Instant::now();
    let verified = verify_log(log.store(), &cp)?;
    let verify = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let proofs = 10_000u64;
    for i in 0..proofs {
        let idx = i.wrapping_mul(2_654_435_761) % n;
        std::hint::black_box(log.inclusion_proof(idx, n)?);
    }
    let prove = t.elapsed().as_secs_f64() / proofs as f64;

    println!("entries: {n} ({bytes} bytes each)");
    println!("append (in memory, batches of 1000): {:.0} entries/s", n as f64 / append);
    println!(
        "verify_log against a signed checkpoint: {:.0} entries/s ({verified} entries in {verify:.3} s)",
        n as f64 / verify
    );
    println!("inclusion proof at size {n}: {:.1} us", prove * 1e6);
    Ok(())
}
