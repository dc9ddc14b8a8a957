//! `fsck`: every reference has its blob, every blob is referenced, every subject key unwraps
//! and every AEAD tag verifies. Repair removes orphan blobs (nothing else is safe to change
//! automatically). Run it while no import is in flight: a blob whose metadata is about to be
//! committed looks like an orphan.

use std::collections::BTreeSet;

use facevault_crypto::{self as crypto, Id, KekVersion, ObjectKind};

use crate::error::VaultError;
use crate::ids::SubjectId;
use crate::model::BlobRef;
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};
use crate::vault::{blob_ctx, Vault};

/// One thing fsck found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A blob no record refers to: left by a crash mid-import or mid-shred. Repairable.
    OrphanBlob { object: Id },
    /// A record whose blob is missing. Restore the blob from a backup.
    MissingBlob { object: Id },
    /// A blob that does not decrypt under its context: damaged, truncated or swapped.
    Undecryptable { object: Id },
    /// A subject whose data key does not unwrap (its KEK version is gone or the key damaged).
    KeyUnwrapFailed { subject: SubjectId },
    /// A KEK rotation is unfinished: some subject keys are under an older version.
    /// `facevault key rotate --resume` finishes it.
    RotationUnfinished { current: KekVersion, behind: usize },
}

impl Problem {
    /// Whether `fsck --repair` fixes it.
    pub fn repairable(&self) -> bool {
        matches!(self, Problem::OrphanBlob { .. } | Problem::RotationUnfinished { .. })
    }
}

/// What fsck checked and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsckReport {
    pub subjects: usize,
    pub objects_verified: usize,
    pub problems: Vec<Problem>,
    /// Orphan blobs deleted (with `repair`).
    pub orphans_removed: usize,
    /// Blobs of shredded subjects still waiting for `purge_blobs`: expected, not a problem
    /// (`repair` purges them).
    pub pending_purge: usize,
    /// Queued blobs purged (with `repair`).
    pub purged: usize,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Clean, or only problems that repair fixes.
    pub fn is_repairable(&self) -> bool {
        self.problems.iter().all(Problem::repairable)
    }
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    /// Check the whole vault; with `repair`, delete orphan blobs and finish a rotation.
    pub async fn fsck(&self, repair: bool) -> Result<FsckReport, VaultError> {
        let mut report = FsckReport::default();
        let stored: BTreeSet<Id> = self.blobs.list().await?.into_iter().collect();
        let mut referenced = BTreeSet::new();
        let current = self.keys.current_version()?;
        let mut behind = 0;
        for subject in self.meta.subjects().await? {
            report.subjects += 1;
            if subject.wrapped_key.kek_version() != current {
                behind += 1;
            }
            let mut objects: Vec<(ObjectKind, BlobRef)> = Vec::new();
            for scan in self.meta.scans_of(subject.id).await? {
                objects.push((ObjectKind::Scan, scan.blob));
            }
            for d in self.meta.derivatives_of(subject.id).await? {
                objects.push((ObjectKind::Derivative, d.blob));
            }
            referenced.extend(objects.iter().map(|(_, b)| b.object));
            let Ok(key) = self.data_key(&subject) else {
                report.problems.push(Problem::KeyUnwrapFailed { subject: subject.id });
                continue;
            };
            if self.open_details(&subject, &key).is_err() {
                report.problems.push(Problem::Undecryptable { object: subject.id.0 });
            }
            for (kind, blob) in objects {
                let Some(sealed) = self.blobs.get(blob.object).await? else {
                    report.problems.push(Problem::MissingBlob { object: blob.object });
                    continue;
                };
                let ctx = blob_ctx(self.id, subject.id, blob.object, kind, blob.version);
                match crypto::open(&key, &ctx, sealed) {
                    Ok(_) => report.objects_verified += 1,
                    Err(_) => report.problems.push(Problem::Undecryptable { object: blob.object }),
                }
            }
        }
        let pending = self.meta.rotation_target().await?.is_some();
        if behind > 0 || pending {
            report.problems.push(Problem::RotationUnfinished { current, behind });
        }
        let queued: BTreeSet<Id> = self.meta.purge_queue().await?.into_iter().collect();
        report.pending_purge = queued.intersection(&stored).count();
        let orphans: Vec<Id> =
            stored.difference(&referenced).filter(|o| !queued.contains(o)).copied().collect();
        report.problems.extend(orphans.iter().map(|&object| Problem::OrphanBlob { object }));
        if repair {
            for object in orphans {
                self.blobs.delete(object).await?;
                report.orphans_removed += 1;
            }
            if behind > 0 || pending {
                self.finish_rotation().await?;
            }
            if !queued.is_empty() {
                report.purged = self.purge_blobs(|_, _| {}).await?;
            }
        }
        Ok(report)
    }
}
