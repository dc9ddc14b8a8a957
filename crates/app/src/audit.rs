//! The audit log read back: listings for the privacy office's review, inclusion and
//! consistency proofs, verification, and the latest checkpoint. Reads never write: each is
//! answered against the latest stored checkpoint (the journal signs one after every batch), and
//! each read is itself journaled.

use facevault_audit::{leaf_hash, AuditEntry, Checkpoint, Decision, VerifyError};
use facevault_policy::gates;
use facevault_vault::{BlobStore, MetadataStore};

use crate::error::{AppError, ErrorKind};
use crate::journal::{Jot, LogView};
use crate::session::Session;
use crate::App;

/// Which entries a listing keeps.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    /// Start at this index.
    pub from: u64,
    /// At most this many.
    pub limit: usize,
    /// Only entries about this object (`subject:<id>`, `scan:<id>`).
    pub object: Option<String>,
    /// Only denied decisions.
    pub denied: bool,
    /// Only break-glass accesses (allowed or refused).
    pub flagged: bool,
}

impl EntryFilter {
    fn keeps(&self, e: &AuditEntry) -> bool {
        self.object.as_deref().is_none_or(|o| e.object.as_str() == o)
            && (!self.denied || e.decision == Decision::Denied)
            && (!self.flagged || facevault_vault::oversight::is_break_glass(e.reason.as_str()))
    }
}

/// The latest signed checkpoint.
#[derive(Clone, Debug)]
pub struct CheckpointNote {
    /// The C2SP signed note.
    pub note: String,
    pub checkpoint: Checkpoint,
    /// The verifier key (name+id+key) to check it with.
    pub verifier: String,
}

/// An inclusion proof against the latest checkpoint (RFC 9162), with the encoded entry.
#[derive(Clone, Debug)]
pub struct EntryProof {
    pub index: u64,
    pub size: u64,
    pub path: Vec<String>,
    pub entry: Vec<u8>,
    pub leaf_hash: String,
    pub root: String,
    pub checkpoint: String,
}

/// A consistency proof from an older tree to the latest checkpoint.
#[derive(Clone, Debug)]
pub struct Consistency {
    pub old_size: u64,
    pub new_size: u64,
    pub path: Vec<String>,
    pub old_root: String,
    pub new_root: String,
    pub checkpoint: String,
}

/// What verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verified {
    /// The log has no entries and no checkpoint yet.
    Empty,
    /// Every entry matches the latest checkpoint.
    Ok { entries: u64, root: String },
    /// The log differs from the checkpoint; `problem` names the first bad entry.
    Damaged { entries: u64, root: String, problem: String },
}

fn damaged(e: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorKind::Damaged, format!("audit log: {e}"))
}

/// The latest checkpoint, or an error saying the log was never signed.
fn latest_of(l: &dyn LogView) -> Result<(String, Checkpoint), AppError> {
    l.latest()?.ok_or_else(|| damaged(format!("{} entries but no signed checkpoint", l.size())))
}

