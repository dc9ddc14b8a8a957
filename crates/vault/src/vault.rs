//! The use cases: create subjects, import and export scans, add derivatives, walk lineage,
//! rotate the KEK, crypto-shred a subject. `fsck` lives in `fsck.rs`.
//!
//! Write ordering: a blob is stored (durably) before the metadata that refers to it is
//! committed, and nothing is acknowledged before both. A crash therefore leaves either the
//! whole object or nothing visible, plus at most an orphan blob that `fsck` removes.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use facevault_crypto::{self as crypto, BlobContext, DataKey, Id, KeyContext, ObjectKind};
use facevault_mesh::{FileFormat, Mesh, ReadOptions};

use facevault_policy::{AccessGrant, Action};

use crate::error::VaultError;
use crate::governance::{check_grant, chrono_ts, Target};
use crate::ids::{DerivativeId, Node, ScanId, SubjectId};
use crate::model::{
    BlobRef, Capture, Derivative, DerivativeKind, Disclosure, NewDerivative, Purpose, Scan, Subject,
    SubjectDetails, SubjectRecord,
};
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};

/// The vault: use cases over a metadata store, a blob store, a key provider and a clock.
pub struct Vault<M, B, K, C> {
    pub(crate) meta: M,
    pub(crate) blobs: B,
    pub(crate) keys: K,
    pub(crate) clock: C,
    pub(crate) id: Id,
    /// What access decisions read about each subject, kept while its stamp is unchanged.
    pub(crate) decisions: crate::governance::DecisionCache,
}

impl<M, B, K, C> fmt::Debug for Vault<M, B, K, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("id", &self.id).finish_non_exhaustive()
    }
}

/// What a KEK rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationReport {
    pub version: facevault_crypto::KekVersion,
    /// Subject keys rewrapped by this call (a resumed rotation counts only the rest).
    pub rewrapped: usize,
}

/// What a shred removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShredReport {
    pub subject: SubjectId,
    pub scans: usize,
    pub derivatives: usize,
    /// Blobs queued for [`Vault::purge_blobs`]; undecryptable already, as the key is gone.
    pub blobs_queued: usize,
    /// Every scan and derivative removed.
    pub removed: Vec<Node>,
}

impl ShredReport {
    /// What the crypto-shred destroyed, for its certificate: the data key, the details, and
    /// every scan and derivative removed.
    pub fn destroyed(&self) -> Vec<facevault_audit::Destroyed> {
        let s = self.subject;
        let mut destroyed = vec![
            facevault_audit::Destroyed { id: format!("subject-key:{s}"), kind: "data-key".into() },
            facevault_audit::Destroyed { id: format!("subject:{s}"), kind: "subject-details".into() },
        ];
        destroyed.extend(self.removed.iter().map(|n| n.destroyed()));
        destroyed
    }
}

const SUBJECT_DETAILS_VERSION: u32 = 1;
const OBJECT_VERSION: u32 = 1;
/// Purged blobs are dequeued in batches: a crash repeats at most one batch of deletes.
const PURGE_BATCH: usize = 256;

