//! The embedded default key provider: a key file holding the vault's KEKs, encrypted with
//! AES-256-GCM under a key derived from a passphrase by Argon2id. Created mode 0600, replaced
//! on rotation by [`crate::write_private`] (0600, atomic: hidden temporary file, fsync, rename,
//! fsync directory). Format: see
//! `docs/ciphertext-format.md`.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::provider::{KeyProvider, Keyring};
use crate::secret::{Kek, KekVersion, Passphrase};

const FORMAT_NAME: &str = "facevault-keyfile";
const FORMAT_VERSION: u32 = 1;
const SALT_LEN: usize = 16;
/// A key file is a few hundred bytes; refuse to read anything much larger.
const MAX_FILE_LEN: u64 = 1 << 20;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl KdfParams {
    /// The least memory accepted (8 MiB); use the default (64 MiB) outside tests.
    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
    /// The most memory a key file may ask for (4 GiB): a hostile file cannot exhaust memory.
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;

    /// Checked parameters: memory 8 MiB..4 GiB, 1..=64 iterations, 1..=16 lanes.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<KdfParams, CryptoError> {
        let weak = |reason: String| Err(CryptoError::WeakKdfParams { reason });
        if !(Self::MIN_MEMORY_KIB..=Self::MAX_MEMORY_KIB).contains(&memory_kib) {
            return weak(format!("memory {memory_kib} KiB is outside 8 MiB..4 GiB"));
        }
        if !(1..=64).contains(&iterations) {
            return weak(format!("{iterations} iterations is outside 1..=64"));
        }
        if !(1..=16).contains(&parallelism) {
            return weak(format!("parallelism {parallelism} is outside 1..=16"));
        }
        Ok(KdfParams { memory_kib, iterations, parallelism })
    }

    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }
    pub fn iterations(&self) -> u32 {
        self.iterations
    }
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }
}

impl Default for KdfParams {
    /// 64 MiB, 3 iterations, 1 lane (OWASP's Argon2id guidance, with margin).
    fn default() -> KdfParams {
        KdfParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 }
    }
}

#[derive(Serialize, Deserialize)]
struct FileV1 {
    format: String,
    version: u32,
    kdf: KdfJson,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct KdfJson {
    algorithm: String,
    argon2_version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

/// The passphrase-protected key file provider.
pub struct KeyFile {
    path: PathBuf,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    file_key: SecretBox<[u8; 32]>,
    keyring: RwLock<Keyring>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("path", &self.path)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

fn derive(pass: &Passphrase, params: KdfParams, salt: &[u8]) -> Result<SecretBox<[u8; 32]>, CryptoError> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|e| CryptoError::WeakKdfParams { reason: e.to_string() })?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut failed = None;
    let key = SecretBox::init_with_mut(|out: &mut [u8; 32]| {
        failed = argon.hash_password_into(pass.expose().as_bytes(), salt, out).err();
    });
    match failed {
        Some(e) => Err(CryptoError::WeakKdfParams { reason: e.to_string() }),
        None => Ok(key),
    }
}

fn aad(params: KdfParams, salt: &str) -> Vec<u8> {
    format!(
        "{FORMAT_NAME} v{FORMAT_VERSION} argon2id v19 m={} t={} p={} salt={salt} aes-256-gcm",
        params.memory_kib, params.iterations, params.parallelism
    )
    .into_bytes()
}

fn encode_keyring(k: &Keyring) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(8 + 36 * 4));
    out.extend_from_slice(&k.current().0.to_be_bytes());
    let entries: Vec<(KekVersion, &Kek)> = k.entries().collect();
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for (v, kek) in entries {
        out.extend_from_slice(&v.0.to_be_bytes());
        out.extend_from_slice(kek.expose());
    }
    out
}

fn decode_keyring(b: &[u8]) -> Option<Keyring> {
    let u32_at = |i: usize| b.get(i..i + 4).and_then(|s| s.try_into().ok()).map(u32::from_be_bytes);
    let current = KekVersion(u32_at(0)?);
    let count = u32_at(4)? as usize;
    if b.len() != 8 + count.checked_mul(36)? || count == 0 {
        return None;
    }
    let mut ring: Option<Keyring> = None;
    for i in 0..count {
        let at = 8 + i * 36;
        let version = KekVersion(u32_at(at)?);
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(b.get(at + 4..at + 36)?);
        let kek = Kek::from_bytes(*key);
        match ring.as_mut() {
            None => ring = Some(Keyring::single(version, kek)),
            Some(r) => r.insert(version, kek),
        }
    }
    let ring = ring?;
    (ring.current() == current).then_some(ring)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> CryptoError + '_ {
    move |e| CryptoError::KeyFileIo { path: path.to_path_buf(), message: e.to_string() }
}

