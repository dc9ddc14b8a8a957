//! Consent records and the capture check. A [`ConsentDraft`] is what the clinic collected; the
//! one way to an [`ActiveConsent`] (which a capture takes as proof) is [`check_capture`], which
//! refuses and names the first element the subject's [`Jurisdiction`] requires that is missing.
//!
//! Each requirement below cites its source. Elements every jurisdiction asks for are FaceVault's
//! baseline: the issue asks for informed, opt-in consent, and the retention engine needs a
//! stated term per purpose. The notice's contents are declared by the clinic's template
//! ([`NoticeCovers`]); this crate keeps the exact text and its hash, it does not read prose.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{Date, Purpose, PurposeId, RetentionPeriod, Timestamp};

/// Where the subject lives, which decides what a consent must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Jurisdiction {
    /// Illinois: BIPA, 740 ILCS 14.
    Il,
    /// Texas: CUBI, Tex. Bus. & Com. Code 503.001.
    Tx,
    /// Washington: My Health My Data Act, RCW 19.373.
    Wa,
    /// California: CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff.
    Ca,
    /// The EU/EEA: GDPR Art. 9(2)(a) and Art. 7.
    Eu,
    /// Anywhere else: FaceVault's baseline only.
    Other,
}

impl Jurisdiction {
    pub const ALL: [Jurisdiction; 6] = [Self::Il, Self::Tx, Self::Wa, Self::Ca, Self::Eu, Self::Other];
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Il => "IL",
            Self::Tx => "TX",
            Self::Wa => "WA",
            Self::Ca => "CA",
            Self::Eu => "EU",
            Self::Other => "other",
        })
    }
}

/// What the notice's template states, as the clinic declares it when it writes the template.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoticeCovers {
    /// The purposes, each named.
    pub purposes: bool,
    /// How long each purpose keeps the data.
    pub retention: bool,
    /// How to withdraw consent, and that withdrawal is as easy as giving it.
    pub withdrawal: bool,
    /// The right to limit the use of sensitive personal information.
    pub limit_use: bool,
}

/// The exact notice text shown to the subject, its version and SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct Notice {
    version: String,
    text: String,
    sha256: [u8; 32],
    covers: NoticeCovers,
}

impl Notice {
    pub fn new(version: impl Into<String>, text: impl Into<String>, covers: NoticeCovers) -> Self {
        let text = text.into();
        let sha256 = Sha256::digest(text.as_bytes()).into();
        Self { version: version.into(), text, sha256, covers }
    }
    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }
    pub fn sha256_hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }
    pub fn covers(&self) -> NoticeCovers {
        self.covers
    }
}

impl fmt::Debug for Notice {
    // The text can be long; the hash identifies it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notice")
            .field("version", &self.version)
            .field("sha256", &self.sha256_hex())
            .field("covers", &self.covers)
            .finish_non_exhaustive()
    }
}

/// A purpose as a consent grants it, with the retention period the consent states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurposeGrant {
    /// The catalogue's purpose as it stood when the subject consented.
    pub purpose: Purpose,
    pub retention: Option<RetentionPeriod>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureMethod {
    /// Pen on paper, scanned into the record.
    Handwritten,
    /// Typed name plus an affirmative act in the portal (E-SIGN/UETA).
    Electronic,
    /// Spoken and recorded by staff: consent, but not a written release.
    Verbal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub method: SignatureMethod,
    pub typed_name: String,
    pub at: Timestamp,
}

/// MHMDA's valid authorization to sell consumer health data (RCW 19.373.070): a separate
/// document, signed, naming the buyer, and expiring within one year of signing. Only purposes
/// marked `sale` need it; FaceVault's default catalogue has none, and BIPA forbids sale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleAuthorization {
    /// The purchaser the authorization names.
    pub buyer: String,
    pub signed: Timestamp,
    /// The first day it no longer holds.
    pub expires: Date,
}

/// The longest a sale authorization may run (RCW 19.373.070(2)(h): an expiration date one year from
/// when the consumer signs; (2)(i) is the signature and date).
pub const SALE_AUTHORIZATION_MAX: RetentionPeriod = RetentionPeriod::Years(1);

