//! The audit journal: every decision (allowed or denied) and every change a use case makes is
//! appended to the vault's verifiable log before the use case returns, so nothing is released
//! unrecorded.
//!
//! One writer thread owns the log (log stores are synchronous). Use cases hand it their records
//! and wait; the writer takes everything that queued while it was busy and appends it in one
//! transaction (group commit), then signs a checkpoint over the new tree and stores it. Reads of
//! the log (proofs, listings, verification, certificates) run on the same thread between
//! batches and never write: they work against the latest stored checkpoint.
//!
//! The writer is the same for the CLI (one command, one batch) and the server (many requests
//! in flight); the log store is any [`LogStore`], and reads see it as a [`LogView`], so no use
//! case names an adapter.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};

use facevault_audit::{
    issue_from_log, open_checkpoint, sign_checkpoint, verify_log, AuditEntry, AuditLog, Checkpoint,
    ConsistencyProof, Decision, Deletion, DeletionCertificate, Destroyed, Hash, InclusionProof, LogStore,
    Reason, SigningKey, Timestamp, Token, VerifyError,
};
use facevault_vault::SubjectId;
use tokio::sync::oneshot;

use crate::error::AppError;

/// One entry to append: a decision or a change, with pseudonymous ids only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub action: &'static str,
    pub purpose: String,
    pub object: String,
    pub allowed: bool,
    pub reason: String,
}

impl Record {
    /// A change that was made (allowed), with its reason.
    pub fn change(action: &'static str, purpose: &str, object: String, reason: impl Into<String>) -> Record {
        Record { action, purpose: purpose.to_owned(), object, allowed: true, reason: reason.into() }
    }

    /// A refusal.
    pub fn denied(action: &'static str, purpose: &str, object: String, reason: impl Into<String>) -> Record {
        Record { action, purpose: purpose.to_owned(), object, allowed: false, reason: reason.into() }
    }
}

/// A destruction journaled, whose deletion certificate is issued once its entry is durable.
#[derive(Clone, Debug)]
pub(crate) struct PendingCertificate {
    /// Its place in the use case's journal.
    pub(crate) at: usize,
    pub(crate) subject: SubjectId,
    pub(crate) rule: String,
    pub(crate) destroyed: Vec<Destroyed>,
    pub(crate) key_shredded: bool,
}

/// The audit records one use case makes; appended in one go when it ends, whatever the outcome.
#[derive(Debug, Default)]
pub struct Jot {
    records: Mutex<Vec<Record>>,
    deletions: Mutex<Vec<PendingCertificate>>,
}

impl Jot {
    pub fn new() -> Jot {
        Jot::default()
    }

    /// Pushes `r` and returns its place in the journal (its audit index is the journal's first
    /// index plus this).
    pub fn push(&self, r: Record) -> usize {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.push(r);
        records.len() - 1
    }

    /// Journals a change that was made.
    pub fn change(&self, action: &'static str, purpose: &str, object: String, reason: impl Into<String>) {
        self.push(Record::change(action, purpose, object, reason));
    }

    /// Journals a destruction: its entry's reason binds the rule and the list destroyed, and a
    /// deletion certificate is issued for it once the entry is durable.
    pub(crate) fn deletion(
        &self,
        action: &'static str,
        purpose: &str,
        subject: SubjectId,
        rule: &str,
        destroyed: Vec<Destroyed>,
        key_shredded: bool,
    ) {
        let reason = facevault_audit::deletion_reason(rule, &destroyed)
            .unwrap_or_else(|e| format!("rule {rule}; destroyed list not bound: {e}"));
        let at = self.push(Record::change(action, purpose, format!("subject:{subject}"), reason));
        self.deletions.lock().unwrap_or_else(PoisonError::into_inner).push(PendingCertificate {
            at,
            subject,
            rule: rule.to_owned(),
            destroyed,
            key_shredded,
        });
    }

