//! Deletion certificates: a signed, self-contained document saying that a subject's data was
//! destroyed (which objects, when, under which rule or request, which data key was shredded),
//! with the audit entry that recorded the deletion, its inclusion proof and the signed
//! checkpoint that proof leads to. Anyone holding the vault's verifier key checks one offline
//! with [`verify`]; the vault makes them with [`issue`], which refuses to sign a certificate
//! that would not verify.
//!
//! The JSON form, the signed byte encoding and the verification steps are in
//! `docs/audit-log.md` ("Deletion certificates"). In short, the signature is Ed25519 by the
//! log's signing key over a length-prefixed encoding of every other field; that encoding
//! starts with a zero byte, so it can never be the text of a signed note (checkpoint).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::entry::{AuditEntry, Decision, Timestamp, Token, MAX_REASON};
use crate::error::EntryError;
use crate::hash::{leaf_hash, Hash};
use crate::log::AuditLog;
use crate::note::{open_note, Checkpoint, NoteError, SigningKey, VerifierKey};
use crate::proof::{verify_inclusion, InclusionProof, ProofError};
use crate::store::LogStore;

/// The certificate format this build writes and reads.
pub const CERTIFICATE_FORMAT: u32 = 1;
/// Longest rule name or request id, in bytes.
pub const MAX_RULE: usize = 256;
/// Longest destroyed object id or kind, and longest key id, in bytes.
pub const MAX_ID: usize = 256;
/// Most objects one certificate may list.
pub const MAX_DESTROYED: usize = 100_000;

/// The first field of the signed encoding (domain separation).
const SIGNED_LABEL: &[u8] = b"facevault deletion certificate v1";
/// The first field of the destroyed-list digest's input.
const DESTROYED_LABEL: &[u8] = b"facevault destroyed objects v1";

/// One destroyed object: its id and kind (`scan`, `derivative`, `subject-details`,
/// `data-key`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destroyed {
    pub id: String,
    pub kind: String,
}

/// What was deleted, as the vault knows it when it issues a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// The subject's pseudonym (the audit entry's object is `subject:<subject>`).
    pub subject: String,
    pub destroyed: Vec<Destroyed>,
    /// The retention rule's name or the deletion request's id.
    pub rule: String,
    /// The id of the shredded data key, if a key was shredded (`subject-key:<subject>`). It
    /// must also be in `destroyed`, with kind `data-key`.
    pub key_id: Option<String>,
}

/// The inclusion proof as certificates carry it: the tree size and the path (base64 hashes,
/// leaf side first), as `facevault audit prove` prints them. The index is the certificate's
/// `entry_index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateProof {
    pub size: u64,
    pub path: Vec<Hash>,
}

/// A deletion certificate, exactly as it is stored and exchanged (JSON). Unknown fields are
/// refused: nothing unsigned can ride along.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionCertificate {
    /// [`CERTIFICATE_FORMAT`].
    pub format: u32,
    /// The log's origin line (`facevault.vault/<vault id>`).
    pub origin: String,
    /// The subject's pseudonym.
    pub subject: String,
    pub destroyed: Vec<Destroyed>,
    /// When, as the audit entry's time: RFC 3339 UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub destroyed_at: String,
    /// The retention rule's name or the deletion request's id.
    pub rule: String,
    /// The shredded data key's id, or `null`; if set, also listed in `destroyed` as a
    /// `data-key`.
    pub key_id: Option<String>,
    /// The deletion's audit entry: its index in the log...
    pub entry_index: u64,
    /// ...and its canonical encoding, base64.
    pub entry: String,
    /// Inclusion proof of the entry in the tree of `checkpoint`.
    pub inclusion: CertificateProof,
    /// The signed checkpoint (C2SP signed note text).
    pub checkpoint: String,
    /// The signer's verifier key (vkey form), for reference: pin the vault's key to trust it.
    pub verifier: String,
    /// base64 of the 64-byte Ed25519 signature over [`DeletionCertificate::signed_message`].
    pub signature: String,
}

