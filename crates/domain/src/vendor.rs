//! The vendor registry: who may receive a subject's data, in which role, under which contract
//! terms, for which purposes and data categories, and where. [`check_disclosure`] decides one
//! disclosure; [`disclose`] makes the [`Disclosure`] record the vault appends to its audit log,
//! so every disclosure that happens is one that passed the check.
//!
//! Roles and what a disclosure to them counts as:
//! - service provider and contractor (CCPA 1798.140(ag), (j)): the contract must hold the
//!   CCPA regulations' §7051(a) terms (a contractor also certifies it understands them); a
//!   disclosure for a purpose the contract names is a business-purpose disclosure, not a sale or
//!   share, so a subject's opt-out does not stop it;
//! - business associate (HIPAA 45 CFR 160.103): the contract must hold the BAA terms of
//!   45 CFR 164.504(e)(2). The CCPA terms are not required as well: CCPA 1798.146(a) exempts
//!   protected health information that a covered entity handles under HIPAA. A vendor that also
//!   receives data outside HIPAA should be registered as a service provider whose contract holds
//!   the BAA terms too (extra terms are allowed);
//! - health care provider (a referring physician, a hospital treating the subject): no
//!   contract; a disclosure to one is for the subject's treatment only (HIPAA 45 CFR
//!   164.506(c)(2) lets a covered entity disclose for another provider's treatment without an
//!   authorization or a business associate agreement, 164.502(e)(1)(ii)(A)), so only the care
//!   purposes go to one; it is not a sale or share, so an opt-out does not stop it, but the
//!   biometric laws still ask for the subject's consent to disclose (BIPA 740 ILCS
//!   14/15(d)(1); MHMDA RCW 19.373.030(1)(b)): the share consent is required;
//! - third party: no contract terms are checked here, and every disclosure to one is a share
//!   (or a sale, if the purpose sells): an opt-out stops it and it needs the share consent.
//!   (CCPA regs §7053 asks for contract terms with third parties too; not checked: check.)
//!
//! Sources are cited as known; "check" marks a citation not verified against the text.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Catalogue, ConsentRecord, ConsentStatus, Purpose, PurposeId, SubjectId, Timestamp};

/// What went wrong reading the vendor registry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VendorError {
    /// A vendor id is empty, too long or not `a-z`, `0-9` and `-`.
    ///
    /// How to fix: use a short kebab-case id such as `acme-3d-labs`.
    #[error("bad vendor id {id:?}: use 1-64 characters a-z, 0-9 and '-'")]
    BadVendorId { id: String },
    /// A vendor id the front ends give a meaning of their own ([`RESERVED_RECIPIENTS`]).
    ///
    /// How to fix: choose another id, such as the organisation's name.
    #[error("vendor id {id:?} is reserved (clinic: the clinic's own record; subject: the patient)")]
    ReservedVendorId { id: String },
    /// The same vendor id appears twice.
    #[error("vendor {id} is configured twice")]
    DuplicateVendor { id: String },
    /// A required text field is blank or a list is empty.
    #[error("vendor {id}: field {field} must not be empty")]
    EmptyField { id: String, field: &'static str },
    /// The vendor's contract names a purpose the catalogue does not have.
    #[error("vendor {id}: unknown purpose {purpose}")]
    UnknownPurpose { id: String, purpose: PurposeId },
}

/// A vendor's stable id, kebab-case (`acme-3d-labs`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VendorId(String);

impl VendorId {
    pub fn new(id: impl Into<String>) -> Result<Self, VendorError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(id))
        } else {
            Err(VendorError::BadVendorId { id })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VendorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for VendorId {
    type Error = VendorError;
    fn try_from(s: String) -> Result<Self, VendorError> {
        Self::new(s)
    }
}

impl From<VendorId> for String {
    fn from(v: VendorId) -> String {
        v.0
    }
}

/// The vendor's legal role towards the clinic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VendorRole {
    /// Processes data on the clinic's behalf for a business purpose (CCPA 1798.140(ag)).
    ServiceProvider,
    /// Receives data for a business purpose under a contract (CCPA 1798.140(j)).
    Contractor,
    /// Anyone else; a disclosure to one is a share or sale (CCPA 1798.140(ah), (ai)).
    ThirdParty,
    /// Handles protected health information for a covered entity (HIPAA 45 CFR 160.103).
    BusinessAssociate,
    /// Another health care provider treating the subject (HIPAA 45 CFR 164.506(c)(2)).
    Provider,
}

