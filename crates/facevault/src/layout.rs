//! The vault directory, owned in one place: what lives where (`vault.db`, `blobs/`, `keys.json`,
//! `audit-signing.key`, `policy.cedar`, `purposes.toml`, the clinic's `vendors.toml`,
//! `clinic.toml`, `posture.toml`, and `certificates/`), how its key is found (the key file
//! under a passphrase, or `FACEVAULT_KEK`), and opening it as an application: stores, key
//! provider, policy, the signed audit log and its journal. The CLI and `facevault serve` both
//! open a vault here.
//!
//! The audit signing key lives in `audit-signing.key`, never in plaintext: the Ed25519 key is
//! sealed (as a blob) under a data key of its own, and that data key is wrapped under the
//! vault's KEK, exactly like a subject's key, with the reserved id [`AUDIT_KEY_ID`] in the
//! subject's place. Opening it needs the same passphrase (or `FACEVAULT_KEK`) as the vault. The
//! file also holds the public verifier key, for reference only: `audit verify` trusts the key it
//! unseals, not that line.

use std::path::{Path, PathBuf};

use anyhow::Result;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use facevault_app::{App, AppError, ClinicFiles, ErrorKind, Journal, SignedLog};
use facevault_audit::SigningKey;
use facevault_crypto::{
    open as open_blob, seal_slice, BlobContext, CryptoError, EnvKey, Id, KdfParams, KekVersion, KeyContext,
    KeyFile, KeyProvider, ObjectKind, Passphrase, WrappedKey,
};
use facevault_policy::Policy;
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::{SqlLogStore, SqlStore};
use facevault_vault::{DynBlobStore, DynMetadataStore, SubjectStore, SystemClock};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cmd::vault::{fail, fail_store};
use crate::cmd::Failure;

/// The application over a vault directory.
pub(crate) type CliApp = App<DynMetadataStore, DynBlobStore>;

pub(crate) const DB_FILE: &str = "vault.db";
const KEY_FILE: &str = "keys.json";
const DEFAULT_DIR: &str = "facevault-vault";
const PASSPHRASE_VAR: &str = "FACEVAULT_PASSPHRASE";

/// The vault over its stores, behind the ports (the adapters are chosen here, and only here).
pub(crate) type Vault =
    facevault_vault::Vault<DynMetadataStore, DynBlobStore, Box<dyn KeyProvider>, SystemClock>;
/// A clinic's policy text, validated against the schema at start-up (else the shipped one).
const POLICY_FILE: &str = "policy.cedar";
/// A clinic's purpose catalogue (TOML `[[purpose]]` tables; else the defaults).
const PURPOSES_FILE: &str = "purposes.toml";
/// Where `retention enforce` and `subject shred` write deletion certificates.
pub(crate) const CERTIFICATE_DIR: &str = "certificates";

