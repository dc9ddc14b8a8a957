//! The vault's use cases over the in-memory ports: round trips, tampering, lineage, shredding,
//! rotation, and crashes injected at every store write of import, shred and rotation.

use std::sync::Arc;

use facevault_crypto::{self as crypto, CryptoError, EnvKey, Id, KekVersion, KeyProvider, MemoryKeys};
use facevault_mesh::Mesh;
use facevault_vault::fault::{CrashPoint, FaultPlan, FaultyBlobs, FaultyMetadata};
use facevault_vault::memory::{MemoryBlobs, MemoryMetadata};
use facevault_vault::{
    Capture, DerivativeKind, FixedClock, NewDerivative, Node, Problem, Purpose, ScanId, SubjectDetails,
    SubjectId, SubjectStore, Timestamp, Vault, VaultError,
};
use pollster::FutureExt;

/// The stores and keys of one vault, shared by every "process" a test opens over them.
struct World<K> {
    meta: MemoryMetadata,
    blobs: MemoryBlobs,
    keys: Arc<K>,
}

type MemVault<K> = Vault<MemoryMetadata, MemoryBlobs, Arc<K>, FixedClock>;
type CrashVault<K> = Vault<FaultyMetadata<MemoryMetadata>, FaultyBlobs<MemoryBlobs>, Arc<K>, FixedClock>;

const CLOCK: FixedClock = FixedClock(Timestamp(1_750_000_000_000));

impl<K: KeyProvider> World<K> {
    fn with_keys(keys: K) -> World<K> {
        World { meta: MemoryMetadata::new(), blobs: MemoryBlobs::new(), keys: Arc::new(keys) }
    }

    fn vault(&self) -> MemVault<K> {
        Vault::open(self.meta.clone(), self.blobs.clone(), self.keys.clone(), CLOCK).block_on().unwrap()
    }

    fn crashing(&self, plan: &FaultPlan) -> CrashVault<K> {
        let meta = FaultyMetadata { inner: self.meta.clone(), plan: plan.clone() };
        let blobs = FaultyBlobs { inner: self.blobs.clone(), plan: plan.clone() };
        Vault::open(meta, blobs, self.keys.clone(), CLOCK).block_on().unwrap()
    }
}

fn world() -> World<MemoryKeys> {
    World::with_keys(MemoryKeys::generate().unwrap())
}

/// A small curved grid with coordinates no other test data contains.
fn mesh(seed: f32) -> Mesh {
    let n = 40;
    let mut positions = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let (x, y) = (i as f32 * 2.5 + seed, j as f32 * 2.5 - seed);
            positions.push([x, y, 0.01 * (x * x + y * y) + 0.123_456]);
        }
    }
    let mut triangles = Vec::new();
    for i in 0..n - 1 {
        for j in 0..n - 1 {
            let a = i * n + j;
            triangles.push([a, a + 1, a + n]);
            triangles.push([a + 1, a + n + 1, a + n]);
        }
    }
    Mesh::new(positions, triangles).unwrap()
}

fn details(name: &str) -> SubjectDetails {
    SubjectDetails {
        name: name.into(),
        date_of_birth: Some("1980-02-29".into()),
        contact: Some(format!("{}@example.org", name.to_lowercase().replace(' ', "."))),
        jurisdiction: Some("US-IL".into()),
    }
}

fn capture() -> Capture {
    Capture {
        device: "Vectra H2".into(),
        captured_on: "2025-06-01".into(),
        purpose: Purpose(facevault_vault::testing::PURPOSE.into()),
    }
}

fn derivative(parents: Vec<Node>, content: &[u8]) -> NewDerivative {
    NewDerivative {
        kind: DerivativeKind::Measurements,
        producer: "facevault-analysis 0.1 symmetry".into(),
        parameters: serde_json::json!({"samples": 1000}),
        parents,
        content: content.to_vec(),
    }
}

