//! The access and portability package of a subject (`facevault-export`): decided as an export,
//! gathered (the subject's records and the audit entries about them), archived and sealed to
//! the passphrase or age key the person asking gave. Sealing costs about a second of CPU, so it
//! runs on the front end's [`crate::Offload`].

use facevault_export::{objects_of, Seal};
use facevault_policy::{Action, Role};
use facevault_vault::{BlobStore, MetadataStore, SubjectId, Target};

use crate::access::Known;
use crate::error::AppError;
use crate::journal::Jot;
use crate::session::Session;
use crate::App;

/// On what basis a package is made.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access<'a> {
    /// The subject's right of access: the patient on their own record, or the privacy office
    /// completing a verified access request.
    Right,
    /// Any other export, decided on consent, retention and restrictions (with break-glass if
    /// given).
    Decided(Option<&'a str>),
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// A subject's package, sealed: an export for `purpose` (default: the first the subject
    /// consented to), decided. A patient's export of their own record is their right of access
    /// and portability, which no consent, retention or restriction limits.
    pub async fn export_subject(
        &self,
        s: &Session,
        subject: SubjectId,
        purpose: Option<&str>,
        seal: Seal,
        break_glass: Option<&str>,
    ) -> Result<Vec<u8>, AppError> {
        journaled!(self, s, |jot| {
            let held = self.vault.delete_purpose(subject).await?;
            let purpose = s.purpose(purpose, &held)?;
            let access = if s.role == Role::Patient { Access::Right } else { Access::Decided(break_glass) };
            self.package(s, &jot, subject, &purpose, seal, access).await
        })
    }

    /// Decides the export, gathers the package and the audit entries about the subject, and
    /// builds and seals it.
    pub(crate) async fn package(
        &self,
        s: &Session,
        jot: &Jot,
        subject: SubjectId,
        purpose: &str,
        seal: Seal,
        access: Access<'_>,
    ) -> Result<Vec<u8>, AppError> {
        let known = Known::Target(Target::Subject(subject));
        let grant = match access {
            Access::Right => self.decide_right_of_access(s, jot, "subject.export", purpose, known).await?,
            Access::Decided(break_glass) => {
                self.decide(s, jot, "subject.export", Action::Export, purpose, known, break_glass).await?
            }
        };
        let package = self.vault.subject_package(&grant, subject).await?.into_access();
        self.seal_package(subject, package, seal).await
    }

    /// Adds the audit entries about the subject to `package`, and builds and seals it.
    pub(crate) async fn seal_package(
        &self,
        subject: SubjectId,
        package: facevault_domain::access::AccessPackage,
        seal: Seal,
    ) -> Result<Vec<u8>, AppError> {
        let objects = objects_of(&package);
        let audit = self.journal.read(move |l| l.about(subject, &objects)).await??;
        self.offloaded(move || facevault_export::package(&package, &audit, seal))
            .await?
            .map_err(AppError::internal)
    }
}
