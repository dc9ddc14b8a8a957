//! `facevault init|subject|scan|lineage|key|fsck`: the vault on the command line. This module
//! opens the vault, runs a command and journals it; the commands themselves are `subjects.rs`,
//! `scans.rs` (scans and lineage) and `keys.rs` (key rotation and fsck).
//!
//! A vault directory holds `vault.db` (SQLite: pseudonymous ids, wrapped keys, sealed details),
//! `blobs/` (sealed meshes and derivatives) and, unless the KEK comes from `FACEVAULT_KEK`,
//! `keys.json` (the KEKs, encrypted under a passphrase with Argon2id). The one plaintext these
//! modules write is the file `scan export` is asked for (0600, atomic); errors and output name
//! ids and paths, never a subject's details or key material (`subject list` prints ids only).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use facevault_crypto::{CryptoError, EnvKey, Id, KdfParams, KeyFile, KeyProvider, Passphrase};
use facevault_policy::{AccessGrant, Action, BreakGlass, Policy, Role};
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::SqlStore;
use facevault_vault::{Ask, SubjectId, SystemClock, Target, VaultError};
use zeroize::Zeroizing;

use super::audit;
use super::govern::{self, ConsentCommand, HoldCommand, PurposeCommand, RestrictionArg, RetentionCommand};
use super::keys::{fsck, rotate, KeyCommand};
use super::scans::{lineage, scan, ScanCommand};
use super::subjects::{subject, SubjectCommand};
use super::vendors::{self, DiscloseArgs, DocsCommand, VendorCommand};
use super::Failure;

pub(crate) const DB_FILE: &str = "vault.db";
const KEY_FILE: &str = "keys.json";
const DEFAULT_DIR: &str = "facevault-vault";
const PASSPHRASE_VAR: &str = "FACEVAULT_PASSPHRASE";

pub(crate) type Vault = facevault_vault::Vault<SqlStore, ObjectBlobStore, Box<dyn KeyProvider>, SystemClock>;
/// A clinic's policy text, validated against the schema at start-up (else the shipped one).
const POLICY_FILE: &str = "policy.cedar";
/// A clinic's purpose catalogue (TOML `[[purpose]]` tables; else the defaults).
const PURPOSES_FILE: &str = "purposes.toml";
/// Where `retention enforce` and `subject shred` write deletion certificates.
pub(crate) const CERTIFICATE_DIR: &str = "certificates";
/// How long a break-glass access lasts.
const BREAK_GLASS_MINUTES: i64 = 60;

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Create a vault: its metadata database, blob directory and key file. The key file is
    /// encrypted under a passphrase ($FACEVAULT_PASSPHRASE, or asked for); with $FACEVAULT_KEK
    /// set, the KEK comes from that variable instead and no key file is written.
    Init {
        /// Where to create the vault (default: --vault).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Subjects (patients): pseudonymous ids; who they are is stored encrypted.
    #[command(subcommand)]
    Subject(SubjectCommand),
    /// Scans: import a mesh file encrypted, export one decrypted (recorded as a disclosure).
    #[command(subcommand)]
    Scan(ScanCommand),
    /// Everything a scan or derivative came from, and everything derived from it.
    Lineage {
        /// A scan or derivative id.
        id: Id,
    },
    /// Key-encryption key operations.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Check that every record has its blob, every blob is referenced, every key unwraps and
    /// every blob decrypts. Exit code 7 if problems remain.
    Fsck {
        /// Delete orphan blobs, finish an interrupted rotation, purge shredded subjects' blobs.
        #[arg(long)]
        repair: bool,
    },
    /// Consents: record one (checked per jurisdiction), show it, withdraw it.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Set (or --lift) a subject's opt-out of sale/sharing or limit-use restriction.
    Restrict {
        subject: SubjectId,
        what: RestrictionArg,
        #[arg(long)]
        lift: bool,
    },
    /// Legal holds (warrant, subpoena, litigation): they suspend destruction.
    #[command(subcommand)]
    Hold(HoldCommand),
    /// The purpose catalogue, and purposes satisfied.
    #[command(subcommand)]
    Purpose(PurposeCommand),
    /// The retention engine: plan (dry run) and enforce.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The vendor registry (vendors.toml): add, list.
    #[command(subcommand)]
    Vendor(VendorCommand),
    /// Disclose a scan to a registered vendor: decided by the policy, then checked against the
    /// vendor's contract, the consent and any opt-out; recorded before the file is written.
    Disclose(DiscloseArgs),
    /// Documents generated from the live configuration.
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Data-subject requests: open, track deadlines, carry out and complete.
    #[command(subcommand)]
    Request(super::requests::RequestCommand),
    /// The privacy posture report: the risk register (DoCRA-scored findings) from the live data.
    Posture(super::posture::PostureArgs),
    /// Accounts of the HTTP server (`facevault serve`): add staff, list.
    #[command(subcommand)]
    Account(super::account::AccountCommand),
}

