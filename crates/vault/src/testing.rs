//! Helpers for tests and benchmarks of code that runs on a vault: a consent that grants every
//! enabled default purpose, and real access decisions under the default policy. Nothing here
//! bypasses a check: grants come from [`Vault::authorize`] like anywhere else.

use facevault_domain::{
    Catalogue, ConsentDraft, Jurisdiction, Notice, NoticeCovers, Signature, SignatureMethod, Timestamp,
};
use facevault_mesh::Mesh;
use facevault_policy::{AccessGrant, Action, Policy, Role};

use crate::error::VaultError;
use crate::governance::{Ask, Target};
use crate::ids::{DerivativeId, Node, ScanId, SubjectId};
use crate::model::{NewDerivative, SubjectDetails};
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};
use crate::vault::ShredReport;
use crate::vault::Vault;

/// The purpose test captures use.
pub const PURPOSE: &str = "treatment-planning";

/// A complete consent (jurisdiction "other") to every enabled purpose of the default
/// catalogue, with its default retention, signed electronically at `signed`.
pub fn full_consent(signed: Timestamp) -> ConsentDraft {
    let catalogue = Catalogue::defaults();
    let covers = NoticeCovers { purposes: true, retention: true, withdrawal: true, limit_use: true };
    ConsentDraft {
        notice: Some(Notice::new(
            "test-1",
            "Test notice: every purpose, its retention, how to withdraw.",
            covers,
        )),
        purposes: catalogue
            .iter()
            .filter(|p| p.enabled)
            .map(|p| facevault_domain::PurposeGrant { purpose: p.clone(), retention: Some(p.retention) })
            .collect(),
        collect: true,
        share: true,
        limit_use: false,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: "Test Subject".into(),
            at: signed,
        }),
        expires: None,
        sale_authorization: None,
    }
}

/// The default policy over the default catalogue, built once.
pub fn default_policy() -> &'static Policy {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| match Policy::default_for(Catalogue::defaults()) {
        Ok(p) => p,
        // The shipped policy is validated by its own tests; a failure here is a build defect.
        Err(e) => unreachable!("the default policy does not validate: {e}"),
    })
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    /// Record [`full_consent`], signed at the vault clock's now.
    pub async fn consent_to_everything(&self, subject: SubjectId) -> Result<(), VaultError> {
        let now = crate::governance::chrono_ts(self.clock.now());
        self.record_consent(subject, Jurisdiction::Other, &full_consent(now)).await.map(|_| ())
    }

    /// A grant for `action` on `target` for [`PURPOSE`], decided by `policy` for the role the
    /// default policy lets do it (surgeon for analyze and share, privacy officer otherwise).
    /// `Err(VaultError::NotGranted)` carries the reasons when the decision is a denial.
    pub async fn grant_for(
        &self,
        policy: &Policy,
        action: Action,
        target: Target,
    ) -> Result<AccessGrant, VaultError> {
        let role = match action {
            Action::Analyze | Action::Share => Role::Surgeon,
            _ => Role::PrivacyOfficer,
        };
        let ask = Ask {
            actor: "test",
            role,
            action,
            purpose: PURPOSE,
            target,
            break_glass: None,
            right_of_access: false,
        };
        let decision = self.authorize(policy, &ask).await?;
        let reasons: Vec<String> = decision.reasons().iter().map(ToString::to_string).collect();
        decision.into_grant().ok_or_else(|| VaultError::NotGranted {
            needed: action.to_string(),
            object: target.object_id().0,
            granted: format!("nothing: {}", reasons.join("; ")),
        })
    }

    /// A decision under [`default_policy`] (see [`Vault::grant_for`]).
    async fn grant(&self, action: Action, target: Target) -> Result<AccessGrant, VaultError> {
        self.grant_for(default_policy(), action, target).await
    }

    /// A new subject with [`full_consent`] recorded.
    pub async fn new_subject(&self, details: &SubjectDetails) -> Result<SubjectId, VaultError> {
        let id = self.create_subject(details).await?;
        self.consent_to_everything(id).await?;
        Ok(id)
    }

    /// `subject` under a read decision.
    pub async fn details(&self, id: SubjectId) -> Result<crate::model::Subject, VaultError> {
        let g = self.grant(Action::Read, Target::Subject(id)).await?;
        self.subject(&g, id).await
    }

    /// `scan_mesh` under a read decision.
    pub async fn read_mesh(&self, id: ScanId) -> Result<Mesh, VaultError> {
        let g = self.grant(Action::Read, Target::Node(Node::Scan(id))).await?;
        self.scan_mesh(&g, id).await
    }

    /// `scan_ply` under a read decision.
    pub async fn read_ply(&self, id: ScanId) -> Result<Vec<u8>, VaultError> {
        let g = self.grant(Action::Read, Target::Node(Node::Scan(id))).await?;
        self.scan_ply(&g, id).await
    }

    /// `derivative_content` under a read decision.
    pub async fn read_derivative(&self, id: DerivativeId) -> Result<Vec<u8>, VaultError> {
        let g = self.grant(Action::Read, Target::Node(Node::Derivative(id))).await?;
        self.derivative_content(&g, id).await
    }

    /// `derivative_mesh` under a read decision.
    pub async fn read_derivative_mesh(&self, id: DerivativeId) -> Result<Mesh, VaultError> {
        let g = self.grant(Action::Read, Target::Node(Node::Derivative(id))).await?;
        self.derivative_mesh(&g, id).await
    }

    async fn analyze_grants(&self, parents: &[Node]) -> Result<Vec<AccessGrant>, VaultError> {
        let mut grants = Vec::new();
        for &p in parents {
            grants.push(self.grant(Action::Analyze, Target::Node(p)).await?);
        }
        Ok(grants)
    }

    /// `add_derivative` under an analyze decision on each parent.
    pub async fn derive(&self, new: NewDerivative) -> Result<DerivativeId, VaultError> {
        let grants = self.analyze_grants(&new.parents).await?;
        let refs: Vec<&AccessGrant> = grants.iter().collect();
        self.add_derivative(&refs, new).await
    }

    /// `add_mesh_derivative` under an analyze decision on each parent.
    pub async fn derive_mesh(
        &self,
        parents: Vec<Node>,
        producer: String,
        parameters: serde_json::Value,
        mesh: &Mesh,
    ) -> Result<DerivativeId, VaultError> {
        let grants = self.analyze_grants(&parents).await?;
        let refs: Vec<&AccessGrant> = grants.iter().collect();
        self.add_mesh_derivative(&refs, parents, producer, parameters, mesh).await
    }

    /// `export_scan` under an export decision.
    pub async fn export(&self, id: ScanId, recipient: &str) -> Result<Vec<u8>, VaultError> {
        let g = self.grant(Action::Export, Target::Node(Node::Scan(id))).await?;
        self.export_scan(&g, id, recipient).await
    }

    /// `shred_subject` under a delete decision.
    pub async fn shred(&self, id: SubjectId) -> Result<ShredReport, VaultError> {
        let g = self.grant(Action::Delete, Target::Subject(id)).await?;
        self.shred_subject(&g, id).await
    }
}