/// How long verification waits for a checkpoint covering the entries the log held when it
/// began: another process may have committed entries and not yet stored their checkpoint.
const CHECKPOINT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// The privacy office reads the log; the read is journaled as `action`.
    fn audit_gate(&self, s: &Session, jot: &Jot, action: &'static str) -> Result<(), AppError> {
        self.gate(s, jot, gates::COMPLIANCE, action, "administration", "audit-log".into(), None)
    }

    /// Entries kept by `filter`, with their indices.
    pub async fn audit_entries(
        &self,
        s: &Session,
        filter: EntryFilter,
    ) -> Result<Vec<(u64, AuditEntry)>, AppError> {
        journaled!(self, s, |jot| {
            self.audit_gate(s, &jot, "audit.list")?;
            let f = filter.clone();
            let rows = self
                .journal
                .read(move |l| -> Result<Vec<(u64, AuditEntry)>, AppError> {
                    let mut out = Vec::new();
                    let mut i = f.from;
                    while i < l.size() && out.len() < f.limit {
                        let e = l.entry(i)?;
                        if f.keeps(&e) {
                            out.push((i, e));
                        }
                        i += 1;
                    }
                    Ok(out)
                })
                .await??;
            jot.change(
                "audit.list",
                "administration",
                "audit-log".into(),
                format!("{} entries listed", rows.len()),
            );
            Ok(rows)
        })
    }

    /// The latest signed checkpoint.
    pub async fn audit_checkpoint(&self, s: &Session) -> Result<CheckpointNote, AppError> {
        journaled!(self, s, |jot| {
            self.audit_gate(s, &jot, "audit.checkpoint")?;
            let cp = self
                .journal
                .read(|l| -> Result<CheckpointNote, AppError> {
                    let (note, checkpoint) = latest_of(l)?;
                    Ok(CheckpointNote { note, checkpoint, verifier: l.verifier() })
                })
                .await??;
            jot.change(
                "audit.checkpoint",
                "administration",
                "audit-log".into(),
                format!("checkpoint of {}", cp.checkpoint.size),
            );
            Ok(cp)
        })
    }

    /// The inclusion proof of entry `index` against the latest checkpoint.
    pub async fn audit_proof(&self, s: &Session, index: u64) -> Result<EntryProof, AppError> {
        journaled!(self, s, |jot| {
            self.audit_gate(s, &jot, "audit.prove")?;
            let proof = self
                .journal
                .read(move |l| -> Result<EntryProof, AppError> {
                    let (note, cp) = latest_of(l)?;
                    if index >= cp.size {
                        return Err(AppError::not_found(format!(
                            "audit entry {index}: the latest checkpoint covers {}",
                            cp.size
                        )));
                    }
                    let entry = l.encoded(index)?;
                    let proof = l.inclusion(index, cp.size)?;
                    Ok(EntryProof {
                        index,
                        size: cp.size,
                        path: proof.path.iter().map(ToString::to_string).collect(),
                        leaf_hash: leaf_hash(&entry).to_string(),
                        entry,
                        root: cp.root.to_string(),
                        checkpoint: note,
                    })
                })
                .await??;
            jot.change(
                "audit.prove",
                "administration",
                "audit-log".into(),
                format!("inclusion of entry {index}"),
            );
            Ok(proof)
        })
    }

    /// The consistency proof from the tree of `old` entries to the latest checkpoint.
    pub async fn audit_consistency(&self, s: &Session, old: u64) -> Result<Consistency, AppError> {
        journaled!(self, s, |jot| {
            self.audit_gate(s, &jot, "audit.consistency")?;
            let proof = self
                .journal
                .read(move |l| -> Result<Consistency, AppError> {
                    let (note, cp) = latest_of(l)?;
                    if old > cp.size {
                        return Err(AppError::not_found(format!(
                            "audit size {old}: the latest checkpoint covers {}",
                            cp.size
                        )));
                    }
                    let proof = l.consistency(old, cp.size)?;
                    Ok(Consistency {
                        old_size: old,
                        new_size: cp.size,
                        path: proof.path.iter().map(ToString::to_string).collect(),
                        old_root: l.root_at(old)?.to_string(),
                        new_root: cp.root.to_string(),
                        checkpoint: note,
                    })
                })
                .await??;
            jot.change(
                "audit.consistency",
                "administration",
                "audit-log".into(),
                format!("consistency from {old}"),
            );
            Ok(proof)
        })
    }

    /// Checks every entry against the latest checkpoint and names the first that differs.
    pub async fn audit_verify(&self, s: &Session) -> Result<Verified, AppError> {
        journaled!(self, s, |jot| {
            self.audit_gate(s, &jot, "audit.verify")?;
            let v = self.journal.read(verify).await??;
            let said = match &v {
                Verified::Empty => "empty".to_owned(),
                Verified::Ok { entries, .. } => format!("{entries} entries match"),
                Verified::Damaged { problem, .. } => format!("damaged: {problem}"),
            };
            jot.change("audit.verify", "administration", "audit-log".into(), said);
            Ok(v)
        })
    }
}

/// Verifies the log against the latest checkpoint. Other processes may be appending: a writer
/// commits its entries, then stores its checkpoint; so this waits briefly for a checkpoint that
/// covers what the log held when it began, and takes entries appended after that (past a
/// checkpoint that matches up to its size) as in flight, not as damage.
fn verify(l: &dyn LogView) -> Result<Verified, AppError> {
    let began_with = l.size();
    let waiting = std::time::Instant::now();
    let cp = loop {
        let Some((_, cp)) = l.latest()? else {
            if began_with == 0 {
                return Ok(Verified::Empty);
            }
            return Err(damaged(format!("{began_with} entries but no signed checkpoint")));
        };
        if cp.size >= began_with || waiting.elapsed() > CHECKPOINT_WAIT {
            break cp;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let root = cp.root.to_string();
    Ok(match l.verify(&cp) {
        Ok(entries) => Verified::Ok { entries, root },
        Err(VerifyError::Unsigned { index }) if index >= began_with => Verified::Ok { entries: index, root },
        Err(VerifyError::Audit(e)) => return Err(damaged(e)),
        Err(e) => Verified::Damaged { entries: cp.size, root, problem: e.to_string() },
    })
}