    pub(crate) fn into_parts(self) -> (Vec<Record>, Vec<PendingCertificate>) {
        (
            self.records.into_inner().unwrap_or_else(PoisonError::into_inner),
            self.deletions.into_inner().unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The records so far (tests and the CLI's dry runs).
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

// ---------------------------------------------------------------- the signed log

/// The log with what signs it.
#[derive(Debug)]
pub struct SignedLog<L> {
    log: AuditLog<L>,
    key: SigningKey,
    /// The checkpoint origin line (`facevault.vault/<id>`).
    origin: String,
}

fn damaged(e: impl std::fmt::Display) -> AppError {
    AppError::new(crate::ErrorKind::Damaged, format!("audit log: {e}"))
}

impl<L: LogStore> SignedLog<L> {
    /// Opens the log held by `store`, signed by `key` for `origin`.
    pub fn open(store: L, key: SigningKey, origin: String) -> Result<SignedLog<L>, AppError> {
        let log = AuditLog::open(store).map_err(|e| damaged(format!("it does not open: {e}")))?;
        Ok(SignedLog { log, key, origin })
    }

    /// Signs a checkpoint over the whole log and stores it; returns the signed note. Only the
    /// writer calls this, after an append.
    fn sign(&mut self) -> Result<String, String> {
        let note =
            sign_checkpoint(&self.log.checkpoint(&self.origin), &self.key).map_err(|e| e.to_string())?;
        let size = self.log.size();
        self.log.store_mut().put_checkpoint(size, &note).map_err(|e| e.to_string())?;
        Ok(note)
    }
}

/// What a read of the log sees: the log as it is now (other processes' appends included),
/// never a way to write it.
pub trait LogView {
    /// Entries in the log.
    fn size(&self) -> u64;
    /// The decoded entry at `index`.
    fn entry(&self, index: u64) -> Result<AuditEntry, AppError>;
    /// The encoded entry at `index`.
    fn encoded(&self, index: u64) -> Result<Vec<u8>, AppError>;
    /// The latest stored checkpoint, opened and checked against this vault's key and origin:
    /// what every read is answered against. `None` for a log never signed.
    fn latest(&self) -> Result<Option<(String, Checkpoint)>, AppError>;
    /// The verifier key (name+id+key) checkpoints are checked with.
    fn verifier(&self) -> String;
    fn inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, AppError>;
    fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, AppError>;
    fn root_at(&self, size: u64) -> Result<Hash, AppError>;
    /// Every entry checked against `checkpoint` (`verify_log`).
    fn verify(&self, checkpoint: &Checkpoint) -> Result<u64, VerifyError>;
    /// The deletion certificate of entry `index` against the signed checkpoint `note`.
    fn certificate(
        &self,
        note: &str,
        index: u64,
        deletion: &Deletion,
    ) -> Result<DeletionCertificate, AppError>;
    /// The entries about a subject and its objects, for its access package.
    fn about(
        &self,
        subject: SubjectId,
        objects: &BTreeSet<String>,
    ) -> Result<Vec<serde_json::Value>, AppError>;
    /// The break-glass uses in the log, for the privacy office's review.
    fn break_glass_uses(&self) -> Result<Vec<facevault_domain::posture::BreakGlassUse>, AppError>;
}

impl<L: LogStore> LogView for SignedLog<L> {
    fn size(&self) -> u64 {
        self.log.size()
    }
    fn entry(&self, index: u64) -> Result<AuditEntry, AppError> {
        self.log.entry(index).map_err(damaged)
    }
    fn encoded(&self, index: u64) -> Result<Vec<u8>, AppError> {
        self.log
            .store()
            .entry(index)
            .map_err(damaged)?
            .ok_or_else(|| damaged(format!("entry {index} is missing")))
    }
    fn latest(&self) -> Result<Option<(String, Checkpoint)>, AppError> {
        let Some(note) = self.log.store().latest_checkpoint(self.log.size()).map_err(damaged)? else {
            return Ok(None);
        };
        let cp = open_checkpoint(&note, &self.key.verifier(), &self.origin)
            .map_err(|e| damaged(format!("the latest checkpoint is not valid: {e}")))?;
        if cp.size > self.log.size() {
            return Err(damaged(format!(
                "the latest checkpoint covers {} entries but the log holds {}",
                cp.size,
                self.log.size()
            )));
        }
        Ok(Some((note, cp)))
    }
    fn verifier(&self) -> String {
        self.key.verifier().to_string()
    }
    fn inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, AppError> {
        self.log.inclusion_proof(index, size).map_err(damaged)
    }
    fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, AppError> {
        self.log.consistency_proof(old, new).map_err(damaged)
    }
    fn root_at(&self, size: u64) -> Result<Hash, AppError> {
        self.log.root_at(size).map_err(damaged)
    }
    fn verify(&self, checkpoint: &Checkpoint) -> Result<u64, VerifyError> {
        verify_log(self.log.store(), checkpoint)
    }
    fn certificate(
        &self,
        note: &str,
        index: u64,
        deletion: &Deletion,
    ) -> Result<DeletionCertificate, AppError> {
        issue_from_log(&self.log, note, &self.key, index, deletion)
            .map_err(|e| AppError::internal(format!("deletion certificate for audit entry {index}: {e}")))
    }
    fn about(
        &self,
        subject: SubjectId,
        objects: &BTreeSet<String>,
    ) -> Result<Vec<serde_json::Value>, AppError> {
        facevault_export::audit_about(self.log.store(), subject, objects).map_err(damaged)
    }
    fn break_glass_uses(&self) -> Result<Vec<facevault_domain::posture::BreakGlassUse>, AppError> {
        facevault_vault::oversight::break_glass_uses(self.log.store()).map_err(damaged)
    }
}

// ---------------------------------------------------------------- the writer

type Reader = Box<dyn FnOnce(&dyn LogView) + Send>;

enum Job {
    Append { actor: String, role: String, records: Vec<Record>, done: oneshot::Sender<Result<u64, String>> },
    Read(Reader),
    Close(oneshot::Sender<()>),
}

/// The handle use cases append and read through; cloning it is cheap.
#[derive(Clone, Debug)]
pub struct Journal {
    jobs: mpsc::Sender<Job>,
}

fn now() -> Result<Timestamp, String> {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_micros(micros).map_err(|e| e.to_string())
}

/// The audit entries of `records`. An actor or object that is not a plain token (a path, a
/// name with spaces) is kept as its hash-safe text form rather than refused: the entry must be
/// written whatever the caller typed.
fn entries(actor: &str, role: &str, records: &[Record], time: Timestamp) -> Result<Vec<AuditEntry>, String> {
    records
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                actor: Token::new("actor", actor).unwrap_or_else(|_| Token::from_text(actor)),
                role: Token::new("role", role).map_err(|e| e.to_string())?,
                action: Token::new("action", r.action).map_err(|e| e.to_string())?,
                purpose: Token::from_text(&r.purpose),
                object: Token::new("object", &r.object).unwrap_or_else(|_| Token::from_text(&r.object)),
                decision: if r.allowed { Decision::Allowed } else { Decision::Denied },
                reason: Reason::clipped(&r.reason),
                time,
            })
        })
        .collect()
}

