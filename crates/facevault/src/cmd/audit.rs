//! `facevault audit verify|prove|consistency|checkpoint`: the vault's verifiable audit log
//! (facevault-audit over the `audit_*` tables of `vault.db`) on the command line, and the
//! log's signing key.
//!
//! The signing key lives in `audit-signing.key` in the vault directory, never in plaintext: the
//! Ed25519 key is sealed (XChaCha20-Poly1305, as a blob) under a data key of its own, and that
//! data key is wrapped under the vault's KEK, exactly like a subject's key, with the reserved
//! id [`AUDIT_KEY_ID`] in the subject's place. Opening it needs the same passphrase (or
//! `FACEVAULT_KEK`) as the vault. The file also holds the public verifier key, for reference
//! only: `audit verify` trusts the key it unseals, not that line.
//!
//! Proofs are printed as the JSON of `docs/audit-log.md`, with the encoded entry (base64) and
//! the signed checkpoint they lead to, so an outside verifier needs nothing else.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::Subcommand;
use facevault_audit::{
    leaf_hash, open_checkpoint, sign_checkpoint, verify_log, AuditEntry, AuditLog, Decision, LogStore,
    Reason, SigningKey, Timestamp, Token, VerifyError,
};
use facevault_crypto::{
    open as open_blob, seal_slice, BlobContext, Id, KekVersion, KeyContext, KeyProvider, ObjectKind,
    WrappedKey,
};
use facevault_store_sql::SqlLogStore;
use facevault_vault::SubjectStore as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::Failure;

/// The file holding the sealed signing key, in the vault directory.
pub const KEY_FILE: &str = "audit-signing.key";
/// Stands in for the subject id when the audit key is wrapped and sealed; no subject has it
/// (subject ids are random).
pub const AUDIT_KEY_ID: Id = Id::from_bytes(*b"facevault-audit\0");

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every entry of the log against its latest signed checkpoint; exit code 7, naming
    /// the first bad entry, if they differ.
    Verify,
    /// Print the inclusion proof of entry N (JSON, RFC 9162) against the latest checkpoint.
    Prove {
        #[arg(long, value_name = "N")]
        entry: u64,
    },
    /// Print the consistency proof (JSON, RFC 9162) from the tree of OLD entries to the latest
    /// checkpoint.
    Consistency {
        #[arg(long, value_name = "OLD")]
        from: u64,
    },
    /// Print the latest signed checkpoint (C2SP signed note); the verifier key goes to stderr.
    Checkpoint,
    /// List entries (index, time, actor, role, action, purpose, object, decision, reason):
    /// for the privacy officer's review of break-glass uses and denials.
    List {
        /// Only break-glass accesses (allowed or refused): the ones to review.
        #[arg(long)]
        flagged: bool,
        /// Only denied decisions.
        #[arg(long)]
        denied: bool,
        /// Only entries about this object (e.g. `subject:<id>`, `scan:<id>`).
        #[arg(long)]
        object: Option<String>,
        /// Start at this entry index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

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
    let path = dir.join(KEY_FILE);
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
    super::vault::write_private(path, &json)
}

/// The vault's id and audit signing key (asks for the passphrase as any vault command does).
fn open_key(dir: &Path) -> Result<(Id, SigningKey)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let (vault, _) = super::vault::open(dir).await?;
        let key = signing_key(dir, vault.id(), vault.key_provider().as_ref());
        vault.metadata_store().close().await;
        Ok((vault.id(), key?))
    })
}

fn open_log(dir: &Path) -> Result<AuditLog<SqlLogStore>> {
    let store = SqlLogStore::open_sqlite(&dir.join(super::vault::DB_FILE)).map_err(damaged)?;
    AuditLog::open(store).map_err(damaged)
}

fn damaged(e: impl std::fmt::Display) -> anyhow::Error {
    Failure::Damaged(format!("audit log: {e}")).into()
}

/// The latest checkpoint, its signature checked; one is signed now if the log has none yet.
fn latest(
    log: &AuditLog<SqlLogStore>,
    vault: Id,
    key: &SigningKey,
) -> Result<(String, facevault_audit::Checkpoint)> {
    let note = match log.store().latest_checkpoint().map_err(damaged)? {
        Some(note) => note,
        None => sign_and_store(log, vault, key)?,
    };
    let cp = open_checkpoint(&note, &key.verifier(), &origin(vault))
        .map_err(|e| Failure::Damaged(format!("audit log: the latest checkpoint is not valid: {e}")))?;
    Ok((note, cp))
}