impl VendorRole {
    pub const ALL: [VendorRole; 5] =
        [Self::ServiceProvider, Self::Contractor, Self::ThirdParty, Self::BusinessAssociate, Self::Provider];
}

/// The purposes a disclosure to a health care provider may serve: the subject's own care (also
/// the purposes a limit-use request leaves open, `facevault_policy::LIMITED_USE_PURPOSES`).
pub const TREATMENT_PURPOSES: &[&str] =
    &["treatment-planning", "outcome-simulation", "post-op-tracking", "clinical-photography"];

/// Recipient names a registry may not use: `clinic` (the clinic's own record, no disclosure
/// outside it) and `subject` (the patient themself).
pub const RESERVED_RECIPIENTS: &[&str] = &["clinic", "subject"];

impl fmt::Display for VendorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ServiceProvider => "service provider",
            Self::Contractor => "contractor",
            Self::ThirdParty => "third party",
            Self::BusinessAssociate => "business associate",
            Self::Provider => "health care provider",
        })
    }
}

/// What kind of data a disclosure carries. FaceVault holds these and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataCategory {
    /// 3D facial scans: a scan of face geometry, a biometric identifier (BIPA 740 ILCS 14/10).
    FaceScan,
    /// Measurements and distance maps computed from scans; derived from face geometry, so
    /// FaceVault treats them as biometric information.
    Measurements,
    /// Renders and clinical images derived from scans. Photographs are not biometric
    /// identifiers under BIPA, but they are health data.
    Images,
    /// Name, date of birth and contact details.
    Identity,
    /// Consent records: notice version and hash, purposes, signatures, withdrawals.
    ConsentRecords,
}

impl DataCategory {
    pub const ALL: [DataCategory; 5] =
        [Self::FaceScan, Self::Measurements, Self::Images, Self::Identity, Self::ConsentRecords];