/// A consent as collected, before the check.
#[derive(Clone, Debug, Default)]
pub struct ConsentDraft {
    pub notice: Option<Notice>,
    pub purposes: Vec<PurposeGrant>,
    /// The subject consented to collection (its own box, separate from sharing).
    pub collect: bool,
    /// The subject consented to sharing, separately from collection.
    pub share: bool,
    /// The subject asked to limit the use of sensitive data (CPRA 1798.121); kept on the record.
    pub limit_use: bool,
    pub signature: Option<Signature>,
    /// The day the consent ends, if it ends on its own: from that day on it no longer holds.
    pub expires: Option<Date>,
    /// The separate authorization a sale needs in Washington; sale purposes are used only
    /// while it holds, wherever the subject lives.
    pub sale_authorization: Option<SaleAuthorization>,
}

/// An element a jurisdiction requires that the draft lacks. Display names the element.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MissingElement {
    #[error("notice text shown to the subject")]
    Notice,
    #[error("a specific purpose")]
    SpecificPurpose,
    #[error("retention period stated for purpose {purpose}")]
    RetentionTerm { purpose: PurposeId },
    #[error("consent to collect")]
    CollectConsent,
    #[error("signature")]
    Signature,
    #[error("signature with a typed name")]
    TypedName,
    #[error("consent given before capture (signed {signed})")]
    ConsentBeforeCapture { signed: Timestamp },
    #[error("an unexpired consent (expired {expired})")]
    Unexpired { expired: Date },
    #[error("written release (handwritten or electronic signature)")]
    WrittenRelease,
    #[error("separate consent to share, for purpose {purpose}")]
    ShareConsent { purpose: PurposeId },
    #[error("no sale of biometric data (purpose {purpose} sells)")]
    NoSale { purpose: PurposeId },
    #[error("a signed sale authorization naming the buyer, for purpose {purpose}")]
    SaleAuthorization { purpose: PurposeId },
    #[error("a sale authorization that expires within 1 year of signing (it runs to {expires})")]
    SaleAuthorizationTerm { expires: Date },
    #[error("notice stating the purposes")]
    NoticePurposes,
    #[error("notice stating the retention period")]
    NoticeRetention,
    #[error("notice stating the right to limit use of sensitive data")]
    NoticeLimitUse,
    #[error("explicit consent (a written statement, not verbal)")]
    ExplicitConsent,
    #[error("notice stating how to withdraw consent")]
    NoticeWithdrawal,
}

impl MissingElement {
    /// The rule that requires the element, for the refusal shown to staff.
    pub fn source(&self, j: Jurisdiction) -> &'static str {
        use Jurisdiction::*;
        use MissingElement::*;
        match (self, j) {
            (WrittenRelease, _) => "BIPA 740 ILCS 14/15(b)(3)",
            (NoSale { .. }, _) => "BIPA 740 ILCS 14/15(c)",
            (SaleAuthorization { .. }, _) => "MHMDA RCW 19.373.070",
            (SaleAuthorizationTerm { .. }, _) => "MHMDA RCW 19.373.070(2)(h)",
            (ShareConsent { .. }, Il) => "BIPA 740 ILCS 14/15(d)(1)",
            (ShareConsent { .. }, _) => "MHMDA RCW 19.373.030(1)(b)",
            (NoticePurposes, Wa) => "MHMDA RCW 19.373.020, .030(1)(c)",
            (NoticePurposes | NoticeRetention, _) => "CCPA 1798.100(a)(1),(3)",
            (NoticeLimitUse, _) => "CPRA 1798.121, 1798.135",
            (ExplicitConsent, _) => "GDPR Art. 9(2)(a)",
            (NoticeWithdrawal, _) => "GDPR Art. 7(3)",
            (SpecificPurpose, Il) => "BIPA 740 ILCS 14/15(b)(2)",
            (RetentionTerm { .. }, Il) => "BIPA 740 ILCS 14/15(b)(2)",
            (Notice | Signature | TypedName | CollectConsent, Il) => "BIPA 740 ILCS 14/15(b)(1),(3)",
            (SpecificPurpose, Tx) => "CUBI 503.001(b)",
            (Notice | CollectConsent | Signature | TypedName | ConsentBeforeCapture { .. }, Tx) => {
                "CUBI 503.001(b)"
            }
            (CollectConsent, Wa) => "MHMDA RCW 19.373.030(1)(a)",
            (RetentionTerm { .. }, Ca) => "CCPA 1798.100(a)(3)",
            (SpecificPurpose | CollectConsent, Eu) => "GDPR Art. 9(2)(a)",
            _ => "FaceVault baseline",
        }
    }

    /// The draft lacked this element: a refusal line for the subject's jurisdiction.
    pub fn refusal(&self, j: Jurisdiction) -> String {
        format!("capture refused: missing {self} ({} in {j})", self.source(j))
    }
}

