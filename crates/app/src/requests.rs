//! Data-subject requests: opening one (the front desk, the privacy office, a patient for
//! themself) with its legal deadlines, listing and showing them, the moves of their lifecycle,
//! and completing one, which acts on the vault for its kind: an access request's package, an
//! erasure (the one sequence of `destruction`), a correction, an opt-out or limit-use.

use facevault_domain::request::{due_within, overdue, HolidayCalendar, Request, RequestKind};
use facevault_domain::{RequestError, RequestState};
use facevault_export::Seal;
use facevault_policy::{gates, Action, Role};
use facevault_vault::oversight::{parse_law, Opened, RequestIntake};
use facevault_vault::RequestUpdateError;
use facevault_vault::{
    parse_level, parse_request_kind, BlobStore, MetadataStore, Restriction, SubjectId, Target, VendorNotice,
};

use crate::access::Known;
use crate::destruction::{Erasure, Why};
use crate::error::{AppError, ErrorKind};
use crate::journal::{Jot, Record};
use crate::session::Session;
use crate::App;

/// A new request, as a front end took it.
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub subject: SubjectId,
    /// access, delete, correct, opt-out or limit-use.
    pub kind: String,
    /// CCPA, GDPR, MHMDA, BIPA, CUBI, HIPAA or other; default from the subject's consent.
    pub law: Option<String>,
    /// Made by an authorized agent with this pseudonymous id (staff only: the request waits
    /// for the agent's proof of authority before it moves).
    pub agent: Option<String>,
    /// When it was received, RFC 3339. The app's clock sets it; staff may date it earlier (a
    /// letter that came last week) with `received_reason`, never in the future nor before the
    /// subject was registered. A patient cannot set it.
    pub received: Option<String>,
    /// Why the request is dated earlier than now; required with `received`, journaled.
    pub received_reason: Option<String>,
    /// Open it even if it duplicates an earlier one.
    pub allow_duplicate: bool,
}

/// Which requests a listing keeps.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFilter {
    /// Only those past a deadline.
    pub overdue: bool,
    /// Only those with a deadline within this many days.
    pub due_within: Option<u32>,
}

/// A request with what is owed on it.
#[derive(Clone, Debug)]
pub struct RequestFile {
    pub request: Request,
    /// The deletion notices sent to vendors (an erasure).
    pub vendor_notices: Vec<VendorNotice>,
}

/// A move of a request's lifecycle.
#[derive(Clone, Debug)]
pub enum Move {
    /// Receipt was confirmed to the subject (CCPA regs 7021(a): within 10 business days).
    Acknowledge,
    /// The agent's proof of authority (the subject's signed permission, a power of attorney)
    /// was shown: the SHA-256 of that document (64 hex digits) is journaled as its evidence.
    AgentAuthority { evidence_sha256: String },
    /// The identity verification done: none, standard or strong.
    Verify { level: String },
    /// Work starts (after verification).
    Start,
    /// The deadline is extended once, with the notice to the subject and its reason.
    Extend { reason: String },
    /// Denied, with the reason and the legal basis.
    Deny { reason: String, basis: String },
    /// The subject withdrew it.
    Cancel,
    /// An MHMDA deletion reached the backups too.
    BackupsPurged,
}

impl Move {
    fn action(&self) -> &'static str {
        match self {
            Move::Acknowledge => "request.acknowledge",
            Move::AgentAuthority { .. } => "request.agent-authority",
            Move::Verify { .. } => "request.verify",
            Move::Start => "request.start",
            Move::Extend { .. } => "request.extend",
            Move::Deny { .. } => "request.deny",
            Move::Cancel => "request.cancel",
            Move::BackupsPurged => "request.backups-purged",
        }
    }
}

/// The corrected identity fields of a correction request; those given replace the stored ones.
#[derive(Clone, Debug, Default)]
pub struct CorrectedDetails {
    pub name: Option<String>,
    pub dob: Option<String>,
    pub contact: Option<String>,
    pub jurisdiction: Option<String>,
}