    /// The id configuration uses (`face-scan`).
    pub fn id(self) -> &'static str {
        match self {
            Self::FaceScan => "face-scan",
            Self::Measurements => "measurements",
            Self::Images => "images",
            Self::Identity => "identity",
            Self::ConsentRecords => "consent-records",
        }
    }

    /// One sentence for the record of processing.
    pub fn description(self) -> &'static str {
        match self {
            Self::FaceScan => "3D facial scans (meshes and textures): scans of face geometry",
            Self::Measurements => "measurements and distance maps computed from the scans",
            Self::Images => "renders and clinical images derived from the scans",
            Self::Identity => "name, date of birth and contact details",
            Self::ConsentRecords => {
                "consent records: notice version and hash, purposes, signatures, withdrawals"
            }
        }
    }

    /// Biometric identifiers or information (BIPA 740 ILCS 14/10; GDPR Art. 9 special category).
    pub fn biometric(self) -> bool {
        matches!(self, Self::FaceScan | Self::Measurements)
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A term a vendor contract holds. Configuration names them in kebab-case (`no-sell-or-share`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContractTerm {
    // CCPA regulations (Cal. Code Regs. tit. 11) §7051(a), as amended in 2023: service provider
    // and contractor. (a)(4), no use for a commercial purpose other than the business
    // purposes, is part of `NoUseOutsidePurposes`; the numbering after it follows (check the
    // current text).
    /// Not to sell or share the personal information.
    NoSellOrShare,
    /// The specific business purposes are named, and the data is disclosed only for them.
    SpecifiedPurposes,
    /// Not to retain, use or disclose the data for any other purpose (§7051(a)(3)), commercial
    /// purposes included (§7051(a)(4)): one term in the contract covers both.
    NoUseOutsidePurposes,
    /// Not to retain, use or disclose it outside the direct business relationship.
    NoUseOutsideRelationship,
    /// Not to combine it with data from other sources, except as the regulations allow.
    NoCombining,
    /// To comply with the CCPA and give the same level of privacy protection.
    ComplyWithCcpa,
    /// The clinic may take reasonable steps to ensure the data is used consistently.
    ComplianceRights,
    /// To notify the clinic if it can no longer meet its obligations.
    NotifyIfUnable,
    /// The clinic may stop and remediate unauthorized use.
    StopAndRemediate,
    /// The clinic informs the vendor of consumer requests it must act on.
    ConsumerRequests,
    /// Subcontractors are bound by the same terms under a written contract.
    SubcontractorTerms,
    /// The contractor certifies it understands and will comply with the restrictions.
    ContractorCertification,
    // HIPAA business associate agreement: 45 CFR 164.504(e)(2).
    /// The permitted and required uses and disclosures of PHI are established.
    BaaPermittedUses,
    /// No use or further disclosure other than the contract permits or law requires.
    BaaNoOtherUse,
    /// Appropriate safeguards, and the Security Rule for electronic PHI.
    BaaSafeguards,
    /// Report uses or disclosures not provided for, breaches and security incidents.
    BaaReportIncidents,
    /// Subcontractors agree to the same restrictions and conditions.
    BaaSubcontractors,
    /// PHI is made available for the subject's access.
    BaaAccess,
    /// PHI is made available for amendment, and amendments are incorporated.
    BaaAmendment,
    /// The information for an accounting of disclosures is made available.
    BaaAccounting,
    /// Internal practices, books and records are available to HHS.
    BaaBooksToHhs,
    /// At termination, PHI is returned or destroyed where feasible.
    BaaReturnOrDestroy,
    /// The clinic may terminate if the vendor violates a material term.
    BaaTermination,
}

impl ContractTerm {
    /// The CCPA regulations' §7051(a) terms, required of a service provider.
    pub const CCPA_SERVICE_PROVIDER: &'static [ContractTerm] = &[
        Self::NoSellOrShare,
        Self::SpecifiedPurposes,
        Self::NoUseOutsidePurposes,
        Self::NoUseOutsideRelationship,
        Self::NoCombining,
        Self::ComplyWithCcpa,
        Self::ComplianceRights,
        Self::NotifyIfUnable,
        Self::StopAndRemediate,
        Self::ConsumerRequests,
        Self::SubcontractorTerms,
    ];
    /// The service provider's terms plus the contractor's certification.
    pub const CCPA_CONTRACTOR: &'static [ContractTerm] = &[
        Self::NoSellOrShare,
        Self::SpecifiedPurposes,
        Self::NoUseOutsidePurposes,
        Self::NoUseOutsideRelationship,
        Self::NoCombining,
        Self::ComplyWithCcpa,
        Self::ComplianceRights,
        Self::NotifyIfUnable,
        Self::StopAndRemediate,
        Self::ConsumerRequests,
        Self::SubcontractorTerms,
        Self::ContractorCertification,
    ];
    /// The business associate agreement's terms.
    pub const HIPAA_BAA: &'static [ContractTerm] = &[
        Self::BaaPermittedUses,
        Self::BaaNoOtherUse,
        Self::BaaSafeguards,
        Self::BaaReportIncidents,
        Self::BaaSubcontractors,
        Self::BaaAccess,
        Self::BaaAmendment,
        Self::BaaAccounting,
        Self::BaaBooksToHhs,
        Self::BaaReturnOrDestroy,
        Self::BaaTermination,
    ];

    /// The provision that requires the term.
    pub fn source(self) -> &'static str {
        match self {
            Self::NoSellOrShare => "CCPA regs §7051(a)(1)",
            Self::SpecifiedPurposes => "CCPA regs §7051(a)(2)",
            Self::NoUseOutsidePurposes => "CCPA regs §7051(a)(3), (4)",
            Self::NoUseOutsideRelationship => "CCPA regs §7051(a)(5)",
            Self::NoCombining => "CCPA regs §7051(a)(6)",
            Self::ComplyWithCcpa => "CCPA regs §7051(a)(7)",
            Self::ComplianceRights => "CCPA regs §7051(a)(8)",
            Self::NotifyIfUnable => "CCPA regs §7051(a)(9)",
            Self::StopAndRemediate => "CCPA regs §7051(a)(10)",
            Self::ConsumerRequests => "CCPA regs §7051(a)(11)",
            Self::SubcontractorTerms => "CCPA 1798.140(ag)(2) (check)",
            Self::ContractorCertification => "CCPA 1798.140(j)(1) (check)",
            Self::BaaPermittedUses => "45 CFR 164.504(e)(2)(i)",
            Self::BaaNoOtherUse => "45 CFR 164.504(e)(2)(ii)(A)",
            Self::BaaSafeguards => "45 CFR 164.504(e)(2)(ii)(B)",
            Self::BaaReportIncidents => "45 CFR 164.504(e)(2)(ii)(C), 164.314(a)(2)(i)(C)",
            Self::BaaSubcontractors => "45 CFR 164.504(e)(2)(ii)(D)",
            Self::BaaAccess => "45 CFR 164.504(e)(2)(ii)(E)",
            Self::BaaAmendment => "45 CFR 164.504(e)(2)(ii)(F)",
            Self::BaaAccounting => "45 CFR 164.504(e)(2)(ii)(G)",
            Self::BaaBooksToHhs => "45 CFR 164.504(e)(2)(ii)(I)",
            Self::BaaReturnOrDestroy => "45 CFR 164.504(e)(2)(ii)(J)",
            Self::BaaTermination => "45 CFR 164.504(e)(2)(iii)",
        }
    }

    /// The id configuration uses (`no-sell-or-share`).
    pub fn id(self) -> &'static str {
        match self {
            Self::NoSellOrShare => "no-sell-or-share",
            Self::SpecifiedPurposes => "specified-purposes",
            Self::NoUseOutsidePurposes => "no-use-outside-purposes",
            Self::NoUseOutsideRelationship => "no-use-outside-relationship",
            Self::NoCombining => "no-combining",
            Self::ComplyWithCcpa => "comply-with-ccpa",
            Self::ComplianceRights => "compliance-rights",
            Self::NotifyIfUnable => "notify-if-unable",
            Self::StopAndRemediate => "stop-and-remediate",
            Self::ConsumerRequests => "consumer-requests",
            Self::SubcontractorTerms => "subcontractor-terms",
            Self::ContractorCertification => "contractor-certification",
            Self::BaaPermittedUses => "baa-permitted-uses",
            Self::BaaNoOtherUse => "baa-no-other-use",
            Self::BaaSafeguards => "baa-safeguards",
            Self::BaaReportIncidents => "baa-report-incidents",
            Self::BaaSubcontractors => "baa-subcontractors",
            Self::BaaAccess => "baa-access",
            Self::BaaAmendment => "baa-amendment",
            Self::BaaAccounting => "baa-accounting",
            Self::BaaBooksToHhs => "baa-books-to-hhs",
            Self::BaaReturnOrDestroy => "baa-return-or-destroy",
            Self::BaaTermination => "baa-termination",
        }
    }
}

