//! Documents generated from the live configuration, so they cannot drift from what the vault
//! enforces: the record of processing (GDPR Art. 30(1)), the public biometric retention schedule
//! and destruction policy (BIPA 740 ILCS 14/15(a)), and the consent notice texts per
//! jurisdiction. [`Documents::generate`] reads the [`Catalogue`], the vendors and the
//! [`ClinicInfo`]; each document renders as Markdown, HTML (every text escaped) and JSON (typed,
//! in a fixed order: catalogue order for purposes, id order for vendors). Nothing is dated, so
//! the same configuration gives the same bytes.
//!
//! A generated consent notice lists exactly the purposes it offers, with their retention, and
//! states what [`check_capture`](crate::check_capture) expects of it in its jurisdiction:
//! [`ConsentNotice::notice`] declares [`NoticeCovers`] accordingly.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::retention::AUDIT_RETENTION;
use crate::vendor::{missing_terms, DataCategory, Vendor, VendorRole};
use crate::{Catalogue, Jurisdiction, Notice, NoticeCovers, Purpose, PurposeId, RetentionPeriod};

/// Who the clinic is, for the documents. The safeguards default to FaceVault's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClinicInfo {
    pub name: String,
    /// How the public reaches the clinic (address, email or phone).
    pub contact: String,
    /// How to reach the privacy officer (or data protection officer).
    pub privacy_officer: String,
    /// Where the clinic processes data (`US`, `EU`); a vendor elsewhere is a transfer.
    pub region: String,
    #[serde(default = "ClinicInfo::default_safeguards")]
    pub safeguards: Vec<String>,
}

impl ClinicInfo {
    /// A clinic with FaceVault's default safeguards.
    pub fn new(
        name: impl Into<String>,
        contact: impl Into<String>,
        privacy_officer: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            contact: contact.into(),
            privacy_officer: privacy_officer.into(),
            region: region.into(),
            safeguards: Self::default_safeguards(),
        }
    }

    /// The technical and organisational measures FaceVault itself implements (GDPR Art. 32).
    pub fn default_safeguards() -> Vec<String> {
        [
            "Each subject's data is encrypted with its own AES-256-GCM data key; destroying that key \
             (crypto-shredding) makes every copy unreadable, backups included.",
            "Data keys are wrapped by key-encryption keys kept in a key file encrypted under an \
             Argon2id-derived key; storage only ever holds ciphertext.",
            "Access is bound to a consented purpose and decided per request by Cedar policies for the \
             user's role; an opt-out, a limit-use request or a legal hold restricts it in code.",
            "A consent staff record for a purpose beyond care, or after the patient withdrew, grants \
             nothing until the patient confirms it or the privacy officer approves it against the \
             signed form; an opt-out is lifted by the patient only.",
            "Every access decision, allowed or denied, is written to a tamper-evident audit log \
             (RFC 9162 Merkle tree) with signed checkpoints.",
            "A retention engine destroys data when its purpose lapses, consent is withdrawn or \
             expires, or a legal limit is reached, and issues signed deletion certificates.",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// The three generated documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Documents {
    pub record_of_processing: RecordOfProcessing,
    pub retention_schedule: RetentionSchedule,
    pub consent_notices: ConsentNotices,
}

impl Documents {
    /// Generates every document from the configuration. `vendors` may come in any order.
    pub fn generate(catalogue: &Catalogue, vendors: &[Vendor], clinic: &ClinicInfo) -> Self {
        let mut vendors: Vec<&Vendor> = vendors.iter().collect();
        vendors.sort_by(|a, b| a.id.cmp(&b.id));
        Self {
            record_of_processing: RecordOfProcessing::generate(catalogue, &vendors, clinic),
            retention_schedule: RetentionSchedule::generate(catalogue, clinic),
            consent_notices: ConsentNotices::generate(catalogue, &vendors, clinic),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Record of processing

/// The record of processing activities (GDPR Art. 30(1)), which is also the data map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordOfProcessing {
    pub controller: Controller,
    pub purposes: Vec<ProcessingPurpose>,
    pub data_subjects: Vec<String>,
    pub data_categories: Vec<CategoryEntry>,
    pub recipients: Vec<Recipient>,
    pub transfers: Vec<Transfer>,
    pub retention: Vec<RetentionEntry>,
    pub retention_rules: Vec<String>,
    pub safeguards: Vec<String>,
}

/// Art. 30(1)(a).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Controller {
    pub name: String,
    pub contact: String,
    pub privacy_officer: String,
    pub region: String,
}

/// An enabled purpose (Art. 30(1)(b)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessingPurpose {
    pub id: PurposeId,
    pub description: String,
    pub legal_basis: String,
    pub share: bool,
    pub sale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
}

/// A category of personal data (Art. 30(1)(c)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CategoryEntry {
    pub id: DataCategory,
    pub description: String,
    pub biometric: bool,
}

