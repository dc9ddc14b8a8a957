//! The privacy posture report: the risk register behind a CPRA risk assessment or a DPIA,
//! computed from the live data the caller gathers into a [`PostureInput`].
//!
//! Every category of finding is always in the register, with no records if nothing was found
//! (likelihood 1), so the register is complete. Each risk is scored the Duty of Care Risk
//! Analysis (DoCRA) way, from the point of view of both parties who can be harmed:
//!
//! ```text
//! score = likelihood x max(impact to the patient, impact to the clinic)      (1..=25)
//! acceptable  <=>  score <= criteria.acceptable_score
//! ```
//!
//! Likelihood (1 rare .. 5 almost certain) comes from how many records the finding has (see
//! [`likelihood`]); the impacts (1 negligible .. 5 catastrophic) are per category and stated
//! here, raised where the data is biometric (BIPA's liquidated damages of $1,000/$5,000 per
//! violation). Severity follows the score: low 1-5, medium 6-11, high 12-19, critical 20-25.
//! The clinic's acceptance criteria ([`RiskCriteria`]) come from `posture.toml` (parsed by the
//! caller); the defaults accept a risk no greater than a foreseeable (3) harm of minor (2)
//! impact, score 6, the example criterion of CIS RAM, DoCRA's reference method.
//!
//! Automated processing (simulations, measurements, renders, inferences computed by software)
//! is not a violation but is flagged as such (GDPR art. 22, CPRA automated decision-making), so
//! the assessment names it.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::{Date, Timestamp};

/// A stored object whose retention date has passed and that no legal hold suspends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastRetention {
    pub subject: String,
    /// The object (`scan:<id>`, `derivative:<id>`) or the subject itself (`subject:<id>`).
    pub object: String,
    pub due: Date,
    /// The rule that set the date (e.g. `purpose retention`, `BIPA 3 years`).
    pub rule: String,
    /// Biometric data (a face scan or anything computed from one).
    pub biometric: bool,
}

/// A subject's current consent that no longer passes the capture check of its jurisdiction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentGap {
    pub subject: String,
    pub jurisdiction: String,
    /// The first element missing, as the capture check names it.
    pub element: String,
}

/// A registered vendor whose contract lacks terms its role requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorGap {
    pub vendor: String,
    /// The ids of the missing contract terms.
    pub missing: Vec<String>,
}

/// An emergency (break-glass) access recorded in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassUse {
    /// The audit log entry index.
    pub entry: u64,
    pub actor: String,
    pub object: String,
    /// The entry's time as the log states it.
    pub at: String,
}

/// A data-subject request whose deadline has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverdueRequest {
    pub id: String,
    pub kind: String,
    pub law: String,
    /// The obligation overdue (acknowledge, respond, purge backups).
    pub obligation: String,
    pub due: Date,
}

/// A disclosure the subject's consent did not cover, or made to a vendor missing terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UncoveredDisclosure {
    pub subject: String,
    pub node: String,
    /// The vendor id, else the recipient as recorded.
    pub recipient: String,
    pub purpose: String,
    pub at: Timestamp,
    /// Why it is a finding.
    pub why: String,
}

/// An output of automated processing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutomatedOutput {
    pub derivative: String,
    pub subject: String,
    /// measurements, mesh, render, inference.
    pub kind: String,
    /// The software that produced it, with its version.
    pub producer: String,
}

/// An open legal hold of a kind the subject's law does not name as a ground to delay
/// destruction: it still suspends destruction, and counsel decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldOutsideStatute {
    pub subject: String,
    /// warrant, subpoena or litigation hold.
    pub kind: String,
    /// The SHA-256 of the hold's reference (never the docket itself).
    pub reference_sha256: String,
    pub placed: Date,
    /// The law and provision the hold is outside of.
    pub source: String,
}

