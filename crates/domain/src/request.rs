//! Data-subject requests: their kinds, the law that governs each, the legal deadlines, the
//! identity verification each needs, the lifecycle as a state machine with an audit trail, and
//! the duplicate, overdue and soon-due checks staff work from.
//!
//! For most cases: [`Law::for_jurisdiction`] picks the law, [`Request::receive`] opens a request
//! (computing its [`Deadlines`] with a [`HolidayCalendar`]), the transition methods move it on
//! (each returns a [`RequestError`] naming an illegal move), [`find_duplicate`] runs before a new
//! request is opened, and [`overdue`] / [`due_within`] list what needs attention.
//!
//! Sources are cited where a rule comes from; a citation marked "(check)" is one a reviewer
//! should confirm against the text before relying on it. Every day here is a UTC calendar day,
//! as in the rest of the crate, and a deadline on day D means "by the end of D".

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use crate::{Date, Jurisdiction, RetentionPeriod, SubjectId, Timestamp};

/// What the subject asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// Right to know / access, including portability (CCPA 1798.110, 1798.115, 1798.130;
    /// GDPR Art. 15, 20; MHMDA RCW 19.373.040(1)(a)).
    Access,
    /// Right to delete (CCPA 1798.105; GDPR Art. 17; MHMDA RCW 19.373.040(1)(c), which also
    /// requires notifying every affiliate, processor, contractor and third party the data went to).
    Delete,
    /// Right to correct (CCPA 1798.106; GDPR Art. 16).
    Correct,
    /// Opt out of sale or sharing (CCPA 1798.120). Under GDPR FaceVault treats it as an
    /// objection (Art. 21) or a withdrawal of consent (Art. 7(3)); under MHMDA as a withdrawal
    /// of consent (RCW 19.373.040(1)(b)).
    OptOut,
    /// Limit the use of sensitive personal information (CPRA 1798.121). Under GDPR FaceVault
    /// treats it as a request to restrict processing (Art. 18).
    LimitUse,
}

impl RequestKind {
    pub const ALL: [RequestKind; 5] =
        [Self::Access, Self::Delete, Self::Correct, Self::OptOut, Self::LimitUse];

    /// Opt-out and limit-use: CCPA's 15-business-day requests that need no verification.
    fn is_rapid(self) -> bool {
        matches!(self, Self::OptOut | Self::LimitUse)
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Access => "access",
            Self::Delete => "delete",
            Self::Correct => "correct",
            Self::OptOut => "opt-out",
            Self::LimitUse => "limit-use",
        })
    }
}

/// The law whose request deadlines FaceVault applies to a subject.
///
/// BIPA (740 ILCS 14) and CUBI (Tex. Bus. & Com. Code 503.001) give no right to access,
/// delete or correct on request and set no response deadline: they govern collection,
/// retention and destruction. For subjects in Illinois, Texas or elsewhere FaceVault applies
/// its US baseline, which is the CCPA's timings (the strictest of the US laws it knows: 10
/// business days to acknowledge, 45 days to answer with one 45-day extension, 15 business
/// days for opt-out and limit-use). This is a product choice, not a legal requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Law {
    /// California: CCPA as amended by CPRA, Cal. Civ. Code 1798.100 ff., and its regulations,
    /// Cal. Code Regs. tit. 11, 7000 ff.
    Ccpa,
    /// EU/EEA: GDPR, Regulation (EU) 2016/679, Art. 12(3).
    Gdpr,
    /// Washington: My Health My Data Act, RCW 19.373.
    Mhmda,
    /// Illinois: BIPA. Deadlines: FaceVault's US baseline (CCPA timings).
    Bipa,
    /// Texas: CUBI. Deadlines: FaceVault's US baseline (CCPA timings).
    Cubi,
    /// Anywhere else. Deadlines: FaceVault's US baseline (CCPA timings).
    Other,
    /// A HIPAA covered entity's patient (45 CFR 164.524): chosen per request, never from the
    /// jurisdiction, since it depends on the clinic being a covered entity. Access is answered
    /// within 30 calendar days, extendable once by 30 (164.524(b)(2)); an amendment within 60,
    /// extendable once by 30 (164.526(b)(2)). HIPAA gives no right to delete, opt out or limit
    /// use on these terms, so those kinds keep FaceVault's US baseline (CCPA timings).
    Hipaa,
}

impl Law {
    pub const ALL: [Law; 7] =
        [Self::Ccpa, Self::Gdpr, Self::Mhmda, Self::Bipa, Self::Cubi, Self::Other, Self::Hipaa];

    /// The law that governs requests from a subject living in `j`.
    pub fn for_jurisdiction(j: Jurisdiction) -> Law {
        match j {
            Jurisdiction::Ca => Self::Ccpa,
            Jurisdiction::Eu => Self::Gdpr,
            Jurisdiction::Wa => Self::Mhmda,
            Jurisdiction::Il => Self::Bipa,
            Jurisdiction::Tx => Self::Cubi,
            Jurisdiction::Other => Self::Other,
        }
    }
}