fn sign_and_store(log: &AuditLog<SqlLogStore>, vault: Id, key: &SigningKey) -> Result<String> {
    let note = sign_checkpoint(&log.checkpoint(&origin(vault)), key)?;
    log.store().put_checkpoint(log.size(), &note).map_err(damaged)?;
    Ok(note)
}

pub fn run(vault: Option<PathBuf>, cmd: AuditCommand) -> Result<()> {
    let dir = super::vault::vault_dir(vault);
    let (vault, key) = open_key(&dir)?;
    let log = open_log(&dir)?;
    let result = match cmd {
        AuditCommand::Verify => verify(&log, vault, &key),
        AuditCommand::Prove { entry } => prove(&log, vault, &key, entry),
        AuditCommand::Consistency { from } => consistency(&log, vault, &key, from),
        AuditCommand::List { flagged, denied, object, from, limit, json } => {
            list(&log, &Filter { flagged, denied, object }, from, limit, json)
        }
        AuditCommand::Checkpoint => {
            let (note, cp) = latest(&log, vault, &key)?;
            let note = if cp.size < log.size() { sign_and_store(&log, vault, &key)? } else { note };
            eprintln!("verifier key: {}", key.verifier());
            print!("{note}");
            Ok(())
        }
    };
    log.into_store().close();
    result
}

struct Filter {
    flagged: bool,
    denied: bool,
    object: Option<String>,
}

impl Filter {
    fn keeps(&self, e: &AuditEntry) -> bool {
        (!self.flagged || facevault_vault::oversight::is_break_glass(e.reason.as_str()))
            && (!self.denied || e.decision == Decision::Denied)
            && self.object.as_ref().is_none_or(|o| e.object.as_str() == o)
    }
}

fn list(log: &AuditLog<SqlLogStore>, filter: &Filter, from: u64, limit: usize, json: bool) -> Result<()> {
    use std::io::Write;
    let mut rows = Vec::new();
    for index in from..log.size() {
        if rows.len() >= limit {
            break;
        }
        let bytes = log
            .store()
            .entry(index)
            .map_err(damaged)?
            .ok_or_else(|| damaged(format!("entry {index} is missing")))?;
        let e = AuditEntry::decode(&bytes).map_err(|e| damaged(format!("entry {index}: {e}")))?;
        if filter.keeps(&e) {
            rows.push((index, e));
        }
    }
    if json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|(i, e)| {
                serde_json::json!({
                    "index": i,
                    "time": e.time.to_string(),
                    "actor": e.actor.as_str(),
                    "role": e.role.as_str(),
                    "action": e.action.as_str(),
                    "purpose": e.purpose.as_str(),
                    "object": e.object.as_str(),
                    "decision": if e.decision == Decision::Allowed { "allowed" } else { "denied" },
                    "reason": e.reason.as_str(),
                })
            })
            .collect();
        return Ok(super::print_json(&out)?);
    }
    let mut out = std::io::stdout().lock();
    for (i, e) in rows {
        let decision = if e.decision == Decision::Allowed { "allowed" } else { "DENIED" };
        writeln!(
            out,
            "{i:>7}  {}  {} ({})  {} {} for {}  {decision}  {}",
            e.time,
            e.actor.as_str(),
            e.role.as_str(),
            e.action.as_str(),
            e.object.as_str(),
            e.purpose.as_str(),
            e.reason.as_str()
        )?;
    }
    Ok(())
}

fn verify(log: &AuditLog<SqlLogStore>, vault: Id, key: &SigningKey) -> Result<()> {
    let Some(note) = log.store().latest_checkpoint().map_err(damaged)? else {
        if log.size() == 0 {
            eprintln!("audit log is empty; nothing to verify");
            return Ok(());
        }
        return Err(damaged(format!("{} entries but no signed checkpoint", log.size())));
    };
    let cp = open_checkpoint(&note, &key.verifier(), &origin(vault))
        .map_err(|e| Failure::Damaged(format!("audit log: the latest checkpoint is not valid: {e}")))?;
    match verify_log(log.store(), &cp) {
        Ok(n) => {
            println!("audit log OK: {n} entries match the signed checkpoint (root {})", cp.root);
            Ok(())
        }
        Err(VerifyError::Audit(e)) => Err(damaged(e)),
        Err(e) => Err(Failure::Damaged(format!("audit log damaged: {e}")).into()),
    }
}