impl fmt::Display for ContractTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id(), self.source())
    }
}

/// The terms a contract with a vendor in `role` must hold. A third party has none here (its
/// disclosures are shares instead); see the module docs for the business associate choice.
pub fn required_terms(role: VendorRole) -> &'static [ContractTerm] {
    match role {
        VendorRole::ServiceProvider => ContractTerm::CCPA_SERVICE_PROVIDER,
        VendorRole::Contractor => ContractTerm::CCPA_CONTRACTOR,
        VendorRole::BusinessAssociate => ContractTerm::HIPAA_BAA,
        VendorRole::ThirdParty | VendorRole::Provider => &[],
    }
}

/// One vendor as the registry holds it (a TOML `[[vendor]]` table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vendor {
    pub id: VendorId,
    pub name: String,
    pub role: VendorRole,
    /// The terms its signed contract holds.
    #[serde(default)]
    pub terms: BTreeSet<ContractTerm>,
    /// The purposes the contract allows, ids from the catalogue.
    pub purposes: Vec<PurposeId>,
    /// The data categories the contract allows.
    pub categories: BTreeSet<DataCategory>,
    /// Where it processes the data (`US`, `EU`, `US-IL`): free text, compared as written.
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// The terms `vendor`'s role requires that its contract lacks, in the order of
/// [`required_terms`]. Empty when the contract is complete.
pub fn missing_terms(vendor: &Vendor) -> Vec<ContractTerm> {
    required_terms(vendor.role).iter().copied().filter(|t| !vendor.terms.contains(t)).collect()
}