impl fmt::Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ccpa => "CCPA",
            Self::Gdpr => "GDPR",
            Self::Mhmda => "MHMDA",
            Self::Bipa => "BIPA",
            Self::Cubi => "CUBI",
            Self::Other => "other",
            Self::Hipaa => "HIPAA",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar

/// The days that are not business days besides Saturdays and Sundays. A parameter of every
/// deadline computation, so a clinic can use its own list; a day the calendar does not list is
/// a business day if it is a weekday.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    days: BTreeSet<Date>,
}

impl HolidayCalendar {
    /// No holidays: business days are Monday to Friday.
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn new(days: impl IntoIterator<Item = Date>) -> Self {
        Self { days: days.into_iter().collect() }
    }

    /// US federal holidays (5 U.S.C. 6103(a)) as observed, for the years in `years`: New Year's
    /// Day, Martin Luther King Jr. Day (3rd Monday of January), Washington's Birthday (3rd
    /// Monday of February), Memorial Day (last Monday of May), Juneteenth (19 June, from 2021),
    /// Independence Day, Labor Day (1st Monday of September), Columbus Day (2nd Monday of
    /// October), Veterans Day (11 November), Thanksgiving (4th Thursday of November) and
    /// Christmas. A fixed-date holiday on a Saturday is observed on the Friday before, on a
    /// Sunday on the Monday after (5 U.S.C. 6103(b) and Executive Order 11582 (check)); so
    /// New Year's Day 2022 (a Saturday) is observed on 31 December 2021, which belongs to 2021.
    ///
    /// Knows the rules in force since 1971 (the Uniform Monday Holiday Act), so years before
    /// 1971 are skipped, and so are years after 9999 (which also bounds the calendar's size).
    pub fn us_federal(years: RangeInclusive<i32>) -> Self {
        let first = (*years.start()).max(US_FEDERAL_YEARS.0);
        let last = (*years.end()).min(US_FEDERAL_YEARS.1);
        if first > last {
            return Self::empty();
        }
        let mut days = BTreeSet::new();
        // One year either side: New Year's Day of `last + 1` may be observed in `last`.
        for y in (first - 1)..=(last + 1) {
            days.extend(us_federal_year(y).into_iter().filter(|d| (first..=last).contains(&d.year())));
        }
        Self { days }
    }

    pub fn is_holiday(&self, day: Date) -> bool {
        self.days.contains(&day)
    }

    pub fn is_business_day(&self, day: Date) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.is_holiday(day)
    }

    /// The `n`th business day after `from` (`from` itself is not counted). Saturates at the
    /// last representable day.
    pub fn add_business_days(&self, from: Date, n: u32) -> Date {
        let mut day = from;
        let mut left = n;
        while left > 0 {
            match day.succ_opt() {
                Some(next) => day = next,
                None => return NaiveDate::MAX,
            }
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        day
    }

    pub fn iter(&self) -> impl Iterator<Item = Date> + '_ {
        self.days.iter().copied()
    }
}

/// The years [`HolidayCalendar::us_federal`] computes.
const US_FEDERAL_YEARS: (i32, i32) = (1971, 9999);

