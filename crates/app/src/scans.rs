//! Scans and what was derived from them: import (a capture needs an active consent covering its
//! purpose), reads of a scan's metadata and mesh, derivatives, lineage, and an export out of the
//! vault's input (the one disclosure path is `office.rs`'s `disclose_scan`).

use std::future::Future;

use facevault_crypto::Id;
use facevault_mesh::Mesh;
use facevault_policy::{gates, Action, Role};
use facevault_vault::{
    BlobStore, Capture, Derivative, DerivativeId, MetadataStore, Node, Purpose, Scan, ScanId, SubjectId,
    Target, VaultError,
};
use zeroize::Zeroizing;

use crate::access::Known;
use crate::error::AppError;
use crate::journal::Record;
use crate::session::Session;
use crate::App;

/// A capture's metadata, as a front end took it.
#[derive(Clone, Debug, Default)]
pub struct ImportScan {
    /// The purpose of collection: a purpose id of the catalogue.
    pub purpose: String,
    /// The capturing device (default `unknown`).
    pub device: Option<String>,
    /// The capture date, YYYY-MM-DD (default today, UTC).
    pub captured: Option<String>,
}

/// A derivative, with a report's content (JSON) when it is one.
#[derive(Debug)]
pub struct DerivativeFile {
    pub derivative: Derivative,
    pub content: Option<serde_json::Value>,
}

/// What a scan or derivative came from and what was derived from it.
#[derive(Debug)]
pub struct Lineage {
    pub node: Node,
    pub subject: SubjectId,
    /// Everything it was made from.
    pub ancestors: Vec<Node>,
    /// Everything made from it, with how each was made.
    pub descendants: Vec<Derivative>,
}

/// How a scan leaves the vault ([`App::disclose_scan`]).
#[derive(Clone, Debug)]
pub struct ScanExport {
    pub purpose: String,
    /// `clinic` (its own record), `subject` (the patient), or a registered recipient's id.
    pub recipient: String,
    pub break_glass: Option<String>,
}

