//! What a data subject's access and portability package holds, as plain values: the vault
//! collects it (decrypted, under an export grant) and `facevault-export` lays it out as the
//! archive of `docs/access-export.md`. Ids are the pseudonymous ids as text; content stays in
//! `Zeroizing` buffers, wiped when the package is dropped. `Debug` shows ids and sizes only.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::consent::ConsentRecord;
use crate::purpose::PurposeId;
use crate::retention::{Destruction, LegalHold};
use crate::time::{Date, Timestamp};

/// Everything about one subject, decrypted.
pub struct AccessPackage {
    /// The subject's pseudonymous id.
    pub subject: String,
    pub created_at: Timestamp,
    pub details: AccessDetails,
    /// Every scan, oldest first.
    pub scans: Vec<AccessScan>,
    /// Every derivative, oldest first.
    pub derivatives: Vec<AccessDerivative>,
    /// Every consent recorded, oldest first (the last one is current).
    pub consents: Vec<AccessConsent>,
    /// Every disclosure of the subject's objects, oldest first.
    pub disclosures: Vec<AccessDisclosure>,
    /// Restrictions, legal holds and purposes satisfied.
    pub governance: AccessGovernance,
    /// The retention schedule as planned on the day of the export: empty when `unplanned`
    /// says why.
    pub destructions: Vec<Destruction>,
    pub unplanned: Option<String>,
    /// When the package was collected.
    pub generated_at: Timestamp,
}

/// Who the subject is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AccessDetails {
    pub name: String,
    pub date_of_birth: Option<String>,
    pub contact: Option<String>,
    pub jurisdiction: Option<String>,
}

/// A scan's record with its mesh as the stored binary PLY.
pub struct AccessScan {
    pub id: String,
    pub device: String,
    pub captured_on: String,
    pub purpose: String,
    pub source_unit: String,
    pub vertices: u64,
    pub triangles: u64,
    pub imported_at: Timestamp,
    pub ply: Zeroizing<Vec<u8>>,
}

/// A scan or derivative a derivative was made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessParent {
    /// `scan` or `derivative`.
    pub kind: &'static str,
    pub id: String,
}

impl AccessParent {
    /// The id the audit log names it by (`scan:<id>`).
    pub fn object_id(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }
}

/// `scan <id>`, as a sentence names it.
impl fmt::Display for AccessParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// A derivative's record with its content (PLY, PNG, JSON, or a report's bytes).
pub struct AccessDerivative {
    pub id: String,
    /// `mesh`, `render`, `measurements`, `report` or `inference`.
    pub kind: String,
    pub producer: String,
    pub parameters: String,
    pub parents: Vec<AccessParent>,
    pub created_at: Timestamp,
    pub content: Zeroizing<Vec<u8>>,
}

impl AccessDerivative {
    /// Whether it is the output of automated processing (GDPR art. 15(1)(h), 22): every
    /// simulation, measurement, render and inference is computed by software from the
    /// subject's scans; a report is, unless its producer is not a FaceVault analysis (a report a
    /// clinician wrote and stored).
    pub fn automated(&self) -> bool {
        match self.kind.as_str() {
            "report" => self.producer.starts_with("facevault"),
            _ => true,
        }
    }
}

/// A consent as recorded.
pub struct AccessConsent {
    pub id: String,
    pub recorded_at: Timestamp,
    pub record: ConsentRecord,
    /// Recorded by staff and still waiting for the patient's confirmation or the privacy
    /// officer's approval: it grants nothing.
    pub pending: bool,
}

/// One disclosure of a scan or derivative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessDisclosure {
    /// The object's audit id (`scan:<id>`).
    pub object: String,
    pub at: Timestamp,
    pub kind: String,
    pub purpose: String,
    pub recipient: String,
    pub vendor: Option<String>,
}

/// The subject's restrictions, legal holds and purposes satisfied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessGovernance {
    pub opt_out: Option<Timestamp>,
    pub limit_use: Option<Timestamp>,
    pub holds: Vec<LegalHold>,
    pub satisfied: BTreeMap<PurposeId, Date>,
}

impl fmt::Debug for AccessPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessPackage")
            .field("subject", &self.subject)
            .field("scans", &self.scans)
            .field("derivatives", &self.derivatives)
            .field("consents", &self.consents.len())
            .field("disclosures", &self.disclosures.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AccessDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessDetails { .. }")
    }
}

impl fmt::Debug for AccessScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessScan {{ id: {}, ply: {} bytes }}", self.id, self.ply.len())
    }
}

impl fmt::Debug for AccessDerivative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AccessDerivative {{ id: {}, kind: {}, content: {} bytes }}",
            self.id,
            self.kind,
            self.content.len()
        )
    }
}

impl fmt::Debug for AccessConsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessConsent {{ id: {}, .. }}", self.id)
    }
}