fn us_federal_year(y: i32) -> Vec<Date> {
    use Weekday::*;
    let fixed = |m, d| NaiveDate::from_ymd_opt(y, m, d).map(observed);
    let nth = |m, wd, n| NaiveDate::from_weekday_of_month_opt(y, m, wd, n);
    let last_monday_of_may = nth(5, Mon, 5).or_else(|| nth(5, Mon, 4));
    let juneteenth = if y >= 2021 { fixed(6, 19) } else { None };
    [
        fixed(1, 1),
        nth(1, Mon, 3),
        nth(2, Mon, 3),
        last_monday_of_may,
        juneteenth,
        fixed(7, 4),
        nth(9, Mon, 1),
        nth(10, Mon, 2),
        fixed(11, 11),
        nth(11, Thu, 4),
        fixed(12, 25),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Saturday → the Friday before, Sunday → the Monday after.
fn observed(day: Date) -> Date {
    match day.weekday() {
        Weekday::Sat => day.pred_opt().unwrap_or(day),
        Weekday::Sun => day.succ_opt().unwrap_or(day),
        _ => day,
    }
}

// ---------------------------------------------------------------------------------------------
// Deadlines

/// The dates a request must meet, each the last day on which the act is on time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// Confirm receipt and say how the request will be handled. `None` where nothing needs to
    /// be acknowledged separately (opt-out and limit-use: the answer is due first).
    pub acknowledge_by: Option<Date>,
    /// Answer without an extension.
    pub respond_by: Date,
    /// Answer after the one extension the law allows; `None` if it allows none.
    pub extended_respond_by: Option<Date>,
    /// MHMDA deletes: the copies in archives and backups are gone.
    pub backups_purged_by: Option<Date>,
}

/// CCPA regs (Cal. Code Regs. tit. 11) 7021(a): confirm receipt of a request to know, delete or correct within
/// 10 business days. FaceVault applies the same to every law for those kinds (GDPR and MHMDA
/// set no acknowledgement deadline).
pub const ACKNOWLEDGE_BUSINESS_DAYS: u32 = 10;
/// Cal. Civ. Code 1798.130(a)(2)(A): answer within 45 days of receiving the request, extendable
/// once by 45 more days with notice within the first 45. MHMDA uses the same numbers
/// (RCW 19.373.040, subsection (3) or (4) (check)).
pub const RESPOND_DAYS: u64 = 45;
/// The one extension CCPA and MHMDA allow, in days.
pub const EXTENSION_DAYS: u64 = 45;
/// CCPA regs 7026(f) for opt-out of sale/sharing and 7027(g) for limit-use (check both
/// subsections): comply as soon as feasibly possible and no later than 15 business days from
/// receipt. No extension.
pub const RAPID_BUSINESS_DAYS: u32 = 15;
/// GDPR Art. 12(3): one month from receipt, extendable by two further months.
pub const GDPR_RESPOND: RetentionPeriod = RetentionPeriod::Months(1);
pub const GDPR_EXTENSION: RetentionPeriod = RetentionPeriod::Months(2);
/// MHMDA RCW 19.373.040(1)(c)(iii): a deletion from archived or backup systems may be delayed
/// to restore them, by at most six months from authenticating the request (check the exact
/// words). FaceVault counts from receipt, which is never later than authentication.
pub const MHMDA_BACKUP_PURGE: RetentionPeriod = RetentionPeriod::Months(6);
/// 45 CFR 164.524(b)(2)(i): act on a request for access no later than 30 days after receiving
/// it; (b)(2)(ii): once, by no more than 30 more days, with a written statement of the reasons
/// and the date within the first 30. Calendar days: a deadline on a weekend is not moved.
pub const HIPAA_ACCESS_DAYS: u64 = 30;
/// 45 CFR 164.526(b)(2)(i): act on a request for amendment no later than 60 days after
/// receiving it; (b)(2)(ii): once, by no more than 30 more days.
pub const HIPAA_AMENDMENT_DAYS: u64 = 60;
/// The one extension 164.524(b)(2)(ii) and 164.526(b)(2)(ii) allow, in days.
pub const HIPAA_EXTENSION_DAYS: u64 = 30;

/// The deadlines for a request of `kind` under `law`, received at `received`.
///
/// Counting: the day of receipt is day 0, so "45 days" ends on the date 45 days later and
/// "10 business days" on the tenth business day after the day of receipt. CCPA regs 7021(b):
/// "no later than 45 calendar days after receipt", the period beginning on the day the request
/// is received regardless of the time verification takes, and at most 90 calendar days from that
/// day with the extension. A deadline falling on a weekend or holiday is not moved later (Cal.
/// Civ. Code 10 (check) and Regulation 1182/71 Art. 3(4) (check) would move some of them to the
/// next working day; FaceVault keeps the earlier date).
///
/// GDPR months are calendar months (Regulation (EEC, Euratom) 1182/71 Art. 3(2)(c)): a month
/// from 15 January ends on 15 February, and where the last month has no such day it ends on the
/// month's last day (31 January → 28 or 29 February). The two further months count from the end
/// of the first, which is the earlier date when they differ (31 January: 28 April, not 30 April).
///
/// MHMDA has no limit-use or sale opt-out request with its own deadline; for those kinds
/// FaceVault applies the CCPA's 15 business days, which is stricter than 45 days.
pub fn deadlines(law: Law, kind: RequestKind, received: Timestamp, calendar: &HolidayCalendar) -> Deadlines {
    let day = received.date_naive();
    let acknowledge_by =
        (!kind.is_rapid()).then(|| calendar.add_business_days(day, ACKNOWLEDGE_BUSINESS_DAYS));
    let plus_days = |d: Date, n: u64| d.checked_add_days(Days::new(n)).unwrap_or(NaiveDate::MAX);
    match law {
        Law::Gdpr => {
            let respond_by = GDPR_RESPOND.after(day);
            Deadlines {
                acknowledge_by,
                respond_by,
                extended_respond_by: Some(GDPR_EXTENSION.after(respond_by)),
                backups_purged_by: None,
            }
        }
        Law::Hipaa if matches!(kind, RequestKind::Access | RequestKind::Correct) => {
            let days = if kind == RequestKind::Access { HIPAA_ACCESS_DAYS } else { HIPAA_AMENDMENT_DAYS };
            let respond_by = plus_days(day, days);
            Deadlines {
                acknowledge_by,
                respond_by,
                extended_respond_by: Some(plus_days(respond_by, HIPAA_EXTENSION_DAYS)),
                backups_purged_by: None,
            }
        }
        _ if kind.is_rapid() => Deadlines {
            acknowledge_by,
            respond_by: calendar.add_business_days(day, RAPID_BUSINESS_DAYS),
            extended_respond_by: None,
            backups_purged_by: None,
        },
        Law::Ccpa | Law::Mhmda | Law::Bipa | Law::Cubi | Law::Other | Law::Hipaa => {
            let respond_by = plus_days(day, RESPOND_DAYS);
            let backups_purged_by =
                (law == Law::Mhmda && kind == RequestKind::Delete).then(|| MHMDA_BACKUP_PURGE.after(day));
            Deadlines {
                acknowledge_by,
                respond_by,
                extended_respond_by: Some(plus_days(respond_by, EXTENSION_DAYS)),
                backups_purged_by,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verification and agents

/// How sure the clinic must be that the requester is the subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VerificationLevel {
    /// No verification may be required.
    None,
    /// A reasonable degree of certainty (CCPA regs 7062(b) (check): matching two data points).
    Standard,
    /// A reasonably high degree of certainty (CCPA regs 7062(c) (check): matching three data
    /// points plus a signed declaration), which the regs ask for specific pieces of information
    /// and, for deletion, for sensitive data whose loss would harm the subject (7062(d) (check)).
    /// Biometric information processed to identify a person is sensitive personal information
    /// (Cal. Civ. Code 1798.140(ae) (check)); FaceVault treats every faceprint as such.
    Strong,
}

impl fmt::Display for VerificationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Standard => "standard",
            Self::Strong => "strong",
        })
    }
}

