//! Analyses of stored scans, the one way the CLI and the server run them: decrypt the scans
//! under their analyze grants ([`Vault::prepare_analysis`]), run the analysis ([`Job::run`],
//! pure CPU work the caller may move to a blocking thread), and store the report and the result
//! mesh as derivatives with the scans as parents ([`Vault::store_analysis`]).
//!
//! What a caller may choose of an analysis is [`AnalysisOptions`], checked by
//! [`AnalysisOptions::check`] before any work; the options run are stored as the derivatives'
//! parameters, so the lineage says how each was made.
//!
//! The access decisions (one per scan) and their audit entries are the caller's; this module
//! takes the grants they yielded.

/// A region of interest of a comparison (the analysis crate's), for front ends that name no
/// analysis type.
pub use facevault_analysis::Region;
use facevault_analysis::{
    compare, sphere_mask, symmetry, AnalysisError, CompareOptions, CompareReport, Stage, SymmetryOptions,
    SymmetryReport,
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

/// At most this many mask spheres, and this many regions, in one comparison.
pub const MAX_SPHERES: usize = 32;

/// What a caller chooses of an analysis; the rest are the analysis crate's defaults. Symmetry
/// reads `keep_negative_side`; compare reads the others. Check it ([`AnalysisOptions::check`])
/// before deciding anything: [`Job::run`] trusts it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisOptions {
    /// Symmetry: keep the scan's -x side when symmetrizing (default: the +x side).
    pub keep_negative_side: bool,
    /// Compare: register on these stable spheres `[x, y, z, radius]` only (mm, the post scan's
    /// coordinates); every vertex when empty.
    pub mask: Vec<[f64; 4]>,
    /// Compare: also measure displacement along this direction (the pre scan's coordinates).
    pub direction: Option<[f64; 3]>,
    /// Compare: regions (the pre scan's coordinates) summarised separately.
    pub regions: Vec<Region>,
    /// Compare: |distance| above this (mm) counts toward the area figure; 0.5 when `None`.
    pub threshold_mm: Option<f64>,
}

/// An option that cannot be run, naming its field (`mask`, `direction`, `regions`,
/// `threshold_mm`) and why.
///
/// # How to fix
/// Give finite numbers, radii above zero, a non-zero direction, a threshold of zero or more,
/// and at most [`MAX_SPHERES`] mask spheres and regions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
#[non_exhaustive]
pub struct OptionsError {
    pub field: &'static str,
    pub reason: String,
}

impl AnalysisOptions {
    /// Refuses what no analysis can run: a non-finite number, a radius of zero or less, a zero
    /// direction, a negative threshold, more than [`MAX_SPHERES`] spheres or regions.
    pub fn check(&self) -> Result<(), OptionsError> {
        let bad = |field: &'static str, reason: String| Err(OptionsError { field, reason });
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if self.mask.len() > MAX_SPHERES {
            return bad("mask", format!("{} spheres; at most {MAX_SPHERES}", self.mask.len()));
        }
        for (i, s) in self.mask.iter().enumerate() {
            if !finite(s) {
                return bad("mask", format!("sphere {i}: every number must be finite"));
            }
            if s[3] <= 0.0 {
                return bad("mask", format!("sphere {i}: the radius must be above 0 mm, not {}", s[3]));
            }
        }
        if let Some(d) = self.direction {
            if !finite(&d) {
                return bad("direction", "every number must be finite".into());
            }
            if facevault_analysis::geom::unit(d).is_none() {
                return bad("direction", "the direction must not be zero".into());
            }
        }
        if self.regions.len() > MAX_SPHERES {
            return bad("regions", format!("{} regions; at most {MAX_SPHERES}", self.regions.len()));
        }
        for (i, r) in self.regions.iter().enumerate() {
            if !finite(&r.centre) || !r.radius_mm.is_finite() {
                return bad("regions", format!("region {i} ({:?}): every number must be finite", r.name));
            }
            if r.radius_mm <= 0.0 {
                return bad(
                    "regions",
                    format!("region {i} ({:?}): the radius must be above 0 mm, not {}", r.name, r.radius_mm),
                );
            }
        }
        match self.threshold_mm {
            Some(t) if !t.is_finite() => bad("threshold_mm", "the threshold must be finite".into()),
            Some(t) if t < 0.0 => bad("threshold_mm", format!("the threshold must be 0 mm or more, not {t}")),
            _ => Ok(()),
        }
    }

    /// The symmetry analysis's options these give.
    pub fn symmetry_options(&self) -> SymmetryOptions {
        SymmetryOptions { keep_positive_side: !self.keep_negative_side, ..SymmetryOptions::default() }
    }