/// A certificate that verified, with what verification established.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedDeletion {
    /// The checkpoint the entry is proven against.
    pub checkpoint: Checkpoint,
    /// The decoded deletion entry.
    pub entry: AuditEntry,
    /// The key that signed the certificate and the checkpoint.
    pub verifier: VerifierKey,
    /// Whether that key was the caller's pinned key. If not, the certificate only proves that
    /// whoever holds `verifier` says so: compare the key with the vault's published one.
    pub key_pinned: bool,
}

/// Why a certificate could not be issued or did not verify; each variant names the check.
///
/// # How to fix
/// - [`CertificateError::Field`]: a field is malformed (the message names it); a certificate
///   cannot hold it.
/// - [`CertificateError::Signature`], [`CertificateError::Checkpoint`],
///   [`CertificateError::Inclusion`] and the `Entry*` variants: the certificate was altered
///   after signing or was not issued by the vault that logged the deletion; do not rely on it.
/// - [`CertificateError::UntrustedKey`]: the certificate is signed by another key than the
///   one you pinned: another vault's, or a forger's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    #[error("unsupported certificate format {found} (this build reads format {CERTIFICATE_FORMAT})")]
    Format { found: u32 },
    #[error("field {field}: {reason}")]
    Field { field: &'static str, reason: &'static str },
    #[error("verifier key: {0}")]
    VerifierKey(NoteError),
    #[error("the certificate signature does not verify under its verifier key")]
    Signature,
    #[error("the certificate is signed by key {found}, not by the pinned key {pinned}")]
    UntrustedKey { found: String, pinned: String },
    #[error("checkpoint: {0}")]
    Checkpoint(NoteError),
    #[error("checkpoint origin {checkpoint:?} is not the certificate's origin {certificate:?}")]
    CheckpointOrigin { certificate: String, checkpoint: String },
    #[error("the inclusion proof is for a tree of {proof} entries, the checkpoint for {checkpoint}")]
    ProofSize { proof: u64, checkpoint: u64 },
    #[error("inclusion proof of entry {index} against the checkpoint root: {source}")]
    Inclusion { index: u64, source: ProofError },
    #[error("key_id {key_id:?} is not in the destroyed list as kind \"data-key\"")]
    KeyNotDestroyed { key_id: String },
    #[error("entry {index} does not decode: {source}")]
    Entry { index: u64, source: EntryError },
    #[error("entry {index} records a denied decision, not a deletion")]
    EntryDecision { index: u64 },
    #[error("entry {index} is about object {found:?}, not {expected:?}")]
    EntryObject { index: u64, expected: String, found: String },
    #[error(
        "entry {index}'s reason {found:?} is not {expected:?}, the reason for this rule and destroyed list"
    )]
    EntryReason { index: u64, expected: String, found: String },
    #[error("entry {index} was written at {entry}, not at destroyed_at {certificate}")]
    EntryTime { index: u64, certificate: String, entry: String },
    #[error("audit entry {index}: {reason}")]
    Log { index: u64, reason: String },
}

/// The reason text the vault writes into a deletion's audit entry:
/// `rule <rule>; destroyed sha256:<hex>`, the hex being SHA-256 of the destroyed list's
/// canonical encoding (see `docs/audit-log.md`), so any list fits [`MAX_REASON`].
pub fn deletion_reason(rule: &str, destroyed: &[Destroyed]) -> Result<String, CertificateError> {
    check_text("rule", rule, MAX_RULE)?;
    check_destroyed(destroyed)?;
    let reason = format!("rule {rule}; destroyed sha256:{}", destroyed_digest(destroyed).to_hex());
    debug_assert!(reason.len() <= MAX_REASON);
    Ok(reason)
}

/// SHA-256 over `field(DESTROYED_LABEL) || u32 count || (field(id) || field(kind))*`.
fn destroyed_digest(destroyed: &[Destroyed]) -> Hash {
    let mut b = Vec::new();
    field(&mut b, DESTROYED_LABEL);
    count(&mut b, destroyed.len());
    for d in destroyed {
        field(&mut b, d.id.as_bytes());
        field(&mut b, d.kind.as_bytes());
    }
    Hash(Sha256::digest(&b).into())
}

