//! The retention engine: when each stored object of a subject must be destroyed, and under
//! which rule. [`plan`] is the dry run (the whole schedule as known on a day); [`decide`] is what
//! the vault enforces that day: crypto-shred the whole subject once every consented purpose has
//! lapsed, or delete single objects whose purposes have all lapsed before that.
//!
//! Rules, per purpose, counted from the day consent was given:
//! - the stated retention period ends, the purpose is satisfied, or the consent expires: the
//!   purpose lapses that day (everywhere but Texas, where it is destroyed on that day);
//! - Texas (CUBI 503.001(c)(3)): destroyed on the first anniversary of the lapse at the latest;
//!   the engine uses that deadline;
//! - Illinois (BIPA 740 ILCS 14/15(a)): purpose satisfied or 3 years after the subject's last
//!   interaction, whichever comes first;
//! - withdrawal: destroyed on the day of withdrawal, in every jurisdiction (FaceVault policy;
//!   GDPR Art. 17(1)(b));
//! - an open legal hold suspends every destruction of the subject; a released hold defers what
//!   fell due while it was open to the day of release.
//!
//! State is a history: satisfactions, withdrawals and holds dated after the day asked about are
//! ignored, so one state can be asked about any day (the last interaction is taken as known).
//! Audit records are not destroyed with the subject: they hold only pseudonymous ids and are
//! kept [`AUDIT_RETENTION`].

use std::collections::BTreeMap;
use std::fmt;

use crate::{ConsentRecord, Date, DomainError, Jurisdiction, PurposeId, RetentionPeriod, Timestamp};

/// How long audit records are kept (HIPAA 164.316(b)(2)(i): six years).
pub const AUDIT_RETENTION: RetentionPeriod = RetentionPeriod::Years(6);

/// BIPA 15(a): at most 3 years after the subject's last interaction.
const BIPA_CAP: RetentionPeriod = RetentionPeriod::Years(3);
/// CUBI 503.001(c)(3): within 1 year after the purpose expires.
const CUBI_GRACE: RetentionPeriod = RetentionPeriod::Years(1);

/// The day an audit record written on `recorded` may be deleted.
pub fn audit_record_expires(recorded: Date) -> Date {
    AUDIT_RETENTION.after(recorded)
}

/// A subject's pseudonymous id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectId(pub String);

/// A stored object's opaque id (a scan or a derivative); never a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub String);

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Scan,
    Derivative,
}

/// A scan or derivative of the subject, kept for some purposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub id: ObjectId,
    pub kind: ObjectKind,
    /// The purposes it is kept for; it goes when all of them have lapsed.
    pub purposes: Vec<PurposeId>,
    pub stored: Date,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldKind {
    Warrant,
    Subpoena,
    Litigation,
}

impl fmt::Display for HoldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Warrant => "warrant",
            Self::Subpoena => "subpoena",
            Self::Litigation => "litigation hold",
        })
    }
}

impl HoldKind {
    pub const ALL: [HoldKind; 3] = [Self::Warrant, Self::Subpoena, Self::Litigation];
}

/// Whether the destruction duty of a subject's law yields to a hold of some kind, and where
/// that is said. A hold outside its statute still suspends destruction in FaceVault (destroying
/// evidence under a hold is worse than keeping data past a deadline), but it is reported for
/// counsel to resolve (the posture report's `hold-outside-statute`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldStanding {
    /// The law names this kind of hold as a ground to delay destruction, or sets no destruction
    /// deadline a hold could breach.
    pub within_statute: bool,
    /// The law and provision, with why.
    pub source: &'static str,
}

/// The holds each law's destruction duty yields to, with their sources.
///
/// - Illinois: BIPA 740 ILCS 14/15(a) keeps its retention schedule "absent a valid warrant or
///   subpoena issued by a court of competent jurisdiction": a warrant or a subpoena, nothing
///   else; a litigation hold is outside it.
/// - Texas: CUBI, Tex. Bus. & Com. Code 503.001(c)(3), sets the destruction deadline (a year
///   after the purpose expires) with no exception for any hold.
/// - California: CCPA 1798.145(a)(1) does not restrict complying with a court order or subpoena,
///   an inquiry or investigation, or exercising or defending legal claims: every kind.
/// - EU/EEA: GDPR Art. 17(3)(b) (a legal obligation) and (e) (legal claims): every kind.
/// - Washington and elsewhere: no statute FaceVault knows sets a destruction deadline for this
///   data that a hold could breach (MHMDA governs deletion on request, RCW 19.373.040).
pub fn hold_standing(j: Jurisdiction, kind: HoldKind) -> HoldStanding {
    const BIPA: &str = "BIPA 740 ILCS 14/15(a): only a valid warrant or subpoena issued by a court of \
                        competent jurisdiction delays destruction";
    const CUBI: &str = "CUBI Tex. Bus. & Com. Code 503.001(c)(3): destruction within a year after the \
                        purpose expires, with no exception for a hold";
    match (j, kind) {
        (Jurisdiction::Il, HoldKind::Warrant | HoldKind::Subpoena) => {
            HoldStanding { within_statute: true, source: BIPA }
        }
        (Jurisdiction::Il, HoldKind::Litigation) => HoldStanding { within_statute: false, source: BIPA },
        (Jurisdiction::Tx, _) => HoldStanding { within_statute: false, source: CUBI },
        (Jurisdiction::Ca, _) => HoldStanding {
            within_statute: true,
            source: "CCPA 1798.145(a)(1): court orders, subpoenas, investigations and legal claims",
        },
        (Jurisdiction::Eu, _) => HoldStanding {
            within_statute: true,
            source: "GDPR Art. 17(3)(b), (e): a legal obligation, legal claims",
        },
        (Jurisdiction::Wa | Jurisdiction::Other, _) => HoldStanding {
            within_statute: true,
            source: "no statutory destruction deadline that a hold would breach",
        },
    }
}