/// Who may see lineage (ids only): the care team and a patient (their own).
const LINEAGE: &[Role] =
    &[Role::Surgeon, Role::ClinicalStaff, Role::FrontDesk, Role::PrivacyOfficer, Role::Admin, Role::Patient];

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// Imports a scan for a subject. The checks that need no bytes (role, purpose, dates, the
    /// subject) come first; only then is `mesh` awaited (the front end reads and parses the file
    /// or the upload in it), and the mesh is sealed under the subject's key. Needs the subject's
    /// active consent covering the purpose; a refusal is journaled.
    pub async fn import_scan(
        &self,
        s: &Session,
        subject: SubjectId,
        args: ImportScan,
        mesh: impl Future<Output = Result<Mesh, AppError>>,
    ) -> Result<Scan, AppError> {
        journaled!(self, s, |jot| {
            let object = format!("subject:{subject}");
            let purpose = s.purpose(Some(&args.purpose), crate::CLINICAL)?;
            self.gate(s, &jot, gates::CAPTURE, "scan.import", &purpose, object.clone(), Some(subject))?;
            if self.policy.catalogue().get(&purpose).filter(|x| x.enabled).is_none() {
                return Err(AppError::field(
                    "purpose",
                    format!("{purpose:?} is not an enabled purpose of the catalogue (see the purpose list)"),
                ));
            }
            let captured_on = args.captured.clone().unwrap_or_else(|| crate::time::today().to_string());
            if !crate::time::is_date(&captured_on) {
                return Err(AppError::field("captured", "not a YYYY-MM-DD date"));
            }
            let device = args.device.clone().unwrap_or_else(|| "unknown".into());
            if device.trim().is_empty() || device.len() > 256 {
                return Err(AppError::field("device", "1 to 256 bytes"));
            }
            // An unknown subject fails before a large file or body is read.
            self.vault.scans_of(subject).await?;
            let mesh = mesh.await?;
            let capture = Capture { device, captured_on, purpose: Purpose(purpose.clone()) };
            let id = match self.vault.import_scan(subject, &mesh, capture).await {
                Ok(id) => id,
                Err(e @ (VaultError::NoConsent { .. } | VaultError::CaptureRefused { .. })) => {
                    jot.push(Record::denied("scan.import", &purpose, object, e.to_string()));
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            };
            jot.change("scan.import", &purpose, format!("scan:{id}"), format!("captured for {object}"));
            Ok(self.vault.scan(id).await?)
        })
    }

    /// A scan's metadata (capture, size, purpose): a read for a purpose, decided.
    pub async fn scan(
        &self,
        s: &Session,
        scan: ScanId,
        purpose: Option<&str>,
        break_glass: Option<&str>,
    ) -> Result<Scan, AppError> {
        journaled!(self, s, |jot| {
            let purpose = s.purpose(purpose, crate::CLINICAL)?;
            // The record is read once: it names the subject the decision needs (an unknown scan
            // is not found before any decision, as it would be from the decision's own read).
            let record = self.vault.scan(scan).await?;
            self.decide(s, &jot, "scan.read", Action::Read, &purpose, Known::Scan(&record), break_glass)
                .await?;
            Ok(record)
        })
    }

    /// A scan's mesh as binary PLY, for viewing: a read for a purpose, decided.
    pub async fn scan_ply(
        &self,
        s: &Session,
        scan: ScanId,
        purpose: Option<&str>,
        break_glass: Option<&str>,
    ) -> Result<Zeroizing<Vec<u8>>, AppError> {
        journaled!(self, s, |jot| {
            let purpose = s.purpose(purpose, crate::CLINICAL)?;
            let known = Known::Target(Target::Node(Node::Scan(scan)));
            let grant = self.decide(s, &jot, "scan.read", Action::Read, &purpose, known, break_glass).await?;
            Ok(Zeroizing::new(self.vault.scan_ply(&grant, scan).await?))
        })
    }

    /// A derivative with a report's content: a read for a purpose, decided.
    pub async fn derivative(
        &self,
        s: &Session,
        id: DerivativeId,
        purpose: Option<&str>,
        break_glass: Option<&str>,
    ) -> Result<DerivativeFile, AppError> {
        journaled!(self, s, |jot| {
            let purpose = s.purpose(purpose, crate::CLINICAL)?;
            let known = Known::Target(Target::Node(Node::Derivative(id)));
            let grant =
                self.decide(s, &jot, "derivative.read", Action::Read, &purpose, known, break_glass).await?;
            let derivative = self.vault.derivative(id).await?;
            let content = if derivative.kind.to_string() == "mesh" {
                None
            } else {
                let bytes = Zeroizing::new(self.vault.derivative_content(&grant, id).await?);
                serde_json::from_slice(&bytes).ok()
            };
            Ok(DerivativeFile { derivative, content })
        })
    }

    /// What a scan or derivative came from and what was derived from it (ids and producers
    /// only): the care team, and a patient on their own.
    pub async fn lineage(&self, s: &Session, id: Id) -> Result<Lineage, AppError> {
        journaled!(self, s, |jot| {
            let (node, subject) = match self.vault.scan(ScanId(id)).await {
                Ok(x) => (Node::Scan(x.id), x.subject),
                Err(VaultError::UnknownScan { .. }) => {
                    let d = self.vault.derivative(DerivativeId(id)).await.map_err(|e| match e {
                        VaultError::UnknownDerivative { .. } => {
                            AppError::not_found(format!("no scan or derivative {id}"))
                        }
                        e => e.into(),
                    })?;
                    (Node::Derivative(d.id), d.subject)
                }
                Err(e) => return Err(e.into()),
            };
            let object = Target::Node(node).object_id().0;
            self.gate(s, &jot, LINEAGE, "lineage.read", "administration", object.clone(), Some(subject))?;
            let ancestors = self.vault.ancestors(node).await?;
            let mut descendants = Vec::new();
            for d in self.vault.descendants(node).await? {
                descendants.push(self.vault.derivative(d).await?);
            }
            jot.change("lineage.read", "administration", object, "lineage listed");
            Ok(Lineage { node, subject, ancestors, descendants })
        })
    }
}