fn decryption_failed(e: VaultError) -> Id {
    match e {
        VaultError::Crypto(CryptoError::DecryptionFailed { object }) => object,
        other => panic!("expected a decryption failure, got {other:?}"),
    }
}

#[test]
fn subject_and_scan_round_trip() {
    let w = world();
    let v = w.vault();
    let s = v.new_subject(&details("Ada Lovelace")).block_on().unwrap();
    let m = mesh(0.5);
    let scan = v.import_scan(s, &m, capture()).block_on().unwrap();
    let back = v.read_mesh(scan).block_on().unwrap();
    assert_eq!(back.positions(), m.positions());
    assert_eq!(back.triangles(), m.triangles());
    let meta = v.scan(scan).block_on().unwrap();
    assert_eq!((meta.subject, meta.vertices, meta.triangles), (s, 1600, 2 * 39 * 39));
    assert_eq!(meta.capture, capture());
    assert_eq!(meta.imported_at, CLOCK.0);
    let subject = v.details(s).block_on().unwrap();
    assert_eq!(subject.details, details("Ada Lovelace"));
    assert_eq!(format!("{:?}", subject.details), "SubjectDetails { .. }");
    assert_eq!(v.subject_ids().block_on().unwrap(), vec![subject.id]);
    assert_eq!(v.scans_of(s).block_on().unwrap(), vec![meta]);
    // A restarted process over the same stores sees the same vault.
    let again = w.vault();
    assert_eq!(again.id(), v.id());
    assert_eq!(again.read_mesh(scan).block_on().unwrap().positions(), m.positions());
    assert!(v.fsck(false).block_on().unwrap().is_clean());
}

#[test]
fn exports_are_recorded_before_plaintext_leaves() {
    let w = world();
    let v = w.vault();
    let s = v.new_subject(&details("A")).block_on().unwrap();
    let m = mesh(0.25);
    let scan = v.import_scan(s, &m, capture()).block_on().unwrap();
    let ply = v.export(scan, "second opinion").block_on().unwrap();
    let back = facevault_mesh::read(&ply, &Default::default()).unwrap().mesh;
    assert_eq!(back.positions(), m.positions());
    let log = v.disclosures_of(s).block_on().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].node, log[0].purpose.0.as_str(), log[0].recipient.as_str(), log[0].kind.as_str(), log[0].at),
        (Node::Scan(scan), "treatment-planning", "second opinion", "export", CLOCK.0)
    );
    // If the record cannot be written, nothing is exported.
    let plan = FaultPlan::crash_at(1, CrashPoint::Before);
    assert!(w.crashing(&plan).export(scan, "x").block_on().is_err());
    assert_eq!(v.disclosures_of(s).block_on().unwrap().len(), 1);
    // Mesh derivatives round-trip through their own helper.
    let d = v
        .derive_mesh(vec![Node::Scan(scan)], "sim".into(), serde_json::json!({"mm": 2}), &mesh(0.5))
        .block_on()
        .unwrap();
    assert_eq!(v.read_derivative_mesh(d).block_on().unwrap().positions(), mesh(0.5).positions());
    assert_eq!(v.derivative(d).block_on().unwrap().kind, DerivativeKind::Mesh);
}

#[test]
fn no_plaintext_names_coordinates_or_key_bytes_reach_the_stores() {
    let kek_hex = "8f".repeat(32);
    let w = World::with_keys(EnvKey::parse("FACEVAULT_KEK", &kek_hex).unwrap());
    let v = w.vault();
    let s = v.new_subject(&details("Grace Hopper")).block_on().unwrap();
    let m = mesh(1.75);
    v.import_scan(s, &m, capture()).block_on().unwrap();
    let mut at_rest: Vec<u8> = Vec::new();
    for blob in w.blobs.snapshot().values() {
        at_rest.extend_from_slice(blob);
    }
    for r in w.meta.subjects().block_on().unwrap() {
        at_rest.extend_from_slice(r.wrapped_key.as_bytes());
        at_rest.extend_from_slice(&r.details);
    }
    let contains = |needle: &[u8]| at_rest.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(b"Grace Hopper") && !contains(b"Grace") && !contains(b"1980-02-29"));
    assert!(!contains(&[0x8f; 8]), "KEK bytes at rest");
    for p in m.positions().iter().step_by(37) {
        let bytes: Vec<u8> = p.iter().flat_map(|c| c.to_le_bytes()).collect();
        assert!(!contains(&bytes), "coordinates {p:?} at rest");
    }
}

