//! Clinical analysis of face scans: rigid registration of two scans, signed surface distance
//! maps, the mid-sagittal plane and asymmetry maps, and heatmap renders to PNG.
//!
//! For most cases: [`compare`] a pre-op and a post-op scan, or [`symmetry`] of one scan, then
//! [`render::render_map`] the per-vertex map to a PNG for a report. Every result carries the
//! parameters used and the software version, and serialises to JSON.
//!
//! This crate is pure computation: it does no file-system or network I/O and knows nothing of
//! the CLI, SQL or HTTP. Meshes come in as [`facevault_mesh::Mesh`] values in millimetres.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Small matrix code reads best with index loops.
#![allow(clippy::needless_range_loop)]

mod compare;
pub mod distance;
mod error;
pub mod geom;
mod register;
pub mod render;
pub mod surface;
mod symmetry;

pub use compare::{
    compare, CompareOptions, CompareReport, Comparison, LandmarkPair, LandmarkShift, RegionStats, Stage,
};
pub use distance::{MapStats, Region};
pub use error::AnalysisError;
pub use geom::{Plane, Transform};
pub use register::{register, sphere_mask, RegisterOptions, Registration};
pub use surface::{Closest, Surface};
pub use symmetry::{
    near_border, plane_of_reflection, symmetry, SymmetryAnalysis, SymmetryOptions, SymmetryReport,
};

/// The version of this software, recorded in every result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
