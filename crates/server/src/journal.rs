//! The audit journal of the server: every decision (allowed or denied) and every change a
//! request makes is appended to the vault's verifiable log before the response leaves.
//!
//! One writer thread owns the log (the SQL log store is synchronous). Requests hand it their
//! records and wait; the writer takes everything that queued while it was busy and appends it
//! in one transaction (group commit), then signs a checkpoint over the new tree. Reads of the
//! log (proofs, listings, verification) run on the same thread, between batches.

use std::sync::mpsc;

use facevault_audit::{
    sign_checkpoint, AuditEntry, AuditLog, Decision, Reason, SigningKey, Timestamp, Token,
};
use facevault_store_sql::SqlLogStore;
use tokio::sync::oneshot;

/// One entry to append: a decision or a change, with pseudonymous ids only.
#[derive(Clone, Debug)]
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
}

/// The log with what signs it.
#[derive(Debug)]
pub struct SignedLog {
    pub log: AuditLog<SqlLogStore>,
    pub key: SigningKey,
    /// The checkpoint origin line (`facevault.vault/<id>`).
    pub origin: String,
}

impl SignedLog {
    /// Signs a checkpoint over the whole log and stores it; returns the signed note.
    pub fn checkpoint(&self) -> Result<String, String> {
        let note =
            sign_checkpoint(&self.log.checkpoint(&self.origin), &self.key).map_err(|e| e.to_string())?;
        self.log.store().put_checkpoint(self.log.size(), &note).map_err(|e| e.to_string())?;
        Ok(note)
    }
}

type Reader = Box<dyn FnOnce(&SignedLog) + Send>;

enum Job {
    Append { actor: String, role: String, records: Vec<Record>, done: oneshot::Sender<Result<u64, String>> },
    Read(Reader),
}

/// The handle requests use; cloning it is cheap.
#[derive(Clone, Debug)]
pub struct Journal {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Append { .. } => "Append",
            Job::Read(_) => "Read",
        })
    }
}

fn now() -> Result<Timestamp, String> {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_micros(micros).map_err(|e| e.to_string())
}

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

impl Journal {
    /// Starts the writer thread over `log`. It ends when every handle is dropped, and closes
    /// the log store.
    pub fn start(log: SignedLog) -> std::io::Result<Journal> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("facevault-audit".into()).spawn(move || writer(log, &queue))?;
        Ok(Journal { jobs })
    }

    /// Appends `records` as `actor` in `role`; returns the index of the first once it is durable.
    pub async fn append(&self, actor: &str, role: &str, records: Vec<Record>) -> Result<u64, String> {
        if records.is_empty() {
            return Ok(0);
        }
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Append { actor: actor.into(), role: role.into(), records, done })
            .map_err(|_| "the audit writer has stopped".to_owned())?;
        wait.await.map_err(|_| "the audit writer has stopped".to_owned())?
    }

    /// Runs `f` on the log between batches and returns what it returns.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SignedLog) -> T + Send + 'static,
    ) -> Result<T, String> {
        let (done, wait) = oneshot::channel();
        let job: Reader = Box::new(move |log| {
            let _ = done.send(f(log));
        });
        self.jobs.send(Job::Read(job)).map_err(|_| "the audit writer has stopped".to_owned())?;
        wait.await.map_err(|_| "the audit writer has stopped".to_owned())
    }
}

fn writer(mut log: SignedLog, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut appends = Vec::new();
        let mut reads = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Append { actor, role, records, done } => appends.push((actor, role, records, done)),
                Job::Read(r) => reads.push(r),
            }
            if appends.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if !appends.is_empty() {
            commit(&mut log, appends);
        }
        if !reads.is_empty() {
            // CLI commands append to the same log: read it as it is now. On failure the reads
            // answer for the tree last seen (a prefix of the log); the next append reports it.
            if let Err(e) = log.log.refresh() {
                eprintln!("facevault-server: audit log refresh: {e}");
            }
        }
        for r in reads {
            r(&log);
        }
    }
    log.log.into_store().close();
}

type Pending = (String, String, Vec<Record>, oneshot::Sender<Result<u64, String>>);

fn commit(log: &mut SignedLog, appends: Vec<Pending>) {
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
        .and_then(|range| log.checkpoint().map(|_| range.start));
    for (offset, done) in waiting {
        let _ = done.send(result.clone().map(|start| start + offset));
    }
}