#[test]
fn flipped_or_swapped_blobs_fail_naming_the_object() {
    let w = world();
    let v = w.vault();
    let s = v.new_subject(&details("A")).block_on().unwrap();
    let a = v.import_scan(s, &mesh(0.1), capture()).block_on().unwrap();
    let b = v.import_scan(s, &mesh(0.2), capture()).block_on().unwrap();
    let good = w.blobs.snapshot();
    let (blob_a, blob_b) = (good[&a.0].clone(), good[&b.0].clone());
    for i in [0, 10, 47, 48, 100, blob_a.len() / 2, blob_a.len() - 1] {
        let mut t = blob_a.clone();
        t[i] ^= 0x40;
        w.blobs.set_raw(a.0, t);
        assert_eq!(decryption_failed(v.read_mesh(a).block_on().unwrap_err()), a.0, "byte {i}");
    }
    w.blobs.set_raw(a.0, blob_b.clone());
    w.blobs.set_raw(b.0, blob_a.clone());
    assert_eq!(decryption_failed(v.read_ply(a).block_on().unwrap_err()), a.0);
    assert_eq!(decryption_failed(v.read_ply(b).block_on().unwrap_err()), b.0);
    let report = v.fsck(false).block_on().unwrap();
    assert!(report.problems.contains(&Problem::Undecryptable { object: a.0 }));
    assert!(report.problems.contains(&Problem::Undecryptable { object: b.0 }));
    assert!(!report.is_repairable());
    w.blobs.set_raw(a.0, blob_a);
    w.blobs.set_raw(b.0, blob_b);
    assert!(v.fsck(false).block_on().unwrap().is_clean());
}

