//! The data subject's access and portability export: everything the vault holds about one
//! subject, decrypted in memory under one export grant, for the caller to package (the CLI
//! writes it as a tar archive encrypted to a passphrase in the age format).
//!
//! What is collected: the subject's details, every scan with its PLY, every derivative with
//! its content and how it was produced (producer, parameters, parents, kind), every consent
//! ever recorded (notice text, purposes, signature, withdrawal), every disclosure, the
//! governance state and the retention schedule as planned today. Nothing of another subject
//! is read: every query is by this subject's id, and every blob is opened under its key and
//! context. The audit log is not a vault port; the caller adds its entries.
//!
//! Plaintext content stays in memory in `Zeroizing` buffers, wiped when the package is dropped.
//! [`SubjectPackage::into_access`] hands it over as the domain's plain `AccessPackage`, what
//! `facevault-export` lays out (so the export crate needs nothing of the vault).

use std::fmt;

use facevault_crypto::{self as crypto, ObjectKind};
use facevault_domain as domain;
use facevault_domain::access;
use facevault_policy::{AccessGrant, Action};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::governance::{check_grant, chrono_ts, GovernanceState, StoredConsent, SubjectPlan, Target};
use crate::ids::{Node, SubjectId, Timestamp};
use crate::model::{Derivative, DerivativeKind, Disclosure, Scan, Subject};
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};
use crate::vault::{blob_ctx, Vault};

/// Everything about one subject, decrypted: what an access or portability request returns.
pub struct SubjectPackage {
    /// The subject with its identifying details.
    pub subject: Subject,
    /// Every scan, oldest first.
    pub scans: Vec<PackagedScan>,
    /// Every derivative, oldest first.
    pub derivatives: Vec<PackagedDerivative>,
    /// Every consent recorded, oldest first (the last one is current).
    pub consents: Vec<StoredConsent>,
    /// Every disclosure of the subject's objects, oldest first.
    pub disclosures: Vec<Disclosure>,
    /// Restrictions, legal holds and purposes satisfied.
    pub governance: GovernanceState,
    /// The retention schedule as planned on the day of the export.
    pub retention: SubjectPlan,
    /// When the package was collected (the vault clock).
    pub generated_at: Timestamp,
}

/// A scan with its mesh as the stored binary PLY.
pub struct PackagedScan {
    pub scan: Scan,
    pub ply: Zeroizing<Vec<u8>>,
}

/// A derivative with its content (PLY, PNG, JSON, or a report's bytes).
pub struct PackagedDerivative {
    pub derivative: Derivative,
    pub content: Zeroizing<Vec<u8>>,
}

impl PackagedDerivative {
    /// Whether it is the output of automated processing (GDPR art. 15(1)(h), 22): every
    /// simulation, measurement, render and inference is computed by software from the
    /// subject's scans; a report is, unless its producer is not a FaceVault analysis (a report a
    /// clinician wrote and stored).
    pub fn automated(&self) -> bool {
        match self.derivative.kind {
            DerivativeKind::Report => self.derivative.producer.starts_with("facevault"),
            _ => true,
        }
    }
}

impl SubjectPackage {
    /// The package as the domain's plain values, for `facevault-export` (the contents move, no
    /// copy is made).
    pub fn into_access(self) -> access::AccessPackage {
        let node = |n: Node| match n {
            Node::Scan(s) => access::AccessParent { kind: "scan", id: s.to_string() },
            Node::Derivative(d) => access::AccessParent { kind: "derivative", id: d.to_string() },
        };
        let d = self.subject.details;
        access::AccessPackage {
            subject: self.subject.id.to_string(),
            created_at: chrono_ts(self.subject.created_at),
            details: access::AccessDetails {
                name: d.name,
                date_of_birth: d.date_of_birth,
                contact: d.contact,
                jurisdiction: d.jurisdiction,
            },
            scans: self
                .scans
                .into_iter()
                .map(|PackagedScan { scan, ply }| access::AccessScan {
                    id: scan.id.to_string(),
                    device: scan.capture.device,
                    captured_on: scan.capture.captured_on,
                    purpose: scan.capture.purpose.0,
                    source_unit: scan.source_unit.to_string(),
                    vertices: scan.vertices,
                    triangles: scan.triangles,
                    imported_at: chrono_ts(scan.imported_at),
                    ply,
                })
                .collect(),
            derivatives: self
                .derivatives
                .into_iter()
                .map(|PackagedDerivative { derivative: der, content }| access::AccessDerivative {
                    id: der.id.to_string(),
                    kind: der.kind.as_str().to_owned(),
                    producer: der.producer,
                    parameters: der.parameters,
                    parents: der.parents.into_iter().map(node).collect(),
                    created_at: chrono_ts(der.created_at),
                    content,
                })
                .collect(),
            consents: self
                .consents
                .into_iter()
                .map(|c| access::AccessConsent {
                    id: c.id.to_string(),
                    recorded_at: chrono_ts(c.recorded_at),
                    pending: !c.in_force(),
                    record: c.record,
                })
                .collect(),
            disclosures: self.disclosures.into_iter().map(access_disclosure).collect(),
            governance: access::AccessGovernance {
                opt_out: self.governance.opt_out.map(chrono_ts),
                limit_use: self.governance.limit_use.map(chrono_ts),
                holds: self.governance.holds,
                satisfied: self.governance.satisfied,
            },
            destructions: self.retention.destructions,
            unplanned: self.retention.unplanned,
            generated_at: chrono_ts(self.generated_at),
        }
    }
}