    /// The comparison's options these give (the mask goes to [`sphere_mask`] apart).
    pub fn compare_options(&self) -> CompareOptions {
        let default = CompareOptions::default();
        CompareOptions {
            direction: self.direction,
            regions: self.regions.clone(),
            threshold_mm: self.threshold_mm.unwrap_or(default.threshold_mm),
            ..default
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

    /// Runs the analysis with `options` (checked by the caller); `progress` hears each stage.
    /// The parameters recorded are the analysis's full options, plus, for a comparison, the
    /// mask spheres it registered on.
    pub fn run(
        self,
        options: &AnalysisOptions,
        progress: &mut dyn FnMut(Stage),
    ) -> Result<Outcome, AnalysisError> {
        // Options are plain numbers and flags: serialising them cannot fail (a non-finite
        // number, refused by `check`, would become null).
        let json = |v: Result<serde_json::Value, serde_json::Error>| v.unwrap_or(serde_json::Value::Null);
        match self.input {
            Input::One(mesh) => {
                let options = options.symmetry_options();
                let r = symmetry(&mesh, &options, progress)?;
                Ok(Outcome {
                    analysis: self.analysis,
                    report: Report::Symmetry(r.report),
                    mesh: r.symmetrized,
                    parameters: json(serde_json::to_value(&options)),
                })
            }
            Input::Two(pre, post) => {
                let mask = sphere_mask(post.positions(), &options.mask);
                let spheres = options.mask.clone();
                let options = options.compare_options();
                let r = compare(&pre, &post, mask.as_deref(), &options, progress)?;
                let mut parameters = json(serde_json::to_value(&options));
                if let serde_json::Value::Object(o) = &mut parameters {
                    o.insert("mask".into(), json(serde_json::to_value(&spheres)));
                }
                Ok(Outcome {
                    analysis: self.analysis,
                    report: Report::Compare(r.report),
                    mesh: r.aligned_post,
                    parameters,
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

    fn open() -> V {
        Vault::open(
            MemoryMetadata::new(),
            MemoryBlobs::new(),
            MemoryKeys::generate().unwrap(),
            FixedClock(Timestamp(1_750_000_000_000)),
        )
        .block_on()
        .unwrap()
    }

    fn capture() -> Capture {
        Capture {
            device: "test".into(),
            captured_on: "2025-06-15".into(),
            purpose: Purpose("treatment-planning".into()),
        }
    }

    fn setup() -> (V, SubjectId, ScanId, ScanId) {
        let v = open();
        let details =
            SubjectDetails { name: "Test".into(), date_of_birth: None, contact: None, jurisdiction: None };
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
        let outcome = job.run(&AnalysisOptions::default(), &mut |_| stages += 1).unwrap();
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

    /// The options a clinician would give for a rhinoplasty: register on the forehead, measure
    /// along -z, summarise the nose.
    fn rhinoplasty_options(forehead: [f64; 3], nose: [f64; 3]) -> AnalysisOptions {
        AnalysisOptions {
            keep_negative_side: false,
            mask: vec![[forehead[0], forehead[1], forehead[2], 35.0]],
            direction: Some([0.0, 0.0, -1.0]),
            regions: vec![Region { name: "nose".into(), centre: nose, radius_mm: 20.0 }],
            threshold_mm: Some(0.25),
        }
    }

    #[test]
    fn a_stored_compare_with_options_reports_what_the_file_command_reports_and_records_them() {
        use facevault_synthface::{generate, nasal_dorsum_reduction, FaceParams, Landmark, RigidMotion};
        let pre = generate(&FaceParams::default(), 6_000);
        let motion = RigidMotion::random(3, 6.0, 5.0);
        let post = nasal_dorsum_reduction(&pre, 2.0, 6.0).transformed(&motion);
        // The mask is in the post scan's coordinates, the region in the pre scan's.
        let forehead = motion.apply_point(pre.landmarks[&Landmark::Glabella]);
        let options = rhinoplasty_options(forehead, pre.landmarks[&Landmark::Pronasale]);
        options.check().unwrap();

        // What `facevault analyze compare PRE POST --mask .. --direction .. --region ..
        // --threshold ..` runs (crates/facevault/src/cmd/analyze.rs).
        let mask = sphere_mask(post.mesh.positions(), &options.mask);
        let file_options = CompareOptions {
            direction: Some([0.0, 0.0, -1.0]),
            regions: options.regions.clone(),
            threshold_mm: 0.25,
            ..CompareOptions::default()
        };
        let file = compare(&pre.mesh, &post.mesh, mask.as_deref(), &file_options, &mut |_| {}).unwrap();

        let v = open();
        let details =
            SubjectDetails { name: "Test".into(), date_of_birth: None, contact: None, jurisdiction: None };
        let subject = v.new_subject(&details).block_on().unwrap();
        let pre_scan = v.import_scan(subject, &pre.mesh, capture()).block_on().unwrap();
        let post_scan = v.import_scan(subject, &post.mesh, capture()).block_on().unwrap();
        let (g1, g2) = (grant(&v, pre_scan), grant(&v, post_scan));
        let analysis = Analysis::Compare { pre: pre_scan, post: post_scan };
        let job = v.prepare_analysis(analysis, &[&g1, &g2]).block_on().unwrap();
        let outcome = job.run(&options, &mut |_| {}).unwrap();
        let stored = v.store_analysis(&[&g1, &g2], &outcome).block_on().unwrap();

        let content = v
            .derivative_content(&derivative_grant(&v, stored.measurements), stored.measurements)
            .block_on()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&content).unwrap();
        let want = serde_json::to_value(&file.report).unwrap();
        for figure in
            ["registration", "distance", "along_direction", "regions", "no_overlap_vertices", "parameters"]
        {
            same_figures(figure, &report[figure], &want[figure]);
        }
        assert_eq!(report["regions"][0]["region"]["name"], "nose");
        assert!(report["regions"][0]["along_direction"]["vertices"].as_u64().unwrap() > 0, "{report}");
        // The dorsum moved 2 mm along -z: a positive displacement along the direction.
        assert!(report["along_direction"]["max_mm"].as_f64().unwrap() > 1.5, "{report}");

        for id in [stored.measurements, stored.mesh] {
            let p: serde_json::Value =
                serde_json::from_str(&v.derivative(id).block_on().unwrap().parameters).unwrap();
            assert_eq!(p["mask"], serde_json::json!([[forehead[0], forehead[1], forehead[2], 35.0]]));
            assert_eq!(p["direction"], serde_json::json!([0.0, 0.0, -1.0]));
            assert_eq!(p["regions"][0]["name"], "nose");
            assert_eq!(p["regions"][0]["radius_mm"], 20.0);
            assert_eq!(p["threshold_mm"], 0.25);
        }
    }

    /// `got` and `want` alike but for the last bits of each number (the registration's parallel
    /// sums may round differently from one run to the next).
    fn same_figures(at: &str, got: &serde_json::Value, want: &serde_json::Value) {
        use serde_json::Value;
        match (got, want) {
            (Value::Number(g), Value::Number(w)) => {
                let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
                assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{at}: {g} != {w}");
            }
            (Value::Array(g), Value::Array(w)) => {
                assert_eq!(g.len(), w.len(), "{at}");
                for (i, (g, w)) in g.iter().zip(w).enumerate() {
                    same_figures(&format!("{at}[{i}]"), g, w);
                }
            }
            (Value::Object(g), Value::Object(w)) => {
                assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "{at}");
                for (k, w) in w {
                    same_figures(&format!("{at}.{k}"), &g[k], w);
                }
            }
            _ => assert_eq!(got, want, "{at}"),
        }
    }

    #[test]
    fn a_stored_symmetry_keeps_the_side_asked_for_and_records_it() {
        let (v, _, scan, _) = setup();
        let g = grant(&v, scan);
        let options = AnalysisOptions { keep_negative_side: true, ..AnalysisOptions::default() };
        let job = v.prepare_analysis(Analysis::Symmetry { scan }, &[&g]).block_on().unwrap();
        let outcome = job.run(&options, &mut |_| {}).unwrap();
        assert_eq!(outcome.parameters["keep_positive_side"], false);
        let stored = v.store_analysis(&[&g], &outcome).block_on().unwrap();
        let recorded: serde_json::Value =
            serde_json::from_str(&v.derivative(stored.mesh).block_on().unwrap().parameters).unwrap();
        assert_eq!(recorded["keep_positive_side"], false);
    }

    #[test]
    fn options_no_analysis_can_run_are_refused_naming_the_field() {
        let region = |radius_mm: f64| Region { name: "nose".into(), centre: [0.0; 3], radius_mm };
        let cases: Vec<(AnalysisOptions, &str)> = vec![
            (AnalysisOptions { mask: vec![[0.0, 0.0, 0.0, f64::NAN]], ..Default::default() }, "mask"),
            (AnalysisOptions { mask: vec![[f64::INFINITY, 0.0, 0.0, 1.0]], ..Default::default() }, "mask"),
            (AnalysisOptions { mask: vec![[0.0, 0.0, 0.0, -1.0]], ..Default::default() }, "mask"),
            (AnalysisOptions { mask: vec![[0.0, 0.0, 0.0, 0.0]], ..Default::default() }, "mask"),
            (AnalysisOptions { mask: vec![[0.0, 0.0, 0.0, 1.0]; 33], ..Default::default() }, "mask"),
            (AnalysisOptions { direction: Some([0.0; 3]), ..Default::default() }, "direction"),
            (AnalysisOptions { direction: Some([f64::NAN, 0.0, 1.0]), ..Default::default() }, "direction"),
            (AnalysisOptions { regions: vec![region(0.0)], ..Default::default() }, "regions"),
            (AnalysisOptions { regions: vec![region(f64::NAN)], ..Default::default() }, "regions"),
            (AnalysisOptions { regions: vec![region(1.0); 33], ..Default::default() }, "regions"),
            (AnalysisOptions { threshold_mm: Some(-0.1), ..Default::default() }, "threshold_mm"),
            (AnalysisOptions { threshold_mm: Some(f64::NAN), ..Default::default() }, "threshold_mm"),
        ];
        for (options, field) in cases {
            assert_eq!(options.check().map_err(|e| e.field), Err(field), "{options:?}");
        }
        let fine = AnalysisOptions {
            mask: vec![[0.0, 0.0, 0.0, 1.0]; 32],
            regions: vec![region(1.0); 32],
            threshold_mm: Some(0.0),
            ..rhinoplasty_options([0.0; 3], [0.0; 3])
        };
        assert_eq!(fine.check(), Ok(()));
    }
}