/// A vendor that receives data (Art. 30(1)(d)), with its enabled allowed purposes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    pub role: VendorRole,
    pub region: String,
    pub purposes: Vec<PurposeId>,
    pub categories: Vec<DataCategory>,
    /// Its contract holds every term its role requires; if not, nothing is disclosed to it.
    pub contract_complete: bool,
}

/// A recipient outside the clinic's region (Art. 30(1)(e)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transfer {
    pub vendor: String,
    pub from: String,
    pub to: String,
}

/// The retention period of an enabled purpose (Art. 30(1)(f)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionEntry {
    pub purpose: PurposeId,
    pub retention: RetentionPeriod,
}

const SUBJECTS: &str = "Patients and prospective patients of the clinic whose face is scanned.";

fn retention_rules() -> Vec<String> {
    vec![
        "Each purpose keeps data for the period the subject's consent states (at most the period \
         listed), counted from the day consent was given, or until the purpose is satisfied or \
         the consent expires, whichever comes first."
            .to_owned(),
        "Illinois (BIPA 740 ILCS 14/15(a)): destroyed when the purpose is satisfied or 3 years after \
         the subject's last interaction with the clinic, whichever comes first."
            .to_owned(),
        "Texas (CUBI, Tex. Bus. & Com. Code 503.001(c)(3)): destroyed no later than 1 year after the \
         purpose expires."
            .to_owned(),
        "Withdrawal: destroyed on the day consent is withdrawn, in every jurisdiction.".to_owned(),
        "Legal holds (warrant, subpoena, litigation) suspend destruction until released. BIPA 15(a) \
         names only a valid warrant or subpoena issued by a court of competent jurisdiction, and \
         Texas's CUBI names no hold: a hold of another kind on such a subject still suspends \
         destruction, and is referred to counsel."
            .to_owned(),
        format!(
            "Audit records hold pseudonymous ids only and are kept {} (HIPAA 45 CFR 164.316(b)(2)(i)).",
            human(AUDIT_RETENTION)
        ),
    ]
}

fn enabled(catalogue: &Catalogue) -> impl Iterator<Item = &Purpose> {
    catalogue.iter().filter(|p| p.enabled)
}