/// What the report is computed from: the live data, gathered by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostureInput {
    pub at: Timestamp,
    pub past_retention: Vec<PastRetention>,
    pub consents_missing_elements: Vec<ConsentGap>,
    pub vendors_missing_terms: Vec<VendorGap>,
    pub break_glass: Vec<BreakGlassUse>,
    pub overdue_requests: Vec<OverdueRequest>,
    pub disclosures_without_consent: Vec<UncoveredDisclosure>,
    pub automated_outputs: Vec<AutomatedOutput>,
    pub holds_outside_statute: Vec<HoldOutsideStatute>,
}

/// The clinic's risk acceptance criteria (`posture.toml`). A risk is acceptable when its
/// score (likelihood x the larger impact) is at most `acceptable_score`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RiskCriteria {
    /// Default 6: a foreseeable (3) harm of minor (2) impact.
    #[serde(default = "default_acceptable_score")]
    pub acceptable_score: u8,
    /// The clinic's own statement of its criteria, printed in the report.
    #[serde(default = "default_statement")]
    pub statement: String,
}

fn default_acceptable_score() -> u8 {
    6
}

fn default_statement() -> String {
    "We accept a risk when its likelihood times its worst impact, to a patient or to the clinic, \
     is no more than 6: a foreseeable harm of minor impact."
        .into()
}

impl Default for RiskCriteria {
    fn default() -> Self {
        Self { acceptable_score: default_acceptable_score(), statement: default_statement() }
    }
}

impl RiskCriteria {
    /// Checks the threshold lies on the 1..=25 scale of a score.
    pub fn validate(&self) -> Result<(), String> {
        if (1..=25).contains(&self.acceptable_score) {
            Ok(())
        } else {
            Err(format!("acceptable-score {} is not on the risk scale 1 to 25", self.acceptable_score))
        }
    }
}

/// What the register is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    PastRetention,
    ConsentMissingElements,
    VendorMissingTerms,
    BreakGlass,
    OverdueRequests,
    DisclosureWithoutConsent,
    AutomatedProcessing,
    HoldOutsideStatute,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::PastRetention,
        Category::ConsentMissingElements,
        Category::VendorMissingTerms,
        Category::BreakGlass,
        Category::OverdueRequests,
        Category::DisclosureWithoutConsent,
        Category::AutomatedProcessing,
        Category::HoldOutsideStatute,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Category::PastRetention => "past-retention",
            Category::ConsentMissingElements => "consent-missing-elements",
            Category::VendorMissingTerms => "vendor-missing-terms",
            Category::BreakGlass => "break-glass",
            Category::OverdueRequests => "overdue-requests",
            Category::DisclosureWithoutConsent => "disclosure-without-consent",
            Category::AutomatedProcessing => "automated-processing",
            Category::HoldOutsideStatute => "hold-outside-statute",
        }
    }

    /// (impact to the patient, impact to the clinic), 1..=5, when the data is not biometric.
    fn impacts(self) -> (u8, u8) {
        match self {
            // Data kept longer than promised: exposure in a breach; regulators' fines.
            Category::PastRetention => (3, 3),
            // BIPA 15(b) private right of action; capture without informed consent.
            Category::ConsentMissingElements => (3, 4),
            // A processor without contract terms: CCPA 1798.100(d), GDPR art. 28.
            Category::VendorMissingTerms => (3, 4),
            // An emergency access: justified or not, a patient's record was opened outside the rules.
            Category::BreakGlass => (3, 2),
            // CCPA / GDPR / MHMDA deadlines missed: the patient's right is delayed; fines.
            Category::OverdueRequests => (3, 3),
            // BIPA 15(d): disclosure without consent, liquidated damages per disclosure.
            Category::DisclosureWithoutConsent => (5, 5),
            // Outputs computed by software: a wrong inference can mislead a treatment decision.
            Category::AutomatedProcessing => (2, 2),
            // Data kept past a statutory deadline under a hold the statute does not name:
            // liability to the patient's claim, against spoliation if destroyed.
            Category::HoldOutsideStatute => (2, 4),
        }
    }

    fn safeguard(self) -> &'static str {
        match self {
            Category::PastRetention => {
                "Retention engine: `facevault retention plan` daily and `retention enforce` (crypto-shred, \
                 signed deletion certificates); legal holds suspend it."
            }
            Category::ConsentMissingElements => {
                "Capture check per jurisdiction before every capture; renew expired consents, refuse captures \
                 until then."
            }
            Category::VendorMissingTerms => {
                "Vendor registry: nothing is disclosed to a vendor missing required terms; amend the contract."
            }
            Category::BreakGlass => {
                "Break-glass accesses last one hour, are flagged in the audit log and reviewed by the privacy \
                 officer (`facevault audit list --flagged`)."
            }
            Category::OverdueRequests => {
                "Request tracking with deadlines per law (`facevault request list --due-within`); complete or \
                 extend with notice."
            }
            Category::DisclosureWithoutConsent => {
                "Policy, consent and vendor checks before every disclosure, recorded before the file is \
                 written; notify and remediate any past disclosure found here."
            }
            Category::AutomatedProcessing => {
                "Lineage records the producer and parameters of every output; a clinician reviews each before \
                 use; the access export discloses the logic (GDPR art. 15(1)(h))."
            }
            Category::HoldOutsideStatute => {
                "The hold still suspends destruction (destroying evidence is worse); counsel obtains a warrant \
                 or subpoena the statute names, or releases the hold, or records why keeping the data is lawful."
            }
        }
    }
}

