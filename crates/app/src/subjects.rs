//! Subjects: list (pseudonymous ids only), add (details sealed under the subject's own key),
//! and a subject's record (details decrypted) under a read decision.

use facevault_policy::{gates, Action, Role};
use facevault_vault::{
    BlobStore, Derivative, Disclosure, MetadataStore, Scan, Subject, SubjectDetails, SubjectId, Target,
    Timestamp,
};
use zeroize::Zeroizing;

use crate::access::Known;
use crate::error::AppError;
use crate::session::Session;
use crate::App;

/// One subject in a listing: ids and counts, nothing identifying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectSummary {
    pub id: SubjectId,
    pub created_at: Timestamp,
    pub scans: usize,
    pub derivatives: usize,
}

/// A new subject's details, as a front end took them (a form, flags, standard input).
#[derive(Debug, Default)]
pub struct NewSubject {
    pub name: Zeroizing<String>,
    /// YYYY-MM-DD.
    pub date_of_birth: Option<String>,
    pub contact: Option<String>,
    /// Where the subject lives, which decides the law (US-IL, US-CA, EU-FR, ...).
    pub jurisdiction: Option<String>,
}

/// A subject's whole record, decrypted under a read decision.
#[derive(Debug)]
pub struct SubjectFile {
    pub subject: Subject,
    pub scans: Vec<Scan>,
    pub derivatives: Vec<Derivative>,
    pub disclosures: Vec<Disclosure>,
}

/// Who may list subjects: the care team, and a patient (themselves only).
const LISTERS: &[Role] =
    &[Role::Surgeon, Role::ClinicalStaff, Role::FrontDesk, Role::PrivacyOfficer, Role::Admin, Role::Patient];

/// The longest name, contact or jurisdiction kept.
const MAX_FIELD: usize = 1024;

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// Subjects by pseudonymous id, oldest first; a patient sees only themselves.
    pub async fn list_subjects(&self, s: &Session) -> Result<Vec<SubjectSummary>, AppError> {
        journaled!(self, s, |jot| {
            let own = if s.role == Role::Patient { s.own_subject } else { None };
            self.gate(s, &jot, LISTERS, "subject.list", "administration", "subjects".into(), own)?;
            let meta = self.vault.metadata_store();
            let mut subjects = match s.role {
                Role::Patient => match s.own_subject {
                    Some(id) => meta.subject(id).await?.into_iter().collect(),
                    None => Vec::new(),
                },
                _ => meta.subjects().await?,
            };
            subjects.sort_by_key(|x| (x.created_at, x.id));
            let mut out = Vec::with_capacity(subjects.len());
            for x in subjects {
                out.push(SubjectSummary {
                    id: x.id,
                    created_at: x.created_at,
                    scans: meta.scans_of(x.id).await?.len(),
                    derivatives: meta.derivatives_of(x.id).await?.len(),
                });
            }
            jot.change("subject.list", "administration", "subjects".into(), format!("{} listed", out.len()));
            Ok(out)
        })
    }

    /// Adds a subject (the care team); their details are sealed under their own data key.
    pub async fn add_subject(&self, s: &Session, new: NewSubject) -> Result<SubjectId, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::CARE, "subject.add", "administration", "subject:new".into(), None)?;
            if new.name.trim().is_empty() || new.name.len() > MAX_FIELD {
                return Err(AppError::field("name", "give the subject's name (at most 1024 bytes)"));
            }
            if new.date_of_birth.as_deref().is_some_and(|d| !crate::time::is_date(d)) {
                return Err(AppError::field("date_of_birth", "not a YYYY-MM-DD date"));
            }
            for (field, v) in [("contact", &new.contact), ("jurisdiction", &new.jurisdiction)] {
                if v.as_ref().is_some_and(|v| v.trim().is_empty() || v.len() > MAX_FIELD) {
                    return Err(AppError::field(field, "1 to 1024 bytes when given"));
                }
            }
            let details = SubjectDetails {
                name: new.name.trim().to_owned(),
                date_of_birth: new.date_of_birth.clone(),
                contact: new.contact.clone(),
                jurisdiction: new.jurisdiction.clone(),
            };
            let id = self.vault.create_subject(&details).await?;
            jot.change("subject.add", "administration", format!("subject:{id}"), "details sealed");
            Ok(id)
        })
    }

    /// A subject's record: details (decrypted), scans, derivatives, disclosures. A read of the
    /// subject for `purpose`, decided by the policy.
    pub async fn subject_file(
        &self,
        s: &Session,
        subject: SubjectId,
        purpose: Option<&str>,
        break_glass: Option<&str>,
    ) -> Result<SubjectFile, AppError> {
        journaled!(self, s, |jot| {
            let purpose = s.purpose(purpose, crate::CLINICAL)?;
            let known = Known::Target(Target::Subject(subject));
            let grant =
                self.decide(s, &jot, "subject.read", Action::Read, &purpose, known, break_glass).await?;
            let subject_rec = self.vault.subject(&grant, subject).await?;
            Ok(SubjectFile {
                subject: subject_rec,
                scans: self.vault.scans_of(subject).await?,
                derivatives: self.vault.metadata_store().derivatives_of(subject).await?,
                disclosures: self.vault.disclosures_of(subject).await?,
            })
        })
    }
}