/// A consent that passed [`check_capture`]. Only the check makes one, so a function taking it
/// cannot be reached with a consent that lacks an element or has lapsed at capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveConsent {
    jurisdiction: Jurisdiction,
    notice: Notice,
    purposes: Vec<(Purpose, RetentionPeriod)>,
    share: bool,
    limit_use: bool,
    signature: Signature,
    expires: Option<Date>,
    sale_authorization: Option<SaleAuthorization>,
}

impl ActiveConsent {
    pub fn jurisdiction(&self) -> Jurisdiction {
        self.jurisdiction
    }
    pub fn notice(&self) -> &Notice {
        &self.notice
    }
    /// Each granted purpose with the retention period the consent states for it.
    pub fn purposes(&self) -> &[(Purpose, RetentionPeriod)] {
        &self.purposes
    }
    pub fn share(&self) -> bool {
        self.share
    }
    pub fn limit_use(&self) -> bool {
        self.limit_use
    }
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    pub fn expires(&self) -> Option<Date> {
        self.expires
    }
    pub fn sale_authorization(&self) -> Option<&SaleAuthorization> {
        self.sale_authorization.as_ref()
    }
    /// The day the consent was given: the retention terms run from it.
    pub fn given_on(&self) -> Date {
        self.signature.at.date_naive()
    }
}

/// Checks `draft` against what `jurisdiction` requires for a capture at `capture_at`.
/// Returns the first missing element, in the order the checks below run.
pub fn check_capture(
    jurisdiction: Jurisdiction,
    draft: &ConsentDraft,
    capture_at: Timestamp,
) -> Result<ActiveConsent, MissingElement> {
    use Jurisdiction::*;
    use MissingElement as M;
    let j = jurisdiction;

    // Baseline: an informed, signed, opt-in consent with specific purposes and terms.
    let notice = match &draft.notice {
        Some(n) if !n.text.trim().is_empty() => n,
        _ => return Err(M::Notice),
    };
    if draft.purposes.is_empty() {
        return Err(M::SpecificPurpose);
    }
    let mut purposes = Vec::with_capacity(draft.purposes.len());
    for g in &draft.purposes {
        let retention = g.retention.ok_or_else(|| M::RetentionTerm { purpose: g.purpose.id.clone() })?;
        purposes.push((g.purpose.clone(), retention));
    }
    if !draft.collect {
        return Err(M::CollectConsent);
    }
    let signature = draft.signature.as_ref().ok_or(M::Signature)?;
    if signature.typed_name.trim().is_empty() {
        return Err(M::TypedName);
    }
    if signature.at > capture_at {
        return Err(M::ConsentBeforeCapture { signed: signature.at });
    }
    if let Some(expired) = draft.expires.filter(|&e| e <= capture_at.date_naive()) {
        return Err(M::Unexpired { expired });
    }

    // Per jurisdiction.
    let covers = notice.covers;
    let first_share = || draft.purposes.iter().find(|g| g.purpose.share || g.purpose.sale);
    match j {
        Il => {
            // 15(b)(3): a written release; a recorded verbal consent is not one.
            if signature.method == SignatureMethod::Verbal {
                return Err(M::WrittenRelease);
            }
            if let Some(g) = draft.purposes.iter().find(|g| g.purpose.sale) {
                return Err(M::NoSale { purpose: g.purpose.id.clone() });
            }
            if let Some(g) = first_share().filter(|_| !draft.share) {
                return Err(M::ShareConsent { purpose: g.purpose.id.clone() });
            }
        }
        Tx => {}
        Wa => {
            if !covers.purposes {
                return Err(M::NoticePurposes);
            }
            if let Some(g) = draft.purposes.iter().find(|g| g.purpose.sale) {
                let Some(a) = draft.sale_authorization.as_ref().filter(|a| !a.buyer.trim().is_empty()) else {
                    return Err(M::SaleAuthorization { purpose: g.purpose.id.clone() });
                };
                let signed = a.signed.date_naive();
                if a.expires <= signed || a.expires > SALE_AUTHORIZATION_MAX.after(signed) {
                    return Err(M::SaleAuthorizationTerm { expires: a.expires });
                }
            }
            if let Some(g) = first_share().filter(|_| !draft.share) {
                return Err(M::ShareConsent { purpose: g.purpose.id.clone() });
            }
        }
        Ca => {
            if !covers.purposes {
                return Err(M::NoticePurposes);
            }
            if !covers.retention {
                return Err(M::NoticeRetention);
            }
            if !covers.limit_use {
                return Err(M::NoticeLimitUse);
            }
        }
        Eu => {
            if signature.method == SignatureMethod::Verbal {
                return Err(M::ExplicitConsent);
            }
            if !covers.withdrawal {
                return Err(M::NoticeWithdrawal);
            }
        }
        Other => {}
    }

    Ok(ActiveConsent {
        jurisdiction,
        notice: notice.clone(),
        purposes,
        share: draft.share,
        limit_use: draft.limit_use,
        signature: signature.clone(),
        expires: draft.expires,
        sale_authorization: draft.sale_authorization.clone(),
    })
}