/// How bad a finding is, from its score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn of_score(score: u8) -> Severity {
        match score {
            0..=5 => Severity::Low,
            6..=11 => Severity::Medium,
            12..=19 => Severity::High,
            _ => Severity::Critical,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A risk scored the DoCRA way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// 1 rare, 2 unlikely, 3 foreseeable, 4 expected, 5 almost certain.
    pub likelihood: u8,
    /// 1 negligible .. 5 catastrophic, to the patient.
    pub impact_patient: u8,
    /// 1 negligible .. 5 catastrophic, to the clinic (its mission, obligations and finances).
    pub impact_clinic: u8,
    /// likelihood x max(impact_patient, impact_clinic).
    pub score: u8,
    pub safeguard: String,
    /// score <= the criteria's acceptable score.
    pub acceptable: bool,
}

/// One record a finding concerns: its id and what about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingRecord {
    pub id: String,
    pub detail: String,
}

/// One entry of the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// R1..R8, in the order of [`Category::ALL`].
    pub id: String,
    pub category: Category,
    pub severity: Severity,
    pub title: String,
    /// Whether the finding is about automated processing (flagged as such).
    pub automated_processing: bool,
    pub records: Vec<FindingRecord>,
    pub risk: Risk,
}

/// Totals over the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub findings_with_records: usize,
    pub records: usize,
    pub unacceptable: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub automated_outputs: usize,
}

/// The register, as of `at`, under the criteria it was judged by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PostureReport {
    /// RFC 3339 UTC.
    pub at: String,
    pub criteria: RiskCriteria,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

