//! FaceVault's verifiable audit log: every access decision and change, appended to an RFC 9162
//! (RFC 6962) Merkle tree and published as C2SP signed checkpoints, so anyone holding the
//! public key can check inclusion and append-only growth. Pure: no I/O, no SQL, no HTTP; the
//! log lives behind the [`LogStore`] port ([`MemoryStore`] here, SQL in the vault's adapters).
//!
//! For most cases:
//! - build [`AuditEntry`] values (pseudonymous ids only) and [`AuditLog::append`] them;
//! - sign [`AuditLog::checkpoint`] with [`sign_checkpoint`] and a [`SigningKey`];
//! - hand out [`AuditLog::inclusion_proof`] and [`AuditLog::consistency_proof`]; anyone checks
//!   them with [`InclusionProof::verify`] and [`ConsistencyProof::verify`];
//! - [`verify_log`] checks the whole log against an [`open_checkpoint`]ed checkpoint and names
//!   the first bad entry;
//! - after a deletion, [`issue_certificate`] a [`DeletionCertificate`]; anyone checks it
//!   offline with [`verify_certificate`].
//!
//! Formats for outside verifiers: `docs/audit-log.md`.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod certificate;
mod entry;
mod error;
mod hash;
mod log;
mod note;
mod proof;
mod store;
pub mod tree;
mod verify;

pub use certificate::{
    deletion_reason, issue as issue_certificate, issue_from_log, verify as verify_certificate,
    CertificateError, CertificateProof, Deletion, DeletionCertificate, Destroyed, VerifiedDeletion,
    CERTIFICATE_FORMAT, MAX_DESTROYED, MAX_ID, MAX_RULE,
};
pub use entry::{
    AuditEntry, Decision, EntryView, Reason, Timestamp, Token, ENCODING_VERSION, MAX_REASON, MAX_TOKEN,
};
pub use error::{AuditError, EntryError};
pub use hash::{empty_root, leaf_hash, node_hash, Hash};
pub use log::AuditLog;
pub use note::{
    key_id, open_checkpoint, open_note, sign_checkpoint, sign_note, Checkpoint, NoteError, SigningKey,
    VerifierKey,
};
pub use proof::{
    root_from_inclusion, verify_consistency, verify_inclusion, ConsistencyProof, InclusionProof, ProofError,
};
pub use store::{AppendBatch, LogStore, MemoryStore, MemoryStoreError};
pub use tree::{NodeId, NodeSource};
pub use verify::{entries_match, verify_log, VerifyError};
