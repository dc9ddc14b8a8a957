//! The SQLite metadata store: the shared conformance suite, persistence, and a whole vault on
//! disk (SQLite + local blob files) checked byte by byte for plaintext, shredded keys and
//! crashes at every store write.

mod audit_log;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use facevault_crypto::{EnvKey, KeyProvider};
use facevault_mesh::Mesh;
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::SqlStore;
use facevault_vault::fault::{CrashPoint, FaultPlan, FaultyBlobs, FaultyMetadata};
use facevault_vault::{
    Capture, DerivativeKind, FixedClock, NewDerivative, Node, Purpose, SubjectDetails, SubjectStore,
    Timestamp, Vault, VaultError,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

const KEK_HEX: &str = "5c3e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccd";

fn keys() -> Arc<EnvKey> {
    Arc::new(EnvKey::parse("FACEVAULT_KEK", KEK_HEX).unwrap())
}

async fn open_vault(
    dir: &Path,
    keys: &Arc<EnvKey>,
) -> Vault<SqlStore, ObjectBlobStore, Arc<EnvKey>, FixedClock> {
    let meta = SqlStore::open_sqlite(&dir.join("vault.db")).await.unwrap();
    let blobs = ObjectBlobStore::local(&dir.join("blobs")).unwrap();
    Vault::open(meta, blobs, keys.clone(), FixedClock(Timestamp(1_700_000_000_000))).await.unwrap()
}

/// Every byte of every file under `dir` (database, WAL, shared memory, blobs).
fn bytes_at_rest(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.extend(std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn face(vertices: usize, seed: u64) -> Mesh {
    let params = facevault_synthface::FaceParams { seed, ..Default::default() };
    facevault_synthface::generate(&params, vertices).mesh
}

fn capture() -> Capture {
    Capture {
        device: "Vectra H2".into(),
        captured_on: "2025-06-01".into(),
        purpose: Purpose(facevault_vault::testing::PURPOSE.into()),
    }
}

fn person(name: &str) -> SubjectDetails {
    SubjectDetails {
        name: name.into(),
        date_of_birth: Some("1971-03-14".into()),
        contact: Some("+1 312 555 0199".into()),
        jurisdiction: Some("US-IL".into()),
    }
}

#[test]
fn passes_the_metadata_store_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = SqlStore::open_sqlite(&dir.path().join("vault.db")).await.unwrap();
        facevault_vault::conformance::metadata_store(&store).await.unwrap();
    });
}

#[test]
fn passes_the_account_store_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = SqlStore::open_sqlite(&dir.path().join("vault.db")).await.unwrap();
        facevault_vault::conformance::account_store(&store).await.unwrap();
    });
}

#[cfg(unix)]
#[test]
fn database_is_private_and_survives_reopen() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    rt().block_on(async {
        let v = open_vault(dir.path(), &keys).await;
        let s = v.new_subject(&person("Ada Lovelace")).await.unwrap();
        let scan = v.import_scan(s, &face(2_000, 1), capture()).await.unwrap();
        let id = v.id();
        v.metadata_store().close().await;
        let mode = std::fs::metadata(dir.path().join("vault.db")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Reopening applies no migration twice and finds everything.
        let v = open_vault(dir.path(), &keys).await;
        assert_eq!(v.id(), id);
        assert_eq!(v.details(s).await.unwrap().details, person("Ada Lovelace"));
        assert_eq!(v.read_mesh(scan).await.unwrap().positions(), face(2_000, 1).positions());
        assert!(v.fsck(false).await.unwrap().is_clean());
    });
}