fn same_region(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl RecordOfProcessing {
    fn generate(catalogue: &Catalogue, vendors: &[&Vendor], clinic: &ClinicInfo) -> Self {
        let purposes = enabled(catalogue)
            .map(|p| ProcessingPurpose {
                id: p.id.clone(),
                description: p.description.clone(),
                legal_basis: "explicit consent (GDPR Art. 6(1)(a), 9(2)(a))".to_owned(),
                share: p.share,
                sale: p.sale,
                vendor: p.vendor.clone(),
            })
            .collect();
        let recipients: Vec<Recipient> = vendors
            .iter()
            .map(|v| Recipient {
                id: v.id.to_string(),
                name: v.name.clone(),
                role: v.role,
                region: v.region.clone(),
                purposes: v
                    .purposes
                    .iter()
                    .filter(|p| catalogue.get(p.as_str()).is_some_and(|p| p.enabled))
                    .cloned()
                    .collect(),
                categories: v.categories.iter().copied().collect(),
                contract_complete: missing_terms(v).is_empty(),
            })
            .collect();
        let transfers = recipients
            .iter()
            .filter(|r| !same_region(&r.region, &clinic.region))
            .map(|r| Transfer { vendor: r.id.clone(), from: clinic.region.clone(), to: r.region.clone() })
            .collect();
        Self {
            controller: Controller {
                name: clinic.name.clone(),
                contact: clinic.contact.clone(),
                privacy_officer: clinic.privacy_officer.clone(),
                region: clinic.region.clone(),
            },
            purposes,
            data_subjects: vec![SUBJECTS.to_owned()],
            data_categories: DataCategory::ALL
                .iter()
                .map(|&c| CategoryEntry {
                    id: c,
                    description: c.description().to_owned(),
                    biometric: c.biometric(),
                })
                .collect(),
            recipients,
            transfers,
            retention: enabled(catalogue)
                .map(|p| RetentionEntry { purpose: p.id.clone(), retention: p.retention })
                .collect(),
            retention_rules: retention_rules(),
            safeguards: clinic.safeguards.clone(),
        }
    }

    fn layout(&self) -> Layout {
        let c = &self.controller;
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        let ids = |v: &[PurposeId]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
        let mut sections = vec![
            Section::new(
                "Controller",
                vec![Block::List(vec![
                    format!("Name: {}", c.name),
                    format!("Contact: {}", c.contact),
                    format!("Privacy officer: {}", c.privacy_officer),
                    format!("Region: {}", c.region),
                ])],
            ),
            Section::new(
                "Purposes",
                vec![table(
                    &["Purpose", "Description", "Legal basis", "Shares", "Sells", "Named recipient"],
                    self.purposes.iter().map(|p| {
                        vec![
                            p.id.to_string(),
                            p.description.clone(),
                            p.legal_basis.clone(),
                            yes_no(p.share),
                            yes_no(p.sale),
                            p.vendor.clone().unwrap_or_else(|| "none".into()),
                        ]
                    }),
                )],
            ),
            Section::new("Categories of data subjects", vec![Block::List(self.data_subjects.clone())]),
            Section::new(
                "Categories of personal data",
                vec![table(
                    &["Category", "Description", "Biometric"],
                    self.data_categories
                        .iter()
                        .map(|c| vec![c.id.to_string(), c.description.clone(), yes_no(c.biometric)]),
                )],
            ),
        ];
        let recipients = if self.recipients.is_empty() {
            vec![Block::Para("No vendor receives personal data.".into())]
        } else {
            vec![table(
                &["Vendor", "Name", "Role", "Region", "Purposes", "Categories", "Contract"],
                self.recipients.iter().map(|r| {
                    let cats: Vec<&str> = r.categories.iter().map(|c| c.id()).collect();
                    vec![
                        r.id.clone(),
                        r.name.clone(),
                        r.role.to_string(),
                        r.region.clone(),
                        if r.purposes.is_empty() { "none enabled".into() } else { ids(&r.purposes) },
                        cats.join(", "),
                        if r.contract_complete {
                            "complete".into()
                        } else {
                            "incomplete: nothing is disclosed".into()
                        },
                    ]
                }),
            )]
        };
        sections.push(Section::new("Recipients", recipients));
        let transfers = if self.transfers.is_empty() {
            vec![Block::Para(format!("No recipient is outside {}.", self.controller.region))]
        } else {
            vec![table(
                &["Vendor", "From", "To"],
                self.transfers.iter().map(|t| vec![t.vendor.clone(), t.from.clone(), t.to.clone()]),
            )]
        };
        sections.push(Section::new("Transfers outside the clinic's region", transfers));
        sections.push(Section::new(
            "Retention",
            vec![
                table(
                    &["Purpose", "Retention"],
                    self.retention.iter().map(|r| vec![r.purpose.to_string(), human(r.retention)]),
                ),
                Block::List(self.retention_rules.clone()),
            ],
        ));
        sections.push(Section::new("Safeguards", vec![Block::List(self.safeguards.clone())]));
        Layout {
            title: format!("Record of processing: {}", c.name),
            intro: vec![Block::Para(
                "The record of processing activities (GDPR Art. 30(1)) and data map, generated from \
                 the clinic's live FaceVault configuration."
                    .into(),
            )],
            sections,
        }
    }

    pub fn to_markdown(&self) -> String {
        self.layout().markdown()
    }
    pub fn to_html(&self) -> String {
        self.layout().html()
    }
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Retention schedule

/// The public retention schedule and destruction policy for biometric data (BIPA 15(a)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionSchedule {
    pub clinic: String,
    pub contact: String,
    pub schedule: Vec<ScheduleEntry>,
    pub rules: Vec<String>,
    pub destruction: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduleEntry {
    pub purpose: PurposeId,
    pub description: String,
    pub retention: RetentionPeriod,
}

impl RetentionSchedule {
    fn generate(catalogue: &Catalogue, clinic: &ClinicInfo) -> Self {
        Self {
            clinic: clinic.name.clone(),
            contact: clinic.privacy_officer.clone(),
            schedule: enabled(catalogue)
                .map(|p| ScheduleEntry {
                    purpose: p.id.clone(),
                    description: p.description.clone(),
                    retention: p.retention,
                })
                .collect(),
            rules: retention_rules(),
            destruction: vec![
                "Destruction is automatic: the FaceVault server enforces this schedule every day at a set \
                 time (03:00 UTC unless the clinic configures another), destroying what is due that \
                 day, and on starting it catches up a day it missed while stopped."
                    .to_owned(),
                "When every consented purpose of a subject has lapsed, the subject's data key is \
                 destroyed (crypto-shredding): every scan, measurement and image of the subject, \
                 in every copy and backup, becomes unreadable at once."
                    .to_owned(),
                "Scans and derived data kept only for purposes that lapsed earlier are deleted \
                 individually on the day they lapse."
                    .to_owned(),
                "Each destruction is recorded in the audit log and a signed deletion certificate \
                 is issued."
                    .to_owned(),
                "Biometric data is never sold, leased or traded (BIPA 740 ILCS 14/15(c)).".to_owned(),
            ],
        }
    }

    fn layout(&self) -> Layout {
        let schedule = if self.schedule.is_empty() {
            Block::Para("No purpose is enabled: no biometric data is collected.".into())
        } else {
            table(
                &["Purpose", "What it is for", "Kept at most"],
                self.schedule
                    .iter()
                    .map(|e| vec![e.purpose.to_string(), e.description.clone(), human(e.retention)]),
            )
        };
        Layout {
            title: format!("Biometric data retention schedule and destruction policy: {}", self.clinic),
            intro: vec![Block::Para(format!(
                "{} collects 3D facial scans, which are biometric identifiers, only with the \
                 subject's consent (in Illinois, a written release), and publishes this schedule under BIPA 740 ILCS 14/15(a). Questions: {}.",
                self.clinic, self.contact
            ))],
            sections: vec![
                Section::new("Retention schedule", vec![schedule]),
                Section::new(
                    "When biometric data is destroyed",
                    vec![
                        Block::Para("Biometric data is permanently destroyed under these rules:".into()),
                        Block::List(self.rules.clone()),
                    ],
                ),
                Section::new("How it is destroyed", vec![Block::List(self.destruction.clone())]),
            ],
        }
    }

    pub fn to_markdown(&self) -> String {
        self.layout().markdown()
    }
    pub fn to_html(&self) -> String {
        self.layout().html()
    }
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Consent notices

/// One consent notice text per jurisdiction, in [`Jurisdiction::ALL`] order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentNotices {
    pub clinic: String,
    pub notices: Vec<ConsentNotice>,
}

/// A generated notice: the exact text a subject is shown, what it states, and the purposes it
/// offers. The version is derived from the text, so a changed text has a new version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentNotice {
    #[serde(serialize_with = "ser_jurisdiction")]
    pub jurisdiction: Jurisdiction,
    pub law: String,
    pub version: String,
    pub sha256: String,
    pub purposes: Vec<PurposeId>,
    pub covers: Covers,
    pub text: String,
    #[serde(skip)]
    blocks: Vec<Block>,
}

/// What a notice states ([`NoticeCovers`], serialisable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Covers {
    pub purposes: bool,
    pub retention: bool,
    pub withdrawal: bool,
    pub limit_use: bool,
}