/// The vault directory: --vault, else $FACEVAULT_DIR, else ./facevault-vault.
pub(crate) fn vault_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("FACEVAULT_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

/// The clinic's purpose catalogue and policy from the vault directory, else the defaults,
/// validated against the schema before anything runs.
pub(crate) fn load_policy(dir: &Path) -> Result<Policy> {
    let catalogue = match std::fs::read_to_string(dir.join(PURPOSES_FILE)) {
        Ok(text) => {
            let config: facevault_domain::CatalogueConfig = toml::from_str(&text)
                .map_err(|e| Failure::Input(format!("{}: {e}", dir.join(PURPOSES_FILE).display())))?;
            facevault_domain::Catalogue::from_config(config)
                .map_err(|e| Failure::Input(format!("{}: {e}", dir.join(PURPOSES_FILE).display())))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => facevault_domain::Catalogue::defaults(),
        Err(e) => return Err(Failure::Input(format!("{}: {e}", dir.join(PURPOSES_FILE).display())).into()),
    };
    let text = match std::fs::read_to_string(dir.join(POLICY_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => facevault_policy::DEFAULT_POLICIES.to_owned(),
        Err(e) => return Err(Failure::Input(format!("{}: {e}", dir.join(POLICY_FILE).display())).into()),
    };
    Policy::new(catalogue, &text)
        .map_err(|e| Failure::Input(format!("{}: {e}", dir.join(POLICY_FILE).display())).into())
}

/// Where the KEK comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeySource {
    File,
    Env,
}

/// A key provider's failure, classified once (exit 5 for a wrong passphrase or key).
fn crypto_fail(c: CryptoError) -> anyhow::Error {
    Failure::App(AppError::from(c)).into()
}

/// The passphrase: $FACEVAULT_PASSPHRASE, else asked for on the terminal without echo.
fn passphrase(confirm: bool) -> Result<Passphrase> {
    if let Ok(p) = std::env::var(PASSPHRASE_VAR) {
        return Ok(Passphrase::new(p));
    }
    let no_tty = |e: std::io::Error| {
        Failure::Key(format!("cannot ask for the passphrase ({e}); set {PASSPHRASE_VAR} or use a terminal"))
    };
    let first = Zeroizing::new(rpassword::prompt_password("FaceVault passphrase: ").map_err(no_tty)?);
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Again: ").map_err(no_tty)?);
        if *again != *first {
            return Err(Failure::Key("the passphrases differ".into()).into());
        }
    }
    Ok(Passphrase::new(first.to_string()))
}

pub(crate) async fn init(dir: &Path) -> Result<Vault> {
    let out = |e: std::io::Error| Failure::Output(format!("{}: {e}", dir.display()));
    if dir.join(DB_FILE).exists() {
        return Err(Failure::Output(format!("{} already holds a vault", dir.display())).into());
    }
    // Check the key source before creating anything.
    let env = std::env::var_os(EnvKey::VAR).is_some();
    if env {
        EnvKey::from_env(EnvKey::VAR).map_err(crypto_fail)?;
    }
    std::fs::create_dir_all(dir).map_err(out)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(out)?;
    }
    let keys: Box<dyn KeyProvider> = if env {
        Box::new(EnvKey::from_env(EnvKey::VAR).map_err(crypto_fail)?)
    } else {
        let pass = passphrase(true)?;
        Box::new(KeyFile::create(&dir.join(KEY_FILE), &pass, KdfParams::default()).map_err(crypto_fail)?)
    };
    let meta = SqlStore::open_sqlite(&dir.join(DB_FILE)).await.map_err(fail_store)?;
    let blobs = ObjectBlobStore::local(dir).map_err(fail_store)?;
    let (meta, blobs) = (DynMetadataStore::new(meta), DynBlobStore::new(blobs));
    let vault = Vault::open(meta, blobs, keys, SystemClock).await.map_err(fail)?;
    if let Err(e) = signing_key(dir, vault.id(), vault.key_provider().as_ref()) {
        vault.metadata_store().close().await;
        return Err(e);
    }
    let source = if env {
        format!("KEK from ${}", EnvKey::VAR)
    } else {
        format!("KEK in {KEY_FILE}, encrypted under the passphrase (Argon2id, 64 MiB)")
    };
    eprintln!(
        "vault {} created in {} ({source}; audit signing key sealed in {})",
        vault.id(),
        dir.display(),
        AUDIT_KEY_FILE
    );
    Ok(vault)
}

pub(crate) async fn open(dir: &Path) -> Result<(Vault, KeySource)> {
    if !dir.join(DB_FILE).is_file() {
        return Err(Failure::Input(format!(
            "{}: no vault here; run `facevault init --dir {0}`, or pass --vault or set FACEVAULT_DIR",
            dir.display()
        ))
        .into());
    }
    let key_file = dir.join(KEY_FILE);
    let (keys, source): (Box<dyn KeyProvider>, _) = if key_file.exists() {
        let pass = passphrase(false)?;
        (Box::new(KeyFile::open(&key_file, &pass).map_err(crypto_fail)?), KeySource::File)
    } else {
        let env = EnvKey::from_env(EnvKey::VAR).map_err(|e| match e {
            CryptoError::EnvMissing { .. } => Failure::Key(format!(
                "{}: the vault has no key file and ${} is not set",
                dir.display(),
                EnvKey::VAR
            ))
            .into(),
            e => crypto_fail(e),
        })?;
        (Box::new(env), KeySource::Env)
    };
    let meta = SqlStore::open_sqlite(&dir.join(DB_FILE)).await.map_err(fail_store)?;
    let blobs = ObjectBlobStore::local(dir).map_err(fail_store)?;
    let (meta, blobs) = (DynMetadataStore::new(meta), DynBlobStore::new(blobs));
    let vault = Vault::open(meta, blobs, keys, SystemClock).await.map_err(fail)?;
    Ok((vault, source))
}

