//! The vault's entities in the clinic's language, and the records the ports store.
//!
//! What is in plaintext in a record is there on purpose: ids, dates, device, declared purpose,
//! producer and parameters. Who a subject is lives only in sealed `details`; every mesh and
//! every derivative's content lives only in sealed blobs.

use std::fmt;

use facevault_crypto::{Id, WrappedKey};
use facevault_mesh::Unit;
use serde::{Deserialize, Serialize};

use crate::ids::{DerivativeId, Node, ScanId, SubjectId, Timestamp};

/// Who a subject is. Stored only sealed under the subject's data key; `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubjectDetails {
    pub name: String,
    pub date_of_birth: Option<String>,
    pub contact: Option<String>,
    /// Where the subject lives, which decides the law that applies (e.g. "US-IL", "EU-FR").
    pub jurisdiction: Option<String>,
}

impl fmt::Debug for SubjectDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectDetails { .. }")
    }
}

/// A subject with its details decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub id: SubjectId,
    pub created_at: Timestamp,
    pub details: SubjectDetails,
}

/// A subject as stored: its data key wrapped by the KEK, its details sealed by the data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectRecord {
    pub id: SubjectId,
    pub created_at: Timestamp,
    pub wrapped_key: WrappedKey,
    /// Sealed JSON of [`SubjectDetails`] (blob format, kind `SubjectDetails`, object = subject).
    pub details: Vec<u8>,
    pub details_version: u32,
}

/// The declared purpose a scan was collected for (consent and retention hang on it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Purpose(pub String);

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a scan was captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    pub device: String,
    /// The capture date as given (ISO 8601 `YYYY-MM-DD` by convention).
    pub captured_on: String,
    pub purpose: Purpose,
}

/// Where an object's sealed content lives in the blob store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobRef {
    pub object: Id,
    /// Bound into the ciphertext; bumped if the content is ever replaced.
    pub version: u32,
    /// Sealed length in bytes.
    pub len: u64,
}

/// A stored scan: capture metadata; its mesh is an encrypted binary PLY blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub id: ScanId,
    pub subject: SubjectId,
    pub capture: Capture,
    /// The unit the source file used (the stored mesh is in millimetres).
    pub source_unit: Unit,
    pub vertices: u64,
    pub triangles: u64,
    pub imported_at: Timestamp,
    pub blob: BlobRef,
}

/// What a derivative is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DerivativeKind {
    /// A mesh (simulation, cleaned or registered copy), stored as binary PLY.
    Mesh,
    /// An image (PNG).
    Render,
    /// Measurements (JSON).
    Measurements,
    /// A report (PDF, HTML, text).
    Report,
    /// An inference about the subject (JSON).
    Inference,
}

impl DerivativeKind {
    pub const ALL: [DerivativeKind; 5] = [
        DerivativeKind::Mesh,
        DerivativeKind::Render,
        DerivativeKind::Measurements,
        DerivativeKind::Report,
        DerivativeKind::Inference,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DerivativeKind::Mesh => "mesh",
            DerivativeKind::Render => "render",
            DerivativeKind::Measurements => "measurements",
            DerivativeKind::Report => "report",
            DerivativeKind::Inference => "inference",
        }
    }

    pub fn parse(s: &str) -> Option<DerivativeKind> {
        DerivativeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DerivativeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored derivative: who made it, how, and from what. Its content is a sealed blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derivative {
    pub id: DerivativeId,
    pub subject: SubjectId,
    pub kind: DerivativeKind,
    /// The analysis that produced it, with its version (e.g. "facevault-analysis 0.1 symmetry").
    pub producer: String,
    /// The producer's parameters as JSON text. Never identifying: content goes in the blob.
    pub parameters: String,
    pub parents: Vec<Node>,
    pub created_at: Timestamp,
    pub blob: BlobRef,
}

/// A record that plaintext left the vault: which object, whose, why, to whom and when. Written
/// before the plaintext is handed out, and kept after a shred (it names only pseudonymous ids,
/// a registered vendor's id, or the recipient as staff typed it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    pub node: Node,
    pub subject: SubjectId,
    pub purpose: Purpose,
    /// Who received it: a vendor id, or a description ("patient", "Dr B, referral").
    pub recipient: String,
    /// The registered vendor it went to, if any (see the vendor registry).
    pub vendor: Option<String>,
    /// What the disclosure counts as: `export`, `business-purpose`, `share` or `sale`.
    pub kind: String,
    pub at: Timestamp,
}

/// A new derivative to store.
#[derive(Clone, Debug)]
pub struct NewDerivative {
    pub kind: DerivativeKind,
    pub producer: String,
    pub parameters: serde_json::Value,
    pub parents: Vec<Node>,
    /// The content in plaintext; it is sealed before it reaches any store.
    pub content: Vec<u8>,
}

/// A consent as stored. What a verifier or the retention clock needs is in plaintext
/// (jurisdiction, dates, the clinic's notice text and its hash); the consent itself, with the
/// typed signature, is sealed under the subject's data key (blob kind `Consent`, object = id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: Id,
    pub subject: SubjectId,
    pub jurisdiction: String,
    pub notice_version: String,
    /// SHA-256 of the notice text, hex.
    pub notice_sha256: String,
    /// The exact notice text shown: the clinic's template, kept after the subject is shredded.
    pub notice_text: String,
    pub signed_at: Timestamp,
    pub recorded_at: Timestamp,
    pub withdrawn_at: Option<Timestamp>,
    pub sealed: Vec<u8>,
}

/// A subject's governance state (opt-out, limit-use, legal holds, purposes satisfied), sealed
/// under the subject's key: a hold's docket or reason can name the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GovernanceRow {
    pub subject: SubjectId,
    /// Bumped on every update and bound into the ciphertext.
    pub version: u32,
    pub updated_at: Timestamp,
    pub sealed: Vec<u8>,
}

/// A data-subject request as stored: what opened it and its history (JSON), with the fields a
/// listing needs. Names the subject by pseudonymous id only; kept after an erasure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRow {
    pub id: String,
    pub subject: String,
    pub kind: String,
    pub state: String,
    pub received_at: Timestamp,
    pub doc: String,
}

/// A deletion notice sent to a vendor that received a subject's data, pending until the vendor
/// confirms (MHMDA: every processor is notified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorNotice {
    pub request: String,
    pub subject: SubjectId,
    pub vendor: String,
    pub sent_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
}

/// One server account. `subject` is set for a patient (the pseudonymous subject id they are).
/// Nothing here is a secret in plaintext: the password is an Argon2id PHC string, the invitation
/// a SHA-256 hash, the TOTP secret sealed; `Debug` shows only who and what role.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub username: String,
    pub role: String,
    pub subject: Option<String>,
    pub password_hash: Option<String>,
    pub totp_sealed: Option<Vec<u8>>,
    pub invite_hash: Option<String>,
    pub invite_expires: Option<i64>,
    /// When the account was made (Unix seconds): for a patient, when they were invited.
    pub created_at: i64,
    /// Who invited a patient (the inviting account's login name), shown to the patient.
    pub invited_by: Option<String>,
}

impl fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountRow")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// One API token, by the SHA-256 of its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub token_hash: String,
    pub name: String,
    pub role: String,
    /// Comma-separated purpose ids.
    pub purposes: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}
