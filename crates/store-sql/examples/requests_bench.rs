//! Populates a subject of a `facevault` vault directory for the data-subject request benchmark
//! (issue 6, `cargo xtask bench requests`): SCANS small synthetic scans (2,000 vertices) and
//! DERIVATIVES measurement derivatives spread over them, through the vault's own use cases
//! (analyze decisions under the default policy). Importing and analysing that many scans one
//! CLI process at a time would take minutes; the figure the benchmark prints is the erasure
//! that follows, timed through the real binary. The vault is the one the CLI uses: `vault.db`,
//! blobs under DIR, the KEK from `$FACEVAULT_KEK`. Run:
//! `FACEVAULT_KEK=<hex> cargo run --release -p facevault-store-sql --example requests_bench -- DIR SUBJECT SCANS DERIVATIVES`.
//! The last stdout line is JSON: `{"first_scan": ..., "scans": n, "derivatives": n, "seconds": t}`.

use std::path::PathBuf;
use std::time::Instant;

use facevault_crypto::EnvKey;
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::SqlStore;
use facevault_vault::{Capture, DerivativeKind, NewDerivative, Node, Purpose, SubjectId, SystemClock, Vault};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

async fn populate(dir: PathBuf, subject: SubjectId, scans: usize, derivatives: usize) -> Res<()> {
    if scans == 0 {
        return Err("SCANS must be at least 1".into());
    }
    let keys = EnvKey::from_env(EnvKey::VAR)?;
    let meta = SqlStore::open_sqlite(&dir.join("vault.db")).await?;
    let blobs = ObjectBlobStore::local(&dir)?;
    let v = Vault::open(meta, blobs, keys, SystemClock).await?;
    let small = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 2_000).mesh;
    let t = Instant::now();
    let mut ids = Vec::with_capacity(scans);
    for _ in 0..scans {
        let capture = Capture {
            device: "bench".into(),
            captured_on: "2025-01-01".into(),
            purpose: Purpose(facevault_vault::testing::PURPOSE.into()),
        };
        ids.push(v.import_scan(subject, &small, capture).await?);
    }
    for i in 0..derivatives {
        let scan = ids[i % scans];
        let content = serde_json::to_vec(&serde_json::json!({
            "analysis": "symmetry",
            "run": i,
            "rms_mm": 0.41 + (i % 7) as f64 * 0.01,
            "max_mm": 2.3,
            "regions": {"nose": 0.2, "left_cheek": 0.5, "right_cheek": 0.48, "chin": 0.31},
        }))?;
        v.derive(NewDerivative {
            kind: DerivativeKind::Measurements,
            producer: "facevault-analysis 0.1 symmetry".into(),
            parameters: serde_json::json!({"samples": 1000}),
            parents: vec![Node::Scan(scan)],
            content,
        })
        .await?;
    }
    let first = ids.first().ok_or("no scan")?;
    println!(
        "{}",
        serde_json::json!({
            "first_scan": first.to_string(),
            "scans": scans,
            "derivatives": derivatives,
            "seconds": t.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, subject, scans, derivatives] = args.as_slice() else {
        return Err("usage: requests_bench DIR SUBJECT SCANS DERIVATIVES".into());
    };
    let subject: SubjectId = subject.parse()?;
    let (scans, derivatives) = (scans.parse()?, derivatives.parse()?);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(populate(PathBuf::from(dir), subject, scans, derivatives))
}
