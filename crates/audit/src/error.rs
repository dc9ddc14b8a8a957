//! The errors of this crate: [`AuditError`] for building and reading the log, [`EntryError`]
//! for entry encodings. Proofs, notes and whole-log verification have their own
//! ([`crate::ProofError`], [`crate::NoteError`], [`crate::VerifyError`]).

/// Something went wrong appending to, reading or proving from the log.
///
/// # How to fix
/// - [`AuditError::Store`]: the storage adapter failed; its message says why.
/// - [`AuditError::MissingHash`] / [`AuditError::MissingEntry`]: the store lost data it
///   acknowledged; run `verify_log` against the last checkpoint and restore from a backup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("index {index} is outside the tree of {size} entries")]
    OutOfRange { index: u64, size: u64 },
    #[error("the store has no hash for node (level {level}, index {index})")]
    MissingHash { level: u8, index: u64 },
    #[error("the store has no entry {index}")]
    MissingEntry { index: u64 },
    #[error("entry {index}: {source}")]
    BadEntry { index: u64, source: EntryError },
    #[error("the audit store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// An audit entry that cannot be built or decoded. `at` is a byte offset into the encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error("field {field}: {reason}")]
    BadField { field: &'static str, reason: &'static str },
    #[error("byte {at}: {reason}")]
    BadEncoding { at: usize, reason: &'static str },
    #[error("time {0:?} is not RFC 3339 UTC of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")]
    BadTime(String),
}
