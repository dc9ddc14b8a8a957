//! The whole access decision as the CLI (and later the server) makes it, on the on-disk stack:
//! `Vault::authorize` over SQLite reads the subject, unwraps its key, unseals the consent and
//! the governance state, plans retention for the object and asks the Cedar policy. The
//! `decision_latency` example of `facevault-policy` measures the last step alone. Run:
//! `cargo run --release -p facevault-store-sql --example authorize_latency`.

use std::time::Instant;

use facevault_crypto::MemoryKeys;
use facevault_policy::{Action, Role};
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::SqlStore;
use facevault_vault::testing::{default_policy, PURPOSE};
use facevault_vault::{
    Ask, Capture, Node, Purpose, SubjectDetails, SubjectStore as _, SystemClock, Target, Vault,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let meta = SqlStore::open_sqlite(&dir.path().join("vault.db")).await?;
        let blobs = ObjectBlobStore::local(dir.path())?;
        let v = Vault::open(meta, blobs, MemoryKeys::generate()?, SystemClock).await?;
        let mesh = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 2_000).mesh;
        let mut scans = Vec::new();
        // Twenty subjects with a consent and five scans each, so lookups are not of a lone row.
        for i in 0..20 {
            let s =
                v.new_subject(&SubjectDetails { name: format!("Bench {i}"), ..Default::default() }).await?;
            for _ in 0..5 {
                let capture = Capture {
                    device: "bench".into(),
                    captured_on: "2026-01-01".into(),
                    purpose: Purpose(PURPOSE.into()),
                };
                scans.push(v.import_scan(s, &mesh, capture).await?);
            }
        }
        let policy = default_policy();
        let mut times = Vec::new();
        let mut allowed = 0;
        for round in 0..30 {
            for (i, &scan) in scans.iter().enumerate() {
                let role = if (i + round) % 4 == 0 { Role::FrontDesk } else { Role::Surgeon };
                let ask = Ask {
                    actor: "bench",
                    role,
                    action: Action::Read,
                    purpose: PURPOSE,
                    target: Target::Node(Node::Scan(scan)),
                    break_glass: None,
                    right_of_access: false,
                };
                let t = Instant::now();
                let d = v.authorize(policy, &ask).await?;
                times.push(t.elapsed().as_secs_f64() * 1e6);
                allowed += usize::from(d.allowed());
            }
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!(
            "vault authorize over SQLite (consent and governance unsealed, retention planned, Cedar): \
             p50 {:.1} us, p99 {:.1} us over {} decisions ({allowed} allowed)",
            pct(0.5),
            pct(0.99),
            times.len()
        );
        v.metadata_store().close().await;
        Ok(())
    })
}