/// The verification a request needs, proportionate to the data (CCPA regs 7060(c) (check)).
///
/// Opt-out and limit-use: none; CCPA regs 7060(b) (check) forbids requiring identity
/// verification for them (a clinic may still refuse one it believes fraudulent, with a
/// [`Request::deny`]). Access, delete and correct: strong when the data is biometric, standard
/// otherwise. GDPR Art. 12(6) lets the controller ask for more information only on reasonable
/// doubt; FaceVault applies the same levels everywhere because a faceprint disclosed to the
/// wrong person cannot be taken back.
pub fn required_verification(kind: RequestKind, involves_biometric: bool) -> VerificationLevel {
    match kind {
        RequestKind::OptOut | RequestKind::LimitUse => VerificationLevel::None,
        RequestKind::Access | RequestKind::Delete | RequestKind::Correct if involves_biometric => {
            VerificationLevel::Strong
        }
        RequestKind::Access | RequestKind::Delete | RequestKind::Correct => VerificationLevel::Standard,
    }
}

/// Who made the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requester {
    /// The subject themself.
    Subject,
    /// An authorized agent acting for the subject (CCPA 1798.135(e) (check), regs 7063).
    Agent {
        agent_id: String,
        /// The subject's signed permission, or a power of attorney, has been received.
        proof_of_authority: bool,
    },
}

/// Whether a request from this requester may progress without (more) proof of authority.
///
/// CCPA regs 7063(a) (check): for a request to know, delete or correct, a business may require
/// the agent's signed permission from the subject. For opt-out, regs 7026(j) says a business
/// "may deny" an agent's request that lacks the subject's signed permission (and never asks it of
/// an opt-out preference signal); limit-use has the same rule (7027, check the subsection). It
/// permits asking, it does not require it: FaceVault does not ask, because honouring an opt-out
/// the subject did not make does little harm and is undone by opting back in.
fn agent_authorized(requester: &Requester, kind: RequestKind) -> bool {
    match requester {
        Requester::Subject => true,
        Requester::Agent { .. } if kind.is_rapid() => true,
        Requester::Agent { proof_of_authority, .. } => *proof_of_authority,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A request's opaque id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub String);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a request stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestState {
    Received,
    IdentityVerification,
    InProgress,
    /// The answer is due by [`Deadlines::extended_respond_by`]; the subject was told when and why.
    Extended {
        notice_sent: Timestamp,
        reason: String,
    },
    Completed,
    Denied {
        reason: String,
        legal_basis: String,
    },
    Canceled,
}

impl RequestState {
    /// Not completed, denied or canceled.
    pub fn is_open(&self) -> bool {
        !matches!(self, Self::Completed | Self::Denied { .. } | Self::Canceled)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::IdentityVerification => "identity verification",
            Self::InProgress => "in progress",
            Self::Extended { .. } => "extended",
            Self::Completed => "completed",
            Self::Denied { .. } => "denied",
            Self::Canceled => "canceled",
        }
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened to a request, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestChange {
    Received {
        kind: RequestKind,
        law: Law,
    },
    Acknowledged,
    AgentAuthorityReceived,
    VerificationStarted,
    Verified {
        level: VerificationLevel,
    },
    Started,
    Extended {
        notice_sent: Timestamp,
        reason: String,
    },
    Completed,
    Denied {
        reason: String,
        legal_basis: String,
    },
    Canceled,
    /// After an MHMDA delete: the copies in archives and backups are gone too.
    BackupsPurged,
}

impl fmt::Display for RequestChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Received { kind, law } => write!(f, "received {kind} under {law}"),
            Self::Acknowledged => f.write_str("acknowledged"),
            Self::AgentAuthorityReceived => f.write_str("agent authority received"),
            Self::VerificationStarted => f.write_str("verification started"),
            Self::Verified { level } => write!(f, "verified ({level})"),
            Self::Started => f.write_str("started"),
            Self::Extended { notice_sent, reason } => {
                write!(f, "extended (notice sent {notice_sent}: {reason})")
            }
            Self::Completed => f.write_str("completed"),
            Self::Denied { reason, legal_basis } => write!(f, "denied ({reason}; {legal_basis})"),
            Self::Canceled => f.write_str("canceled"),
            Self::BackupsPurged => f.write_str("backups purged"),
        }
    }
}

/// One recorded change and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEvent {
    pub request: RequestId,
    pub at: Timestamp,
    pub change: RequestChange,
}

