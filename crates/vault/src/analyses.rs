//! Analyses of stored scans, the one way the CLI and the server run them: decrypt the scans
//! under their analyze grants ([`Vault::prepare_analysis`]), run the analysis ([`Job::run`],
//! pure CPU work the caller may move to a blocking thread), and store the report and the result
//! mesh as derivatives with the scans as parents ([`Vault::store_analysis`]).
//!
//! The access decisions (one per scan) and their audit entries are the caller's; this module
//! takes the grants they yielded.

use facevault_analysis::{
    compare, symmetry, AnalysisError, CompareOptions, CompareReport, Stage, SymmetryOptions, SymmetryReport,
};
use facevault_mesh::Mesh;
use facevault_policy::AccessGrant;

use crate::error::VaultError;
use crate::ids::{DerivativeId, Node, ScanId};
use crate::model::{DerivativeKind, NewDerivative};
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};
use crate::vault::Vault;

/// Which analysis, of which scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Analysis {
    /// Mid-sagittal plane and asymmetry of one scan; the result mesh is the symmetrized surface.
    Symmetry { scan: ScanId },
    /// `post` registered onto `pre` and the change mapped; the result mesh is the aligned post
    /// scan. Both scans are one subject's.
    Compare { pre: ScanId, post: ScanId },
}

impl Analysis {
    /// The producer's name of the analysis (`symmetry`, `compare`).
    pub fn name(self) -> &'static str {
        match self {
            Analysis::Symmetry { .. } => "symmetry",
            Analysis::Compare { .. } => "compare",
        }
    }

    /// The scans it reads, in order; they become the parents of what it stores.
    pub fn scans(self) -> Vec<ScanId> {
        match self {
            Analysis::Symmetry { scan } => vec![scan],
            Analysis::Compare { pre, post } => vec![pre, post],
        }
    }
}

/// An analysis with its scans decrypted, ready to run. Holds plaintext meshes: run it and drop it.
pub struct Job {
    analysis: Analysis,
    input: Input,
}

enum Input {
    One(Mesh),
    Two(Mesh, Mesh),
}

impl std::fmt::Debug for Job {
    // The meshes are biometric plaintext: only the analysis is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("analysis", &self.analysis).finish_non_exhaustive()
    }
}

/// An analysis's report.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Report {
    Symmetry(SymmetryReport),
    Compare(CompareReport),
}

/// What an analysis produced, before it is stored.
pub struct Outcome {
    pub analysis: Analysis,
    pub report: Report,
    /// The symmetrized surface, or the aligned post scan.
    pub mesh: Mesh,
    /// The options it ran with (JSON), stored as the derivatives' parameters.
    pub parameters: serde_json::Value,
}

impl std::fmt::Debug for Outcome {
    // The mesh is biometric plaintext: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("analysis", &self.analysis)
            .field("report", &self.report)
            .field("parameters", &self.parameters)
            .finish_non_exhaustive()
    }
}

/// The derivatives an analysis stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The report (kind `measurements`).
    pub measurements: DerivativeId,
    /// The result mesh (kind `mesh`).
    pub mesh: DerivativeId,
}

/// The producer recorded on an analysis's derivatives.
pub fn producer(analysis: Analysis) -> String {
    format!("facevault-analysis {} {}", facevault_analysis::VERSION, analysis.name())
}

impl Job {
    pub fn analysis(&self) -> Analysis {
        self.analysis
    }

