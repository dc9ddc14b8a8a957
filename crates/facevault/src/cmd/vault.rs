//! `facevault init|subject|scan|lineage|key|fsck`: the vault on the command line.
//!
//! A vault directory holds `vault.db` (SQLite: pseudonymous ids, wrapped keys, sealed details),
//! `blobs/` (sealed meshes and derivatives) and, unless the KEK comes from `FACEVAULT_KEK`,
//! `keys.json` (the KEKs, encrypted under a passphrase with Argon2id). The one plaintext this
//! module writes is the file `scan export` is asked for (0600, atomic); errors and output name
//! ids and paths, never a subject's details or key material (`subject list` prints ids only).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use facevault_crypto::{CryptoError, EnvKey, Id, KdfParams, KeyFile, KeyProvider, Passphrase};
use facevault_mesh::{FileFormat, Format, ReadOptions, Unit};
use facevault_policy::{AccessGrant, Action, BreakGlass, Policy, Role};
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::SqlStore;
use facevault_vault::{
    Ask, Capture, MetadataStore, Node, Problem, Purpose, ScanId, ScanStore, SubjectDetails, SubjectId,
    SubjectStore, SystemClock, Target, Timestamp, VaultError,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zeroize::Zeroizing;

use super::audit;
use super::govern::{self, ConsentCommand, HoldCommand, PurposeCommand, RestrictionArg, RetentionCommand};
use super::mesh::read_file;
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

#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Add a subject; prints its id. Name, date of birth, contact and jurisdiction are stored
    /// encrypted under the subject's own data key.
    Add {
        /// The subject's name. A command line can end up in shell history and the process
        /// list; --details-stdin keeps identity off it.
        #[arg(long, required_unless_present = "details_stdin")]
        name: Option<String>,
        /// Date of birth (YYYY-MM-DD).
        #[arg(long)]
        dob: Option<String>,
        #[arg(long)]
        contact: Option<String>,
        /// Where the subject lives, which decides the law that applies (e.g. US-IL, EU-FR).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Read the details from standard input instead, one `key: value` per line (keys: name,
        /// dob, contact, jurisdiction), so that no identity appears on the command line.
        #[arg(long, conflicts_with_all = ["name", "dob", "contact", "jurisdiction"])]
        details_stdin: bool,
    },
    /// List subjects by pseudonymous id (no identifying detail is decrypted or printed).
    List,
    /// Show a subject's details (decrypted), scans, derivatives and disclosures: a read of
    /// the subject for --purpose, decided by the policy and audited.
    Show {
        subject: SubjectId,
        #[arg(long, default_value = "treatment-planning")]
        purpose: String,
        /// Emergency access (HIPAA break-glass): the reason, which the privacy officer
        /// reviews. Do not name the patient. Valid for one hour.
        #[arg(long, value_name = "REASON")]
        break_glass: Option<String>,
    },
    /// Crypto-shred a subject: destroy its data key, details and records, then delete its
    /// blobs. Irreversible. A delete decision (a legal hold refuses it); writes a signed
    /// deletion certificate.
    Shred {
        subject: SubjectId,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// The purpose the data was held for (default: the first its consent grants).
        #[arg(long)]
        purpose: Option<String>,
        /// The request or reason, recorded as the certificate's rule (e.g. an erasure request id).
        #[arg(long, default_value = "erasure-request")]
        rule: String,
    },
    /// The subject's access and portability export: everything held about them (details,
    /// scans, derivatives with how each was produced, consents and notices, disclosures,
    /// retention, audit entries) in a tar archive encrypted to a passphrase with age
    /// ($FACEVAULT_EXPORT_PASSPHRASE, else one is generated and printed once on stderr).
    /// An export decision; a patient passes `--role patient --actor <subject id>`.
    Export {
        subject: SubjectId,
        /// Where to write the encrypted package (e.g. export.tar.age; mode 0600).
        out: PathBuf,
        #[arg(long, default_value = "treatment-planning")]
        purpose: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Import a mesh file (PLY, OBJ, STL) for a subject; prints the scan id. Needs the
    /// subject's active consent covering --purpose.
    Import {
        subject: SubjectId,
        file: PathBuf,
        /// The purpose of collection: a purpose id of the catalogue (`facevault purpose list`).
        #[arg(long)]
        purpose: String,
        /// The capturing device.
        #[arg(long, default_value = "unknown")]
        device: String,
        /// The capture date, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        captured: Option<String>,
        /// The unit of the input file (mm, cm, m, in), overriding what the file declares.
        #[arg(long)]
        unit: Option<Unit>,
        /// Read the input as this format (ply, obj, stl) instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_family)]
        input_format: Option<Format>,
    },
    /// Decrypt a scan to a file (mode 0600). The disclosure (purpose, recipient, time) is
    /// recorded before any plaintext is written.
    Export {
        scan: ScanId,
        out: PathBuf,
        /// Output format (as for `mesh convert`); default from OUT's extension, else binary PLY.
        #[arg(long)]
        format: Option<FileFormat>,
        /// Why the scan leaves the vault: a purpose of the catalogue.
        #[arg(long)]
        purpose: String,
        /// Who receives it.
        #[arg(long)]
        recipient: String,
        /// The recipient is a third party: decided as a share (opt-out and consent to share apply).
        #[arg(long)]
        share: bool,
        /// Emergency access: the reason (see `subject show --break-glass`).
        #[arg(long, value_name = "REASON")]
        break_glass: Option<String>,
    },
    /// Run an analysis on stored scans; results are stored encrypted as derivatives, with
    /// their lineage (see `facevault lineage`).
    Analyze {
        #[command(subcommand)]
        analysis: ScanAnalysis,
        /// The purpose of the analysis (decided by the policy for each scan).
        #[arg(long, global = true, default_value = "treatment-planning")]
        purpose: String,
        /// Emergency access: the reason (see `subject show --break-glass`).
        #[arg(long, global = true, value_name = "REASON")]
        break_glass: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScanAnalysis {
    /// Mid-sagittal plane and asymmetry of one scan. Stores the report (measurements) and the
    /// symmetrized surface (mesh) as derivatives of the scan.
    Symmetry { scan: ScanId },
    /// Register POST onto PRE and map the change. Stores the report (measurements) and the
    /// aligned post scan (mesh) as derivatives of both scans (one subject's).
    Compare { pre: ScanId, post: ScanId },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a new KEK current and rewrap every subject key under it (no blob is touched).
    /// With $FACEVAULT_KEK, add a higher VERSION:KEY entry first; this then rewraps.
    Rotate {
        /// Only finish an interrupted rotation.
        #[arg(long)]
        resume: bool,
    },
}

fn parse_family(s: &str) -> Result<Format, String> {
    s.parse::<FileFormat>().map(FileFormat::family)
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
    open_as(dir, |meta, blobs| (meta, blobs)).await
}

/// Opens the vault in `dir` over the stores `wrap` makes of its SQLite and blob stores (the
/// server holds them behind the ports).
pub(crate) async fn open_as<M: MetadataStore, B: facevault_vault::BlobStore>(
    dir: &Path,
    wrap: impl FnOnce(SqlStore, ObjectBlobStore) -> (M, B),
) -> Result<(facevault_vault::Vault<M, B, Box<dyn KeyProvider>, SystemClock>, KeySource)> {
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
    let (meta, blobs) = wrap(meta, blobs);
    let vault = facevault_vault::Vault::open(meta, blobs, keys, SystemClock).await.map_err(fail)?;
    Ok((vault, source))
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
fn bar(len: Option<u64>, msg: &'static str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let pb = match len {
        Some(n) => ProgressBar::with_draw_target(Some(n), target).with_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => {
            let pb = ProgressBar::with_draw_target(None, target);
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        }
    };
    pb.with_message(msg)
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM` UTC.
pub(crate) fn utc(ts: Timestamp) -> String {
    let secs = ts.0.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn today() -> String {
    let Timestamp(ms) = facevault_vault::Clock::now(&SystemClock);
    let (y, m, d) = civil(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn optional(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or("-")
}

async fn subject(vault: &Vault, ctx: &Ctx<'_>, cmd: SubjectCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        SubjectCommand::Add { name, dob, contact, jurisdiction, details_stdin } => {
            let (name, dob, contact, jurisdiction) = if details_stdin {
                details_from_stdin()?
            } else {
                (name.unwrap_or_default(), dob, contact, jurisdiction)
            };
            if name.trim().is_empty() {
                return Err(Failure::Input("--name is empty".into()).into());
            }
            if dob.as_deref().is_some_and(|d| !is_date(d)) {
                return Err(Failure::Input("--dob is not a YYYY-MM-DD date".into()).into());
            }
            let details = SubjectDetails { name, date_of_birth: dob, contact, jurisdiction };
            let id = vault.create_subject(&details).await.map_err(fail)?;
            writeln!(out, "{id}")?;
        }
        SubjectCommand::List => {
            let meta = vault.metadata_store();
            let mut subjects = meta.subjects().await.map_err(fail_store)?;
            subjects.sort_by_key(|s| (s.created_at, s.id));
            writeln!(
                out,
                "{:<32}  {:<16}  {:>5}  {:>11}",
                "SUBJECT", "CREATED (UTC)", "SCANS", "DERIVATIVES"
            )?;
            for s in subjects {
                let scans = meta.scans_of(s.id).await.map_err(fail_store)?.len();
                let derived = meta.derivatives_of(s.id).await.map_err(fail_store)?.len();
                writeln!(out, "{:<32}  {:<16}  {scans:>5}  {derived:>11}", s.id, utc(s.created_at))?;
            }
        }
        SubjectCommand::Show { subject, purpose, break_glass } => {
            let grant = ctx
                .authorize(
                    vault,
                    "subject.read",
                    Action::Read,
                    &purpose,
                    Target::Subject(subject),
                    &break_glass,
                )
                .await?;
            let s = vault.subject(&grant, subject).await.map_err(fail)?;
            let d = &s.details;
            writeln!(out, "subject       {}", s.id)?;
            writeln!(out, "created       {} UTC", utc(s.created_at))?;
            writeln!(out, "name          {}", d.name)?;
            writeln!(out, "born          {}", optional(&d.date_of_birth))?;
            writeln!(out, "contact       {}", optional(&d.contact))?;
            writeln!(out, "jurisdiction  {}", optional(&d.jurisdiction))?;
            for scan in vault.scans_of(subject).await.map_err(fail)? {
                writeln!(
                    out,
                    "scan          {}  captured {} on {}  purpose {:?}  {} vertices, {} triangles",
                    scan.id,
                    scan.capture.captured_on,
                    scan.capture.device,
                    scan.capture.purpose.0,
                    scan.vertices,
                    scan.triangles
                )?;
            }
            for der in vault.metadata_store().derivatives_of(subject).await.map_err(fail_store)? {
                writeln!(out, "derivative    {}  {} by {}", der.id, der.kind, der.producer)?;
            }
            for disc in vault.disclosures_of(subject).await.map_err(fail)? {
                writeln!(
                    out,
                    "disclosed     {}  {} UTC  {} for {} to {}",
                    disc.node,
                    utc(disc.at),
                    disc.kind,
                    disc.purpose,
                    disc.recipient
                )?;
            }
        }
        SubjectCommand::Shred { subject, yes, purpose, rule } => {
            let scans = vault.scans_of(subject).await.map_err(fail)?.len();
            let purpose = match purpose {
                Some(p) => p,
                None => govern::held_for(vault, subject).await?,
            };
            let grant = ctx
                .authorize(vault, "subject.delete", Action::Delete, &purpose, Target::Subject(subject), &None)
                .await?;
            if !yes {
                confirm_shred(subject, scans)?;
            }
            let report = vault.shred_subject(&grant, subject).await.map_err(fail)?;
            ctx.deletion(subject, &rule, "subject.shred", report.destroyed(), true);
            eprintln!(
                "subject {} shredded: data key, details, {} scan(s) and {} derivative(s) destroyed",
                report.subject, report.scans, report.derivatives
            );
            let pb = bar(Some(report.blobs_queued as u64), "purging blobs");
            let purged = vault
                .purge_blobs(|done, total| {
                    pb.set_length(total as u64);
                    pb.set_position(done as u64);
                })
                .await
                .map_err(fail)?;
            pb.finish_and_clear();
            eprintln!("{purged} blob(s) purged (undecryptable already: their key is gone)");
        }
        SubjectCommand::Export { subject, out, purpose } => {
            super::package::export(vault, ctx, subject, &out, &purpose).await?
        }
    }
    Ok(())
}

fn confirm_shred(subject: SubjectId, scans: usize) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("not shredding subject {subject} without confirmation: pass --yes");
    }
    eprint!(
        "Shred subject {subject}? Its data key, details and {scans} scan(s) are destroyed for good.\n\
         Type `shred` to confirm: "
    );
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "shred" {
        bail!("not confirmed; subject {subject} is unchanged");
    }
    Ok(())
}

async fn scan(vault: &Vault, ctx: &Ctx<'_>, cmd: ScanCommand) -> Result<()> {
    match cmd {
        ScanCommand::Import { subject, file, purpose, device, captured, unit, input_format } => {
            if ctx.policy.catalogue().get(&purpose).filter(|p| p.enabled).is_none() {
                return Err(Failure::Input(format!(
                    "--purpose {purpose:?} is not an enabled purpose of the catalogue (see `facevault purpose list`)"
                ))
                .into());
            }
            let captured_on = captured.unwrap_or_else(today);
            if !is_date(&captured_on) {
                return Err(Failure::Input("--captured is not a YYYY-MM-DD date".into()).into());
            }
            // Fail on an unknown subject before reading a large file.
            vault.scans_of(subject).await.map_err(fail)?;
            let imported = read_file(&file, &ReadOptions { format: input_format, unit })?;
            let capture = Capture { device, captured_on, purpose: Purpose(purpose.clone()) };
            let id = match vault.import_scan(subject, &imported.mesh, capture).await {
                Ok(id) => id,
                Err(e @ (VaultError::NoConsent { .. } | VaultError::CaptureRefused { .. })) => {
                    ctx.push(audit::Record {
                        action: "scan.import",
                        purpose: purpose.clone(),
                        object: format!("subject:{subject}"),
                        allowed: false,
                        reason: e.to_string(),
                    });
                    return Err(fail(e));
                }
                Err(e) => return Err(fail(e)),
            };
            ctx.push(audit::Record::change(
                "scan.import",
                &purpose,
                format!("scan:{id}"),
                format!("captured for subject:{subject}"),
            ));
            println!("{id}");
            eprintln!(
                "{} ({}, {} vertices, {} triangles, {}) imported as scan {id}",
                file.display(),
                imported.format,
                imported.mesh.vertex_count(),
                imported.mesh.triangle_count(),
                imported.mesh.source_unit()
            );
        }
        ScanCommand::Export { scan, out, format, purpose, recipient, share, break_glass } => {
            let format = match format {
                Some(f) => f,
                None => match out.extension().and_then(|e| e.to_str()) {
                    None => FileFormat::PlyBinaryLittleEndian,
                    Some(ext) => FileFormat::from_extension(ext).ok_or_else(|| {
                        Failure::Output(format!(
                            "{}: cannot tell the output format from the extension; give --format",
                            out.display()
                        ))
                    })?,
                },
            };
            if purpose.trim().is_empty() || recipient.trim().is_empty() {
                return Err(Failure::Input("--purpose and --recipient must not be empty".into()).into());
            }
            let (action, name) =
                if share { (Action::Share, "scan.share") } else { (Action::Export, "scan.export") };
            let grant = ctx
                .authorize(vault, name, action, &purpose, Target::Node(Node::Scan(scan)), &break_glass)
                .await?;
            let ply = Zeroizing::new(vault.export_scan(&grant, scan, &recipient).await.map_err(fail)?);
            let bytes = if format == FileFormat::PlyBinaryLittleEndian {
                ply
            } else {
                let mesh = facevault_mesh::read(&ply, &ReadOptions::default())
                    .map_err(|e| {
                        fail(VaultError::MalformedContent { object: scan.0, reason: e.to_string() })
                    })?
                    .mesh;
                Zeroizing::new(facevault_mesh::to_bytes(&mesh, format))
            };
            write_private(&out, &bytes)?;
            eprintln!("scan {scan} -> {} ({format}); disclosure recorded", out.display());
        }
        ScanCommand::Analyze { analysis, purpose, break_glass } => {
            analyze(vault, ctx, analysis, &purpose, &break_glass).await?
        }
    }
    Ok(())
}

async fn analyze(
    vault: &Vault,
    ctx: &Ctx<'_>,
    a: ScanAnalysis,
    purpose: &str,
    break_glass: &Option<String>,
) -> Result<()> {
    use facevault_vault::analyses::{Analysis, Report};
    let analysis = match a {
        ScanAnalysis::Symmetry { scan } => Analysis::Symmetry { scan },
        ScanAnalysis::Compare { pre, post } => Analysis::Compare { pre, post },
    };
    let mut grants = Vec::new();
    for scan in analysis.scans() {
        grants.push(
            ctx.authorize(
                vault,
                "scan.analyze",
                Action::Analyze,
                purpose,
                Target::Node(Node::Scan(scan)),
                break_glass,
            )
            .await?,
        );
    }
    let grants: Vec<&AccessGrant> = grants.iter().collect();
    let pb = bar(None, "analysing");
    let job = vault.prepare_analysis(analysis, &grants).await.map_err(fail)?;
    let outcome = job.run(&mut |_| pb.tick()).with_context(|| match analysis {
        Analysis::Symmetry { scan } => format!("symmetry analysis of scan {scan} failed"),
        Analysis::Compare { pre, post } => format!("comparison of scan {post} with scan {pre} failed"),
    })?;
    let stored = vault.store_analysis(&grants, &outcome).await.map_err(fail)?;
    pb.finish_and_clear();
    println!("measurements {}", stored.measurements);
    println!("mesh {}", stored.mesh);
    match (analysis, &outcome.report) {
        (Analysis::Symmetry { scan }, Report::Symmetry(r)) => eprintln!(
            "scan {scan}: asymmetry index {:.2} mm RMS, {:.2} mm p95; report and symmetrized surface stored",
            r.asymmetry_index_rms_mm, r.asymmetry_index_p95_mm
        ),
        (Analysis::Compare { pre, post }, _) => {
            eprintln!("scan {post} compared with scan {pre}; report and aligned post scan stored")
        }
        _ => {}
    }
    Ok(())
}

/// Write a file readable by the owner only, atomically: a partial file never appears under
/// `path`, and a failed write leaves no partial plaintext behind.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    facevault_crypto::write_private(path, bytes)
        .map_err(|e| Failure::Output(format!("{}: {e}", path.display())).into())
}

async fn lineage(vault: &Vault, id: Id) -> Result<()> {
    let node = match vault.scan(ScanId(id)).await {
        Ok(_) => Node::Scan(ScanId(id)),
        Err(VaultError::UnknownScan { .. }) => {
            let d = vault.derivative(facevault_vault::DerivativeId(id)).await.map_err(|e| match e {
                VaultError::UnknownDerivative { .. } => {
                    Failure::NotFound(format!("no scan or derivative {id}")).into()
                }
                e => fail(e),
            })?;
            Node::Derivative(d.id)
        }
        Err(e) => return Err(fail(e)),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{node}")?;
    let ancestors = vault.ancestors(node).await.map_err(fail)?;
    writeln!(out, "came from     {}", if ancestors.is_empty() { "nothing (an original scan)" } else { "" })?;
    for a in ancestors {
        writeln!(out, "  {a}")?;
    }
    let descendants = vault.descendants(node).await.map_err(fail)?;
    writeln!(out, "derived       {} derivative(s)", descendants.len())?;
    for d in descendants {
        let der = vault.derivative(d).await.map_err(fail)?;
        let parents: Vec<String> = der.parents.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "  derivative {d}  {} by {}  {}  from {}",
            der.kind,
            der.producer,
            der.parameters,
            parents.join(", ")
        )?;
    }
    Ok(())
}

async fn rotate(vault: &Vault, keys: KeySource, resume: bool) -> Result<()> {
    let pb = bar(None, "rewrapping subject keys");
    let result = if resume || keys == KeySource::Env {
        vault.finish_rotation().await
    } else {
        vault.rotate_kek().await
    };
    pb.finish_and_clear();
    let report = result.map_err(fail)?;
    eprintln!(
        "KEK {} is current; {} subject key(s) rewrapped; no blob was touched",
        report.version, report.rewrapped
    );
    if keys == KeySource::Env && !resume && report.rewrapped == 0 {
        eprintln!(
            "note: ${} holds fixed keys; to rotate, add a higher VERSION:KEY entry and run this again",
            EnvKey::VAR
        );
    }
    Ok(())
}

fn describe(p: &Problem) -> String {
    match p {
        Problem::OrphanBlob { object } => format!("orphan blob {object} (no record refers to it)"),
        Problem::MissingBlob { object } => format!("object {object} has no blob; restore it from a backup"),
        Problem::Undecryptable { object } => {
            format!("object {object} does not decrypt (damaged, truncated or swapped); restore it")
        }
        Problem::KeyUnwrapFailed { subject } => format!("the data key of subject {subject} does not unwrap"),
        Problem::RotationUnfinished { current, behind } => {
            format!("KEK rotation to version {current} unfinished ({behind} key(s) behind)")
        }
        other => format!("{other:?}"),
    }
}

async fn fsck(vault: &Vault, repair: bool) -> Result<()> {
    let pb = bar(None, "verifying every blob");
    let result = vault.fsck(repair).await;
    pb.finish_and_clear();
    let report = result.map_err(fail)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} subject(s), {} object(s) verified, {} blob(s) awaiting purge",
        report.subjects, report.objects_verified, report.pending_purge
    )?;
    for p in &report.problems {
        let tag = if p.repairable() { "repairable" } else { "problem" };
        writeln!(out, "{tag:<11} {}", describe(p))?;
    }
    if repair {
        writeln!(
            out,
            "repaired    {} orphan(s) removed, {} blob(s) purged",
            report.orphans_removed, report.purged
        )?;
    }
    let left = report.problems.iter().filter(|p| !(repair && p.repairable())).count();
    if left > 0 {
        let hint = if report.is_repairable() { "; `facevault fsck --repair` fixes them" } else { "" };
        return Err(Failure::Damaged(format!("fsck: {left} problem(s){hint}")).into());
    }
    writeln!(out, "clean")?;
    Ok(())
}

/// Name, date of birth, contact, jurisdiction.
type Details = (String, Option<String>, Option<String>, Option<String>);

/// Subject details as `key: value` lines on standard input (see `subject add --details-stdin`).
fn details_from_stdin() -> Result<Details> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::new());
    std::io::stdin().take(64 * 1024).read_to_string(&mut text)?;
    let (mut name, mut dob, mut contact, mut jurisdiction) = (String::new(), None, None, None);
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((key, value)) = line.split_once(':') else {
            return Err(
                Failure::Input(format!("standard input line {}: expected `key: value`", n + 1)).into()
            );
        };
        let value = value.trim().to_string();
        match key.trim() {
            "name" => name = value,
            "dob" => dob = Some(value),
            "contact" => contact = Some(value),
            "jurisdiction" => jurisdiction = Some(value),
            other => {
                return Err(Failure::Input(format!(
                    "standard input line {}: unknown key {other:?} (use name, dob, contact, jurisdiction)",
                    n + 1
                ))
                .into())
            }
        }
    }
    Ok((name, dob, contact, jurisdiction))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(Timestamp(0)), "1970-01-01 00:00");
        // 2000-02-29 12:34 UTC, a leap day.
        assert_eq!(utc(Timestamp(951_827_640_000)), "2000-02-29 12:34");
        assert_eq!(utc(Timestamp(-60_000)), "1969-12-31 23:59");
    }

    #[test]
    fn dates_are_checked_for_shape() {
        assert!(is_date("2025-01-31"));
        assert!(!is_date("2025-1-31"));
        assert!(!is_date("31/01/2025"));
    }
}