/// The registry as configuration states it; parsed by the caller with serde, checked against
/// the catalogue by [`VendorRegistry::from_config`].
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorConfig {
    #[serde(default, rename = "vendor")]
    pub vendors: Vec<Vendor>,
}

/// The clinic's vendors, by id. Ids are unique and every purpose is in the catalogue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VendorRegistry {
    vendors: Vec<Vendor>,
}

impl VendorRegistry {
    /// Checks `config` against `catalogue`. A contract missing terms is accepted here (the
    /// documents list it, and every disclosure to it is refused until it is complete).
    pub fn from_config(config: VendorConfig, catalogue: &Catalogue) -> Result<Self, VendorError> {
        let mut vendors: Vec<Vendor> = Vec::with_capacity(config.vendors.len());
        for v in config.vendors {
            let id = || v.id.0.clone();
            if RESERVED_RECIPIENTS.contains(&v.id.as_str()) {
                return Err(VendorError::ReservedVendorId { id: id() });
            }
            if vendors.iter().any(|w| w.id == v.id) {
                return Err(VendorError::DuplicateVendor { id: id() });
            }
            for (field, empty) in [
                ("name", v.name.trim().is_empty()),
                ("region", v.region.trim().is_empty()),
                ("purposes", v.purposes.is_empty()),
                ("categories", v.categories.is_empty()),
            ] {
                if empty {
                    return Err(VendorError::EmptyField { id: id(), field });
                }
            }
            if let Some(p) = v.purposes.iter().find(|p| catalogue.get(p.as_str()).is_none()) {
                return Err(VendorError::UnknownPurpose { id: id(), purpose: p.clone() });
            }
            vendors.push(v);
        }
        vendors.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self { vendors })
    }

    /// The vendors, by id.
    pub fn vendors(&self) -> &[Vendor] {
        &self.vendors
    }

    pub fn get(&self, id: &str) -> Option<&Vendor> {
        self.vendors.iter().find(|v| v.id.as_str() == id)
    }
}

/// What an allowed disclosure counts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisclosureKind {
    /// To a service provider, contractor or business associate, under a complete contract, for
    /// a purpose it names: not a sale or share, which are disclosures to a third party (CCPA
    /// 1798.140(ad)(1), (ah)(1)), and a service provider or contractor is not a third party
    /// (1798.140(ai)(2), (3)).
    BusinessPurpose(VendorRole),
    /// To a health care provider for the subject's treatment (HIPAA 45 CFR 164.506(c)(2)): not
    /// a sale or share.
    Treatment,
    /// Sharing: to a third party, or for a purpose the catalogue marks `share`.
    Share,
    /// Sale: for a purpose the catalogue marks `sale`.
    Sale,
}

impl DisclosureKind {
    /// What a disclosure of `purpose` to `vendor` would count as.
    pub fn of(vendor: &Vendor, purpose: &Purpose) -> Self {
        if purpose.sale {
            Self::Sale
        } else if vendor.role == VendorRole::Provider && !purpose.share {
            Self::Treatment
        } else if purpose.share || vendor.role == VendorRole::ThirdParty {
            Self::Share
        } else {
            Self::BusinessPurpose(vendor.role)
        }
    }
    /// A subject's opt-out of sale and sharing stops it.
    pub fn is_sale_or_share(self) -> bool {
        !matches!(self, Self::BusinessPurpose(_) | Self::Treatment)
    }
}