    /// Runs the analysis with the default options; `progress` hears each stage.
    pub fn run(self, progress: &mut dyn FnMut(Stage)) -> Result<Outcome, AnalysisError> {
        // Options are plain numbers and flags: serialising them cannot fail.
        let json = |v: Result<serde_json::Value, serde_json::Error>| v.unwrap_or(serde_json::Value::Null);
        match self.input {
            Input::One(mesh) => {
                let options = SymmetryOptions::default();
                let r = symmetry(&mesh, &options, progress)?;
                Ok(Outcome {
                    analysis: self.analysis,
                    report: Report::Symmetry(r.report),
                    mesh: r.symmetrized,
                    parameters: json(serde_json::to_value(&options)),
                })
            }
            Input::Two(pre, post) => {
                let options = CompareOptions::default();
                let r = compare(&pre, &post, None, &options, progress)?;
                Ok(Outcome {
                    analysis: self.analysis,
                    report: Report::Compare(r.report),
                    mesh: r.aligned_post,
                    parameters: json(serde_json::to_value(&options)),
                })
            }
        }
    }
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    /// Decrypts the scans of `analysis`, each under its grant (`grants[i]` for the i-th of
    /// [`Analysis::scans`]; read or analyze). A comparison of two subjects' scans is refused
    /// here, before any work.
    pub async fn prepare_analysis(
        &self,
        analysis: Analysis,
        grants: &[&AccessGrant],
    ) -> Result<Job, VaultError> {
        let grant = |i: usize, scan: ScanId| {
            grants.get(i).copied().ok_or(VaultError::NotGranted {
                needed: "analyze".into(),
                object: format!("scan:{scan}"),
                granted: "nothing".into(),
            })
        };
        let input = match analysis {
            Analysis::Symmetry { scan } => Input::One(self.scan_mesh(grant(0, scan)?, scan).await?),
            Analysis::Compare { pre, post } => {
                if self.scan(pre).await?.subject != self.scan(post).await?.subject {
                    return Err(VaultError::ParentOfOtherSubject { parent: Node::Scan(post) });
                }
                let pre_mesh = self.scan_mesh(grant(0, pre)?, pre).await?;
                Input::Two(pre_mesh, self.scan_mesh(grant(1, post)?, post).await?)
            }
        };
        Ok(Job { analysis, input })
    }

    /// Stores an outcome: the report (JSON) as a `measurements` derivative and the result mesh
    /// as a `mesh` derivative, both with the analysed scans as parents. Needs an analyze grant
    /// on every scan.
    pub async fn store_analysis(
        &self,
        grants: &[&AccessGrant],
        outcome: &Outcome,
    ) -> Result<Stored, VaultError> {
        let parents: Vec<Node> = outcome.analysis.scans().into_iter().map(Node::Scan).collect();
        let content = serde_json::to_vec(&outcome.report).map_err(|e| VaultError::MalformedContent {
            object: match outcome.analysis {
                Analysis::Symmetry { scan } | Analysis::Compare { pre: scan, .. } => scan.0,
            },
            reason: format!("the report does not serialise: {e}"),
        })?;
        let measurements = self
            .add_derivative(
                grants,
                NewDerivative {
                    kind: DerivativeKind::Measurements,
                    producer: producer(outcome.analysis),
                    parameters: outcome.parameters.clone(),
                    parents: parents.clone(),
                    content,
                },
            )
            .await?;
        let mesh = self
            .add_mesh_derivative(
                grants,
                parents,
                producer(outcome.analysis),
                outcome.parameters.clone(),
                &outcome.mesh,
            )
            .await?;
        Ok(Stored { measurements, mesh })
    }
}

#[cfg(test)]
mod tests {
    use facevault_crypto::MemoryKeys;
    use facevault_policy::Action;
    use pollster::FutureExt as _;

    use super::*;
    use crate::governance::Target;
    use crate::memory::{MemoryBlobs, MemoryMetadata};
    use crate::model::{Capture, Purpose, SubjectDetails};
    use crate::ports::FixedClock;
    use crate::testing::default_policy;
    use crate::{SubjectId, Timestamp};

    type V = Vault<MemoryMetadata, MemoryBlobs, MemoryKeys, FixedClock>;

    /// A gently curved grid, mirror-symmetric about x = 0.
    fn grid() -> Mesh {
        let n = 30u32;
        let mut positions = Vec::new();
        for i in 0..n {
            for j in 0..n {
                let (x, y) = (i as f32 * 3.0 - 43.5, j as f32 * 3.0 - 43.5);
                positions.push([x, y, 0.004 * x * x + 0.002 * y * y * y / 40.0]);
            }
        }
        let mut triangles = Vec::new();
        for i in 0..n - 1 {
            for j in 0..n - 1 {
                let a = i * n + j;
                triangles.push([a, a + 1, a + n]);
                triangles.push([a + 1, a + n + 1, a + n]);
            }
        }
        Mesh::new(positions, triangles).unwrap()
    }

