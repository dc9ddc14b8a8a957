//! Consent and the subject's own governance: recording a consent (checked against what the
//! subject's jurisdiction requires), showing it, confirming or approving one that waits,
//! withdrawing it; restrictions (opt-out, limit-use, the opt-out preference signal); legal holds;
//! purposes satisfied. These are not reads of scan data, so the role lists of
//! `facevault_policy::gates` decide them; a patient acts only on their own.
//!
//! Staff cannot forge consent: one they record for a purpose beyond care, or after the patient
//! withdrew, waits (granting nothing) until the patient confirms it in the portal or the privacy
//! officer approves it against the SHA-256 of the signed form. An opt-out of sale and sharing is
//! lifted only by the consumer (CCPA 1798.135(c)(4), 11 CCR 7028).

use facevault_crypto::Id;
use facevault_domain::consent_form::ConsentForm;
use facevault_domain::{hold_standing, Jurisdiction, PurposeId};
use facevault_policy::{gates, Role};
use facevault_vault::{
    parse_hold_kind, BlobStore, Confirmation, ConfirmedBy, MetadataStore, Recorder, Restriction,
    StoredConsent, SubjectId, Timestamp, VaultError,
};

use crate::error::AppError;
use crate::journal::{Jot, Record};
use crate::session::Session;
use crate::App;

/// A consent just recorded.
#[derive(Clone, Debug)]
pub struct ConsentRecorded {
    pub id: Id,
    pub subject: SubjectId,
    pub jurisdiction: String,
    pub purposes: Vec<String>,
    /// Why it waits for the patient's confirmation or the privacy officer's approval (and grants
    /// nothing until then); `None` when it is in force at once.
    pub pending: Option<String>,
}

/// Why an opt-out stays until the consumer lifts it.
const OPT_OUT_LIFT: &str = "an opt-out of sale and sharing is lifted only by the consumer's own opt-in \
    (CCPA 1798.135(c)(4), 11 CCR 7028): the patient lifts it in the portal";

/// A consent's id as typed, or a 400 naming the field.
pub fn parse_consent_id(text: &str) -> Result<Id, AppError> {
    text.parse().map_err(|_| AppError::field("consent", format!("{text:?} is not a consent id")))
}

/// A SHA-256 as 64 hex digits (any case), lowercased; a 400 naming `form_sha256` otherwise.
pub fn parse_form_sha256(text: &str) -> Result<String, AppError> {
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(AppError::field("form_sha256", "the signed form's SHA-256: 64 hexadecimal digits"))
    }
}

fn object(s: SubjectId) -> String {
    format!("subject:{s}")
}

/// A legal hold placed.
#[derive(Clone, Debug)]
pub struct PlacedHold {
    /// The SHA-256 of its reference, as the audit log names it.
    pub reference_sha256: String,
    /// Why its kind is outside the subject's statute, if it is (it suspends destruction all the
    /// same): for counsel.
    pub outside_statute: Option<String>,
}