/// The file holding the sealed signing key, in the vault directory.
pub const AUDIT_KEY_FILE: &str = "audit-signing.key";
/// Stands in for the subject id when the audit key is wrapped and sealed; no subject has it
/// (subject ids are random).
pub const AUDIT_KEY_ID: Id = Id::from_bytes(*b"facevault-audit\0");

/// The log's origin line and key name.
pub fn origin(vault: Id) -> String {
    format!("facevault.vault/{vault}")
}

/// `audit-signing.key` on disk.
#[derive(Serialize, Deserialize)]
struct KeyFileJson {
    format: u32,
    origin: String,
    verifier: String,
    kek_version: u32,
    wrapped_key: String,
    sealed_key: String,
}

fn contexts(vault: Id) -> (KeyContext, BlobContext) {
    (
        KeyContext { vault, subject: AUDIT_KEY_ID },
        BlobContext {
            vault,
            subject: AUDIT_KEY_ID,
            object: AUDIT_KEY_ID,
            kind: ObjectKind::SubjectDetails,
            version: 1,
        },
    )
}

/// The vault's audit signing key: unsealed from `audit-signing.key`, or created there (0600,
/// written atomically) if the file is absent.
pub fn signing_key(dir: &Path, vault: Id, keys: &dyn KeyProvider) -> Result<SigningKey> {
    let path = dir.join(AUDIT_KEY_FILE);
    let (kctx, bctx) = contexts(vault);
    let damaged = |why: String| Failure::Damaged(format!("{}: {why}", path.display()));
    match std::fs::read(&path) {
        Ok(bytes) => {
            let f: KeyFileJson = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
            let b64 = |s: &str| B64.decode(s).map_err(|e| damaged(e.to_string()));
            let wrapped = WrappedKey::from_parts(KekVersion(f.kek_version), &b64(&f.wrapped_key)?)
                .map_err(|e| damaged(e.to_string()))?;
            let dk =
                keys.unwrap(&kctx, &wrapped).map_err(|e| Failure::Key(format!("{}: {e}", path.display())))?;
            let secret = Zeroizing::new(
                open_blob(&dk, &bctx, b64(&f.sealed_key)?)
                    .map_err(|e| damaged(format!("cannot be opened: {e}")))?,
            );
            let secret = std::str::from_utf8(&secret).map_err(|e| damaged(e.to_string()))?;
            let key = SigningKey::parse(secret).map_err(|e| damaged(e.to_string()))?;
            if key.name() != origin(vault) {
                return Err(damaged("the key belongs to another vault".into()).into());
            }
            // After a KEK rotation, move the audit key onto the current KEK too, so the old
            // KEK can be retired (`key rotate` runs with both, and passes through here).
            if keys.current_version().is_ok_and(|v| v != wrapped.kek_version()) {
                let rewrapped = keys.wrap(&kctx, &dk)?;
                let f = KeyFileJson {
                    kek_version: rewrapped.kek_version().0,
                    wrapped_key: B64.encode(rewrapped.as_bytes()),
                    ..f
                };
                write_key_file(&path, &f)?;
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(&origin(vault))?;
            let dk = facevault_crypto::DataKey::generate()?;
            let wrapped = keys.wrap(&kctx, &dk)?;
            let sealed = seal_slice(&dk, &bctx, key.to_secret_string().as_bytes())?;
            let f = KeyFileJson {
                format: 1,
                origin: origin(vault),
                verifier: key.verifier().to_string(),
                kek_version: wrapped.kek_version().0,
                wrapped_key: B64.encode(wrapped.as_bytes()),
                sealed_key: B64.encode(sealed),
            };
            write_key_file(&path, &f)?;
            Ok(key)
        }
        Err(e) => Err(Failure::Input(format!("{}: {e}", path.display())).into()),
    }
}

fn write_key_file(path: &Path, f: &KeyFileJson) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(f)?;
    json.push(b'\n');
    crate::cmd::vault::write_private(path, &json)
}

