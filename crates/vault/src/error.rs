//! The vault's error types: [`VaultError`] for use cases, [`StoreError`] for port adapters.

use facevault_crypto::{CryptoError, Id};

use crate::ids::{DerivativeId, Node, ScanId, SubjectId};

/// A failure inside a metadata or blob store adapter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or failed an operation (I/O, database).
    #[error("store unavailable during {op}: {message}")]
    Unavailable { op: &'static str, message: String },
    /// A write that would break an invariant (duplicate id, changed row).
    #[error("store conflict during {op}: {what}")]
    Conflict { op: &'static str, what: String },
    /// Data read back is malformed.
    #[error("store holds malformed data: {what}")]
    Corrupt { what: String },
    /// A fault injected by a test (see `fault`): the simulated process died at this step.
    #[error("injected crash at store step {step}")]
    Injected { step: usize },
}

/// What a vault operation can fail with.
///
/// # How to fix
/// - [`VaultError::Crypto`] with `DecryptionFailed { object }`: that object's blob was damaged,
///   swapped or truncated; run `facevault fsck` and restore the object from a backup.
/// - [`VaultError::Store`]: the database or blob directory failed; the operation did not
///   complete and nothing was acknowledged. Retry; run `facevault fsck` after a crash.
/// - `Unknown*`: the id does not exist, or its subject was shredded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no subject {id}")]
    UnknownSubject { id: SubjectId },
    #[error("no scan {id}")]
    UnknownScan { id: ScanId },
    #[error("no derivative {id}")]
    UnknownDerivative { id: DerivativeId },
    #[error("a derivative needs at least one parent")]
    NoParents,
    #[error("parent {parent} belongs to another subject: a derivative's parents share one subject")]
    ParentOfOtherSubject { parent: Node },
    #[error("the blob of object {object} is missing from the blob store")]
    MissingBlob { object: Id },
    #[error("object {object} decrypted but its content is malformed: {reason}")]
    MalformedContent { object: Id, reason: String },
    /// A consent lacks an element the subject's jurisdiction requires (named in `reason`).
    #[error("consent for subject {subject} refused: {reason}")]
    ConsentRefused { subject: SubjectId, reason: String },
    #[error("subject {subject} has no consent on record; record one with `facevault consent add`")]
    NoConsent { subject: SubjectId },
    /// A scan cannot be captured: no active consent covers its purpose.
    #[error("capture for subject {subject} refused: {reason}")]
    CaptureRefused { subject: SubjectId, reason: String },
    /// A function was called with a grant for another action or object.
    #[error("not granted: {needed} on {object} needs its own decision (the grant given is for {granted})")]
    NotGranted { needed: String, object: String, granted: String },
    #[error("subject {subject} already has an open legal hold {reference:?}")]
    HoldExists { subject: SubjectId, reference: String },
    #[error("subject {subject} has no open legal hold {reference:?}")]
    NoSuchHold { subject: SubjectId, reference: String },
    #[error("no request {id}")]
    UnknownRequest { id: String },
    #[error("subject {subject} has no consent {id}")]
    UnknownConsent { subject: SubjectId, id: Id },
    #[error("consent {id} is {state}, not pending: only a pending consent is confirmed")]
    ConsentNotPending { id: Id, state: String },
    #[error("the governance state of subject {subject} kept changing under this update; retry")]
    Contended { subject: SubjectId },
}