/// The largest batch one transaction takes.
const MAX_BATCH: usize = 10_000;

const STOPPED: &str = "the audit writer has stopped";

impl Journal {
    /// Starts the writer thread over `log`. It ends when [`Journal::close`] is called or every
    /// handle is dropped, and closes the log store.
    pub fn start<L: LogStore + Send + 'static>(log: SignedLog<L>) -> std::io::Result<Journal> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("facevault-audit".into()).spawn(move || writer(log, &queue))?;
        Ok(Journal { jobs })
    }

    /// Appends `records` as `actor` in `role`; returns the index of the first once it is durable
    /// and a checkpoint over it is stored.
    pub async fn append(&self, actor: &str, role: &str, records: Vec<Record>) -> Result<u64, AppError> {
        if records.is_empty() {
            return Ok(0);
        }
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Append { actor: actor.into(), role: role.into(), records, done })
            .map_err(|_| AppError::internal(STOPPED))?;
        wait.await
            .map_err(|_| AppError::internal(STOPPED))?
            .map_err(|e| AppError::internal(format!("audit append: {e}")))
    }

    /// Runs `f` on the log between batches and returns what it returns.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn LogView) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, wait) = oneshot::channel();
        let job: Reader = Box::new(move |log| {
            let _ = done.send(f(log));
        });
        self.jobs.send(Job::Read(job)).map_err(|_| AppError::internal(STOPPED))?;
        wait.await.map_err(|_| AppError::internal(STOPPED))
    }

    /// Finishes what is queued, closes the log store and stops the writer.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

fn writer<L: LogStore>(mut log: SignedLog<L>, queue: &mpsc::Receiver<Job>) {
    let mut closed = None;
    while let Ok(first) = queue.recv() {
        let mut appends = Vec::new();
        let mut reads = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Append { actor, role, records, done } => appends.push((actor, role, records, done)),
                Job::Read(r) => reads.push(r),
                Job::Close(done) => closed = Some(done),
            }
            if appends.len() < MAX_BATCH && closed.is_none() {
                next = queue.try_recv().ok();
            }
        }
        if !appends.is_empty() {
            commit(&mut log, appends);
        }
        if !reads.is_empty() {
            // Other processes (CLI commands, other servers) append to the same log: read it as
            // it is now. On failure the reads see the tree last seen (a prefix of the log).
            if let Err(e) = log.log.refresh() {
                eprintln!("facevault: audit log refresh: {e}");
            }
        }
        for r in reads {
            r(&log);
        }
        if closed.is_some() {
            break;
        }
    }
    log.log.into_store().close();
    if let Some(done) = closed {
        let _ = done.send(());
    }
}

type Pending = (String, String, Vec<Record>, oneshot::Sender<Result<u64, String>>);

fn commit<L: LogStore>(log: &mut SignedLog<L>, appends: Vec<Pending>) {
    let time = match now() {
        Ok(t) => t,
        Err(e) => {
            for (.., done) in appends {
                let _ = done.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut batch = Vec::new();
    let mut waiting = Vec::new();
    for (actor, role, records, done) in appends {
        match entries(&actor, &role, &records, time) {
            Ok(mut e) => {
                waiting.push((batch.len() as u64, done));
                batch.append(&mut e);
            }
            Err(e) => {
                let _ = done.send(Err(e));
            }
        }
    }
    let result = log
        .log
        .append_batch(&batch)
        .map_err(|e| e.to_string())
        .and_then(|range| log.sign().map(|_| range.start));
    for (offset, done) in waiting {
        let _ = done.send(result.clone().map(|start| start + offset));
    }
}