/// A recorded disclosure as the access package lists it.
fn access_disclosure(x: Disclosure) -> access::AccessDisclosure {
    access::AccessDisclosure {
        object: Target::Node(x.node).object_id().0,
        at: chrono_ts(x.at),
        kind: x.kind,
        purpose: x.purpose.0,
        recipient: x.recipient,
        vendor: x.vendor,
    }
}

impl fmt::Debug for SubjectPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectPackage")
            .field("subject", &self.subject.id)
            .field("scans", &self.scans)
            .field("derivatives", &self.derivatives)
            .field("consents", &self.consents.len())
            .field("disclosures", &self.disclosures.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PackagedScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackagedScan {{ id: {}, ply: {} bytes }}", self.scan.id, self.ply.len())
    }
}

impl fmt::Debug for PackagedDerivative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PackagedDerivative {{ id: {}, kind: {}, content: {} bytes }}",
            self.derivative.id,
            self.derivative.kind,
            self.content.len()
        )
    }
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    /// Every consent recorded for the subject, oldest first, unsealed and checked again, with
    /// its confirmation (the one in force is what [`Vault::consent`] returns).
    pub async fn consent_history(&self, subject: SubjectId) -> Result<Vec<StoredConsent>, VaultError> {
        let record = self.meta.subject(subject).await?.ok_or(VaultError::UnknownSubject { id: subject })?;
        let mut rows = self.meta.consents_of(subject).await?;
        rows.sort_by_key(|r| (r.recorded_at, r.id));
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.data_key(&record)?;
        let mut confirmed = self.governance(subject).await?.confirmations;
        rows.iter()
            .map(|row| {
                let mut c = self.open_consent(&key, row)?;
                c.confirmation = confirmed.remove(&row.id);
                Ok(c)
            })
            .collect()
    }

    /// What is kept of a subject an erasure request crypto-shredded, for an access request
    /// made after it: the accounting of disclosures (pseudonymous, no biometric data); no
    /// details, consent, scan or derivative remain. `None` while the subject exists or if no
    /// erasure request removed it. The caller adds the audit entries about the subject (its
    /// requests among them).
    pub async fn erased_package(
        &self,
        subject: SubjectId,
        calendar: &facevault_domain::request::HolidayCalendar,
    ) -> Result<Option<access::AccessPackage>, VaultError> {
        let Some(erasure) = self.erasure_of(subject, calendar).await? else {
            return Ok(None);
        };
        let now = chrono_ts(self.clock.now());
        let erased = erasure.events().last().map_or(now, |e| e.at);
        Ok(Some(access::AccessPackage {
            subject: subject.to_string(),
            created_at: erased,
            details: access::AccessDetails::default(),
            scans: Vec::new(),
            derivatives: Vec::new(),
            consents: Vec::new(),
            disclosures: self
                .meta
                .disclosures_of(subject)
                .await?
                .into_iter()
                .map(access_disclosure)
                .collect(),
            governance: access::AccessGovernance::default(),
            destructions: Vec::new(),
            unplanned: Some(format!(
                "erased on {} by request {}: the details, consents, scans and derivatives were destroyed; \
                 kept are the disclosure records and the audit entries",
                erased.date_naive(),
                erasure.id()
            )),
            generated_at: now,
        }))
    }

    /// Everything about `subject`, decrypted, for an access or portability request. Needs an
    /// export grant on `subject:<id>`. Every blob is verified before anything is returned: a
    /// damaged object fails the whole package, naming the object.
    pub async fn subject_package(
        &self,
        grant: &AccessGrant,
        subject: SubjectId,
    ) -> Result<SubjectPackage, VaultError> {
        check_grant(grant, &[Action::Export], Target::Subject(subject))?;
        let record = self.meta.subject(subject).await?.ok_or(VaultError::UnknownSubject { id: subject })?;
        let key = &self.data_key(&record)?;
        let details = self.open_details(&record, key)?;
        let open = |kind: ObjectKind, blob: crate::model::BlobRef| async move {
            let sealed =
                self.blobs.get(blob.object).await?.ok_or(VaultError::MissingBlob { object: blob.object })?;
            let ctx = blob_ctx(self.id, subject, blob.object, kind, blob.version);
            Ok::<_, VaultError>(Zeroizing::new(crypto::open(key, &ctx, sealed)?))
        };

        let mut scans = self.meta.scans_of(subject).await?;
        scans.sort_by_key(|s| (s.imported_at, s.id));
        let mut packaged_scans = Vec::with_capacity(scans.len());
        for scan in scans {
            let ply = open(ObjectKind::Scan, scan.blob).await?;
            packaged_scans.push(PackagedScan { scan, ply });
        }
        let mut derivatives = self.meta.derivatives_of(subject).await?;
        derivatives.sort_by_key(|d| (d.created_at, d.id));
        let mut packaged_derivatives = Vec::with_capacity(derivatives.len());
        for derivative in derivatives {
            let content = open(ObjectKind::Derivative, derivative.blob).await?;
            packaged_derivatives.push(PackagedDerivative { derivative, content });
        }

        let now = self.clock.now();
        let today = chrono_ts(now).date_naive();
        let retention = match self.retention_of(subject).await? {
            Ok(r) => SubjectPlan { subject, destructions: domain::plan(&r, today), unplanned: None },
            Err(why) => SubjectPlan { subject, destructions: Vec::new(), unplanned: Some(why) },
        };
        Ok(SubjectPackage {
            subject: Subject { id: subject, created_at: record.created_at, details },
            scans: packaged_scans,
            derivatives: packaged_derivatives,
            consents: self.consent_history(subject).await?,
            disclosures: self.meta.disclosures_of(subject).await?,
            governance: self.governance(subject).await?,
            retention,
            generated_at: now,
        })
    }
}
