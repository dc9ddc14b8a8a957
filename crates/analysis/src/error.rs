//! The one error type of the analysis crate.

/// Why an analysis could not give a trustworthy answer.
///
/// # How to fix
/// - `TooSmall`: the scan has too few triangles for the analysis; check the import.
/// - `PoorAlignment`: the scans could not be registered reliably (too little overlap, or not
///   the same face). Crop both scans to the face, or give a mask of stable regions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    #[error("{what} has {got} triangles; at least {need} are needed")]
    TooSmall { what: &'static str, got: usize, need: usize },
    #[error(
        "alignment failed: {reason} (RMS residual {rms_mm:.3} mm, overlap {:.0}%, {iterations} iterations)",
        overlap * 100.0
    )]
    PoorAlignment { reason: String, rms_mm: f64, overlap: f64, iterations: usize },
    #[error("the mask has {got} entries but the scan has {vertices} vertices")]
    MaskLength { got: usize, vertices: usize },
}