impl KeyFile {
    /// Create a new key file at `path` holding one fresh KEK (version 1). Refuses to overwrite.
    pub fn create(path: &Path, pass: &Passphrase, params: KdfParams) -> Result<KeyFile, CryptoError> {
        if pass.expose().is_empty() {
            return Err(CryptoError::EmptyPassphrase);
        }
        let mut salt = [0u8; SALT_LEN];
        crate::fill_random(&mut salt)?;
        let kf = KeyFile {
            path: path.to_path_buf(),
            params,
            salt,
            file_key: derive(pass, params, &salt)?,
            keyring: RwLock::new(Keyring::generate()?),
        };
        let bytes = kf.encode(&*kf.read()?)?;
        let mut f = create_private(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => CryptoError::KeyFileExists { path: path.to_path_buf() },
            _ => io_err(path)(e),
        })?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(io_err(path))?;
        sync_parent(path)?;
        Ok(kf)
    }

    /// Open an existing key file. A wrong passphrase is [`CryptoError::WrongPassphrase`].
    pub fn open(path: &Path, pass: &Passphrase) -> Result<KeyFile, CryptoError> {
        let bad = |reason: &str| CryptoError::BadKeyFile { path: path.to_path_buf(), reason: reason.into() };
        let mut text = String::new();
        fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_LEN).read_to_string(&mut text))
            .map_err(io_err(path))?;
        let file: FileV1 = serde_json::from_str(&text).map_err(|_| bad("not the key file's JSON"))?;
        if file.format != FORMAT_NAME {
            return Err(bad("wrong format name"));
        }
        if file.version != FORMAT_VERSION {
            return Err(bad("unsupported format version"));
        }
        if file.kdf.algorithm != "argon2id" || file.kdf.argon2_version != 19 || file.cipher != "aes-256-gcm" {
            return Err(bad("unsupported algorithm"));
        }
        let params = KdfParams::new(file.kdf.memory_kib, file.kdf.iterations, file.kdf.parallelism)?;
        let salt: [u8; SALT_LEN] =
            B64.decode(&file.kdf.salt).ok().and_then(|s| s.try_into().ok()).ok_or_else(|| bad("bad salt"))?;
        let nonce: [u8; NONCE_LEN] =
            B64.decode(&file.nonce).ok().and_then(|s| s.try_into().ok()).ok_or_else(|| bad("bad nonce"))?;
        let mut body =
            Zeroizing::new(B64.decode(&file.ciphertext).map_err(|_| bad("bad ciphertext encoding"))?);
        let file_key = derive(pass, params, &salt)?;
        let key = aead_key(&file_key)?;
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(params, &file.kdf.salt)),
                &mut body[..],
            )
            .map_err(|_| CryptoError::WrongPassphrase { path: path.to_path_buf() })?;
        let keyring = decode_keyring(plain).ok_or_else(|| bad("bad keyring payload"))?;
        Ok(KeyFile { path: path.to_path_buf(), params, salt, file_key, keyring: RwLock::new(keyring) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Keyring>, CryptoError> {
        self.keyring.read().map_err(|_| CryptoError::Internal { what: "keyring lock poisoned" })
    }

    fn encode(&self, keyring: &Keyring) -> Result<Vec<u8>, CryptoError> {
        let salt = B64.encode(self.salt);
        let mut nonce = [0u8; NONCE_LEN];
        crate::fill_random(&mut nonce)?;
        let mut body = encode_keyring(keyring).to_vec();
        let tag = aead_key(&self.file_key)?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(self.params, &salt)),
                &mut body,
            )
            .map_err(|_| CryptoError::Internal { what: "key file seal" })?;
        body.extend_from_slice(tag.as_ref());
        let file = FileV1 {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            kdf: KdfJson {
                algorithm: "argon2id".into(),
                argon2_version: 19,
                memory_kib: self.params.memory_kib,
                iterations: self.params.iterations,
                parallelism: self.params.parallelism,
                salt,
            },
            cipher: "aes-256-gcm".into(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(&body),
        };
        let mut text =
            serde_json::to_vec_pretty(&file).map_err(|_| CryptoError::Internal { what: "key file JSON" })?;
        text.push(b'\n');
        Ok(text)
    }

    /// Replace the file atomically, owner-only: a crash leaves either the old or the new file
    /// (and at most a hidden temporary file, replaced by the next save).
    fn save(&self, keyring: &Keyring) -> Result<(), CryptoError> {
        let bytes = self.encode(keyring)?;
        crate::write_private(&self.path, &bytes).map_err(io_err(&self.path))
    }
}

fn aead_key(k: &SecretBox<[u8; 32]>) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, k.expose_secret())
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::Internal { what: "AES-256-GCM key setup" })
}

fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

fn sync_parent(path: &Path) -> Result<(), CryptoError> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl KeyProvider for KeyFile {
    fn current_version(&self) -> Result<KekVersion, CryptoError> {
        Ok(self.read()?.current())
    }

    fn kek(&self, version: KekVersion) -> Result<Kek, CryptoError> {
        self.read()?.get(version)
    }

    /// Add a new KEK version and rewrite the file before it becomes current in memory.
    fn rotate(&self) -> Result<KekVersion, CryptoError> {
        let mut guard =
            self.keyring.write().map_err(|_| CryptoError::Internal { what: "keyring lock poisoned" })?;
        let mut next = guard.duplicate();
        let version = next.add_generated()?;
        self.save(&next)?;
        *guard = next;
        Ok(version)
    }
}