#[test]
fn no_plaintext_at_rest_after_importing_sample_scans() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let names = ["Grace Hopper", "Katherine Johnson", "Hedy Lamarr"];
    let meshes: Vec<Mesh> = (0..3).map(|i| face(20_000, 10 + i)).collect();
    rt().block_on(async {
        let v = open_vault(dir.path(), &keys).await;
        for (name, mesh) in names.iter().zip(&meshes) {
            let s = v.new_subject(&person(name)).await.unwrap();
            let scan = v.import_scan(s, mesh, capture()).await.unwrap();
            let d = NewDerivative {
                kind: DerivativeKind::Mesh,
                producer: "test".into(),
                parameters: serde_json::json!({}),
                parents: vec![Node::Scan(scan)],
                content: facevault_mesh::to_bytes(mesh, facevault_mesh::FileFormat::PlyBinaryLittleEndian),
            };
            v.derive(d).await.unwrap();
        }
        // Look while the database is open, WAL included.
        let at_rest = bytes_at_rest(dir.path());
        assert!(contains(&at_rest, b"treatment-planning"), "sanity: the scan's plaintext metadata is found");
        assert!(contains(&at_rest, b"Test notice"), "sanity: the consent's notice text is kept");
        // The consent's typed signature is sealed with the subject's key.
        assert!(!contains(&at_rest, b"Test Subject"), "typed signature at rest");
        for name in names {
            assert!(!contains(&at_rest, name.as_bytes()), "{name} at rest");
        }
        assert!(!contains(&at_rest, b"+1 312 555 0199") && !contains(&at_rest, b"1971-03-14"));
        let kek: Vec<u8> =
            (0..32).map(|i| u8::from_str_radix(&KEK_HEX[2 * i..2 * i + 2], 16).unwrap()).collect();
        assert!(!contains(&at_rest, &kek[..12]), "KEK bytes at rest");
        let windows: HashSet<&[u8]> = at_rest.windows(12).collect();
        let mut checked = 0;
        for mesh in &meshes {
            for p in mesh.positions() {
                let b: Vec<u8> = p.iter().flat_map(|c| c.to_le_bytes()).collect();
                assert!(!windows.contains(&b[..]), "coordinates {p:?} at rest");
                checked += 1;
            }
        }
        assert!(checked >= 3 * 15_000, "{checked}");
    });
}

#[test]
fn a_shredded_subject_leaves_no_key_or_details_bytes_in_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    rt().block_on(async {
        let v = open_vault(dir.path(), &keys).await;
        let gone = v.new_subject(&person("Shred Me")).await.unwrap();
        let kept = v.new_subject(&person("Keep Me")).await.unwrap();
        let scan = v.import_scan(gone, &face(1_000, 3), capture()).await.unwrap();
        let kept_scan = v.import_scan(kept, &face(1_000, 4), capture()).await.unwrap();
        let record = v.metadata_store().subject(gone).await.unwrap().unwrap();
        let wrapped = record.wrapped_key.as_bytes().to_vec();
        let sealed_details = record.details[48..80].to_vec();
        let db_files = || {
            let mut b = Vec::new();
            for f in ["vault.db", "vault.db-wal"] {
                b.extend(std::fs::read(dir.path().join(f)).unwrap_or_default());
            }
            b
        };
        assert!(contains(&db_files(), &wrapped), "sanity: the wrapped key is in the database before");
        let blob_copy = bytes_at_rest(&dir.path().join("blobs"));
        let report = v.shred(gone).await.unwrap();
        assert_eq!((report.scans, report.blobs_queued), (1, 1));
        assert_eq!(v.purge_blobs(|_, _| {}).await.unwrap(), 1);
        let after = db_files();
        assert!(!contains(&after, &wrapped), "the wrapped data key survives in the database files");
        assert!(!contains(&after, &sealed_details), "the sealed details survive in the database files");
        assert!(matches!(v.scan(scan).await, Err(VaultError::UnknownScan { .. })));
        assert!(matches!(v.details(gone).await, Err(VaultError::UnknownSubject { .. })));
        assert!(blob_copy.len() > 1_000);
        assert!(v.read_mesh(kept_scan).await.is_ok());
        assert!(v.fsck(false).await.unwrap().is_clean());
    });
}