/// Everything needed to open a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    pub id: RequestId,
    pub subject: SubjectId,
    pub kind: RequestKind,
    pub law: Law,
    pub requester: Requester,
    /// The request concerns biometric data (a faceprint or its derivatives).
    pub involves_biometric: bool,
    pub received: Timestamp,
}

/// A transition the request's state or history does not allow. Display names the move.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The move does not exist from this state, e.g. extending a completed request.
    #[error("cannot {action} a request that is {state}")]
    IllegalTransition { action: &'static str, state: &'static str },
    /// CCPA and GDPR allow one extension.
    ///
    /// How to fix: answer by the extended deadline, or deny with the reason.
    #[error("cannot extend a request twice")]
    AlreadyExtended,
    /// The law gives this kind of request no extension (opt-out and limit-use outside the EU).
    #[error("a {kind} request under {law} cannot be extended")]
    NotExtendable { kind: RequestKind, law: Law },
    /// The extension notice must reach the subject within the original period.
    #[error("the extension notice ({notice}) is after the original deadline {deadline}")]
    ExtensionTooLate { notice: Date, deadline: Date },
    /// The extension notice is dated before the request arrived.
    #[error("the extension notice ({notice}) is before the request was received")]
    NoticeBeforeReceipt { notice: Timestamp },
    /// An extension or a denial must say why.
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    /// Completing or starting before the identity is verified to the level the request needs.
    ///
    /// How to fix: start and finish identity verification first.
    #[error("cannot {action} before identity is verified ({required} verification required)")]
    NotVerified { action: &'static str, required: VerificationLevel },
    /// The verification done is weaker than the request needs.
    #[error("{given} verification is not enough: this request needs {required}")]
    InsufficientVerification { given: VerificationLevel, required: VerificationLevel },
    /// The identity was already verified.
    #[error("identity is already verified")]
    AlreadyVerified,
    /// An agent's request cannot progress without the subject's signed permission.
    ///
    /// How to fix: record the agent's proof of authority first.
    #[error("cannot {action}: the authorized agent has not shown proof of authority")]
    AgentAuthorityMissing { action: &'static str },
    /// The request was already acknowledged, or there was no agent to record authority for.
    #[error("{what}")]
    Redundant { what: &'static str },
    /// Events must be recorded in time order.
    #[error("the change at {at} is before the request's last event at {last}")]
    BeforeLastEvent { at: Timestamp, last: Timestamp },
}

/// A data-subject request and its history. Only the transition methods change it, and each
/// change is appended to [`Request::events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    id: RequestId,
    subject: SubjectId,
    kind: RequestKind,
    law: Law,
    requester: Requester,
    involves_biometric: bool,
    received: Timestamp,
    deadlines: Deadlines,
    state: RequestState,
    verified: Option<VerificationLevel>,
    acknowledged: bool,
    extended: bool,
    backups_purged: bool,
    events: Vec<RequestEvent>,
}

impl Request {
    /// Opens a request in state [`RequestState::Received`] and computes its deadlines.
    pub fn receive(new: NewRequest, calendar: &HolidayCalendar) -> Self {
        let deadlines = deadlines(new.law, new.kind, new.received, calendar);
        let event = RequestEvent {
            request: new.id.clone(),
            at: new.received,
            change: RequestChange::Received { kind: new.kind, law: new.law },
        };
        Self {
            id: new.id,
            subject: new.subject,
            kind: new.kind,
            law: new.law,
            requester: new.requester,
            involves_biometric: new.involves_biometric,
            received: new.received,
            deadlines,
            state: RequestState::Received,
            verified: None,
            acknowledged: false,
            extended: false,
            backups_purged: false,
            events: vec![event],
        }
    }

    pub fn id(&self) -> &RequestId {
        &self.id
    }
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }
    pub fn kind(&self) -> RequestKind {
        self.kind
    }
    pub fn law(&self) -> Law {
        self.law
    }
    /// Whether the request concerns biometric data (it decides the verification needed).
    pub fn involves_biometric(&self) -> bool {
        self.involves_biometric
    }
    pub fn requester(&self) -> &Requester {
        &self.requester
    }
    pub fn received(&self) -> Timestamp {
        self.received
    }
    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }
    pub fn state(&self) -> &RequestState {
        &self.state
    }
    pub fn events(&self) -> &[RequestEvent] {
        &self.events
    }
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }
    pub fn is_acknowledged(&self) -> bool {
        self.acknowledged
    }
    pub fn verified(&self) -> Option<VerificationLevel> {
        self.verified
    }
    /// The verification this request needs before it is answered.
    pub fn required_verification(&self) -> VerificationLevel {
        required_verification(self.kind, self.involves_biometric)
    }
    /// The answer's deadline as it stands: the extended one once extended.
    pub fn respond_by(&self) -> Date {
        match (self.extended, self.deadlines.extended_respond_by) {
            (true, Some(d)) => d,
            _ => self.deadlines.respond_by,
        }
    }
    /// When it was completed, denied or canceled.
    pub fn closed_at(&self) -> Option<Timestamp> {
        if self.is_open() {
            return None;
        }
        let closing = |c: &RequestChange| {
            matches!(c, RequestChange::Completed | RequestChange::Denied { .. } | RequestChange::Canceled)
        };
        self.events.iter().rev().find(|e| closing(&e.change)).map(|e| e.at)
    }
    /// A completed delete that must still reach archives and backups by
    /// [`Deadlines::backups_purged_by`] (MHMDA).
    pub fn backups_pending(&self) -> Option<Date> {
        let done = self.state == RequestState::Completed && !self.backups_purged;
        self.deadlines.backups_purged_by.filter(|_| done)
    }

    /// Records that receipt was confirmed to the subject. Any open state; once.
    pub fn acknowledge(&mut self, at: Timestamp) -> Result<(), RequestError> {
        self.check(at, "acknowledge")?;
        if self.acknowledged {
            return Err(RequestError::Redundant { what: "the request is already acknowledged" });
        }
        self.acknowledged = true;
        self.record(at, RequestChange::Acknowledged);
        Ok(())
    }

    /// Records the agent's proof of authority (the subject's signed permission).
    pub fn record_agent_authority(&mut self, at: Timestamp) -> Result<(), RequestError> {
        self.check(at, "record agent authority for")?;
        match &mut self.requester {
            Requester::Subject => Err(RequestError::Redundant { what: "the subject made this request" }),
            Requester::Agent { proof_of_authority: true, .. } => {
                Err(RequestError::Redundant { what: "the agent's authority is already recorded" })
            }
            Requester::Agent { proof_of_authority, .. } => {
                *proof_of_authority = true;
                self.record(at, RequestChange::AgentAuthorityReceived);
                Ok(())
            }
        }
    }

    /// Received → identity verification.
    pub fn begin_verification(&mut self, at: Timestamp) -> Result<(), RequestError> {
        const ACTION: &str = "begin verification of";
        self.check(at, ACTION)?;
        if self.state != RequestState::Received {
            return Err(self.illegal(ACTION));
        }
        self.require_agent(ACTION)?;
        self.state = RequestState::IdentityVerification;
        self.record(at, RequestChange::VerificationStarted);
        Ok(())
    }

    /// Identity verified at `level`: identity verification → in progress, or stays extended
    /// when the request was extended while verification ran.
    pub fn verify(&mut self, at: Timestamp, level: VerificationLevel) -> Result<(), RequestError> {
        const ACTION: &str = "verify";
        self.check(at, ACTION)?;
        if self.verified.is_some() {
            return Err(RequestError::AlreadyVerified);
        }
        let extended_unverified = matches!(self.state, RequestState::Extended { .. });
        if self.state != RequestState::IdentityVerification && !extended_unverified {
            return Err(self.illegal(ACTION));
        }
        self.require_agent(ACTION)?;
        let required = self.required_verification();
        if level < required {
            return Err(RequestError::InsufficientVerification { given: level, required });
        }
        self.verified = Some(level);
        if !extended_unverified {
            self.state = RequestState::InProgress;
        }
        self.record(at, RequestChange::Verified { level });
        Ok(())
    }

    /// Received → in progress, for a request that needs no verification (opt-out, limit-use).
    pub fn start(&mut self, at: Timestamp) -> Result<(), RequestError> {
        const ACTION: &str = "start";
        self.check(at, ACTION)?;
        if self.state != RequestState::Received {
            return Err(self.illegal(ACTION));
        }
        self.require_agent(ACTION)?;
        self.require_verified(ACTION)?;
        self.state = RequestState::InProgress;
        self.record(at, RequestChange::Started);
        Ok(())
    }

    /// Takes the one extension: from any open state but extended, with a reason, and with the
    /// notice to the subject sent within the original period (Cal. Civ. Code 1798.130(a)(2)(A);
    /// GDPR Art. 12(3); MHMDA RCW 19.373.040 (check the subsection)).
    pub fn extend(
        &mut self,
        at: Timestamp,
        notice_sent: Timestamp,
        reason: &str,
    ) -> Result<(), RequestError> {
        const ACTION: &str = "extend";
        self.check(at, ACTION)?;
        if matches!(self.state, RequestState::Extended { .. }) || self.extended {
            return Err(RequestError::AlreadyExtended);
        }
        if self.deadlines.extended_respond_by.is_none() {
            return Err(RequestError::NotExtendable { kind: self.kind, law: self.law });
        }
        if reason.trim().is_empty() {
            return Err(RequestError::Empty { what: "the extension's reason" });
        }
        if notice_sent < self.received {
            return Err(RequestError::NoticeBeforeReceipt { notice: notice_sent });
        }
        // The notice is what must be on time; staff may record it later.
        let deadline = self.deadlines.respond_by;
        if notice_sent.date_naive() > deadline {
            return Err(RequestError::ExtensionTooLate { notice: notice_sent.date_naive(), deadline });
        }
        self.extended = true;
        self.state = RequestState::Extended { notice_sent, reason: reason.to_owned() };
        self.record(at, RequestChange::Extended { notice_sent, reason: reason.to_owned() });
        Ok(())
    }

    /// The request is answered. Needs the agent's authority and the required verification.
    pub fn complete(&mut self, at: Timestamp) -> Result<(), RequestError> {
        const ACTION: &str = "complete";
        self.check(at, ACTION)?;
        self.require_agent(ACTION)?;
        self.require_verified(ACTION)?;
        self.state = RequestState::Completed;
        self.record(at, RequestChange::Completed);
        Ok(())
    }

    /// The request is refused, saying why and under which provision (e.g. "identity could not
    /// be verified", "Cal. Civ. Code 1798.105(d)"). Any open state.
    pub fn deny(&mut self, at: Timestamp, reason: &str, legal_basis: &str) -> Result<(), RequestError> {
        self.check(at, "deny")?;
        if reason.trim().is_empty() {
            return Err(RequestError::Empty { what: "the denial's reason" });
        }
        if legal_basis.trim().is_empty() {
            return Err(RequestError::Empty { what: "the denial's legal basis" });
        }
        let (reason, legal_basis) = (reason.to_owned(), legal_basis.to_owned());
        self.state = RequestState::Denied { reason: reason.clone(), legal_basis: legal_basis.clone() };
        self.record(at, RequestChange::Denied { reason, legal_basis });
        Ok(())
    }

    /// The subject withdrew the request. Any open state.
    pub fn cancel(&mut self, at: Timestamp) -> Result<(), RequestError> {
        self.check(at, "cancel")?;
        self.state = RequestState::Canceled;
        self.record(at, RequestChange::Canceled);
        Ok(())
    }

    /// After a completed MHMDA delete: the archived and backup copies are deleted too. The one
    /// change a closed request takes.
    pub fn record_backups_purged(&mut self, at: Timestamp) -> Result<(), RequestError> {
        const ACTION: &str = "record purged backups for";
        if self.backups_pending().is_none() {
            return Err(if self.backups_purged {
                RequestError::Redundant { what: "the backups are already recorded as purged" }
            } else {
                self.illegal(ACTION)
            });
        }
        if let Some(last) = self.events.last().filter(|last| at < last.at) {
            return Err(RequestError::BeforeLastEvent { at, last: last.at });
        }
        self.backups_purged = true;
        self.record(at, RequestChange::BackupsPurged);
        Ok(())
    }

    /// Every change needs an open request and a time not before the last event.
    fn check(&self, at: Timestamp, action: &'static str) -> Result<(), RequestError> {
        if !self.is_open() {
            return Err(self.illegal(action));
        }
        match self.events.last() {
            Some(last) if at < last.at => Err(RequestError::BeforeLastEvent { at, last: last.at }),
            _ => Ok(()),
        }
    }

    fn illegal(&self, action: &'static str) -> RequestError {
        RequestError::IllegalTransition { action, state: self.state.name() }
    }

    fn require_agent(&self, action: &'static str) -> Result<(), RequestError> {
        if agent_authorized(&self.requester, self.kind) {
            Ok(())
        } else {
            Err(RequestError::AgentAuthorityMissing { action })
        }
    }

    fn require_verified(&self, action: &'static str) -> Result<(), RequestError> {
        let required = self.required_verification();
        if required == VerificationLevel::None || self.verified.is_some_and(|v| v >= required) {
            Ok(())
        } else {
            Err(RequestError::NotVerified { action, required })
        }
    }

    fn record(&mut self, at: Timestamp, change: RequestChange) {
        self.events.push(RequestEvent { request: self.id.clone(), at, change });
    }
}