/// A legal hold on all of a subject's data (which kinds each law yields to: [`hold_standing`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalHold {
    pub kind: HoldKind,
    pub reference: String,
    pub reason: String,
    pub placed: Timestamp,
    pub released: Option<Timestamp>,
}

/// A change to retention state that the vault appends to the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetentionEvent {
    HoldPlaced { subject: SubjectId, kind: HoldKind, reference: String, reason: String, at: Timestamp },
    HoldReleased { subject: SubjectId, reference: String, at: Timestamp },
}

/// What the engine knows of one subject.
#[derive(Clone, Debug)]
pub struct SubjectRetention {
    pub subject: SubjectId,
    pub consent: ConsentRecord,
    /// The subject's last interaction with the clinic (BIPA's clock).
    pub last_interaction: Date,
    pub objects: Vec<StoredObject>,
    /// Purposes the clinic has recorded as satisfied, and the day.
    pub satisfied: BTreeMap<PurposeId, Date>,
    holds: Vec<LegalHold>,
}

impl SubjectRetention {
    pub fn new(subject: SubjectId, consent: ConsentRecord, last_interaction: Date) -> Self {
        Self {
            subject,
            consent,
            last_interaction,
            objects: Vec::new(),
            satisfied: BTreeMap::new(),
            holds: Vec::new(),
        }
    }

    pub fn holds(&self) -> &[LegalHold] {
        &self.holds
    }

    pub fn place_hold(&mut self, hold: LegalHold) -> RetentionEvent {
        let event = RetentionEvent::HoldPlaced {
            subject: self.subject.clone(),
            kind: hold.kind,
            reference: hold.reference.clone(),
            reason: hold.reason.clone(),
            at: hold.placed,
        };
        self.holds.push(hold);
        event
    }

    pub fn release_hold(&mut self, reference: &str, at: Timestamp) -> Result<RetentionEvent, DomainError> {
        let hold = self
            .holds
            .iter_mut()
            .find(|h| h.reference == reference && h.released.is_none())
            .ok_or_else(|| DomainError::NoSuchHold { reference: reference.to_owned() })?;
        hold.released = Some(at);
        Ok(RetentionEvent::HoldReleased {
            subject: self.subject.clone(),
            reference: reference.to_owned(),
            at,
        })
    }
}

/// What a destruction removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The whole subject, by destroying its data key (crypto-shred).
    Subject(SubjectId),
    /// One scan or derivative.
    Object(ObjectId, ObjectKind),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Subject(s) => write!(f, "subject {s}"),
            Self::Object(o, ObjectKind::Scan) => write!(f, "scan {o}"),
            Self::Object(o, ObjectKind::Derivative) => write!(f, "derivative {o}"),
        }
    }
}

/// The rule that makes a destruction due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// The retention period the consent stated for the purpose ended.
    PurposeRetention,
    /// The clinic recorded the purpose as satisfied.
    PurposeSatisfied,
    /// The consent reached its expiry day.
    ConsentExpired,
    /// The subject withdrew consent.
    ConsentWithdrawn,
    /// BIPA 15(a): 3 years after the last interaction.
    Bipa3Years,
    /// CUBI 503.001(c)(3): 1 year after the purpose expired.
    Cubi1Year,
    /// The object is kept for a purpose the consent does not grant.
    NotConsented,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PurposeRetention => "purpose-retention",
            Self::PurposeSatisfied => "purpose-satisfied",
            Self::ConsentExpired => "consent-expired",
            Self::ConsentWithdrawn => "consent-withdrawn",
            Self::Bipa3Years => "bipa-3y",
            Self::Cubi1Year => "cubi-1y",
            Self::NotConsented => "not-consented",
        })
    }
}

/// One planned destruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destruction {
    pub target: Target,
    /// The day it is destroyed (not before).
    pub due: Date,
    pub rule: Rule,
    pub reason: String,
    /// The reference of an open legal hold that suspends it.
    pub suspended_by: Option<String>,
}

/// What the vault must do on a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enforcement {
    Keep,
    /// Every consented purpose has lapsed: destroy the subject's key.
    ShredSubject(Destruction),
    /// Some purposes lapsed: delete these objects, keep the subject.
    DeleteObjects(Vec<Destruction>),
}