/// The SHA-256 of a hold's reference, as the audit log and the replies name it.
pub fn reference_sha256(reference: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(reference.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// Records a subject's consent from the form (it supersedes any earlier one); refused naming
    /// the first element the subject's jurisdiction requires that is missing. `read_notice`
    /// returns the text of a notice the form names as a file (the CLI reads it beside the form;
    /// the server takes none).
    pub async fn record_consent(
        &self,
        s: &Session,
        subject: SubjectId,
        form: &ConsentForm,
        read_notice: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<ConsentRecorded, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::CONSENT, "consent.add", "consent", object(subject), Some(subject))?;
            self.vault.scans_of(subject).await?;
            let (j, draft) = form
                .draft(self.policy.catalogue(), crate::time::now_ms(), read_notice)
                .map_err(|e| AppError::field(&e.field, e.message))?;
            let purposes: Vec<String> =
                draft.purposes.iter().map(|g| g.purpose.id.as_str().to_owned()).collect();
            // A patient here is on their own subject (the gate saw to it).
            let by = Recorder { actor: &s.actor, subject: s.role == Role::Patient };
            match self.vault.record_consent_by(subject, j, &draft, by).await {
                Ok((id, pending)) => {
                    let waits = pending.as_ref().map_or(String::new(), |why| {
                        format!(
                            "; pending the patient's confirmation or the privacy officer's approval: {why}"
                        )
                    });
                    jot.change(
                        "consent.add",
                        "consent",
                        object(subject),
                        format!("consent {id} ({j}) for {}{waits}", purposes.join(", ")),
                    );
                    Ok(ConsentRecorded { id, subject, jurisdiction: j.to_string(), purposes, pending })
                }
                Err(VaultError::ConsentRefused { subject, reason }) => {
                    jot.push(Record::denied("consent.add", "consent", object(subject), reason.clone()));
                    Err(AppError::denied(format!("subject {subject}: {reason}")))
                }
                Err(e) => Err(e.into()),
            }
        })
    }

    /// The subject's latest consent on record (in force, or waiting for confirmation: see
    /// [`StoredConsent::state_at`]); `how` says what the read was for, for the audit log.
    pub async fn consent(
        &self,
        s: &Session,
        subject: SubjectId,
        how: &str,
    ) -> Result<StoredConsent, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::CONSENT, "consent.read", "consent", object(subject), Some(subject))?;
            self.vault.scans_of(subject).await?;
            let c =
                self.vault.consent_history(subject).await?.pop().ok_or_else(|| {
                    AppError::not_found(format!("subject {subject} has no consent on record"))
                })?;
            jot.change("consent.read", "consent", object(subject), how.to_owned());
            Ok(c)
        })
    }

    /// Withdraws a subject's consent now: every later access is refused at once (deletion
    /// stays possible). A patient may withdraw their own.
    pub async fn withdraw_consent(&self, s: &Session, subject: SubjectId) -> Result<Timestamp, AppError> {
        journaled!(self, s, |jot| {
            self.gate(
                s,
                &jot,
                gates::CONSENT,
                "consent.withdraw",
                "consent",
                object(subject),
                Some(subject),
            )?;
            let at = self.vault.withdraw_consent(subject).await?;
            jot.change("consent.withdraw", "consent", object(subject), "consent withdrawn");
            Ok(at)
        })
    }

    /// The patient confirms, in the portal, a consent that waits for them (one staff recorded
    /// for a purpose beyond care, or after a withdrawal): it is in force from now on. Only the
    /// patient; staff are refused naming the privacy officer's way.
    pub async fn confirm_consent(
        &self,
        s: &Session,
        subject: SubjectId,
        consent: Id,
    ) -> Result<(StoredConsent, Confirmation), AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::CONSENT, "consent.confirm", "consent", object(subject), Some(subject))?;
            if s.role != Role::Patient {
                let why = "only the patient confirms a consent, in the portal; the privacy officer approves \
                    one against the signed form's SHA-256";
                jot.push(Record::denied("consent.confirm", "consent", object(subject), why.to_owned()));
                return Err(AppError::denied(why));
            }
            self.put_in_force(s, &jot, subject, consent, ConfirmedBy::Patient, None).await
        })
    }

    /// The privacy officer approves a consent that waits, against the SHA-256 of the form the
    /// patient signed (kept on file): it is in force from now on.
    pub async fn approve_consent(
        &self,
        s: &Session,
        subject: SubjectId,
        consent: Id,
        form_sha256: &str,
    ) -> Result<(StoredConsent, Confirmation), AppError> {
        journaled!(self, s, |jot| {
            self.gate(
                s,
                &jot,
                gates::CONSENT_APPROVE,
                "consent.approve",
                "consent",
                object(subject),
                Some(subject),
            )?;
            let hash = parse_form_sha256(form_sha256)?;
            self.put_in_force(s, &jot, subject, consent, ConfirmedBy::PrivacyOfficer, Some(&hash)).await
        })
    }

    async fn put_in_force(
        &self,
        s: &Session,
        jot: &Jot,
        subject: SubjectId,
        consent: Id,
        kind: ConfirmedBy,
        form_sha256: Option<&str>,
    ) -> Result<(StoredConsent, Confirmation), AppError> {
        let action = match kind {
            ConfirmedBy::Patient => "consent.confirm",
            ConfirmedBy::PrivacyOfficer => "consent.approve",
        };
        self.vault.scans_of(subject).await?;
        let done = match self.vault.confirm_consent(subject, consent, &s.actor, kind, form_sha256).await {
            Ok(done) => done,
            Err(e @ VaultError::ConsentNotPending { .. }) => {
                jot.push(Record::denied(action, "consent", object(subject), e.to_string()));
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let form = form_sha256.map_or(String::new(), |h| format!(" against signed form sha256:{h}"));
        jot.change(action, "consent", object(subject), format!("consent {consent} in force{form}"));
        let c = self.vault.consent_history(subject).await?.into_iter().find(|c| c.id == consent);
        let c = c.ok_or_else(|| AppError::internal(format!("consent {consent} vanished")))?;
        Ok((c, done))
    }

    /// Records the opt-out preference signal (Global Privacy Control, 11 CCR 7025) a patient's
    /// browser sends as an opt-out of sale and sharing of their own data. Only a patient in
    /// person on their own subject; anyone else's signal is not theirs to give, and is ignored
    /// (`None`). `Some(true)` when it was recorded now (audited), `Some(false)` when an opt-out
    /// was already on record (nothing is written twice).
    pub async fn honour_opt_out_signal(&self, s: &Session) -> Result<Option<bool>, AppError> {
        let Some(subject) = s.own_subject.filter(|_| s.role == Role::Patient && s.via == crate::Via::Person)
        else {
            return Ok(None);
        };
        if self.vault.governance(subject).await?.opt_out.is_some() {
            return Ok(Some(false));
        }
        journaled!(self, s, |jot| {
            // Two requests at once: only the one that set it journals it.
            let now = self.vault.set_restriction(subject, Restriction::OptOut, true).await?;
            if now {
                jot.change(
                    "restriction.set",
                    "opt-out",
                    object(subject),
                    "opt-out set from the opt-out preference signal (Global Privacy Control, 11 CCR 7025)",
                );
            }
            Ok(Some(now))
        })
    }

    /// Sets (or lifts) a restriction: the front desk, the privacy office, and a patient for
    /// themself. It applies to every decision from then on. An opt-out is lifted only by the
    /// patient themself.
    pub async fn set_restriction(
        &self,
        s: &Session,
        subject: SubjectId,
        restriction: Restriction,
        lift: bool,
    ) -> Result<(), AppError> {
        journaled!(self, s, |jot| {
            let name = restriction_name(restriction);
            self.gate(s, &jot, gates::RESTRICTION, "restriction.set", name, object(subject), Some(subject))?;
            if lift && restriction == Restriction::OptOut && s.role != Role::Patient {
                jot.push(Record::denied("restriction.set", name, object(subject), OPT_OUT_LIFT.to_owned()));
                return Err(AppError::denied(OPT_OUT_LIFT));
            }
            self.vault.scans_of(subject).await?;
            self.vault.set_restriction(subject, restriction, !lift).await?;
            let verb = if lift { "lifted" } else { "set" };
            jot.change("restriction.set", name, object(subject), format!("{name} {verb}"));
            Ok(())
        })
    }

    /// The jurisdiction of the subject's current consent (`other` without one): the law whose
    /// rules on holds apply.
    pub(crate) async fn jurisdiction_of(&self, subject: SubjectId) -> Result<Jurisdiction, AppError> {
        Ok(self
            .vault
            .consent(subject)
            .await?
            .map_or(Jurisdiction::Other, |c| c.record.consent().jurisdiction()))
    }

    /// Places a legal hold (the privacy office): every destruction of the subject's data is
    /// suspended until it is released, whatever its kind. A kind the subject's law does not
    /// name as a ground to delay destruction (a litigation hold under BIPA 15(a), any hold under
    /// CUBI) is placed too, and the answer and the audit entry say it is outside the statute.
    pub async fn place_hold(
        &self,
        s: &Session,
        subject: SubjectId,
        kind: &str,
        reference: &str,
        reason: &str,
    ) -> Result<PlacedHold, AppError> {
        journaled!(self, s, |jot| {
            self.gate(
                s,
                &jot,
                gates::COMPLIANCE,
                "hold.place",
                "legal-hold",
                object(subject),
                Some(subject),
            )?;
            let k = parse_hold_kind(kind)
                .ok_or_else(|| AppError::field("kind", "warrant, subpoena or litigation"))?;
            if reference.trim().is_empty() || reference.len() > 1024 {
                return Err(AppError::field("reference", "1 to 1024 bytes"));
            }
            if reason.trim().is_empty() || reason.len() > 4096 {
                return Err(AppError::field("reason", "1 to 4096 bytes"));
            }
            self.vault.scans_of(subject).await?;
            self.vault.place_hold(subject, k, reference, reason).await?;
            let hash = reference_sha256(reference);
            let j = self.jurisdiction_of(subject).await?;
            let standing = hold_standing(j, k);
            let outside_statute = (!standing.within_statute).then(|| {
                format!(
                    "a {k} is outside the statute of a subject in {j} ({}); destruction is suspended all the \
                     same, for counsel to resolve",
                    standing.source
                )
            });
            let note = match &outside_statute {
                Some(_) => format!("; outside the statute ({j}: {})", standing.source),
                None => String::new(),
            };
            jot.change(
                "hold.place",
                "legal-hold",
                object(subject),
                format!("{kind} hold placed, reference sha256:{hash}{note}"),
            );
            Ok(PlacedHold { reference_sha256: hash, outside_statute })
        })
    }

    /// Releases a legal hold: what fell due meanwhile becomes due today. Returns the SHA-256 of
    /// the reference.
    pub async fn release_hold(
        &self,
        s: &Session,
        subject: SubjectId,
        reference: &str,
    ) -> Result<String, AppError> {
        journaled!(self, s, |jot| {
            self.gate(
                s,
                &jot,
                gates::COMPLIANCE,
                "hold.release",
                "legal-hold",
                object(subject),
                Some(subject),
            )?;
            self.vault.scans_of(subject).await?;
            self.vault.release_hold(subject, reference).await?;
            let hash = reference_sha256(reference);
            jot.change(
                "hold.release",
                "legal-hold",
                object(subject),
                format!("hold released, reference sha256:{hash}"),
            );
            Ok(hash)
        })
    }

    /// Records that a purpose is satisfied for a subject on `day` (default today): its data
    /// becomes due for destruction that day (BIPA: "when the initial purpose ... has been
    /// satisfied").
    pub async fn purpose_satisfied(
        &self,
        s: &Session,
        subject: SubjectId,
        purpose: &str,
        day: Option<&str>,
    ) -> Result<chrono::NaiveDate, AppError> {
        journaled!(self, s, |jot| {
            self.gate(
                s,
                &jot,
                gates::SATISFIED,
                "purpose.satisfied",
                "administration",
                object(subject),
                Some(subject),
            )?;
            let today = crate::time::today();
            let day = match day {
                Some(d) => crate::time::parse_date(d)
                    .ok_or_else(|| AppError::field("on", format!("{d:?} is not a YYYY-MM-DD date")))?,
                None => today,
            };
            if day > today {
                return Err(AppError::field(
                    "on",
                    format!("{day}: a purpose is satisfied on a day that has come"),
                ));
            }
            let id = PurposeId::new(purpose.to_owned())
                .map_err(|e| AppError::field("purpose", format!("purpose {purpose:?}: {e}")))?;
            if self.policy.catalogue().get(purpose).is_none() {
                return Err(AppError::field(
                    "purpose",
                    format!("purpose {purpose:?} is not in the catalogue"),
                ));
            }
            self.vault.mark_satisfied(subject, &id, day).await?;
            jot.change("purpose.satisfied", purpose, object(subject), format!("purpose satisfied on {day}"));
            Ok(day)
        })
    }
}

/// A restriction's name, as the audit log and both front ends spell it.
pub fn restriction_name(r: Restriction) -> &'static str {
    match r {
        Restriction::OptOut => "opt-out",
        Restriction::LimitUse => "limit-use",
    }
}

/// A restriction by its name (`opt-out`, `limit-use`).
pub fn parse_restriction(name: &str) -> Option<Restriction> {
    match name {
        "opt-out" => Some(Restriction::OptOut),
        "limit-use" => Some(Restriction::LimitUse),
        _ => None,
    }
}