#[test]
fn rotation_over_sqlite_keeps_everything_readable() {
    let dir = tempfile::tempdir().unwrap();
    let old = keys();
    let scans = rt().block_on(async {
        let v = open_vault(dir.path(), &old).await;
        let mut scans = Vec::new();
        for i in 0..3 {
            let s = v.new_subject(&person(&format!("P{i}"))).await.unwrap();
            scans.push(v.import_scan(s, &face(1_000, i), capture()).await.unwrap());
        }
        v.metadata_store().close().await;
        scans
    });
    // The operator adds KEK version 2 to the environment and rewraps.
    let both =
        Arc::new(EnvKey::parse("FACEVAULT_KEK", &format!("1:{KEK_HEX},2:{}", "11".repeat(32))).unwrap());
    rt().block_on(async {
        let v = open_vault(dir.path(), &both).await;
        let report = v.finish_rotation().await.unwrap();
        assert_eq!((report.version.0, report.rewrapped), (2, 3));
        for r in v.metadata_store().subjects().await.unwrap() {
            assert_eq!(r.wrapped_key.kek_version().0, 2);
        }
        v.metadata_store().close().await;
    });
    // Version 1 can now be dropped from the environment.
    let new_only = Arc::new(EnvKey::parse("FACEVAULT_KEK", &format!("2:{}", "11".repeat(32))).unwrap());
    assert_eq!(new_only.current_version().unwrap().0, 2);
    rt().block_on(async {
        let v = open_vault(dir.path(), &new_only).await;
        for (i, &scan) in scans.iter().enumerate() {
            assert_eq!(v.read_mesh(scan).await.unwrap().positions(), face(1_000, i as u64).positions());
        }
        assert!(v.fsck(false).await.unwrap().is_clean());
    });
}

#[test]
fn a_crash_at_any_step_of_import_or_shred_on_disk_is_repairable() {
    let keys = keys();
    for point in [CrashPoint::Before, CrashPoint::After] {
        for op in ["import", "shred"] {
            for step in 1.. {
                let dir = tempfile::tempdir().unwrap();
                let done = rt().block_on(async {
                    let v = open_vault(dir.path(), &keys).await;
                    let s = v.new_subject(&person("A")).await.unwrap();
                    let acked = v.import_scan(s, &face(1_000, 5), capture()).await.unwrap();
                    let plan = FaultPlan::crash_at(step, point);
                    let meta = FaultyMetadata { inner: v.metadata_store().clone(), plan: plan.clone() };
                    let blobs = FaultyBlobs { inner: v.blob_store().clone(), plan: plan.clone() };
                    let crashing =
                        Vault::open(meta, blobs, keys.clone(), FixedClock(Timestamp(0))).await.unwrap();
                    let result = match op {
                        "import" => crashing.import_scan(s, &face(1_000, 6), capture()).await.map(|_| ()),
                        _ => match crashing.shred(s).await {
                            Ok(_) => crashing.purge_blobs(|_, _| {}).await.map(|_| ()),
                            Err(e) => Err(e),
                        },
                    };
                    v.metadata_store().close().await;
                    let v = open_vault(dir.path(), &keys).await;
                    let report = v.fsck(true).await.unwrap();
                    assert!(report.is_repairable(), "{op} {point:?} step {step}: {report:?}");
                    let clean = v.fsck(false).await.unwrap();
                    assert!(
                        clean.is_clean() && clean.pending_purge == 0,
                        "{op} {point:?} step {step}: {clean:?}"
                    );
                    let shredded = matches!(v.details(s).await, Err(VaultError::UnknownSubject { .. }));
                    if !shredded {
                        for scan in v.scans_of(s).await.unwrap() {
                            assert!(v.read_mesh(scan.id).await.is_ok(), "{op} {point:?} step {step}");
                        }
                        assert!(v.read_mesh(acked).await.is_ok());
                    } else {
                        assert_eq!(op, "shred");
                    }
                    if !plan.crashed() {
                        assert!(result.is_ok());
                    }
                    !plan.crashed()
                });
                if done {
                    break;
                }
            }
        }
    }
}

