//! FaceVault's use cases, once. The CLI and the HTTP server both drive an [`App`]: they parse
//! their input into a [`Session`] and arguments, call one use case, and render what it returns
//! (or its [`AppError`]: an exit code there, an HTTP status here). A rule written in a front
//! end would drift; rules live here.
//!
//! For most cases: open the vault (the binary does: stores, key provider, policy, the signed
//! audit log), [`Journal::start`] the audit writer, [`App::new`], then call the use cases.
//!
//! Every use case that touches a subject's data asks the policy for a decision on a purpose
//! ([`App::decide`]); what the policy does not decide (listings, governance changes) is a role
//! gate with one ownership rule ([`App::gate`]). Both journal what they decided, allowed or
//! denied, and every change is journaled too; the journal is appended to the audit log (group
//! commit, a signed checkpoint per batch) before the use case returns, and a destruction gets
//! its deletion certificate from its durable entry.
//!
//! This crate knows nothing of HTTP, the terminal or SQL: stores are the vault's ports, the log
//! any `LogStore`, and the clinic's files a [`ClinicFiles`] port.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The skeleton of a use case, written once: a journal for it, its work (which journals its
/// decisions and changes), and the journal appended whatever the outcome, before it returns.
macro_rules! journaled {
    ($app:expr, $session:expr, |$jot:ident| $work:block) => {{
        let $jot = $crate::journal::Jot::new();
        let outcome = async $work.await;
        $app.audited($session, $jot, outcome).await
    }};
}

mod access;
pub mod accounts;
mod analyses;
mod audit;
mod consents;
mod destruction;
mod error;
mod journal;
mod office;
mod package;
mod requests;
mod scans;
mod session;
mod subjects;
pub mod time;

use facevault_crypto::KeyProvider;
use facevault_policy::Policy;
use facevault_vault::{BlobStore, MetadataStore, SystemClock, Vault};

pub use access::Known;
pub use analyses::Analysed;
pub use audit::{CheckpointNote, Consistency, EntryFilter, EntryProof, Verified};
pub use consents::{
    parse_consent_id, parse_form_sha256, parse_restriction, reference_sha256, restriction_name,
    ConsentRecorded, PlacedHold,
};
pub use destruction::{Certified, Erasure, Retained, RetentionRun};
pub use error::{AppError, ErrorKind};
pub use facevault_export::Seal;
pub use journal::{Jot, Journal, LogView, Record, SignedLog};
pub use office::{Disclosed, Document, CLINIC_FILE, POSTURE_FILE, VENDORS_FILE};
pub use requests::{
    calendar, Completed, CompletionInput, CorrectedDetails, Move, NewRequest, Outcome, RequestFile,
    RequestFilter,
};
pub use scans::{DerivativeFile, ImportScan, Lineage, ScanExport};
pub use session::{Session, Via};
pub use subjects::{NewSubject, SubjectFile, SubjectSummary};

/// How long a break-glass access lasts.
pub const BREAK_GLASS_MINUTES: i64 = 60;
/// The default purpose of a clinical read.
pub const CLINICAL: &str = "treatment-planning";

/// The vault an application runs on: the binary's stores and key provider.
pub type AppVault<M, B> = Vault<M, B, Box<dyn KeyProvider>, SystemClock>;

/// The clinic's own files beside the vault, as a port: configuration texts in, certificates out.
/// The binary implements it over the vault directory.
pub trait ClinicFiles: Send + Sync {
    /// A configuration text (`vendors.toml`, `clinic.toml`, `posture.toml`), `None` if absent.
    fn config(&self, name: &str) -> Result<Option<String>, AppError>;
    /// Replaces a configuration text (owner-only, atomically).
    fn write_config(&self, name: &str, text: &str) -> Result<(), AppError>;
    /// Keeps a signed deletion certificate under `name`; returns where, for people to find it.
    fn keep_certificate(&self, name: &str, json: &[u8]) -> Result<String, AppError>;
}

/// Where CPU-heavy work (an analysis, sealing a package) runs: the server hands it to a
/// blocking thread so its request threads stay free; the CLI runs it in place.
pub trait Offload: Send + Sync {
    fn run(&self, job: Box<dyn FnOnce() + Send>);
}

/// Runs each job in place, on the caller's thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct InPlace;

impl Offload for InPlace {
    fn run(&self, job: Box<dyn FnOnce() + Send>) {
        job();
    }
}

/// The application: the vault, the clinic's policy, the audit journal and the clinic's files.
pub struct App<M, B> {
    vault: AppVault<M, B>,
    policy: Policy,
    journal: Journal,
    files: Box<dyn ClinicFiles>,
    offload: Box<dyn Offload>,
}

impl<M, B> std::fmt::Debug for App<M, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    pub fn new(
        vault: AppVault<M, B>,
        policy: Policy,
        journal: Journal,
        files: Box<dyn ClinicFiles>,
    ) -> App<M, B> {
        App { vault, policy, journal, files, offload: Box::new(InPlace) }
    }

    /// Runs CPU-heavy work through `offload` instead of in place.
    pub fn with_offload(mut self, offload: Box<dyn Offload>) -> App<M, B> {
        self.offload = offload;
        self
    }

    /// Runs `f` through the offload and waits for it.
    pub(crate) async fn offloaded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.offload.run(Box::new(move || {
            let _ = done.send(f());
        }));
        wait.await.map_err(|_| AppError::internal("the worker running the job stopped"))
    }

    pub fn vault(&self) -> &AppVault<M, B> {
        &self.vault
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn files(&self) -> &dyn ClinicFiles {
        self.files.as_ref()
    }

    /// Appends what a use case journaled, whatever its outcome, then returns the outcome.
    pub async fn audited<T>(&self, s: &Session, jot: Jot, r: Result<T, AppError>) -> Result<T, AppError> {
        self.commit(s, jot).await?;
        r
    }

    /// Appends what a use case journaled; returns the audit index of its first record.
    pub async fn commit(&self, s: &Session, jot: Jot) -> Result<u64, AppError> {
        let (records, _) = jot.into_parts();
        self.journal.append(&s.actor, s.role_name(), records).await
    }
}
