//! The access and portability package of a subject (`facevault-export`): decided as an export,
//! gathered (the subject's records and the audit entries about them), archived and sealed to
//! the passphrase or age key the person asking gave. Sealing costs about a second of CPU, so it
//! runs on the front end's [`crate::Offload`].

use facevault_export::{objects_of, Seal};
use facevault_policy::Action;
use facevault_vault::{BlobStore, MetadataStore, SubjectId, Target};

use crate::access::Known;
use crate::error::AppError;
use crate::journal::Jot;
use crate::session::Session;
use crate::App;

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// A subject's package, sealed: an export for `purpose` (default: the first the subject
    /// consented to), decided.
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
            self.package(s, &jot, subject, &purpose, seal, break_glass).await
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
        break_glass: Option<&str>,
    ) -> Result<Vec<u8>, AppError> {
        let known = Known::Target(Target::Subject(subject));
        let grant =
            self.decide(s, jot, "subject.export", Action::Export, purpose, known, break_glass).await?;
        let package = self.vault.subject_package(&grant, subject).await?.into_access();
        let objects = objects_of(&package);
        let audit = self.journal.read(move |l| l.about(subject, &objects)).await??;
        self.offloaded(move || facevault_export::package(&package, &audit, seal))
            .await?
            .map_err(AppError::internal)
    }
}