/// Two vaults on one database stand for two processes (the server and a CLI command): a
/// change made through one is seen by the next decision of the other, whose decision inputs
/// are cached by the subject's stamp.
#[test]
fn a_change_by_another_process_reaches_the_next_decision() {
    use facevault_policy::{Action, Role};
    use facevault_vault::{Ask, Restriction, Target};
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let keys = keys();
        let server = open_vault(dir.path(), &keys).await;
        let cli = open_vault(dir.path(), &keys).await;
        let details =
            SubjectDetails { name: "Stamp".into(), date_of_birth: None, contact: None, jurisdiction: None };
        let subject = server.new_subject(&details).await.unwrap();
        let capture = Capture {
            device: "t".into(),
            captured_on: "2023-11-14".into(),
            purpose: Purpose("treatment-planning".into()),
        };
        let scan = server.import_scan(subject, &face(500, 1), capture.clone()).await.unwrap();
        let policy = facevault_vault::testing::default_policy();
        let ask = |action, target| Ask {
            actor: "dr",
            role: Role::Surgeon,
            action,
            purpose: "treatment-planning",
            target,
            break_glass: None,
            right_of_access: false,
        };
        let read = ask(Action::Read, Target::Node(Node::Scan(scan)));
        let share = ask(Action::Share, Target::Node(Node::Scan(scan)));
        for _ in 0..3 {
            assert!(server.authorize(policy, &read).await.unwrap().allowed());
        }
        assert!(server.authorize(policy, &share).await.unwrap().allowed());
        // The other process opts the subject out of sharing: the next share is refused.
        cli.set_restriction(subject, Restriction::OptOut, true).await.unwrap();
        assert!(!server.authorize(policy, &share).await.unwrap().allowed());
        assert!(server.authorize(policy, &read).await.unwrap().allowed());
        // A scan imported elsewhere is decided on at once.
        let second = cli.import_scan(subject, &face(500, 2), capture).await.unwrap();
        let read2 = ask(Action::Read, Target::Node(Node::Scan(second)));
        assert!(server.authorize(policy, &read2).await.unwrap().allowed());
        // Consent withdrawn elsewhere: every later decision is a refusal.
        cli.withdraw_consent(subject).await.unwrap();
        assert!(!server.authorize(policy, &read).await.unwrap().allowed());
        assert!(!server.authorize(policy, &read2).await.unwrap().allowed());
        // Shredded elsewhere: the subject is gone for the other process too.
        cli.shred(subject).await.unwrap();
        let gone = server.authorize(policy, &ask(Action::Read, Target::Subject(subject))).await;
        assert!(matches!(gone, Err(VaultError::UnknownSubject { .. })), "{gone:?}");
    });
}

/// Regression: a shred read its rows and then wrote inside a deferred transaction, so a write
/// committed by another connection in between (the server and a CLI command, or the retention
/// schedule and a request) failed it at once with "database is locked" instead of waiting its
/// turn. Read-then-write transactions now take the write lock first.
#[test]
fn a_shred_waits_for_another_writer_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let keys = keys();
        let shredder = Arc::new(open_vault(dir.path(), &keys).await);
        let writer = Arc::new(open_vault(dir.path(), &keys).await);
        let mut subjects = Vec::new();
        for i in 0..24 {
            let s = shredder.new_subject(&person(&format!("Shred {i}"))).await.unwrap();
            shredder.import_scan(s, &face(300, i), capture()).await.unwrap();
            subjects.push(s);
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let busy = {
            let (writer, stop) = (writer.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    writer.new_subject(&person(&format!("Writer {n}"))).await.unwrap();
                    n += 1;
                }
                n
            })
        };
        let mut failures = Vec::new();
        for s in subjects {
            if let Err(e) = shredder.shred(s).await {
                failures.push(e.to_string());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = busy.await.unwrap();
        assert!(written > 0, "the other writer wrote nothing meanwhile");
        assert!(failures.is_empty(), "{} of 24 shreds failed: {:?}", failures.len(), failures.first());
    });
}
