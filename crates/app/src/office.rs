//! The privacy office's configuration and reports: the recipient registry (`vendors.toml`:
//! vendors under contract and health care providers) and adding to it, the one disclosure path
//! of a scan out of the vault (to a registered recipient, the patient or the clinic's own
//! record; decided by the policy, then checked against the recipient's contract or treatment
//! basis, the consent and any opt-out, recorded before the bytes are returned), the documents generated from the live configuration (`clinic.toml`),
//! and the posture report (`posture.toml`). The texts come through [`crate::ClinicFiles`].

use facevault_domain::posture::{assess, HoldOutsideStatute, PostureReport};
use facevault_domain::settings;
use facevault_domain::{
    check_disclosure, hold_standing, missing_terms, DataCategory, DisclosureKind, Documents, Timestamp,
    VendorRegistry, RESERVED_RECIPIENTS,
};
use facevault_policy::{gates, Action, Role};
use facevault_vault::{BlobStore, Disclosure, MetadataStore, Node, ScanId, SubjectId, Target};
use zeroize::Zeroizing;

use crate::access::Known;
use crate::error::{AppError, ErrorKind};
use crate::journal::Record;
use crate::scans::ScanExport;
use crate::session::Session;
use crate::App;

/// The vendor registry's file.
pub const VENDORS_FILE: &str = "vendors.toml";
/// Who the clinic is, for the documents.
pub const CLINIC_FILE: &str = "clinic.toml";
/// The clinic's risk acceptance criteria.
pub const POSTURE_FILE: &str = "posture.toml";

/// Which generated document is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// The record of processing (GDPR Art. 30): the privacy office's.
    RecordOfProcessing,
    /// The public biometric retention schedule (BIPA 15(a)).
    RetentionSchedule,
    /// The consent notices per jurisdiction: public.
    ConsentNotices,
    /// All three (the privacy office generating them to publish).
    All,
}

impl Document {
    /// The document's name (`record-of-processing`, `retention-schedule`, `consent-notices`).
    pub fn parse(name: &str) -> Option<Document> {
        Some(match name {
            "record-of-processing" => Document::RecordOfProcessing,
            "retention-schedule" => Document::RetentionSchedule,
            "consent-notices" => Document::ConsentNotices,
            _ => return None,
        })
    }

    fn object(self) -> String {
        match self {
            Document::RecordOfProcessing => "document:record-of-processing".into(),
            Document::RetentionSchedule => "document:retention-schedule".into(),
            Document::ConsentNotices => "document:consent-notices".into(),
            Document::All => "documents".into(),
        }
    }

    /// Anyone logged in may read it.
    fn is_public(self) -> bool {
        matches!(self, Document::RetentionSchedule | Document::ConsentNotices)
    }
}

/// A scan that left the vault, recorded.
#[derive(Debug)]
pub struct Disclosed {
    /// The scan as binary PLY, for the recipient.
    pub ply: Zeroizing<Vec<u8>>,
    /// What the disclosure was: `export` (to the clinic's own record), `to-subject`,
    /// `treatment` (to a provider), `business-purpose`, `share` or `sale`.
    pub kind: String,
}