/// The vault directory: --vault, else $FACEVAULT_DIR, else ./facevault-vault.
pub(crate) fn vault_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("FACEVAULT_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

/// What a command needs besides the vault: who runs it, the policy, and the audit journal
/// its decisions and changes are written to (appended when the command ends, denied ones too).
pub(crate) struct Ctx<'a> {
    pub who: &'a audit::Actor,
    pub role: Role,
    pub policy: Policy,
    /// The vault directory (the audit log is read from it by `subject export`).
    pub dir: PathBuf,
    journal: std::sync::Mutex<Vec<audit::Record>>,
    deletions: std::sync::Mutex<Vec<PendingCertificate>>,
}

/// A destruction whose certificate is issued once its audit entry is in the log.
struct PendingCertificate {
    journal_index: usize,
    subject: SubjectId,
    rule: String,
    destroyed: Vec<facevault_audit::Destroyed>,
    key_shredded: bool,
}

impl Ctx<'_> {
    pub(crate) fn push(&self, record: audit::Record) -> usize {
        let mut j = self.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        j.push(record);
        j.len() - 1
    }

    /// Journal a destruction: its entry's reason binds the rule and the list destroyed, and a
    /// deletion certificate is issued for it after the append.
    pub(crate) fn deletion(
        &self,
        subject: SubjectId,
        rule: &str,
        action: &'static str,
        destroyed: Vec<facevault_audit::Destroyed>,
        key_shredded: bool,
    ) {
        let reason = facevault_audit::deletion_reason(rule, &destroyed)
            .unwrap_or_else(|e| format!("rule {rule}; destroyed list not bound: {e}"));
        let purpose =
            if action == "retention.delete" || action == "retention.shred" { "retention" } else { "erasure" };
        let journal_index =
            self.push(audit::Record::change(action, purpose, format!("subject:{subject}"), reason));
        self.deletions.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(PendingCertificate {
            journal_index,
            subject,
            rule: rule.to_owned(),
            destroyed,
            key_shredded,
        });
    }

    /// A role gate for what the policy does not decide: the role must be listed, and a patient
    /// may act only on their own subject (`object` = `subject:<id>`). A refusal is journaled.
    pub(crate) fn require_role(
        &self,
        roles: &[Role],
        action: &'static str,
        object: String,
        purpose: &str,
    ) -> Result<()> {
        let own = self.role != Role::Patient
            || object
                .strip_prefix("subject:")
                .is_some_and(|s| self.who.actor == s || self.who.actor == object);
        if roles.contains(&self.role) && own {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let reason = if own {
            format!("role {} may not {action} (roles: {})", self.role, names.join(", "))
        } else {
            "a patient may act only on their own data".to_owned()
        };
        self.push(audit::Record {
            action,
            purpose: purpose.into(),
            object,
            allowed: false,
            reason: reason.clone(),
        });
        Err(Failure::Denied(reason).into())
    }

    fn break_glass(&self, reason: &Option<String>) -> Option<BreakGlass> {
        reason.as_ref().map(|r| {
            let from = super::now_ms();
            BreakGlass {
                reason: r.clone(),
                from,
                until: from + chrono::TimeDelta::minutes(BREAK_GLASS_MINUTES),
            }
        })
    }

    /// Decide an access, journal the decision (allowed or denied), and return the grant or a
    /// `Failure::Denied` naming every reason.
    pub(crate) async fn authorize(
        &self,
        vault: &Vault,
        audit_action: &'static str,
        action: Action,
        purpose: &str,
        target: Target,
        break_glass: &Option<String>,
    ) -> Result<AccessGrant> {
        let glass = self.break_glass(break_glass);
        let ask = Ask {
            actor: &self.who.actor,
            role: self.role,
            action,
            purpose,
            target,
            break_glass: glass.as_ref(),
        };
        let decision = vault.authorize(&self.policy, &ask).await.map_err(fail)?;
        let reasons: Vec<String> = decision.reasons().iter().map(ToString::to_string).collect();
        let object = target.object_id().0;
        self.push(audit::Record {
            action: audit_action,
            purpose: purpose.to_owned(),
            object: object.clone(),
            allowed: decision.allowed(),
            reason: reasons.join("; "),
        });
        if decision.flagged_for_privacy_officer() {
            eprintln!("BREAK-GLASS access to {object} recorded and flagged for the privacy officer");
        }
        let why = decision.refusal();
        decision.into_grant().ok_or_else(|| {
            Failure::Denied(format!(
                "{action} of {object} for {purpose} by role {} denied: {}",
                self.role, why
            ))
            .into()
        })
    }
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

/// Runs a vault command, then appends its audit entries (every decision, allowed or denied,
/// and every change; for a command that decides nothing, one entry saying what it did) and
/// issues the deletion certificates of what it destroyed. The signing key is unsealed while
/// the vault is open; the SQL audit store is used after its runtime is gone.
pub fn run(vault: Option<PathBuf>, who: &audit::Actor, cmd: VaultCommand) -> Result<()> {
    who.check()?;
    let role: Role = who.role.parse().map_err(|_| {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        Failure::Input(format!("--role {:?} is not a role: use one of {}", who.role, roles.join(", ")))
    })?;
    let mut dir = vault_dir(vault);
    let mut rec = record(&cmd);
    if let VaultCommand::Init { dir: Some(init_dir) } = &cmd {
        dir = init_dir.clone();
    }
    let policy = load_policy(&dir)?;
    let ctx = Ctx {
        who,
        role,
        policy,
        dir: dir.clone(),
        journal: std::sync::Mutex::new(Vec::new()),
        deletions: std::sync::Mutex::new(Vec::new()),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (vault_id, key, result) = rt.block_on(async {
        if let VaultCommand::Init { .. } = cmd {
            let (id, key) = init(&dir).await?;
            rec.object = format!("vault:{id}");
            return Ok((id, key, Ok(())));
        }
        let (vault, keys) = open(&dir).await?;
        let result = dispatch(&vault, keys, &ctx, cmd).await;
        let key = audit::signing_key(&dir, vault.id(), vault.key_provider().as_ref());
        // Checkpoints and removes the WAL.
        vault.metadata_store().close().await;
        Ok::<_, anyhow::Error>((vault.id(), key?, result))
    })?;
    drop(rt);
    let mut records =
        std::mem::take(&mut *ctx.journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    if records.is_empty() {
        // A command that failed before deciding anything changed nothing to audit.
        let () = result?;
        records.push(rec);
        return append_and_certify(&dir, vault_id, &key, who, &records, &ctx);
    }
    let appended = append_and_certify(&dir, vault_id, &key, who, &records, &ctx);
    result.and(appended)
}

/// Appends the journal and issues the certificates of the destructions in it.
fn append_and_certify(
    dir: &Path,
    vault_id: Id,
    key: &facevault_audit::SigningKey,
    who: &audit::Actor,
    records: &[audit::Record],
    ctx: &Ctx<'_>,
) -> Result<()> {
    let appended = audit::append(dir, vault_id, key, who, records)
        .context("the command ran but its audit entries were not written")?;
    let deletions =
        std::mem::take(&mut *ctx.deletions.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let issued = certify(dir, &appended, key, deletions);
    appended.log.into_store().close();
    issued
}

/// Writes a signed deletion certificate for each destruction journaled, into certificates/.
fn certify(
    dir: &Path,
    appended: &audit::Appended,
    key: &facevault_audit::SigningKey,
    deletions: Vec<PendingCertificate>,
) -> Result<()> {
    for d in deletions {
        let index = appended.indices.start + d.journal_index as u64;
        let cert = super::certificate::issue_for_entry(
            &appended.log,
            &appended.note,
            key,
            index,
            &d.subject.to_string(),
            d.destroyed,
            &d.rule,
            d.key_shredded.then(|| format!("subject-key:{}", d.subject)),
        )?;
        let folder = dir.join(CERTIFICATE_DIR);
        std::fs::create_dir_all(&folder)
            .map_err(|e| Failure::Output(format!("{}: {e}", folder.display())))?;
        let path = folder.join(format!("{}-{index}.json", d.subject));
        let mut json = serde_json::to_vec_pretty(&cert)?;
        json.push(b'\n');
        write_private(&path, &json)?;
        println!("certificate {}", path.display());
        eprintln!(
            "deletion certificate written to {} (check it with `facevault certificate verify`)",
            path.display()
        );
    }
    Ok(())
}

/// The audit record of a command that decides no access: what it did, to which object.
fn record(cmd: &VaultCommand) -> audit::Record {
    let admin = |action, object: String| audit::Record::change(action, "administration", object, "done");
    match cmd {
        VaultCommand::Init { .. } => admin("vault.init", "vault".into()),
        VaultCommand::Subject(SubjectCommand::Add { .. }) => admin("subject.add", "subject:new".into()),
        VaultCommand::Subject(SubjectCommand::List) => admin("subject.list", "subjects".into()),
        VaultCommand::Subject(SubjectCommand::Show { subject, .. }) => {
            admin("subject.read", format!("subject:{subject}"))
        }
        VaultCommand::Subject(SubjectCommand::Shred { subject, .. }) => {
            admin("subject.shred", format!("subject:{subject}"))
        }
        VaultCommand::Subject(SubjectCommand::Export { subject, .. }) => {
            admin("subject.export", format!("subject:{subject}"))
        }
        VaultCommand::Scan(ScanCommand::Import { subject, .. }) => {
            admin("scan.import", format!("subject:{subject}"))
        }
        VaultCommand::Scan(ScanCommand::Export { scan, .. }) => admin("scan.export", format!("scan:{scan}")),
        VaultCommand::Scan(ScanCommand::Analyze { .. }) => admin("scan.analyze", "scans".into()),
        VaultCommand::Lineage { id } => admin("lineage.read", format!("node:{id}")),
        VaultCommand::Key(KeyCommand::Rotate { .. }) => admin("key.rotate", "vault".into()),
        VaultCommand::Fsck { repair: false } => admin("vault.fsck", "vault".into()),
        VaultCommand::Fsck { repair: true } => admin("vault.repair", "vault".into()),
        VaultCommand::Consent(_) => admin("consent", "consents".into()),
        VaultCommand::Restrict { subject, .. } => admin("restriction.set", format!("subject:{subject}")),
        VaultCommand::Hold(_) => admin("hold", "holds".into()),
        VaultCommand::Purpose(_) => admin("purpose.list", "purposes".into()),
        VaultCommand::Retention(_) => admin("retention", "vault".into()),
        VaultCommand::Vendor(_) => admin("vendor", "vendors".into()),
        VaultCommand::Disclose(a) => admin("scan.disclose", format!("scan:{}", a.scan)),
        VaultCommand::Docs(_) => admin("docs.generate", "documents".into()),
        VaultCommand::Request(_) => admin("request", "requests".into()),
        VaultCommand::Posture(_) => admin("posture.report", "posture".into()),
        VaultCommand::Account(_) => admin("account.list", "accounts".into()),
    }
}

async fn dispatch(vault: &Vault, keys: KeySource, ctx: &Ctx<'_>, cmd: VaultCommand) -> Result<()> {
    match cmd {
        VaultCommand::Init { .. } => Ok(()),
        VaultCommand::Subject(c) => subject(vault, ctx, c).await,
        VaultCommand::Scan(c) => scan(vault, ctx, c).await,
        VaultCommand::Consent(c) => govern::consent(vault, ctx, c).await,
        VaultCommand::Restrict { subject, what, lift } => {
            govern::restrict(vault, ctx, subject, what, lift).await
        }
        VaultCommand::Hold(c) => govern::hold(vault, ctx, c).await,
        VaultCommand::Purpose(c) => govern::purpose(vault, ctx, c).await,
        VaultCommand::Retention(c) => govern::retention(vault, ctx, c).await,
        VaultCommand::Vendor(c) => vendors::vendor(ctx, c),
        VaultCommand::Disclose(a) => vendors::disclose(vault, ctx, a).await,
        VaultCommand::Docs(c) => vendors::docs(ctx, c),
        VaultCommand::Request(c) => super::requests::request(vault, ctx, c).await,
        VaultCommand::Posture(a) => super::posture::posture(vault, ctx, a).await,
        VaultCommand::Account(c) => super::account::account(vault, ctx, c).await,
        VaultCommand::Lineage { id } => lineage(vault, id).await,
        VaultCommand::Key(KeyCommand::Rotate { resume }) => rotate(vault, keys, resume).await,
        VaultCommand::Fsck { repair } => fsck(vault, repair).await,
    }
}

/// Where the KEK comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeySource {
    File,
    Env,
}

/// Map a vault error to the exit code it deserves. Messages name ids, never content.
pub(crate) fn fail(e: VaultError) -> anyhow::Error {
    let msg = e.to_string();
    let failure = match &e {
        VaultError::UnknownSubject { .. }
        | VaultError::UnknownScan { .. }
        | VaultError::UnknownDerivative { .. } => Failure::NotFound(msg),
        VaultError::ConsentRefused { .. }
        | VaultError::NoConsent { .. }
        | VaultError::CaptureRefused { .. }
        | VaultError::NotGranted { .. } => Failure::Denied(msg),
        VaultError::HoldExists { .. } | VaultError::NoSuchHold { .. } => Failure::Input(msg),
        VaultError::MissingBlob { .. } | VaultError::Crypto(CryptoError::DecryptionFailed { .. }) => {
            Failure::Damaged(format!("{msg}; run `facevault fsck`"))
        }
        VaultError::Crypto(c) => match key_failure(c) {
            Some(f) => f,
            None => return e.into(),
        },
        _ => return e.into(),
    };
    failure.into()
}

fn key_failure(c: &CryptoError) -> Option<Failure> {
    let msg = c.to_string();
    Some(match c {
        CryptoError::KeyUnwrapFailed { .. } | CryptoError::UnknownKekVersion { .. } => Failure::Key(format!(
            "{msg}: the key provider does not hold this vault's key (wrong {} or key file?)",
            EnvKey::VAR
        )),
        CryptoError::WrongPassphrase { .. }
        | CryptoError::BadKeyFile { .. }
        | CryptoError::KeyFileIo { .. }
        | CryptoError::EnvMissing { .. }
        | CryptoError::EnvInvalid { .. }
        | CryptoError::EmptyPassphrase
        | CryptoError::WeakKdfParams { .. } => Failure::Key(msg),
        _ => return None,
    })
}

fn crypto_fail(c: CryptoError) -> anyhow::Error {
    match key_failure(&c) {
        Some(f) => f.into(),
        None => c.into(),
    }
}

pub(crate) fn fail_store(e: facevault_vault::StoreError) -> anyhow::Error {
    fail(VaultError::Store(e))
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

async fn init(dir: &Path) -> Result<(Id, facevault_audit::SigningKey)> {
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
    let vault = Vault::open(meta, blobs, keys, SystemClock).await.map_err(fail)?;
    let key = audit::signing_key(dir, vault.id(), vault.key_provider().as_ref());
    vault.metadata_store().close().await;
    let key = key?;
    let source = if env {
        format!("KEK from ${}", EnvKey::VAR)
    } else {
        format!("KEK in {KEY_FILE}, encrypted under the passphrase (Argon2id, 64 MiB)")
    };
    eprintln!(
        "vault {} created in {} ({source}; audit signing key sealed in {})",
        vault.id(),
        dir.display(),
        audit::KEY_FILE
    );
    Ok((vault.id(), key))
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
    let vault = Vault::open(meta, blobs, keys, SystemClock).await.map_err(fail)?;
    Ok((vault, source))
}

/// Write a file readable by the owner only, atomically: a partial file never appears under
/// `path`, and a failed write leaves no partial plaintext behind.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    facevault_crypto::write_private(path, bytes)
        .map_err(|e| Failure::Output(format!("{}: {e}", path.display())).into())
}
