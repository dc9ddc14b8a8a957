//! Analyses on stored scans (`facevault_vault::analyses`): an analyze decision per scan, the
//! analysis on the front end's [`crate::Offload`], and the report and result mesh stored as
//! derivatives of the scans (lineage), each journaled.

use facevault_policy::{AccessGrant, Action};
use facevault_vault::analyses::{Analysis, AnalysisOptions, Outcome, Stored};
use facevault_vault::{BlobStore, MetadataStore, Node, Target, VaultError};

use crate::access::Known;
use crate::error::{AppError, ErrorKind};
use crate::session::Session;
use crate::App;

/// An analysis run and stored.
pub struct Analysed {
    pub analysis: Analysis,
    pub outcome: Outcome,
    pub stored: Stored,
}

impl std::fmt::Debug for Analysed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysed")
            .field("analysis", &self.analysis)
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// Decides (analyze, for `purpose`, on every scan), runs with `options` and stores one
    /// analysis. Options no analysis can run are refused naming the field (`mask`,
    /// `direction`, `regions`, `threshold_mm`) before any decision; a comparison of two
    /// subjects' scans is refused naming `post`; an analysis that cannot give a trustworthy
    /// answer (a poor alignment, too small a scan) is [`ErrorKind::AnalysisFailed`].
    pub async fn analyze(
        &self,
        s: &Session,
        analysis: Analysis,
        options: &AnalysisOptions,
        purpose: Option<&str>,
        break_glass: Option<&str>,
    ) -> Result<Analysed, AppError> {
        options.check().map_err(|e| AppError::field(e.field, e.reason))?;
        journaled!(self, s, |jot| {
            let purpose = s.purpose(purpose, crate::CLINICAL)?;
            let mut grants: Vec<AccessGrant> = Vec::new();
            for scan in analysis.scans() {
                let known = Known::Target(Target::Node(Node::Scan(scan)));
                grants.push(
                    self.decide(s, &jot, "scan.analyze", Action::Analyze, &purpose, known, break_glass)
                        .await?,
                );
            }
            let grants: Vec<&AccessGrant> = grants.iter().collect();
            let job = self.vault.prepare_analysis(analysis, &grants).await.map_err(|e| match (e, analysis) {
                (VaultError::ParentOfOtherSubject { .. }, Analysis::Compare { pre, post }) => AppError::field(
                    "post",
                    format!("scans {pre} and {post} belong to different subjects: compare one subject's scans"),
                ),
                (e, _) => e.into(),
            })?;
            let options = options.clone();
            let outcome = self.offloaded(move || job.run(&options, &mut |_| ())).await?.map_err(|e| {
                let what = match analysis {
                    Analysis::Symmetry { scan } => format!("symmetry analysis of scan {scan}"),
                    Analysis::Compare { pre, post } => format!("comparison of scan {post} with scan {pre}"),
                };
                AppError::new(ErrorKind::AnalysisFailed, format!("{what} failed: {e}"))
            })?;
            let stored = self.vault.store_analysis(&grants, &outcome).await?;
            let scans: Vec<String> = analysis.scans().iter().map(|x| format!("scan:{x}")).collect();
            for (id, kind) in [(stored.measurements, "report"), (stored.mesh, "mesh")] {
                jot.change(
                    "derivative.add",
                    &purpose,
                    format!("derivative:{id}"),
                    format!("{} {kind} of {}", analysis.name(), scans.join(", ")),
                );
            }
            Ok(Analysed { analysis, outcome, stored })
        })
    }
}