/// Likelihood from the number of records: none 1, one 3, two to four 4, five or more 5. For
/// categories that are expected in normal operation (break-glass, automated processing) the
/// presence of records means "unlikely" (2) to "foreseeable" (3) harm instead.
pub fn likelihood(category: Category, records: usize) -> u8 {
    match (category, records) {
        (_, 0) => 1,
        (Category::BreakGlass | Category::AutomatedProcessing, 1..=4) => 2,
        (Category::BreakGlass | Category::AutomatedProcessing, _) => 3,
        (_, 1) => 3,
        (_, 2..=4) => 4,
        _ => 5,
    }
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rec(id: &str, detail: String) -> FindingRecord {
    FindingRecord { id: id.to_owned(), detail }
}

/// The records of one category, sorted by id then detail, and whether biometric data is involved.
fn records(input: &PostureInput, c: Category) -> (Vec<FindingRecord>, bool) {
    let mut biometric = false;
    let mut out: Vec<FindingRecord> = match c {
        Category::PastRetention => input
            .past_retention
            .iter()
            .map(|p| {
                biometric |= p.biometric;
                let kind = if p.biometric { "biometric, " } else { "" };
                rec(&p.object, format!("subject {}: {kind}due {} ({})", p.subject, p.due, p.rule))
            })
            .collect(),
        Category::ConsentMissingElements => input
            .consents_missing_elements
            .iter()
            .map(|g| {
                rec(&format!("subject:{}", g.subject), format!("{}: missing {}", g.jurisdiction, g.element))
            })
            .collect(),
        Category::VendorMissingTerms => input
            .vendors_missing_terms
            .iter()
            .map(|v| rec(&format!("vendor:{}", v.vendor), format!("missing {}", v.missing.join(", "))))
            .collect(),
        Category::BreakGlass => input
            .break_glass
            .iter()
            .map(|b| {
                rec(&format!("audit:{}", b.entry), format!("{} accessed {} at {}", b.actor, b.object, b.at))
            })
            .collect(),
        Category::OverdueRequests => input
            .overdue_requests
            .iter()
            .map(|r| {
                rec(
                    &format!("request:{}", r.id),
                    format!("{} under {}: {} was due {}", r.kind, r.law, r.obligation, r.due),
                )
            })
            .collect(),
        Category::DisclosureWithoutConsent => input
            .disclosures_without_consent
            .iter()
            .map(|d| {
                // Every disclosure here is of a face scan or something computed from one.
                biometric = true;
                rec(
                    &d.node,
                    format!(
                        "subject {}: to {} for {} at {}: {}",
                        d.subject,
                        d.recipient,
                        d.purpose,
                        rfc3339(d.at),
                        d.why
                    ),
                )
            })
            .collect(),
        Category::AutomatedProcessing => input
            .automated_outputs
            .iter()
            .map(|a| {
                rec(
                    &format!("derivative:{}", a.derivative),
                    format!("automated {} of subject {} by {}", a.kind, a.subject, a.producer),
                )
            })
            .collect(),
        Category::HoldOutsideStatute => input
            .holds_outside_statute
            .iter()
            .map(|h| {
                // Every subject's data here is a face scan or computed from one.
                biometric = true;
                rec(
                    &format!("subject:{}", h.subject),
                    format!(
                        "{} (reference sha256:{}) placed {}: outside the statute ({})",
                        h.kind, h.reference_sha256, h.placed, h.source
                    ),
                )
            })
            .collect(),
    };
    out.sort_by(|a, b| (&a.id, &a.detail).cmp(&(&b.id, &b.detail)));
    (out, biometric)
}

fn title(c: Category, n: usize, biometric: bool) -> String {
    if n == 0 {
        return match c {
            Category::PastRetention => "No data kept past its retention date",
            Category::ConsentMissingElements => "No consent missing an element its jurisdiction requires",
            Category::VendorMissingTerms => "No vendor missing required contract terms",
            Category::BreakGlass => "No break-glass access",
            Category::OverdueRequests => "No overdue data-subject request",
            Category::DisclosureWithoutConsent => "No disclosure without consent",
            Category::AutomatedProcessing => "No output of automated processing",
            Category::HoldOutsideStatute => "No legal hold outside its statute",
        }
        .to_owned();
    }
    let data = if biometric { "biometric data" } else { "data" };
    let among = if biometric { ", biometric data among them" } else { "" };
    match c {
        Category::PastRetention => format!("{n} record(s) kept past the retention date{among}"),
        Category::ConsentMissingElements => {
            format!("{n} consent(s) missing an element their jurisdiction requires")
        }
        Category::VendorMissingTerms => format!("{n} vendor(s) missing required contract terms"),
        Category::BreakGlass => format!("{n} break-glass access(es) to review"),
        Category::OverdueRequests => format!("{n} overdue data-subject request obligation(s)"),
        Category::DisclosureWithoutConsent => format!("{n} disclosure(s) of {data} without consent"),
        Category::AutomatedProcessing => format!("{n} output(s) of automated processing"),
        Category::HoldOutsideStatute => {
            format!("{n} legal hold(s) outside the statute: destruction suspended, for counsel")
        }
    }
}

/// The register: one finding per category, scored and judged against `criteria`.
pub fn assess(input: &PostureInput, criteria: &RiskCriteria) -> PostureReport {
    let mut findings = Vec::with_capacity(Category::ALL.len());
    for (i, c) in Category::ALL.into_iter().enumerate() {
        let (records, biometric) = records(input, c);
        let (mut impact_patient, mut impact_clinic) = c.impacts();
        if biometric {
            // BIPA: liquidated damages per violation, and a faceprint cannot be reissued.
            impact_patient = impact_patient.max(4);
            impact_clinic = 5;
        }
        let likelihood = likelihood(c, records.len());
        let score = likelihood * impact_patient.max(impact_clinic);
        findings.push(Finding {
            id: format!("R{}", i + 1),
            category: c,
            severity: Severity::of_score(score),
            title: title(c, records.len(), biometric),
            automated_processing: c == Category::AutomatedProcessing,
            records,
            risk: Risk {
                likelihood,
                impact_patient,
                impact_clinic,
                score,
                safeguard: c.safeguard().to_owned(),
                acceptable: score <= criteria.acceptable_score,
            },
        });
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let summary = Summary {
        findings_with_records: findings.iter().filter(|f| !f.records.is_empty()).count(),
        records: findings.iter().map(|f| f.records.len()).sum(),
        unacceptable: findings.iter().filter(|f| !f.risk.acceptable).count(),
        critical: count(Severity::Critical),
        high: count(Severity::High),
        medium: count(Severity::Medium),
        low: count(Severity::Low),
        automated_outputs: input.automated_outputs.len(),
    };
    PostureReport { at: rfc3339(input.at), criteria: criteria.clone(), findings, summary }
}

impl PostureReport {
    /// The register as Markdown: criteria, summary, the register table, then each finding.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        // Writing to a String cannot fail.
        let _ = writeln!(w, "# Privacy posture report (risk register)\n");
        let _ = writeln!(w, "As of {}.\n", self.at);
        let _ = writeln!(w, "## Risk acceptance criteria\n");
        let _ = writeln!(w, "{}\n", self.criteria.statement);
        let _ = writeln!(
            w,
            "Score = likelihood x max(impact to the patient, impact to the clinic), each 1 to 5 (DoCRA); \
             acceptable when the score is at most {}.\n",
            self.criteria.acceptable_score
        );
        let m = &self.summary;
        let _ = writeln!(w, "## Summary\n");
        let _ = writeln!(
            w,
            "{} of {} risks have findings ({} records); {} not acceptable; {} critical, {} high, {} medium, \
             {} low; {} output(s) of automated processing.\n",
            m.findings_with_records,
            self.findings.len(),
            m.records,
            m.unacceptable,
            m.critical,
            m.high,
            m.medium,
            m.low,
            m.automated_outputs
        );
        let _ = writeln!(w, "## Register\n");
        let _ =
            writeln!(w, "| Id | Category | Severity | Records | L | Patient | Clinic | Score | Acceptable |");
        let _ =
            writeln!(w, "|----|----------|----------|---------|---|---------|--------|-------|------------|");
        for f in &self.findings {
            let r = &f.risk;
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                f.id,
                f.category.id(),
                f.severity.as_str(),
                f.records.len(),
                r.likelihood,
                r.impact_patient,
                r.impact_clinic,
                r.score,
                if r.acceptable { "yes" } else { "NO" }
            );
        }
        for f in &self.findings {
            let _ = writeln!(w, "\n## {} {}\n", f.id, f.title);
            if f.automated_processing {
                let _ = writeln!(
                    w,
                    "AUTOMATED PROCESSING: outputs computed by software from the patient's scans.\n"
                );
            }
            let _ = writeln!(w, "Safeguard: {}\n", f.risk.safeguard);
            if f.records.is_empty() {
                let _ = writeln!(w, "No findings.");
            }
            for r in &f.records {
                let _ = writeln!(w, "- `{}`: {}", r.id, r.detail);
            }
        }
        s
    }
}