fn ser_jurisdiction<S: serde::Serializer>(j: &Jurisdiction, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(j)
}

impl ConsentNotice {
    /// The notice to put in a consent draft.
    pub fn notice(&self) -> Notice {
        let c = self.covers;
        let covers = NoticeCovers {
            purposes: c.purposes,
            retention: c.retention,
            withdrawal: c.withdrawal,
            limit_use: c.limit_use,
        };
        Notice::new(self.version.clone(), self.text.clone(), covers)
    }
}

impl ConsentNotices {
    /// The notice for `j`.
    pub fn get(&self, j: Jurisdiction) -> Option<&ConsentNotice> {
        self.notices.iter().find(|n| n.jurisdiction == j)
    }

    fn generate(catalogue: &Catalogue, vendors: &[&Vendor], clinic: &ClinicInfo) -> Self {
        let notices = Jurisdiction::ALL.iter().map(|&j| notice_for(j, catalogue, vendors, clinic)).collect();
        Self { clinic: clinic.name.clone(), notices }
    }

    fn layout(&self) -> Layout {
        Layout {
            title: format!("Consent notices: {}", self.clinic),
            intro: vec![Block::Para(
                "The consent notice shown to a subject before a scan, per jurisdiction, generated \
                 from the clinic's live FaceVault configuration. The version names the text's SHA-256."
                    .into(),
            )],
            sections: self
                .notices
                .iter()
                .map(|n| {
                    let mut blocks =
                        vec![Block::Para(format!("{} ({}). Version {}.", n.jurisdiction, n.law, n.version))];
                    blocks.extend(n.blocks.iter().cloned());
                    Section::new(&format!("Notice for {}", jurisdiction_name(n.jurisdiction)), blocks)
                })
                .collect(),
        }
    }