    fn setup() -> (V, SubjectId, ScanId, ScanId) {
        let v = Vault::open(
            MemoryMetadata::new(),
            MemoryBlobs::new(),
            MemoryKeys::generate().unwrap(),
            FixedClock(Timestamp(1_750_000_000_000)),
        )
        .block_on()
        .unwrap();
        let details =
            SubjectDetails { name: "Test".into(), date_of_birth: None, contact: None, jurisdiction: None };
        let capture = || Capture {
            device: "test".into(),
            captured_on: "2025-06-15".into(),
            purpose: Purpose("treatment-planning".into()),
        };
        let a = v.new_subject(&details).block_on().unwrap();
        let b = v.new_subject(&details).block_on().unwrap();
        let scan_a = v.import_scan(a, &grid(), capture()).block_on().unwrap();
        let scan_b = v.import_scan(b, &grid(), capture()).block_on().unwrap();
        (v, a, scan_a, scan_b)
    }

    fn grant(v: &V, scan: ScanId) -> AccessGrant {
        v.grant_for(default_policy(), Action::Analyze, Target::Node(Node::Scan(scan))).block_on().unwrap()
    }

    fn derivative_grant(v: &V, d: DerivativeId) -> AccessGrant {
        v.grant_for(default_policy(), Action::Analyze, Target::Node(Node::Derivative(d))).block_on().unwrap()
    }

    #[test]
    fn a_symmetry_is_stored_as_two_derivatives_of_its_scan() {
        let (v, a, scan, _) = setup();
        let g = grant(&v, scan);
        let analysis = Analysis::Symmetry { scan };
        let job = v.prepare_analysis(analysis, &[&g]).block_on().unwrap();
        let mut stages = 0;
        let outcome = job.run(&mut |_| stages += 1).unwrap();
        assert!(stages > 0);
        let stored = v.store_analysis(&[&g], &outcome).block_on().unwrap();
        let mut got = v.descendants(Node::Scan(scan)).block_on().unwrap();
        got.sort();
        let mut want = vec![stored.measurements, stored.mesh];
        want.sort();
        assert_eq!(got, want);
        let m = v.derivative(stored.measurements).block_on().unwrap();
        assert_eq!(
            (m.subject, m.kind, m.parents.clone()),
            (a, DerivativeKind::Measurements, vec![Node::Scan(scan)])
        );
        assert_eq!(m.producer, producer(analysis));
        let content = v
            .derivative_content(&derivative_grant(&v, stored.measurements), stored.measurements)
            .block_on()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&content).unwrap();
        assert_eq!(report, serde_json::to_value(&outcome.report).unwrap());
        assert!(report["plane"]["normal"].is_array(), "{report}");
        assert_eq!(v.derivative(stored.mesh).block_on().unwrap().kind, DerivativeKind::Mesh);
    }

    #[test]
    fn scans_are_read_only_under_their_own_grants_and_of_one_subject() {
        let (v, _, scan_a, scan_b) = setup();
        let (ga, gb) = (grant(&v, scan_a), grant(&v, scan_b));
        let sym = Analysis::Symmetry { scan: scan_a };
        assert!(matches!(v.prepare_analysis(sym, &[]).block_on(), Err(VaultError::NotGranted { .. })));
        assert!(matches!(v.prepare_analysis(sym, &[&gb]).block_on(), Err(VaultError::NotGranted { .. })));
        let cmp = Analysis::Compare { pre: scan_a, post: scan_b };
        assert!(matches!(
            v.prepare_analysis(cmp, &[&ga, &gb]).block_on(),
            Err(VaultError::ParentOfOtherSubject { parent: Node::Scan(p) }) if p == scan_b
        ));
        assert_eq!(cmp.scans(), vec![scan_a, scan_b]);
    }
}