/// A configuration text the clinic wrote wrong: named, for whoever runs FaceVault to fix.
fn misconfigured(name: &str, e: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorKind::Misconfigured, format!("{name}: {e}"))
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// The registry from `vendors.toml` (empty without it), checked against the catalogue.
    pub fn registry(&self) -> Result<VendorRegistry, AppError> {
        let text = self.files.config(VENDORS_FILE)?.unwrap_or_default();
        settings::vendor_registry(&text, self.policy.catalogue()).map_err(|e| misconfigured(VENDORS_FILE, e))
    }

    /// The vendor registry (the privacy office).
    pub async fn vendors(&self, s: &Session) -> Result<VendorRegistry, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::COMPLIANCE, "vendor.list", "administration", "vendors".into(), None)?;
            let reg = self.registry()?;
            jot.change(
                "vendor.list",
                "administration",
                "vendors".into(),
                format!("{} listed", reg.vendors().len()),
            );
            Ok(reg)
        })
    }

    /// Adds the `[[vendor]]` tables of `text` (named `source` in errors) to the registry (the
    /// privacy office); returns the registry they make. Checked alone first, then with the
    /// registry, so an error names where it is.
    pub async fn add_vendors(
        &self,
        s: &Session,
        source: &str,
        text: &str,
    ) -> Result<VendorRegistry, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::COMPLIANCE, "vendor.add", "administration", "vendors".into(), None)?;
            let catalogue = self.policy.catalogue();
            let new = settings::vendor_registry(text, catalogue).map_err(|e| misconfigured(source, e))?;
            let current = self.files.config(VENDORS_FILE)?.unwrap_or_default();
            let combined = format!("{}\n{}\n", current.trim_end(), text.trim_end());
            settings::vendor_registry(&combined, catalogue).map_err(|e| misconfigured(source, e))?;
            self.files.write_config(VENDORS_FILE, combined.trim_start())?;
            for v in new.vendors() {
                let missing = missing_terms(v);
                jot.change(
                    "vendor.add",
                    "administration",
                    format!("vendor:{}", v.id.as_str()),
                    format!("{:?} in {}; {} contract term(s) missing", v.role, v.region, missing.len()),
                );
            }
            Ok(new)
        })
    }

    /// A scan leaving the vault: the one disclosure path, for `scan export` and `disclose`
    /// alike. The recipient is `clinic` (the clinic's own record: no disclosure outside it),
    /// `subject` (the patient themself: their right of access when it is the patient asking),
    /// or a registered recipient of `vendors.toml` (a vendor under contract, or a health care
    /// provider treating the subject); anything else is refused naming how to register it.
    /// The policy decides the export (a share when the disclosure is one), then the registry's
    /// rules (contract, purpose, category, opt-out, consent and share consent); the disclosure
    /// is recorded before the bytes are returned, and a registered recipient is sent a notice
    /// when the subject is erased.
    pub async fn disclose_scan(
        &self,
        s: &Session,
        scan: ScanId,
        x: ScanExport,
    ) -> Result<Disclosed, AppError> {
        journaled!(self, s, |jot| {
            if x.purpose.trim().is_empty() {
                return Err(AppError::field("purpose", "must not be empty"));
            }
            let recipient = x.recipient.trim();
            if recipient.is_empty() {
                return Err(AppError::field("recipient", "must not be empty"));
            }
            let purpose = s.purpose(Some(&x.purpose), crate::CLINICAL)?;
            let target = Target::Node(Node::Scan(scan));
            let known = Known::Target(target);
            let glass = x.break_glass.as_deref();
            if RESERVED_RECIPIENTS.contains(&recipient) {
                let (kind, grant) = if recipient == "subject" {
                    let grant = if s.role == Role::Patient {
                        self.decide_right_of_access(s, &jot, "scan.export", &purpose, known).await?
                    } else {
                        self.decide(s, &jot, "scan.export", Action::Export, &purpose, known, glass).await?
                    };
                    ("to-subject", grant)
                } else {
                    (
                        "export",
                        self.decide(s, &jot, "scan.export", Action::Export, &purpose, known, glass).await?,
                    )
                };
                let ply =
                    Zeroizing::new(self.vault.disclose_scan(&grant, scan, recipient, None, kind).await?);
                jot.change(
                    "scan.disclosed",
                    &purpose,
                    target.object_id().0,
                    format!("to {recipient} as {kind}"),
                );
                return Ok(Disclosed { ply, kind: kind.to_owned() });
            }
            let reg = self.registry()?;
            let Some(v) = reg.get(recipient) else {
                let why = format!(
                    "recipient {recipient:?} is not registered: a scan leaves the clinic only to a registered \
                     recipient (the privacy office adds it with `facevault vendor add FILE`, a [[vendor]] table \
                     in {VENDORS_FILE}: role provider for a health care provider treating the patient, or a \
                     vendor under contract), to `subject` (the patient) or to `clinic` (its own record)"
                );
                jot.push(Record::denied("scan.disclose", &purpose, target.object_id().0, why.clone()));
                return Err(AppError::field("recipient", why));
            };
            let p = self
                .policy
                .catalogue()
                .get(&purpose)
                .ok_or_else(|| AppError::field("purpose", format!("{purpose:?} is not in the catalogue")))?
                .clone();
            // A disclosure to a service provider under a complete contract for a purpose it
            // names, or to a provider for treatment, is not a share (CCPA), so the policy decides
            // it as an export; anything else as a share, which an opt-out refuses.
            let action =
                if DisclosureKind::of(v, &p).is_sale_or_share() { Action::Share } else { Action::Export };
            let grant = self.decide(s, &jot, "scan.disclose", action, &purpose, known, glass).await?;
            let subject = self.vault.scan(scan).await?.subject;
            let consent = self.vault.consent(subject).await?;
            let opted_out = self.vault.governance(subject).await?.opt_out.is_some();
            let kind = match check_disclosure(
                v,
                &p,
                DataCategory::FaceScan,
                consent.as_ref().map(|c| &c.record),
                opted_out,
                chrono::Utc::now(),
            ) {
                Ok(kind) => kind,
                Err(refusal) => {
                    let reason = format!("{refusal} ({})", refusal.source());
                    jot.push(Record::denied(
                        "scan.disclose",
                        &purpose,
                        target.object_id().0,
                        format!("recipient {}: {reason}", v.id.as_str()),
                    ));
                    return Err(AppError::denied(format!(
                        "disclosure of scan {scan} to {} refused: {reason}",
                        v.id.as_str()
                    )));
                }
            };
            let kind = match kind {
                DisclosureKind::BusinessPurpose(_) => "business-purpose".to_owned(),
                DisclosureKind::Treatment => "treatment".to_owned(),
                k => format!("{k:?}").to_lowercase(),
            };
            let ply = Zeroizing::new(
                self.vault.disclose_scan(&grant, scan, v.id.as_str(), Some(v.id.as_str()), &kind).await?,
            );
            jot.change(
                "scan.disclosed",
                &purpose,
                target.object_id().0,
                format!("to {} ({}) as {kind}", v.id.as_str(), v.role),
            );
            Ok(Disclosed { ply, kind })
        })
    }

    /// The disclosures of a subject's data (the accounting of disclosures): the care team, and
    /// the patient themself.
    pub async fn disclosures(&self, s: &Session, subject: SubjectId) -> Result<Vec<Disclosure>, AppError> {
        journaled!(self, s, |jot| {
            let object = format!("subject:{subject}");
            let mut roles = gates::CARE.to_vec();
            roles.push(facevault_policy::Role::Patient);
            self.gate(s, &jot, &roles, "disclosure.list", "administration", object.clone(), Some(subject))?;
            // An unknown subject is not found, not an empty list.
            self.vault.scans_of(subject).await?;
            let out = self.vault.disclosures_of(subject).await?;
            jot.change("disclosure.list", "administration", object, format!("{} listed", out.len()));
            Ok(out)
        })
    }

    /// The record of processing, the retention schedule and the consent notices, generated
    /// from the live configuration (`how` says in what form they are wanted, for the audit
    /// log). The public ones to anyone; the record of processing and all three together to the
    /// privacy office. Needs `clinic.toml`.
    pub async fn documents(&self, s: &Session, which: Document, how: &str) -> Result<Documents, AppError> {
        journaled!(self, s, |jot| {
            if !which.is_public() {
                self.gate(s, &jot, gates::COMPLIANCE, "docs.read", "administration", which.object(), None)?;
            }
            let text = self.files.config(CLINIC_FILE)?.ok_or_else(|| {
                AppError::not_found(format!(
                    "the clinic has not written {CLINIC_FILE} in the vault directory yet (name, contact, \
                     privacy_officer, region; see docs/examples/clinic.toml)"
                ))
            })?;
            let clinic = settings::clinic_info(&text).map_err(|e| misconfigured(CLINIC_FILE, e))?;
            let reg = self.registry()?;
            let docs = Documents::generate(self.policy.catalogue(), reg.vendors(), &clinic);
            jot.change("docs.read", "administration", which.object(), format!("generated as {how}"));
            Ok(docs)
        })
    }

    /// The legal holds open on `at` of a kind the subject's law does not name as a ground to
    /// delay destruction (BIPA 15(a) names a warrant or subpoena; CUBI none): they still
    /// suspend destruction, and the posture report flags them for counsel.
    async fn holds_outside_statute(&self, at: Timestamp) -> Result<Vec<HoldOutsideStatute>, AppError> {
        let mut out = Vec::new();
        for subject in self.vault.subject_ids().await? {
            let holds = self.vault.governance(subject).await?.holds;
            let open: Vec<_> =
                holds.iter().filter(|h| h.placed <= at && h.released.is_none_or(|r| r > at)).collect();
            if open.is_empty() {
                continue;
            }
            let j = self.jurisdiction_of(subject).await?;
            for h in open {
                let standing = hold_standing(j, h.kind);
                if !standing.within_statute {
                    out.push(HoldOutsideStatute {
                        subject: subject.to_string(),
                        kind: h.kind.to_string(),
                        reference_sha256: crate::consents::reference_sha256(&h.reference),
                        placed: h.placed.date_naive(),
                        source: format!("{j}: {}", standing.source),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The posture report as of `at` (default now): the risk register from the live data, the
    /// requests and the audit log's break-glass uses, scored against `posture.toml`.
    pub async fn posture(&self, s: &Session, at: Option<&str>) -> Result<PostureReport, AppError> {
        journaled!(self, s, |jot| {
            self.gate(
                s,
                &jot,
                gates::COMPLIANCE,
                "posture.report",
                "administration",
                "posture".into(),
                None,
            )?;
            let text = self.files.config(POSTURE_FILE)?;
            let criteria =
                settings::risk_criteria(text.as_deref()).map_err(|e| misconfigured(POSTURE_FILE, e))?;
            let at = match at {
                Some(d) => crate::time::parse_date(d)
                    .ok_or_else(|| AppError::field("at", "not a YYYY-MM-DD date"))?
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc(),
                None => crate::time::now_ms(),
            };
            let registry = self.registry()?;
            let break_glass = self.journal.read(|l| l.break_glass_uses()).await??;
            let mut input = self.vault.posture_input(at, &registry, &crate::calendar(), break_glass).await?;
            input.holds_outside_statute = self.holds_outside_statute(at).await?;
            let report = assess(&input, &criteria);
            let m = &report.summary;
            jot.change(
                "posture.report",
                "administration",
                "posture".into(),
                format!(
                    "risk register as of {}: {} finding(s) with records, {} not acceptable (acceptable score {})",
                    report.at, m.findings_with_records, m.unacceptable, criteria.acceptable_score
                ),
            );
            Ok(report)
        })
    }
}