#[test]
fn lineage_walks_descendants_and_ancestors() {
    let w = world();
    let v = w.vault();
    let s = v.new_subject(&details("A")).block_on().unwrap();
    let other = v.new_subject(&details("B")).block_on().unwrap();
    let scan = v.import_scan(s, &mesh(0.3), capture()).block_on().unwrap();
    let scan2 = v.import_scan(s, &mesh(0.4), capture()).block_on().unwrap();
    let foreign = v.import_scan(other, &mesh(0.5), capture()).block_on().unwrap();
    let d1 = v.derive(derivative(vec![Node::Scan(scan)], b"d1")).block_on().unwrap();
    let d2 = v.derive(derivative(vec![Node::Derivative(d1)], b"d2")).block_on().unwrap();
    let d3 = v.derive(derivative(vec![Node::Scan(scan2), Node::Derivative(d1)], b"d3")).block_on().unwrap();
    assert_eq!(v.read_derivative(d2).block_on().unwrap(), b"d2");
    let mut desc = v.descendants(Node::Scan(scan)).block_on().unwrap();
    desc.sort();
    let mut expected = vec![d1, d2, d3];
    expected.sort();
    assert_eq!(desc, expected);
    assert_eq!(v.descendants(Node::Scan(scan2)).block_on().unwrap(), vec![d3]);
    assert_eq!(v.descendants(Node::Derivative(d2)).block_on().unwrap(), vec![]);
    let anc = v.ancestors(Node::Derivative(d3)).block_on().unwrap();
    assert_eq!(anc.len(), 3);
    for n in [Node::Scan(scan2), Node::Derivative(d1), Node::Scan(scan)] {
        assert!(anc.contains(&n), "{n} missing from {anc:?}");
    }
    let d = v.derivative(d3).block_on().unwrap();
    assert_eq!(
        (d.subject, d.kind, d.parameters.as_str()),
        (s, DerivativeKind::Measurements, r#"{"samples":1000}"#)
    );
    assert!(matches!(v.derive(derivative(vec![], b"x")).block_on(), Err(VaultError::NoParents)));
    let mixed = derivative(vec![Node::Scan(scan), Node::Scan(foreign)], b"x");
    assert!(matches!(
        v.derive(mixed).block_on(),
        Err(VaultError::ParentOfOtherSubject { parent: Node::Scan(p) }) if p == foreign
    ));
    assert!(v.fsck(false).block_on().unwrap().is_clean());
}

#[test]
fn shredding_leaves_nothing_readable_even_from_a_backup() {
    let w = world();
    let v = w.vault();
    let gone = v.new_subject(&details("Shred Me")).block_on().unwrap();
    let kept = v.new_subject(&details("Keep Me")).block_on().unwrap();
    let scan = v.import_scan(gone, &mesh(0.6), capture()).block_on().unwrap();
    let d = v.derive(derivative(vec![Node::Scan(scan)], b"render")).block_on().unwrap();
    let kept_scan = v.import_scan(kept, &mesh(0.7), capture()).block_on().unwrap();
    let backup = w.blobs.snapshot();
    let report = v.shred(gone).block_on().unwrap();
    assert_eq!((report.scans, report.derivatives, report.blobs_queued), (1, 1, 2));
    assert!(matches!(v.details(gone).block_on(), Err(VaultError::UnknownSubject { .. })));
    assert!(matches!(v.scans_of(gone).block_on(), Err(VaultError::UnknownSubject { .. })));
    assert!(matches!(v.scan(scan).block_on(), Err(VaultError::UnknownScan { .. })));
    assert!(matches!(v.read_mesh(scan).block_on(), Err(VaultError::UnknownScan { .. })));
    assert!(matches!(v.read_derivative(d).block_on(), Err(VaultError::UnknownDerivative { .. })));
    assert!(v.descendants(Node::Scan(scan)).block_on().is_err());
    assert_eq!(v.subject_ids().block_on().unwrap().len(), 1);
    assert!(matches!(v.shred(gone).block_on(), Err(VaultError::UnknownSubject { .. })));
    // Until purged, the queued blobs are expected garbage, not problems.
    let report = v.fsck(false).block_on().unwrap();
    assert!(report.is_clean() && report.pending_purge == 2, "{report:?}");
    let mut seen = Vec::new();
    assert_eq!(v.purge_blobs(|done, total| seen.push((done, total))).block_on().unwrap(), 2);
    assert_eq!(seen, vec![(1, 2), (2, 2)]);
    assert_eq!(w.blobs.snapshot().len(), 1, "only the kept subject's blob is left");
    assert_eq!(v.purge_blobs(|_, _| {}).block_on().unwrap(), 0);
    // Restore the pre-shred blob copy: still nothing returns it, and no key the vault holds
    // opens it.
    for (object, bytes) in &backup {
        w.blobs.set_raw(*object, bytes.clone());
    }
    assert!(matches!(v.read_mesh(scan).block_on(), Err(VaultError::UnknownScan { .. })));
    for record in w.meta.subjects().block_on().unwrap() {
        let ctx = crypto::KeyContext { vault: v.id(), subject: record.id.0 };
        let key = w.keys.unwrap(&ctx, &record.wrapped_key).unwrap();
        for (object, bytes) in [(scan.0, &backup[&scan.0]), (d.0, &backup[&d.0])] {
            for subject in [gone, record.id] {
                for kind in [crypto::ObjectKind::Scan, crypto::ObjectKind::Derivative] {
                    let bc =
                        crypto::BlobContext { vault: v.id(), subject: subject.0, object, kind, version: 1 };
                    assert!(crypto::open(&key, &bc, bytes.clone()).is_err());
                }
            }
        }
    }
    // The restored blobs are orphans fsck removes; the other subject is untouched.
    let report = v.fsck(true).block_on().unwrap();
    assert_eq!(report.orphans_removed, 2);
    assert!(report.is_repairable());
    assert!(v.fsck(false).block_on().unwrap().is_clean());
    assert_eq!(v.read_mesh(kept_scan).block_on().unwrap().positions(), mesh(0.7).positions());
}

#[test]
fn rotation_rewraps_keys_without_touching_blobs() {
    let w = world();
    let v = w.vault();
    let subjects: Vec<SubjectId> =
        (0..4).map(|i| v.new_subject(&details(&format!("S{i}"))).block_on().unwrap()).collect();
    let scans: Vec<ScanId> =
        subjects.iter().map(|&s| v.import_scan(s, &mesh(0.9), capture()).block_on().unwrap()).collect();
    let before = w.blobs.snapshot();
    let report = v.rotate_kek().block_on().unwrap();
    assert_eq!((report.version, report.rewrapped), (KekVersion(2), 4));
    assert_eq!(w.blobs.snapshot(), before, "rotation must not touch blobs");
    for r in w.meta.subjects().block_on().unwrap() {
        assert_eq!(r.wrapped_key.kek_version(), KekVersion(2));
    }
    for &scan in &scans {
        assert_eq!(v.read_mesh(scan).block_on().unwrap().positions(), mesh(0.9).positions());
    }
    assert!(v.fsck(false).block_on().unwrap().is_clean());
}

#[test]
fn interrupted_rotation_resumes_at_every_step() {
    for point in [CrashPoint::Before, CrashPoint::After] {
        for step in 1.. {
            let w = world();
            let v = w.vault();
            let subjects: Vec<SubjectId> =
                (0..3).map(|i| v.new_subject(&details(&format!("S{i}"))).block_on().unwrap()).collect();
            let scans: Vec<ScanId> = subjects
                .iter()
                .map(|&s| v.import_scan(s, &mesh(1.1), capture()).block_on().unwrap())
                .collect();
            let plan = FaultPlan::crash_at(step, point);
            let result = w.crashing(&plan).rotate_kek().block_on();
            if !plan.crashed() {
                assert!(result.is_ok());
                assert!(step > 3, "rotation has at least 5 writes, finished at {step}");
                break;
            }
            assert!(result.is_err());
            // Restart: everything is readable mid-rotation, fsck says how to finish it.
            let v = w.vault();
            for &scan in &scans {
                assert!(v.read_mesh(scan).block_on().is_ok(), "{point:?} step {step}");
            }
            let report = v.fsck(false).block_on().unwrap();
            assert!(report.is_repairable(), "{point:?} step {step}: {report:?}");
            v.finish_rotation().block_on().unwrap();
            assert!(v.fsck(false).block_on().unwrap().is_clean());
            for r in w.meta.subjects().block_on().unwrap() {
                assert_eq!(r.wrapped_key.kek_version(), KekVersion(2));
            }
            for &scan in &scans {
                assert!(v.read_mesh(scan).block_on().is_ok());
            }
        }
    }
}

#[test]
fn a_crash_at_any_step_of_import_leaves_all_or_nothing() {
    for point in [CrashPoint::Before, CrashPoint::After] {
        for step in 1.. {
            let w = world();
            let v = w.vault();
            let s = v.new_subject(&details("A")).block_on().unwrap();
            let acked = v.import_scan(s, &mesh(1.3), capture()).block_on().unwrap();
            let plan = FaultPlan::crash_at(step, point);
            let result = w.crashing(&plan).import_scan(s, &mesh(1.4), capture()).block_on();
            let v = w.vault();
            let visible = v.scans_of(s).block_on().unwrap();
            if !plan.crashed() {
                assert_eq!(visible.len(), 2);
                assert!(step > 2, "import is a blob write then a metadata write");
                break;
            }
            assert!(result.is_err(), "no acknowledgement after a crash");
            // Either the whole new scan is visible and readable, or only the old one is.
            assert!(visible.len() == 1 || visible.len() == 2, "{point:?} step {step}");
            for scan in &visible {
                assert!(v.read_mesh(scan.id).block_on().is_ok(), "{point:?} step {step}");
            }
            assert_eq!(v.read_mesh(acked).block_on().unwrap().positions(), mesh(1.3).positions());
            let report = v.fsck(true).block_on().unwrap();
            assert!(report.is_repairable(), "{point:?} step {step}: {report:?}");
            assert!(report.problems.iter().all(|p| matches!(p, Problem::OrphanBlob { .. })));
            assert!(v.fsck(false).block_on().unwrap().is_clean());
        }
    }
}

#[test]
fn a_crash_at_any_step_of_shred_leaves_it_undone_or_done() {
    for point in [CrashPoint::Before, CrashPoint::After] {
        for step in 1.. {
            let w = world();
            let v = w.vault();
            let gone = v.new_subject(&details("A")).block_on().unwrap();
            let kept = v.new_subject(&details("B")).block_on().unwrap();
            let scans: Vec<ScanId> =
                (0..3).map(|i| v.import_scan(gone, &mesh(i as f32), capture()).block_on().unwrap()).collect();
            v.derive(derivative(vec![Node::Scan(scans[0])], b"d")).block_on().unwrap();
            let kept_scan = v.import_scan(kept, &mesh(2.0), capture()).block_on().unwrap();
            let plan = FaultPlan::crash_at(step, point);
            let crashing = w.crashing(&plan);
            let result = async {
                let report = crashing.shred(gone).await?;
                crashing.purge_blobs(|_, _| {}).await?;
                Ok::<_, VaultError>(report)
            }
            .block_on();
            let v = w.vault();
            let shredded = matches!(v.details(gone).block_on(), Err(VaultError::UnknownSubject { .. }));
            if shredded {
                for &scan in &scans {
                    assert!(matches!(v.read_mesh(scan).block_on(), Err(VaultError::UnknownScan { .. })));
                }
            } else {
                assert!(result.is_err(), "an acknowledged shred must have happened");
                for &scan in &scans {
                    assert!(v.read_mesh(scan).block_on().is_ok(), "{point:?} step {step}");
                }
            }
            assert!(v.read_mesh(kept_scan).block_on().is_ok());
            let report = v.fsck(true).block_on().unwrap();
            assert!(report.is_repairable(), "{point:?} step {step}: {report:?}");
            let clean = v.fsck(false).block_on().unwrap();
            assert!(clean.is_clean() && clean.pending_purge == 0, "{point:?} step {step}: {clean:?}");
            assert_eq!(w.blobs.snapshot().len(), if shredded { 1 } else { 5 }, "{point:?} step {step}");
            if !plan.crashed() {
                assert!(result.is_ok() && shredded);
                break;
            }
        }
    }
}

#[test]
fn memory_adapters_pass_the_conformance_suites() {
    facevault_vault::conformance::blob_store(&MemoryBlobs::new()).block_on().unwrap();
    facevault_vault::conformance::metadata_store(&MemoryMetadata::new()).block_on().unwrap();
    facevault_vault::conformance::account_store(&MemoryMetadata::new()).block_on().unwrap();
}

#[test]
fn type_erased_stores_pass_the_conformance_suites() {
    use facevault_vault::{DynBlobStore, DynMetadataStore};
    facevault_vault::conformance::blob_store(&DynBlobStore::new(MemoryBlobs::new())).block_on().unwrap();
    let meta = DynMetadataStore::new(MemoryMetadata::new());
    facevault_vault::conformance::metadata_store(&meta).block_on().unwrap();
    facevault_vault::conformance::account_store(&meta.clone()).block_on().unwrap();
}