/// The clinic's files beside the vault: configuration texts, and `certificates/`.
#[derive(Debug, Clone)]
pub(crate) struct DirFiles(pub PathBuf);

impl ClinicFiles for DirFiles {
    fn config(&self, name: &str) -> Result<Option<String>, AppError> {
        let path = self.0.join(name);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AppError::new(ErrorKind::Invalid, format!("{}: {e}", path.display()))),
        }
    }

    fn write_config(&self, name: &str, text: &str) -> Result<(), AppError> {
        let path = self.0.join(name);
        facevault_crypto::write_private(&path, text.as_bytes())
            .map_err(|e| AppError::new(ErrorKind::Output, format!("{}: {e}", path.display())))
    }

    fn keep_certificate(&self, name: &str, json: &[u8]) -> Result<String, AppError> {
        let folder = self.0.join(CERTIFICATE_DIR);
        let out = |e: std::io::Error| AppError::new(ErrorKind::Output, format!("{}: {e}", folder.display()));
        std::fs::create_dir_all(&folder).map_err(out)?;
        let path = folder.join(name);
        facevault_crypto::write_private(&path, json)
            .map_err(|e| AppError::new(ErrorKind::Output, format!("{}: {e}", path.display())))?;
        Ok(path.display().to_string())
    }
}

/// Opens the vault's signed audit log and starts its journal. The SQL log store blocks on a
/// runtime of its own, so it is opened on a plain thread (this may run inside the command's
/// runtime); the journal's writer thread owns it from then on.
pub(crate) fn start_journal(dir: &Path, vault: Id, key: SigningKey) -> Result<Journal> {
    let db = dir.join(DB_FILE);
    let damaged = |e: &dyn std::fmt::Display| Failure::Damaged(format!("audit log: {e}"));
    let store = std::thread::scope(|s| s.spawn(|| SqlLogStore::open_sqlite(&db)).join())
        .map_err(|_| damaged(&"the thread opening it failed"))?
        .map_err(|e| damaged(&e))?;
    let log = SignedLog::open(store, key, origin(vault)).map_err(|e| damaged(&e))?;
    Ok(Journal::start(log)?)
}

/// Opens the vault in `dir` as an application (asks for the passphrase unless the KEK comes
/// from the environment): stores, key provider, policy, audit signing key and journal.
pub(crate) async fn open_app(dir: &Path) -> Result<(CliApp, KeySource)> {
    let (vault, source) = open(dir).await?;
    app_of(dir, vault).await.map(|app| (app, source))
}

/// The application over an opened vault.
pub(crate) async fn app_of(dir: &Path, vault: Vault) -> Result<CliApp> {
    let policy = load_policy(dir)?;
    let key = match signing_key(dir, vault.id(), vault.key_provider().as_ref()) {
        Ok(k) => k,
        Err(e) => {
            vault.metadata_store().close().await;
            return Err(e);
        }
    };
    let journal = start_journal(dir, vault.id(), key)?;
    Ok(App::new(vault, policy, journal, Box::new(DirFiles(dir.to_path_buf()))))
}

/// Closes an application: its journal's writer (after what is queued), then the stores (the
/// SQLite WAL is checkpointed and removed).
pub(crate) async fn close(app: &CliApp) {
    app.journal().close().await;
    app.vault().metadata_store().close().await;
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Failure {
        Failure::App(e)
    }
}