fn prove(log: &AuditLog<SqlLogStore>, vault: Id, key: &SigningKey, index: u64) -> Result<()> {
    let (note, cp) = latest(log, vault, key)?;
    if index >= cp.size {
        return Err(Failure::NotFound(format!(
            "audit entry {index}: the latest checkpoint covers {}",
            cp.size
        ))
        .into());
    }
    let entry = log
        .store()
        .entry(index)
        .map_err(damaged)?
        .ok_or_else(|| damaged(format!("entry {index} is missing")))?;
    let proof = log.inclusion_proof(index, cp.size).map_err(damaged)?;
    let out = serde_json::json!({
        "index": proof.index,
        "size": proof.size,
        "path": proof.path,
        "entry": B64.encode(&entry),
        "leaf_hash": leaf_hash(&entry),
        "root": cp.root,
        "checkpoint": note,
    });
    super::print_json(&out)?;
    Ok(())
}

fn consistency(log: &AuditLog<SqlLogStore>, vault: Id, key: &SigningKey, old: u64) -> Result<()> {
    let (note, cp) = latest(log, vault, key)?;
    if old > cp.size {
        return Err(
            Failure::NotFound(format!("audit size {old}: the latest checkpoint covers {}", cp.size)).into()
        );
    }
    let proof = log.consistency_proof(old, cp.size).map_err(damaged)?;
    let out = serde_json::json!({
        "old_size": proof.old_size,
        "new_size": proof.new_size,
        "path": proof.path,
        "old_root": log.root_at(old).map_err(damaged)?,
        "new_root": cp.root,
        "checkpoint": note,
    });
    super::print_json(&out)?;
    Ok(())
}

/// One audit entry of a vault command: the server's journal record, the same for both.
pub use facevault_server::Record;

/// Who runs the CLI: `--actor`/`--role`, else $FACEVAULT_ACTOR/$FACEVAULT_ROLE, else the
/// local account's uid and `admin`. Pseudonymous ids only: never a person's name.
#[derive(Debug, Clone)]
pub struct Actor {
    pub actor: String,
    pub role: String,
}

impl Actor {
    /// Refuses an actor or role that cannot be an id token, before any command runs.
    pub fn check(&self) -> Result<()> {
        for (field, value) in [("actor", &self.actor), ("role", &self.role)] {
            Token::new(field, value).map_err(|e| {
                Failure::Input(format!("--{field}: {e} (a pseudonymous id: letters, digits, ._:@/-)"))
            })?;
        }
        Ok(())
    }
}

/// The entries just appended: where they are, and the checkpoint signed over them.
pub struct Appended {
    pub log: AuditLog<SqlLogStore>,
    pub indices: std::ops::Range<u64>,
    pub note: String,
}

/// Appends `records` in one batch (one transaction: group commit) and signs a checkpoint over
/// the new tree. Runs outside any async runtime. The caller closes `log` when done with it.
pub fn append(dir: &Path, vault: Id, key: &SigningKey, who: &Actor, records: &[Record]) -> Result<Appended> {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let time = Timestamp::from_unix_micros(micros)?;
    let entries = records
        .iter()
        .map(|rec| {
            Ok(AuditEntry {
                actor: Token::new("actor", &who.actor)?,
                role: Token::new("role", &who.role)?,
                action: Token::new("action", rec.action)?,
                purpose: Token::from_text(&rec.purpose),
                object: Token::new("object", &rec.object)?,
                decision: if rec.allowed { Decision::Allowed } else { Decision::Denied },
                reason: Reason::clipped(&rec.reason),
                time,
            })
        })
        .collect::<Result<Vec<_>, facevault_audit::EntryError>>()?;
    let mut log = open_log(dir)?;
    let indices = log.append_batch(&entries).map_err(damaged).context("appending the audit entries")?;
    let note = sign_and_store(&log, vault, key)?;
    Ok(Appended { log, indices, note })
}
