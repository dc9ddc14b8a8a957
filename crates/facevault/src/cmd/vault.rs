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

use anyhow::Result;
use clap::Subcommand;
use facevault_app::{Jot, Record, Session};
use facevault_crypto::Id;
use facevault_policy::{Policy, Role};
use facevault_vault::{SubjectId, VaultError};

pub(crate) use crate::layout::{load_policy, vault_dir, CliApp, KeySource, Vault};

use super::audit;
use super::govern::{self, ConsentCommand, HoldCommand, PurposeCommand, RestrictionArg, RetentionCommand};
use super::keys::{fsck, rotate, KeyCommand};
use super::scans::{lineage, scan, ScanCommand};
use super::subjects::{subject, SubjectCommand};
use super::vendors::{self, DiscloseArgs, DocsCommand, VendorCommand};
use super::Failure;

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
    /// Set (or --lift) a subject's opt-out of sale/sharing or limit-use restriction. An opt-out
    /// is lifted only by the patient themself (CCPA 1798.135(c)(4)).
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

/// What a command needs besides the vault: the application over it, who runs the command,
/// and a journal for the commands that have no use case of the application yet (vendors,
/// documents, posture, accounts, key rotation, fsck), appended when the command ends.
pub(crate) struct Ctx<'a> {
    pub app: &'a CliApp,
    pub session: Session,
    /// The vault directory.
    pub dir: PathBuf,
    pub jot: Jot,
}

impl Ctx<'_> {
    pub(crate) fn vault(&self) -> &Vault {
        self.app.vault()
    }

    pub(crate) fn policy(&self) -> &Policy {
        self.app.policy()
    }
}

/// Says on stderr that a break-glass access was recorded for review.
pub(crate) fn flagged(break_glass: &Option<String>, object: &str) {
    if break_glass.as_deref().is_some_and(|r| !r.trim().is_empty()) {
        eprintln!("BREAK-GLASS access to {object} recorded and flagged for the privacy officer");
    }
}

/// The session of `who` in `role`.
fn session(who: &audit::Actor, role: Role) -> Session {
    Session::person(who.actor.clone(), role)
}

/// Runs a vault command. Commands on the application's use cases journal themselves (every
/// decision, allowed or denied, and every change, appended before they return, with the
/// certificates of what they destroyed); the others journal into the context, appended when
/// the command ends, with one entry saying what was done if they decided nothing.
pub fn run(vault: Option<PathBuf>, who: &audit::Actor, cmd: VaultCommand) -> Result<()> {
    who.check()?;
    let role: Role = who.role.parse().map_err(|_| {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        Failure::Input(format!("--role {:?} is not a role: use one of {}", who.role, roles.join(", ")))
    })?;
    let mut dir = vault_dir(vault);
    if let VaultCommand::Init { dir: Some(init_dir) } = &cmd {
        dir = init_dir.clone();
    }
    // The policy is checked before anything opens.
    load_policy(&dir)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let (app, keys) = if let VaultCommand::Init { .. } = cmd {
            let vault = crate::layout::init(&dir).await?;
            (crate::layout::app_of(&dir, vault).await?, KeySource::File)
        } else {
            crate::layout::open_app(&dir).await?
        };
        let session = match session(who, role) {
            // A patient named by their portal login: their account says which subject is theirs.
            s if s.role == Role::Patient && s.own_subject.is_none() => app.patient_session(&s.actor).await?,
            s => s,
        };
        let ctx = Ctx { app: &app, session, dir: dir.clone(), jot: Jot::new() };
        let fallback = record(&cmd, app.vault().id());
        let result = dispatch(keys, &ctx, cmd).await;
        let Ctx { jot, session, .. } = ctx;
        let appended = if jot.records().is_empty() {
            match (&result, fallback) {
                (Ok(()), Some(rec)) => {
                    jot.push(rec);
                    app.commit(&session, jot).await.map(|_| ())
                }
                _ => Ok(()),
            }
        } else {
            app.commit(&session, jot).await.map(|_| ())
        };
        crate::layout::close(&app).await;
        result.and(appended.map_err(|e| {
            anyhow::Error::from(Failure::App(e))
                .context("the command ran but its audit entries were not written")
        }))
    })
}

/// The audit record of a command that has no use case of the application and decided no
/// access: what it did, to which object. `None` for commands the application journals.
fn record(cmd: &VaultCommand, vault: Id) -> Option<Record> {
    let admin = |action, object: String| Some(Record::change(action, "administration", object, "done"));
    match cmd {
        VaultCommand::Init { .. } => admin("vault.init", format!("vault:{vault}")),
        VaultCommand::Key(KeyCommand::Rotate { .. }) => admin("key.rotate", "vault".into()),
        VaultCommand::Fsck { repair: false } => admin("vault.fsck", "vault".into()),
        VaultCommand::Fsck { repair: true } => admin("vault.repair", "vault".into()),
        _ => None,
    }
}

async fn dispatch(keys: KeySource, ctx: &Ctx<'_>, cmd: VaultCommand) -> Result<()> {
    let vault = ctx.vault();
    match cmd {
        VaultCommand::Init { .. } => Ok(()),
        VaultCommand::Subject(c) => subject(ctx, c).await,
        VaultCommand::Scan(c) => scan(ctx, c).await,
        VaultCommand::Consent(c) => govern::consent(ctx, c).await,
        VaultCommand::Restrict { subject, what, lift } => govern::restrict(ctx, subject, what, lift).await,
        VaultCommand::Hold(c) => govern::hold(ctx, c).await,
        VaultCommand::Purpose(c) => govern::purpose(ctx, c).await,
        VaultCommand::Retention(c) => govern::retention(ctx, c).await,
        VaultCommand::Vendor(c) => vendors::vendor(ctx, c).await,
        VaultCommand::Disclose(a) => vendors::disclose(ctx, a).await,
        VaultCommand::Docs(c) => vendors::docs(ctx, c).await,
        VaultCommand::Request(c) => super::requests::request(ctx, c).await,
        VaultCommand::Posture(a) => super::posture::posture(ctx, a).await,
        VaultCommand::Account(c) => super::account::account(ctx, c).await,
        VaultCommand::Lineage { id } => lineage(ctx, id).await,
        VaultCommand::Key(KeyCommand::Rotate { resume }) => rotate(vault, keys, resume).await,
        VaultCommand::Fsck { repair } => fsck(vault, repair).await,
    }
}

/// A vault error as the CLI fails with it: the application's one classification (exit code
/// from its kind). Messages name ids, never content.
pub(crate) fn fail(e: VaultError) -> anyhow::Error {
    Failure::App(facevault_app::AppError::from(e)).into()
}

pub(crate) fn fail_store(e: facevault_vault::StoreError) -> anyhow::Error {
    fail(VaultError::Store(e))
}

/// Write a file readable by the owner only, atomically: a partial file never appears under
/// `path`, and a failed write leaves no partial plaintext behind.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    facevault_crypto::write_private(path, bytes)
        .map_err(|e| Failure::Output(format!("{}: {e}", path.display())).into())
}