/// When one purpose's data is due, as known on `at`.
#[derive(Clone, Debug)]
struct Due {
    day: Date,
    rule: Rule,
    reason: String,
}

fn purpose_due(s: &SubjectRetention, purpose: &PurposeId, at: Date) -> Due {
    let c = s.consent.consent();
    let Some((_, period)) = c.purposes().iter().find(|(p, _)| &p.id == purpose) else {
        return Due {
            day: Date::MIN,
            rule: Rule::NotConsented,
            reason: format!("{purpose} is not consented"),
        };
    };
    let given = c.given_on();
    let mut lapse = Due {
        day: period.after(given),
        rule: Rule::PurposeRetention,
        reason: format!("{purpose}: stated retention {period} from consent on {given}"),
    };
    let mut earlier = |day: Date, rule, reason: String| {
        if day < lapse.day {
            lapse = Due { day, rule, reason };
        }
    };
    if let Some(&d) = s.satisfied.get(purpose).filter(|&&d| d <= at) {
        earlier(d, Rule::PurposeSatisfied, format!("{purpose}: purpose satisfied on {d}"));
    }
    if let Some(e) = c.expires() {
        earlier(e, Rule::ConsentExpired, format!("{purpose}: consent expired on {e}"));
    }
    let mut due = match c.jurisdiction() {
        Jurisdiction::Tx => Due {
            day: CUBI_GRACE.after(lapse.day),
            rule: Rule::Cubi1Year,
            reason: format!("CUBI: 1 year after purpose expired ({})", lapse.reason),
        },
        Jurisdiction::Il => {
            let cap = BIPA_CAP.after(s.last_interaction);
            if cap < lapse.day {
                Due {
                    day: cap,
                    rule: Rule::Bipa3Years,
                    reason: format!("BIPA: 3 years after last interaction on {}", s.last_interaction),
                }
            } else {
                lapse
            }
        }
        _ => lapse,
    };
    if let Some(w) = s.consent.withdrawn().map(|w| w.date_naive()).filter(|&w| w <= at) {
        if w < due.day {
            due = Due { day: w, rule: Rule::ConsentWithdrawn, reason: format!("consent withdrawn on {w}") };
        }
    }
    due
}

/// Applies legal holds known on `at`: an open one suspends, a released one defers to release.
fn held(s: &SubjectRetention, target: Target, mut due: Due, at: Date) -> Destruction {
    let mut suspended_by = None;
    for h in s.holds.iter().filter(|h| h.placed.date_naive() <= at) {
        let placed = h.placed.date_naive();
        match h.released.map(|r| r.date_naive()).filter(|&r| r <= at) {
            None => suspended_by = Some(h.reference.clone()),
            Some(r) if placed <= due.day && due.day < r => {
                due.reason = format!(
                    "{}; deferred by {} {} until its release on {r}",
                    due.reason, h.kind, h.reference
                );
                due.day = r;
            }
            Some(_) => {}
        }
    }
    Destruction { target, due: due.day, rule: due.rule, reason: due.reason, suspended_by }
}

/// The destruction schedule as known on `at`, by due day: single objects due before the whole
/// subject goes, then the subject's crypto-shred. Includes what is already due.
pub fn plan(s: &SubjectRetention, at: Date) -> Vec<Destruction> {
    // The subject goes when the last consented purpose's data is due.
    let subject_due = s
        .consent
        .consent()
        .purposes()
        .iter()
        .map(|(p, _)| purpose_due(s, &p.id, at))
        .max_by_key(|d| d.day)
        .unwrap_or(Due { day: Date::MIN, rule: Rule::NotConsented, reason: "no purpose consented".into() });
    let subject = held(s, Target::Subject(s.subject.clone()), subject_due, at);
    let mut out: Vec<Destruction> = s
        .objects
        .iter()
        .map(|o| {
            let due = o.purposes.iter().map(|p| purpose_due(s, p, at)).max_by_key(|d| d.day).unwrap_or(Due {
                day: o.stored,
                rule: Rule::NotConsented,
                reason: "kept for no purpose".into(),
            });
            // Data kept without consent goes on the day it was stored, i.e. at once.
            let due = Due { day: due.day.max(o.stored), ..due };
            held(s, Target::Object(o.id.clone(), o.kind), due, at)
        })
        .filter(|d| d.due < subject.due)
        .collect();
    out.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.target.to_string().cmp(&b.target.to_string())));
    out.push(subject);
    out
}

/// What to destroy on `at`: the subject if its shred is due, else the objects due, else
/// nothing. Anything under an open legal hold is kept.
pub fn decide(s: &SubjectRetention, at: Date) -> Enforcement {
    let mut due: Vec<Destruction> =
        plan(s, at).into_iter().filter(|d| d.due <= at && d.suspended_by.is_none()).collect();
    match due.iter().position(|d| matches!(d.target, Target::Subject(_))) {
        Some(i) => Enforcement::ShredSubject(due.swap_remove(i)),
        None if due.is_empty() => Enforcement::Keep,
        None => Enforcement::DeleteObjects(due),
    }
}