    pub fn to_markdown(&self) -> String {
        self.layout().markdown()
    }
    pub fn to_html(&self) -> String {
        self.layout().html()
    }
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }
}

fn jurisdiction_name(j: Jurisdiction) -> &'static str {
    match j {
        Jurisdiction::Il => "Illinois",
        Jurisdiction::Tx => "Texas",
        Jurisdiction::Wa => "Washington",
        Jurisdiction::Ca => "California",
        Jurisdiction::Eu => "the EU/EEA",
        Jurisdiction::Other => "other jurisdictions",
    }
}

fn law(j: Jurisdiction) -> &'static str {
    match j {
        Jurisdiction::Il => "BIPA, 740 ILCS 14",
        Jurisdiction::Tx => "CUBI, Tex. Bus. & Com. Code 503.001",
        Jurisdiction::Wa => "My Health My Data Act, RCW 19.373",
        Jurisdiction::Ca => "CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.",
        Jurisdiction::Eu => "GDPR Art. 7, 9(2)(a), 13",
        Jurisdiction::Other => "FaceVault baseline",
    }
}

fn notice_for(
    j: Jurisdiction,
    catalogue: &Catalogue,
    vendors: &[&Vendor],
    clinic: &ClinicInfo,
) -> ConsentNotice {
    use Jurisdiction::*;
    // BIPA 15(c) forbids any sale: an Illinois notice does not offer a sale purpose.
    let offered: Vec<&Purpose> = enabled(catalogue).filter(|p| !(j == Il && p.sale)).collect();
    let mut b = Vec::new();
    b.push(Block::Para(format!(
        "{} asks for your consent to collect and store a 3D scan of your face, which is a scan of \
         your face geometry (biometric data), and data derived from it. We collect it only if you \
         agree, before the scan is taken.",
        clinic.name
    )));
    if offered.is_empty() {
        b.push(Block::Para("No purpose is currently offered: we will not scan your face.".into()));
    } else {
        b.push(Block::Para(
            "We use it only for the purposes you tick below. Each is kept at most as long as stated, \
             counted from the day you consent, and is destroyed earlier when its purpose is satisfied:"
                .into(),
        ));
        b.push(Block::List(
            offered
                .iter()
                .map(|p| {
                    let mut line =
                        format!("{}: {} Kept at most {}.", p.id, p.description, human(p.retention));
                    if let Some(v) = &p.vendor {
                        line += &format!(" Disclosed to {v}.");
                    }
                    if p.sale {
                        line += " This purpose sells your data and needs a separate signed authorization.";
                    } else if p.share {
                        line += " This purpose shares your data and needs your separate consent to share.";
                    }
                    line
                })
                .collect(),
        ));
    }
    let offers = |v: &Vendor| v.purposes.iter().any(|id| offered.iter().any(|p| &p.id == id));
    // A vendor whose contract is incomplete receives nothing (check_disclosure refuses it).
    let receiving: Vec<&&Vendor> =
        vendors.iter().filter(|v| missing_terms(v).is_empty() && offers(v)).collect();
    let recipients: Vec<String> =
        receiving.iter().map(|v| format!("{} ({}, {})", v.name, v.role, v.region)).collect();
    if !recipients.is_empty() {
        b.push(Block::Para(
            "These vendors receive your data, each only for the purposes its contract names:".into(),
        ));
        b.push(Block::List(recipients));
    }
    let any_sale = offered.iter().any(|p| p.sale);
    let any_share =
        offered.iter().any(|p| p.share) || receiving.iter().any(|v| v.role == VendorRole::ThirdParty);
    b.push(Block::Para(match (any_sale, any_share) {
        (false, false) => "We do not sell or share your biometric data.".to_owned(),
        (false, true) => {
            "We do not sell your biometric data. We share it only for the purposes marked as sharing, \
             and only if you give your separate consent to share."
                .to_owned()
        }
        (true, _) => "We sell your data only for the purposes marked as selling, and only with your \
                      separate signed authorization, which expires within one year."
            .to_owned(),
    }));
    let withdraw = format!(
        "You may withdraw your consent at any time, as easily as you gave it, by telling us in \
         person or by contacting {}. Withdrawal does not affect what was done before it; on the day \
         you withdraw we stop using your scan and destroy it, unless a court order requires us to \
         keep it.",
        clinic.privacy_officer
    );
    b.push(Block::Para(withdraw));
    match j {
        Il => b.push(Block::Para(
            "Illinois: this written release is required by BIPA, 740 ILCS 14/15(b). We never sell, \
             lease, trade or otherwise profit from your biometric data (15(c)) and disclose it only \
             with your consent or as the law requires (15(d)). Our retention schedule is public: \
             your biometric data is destroyed when the purpose is satisfied or within 3 years of \
             your last interaction with us, whichever comes first (15(a))."
                .into(),
        )),
        Tx => b.push(Block::Para(
            "Texas: we tell you before capturing your biometric identifier and capture it only with \
             your consent (Tex. Bus. & Com. Code 503.001(b)). We do not sell or lease it \
             (503.001(c)), and destroy it within a reasonable time, no later than one \
             year after the purpose for collecting it expires."
                .into(),
        )),
        Wa => b.push(Block::Para(format!(
            "Washington: under the My Health My Data Act your consent to collect is separate from any \
             consent to share (RCW 19.373.030). You have the right to confirm, access and delete your \
             consumer health data and to withdraw consent (RCW 19.373.040); our consumer health data \
             privacy policy is available from {}.",
            clinic.contact
        ))),
        Ca => {
            b.push(Block::Para(
                "California: this notice at collection lists the categories of sensitive personal \
                 information collected (your face scan and data derived from it), the purposes, and \
                 how long each is kept (Cal. Civ. Code 1798.100(a))."
                    .into(),
            ));
            b.push(Block::Para(format!(
                "Your right to limit: you may direct us to limit the use and disclosure of your \
                 sensitive personal information to what is necessary to provide the services you \
                 asked for (Cal. Civ. Code 1798.121). To use it, tick \"Limit the use of my \
                 sensitive personal information\" on this form or contact {}. You may also opt out \
                 of the sale or sharing of your personal information (1798.120); a Global Privacy \
                 Control signal from your browser while you are logged in to the patient portal is \
                 honoured as that opt-out (11 CCR 7025), and only you can lift it \
                 (1798.135(c)(4)). You may request access, correction or deletion.",
                clinic.privacy_officer
            )));
        }
        Eu => b.push(Block::Para(format!(
            "EU/EEA: the controller is {} ({}); contact the data protection officer at {}. The legal \
             basis is your explicit consent (GDPR Art. 9(2)(a)); you may withdraw it at any time \
             (Art. 7(3)). You have the right of access, rectification, erasure, restriction, data \
             portability and objection (Art. 15-21), and may lodge a complaint with a supervisory \
             authority (Art. 77).",
            clinic.name, clinic.contact, clinic.privacy_officer
        ))),
        Other => {}
    }
    let text = plain_text(&b);
    let sha256: String = Sha256::digest(text.as_bytes()).iter().map(|x| format!("{x:02x}")).collect();
    ConsentNotice {
        jurisdiction: j,
        law: law(j).to_owned(),
        version: format!("{}-{}", j.to_string().to_ascii_lowercase(), &sha256[..12]),
        sha256,
        purposes: offered.iter().map(|p| p.id.clone()).collect(),
        covers: Covers { purposes: true, retention: true, withdrawal: true, limit_use: j == Ca },
        text,
        blocks: b,
    }
}