/// Where a consent stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentStatus {
    Active,
    Withdrawn { at: Timestamp },
    Expired { on: Date },
}

/// A stored consent: the checked consent plus what happened to it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    consent: ActiveConsent,
    withdrawn: Option<Timestamp>,
}

impl From<ActiveConsent> for ConsentRecord {
    fn from(consent: ActiveConsent) -> Self {
        Self { consent, withdrawn: None }
    }
}

impl ConsentRecord {
    pub fn consent(&self) -> &ActiveConsent {
        &self.consent
    }
    pub fn withdrawn(&self) -> Option<Timestamp> {
        self.withdrawn
    }
    /// Withdraws at `at`; every access checked at or after `at` is refused. A second
    /// withdrawal keeps the first time.
    pub fn withdraw(&mut self, at: Timestamp) {
        self.withdrawn = Some(self.withdrawn.map_or(at, |w| w.min(at)));
    }
    /// The consent's state at `t`. From the expiry day on, it no longer holds.
    pub fn status_at(&self, t: Timestamp) -> ConsentStatus {
        match (self.withdrawn, self.consent.expires) {
            (Some(w), _) if w <= t => ConsentStatus::Withdrawn { at: w },
            (_, Some(e)) if e <= t.date_naive() => ConsentStatus::Expired { on: e },
            _ => ConsentStatus::Active,
        }
    }
    /// Whether the consent lets the clinic use the data for `purpose` at `t`: active, the
    /// purpose granted, for a sharing purpose the share consent given, and for a sale purpose
    /// a sale authorization that still holds (it lapses on its own, after at most a year).
    pub fn covers(&self, purpose: &str, t: Timestamp) -> bool {
        let sale_ok = || {
            self.consent
                .sale_authorization
                .as_ref()
                .is_some_and(|a| a.signed <= t && t.date_naive() < a.expires)
        };
        self.status_at(t) == ConsentStatus::Active
            && self.consent.purposes.iter().any(|(p, _)| {
                p.id.as_str() == purpose
                    && (!(p.share || p.sale) || self.consent.share)
                    && (!p.sale || sale_ok())
            })
    }
}

/// Why a consent recorded by staff must wait for the patient's confirmation (or the privacy
/// officer's approval against the signed form) before it grants anything, or `None` when it
/// takes effect at once. A patient recording their own consent needs no one's confirmation;
/// staff may record one for care alone, unless the patient has withdrawn: then any new consent
/// must come from the patient, or it would undo the withdrawal behind their back (GDPR Art.
/// 7(3); BIPA 15(b) asks for the subject's own written release).
pub fn confirmation_needed(draft: &ConsentDraft, by_subject: bool, after_withdrawal: bool) -> Option<String> {
    if by_subject {
        return None;
    }
    let beyond: Vec<&str> =
        draft.purposes.iter().filter(|g| g.purpose.beyond_care()).map(|g| g.purpose.id.as_str()).collect();
    match (after_withdrawal, beyond.is_empty()) {
        (true, _) => Some("recorded by staff after the patient withdrew consent".to_owned()),
        (false, false) => Some(format!("recorded by staff for purposes beyond care ({})", beyond.join(", "))),
        (false, true) => None,
    }
}