impl fmt::Display for DisclosureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BusinessPurpose(role) => write!(f, "business-purpose disclosure to a {role}"),
            Self::Treatment => f.write_str("treatment disclosure to a health care provider"),
            Self::Share => f.write_str("share"),
            Self::Sale => f.write_str("sale"),
        }
    }
}

/// Why a disclosure was refused. Display names what is wrong; [`DisclosureRefusal::source`]
/// names the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisclosureRefusal {
    #[error("vendor {vendor} ({role}): contract lacks {}", list(missing))]
    MissingTerms { vendor: VendorId, role: VendorRole, missing: Vec<ContractTerm> },
    #[error("purpose {purpose} is disabled in this clinic's catalogue")]
    PurposeDisabled { purpose: PurposeId },
    #[error("vendor {vendor}: contract does not allow purpose {purpose}")]
    PurposeNotInContract { vendor: VendorId, purpose: PurposeId },
    #[error("{vendor} is a health care provider: only a care purpose goes to one, not {purpose}")]
    NotTreatment { vendor: VendorId, purpose: PurposeId },
    #[error("vendor {vendor}: contract does not allow data category {category}")]
    CategoryNotInContract { vendor: VendorId, category: DataCategory },
    #[error("purpose {purpose} names recipient {named:?}, not vendor {vendor}")]
    NotNamedRecipient { purpose: PurposeId, named: String, vendor: VendorId },
    #[error("the subject opted out of sale and sharing, and this disclosure to {vendor} is a {kind}")]
    OptedOut { vendor: VendorId, kind: DisclosureKind },
    #[error("no consent on record for the subject")]
    NoConsent,
    #[error("consent does not cover purpose {purpose}: {reason}")]
    NotConsented { purpose: PurposeId, reason: String },
    #[error("the subject did not consent to sharing, and this disclosure to {vendor} is a {kind}")]
    NoShareConsent { vendor: VendorId, kind: DisclosureKind },
}

fn list(terms: &[ContractTerm]) -> String {
    terms.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

impl DisclosureRefusal {
    /// The rule that refuses it, for the refusal shown to staff.
    pub fn source(&self) -> &'static str {
        match self {
            Self::MissingTerms { role: VendorRole::BusinessAssociate, .. } => {
                "HIPAA 45 CFR 164.502(e), 164.504(e)"
            }
            Self::MissingTerms { role: VendorRole::Contractor, .. } => "CCPA 1798.140(j); CCPA regs §7051",
            Self::MissingTerms { .. } => "CCPA 1798.140(ag); CCPA regs §7051",
            Self::PurposeDisabled { .. } => "FaceVault catalogue",
            Self::NotTreatment { .. } => "HIPAA 45 CFR 164.506(c)(2)",
            Self::PurposeNotInContract { .. } | Self::CategoryNotInContract { .. } => {
                "CCPA regs §7051(a)(2),(3); 45 CFR 164.504(e)(2)(i)"
            }
            Self::NotNamedRecipient { .. } => "BIPA 740 ILCS 14/15(d)(1); MHMDA RCW 19.373.030(1)(b)",
            Self::OptedOut { .. } => "CCPA 1798.120, 1798.135",
            Self::NoConsent | Self::NotConsented { .. } => "BIPA 740 ILCS 14/15(d)(1); GDPR Art. 9(2)(a)",
            Self::NoShareConsent { .. } => "BIPA 740 ILCS 14/15(d)(1); MHMDA RCW 19.373.030(1)(b)",
        }
    }
}