// ---------------------------------------------------------------------------------------------
// Duplicates

/// How [`find_duplicate`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuplicatePolicy {
    /// A request of the same kind completed this recently is reported as a likely repeat
    /// (0 turns this off). A repeat is not a reason to deny by itself: staff decide.
    pub recently_completed_days: u32,
    /// The window for the access limit.
    pub access_window: RetentionPeriod,
    /// How many access requests per window the clinic must answer. Cal. Civ. Code 1798.130(b):
    /// a business need not provide the information of 1798.110 and 1798.115 to the same
    /// consumer more than twice in a 12-month period. Since the CPRA, portability is part of
    /// that answer (the portable format of 1798.130(a)(3)(B)(iii) (check)); 1798.100(d) is now
    /// the clause on contracts with recipients, not a limit. Applied under CCPA and the US
    /// baseline laws only (not HIPAA, which allows a cost-based fee, 164.524(c)(4), and no
    /// refusal for repetition): GDPR Art. 12(5) allows
    /// refusing "manifestly unfounded or excessive" requests but sets no count, and MHMDA
    /// (RCW 19.373.040, subsection to check) makes answers free up to twice a year and allows a
    /// fee, not a refusal, for unfounded, excessive or repetitive ones: neither is flagged here.
    pub access_limit: u32,
}