/// "3 years", "1 month", "30 days".
fn human(p: RetentionPeriod) -> String {
    let (n, unit) = match p {
        RetentionPeriod::Days(n) => (n, "day"),
        RetentionPeriod::Months(n) => (n, "month"),
        RetentionPeriod::Years(n) => (n, "year"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering: one layout, three outputs (plain text for notices, Markdown, HTML).

#[derive(Clone, Debug, PartialEq, Eq)]
enum Block {
    Para(String),
    List(Vec<String>),
    Table { head: Vec<String>, rows: Vec<Vec<String>> },
}

fn table(head: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Block {
    Block::Table { head: head.iter().map(|&h| h.to_owned()).collect(), rows: rows.collect() }
}

#[derive(Debug)]
struct Section {
    heading: String,
    blocks: Vec<Block>,
}

impl Section {
    fn new(heading: &str, blocks: Vec<Block>) -> Self {
        Self { heading: heading.to_owned(), blocks }
    }
}

#[derive(Debug)]
struct Layout {
    title: String,
    intro: Vec<Block>,
    sections: Vec<Section>,
}

/// A notice's exact text: paragraphs and `- ` list items, separated by blank lines.
fn plain_text(blocks: &[Block]) -> String {
    let parts: Vec<String> = blocks
        .iter()
        .map(|b| match b {
            Block::Para(p) => one_line(p),
            Block::List(items) => {
                items.iter().map(|i| format!("- {}", one_line(i))).collect::<Vec<_>>().join("\n")
            }
            Block::Table { head, rows } => std::iter::once(head)
                .chain(rows)
                .map(|r| r.iter().map(|c| one_line(c)).collect::<Vec<_>>().join("; "))
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect();
    parts.join("\n\n") + "\n"
}

/// Collapses runs of whitespace (newlines included) to one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes text for Markdown (CommonMark backslash escapes), on one line.
fn md(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        let special =
            matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '&' | '~' | '!')
                || (i == 0 && matches!(c, '-' | '+' | '='));
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One line of text escaped for HTML element content and attribute values.
fn html(s: &str) -> String {
    escape_html(&one_line(s))
}

/// Text made safe for HTML element content and attribute values (`& < > " '`); the one escape
/// of every HTML FaceVault generates (documents here, the access package's summary).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

impl Layout {
    fn markdown(&self) -> String {
        let mut out = format!("# {}\n", md(&self.title));
        let blocks = |out: &mut String, blocks: &[Block]| {
            for b in blocks {
                out.push('\n');
                match b {
                    Block::Para(p) => *out += &format!("{}\n", md(p)),
                    Block::List(items) => {
                        for i in items {
                            *out += &format!("- {}\n", md(i));
                        }
                    }
                    Block::Table { head, rows } => {
                        let row = |r: &[String]| {
                            format!("| {} |\n", r.iter().map(|c| md(c)).collect::<Vec<_>>().join(" | "))
                        };
                        *out += &row(head);
                        *out += &format!("|{}\n", " --- |".repeat(head.len()));
                        for r in rows {
                            *out += &row(r);
                        }
                    }
                }
            }
        };
        blocks(&mut out, &self.intro);
        for s in &self.sections {
            out += &format!("\n## {}\n", md(&s.heading));
            blocks(&mut out, &s.blocks);
        }
        out
    }

    fn html(&self) -> String {
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n</head>\n<body>\n<h1>{t}</h1>\n",
            t = html(&self.title)
        );
        let blocks = |out: &mut String, blocks: &[Block]| {
            for b in blocks {
                match b {
                    Block::Para(p) => *out += &format!("<p>{}</p>\n", html(p)),
                    Block::List(items) => {
                        out.push_str("<ul>\n");
                        for i in items {
                            *out += &format!("<li>{}</li>\n", html(i));
                        }
                        out.push_str("</ul>\n");
                    }
                    Block::Table { head, rows } => {
                        out.push_str("<table>\n<thead>\n<tr>");
                        for h in head {
                            *out += &format!("<th>{}</th>", html(h));
                        }
                        out.push_str("</tr>\n</thead>\n<tbody>\n");
                        for r in rows {
                            out.push_str("<tr>");
                            for c in r {
                                *out += &format!("<td>{}</td>", html(c));
                            }
                            out.push_str("</tr>\n");
                        }
                        out.push_str("</tbody>\n</table>\n");
                    }
                }
            }
        };
        blocks(&mut out, &self.intro);
        for s in &self.sections {
            out += &format!("<h2>{}</h2>\n", html(&s.heading));
            blocks(&mut out, &s.blocks);
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}