/// What completing a request needs from the person doing it, asked for only when its kind
/// needs it (the CLI reads standard input or the environment, the server the request body).
pub trait CompletionInput {
    /// Whether this completion fits the request's kind (the server's endpoints each take some
    /// kinds); refuse naming why.
    fn fits(&self, _kind: RequestKind) -> Result<(), AppError> {
        Ok(())
    }
    /// A correction's corrected fields.
    fn corrected(&mut self) -> Result<CorrectedDetails, AppError>;
    /// What an access request's package is encrypted to.
    fn seal(&mut self) -> Result<Seal, AppError>;
}

/// What completing a request did.
#[derive(Debug)]
pub enum Outcome {
    /// The access package, sealed.
    Packaged(Vec<u8>),
    Erased(Box<Erasure>),
    /// The fields a correction replaced.
    Corrected(Vec<String>),
    /// A restriction set: `opt-out` or `limit-use`.
    Restricted(&'static str),
}

/// A completed request and what was done.
#[derive(Debug)]
pub struct Completed {
    pub request: Request,
    pub outcome: Outcome,
}

fn request_id(id: &str) -> Result<String, AppError> {
    let raw: facevault_crypto::Id = id
        .parse()
        .map_err(|_| AppError::field("id", format!("{id:?} is not a request id (32 hex digits)")))?;
    Ok(raw.to_string())
}

fn subject_of(r: &Request) -> Result<SubjectId, AppError> {
    r.subject().0.parse().map_err(|e: String| AppError::internal(format!("request {}: {e}", r.id())))
}

/// The holiday calendar request deadlines are counted on.
pub fn calendar() -> HolidayCalendar {
    facevault_domain::settings::request_calendar(chrono::Datelike::year(&chrono::Utc::now()))
}

fn refused(id: &str, e: RequestUpdateError) -> AppError {
    match e {
        RequestUpdateError::Refused(e) => AppError::conflict(format!("request {id}: {e}")),
        RequestUpdateError::Vault(e) => e.into(),
    }
}

/// A corrected field's new value, if given; an empty one is refused naming the field.
fn given(
    name: &'static str,
    value: Option<String>,
    changed: &mut Vec<String>,
) -> Result<Option<String>, AppError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Err(AppError::field(
            &format!("details.{name}"),
            "must not be empty (leave it out to keep it)",
        ));
    }
    changed.push(name.to_owned());
    Ok(Some(v.to_owned()))
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// Opens a request and returns it with its deadlines. A duplicate of an open request, of
    /// one completed recently, or a third access request within 12 months is refused
    /// (a conflict) naming the earlier one, unless `allow_duplicate`.
    pub async fn open_request(&self, s: &Session, new: NewRequest) -> Result<Request, AppError> {
        journaled!(self, s, |jot| {
            let subject = new.subject;
            let object = format!("subject:{subject}");
            self.gate(
                s,
                &jot,
                gates::REQUEST_OPEN,
                "request.open",
                "request",
                object.clone(),
                Some(subject),
            )?;
            let kind = parse_request_kind(&new.kind).ok_or_else(|| {
                AppError::field("kind", "one of access, delete, correct, opt-out, limit-use")
            })?;
            let law = new
                .law
                .as_deref()
                .map(|l| {
                    parse_law(l).ok_or_else(|| {
                        AppError::field("law", "one of CCPA, GDPR, MHMDA, BIPA, CUBI, HIPAA, other")
                    })
                })
                .transpose()?;
            let patient = s.role == Role::Patient;
            if new.agent.is_some() && patient {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    "a patient makes a request for themself; an authorized agent's request is opened by \
                     the clinic's staff, and moves only once the agent's proof of authority is recorded",
                )
                .at("agent"));
            }
            if new.agent.as_ref().is_some_and(|a| a.trim().is_empty() || a.len() > 256) {
                return Err(AppError::field("agent", "the agent's pseudonymous id, 1 to 256 bytes"));
            }
            let now = crate::time::now_ms();
            let (received, backdated) = match new.received.as_deref() {
                None => (now, None),
                Some(_) if patient => return Err(AppError::new(
                    ErrorKind::Forbidden,
                    "the clinic dates a request when it arrives; a patient cannot set when it was received",
                )
                .at("received")),
                Some(t) => {
                    let at = self.backdated(subject, t, now).await?;
                    let reason = new.received_reason.as_deref().map(str::trim).unwrap_or_default();
                    if reason.is_empty() || reason.len() > 1024 {
                        return Err(AppError::field(
                            "received_reason",
                            "say why the request is dated earlier than now (e.g. a letter received that \
                             day), 1 to 1024 bytes",
                        ));
                    }
                    (at, Some(reason.to_owned()))
                }
            };
            let intake = RequestIntake { subject, kind, law, agent: new.agent.clone(), received };
            match self.vault.open_request_checked(intake, new.allow_duplicate, &calendar()).await? {
                Opened::Opened(r) => {
                    jot.change(
                        "request.open",
                        "request",
                        format!("request:{}", r.id()),
                        match &backdated {
                            None => format!("{kind} under {} for {object}, respond by {}", r.law(), r.respond_by()),
                            Some(why) => format!(
                                "{kind} under {} for {object}, respond by {}; received backdated to {} ({why})",
                                r.law(),
                                r.respond_by(),
                                received.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                            ),
                        },
                    );
                    Ok(r)
                }
                Opened::Duplicate(dup) => {
                    let reason = format!("duplicate of request {} ({:?})", dup.of, dup.reason);
                    jot.push(Record::denied("request.open", "request", object, reason.clone()));
                    Err(AppError::conflict(format!(
                        "{reason}; open it anyway only if it is not one (allow duplicate)"
                    )))
                }
            }
        })
    }

    /// A staff-given receipt time: RFC 3339, not after `now`, not before the day the subject
    /// was registered or first scanned.
    async fn backdated(
        &self,
        subject: SubjectId,
        t: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
        let at = chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|_| AppError::field("received", "not an RFC 3339 time"))?
            .with_timezone(&chrono::Utc);
        if at > now {
            return Err(AppError::field("received", format!("{t} is in the future")));
        }
        // The subject's earliest trace: registered here, or a scan captured before (records
        // brought in from elsewhere).
        let record = self.vault.metadata_store().subject(subject).await?;
        let registered =
            record.ok_or_else(|| AppError::not_found(format!("no subject {subject}")))?.created_at;
        let mut first = chrono::DateTime::from_timestamp_millis(registered.0).unwrap_or(now).date_naive();
        for scan in self.vault.scans_of(subject).await? {
            if let Some(day) = crate::time::parse_date(&scan.capture.captured_on) {
                first = first.min(day);
            }
        }
        if at.date_naive() < first {
            return Err(AppError::field(
                "received",
                format!("{t} is before subject {subject} was known to the clinic ({first}: registered or first scanned)"),
            ));
        }
        Ok(at)
    }

    /// Every request kept by `filter` (the privacy office).
    pub async fn requests(&self, s: &Session, filter: RequestFilter) -> Result<Vec<Request>, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::COMPLIANCE, "request.list", "request", "requests".into(), None)?;
            let now = crate::time::now_ms();
            let all = self.vault.requests(&calendar()).await?;
            let keep: Option<Vec<String>> = if filter.overdue {
                Some(overdue(&all, now).into_iter().map(|d| d.request.id().to_string()).collect())
            } else {
                filter.due_within.map(|n| {
                    due_within(&all, now, n).into_iter().map(|d| d.request.id().to_string()).collect()
                })
            };
            let rows: Vec<Request> = all
                .into_iter()
                .filter(|r| keep.as_ref().is_none_or(|k| k.contains(&r.id().to_string())))
                .collect();
            jot.change("request.list", "request", "requests".into(), format!("{} listed", rows.len()));
            Ok(rows)
        })
    }

    /// A request's deadlines, history and vendor notices (the privacy office).
    pub async fn request(&self, s: &Session, id: &str) -> Result<RequestFile, AppError> {
        journaled!(self, s, |jot| {
            let id = request_id(id)?;
            let object = format!("request:{id}");
            self.gate(s, &jot, gates::COMPLIANCE, "request.show", "request", object.clone(), None)?;
            let request = self.vault.request(&id, &calendar()).await?;
            let vendor_notices =
                self.vault.vendor_notices().await?.into_iter().filter(|n| n.request == id).collect();
            jot.change("request.show", "request", object, "shown");
            Ok(RequestFile { request, vendor_notices })
        })
    }

    /// Applies one move to a request (the privacy office); a move its state does not allow is
    /// a conflict naming why.
    pub async fn move_request(&self, s: &Session, id: &str, m: Move) -> Result<Request, AppError> {
        journaled!(self, s, |jot| {
            let id = request_id(id)?;
            let object = format!("request:{id}");
            let action = m.action();
            self.gate(s, &jot, gates::COMPLIANCE, action, "request", object.clone(), None)?;
            let now = crate::time::now_ms();
            let mut detail = None;
            let change: Change = match m {
                Move::Acknowledge => Box::new(move |r| r.acknowledge(now)),
                Move::AgentAuthority { evidence_sha256 } => {
                    let hex = evidence_sha256.trim().to_ascii_lowercase();
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(AppError::field(
                            "evidence_sha256",
                            "the SHA-256 (64 hex digits) of the agent's signed permission or power of attorney",
                        ));
                    }
                    detail = Some(format!("agent authority recorded, evidence sha256:{hex}"));
                    Box::new(move |r| r.record_agent_authority(now))
                }
                Move::Verify { level } => {
                    let lvl = parse_level(&level)
                        .ok_or_else(|| AppError::field("level", "one of none, standard, strong"))?;
                    Box::new(move |r| {
                        if matches!(r.state(), RequestState::Received) {
                            r.begin_verification(now)?;
                        }
                        r.verify(now, lvl)
                    })
                }
                Move::Start => Box::new(move |r| r.start(now)),
                Move::Extend { reason } => {
                    if reason.trim().is_empty() {
                        return Err(AppError::field("reason", "say why more time is needed"));
                    }
                    Box::new(move |r| r.extend(now, now, &reason))
                }
                Move::Deny { reason, basis } => {
                    for (field, v) in [("reason", &reason), ("basis", &basis)] {
                        if v.trim().is_empty() {
                            return Err(AppError::field(field, "must not be empty"));
                        }
                    }
                    Box::new(move |r| r.deny(now, &reason, &basis))
                }
                Move::Cancel => Box::new(move |r| r.cancel(now)),
                Move::BackupsPurged => Box::new(move |r| r.record_backups_purged(now)),
            };
            let r = match self.vault.update_request(&id, &calendar(), change).await {
                Ok(r) => r,
                Err(e) => {
                    let e = refused(&id, e);
                    if e.kind == crate::ErrorKind::Conflict {
                        jot.push(Record::denied(action, "request", object, e.message.clone()));
                    }
                    return Err(e);
                }
            };
            let said = match detail {
                Some(d) => format!("{}; {d}", r.state().name()),
                None => r.state().name().to_owned(),
            };
            jot.change(action, "request", object, said);
            Ok(r)
        })
    }

    /// Records that a vendor confirmed deleting what it received for an erasure request.
    pub async fn vendor_confirmed(&self, s: &Session, id: &str, vendor: &str) -> Result<Request, AppError> {
        journaled!(self, s, |jot| {
            let id = request_id(id)?;
            let object = format!("request:{id}");
            self.gate(
                s,
                &jot,
                gates::COMPLIANCE,
                "request.vendor-confirmed",
                "request",
                object.clone(),
                None,
            )?;
            let r = self.vault.request(&id, &calendar()).await?;
            if !self.vault.confirm_vendor(&id, vendor).await? {
                return Err(AppError::not_found(format!("request {id} sent no notice to vendor {vendor:?}")));
            }
            jot.change(
                "request.vendor-confirmed",
                "request",
                object,
                format!("vendor {vendor} confirmed deletion"),
            );
            Ok(r)
        })
    }

    /// Carries a request out on the vault for its kind and completes it (the privacy office).
    pub async fn complete_request(
        &self,
        s: &Session,
        id: &str,
        input: &mut (dyn CompletionInput + Send),
    ) -> Result<Completed, AppError> {
        let jot = Jot::new();
        let r = self.carry_out(s, &jot, id, input).await;
        let (_, mut certs) = self.commit_certified(s, jot).await?;
        let (request, outcome) = r?;
        let outcome = match outcome {
            Done::Erased(e) => {
                let cert = certs
                    .pop()
                    .ok_or_else(|| AppError::internal("the erasure's certificate was not issued"))?;
                Outcome::Erased(Box::new(e.certified(cert)))
            }
            Done::Other(o) => o,
        };
        Ok(Completed { request, outcome })
    }

    async fn carry_out(
        &self,
        s: &Session,
        jot: &Jot,
        id: &str,
        input: &mut (dyn CompletionInput + Send),
    ) -> Result<(Request, Done), AppError> {
        let id = request_id(id)?;
        let object = format!("request:{id}");
        self.gate(s, jot, gates::COMPLIANCE, "request.complete", "request", object.clone(), None)?;
        let cal = calendar();
        let now = crate::time::now_ms();
        let request = self.vault.request(&id, &cal).await?;
        let subject = subject_of(&request)?;
        input.fits(request.kind())?;
        // The move must be allowed before anything is done to the vault.
        if let Err(e) = request.clone().complete(now) {
            let why = format!("request {id}: {e}");
            jot.push(Record::denied("request.complete", "request", object, why.clone()));
            return Err(AppError::conflict(why));
        }
        // An erased subject's access request is answered with what is kept of them.
        let kept = match request.kind() {
            RequestKind::Access => self.vault.erased_package(subject, &cal).await?,
            _ => None,
        };
        if let Some(kept) = kept {
            let seal = input.seal()?;
            let sealed = self.seal_package(subject, kept, seal).await?;
            jot.change(
                "subject.export",
                "request",
                format!("subject:{subject}"),
                format!("records kept after erasure, for {object}: disclosures and audit entries"),
            );
            let r = self
                .vault
                .update_request(&id, &cal, |r| r.complete(now))
                .await
                .map_err(|e| refused(&id, e))?;
            jot.change("request.complete", "request", object, r.state().name());
            return Ok((r, Done::Other(Outcome::Packaged(sealed))));
        }
        // An API token acts only for its purposes, here too.
        let purpose = s.purpose(None, &self.vault.delete_purpose(subject).await?)?;
        let done = match request.kind() {
            RequestKind::Access => {
                let seal = input.seal()?;
                // The request is verified (the domain refuses completing it before): the
                // subject's right of access, whatever their consent or restrictions.
                let access = crate::package::Access::Right;
                Done::Other(Outcome::Packaged(self.package(s, jot, subject, &purpose, seal, access).await?))
            }
            RequestKind::Delete => {
                Done::Erased(self.erase(s, jot, subject, &purpose, Why::Request(request.id())).await?)
            }
            RequestKind::Correct => {
                let fields = input.corrected()?;
                let known = Known::Target(Target::Subject(subject));
                let grant =
                    self.decide(s, jot, "subject.correct", Action::Read, &purpose, known, None).await?;
                let mut details = self.vault.subject(&grant, subject).await?.details;
                let mut changed = Vec::new();
                if let Some(v) = given("name", fields.name, &mut changed)? {
                    details.name = v;
                }
                if let Some(v) = given("dob", fields.dob, &mut changed)? {
                    details.date_of_birth = Some(v);
                }
                if let Some(v) = given("contact", fields.contact, &mut changed)? {
                    details.contact = Some(v);
                }
                if let Some(v) = given("jurisdiction", fields.jurisdiction, &mut changed)? {
                    details.jurisdiction = Some(v);
                }
                if changed.is_empty() {
                    return Err(AppError::field("details", "a correction needs the corrected fields"));
                }
                self.vault.correct_details(&grant, subject, &details).await?;
                jot.change(
                    "subject.correct",
                    "request",
                    format!("subject:{subject}"),
                    format!("{} corrected for {object}", changed.join(", ")),
                );
                Done::Other(Outcome::Corrected(changed))
            }
            RequestKind::OptOut | RequestKind::LimitUse => {
                let (r, name) = if request.kind() == RequestKind::OptOut {
                    (Restriction::OptOut, "opt-out")
                } else {
                    (Restriction::LimitUse, "limit-use")
                };
                self.vault.set_restriction(subject, r, true).await?;
                jot.change(
                    "restriction.set",
                    name,
                    format!("subject:{subject}"),
                    format!("{name} set for {object}"),
                );
                Done::Other(Outcome::Restricted(name))
            }
        };
        let r =
            self.vault.update_request(&id, &cal, |r| r.complete(now)).await.map_err(|e| refused(&id, e))?;
        jot.change("request.complete", "request", object, r.state().name());
        Ok((r, done))
    }
}

/// One move applied to a request.
type Change = Box<dyn FnOnce(&mut Request) -> Result<(), RequestError> + Send>;

enum Done {
    Erased(crate::destruction::Erased),
    Other(Outcome),
}