impl Default for DuplicatePolicy {
    fn default() -> Self {
        Self { recently_completed_days: 0, access_window: RetentionPeriod::Months(12), access_limit: 2 }
    }
}

/// Why a new request duplicates an earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DuplicateReason {
    /// The same subject has an open request of the same kind: attach the new one to it.
    Open,
    /// The same subject's request of the same kind was completed within
    /// [`DuplicatePolicy::recently_completed_days`].
    RecentlyCompleted,
    /// The subject already had [`DuplicatePolicy::access_limit`] access requests answered in the
    /// window: this one may be denied (Cal. Civ. Code 1798.130(b)).
    AccessLimitReached { answered: u32 },
}

/// A duplicate: the earlier request (for the access limit, the latest answered one) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub of: RequestId,
    pub reason: DuplicateReason,
}

/// Whether `new` duplicates one of `existing` (the subject's other requests, in any state).
/// An open request wins over a recently completed one, which wins over the access limit.
/// Requests with `new`'s own id are ignored.
pub fn find_duplicate(existing: &[Request], new: &NewRequest, policy: &DuplicatePolicy) -> Option<Duplicate> {
    let same: Vec<&Request> = existing
        .iter()
        .filter(|r| r.subject == new.subject && r.kind == new.kind && r.id != new.id)
        .collect();
    if let Some(open) = same.iter().filter(|r| r.is_open()).min_by_key(|r| r.received) {
        return Some(Duplicate { of: open.id.clone(), reason: DuplicateReason::Open });
    }
    let new_day = new.received.date_naive();
    let completed = |r: &&&Request| r.state == RequestState::Completed;
    let completed_since = |r: &Request, since: Date| {
        r.closed_at().is_some_and(|t| t.date_naive() >= since && t <= new.received)
    };
    if policy.recently_completed_days > 0 {
        let since = new_day
            .checked_sub_days(Days::new(u64::from(policy.recently_completed_days)))
            .unwrap_or(NaiveDate::MIN);
        let recent = same.iter().filter(completed).filter(|r| completed_since(r, since));
        if let Some(r) = recent.max_by_key(|r| r.closed_at()) {
            return Some(Duplicate { of: r.id.clone(), reason: DuplicateReason::RecentlyCompleted });
        }
    }
    let limited = matches!(new.law, Law::Ccpa | Law::Bipa | Law::Cubi | Law::Other);
    if new.kind == RequestKind::Access && limited && policy.access_limit > 0 {
        let since = window_start(new_day, policy.access_window);
        let answered: Vec<&&Request> =
            same.iter().filter(completed).filter(|r| completed_since(r, since)).collect();
        let count = u32::try_from(answered.len()).unwrap_or(u32::MAX);
        if count >= policy.access_limit {
            let latest = answered.iter().max_by_key(|r| r.closed_at())?;
            return Some(Duplicate {
                of: latest.id.clone(),
                reason: DuplicateReason::AccessLimitReached { answered: count },
            });
        }
    }
    None
}