/// `u32 big-endian length || bytes`; every field is bounded far below 4 GiB by its check.
fn field(out: &mut Vec<u8>, b: &[u8]) {
    count(out, b.len());
    out.extend_from_slice(b);
}

fn count(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn check_text(field: &'static str, s: &str, max: usize) -> Result<(), CertificateError> {
    if s.is_empty() || s.len() > max {
        return Err(CertificateError::Field { field, reason: "must be 1 to 256 bytes" });
    }
    if s.chars().any(char::is_control) {
        return Err(CertificateError::Field { field, reason: "contains a control character" });
    }
    Ok(())
}

fn check_destroyed(destroyed: &[Destroyed]) -> Result<(), CertificateError> {
    if destroyed.is_empty() {
        return Err(CertificateError::Field { field: "destroyed", reason: "lists nothing" });
    }
    if destroyed.len() > MAX_DESTROYED {
        return Err(CertificateError::Field { field: "destroyed", reason: "lists more than 100000 objects" });
    }
    for d in destroyed {
        check_text("destroyed.id", &d.id, MAX_ID)?;
        check_text("destroyed.kind", &d.kind, MAX_ID)?;
    }
    Ok(())
}

/// The shredded key must be one of the destroyed objects, so the audit entry's reason (the
/// destroyed list's digest) commits to it too.
fn check_key_listed(key_id: Option<&str>, destroyed: &[Destroyed]) -> Result<(), CertificateError> {
    match key_id {
        Some(k) if !destroyed.iter().any(|d| d.id == k && d.kind == "data-key") => {
            Err(CertificateError::KeyNotDestroyed { key_id: k.to_owned() })
        }
        _ => Ok(()),
    }
}

/// The audit entry object of a subject: `subject:<pseudonym>`, which must be an id token.
fn subject_object(subject: &str) -> Result<String, CertificateError> {
    let object = format!("subject:{subject}");
    Token::new("object", &object).map_err(|_| CertificateError::Field {
        field: "subject",
        reason: "subject:<subject> is not an id token (1 to 128 bytes of A-Z a-z 0-9 . _ : @ / -)",
    })?;
    Ok(object)
}

/// Checks every field's shape, before any cryptography; returns the decoded entry bytes.
fn check_fields(cert: &DeletionCertificate) -> Result<(Vec<u8>, Timestamp), CertificateError> {
    if cert.format != CERTIFICATE_FORMAT {
        return Err(CertificateError::Format { found: cert.format });
    }
    check_text("origin", &cert.origin, MAX_ID)?;
    subject_object(&cert.subject)?;
    check_text("rule", &cert.rule, MAX_RULE)?;
    check_destroyed(&cert.destroyed)?;
    if let Some(k) = &cert.key_id {
        check_text("key_id", k, MAX_ID)?;
    }
    check_key_listed(cert.key_id.as_deref(), &cert.destroyed)?;
    let at = Timestamp::parse(&cert.destroyed_at).map_err(|_| CertificateError::Field {
        field: "destroyed_at",
        reason: "is not RFC 3339 UTC of the form YYYY-MM-DDTHH:MM:SS.ffffffZ",
    })?;
    let entry = STANDARD
        .decode(&cert.entry)
        .map_err(|_| CertificateError::Field { field: "entry", reason: "is not base64" })?;
    if entry.len() > 4 * MAX_REASON {
        return Err(CertificateError::Field { field: "entry", reason: "is longer than any audit entry" });
    }
    if cert.inclusion.path.len() > 64 {
        return Err(CertificateError::Field { field: "inclusion.path", reason: "has more than 64 hashes" });
    }
    if cert.checkpoint.len() > 1 << 16 {
        return Err(CertificateError::Field { field: "checkpoint", reason: "is longer than 64 KiB" });
    }
    if cert.verifier.len() > 1024 {
        return Err(CertificateError::Field { field: "verifier", reason: "is longer than 1024 bytes" });
    }
    Ok((entry, at))
}

impl DeletionCertificate {
    /// The bytes the signature covers (format 1; `docs/audit-log.md` has the layout): every
    /// other field, length-prefixed, with the entry as its decoded bytes.
    pub fn signed_message(&self) -> Result<Vec<u8>, CertificateError> {
        let (entry, _) = check_fields(self)?;
        let mut b = Vec::with_capacity(1024 + self.checkpoint.len() + 64 * self.destroyed.len());
        field(&mut b, SIGNED_LABEL);
        b.extend_from_slice(&self.format.to_be_bytes());
        field(&mut b, self.origin.as_bytes());
        field(&mut b, self.subject.as_bytes());
        count(&mut b, self.destroyed.len());
        for d in &self.destroyed {
            field(&mut b, d.id.as_bytes());
            field(&mut b, d.kind.as_bytes());
        }
        field(&mut b, self.destroyed_at.as_bytes());
        field(&mut b, self.rule.as_bytes());
        match &self.key_id {
            None => b.push(0),
            Some(k) => {
                b.push(1);
                field(&mut b, k.as_bytes());
            }
        }
        b.extend_from_slice(&self.entry_index.to_be_bytes());
        field(&mut b, &entry);
        b.extend_from_slice(&self.inclusion.size.to_be_bytes());
        count(&mut b, self.inclusion.path.len());
        for h in &self.inclusion.path {
            b.extend_from_slice(&h.0);
        }
        field(&mut b, self.checkpoint.as_bytes());
        field(&mut b, self.verifier.as_bytes());
        Ok(b)
    }

    /// Signs whatever the fields say with `key`, setting `verifier` and `signature`, without
    /// any of the checks [`issue`] makes. For tests that need a well-signed but wrong
    /// certificate; the vault issues with [`issue`].
    pub fn danger_resign(&mut self, key: &SigningKey) -> Result<(), CertificateError> {
        self.verifier = key.verifier().to_string();
        let msg = self.signed_message()?;
        self.signature = STANDARD.encode(key.sign_bytes(&msg));
        Ok(())
    }
}

/// Issues the certificate of `deletion`, recorded by the audit entry `entry` (its canonical
/// encoding) at index `proof.index`, proven by `proof` against the signed checkpoint
/// `checkpoint_note`, all signed by `key` (the log's signing key, which must also have signed
/// the checkpoint). `destroyed_at` is the entry's time. Refuses, with the check that failed,
/// anything [`verify`] would refuse: a proof that does not lead to the checkpoint's root, an
/// entry that is not this deletion's.
pub fn issue(
    deletion: &Deletion,
    entry: &[u8],
    proof: &InclusionProof,
    checkpoint_note: &str,
    key: &SigningKey,
) -> Result<DeletionCertificate, CertificateError> {
    let verifier = key.verifier();
    let text = open_note(checkpoint_note, &verifier).map_err(CertificateError::Checkpoint)?;
    let cp = Checkpoint::parse(text).map_err(CertificateError::Checkpoint)?;
    if proof.size != cp.size {
        return Err(CertificateError::ProofSize { proof: proof.size, checkpoint: cp.size });
    }
    verify_inclusion(&leaf_hash(entry), proof.index, proof.size, &proof.path, &cp.root)
        .map_err(|source| CertificateError::Inclusion { index: proof.index, source })?;
    let decoded =
        AuditEntry::decode(entry).map_err(|source| CertificateError::Entry { index: proof.index, source })?;
    let mut cert = DeletionCertificate {
        format: CERTIFICATE_FORMAT,
        origin: cp.origin,
        subject: deletion.subject.clone(),
        destroyed: deletion.destroyed.clone(),
        destroyed_at: decoded.time.to_string(),
        rule: deletion.rule.clone(),
        key_id: deletion.key_id.clone(),
        entry_index: proof.index,
        entry: STANDARD.encode(entry),
        inclusion: CertificateProof { size: proof.size, path: proof.path.clone() },
        checkpoint: checkpoint_note.to_owned(),
        verifier: String::new(),
        signature: String::new(),
    };
    cert.danger_resign(key)?;
    // Everything else (the entry's decision, object, reason) is checked exactly as a verifier
    // will check it.
    verify(&cert, Some(&verifier))?;
    Ok(cert)
}

/// Issues the certificate of `deletion` for entry `index` of `log` (already appended) against
/// the signed checkpoint `note` (already signed by `key` over a tree that holds the entry):
/// reads the entry and builds its inclusion proof to the note's size, then [`issue`]. What
/// both front ends call after their deletion's entry is durable.
pub fn issue_from_log<S: LogStore>(
    log: &AuditLog<S>,
    note: &str,
    key: &SigningKey,
    index: u64,
    deletion: &Deletion,
) -> Result<DeletionCertificate, CertificateError> {
    let failed = |reason: String| CertificateError::Log { index, reason };
    let text = open_note(note, &key.verifier()).map_err(CertificateError::Checkpoint)?;
    let cp = Checkpoint::parse(text).map_err(CertificateError::Checkpoint)?;
    if index >= cp.size {
        return Err(failed(format!("the checkpoint covers only {} entries", cp.size)));
    }
    let entry = log
        .store()
        .entry(index)
        .map_err(|e| failed(e.to_string()))?
        .ok_or_else(|| failed("the entry is missing from the audit log".into()))?;
    let proof = log.inclusion_proof(index, cp.size).map_err(|e| failed(e.to_string()))?;
    issue(deletion, &entry, &proof, note, key)
}

/// Verifies a certificate offline, in the order of `docs/audit-log.md`: its fields' shape, its
/// signature, the pinned key (if `trusted`), the checkpoint's signature and origin, the
/// inclusion proof of the entry against the checkpoint, and that the entry records this
/// deletion (allowed, object `subject:<subject>`, reason [`deletion_reason`], time
/// `destroyed_at`). Without `trusted` the result says the key was not pinned.
pub fn verify(
    cert: &DeletionCertificate,
    trusted: Option<&VerifierKey>,
) -> Result<VerifiedDeletion, CertificateError> {
    let (entry, at) = check_fields(cert)?;
    let verifier = VerifierKey::parse(&cert.verifier).map_err(CertificateError::VerifierKey)?;
    let sig: [u8; 64] = STANDARD
        .decode(&cert.signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or(CertificateError::Field { field: "signature", reason: "is not base64 of 64 bytes" })?;
    if !verifier.verify_bytes(&cert.signed_message()?, &sig) {
        return Err(CertificateError::Signature);
    }
    let key_pinned = match trusted {
        Some(t) if *t != verifier => {
            return Err(CertificateError::UntrustedKey { found: verifier.to_string(), pinned: t.to_string() })
        }
        Some(_) => true,
        None => false,
    };
    let text = open_note(&cert.checkpoint, &verifier).map_err(CertificateError::Checkpoint)?;
    let checkpoint = Checkpoint::parse(text).map_err(CertificateError::Checkpoint)?;
    if checkpoint.origin != cert.origin {
        return Err(CertificateError::CheckpointOrigin {
            certificate: cert.origin.clone(),
            checkpoint: checkpoint.origin,
        });
    }
    if cert.inclusion.size != checkpoint.size {
        return Err(CertificateError::ProofSize { proof: cert.inclusion.size, checkpoint: checkpoint.size });
    }
    let index = cert.entry_index;
    verify_inclusion(&leaf_hash(&entry), index, checkpoint.size, &cert.inclusion.path, &checkpoint.root)
        .map_err(|source| CertificateError::Inclusion { index, source })?;
    let decoded = AuditEntry::decode(&entry).map_err(|source| CertificateError::Entry { index, source })?;
    if decoded.decision != Decision::Allowed {
        return Err(CertificateError::EntryDecision { index });
    }
    let object = subject_object(&cert.subject)?;
    if decoded.object.as_str() != object {
        return Err(CertificateError::EntryObject {
            index,
            expected: object,
            found: decoded.object.as_str().to_owned(),
        });
    }
    let reason = deletion_reason(&cert.rule, &cert.destroyed)?;
    if decoded.reason.as_str() != reason {
        return Err(CertificateError::EntryReason {
            index,
            expected: reason,
            found: decoded.reason.as_str().to_owned(),
        });
    }
    if decoded.time != at {
        return Err(CertificateError::EntryTime {
            index,
            certificate: cert.destroyed_at.clone(),
            entry: decoded.time.to_string(),
        });
    }
    Ok(VerifiedDeletion { checkpoint, entry: decoded, verifier, key_pinned })
}