pub(crate) fn blob_ctx(
    vault: Id,
    subject: SubjectId,
    object: Id,
    kind: ObjectKind,
    version: u32,
) -> BlobContext {
    BlobContext { vault, subject: subject.0, object, kind, version }
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    /// Open a vault over its stores, giving a new store a fresh vault id.
    pub async fn open(meta: M, blobs: B, keys: K, clock: C) -> Result<Self, VaultError> {
        let id = meta.vault_id_or_init(Id::random()?).await?;
        Ok(Vault { meta, blobs, keys, clock, id, decisions: Default::default() })
    }

    pub fn id(&self) -> Id {
        self.id
    }

    pub fn metadata_store(&self) -> &M {
        &self.meta
    }

    pub fn blob_store(&self) -> &B {
        &self.blobs
    }

    pub fn key_provider(&self) -> &K {
        &self.keys
    }

    fn key_ctx(&self, subject: SubjectId) -> KeyContext {
        KeyContext { vault: self.id, subject: subject.0 }
    }

    /// A new subject with a fresh data key; its details are stored sealed.
    pub async fn create_subject(&self, details: &SubjectDetails) -> Result<SubjectId, VaultError> {
        let id = SubjectId(Id::random()?);
        let key = DataKey::generate()?;
        let wrapped_key = self.keys.wrap(&self.key_ctx(id), &key)?;
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(details)
                .map_err(|e| VaultError::MalformedContent { object: id.0, reason: e.to_string() })?,
        );
        let ctx = blob_ctx(self.id, id, id.0, ObjectKind::SubjectDetails, SUBJECT_DETAILS_VERSION);
        let sealed = crypto::seal_slice(&key, &ctx, &json)?;
        let record = SubjectRecord {
            id,
            created_at: self.clock.now(),
            wrapped_key,
            details: sealed,
            details_version: SUBJECT_DETAILS_VERSION,
        };
        self.meta.insert_subject(record).await?;
        Ok(id)
    }

    pub(crate) async fn subject_record(&self, id: SubjectId) -> Result<SubjectRecord, VaultError> {
        self.meta.subject(id).await?.ok_or(VaultError::UnknownSubject { id })
    }

    pub(crate) fn data_key(&self, record: &SubjectRecord) -> Result<DataKey, VaultError> {
        Ok(self.keys.unwrap(&self.key_ctx(record.id), &record.wrapped_key)?)
    }

    pub(crate) fn open_details(
        &self,
        record: &SubjectRecord,
        key: &DataKey,
    ) -> Result<SubjectDetails, VaultError> {
        let ctx =
            blob_ctx(self.id, record.id, record.id.0, ObjectKind::SubjectDetails, record.details_version);
        let json = zeroize::Zeroizing::new(crypto::open(key, &ctx, record.details.clone())?);
        serde_json::from_slice(&json)
            .map_err(|e| VaultError::MalformedContent { object: record.id.0, reason: e.to_string() })
    }

    /// A subject with its details decrypted: needs a read grant on `subject:<id>`.
    pub async fn subject(&self, grant: &AccessGrant, id: SubjectId) -> Result<Subject, VaultError> {
        check_grant(grant, &[Action::Read, Action::Export], Target::Subject(id))?;
        let record = self.subject_record(id).await?;
        let details = self.open_details(&record, &self.data_key(&record)?)?;
        Ok(Subject { id, created_at: record.created_at, details })
    }

    /// Correct a subject's identifying details (a correction request): sealed anew under the
    /// subject's key, with the next details version bound into the ciphertext. Needs a grant
    /// to read the subject, decided for the correction's purpose.
    pub async fn correct_details(
        &self,
        grant: &AccessGrant,
        id: SubjectId,
        details: &SubjectDetails,
    ) -> Result<(), VaultError> {
        check_grant(grant, &[Action::Read, Action::Export], Target::Subject(id))?;
        let record = self.subject_record(id).await?;
        let key = self.data_key(&record)?;
        let version = record.details_version + 1;
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(details)
                .map_err(|e| VaultError::MalformedContent { object: id.0, reason: e.to_string() })?,
        );
        let sealed = crypto::seal_slice(
            &key,
            &blob_ctx(self.id, id, id.0, ObjectKind::SubjectDetails, version),
            &json,
        )?;
        if !self.meta.replace_details(id, sealed, version).await? {
            return Err(VaultError::UnknownSubject { id });
        }
        Ok(())
    }

    /// Every subject's pseudonymous id, oldest first (no details are decrypted).
    pub async fn subject_ids(&self) -> Result<Vec<SubjectId>, VaultError> {
        let mut records = self.meta.subjects().await?;
        records.sort_by_key(|s| (s.created_at, s.id));
        Ok(records.into_iter().map(|r| r.id).collect())
    }

    /// Seal `content` for a new object of `subject` and store it; returns its blob reference.
    async fn put_blob(
        &self,
        subject: &SubjectRecord,
        object: Id,
        kind: ObjectKind,
        content: Vec<u8>,
    ) -> Result<BlobRef, VaultError> {
        let key = self.data_key(subject)?;
        let sealed =
            crypto::seal(&key, &blob_ctx(self.id, subject.id, object, kind, OBJECT_VERSION), content)?;
        let len = sealed.len() as u64;
        self.blobs.put(object, sealed).await?;
        Ok(BlobRef { object, version: OBJECT_VERSION, len })
    }

    /// Fetch and open an object's blob. Fails naming the object if it was altered or swapped.
    pub(crate) async fn get_blob(
        &self,
        subject: SubjectId,
        kind: ObjectKind,
        blob: BlobRef,
    ) -> Result<Vec<u8>, VaultError> {
        let record = self.subject_record(subject).await?;
        let key = self.data_key(&record)?;
        let sealed =
            self.blobs.get(blob.object).await?.ok_or(VaultError::MissingBlob { object: blob.object })?;
        Ok(crypto::open(&key, &blob_ctx(self.id, subject, blob.object, kind, blob.version), sealed)?)
    }

    /// Import a scan: the mesh is written as binary PLY, sealed under the subject's key and
    /// stored before its metadata is committed. Returns only once both are durable.
    ///
    /// The capture needs the subject's consent, active now and covering the capture's purpose
    /// (a purpose id of the catalogue): otherwise [`VaultError::CaptureRefused`] says why.
    pub async fn import_scan(
        &self,
        subject: SubjectId,
        mesh: &Mesh,
        capture: Capture,
    ) -> Result<ScanId, VaultError> {
        let record = self.subject_record(subject).await?;
        let consent = self.consent(subject).await?.ok_or(VaultError::NoConsent { subject })?;
        let now = chrono_ts(self.clock.now());
        if !consent.record.covers(&capture.purpose.0, now) {
            let reason = match consent.record.status_at(now) {
                facevault_domain::ConsentStatus::Active => {
                    format!("the consent does not grant purpose {:?}", capture.purpose.0)
                }
                facevault_domain::ConsentStatus::Withdrawn { at } => format!("consent withdrawn at {at}"),
                facevault_domain::ConsentStatus::Expired { on } => format!("consent expired on {on}"),
            };
            return Err(VaultError::CaptureRefused { subject, reason });
        }
        let id = ScanId(Id::random()?);
        // Room for the PLY (about 12 bytes a vertex, 13 a triangle) plus sealing overhead, so
        // sealing happens in place without a second copy.
        let estimate = 512 + mesh.heap_bytes() + mesh.triangle_count();
        let mut ply = Vec::with_capacity(crypto::sealed_len(estimate).unwrap_or(estimate));
        facevault_mesh::write(mesh, FileFormat::PlyBinaryLittleEndian, &mut ply)
            .map_err(|e| VaultError::MalformedContent { object: id.0, reason: e.to_string() })?;
        let blob = self.put_blob(&record, id.0, ObjectKind::Scan, ply).await?;
        let scan = Scan {
            id,
            subject,
            capture,
            source_unit: mesh.source_unit().unit,
            vertices: mesh.vertex_count() as u64,
            triangles: mesh.triangle_count() as u64,
            imported_at: self.clock.now(),
            blob,
        };
        self.meta.insert_scan(scan).await?;
        Ok(id)
    }

    pub async fn scan(&self, id: ScanId) -> Result<Scan, VaultError> {
        self.meta.scan(id).await?.ok_or(VaultError::UnknownScan { id })
    }

    pub async fn scans_of(&self, subject: SubjectId) -> Result<Vec<Scan>, VaultError> {
        self.subject_record(subject).await?;
        Ok(self.meta.scans_of(subject).await?)
    }

    /// A scan's mesh as the binary PLY stored (decrypted only after every tag verified): needs
    /// a read or analyze grant on the scan.
    pub async fn scan_ply(&self, grant: &AccessGrant, id: ScanId) -> Result<Vec<u8>, VaultError> {
        check_grant(grant, &[Action::Read, Action::Analyze], Target::Node(Node::Scan(id)))?;
        let scan = self.scan(id).await?;
        self.get_blob(scan.subject, ObjectKind::Scan, scan.blob).await
    }

    /// Export a scan under an export or share grant: the disclosure (the grant's purpose and
    /// `recipient`) is recorded (durably) before the decrypted binary PLY is handed out, so
    /// nothing leaves the vault unrecorded.
    pub async fn export_scan(
        &self,
        grant: &AccessGrant,
        id: ScanId,
        recipient: &str,
    ) -> Result<Vec<u8>, VaultError> {
        let kind = if grant.action() == Action::Share { "share" } else { "export" };
        self.disclose_scan(grant, id, recipient, None, kind).await
    }

    /// As [`Vault::export_scan`], to a registered vendor or with the kind the caller decided
    /// (`business-purpose`, `share`, `sale`): the caller has checked the vendor's contract.
    pub async fn disclose_scan(
        &self,
        grant: &AccessGrant,
        id: ScanId,
        recipient: &str,
        vendor: Option<&str>,
        kind: &str,
    ) -> Result<Vec<u8>, VaultError> {
        check_grant(grant, &[Action::Export, Action::Share], Target::Node(Node::Scan(id)))?;
        let scan = self.scan(id).await?;
        let purpose = Purpose(grant.purpose().to_owned());
        let disclosure = Disclosure {
            node: Node::Scan(id),
            subject: scan.subject,
            purpose,
            recipient: recipient.to_owned(),
            vendor: vendor.map(str::to_owned),
            kind: kind.to_owned(),
            at: self.clock.now(),
        };
        self.meta.record_disclosure(disclosure).await?;
        self.get_blob(scan.subject, ObjectKind::Scan, scan.blob).await
    }

    /// Every recorded disclosure of a subject's objects, oldest first.
    pub async fn disclosures_of(&self, subject: SubjectId) -> Result<Vec<Disclosure>, VaultError> {
        Ok(self.meta.disclosures_of(subject).await?)
    }

    /// Store a mesh computed from `parents` (a simulation, a registered or cleaned copy) as a
    /// [`DerivativeKind::Mesh`] derivative, written as binary PLY. Needs an analyze grant on
    /// every parent.
    pub async fn add_mesh_derivative(
        &self,
        grants: &[&AccessGrant],
        parents: Vec<Node>,
        producer: String,
        parameters: serde_json::Value,
        mesh: &Mesh,
    ) -> Result<DerivativeId, VaultError> {
        let content = facevault_mesh::to_bytes(mesh, FileFormat::PlyBinaryLittleEndian);
        self.add_derivative(
            grants,
            NewDerivative { kind: DerivativeKind::Mesh, producer, parameters, parents, content },
        )
        .await
    }

    /// A mesh derivative's mesh, decrypted and parsed (read or analyze grant).
    pub async fn derivative_mesh(&self, grant: &AccessGrant, id: DerivativeId) -> Result<Mesh, VaultError> {
        let ply = self.derivative_content(grant, id).await?;
        let imported = facevault_mesh::read(&ply, &ReadOptions::default())
            .map_err(|e| VaultError::MalformedContent { object: id.0, reason: e.to_string() })?;
        Ok(imported.mesh)
    }

    /// A scan's mesh, decrypted and parsed (read or analyze grant).
    pub async fn scan_mesh(&self, grant: &AccessGrant, id: ScanId) -> Result<Mesh, VaultError> {
        let ply = self.scan_ply(grant, id).await?;
        let imported = facevault_mesh::read(&ply, &ReadOptions::default())
            .map_err(|e| VaultError::MalformedContent { object: id.0, reason: e.to_string() })?;
        Ok(imported.mesh)
    }

    pub(crate) async fn subject_of_node(&self, node: Node) -> Result<SubjectId, VaultError> {
        self.subject_of(node).await
    }

    async fn subject_of(&self, node: Node) -> Result<SubjectId, VaultError> {
        match node {
            Node::Scan(id) => Ok(self.scan(id).await?.subject),
            Node::Derivative(id) => Ok(self.derivative(id).await?.subject),
        }
    }

    /// Store a derivative of one subject's scans or derivatives, with its lineage. Needs an
    /// analyze grant on every parent (one grant each).
    pub async fn add_derivative(
        &self,
        grants: &[&AccessGrant],
        new: NewDerivative,
    ) -> Result<DerivativeId, VaultError> {
        let NewDerivative { kind, producer, parameters, parents, content } = new;
        let first = *parents.first().ok_or(VaultError::NoParents)?;
        for &parent in &parents {
            let target = Target::Node(parent);
            if !grants.iter().any(|g| check_grant(g, &[Action::Analyze], target).is_ok()) {
                let granted = grants.first().ok_or(VaultError::NotGranted {
                    needed: "analyze".into(),
                    object: target.object_id().0,
                    granted: "nothing".into(),
                })?;
                check_grant(granted, &[Action::Analyze], target)?;
            }
        }
        let subject = self.subject_of(first).await?;
        for &parent in &parents[1..] {
            if self.subject_of(parent).await? != subject {
                return Err(VaultError::ParentOfOtherSubject { parent });
            }
        }
        let record = self.subject_record(subject).await?;
        let id = DerivativeId(Id::random()?);
        let blob = self.put_blob(&record, id.0, ObjectKind::Derivative, content).await?;
        let derivative = Derivative {
            id,
            subject,
            kind,
            producer,
            parameters: parameters.to_string(),
            parents,
            created_at: self.clock.now(),
            blob,
        };
        self.meta.insert_derivative(derivative).await?;
        Ok(id)
    }

    pub async fn derivative(&self, id: DerivativeId) -> Result<Derivative, VaultError> {
        self.meta.derivative(id).await?.ok_or(VaultError::UnknownDerivative { id })
    }

    /// A derivative's content, decrypted (read or analyze grant on the derivative).
    pub async fn derivative_content(
        &self,
        grant: &AccessGrant,
        id: DerivativeId,
    ) -> Result<Vec<u8>, VaultError> {
        check_grant(grant, &[Action::Read, Action::Analyze], Target::Node(Node::Derivative(id)))?;
        let d = self.derivative(id).await?;
        self.get_blob(d.subject, ObjectKind::Derivative, d.blob).await
    }

    /// Every derivative that came from `node`, transitively, in breadth-first order.
    pub async fn descendants(&self, node: Node) -> Result<Vec<DerivativeId>, VaultError> {
        self.subject_of(node).await?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut queue = VecDeque::from([node]);
        while let Some(n) = queue.pop_front() {
            for child in self.meta.children(n).await? {
                if seen.insert(child) {
                    out.push(child);
                    queue.push_back(Node::Derivative(child));
                }
            }
        }
        Ok(out)
    }

    /// Everything `node` came from, transitively (scans and derivatives), breadth-first.
    pub async fn ancestors(&self, node: Node) -> Result<Vec<Node>, VaultError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut queue = VecDeque::from([node]);
        while let Some(n) = queue.pop_front() {
            let parents = match n {
                Node::Scan(id) => {
                    self.scan(id).await?;
                    Vec::new()
                }
                Node::Derivative(id) => self.derivative(id).await?.parents,
            };
            for p in parents {
                if seen.insert(p) {
                    out.push(p);
                    queue.push_back(p);
                }
            }
        }
        Ok(out)
    }

    /// Make a new KEK version current and rewrap every subject key under it. Blobs are not
    /// touched. If interrupted, [`Vault::finish_rotation`] completes it.
    pub async fn rotate_kek(&self) -> Result<RotationReport, VaultError> {
        self.keys.rotate()?;
        self.finish_rotation().await
    }

    /// Rewrap every subject key not yet under the key provider's current KEK version, then
    /// clear the rotation marker. Idempotent: it resumes an interrupted rotation, and also
    /// completes one the operator started outside FaceVault (a new `FACEVAULT_KEK` entry).
    pub async fn finish_rotation(&self) -> Result<RotationReport, VaultError> {
        let version = self.keys.current_version()?;
        self.meta.set_rotation_target(Some(version)).await?;
        let mut rewrapped = 0;
        for record in self.meta.subjects().await? {
            if record.wrapped_key.kek_version() == version {
                continue;
            }
            let new = self.keys.rewrap(&self.key_ctx(record.id), &record.wrapped_key)?;
            // A subject shredded meanwhile simply stays gone.
            if self.meta.replace_wrapped_key(record.id, record.wrapped_key.kek_version(), new).await? {
                rewrapped += 1;
            }
        }
        self.meta.set_rotation_target(None).await?;
        Ok(RotationReport { version, rewrapped })
    }

    /// Crypto-shred a subject: one metadata transaction destroys its wrapped data key, its
    /// details and every scan and derivative record, and queues their blobs for
    /// [`Vault::purge_blobs`]. From that commit on, every blob of the subject, in any copy or
    /// backup, is undecryptable; the cost does not depend on how much its blobs weigh.
    /// Needs a delete grant on `subject:<id>` (a legal hold denies it).
    pub async fn shred_subject(
        &self,
        grant: &AccessGrant,
        subject: SubjectId,
    ) -> Result<ShredReport, VaultError> {
        check_grant(grant, &[Action::Delete], Target::Subject(subject))?;
        self.shred_unchecked(subject).await
    }

    /// The shred itself, for [`Vault::shred_subject`] and retention enforcement.
    pub(crate) async fn shred_unchecked(&self, subject: SubjectId) -> Result<ShredReport, VaultError> {
        let removed =
            self.meta.shred_subject(subject).await?.ok_or(VaultError::UnknownSubject { id: subject })?;
        Ok(ShredReport {
            subject,
            scans: removed.scans.len(),
            derivatives: removed.derivatives.len(),
            blobs_queued: removed.blobs.len(),
            removed: removed
                .scans
                .iter()
                .map(|&s| Node::Scan(s))
                .chain(removed.derivatives.iter().map(|&d| Node::Derivative(d)))
                .collect(),
        })
    }

    /// Delete the blobs that shreds queued (ciphertext whose key is gone), calling
    /// `progress(done, total)` after each. Idempotent: after a crash, run it again. Returns how
    /// many were deleted.
    pub async fn purge_blobs(&self, mut progress: impl FnMut(usize, usize)) -> Result<usize, VaultError> {
        let queue = self.meta.purge_queue().await?;
        let total = queue.len();
        for (batch_no, batch) in queue.chunks(PURGE_BATCH).enumerate() {
            for (i, object) in batch.iter().enumerate() {
                self.blobs.delete(*object).await?;
                progress(batch_no * PURGE_BATCH + i + 1, total);
            }
            self.meta.dequeue_purged(batch.to_vec()).await?;
        }
        Ok(total)
    }
}
