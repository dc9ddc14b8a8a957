//! The passphrase-protected key file provider.

use std::path::Path;

use facevault_crypto::{
    open, seal_slice, BlobContext, CryptoError, DataKey, Id, KdfParams, KekVersion, KeyContext, KeyFile,
    KeyProvider, ObjectKind, Passphrase,
};

fn fast() -> KdfParams {
    KdfParams::new(KdfParams::MIN_MEMORY_KIB, 1, 1).unwrap()
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.into())
}

fn ctx() -> KeyContext {
    KeyContext { vault: Id::from_bytes([1; 16]), subject: Id::from_bytes([2; 16]) }
}

#[test]
fn create_open_round_trip_with_default_params() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    let kf = KeyFile::create(&path, &pass("correct horse"), KdfParams::default()).unwrap();
    let dk = DataKey::generate().unwrap();
    let wrapped = kf.wrap(&ctx(), &dk).unwrap();
    drop(kf);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"memory_kib\": 65536") && text.contains("\"iterations\": 3"), "{text}");
    assert!(text.contains("argon2id"));
    let kf = KeyFile::open(&path, &pass("correct horse")).unwrap();
    assert_eq!(kf.current_version().unwrap(), KekVersion(1));
    let back = kf.unwrap(&ctx(), &wrapped).unwrap();
    // The unwrapped key is the original: it opens what the original sealed.
    let blob = BlobContext {
        vault: Id::from_bytes([1; 16]),
        subject: Id::from_bytes([2; 16]),
        object: Id::from_bytes([3; 16]),
        kind: ObjectKind::Scan,
        version: 1,
    };
    let sealed = seal_slice(&dk, &blob, b"mesh bytes").unwrap();
    assert_eq!(open(&back, &blob, sealed).unwrap(), b"mesh bytes");
    assert!(!format!("{kf:?}").contains("horse"));
}

#[cfg(unix)]
#[test]
fn key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    let kf = KeyFile::create(&path, &pass("pw"), fast()).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    kf.rotate().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn wrong_passphrase_is_a_clear_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    KeyFile::create(&path, &pass("right"), fast()).unwrap();
    let err = KeyFile::open(&path, &pass("wrong")).unwrap_err();
    assert_eq!(err, CryptoError::WrongPassphrase { path: path.clone() });
    assert!(err.to_string().starts_with("wrong passphrase for key file"), "{err}");
}

#[test]
fn refuses_to_overwrite_and_empty_passphrases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    KeyFile::create(&path, &pass("one"), fast()).unwrap();
    let before = std::fs::read(&path).unwrap();
    assert_eq!(
        KeyFile::create(&path, &pass("two"), fast()).unwrap_err(),
        CryptoError::KeyFileExists { path: path.clone() }
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let other = dir.path().join("other.key");
    assert_eq!(KeyFile::create(&other, &pass(""), fast()).unwrap_err(), CryptoError::EmptyPassphrase);
    assert!(!other.exists());
}

#[test]
fn rotation_persists_new_version_and_keeps_old() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    let kf = KeyFile::create(&path, &pass("pw"), fast()).unwrap();
    let dk = DataKey::generate().unwrap();
    let w1 = kf.wrap(&ctx(), &dk).unwrap();
    assert_eq!(kf.rotate().unwrap(), KekVersion(2));
    let w2 = kf.wrap(&ctx(), &dk).unwrap();
    assert_eq!(w2.kek_version(), KekVersion(2));
    drop(kf);
    let kf = KeyFile::open(&path, &pass("pw")).unwrap();
    assert_eq!(kf.current_version().unwrap(), KekVersion(2));
    assert!(kf.unwrap(&ctx(), &w1).is_ok());
    assert!(kf.unwrap(&ctx(), &w2).is_ok());
    assert_eq!(files_in(dir.path()), ["vault.key"], "a save leaves no temporary file");
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_or_interrupted_save_leaves_the_old_key_file_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    let kf = KeyFile::create(&path, &pass("pw"), fast()).unwrap();
    let dk = DataKey::generate().unwrap();
    let w1 = kf.wrap(&ctx(), &dk).unwrap();
    let before = std::fs::read(&path).unwrap();
    // The atomic writer's temporary file (`write_private`), blocked by a directory in its place:
    // the rotation fails before its rename, and neither the file nor the keys in memory move.
    let partial = dir.path().join(".vault.key.facevault-partial");
    std::fs::create_dir(&partial).unwrap();
    assert!(kf.rotate().is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(kf.current_version().unwrap(), KekVersion(1));
    // A crash mid-save leaves at most a half-written temporary file: the old key file opens...
    std::fs::remove_dir(&partial).unwrap();
    std::fs::write(&partial, b"{\"format\": \"facevault-keyfile").unwrap();
    let kf = KeyFile::open(&path, &pass("pw")).unwrap();
    assert!(kf.unwrap(&ctx(), &w1).is_ok());
    // ...and the next save replaces the leftover.
    assert_eq!(kf.rotate().unwrap(), KekVersion(2));
    assert_eq!(files_in(dir.path()), ["vault.key"]);
    assert!(KeyFile::open(&path, &pass("pw")).unwrap().unwrap(&ctx(), &w1).is_ok());
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn tampered_or_hostile_key_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    KeyFile::create(&path, &pass("pw"), fast()).unwrap();
    let good = std::fs::read_to_string(&path).unwrap();
    // Lowering the cost in the file is caught: the parameters are bound to the ciphertext.
    edit(&path, "\"iterations\": 1", "\"iterations\": 2");
    assert_eq!(
        KeyFile::open(&path, &pass("pw")).unwrap_err(),
        CryptoError::WrongPassphrase { path: path.clone() }
    );
    std::fs::write(&path, &good).unwrap();
    // A file asking for 1 TiB of memory is refused before any work.
    edit(&path, "\"memory_kib\": 8192", "\"memory_kib\": 1073741824");
    assert!(matches!(KeyFile::open(&path, &pass("pw")), Err(CryptoError::WeakKdfParams { .. })));
    std::fs::write(&path, "not json").unwrap();
    assert!(matches!(KeyFile::open(&path, &pass("pw")), Err(CryptoError::BadKeyFile { .. })));
    std::fs::write(&path, good.replace("\"version\": 1", "\"version\": 9")).unwrap();
    assert!(matches!(KeyFile::open(&path, &pass("pw")), Err(CryptoError::BadKeyFile { .. })));
    let missing = dir.path().join("missing.key");
    assert!(matches!(KeyFile::open(&missing, &pass("pw")), Err(CryptoError::KeyFileIo { .. })));
}

#[test]
fn weak_params_are_refused_at_creation() {
    assert!(KdfParams::new(1024, 3, 1).is_err());
    assert!(KdfParams::new(65536, 0, 1).is_err());
    assert!(KdfParams::new(65536, 3, 0).is_err());
    let d = KdfParams::default();
    assert_eq!((d.memory_kib(), d.iterations(), d.parallelism()), (65536, 3, 1));
}