/// The first day of the window of length `period` that ends on `day`.
fn window_start(day: Date, period: RetentionPeriod) -> Date {
    let back = match period {
        RetentionPeriod::Days(d) => day.checked_sub_days(Days::new(u64::from(d))),
        RetentionPeriod::Months(m) => day.checked_sub_months(Months::new(m)),
        RetentionPeriod::Years(y) => y.checked_mul(12).and_then(|m| day.checked_sub_months(Months::new(m))),
    };
    back.unwrap_or(NaiveDate::MIN)
}

// ---------------------------------------------------------------------------------------------
// Overdue and soon due

/// What is owed next on an open request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Obligation {
    Acknowledge,
    Respond,
    /// MHMDA deletes: purge archives and backups ([`Request::record_backups_purged`]).
    PurgeBackups,
}

impl fmt::Display for Obligation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Acknowledge => "acknowledge",
            Self::Respond => "respond",
            Self::PurgeBackups => "purge backups",
        })
    }
}

/// An obligation on a request and its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due<'a> {
    pub request: &'a Request,
    pub obligation: Obligation,
    pub by: Date,
}

/// The obligations of a request: while open, the acknowledgement until it is recorded, and the
/// answer; once a delete is completed, purging backups where the law asks it.
fn obligations(r: &Request) -> impl Iterator<Item = Due<'_>> {
    let open = r.is_open();
    let ack = r.deadlines.acknowledge_by.filter(|_| open && !r.acknowledged).map(|by| Due {
        request: r,
        obligation: Obligation::Acknowledge,
        by,
    });
    let respond = open.then(|| Due { request: r, obligation: Obligation::Respond, by: r.respond_by() });
    let purge = r.backups_pending().map(|by| Due { request: r, obligation: Obligation::PurgeBackups, by });
    ack.into_iter().chain(respond).chain(purge)
}

fn sorted(mut v: Vec<Due<'_>>) -> Vec<Due<'_>> {
    v.sort_by(|a, b| (a.by, &a.request.id, a.obligation).cmp(&(b.by, &b.request.id, b.obligation)));
    v
}

/// Obligations whose deadline has passed (the deadline day is over at `now`), earliest first.
pub fn overdue(requests: &[Request], now: Timestamp) -> Vec<Due<'_>> {
    let today = now.date_naive();
    sorted(requests.iter().flat_map(obligations).filter(|d| d.by < today).collect())
}

/// Obligations not yet overdue that fall due within `days` days of `now` (today counts: 0 days
/// lists what is due today), earliest first.
pub fn due_within(requests: &[Request], now: Timestamp, days: u32) -> Vec<Due<'_>> {
    let today = now.date_naive();
    let until = today.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX);
    sorted(requests.iter().flat_map(obligations).filter(|d| d.by >= today && d.by <= until).collect())
}
