//! The local file-system blob store: the shared conformance suite, and a vault over it with
//! blobs damaged, swapped and restored on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use facevault_crypto::{CryptoError, MemoryKeys};
use facevault_mesh::Mesh;
use facevault_store_blob::ObjectBlobStore;
use facevault_vault::memory::MemoryMetadata;
use facevault_vault::{Capture, FixedClock, Purpose, SubjectDetails, Timestamp, Vault, VaultError};
use pollster::FutureExt;

fn blob_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn mesh(seed: f32) -> Mesh {
    let p = vec![[seed, 0.0, 1.0], [seed + 10.0, 0.5, 2.0], [seed, 10.0, 3.0], [seed + 10.0, 10.0, 4.0]];
    Mesh::new(p, vec![[0, 1, 2], [1, 3, 2]]).unwrap()
}

fn capture() -> Capture {
    Capture {
        device: "scanner".into(),
        captured_on: "2025-01-02".into(),
        purpose: Purpose(facevault_vault::testing::PURPOSE.into()),
    }
}

#[test]
fn passes_the_blob_store_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(&dir.path().join("blobs")).unwrap();
    facevault_vault::conformance::blob_store(&store).block_on().unwrap();
}

#[test]
fn a_vault_over_local_files_detects_damage_and_shreds() {
    let dir = tempfile::tempdir().unwrap();
    let blob_dir = dir.path().join("blobs");
    let meta = MemoryMetadata::new();
    let keys = Arc::new(MemoryKeys::generate().unwrap());
    let open = || {
        let blobs = ObjectBlobStore::local(&blob_dir).unwrap();
        Vault::open(meta.clone(), blobs, keys.clone(), FixedClock(Timestamp(0))).block_on().unwrap()
    };
    let v = open();
    let s = v
        .new_subject(&SubjectDetails { name: "Mary Shelley".into(), ..Default::default() })
        .block_on()
        .unwrap();
    let a = v.import_scan(s, &mesh(1.0), capture()).block_on().unwrap();
    let b = v.import_scan(s, &mesh(2.0), capture()).block_on().unwrap();
    let files = blob_files(&blob_dir);
    assert_eq!(files.len(), 2);
    let file_of = |id: &str| files.iter().find(|f| f.ends_with(id)).unwrap().clone();
    let (fa, fb) = (file_of(&a.to_string()), file_of(&b.to_string()));
    let (bytes_a, bytes_b) = (std::fs::read(&fa).unwrap(), std::fs::read(&fb).unwrap());

    // Flip one byte on disk.
    let mut t = bytes_a.clone();
    t[60] ^= 1;
    std::fs::write(&fa, &t).unwrap();
    match open().read_mesh(a).block_on() {
        Err(VaultError::Crypto(CryptoError::DecryptionFailed { object })) => assert_eq!(object, a.0),
        other => panic!("{other:?}"),
    }
    // Swap the two files.
    std::fs::write(&fa, &bytes_b).unwrap();
    std::fs::write(&fb, &bytes_a).unwrap();
    assert!(
        matches!(open().read_ply(b).block_on(), Err(VaultError::Crypto(CryptoError::DecryptionFailed { object })) if object == b.0)
    );
    std::fs::write(&fb, &bytes_b).unwrap();
    std::fs::write(&fa, &bytes_a).unwrap();
    assert_eq!(open().read_mesh(a).block_on().unwrap().positions(), mesh(1.0).positions());

    // A copy of the blob directory taken before the shred stays undecryptable after it.
    let backup: Vec<(PathBuf, Vec<u8>)> =
        files.iter().map(|f| (f.clone(), std::fs::read(f).unwrap())).collect();
    let v = open();
    v.shred(s).block_on().unwrap();
    assert_eq!(v.purge_blobs(|_, _| {}).block_on().unwrap(), 2);
    assert!(blob_files(&blob_dir).is_empty(), "purge deletes the blob files");
    for (path, bytes) in &backup {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let v = open();
    assert!(matches!(v.read_mesh(a).block_on(), Err(VaultError::UnknownScan { .. })));
    let report = v.fsck(true).block_on().unwrap();
    assert_eq!(report.orphans_removed, 2);
    assert!(blob_files(&blob_dir).is_empty());
}