/// Decides whether `category` data of a subject may go to `vendor` for `purpose` at `at`, given
/// the subject's consent and whether the subject opted out of sale and sharing. Returns the
/// first problem, in the order the checks below run: the contract (terms, purpose, category,
/// the purpose's named recipient), the opt-out, then the consent.
pub fn check_disclosure(
    vendor: &Vendor,
    purpose: &Purpose,
    category: DataCategory,
    consent: Option<&ConsentRecord>,
    opted_out: bool,
    at: Timestamp,
) -> Result<DisclosureKind, DisclosureRefusal> {
    use DisclosureRefusal as R;
    let missing = missing_terms(vendor);
    if !missing.is_empty() {
        return Err(R::MissingTerms { vendor: vendor.id.clone(), role: vendor.role, missing });
    }
    if !purpose.enabled {
        return Err(R::PurposeDisabled { purpose: purpose.id.clone() });
    }
    if vendor.role == VendorRole::Provider && !TREATMENT_PURPOSES.contains(&purpose.id.as_str()) {
        return Err(R::NotTreatment { vendor: vendor.id.clone(), purpose: purpose.id.clone() });
    }
    if !vendor.purposes.contains(&purpose.id) {
        return Err(R::PurposeNotInContract { vendor: vendor.id.clone(), purpose: purpose.id.clone() });
    }
    if !vendor.categories.contains(&category) {
        return Err(R::CategoryNotInContract { vendor: vendor.id.clone(), category });
    }
    // A purpose that names its recipient was consented to for that recipient only.
    if let Some(named) = purpose.vendor.as_ref().filter(|n| **n != vendor.name && **n != vendor.id.0) {
        return Err(R::NotNamedRecipient {
            purpose: purpose.id.clone(),
            named: named.clone(),
            vendor: vendor.id.clone(),
        });
    }
    let kind = DisclosureKind::of(vendor, purpose);
    if opted_out && kind.is_sale_or_share() {
        return Err(R::OptedOut { vendor: vendor.id.clone(), kind });
    }
    let record = consent.ok_or(R::NoConsent)?;
    if !record.covers(purpose.id.as_str(), at) {
        let reason = match record.status_at(at) {
            ConsentStatus::Withdrawn { at } => format!("consent withdrawn at {at}"),
            ConsentStatus::Expired { on } => format!("consent expired on {on}"),
            ConsentStatus::Active => {
                "the purpose is not granted, or lacks its share consent or sale authorization".to_owned()
            }
        };
        return Err(R::NotConsented { purpose: purpose.id.clone(), reason });
    }
    // A share to a third party for a purpose not itself marked `share` still needs the share
    // consent (covers() checks it only for purposes marked share or sale).
    if (kind.is_sale_or_share() || kind == DisclosureKind::Treatment) && !record.consent().share() {
        return Err(R::NoShareConsent { vendor: vendor.id.clone(), kind });
    }
    Ok(kind)
}

/// A disclosure that passed [`check_disclosure`]: the record the vault appends to the audit
/// log. Only [`disclose`] makes one. It names the subject by pseudonymous id only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    subject: SubjectId,
    vendor: VendorId,
    purpose: PurposeId,
    category: DataCategory,
    kind: DisclosureKind,
    at: Timestamp,
}

impl Disclosure {
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }
    pub fn vendor(&self) -> &VendorId {
        &self.vendor
    }
    pub fn purpose(&self) -> &PurposeId {
        &self.purpose
    }
    pub fn category(&self) -> DataCategory {
        self.category
    }
    pub fn kind(&self) -> DisclosureKind {
        self.kind
    }
    pub fn at(&self) -> Timestamp {
        self.at
    }
}

/// Checks a disclosure of `subject`'s data (see [`check_disclosure`]) and returns its record.
pub fn disclose(
    subject: &SubjectId,
    vendor: &Vendor,
    purpose: &Purpose,
    category: DataCategory,
    consent: Option<&ConsentRecord>,
    opted_out: bool,
    at: Timestamp,
) -> Result<Disclosure, DisclosureRefusal> {
    let kind = check_disclosure(vendor, purpose, category, consent, opted_out, at)?;
    Ok(Disclosure {
        subject: subject.clone(),
        vendor: vendor.id.clone(),
        purpose: purpose.id.clone(),
        category,
        kind,
        at,
    })
}
