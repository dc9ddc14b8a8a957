//! Pre-op / post-op comparison: register the post scan onto the pre scan, then measure the
//! signed distance of every post vertex to the pre surface (outward = positive, so a
//! reduction is negative), with statistics overall and per region, the displacement along a
//! given direction, and landmark displacements.

use facevault_mesh::Mesh;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::distance::{displacement_along, signed_distances, vertex_areas, MapStats, Region};
use crate::error::AnalysisError;
use crate::geom::{norm, sub};
use crate::register::{register, RegisterOptions, Registration};
use crate::surface::Surface;

/// A landmark placed on both scans: on the pre scan in its coordinates, on the post scan in
/// the post scan's own coordinates (before alignment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LandmarkPair {
    pub name: String,
    pub pre: [f64; 3],
    pub post: [f64; 3],
}

/// What to measure besides the distance map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareOptions {
    pub registration: RegisterOptions,
    /// |distance| above this counts toward `area_above_mm2`.
    pub threshold_mm: f64,
    /// Also measure displacement along this direction (pre scan's frame), e.g. the planned
    /// direction of a reduction.
    pub direction: Option<[f64; 3]>,
    /// Farthest displacement searched along `direction`, mm.
    pub max_displacement_mm: f64,
    /// Regions (pre scan's frame) to summarise separately.
    pub regions: Vec<Region>,
    pub landmarks: Vec<LandmarkPair>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            registration: RegisterOptions::default(),
            threshold_mm: 0.5,
            direction: None,
            max_displacement_mm: 20.0,
            regions: Vec::new(),
            landmarks: Vec::new(),
        }
    }
}

/// Statistics of one region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionStats {
    pub region: Region,
    /// `None` when no measured vertex falls inside.
    pub distance: Option<MapStats>,
    pub along_direction: Option<MapStats>,
}

/// How far a landmark moved, after alignment (pre frame).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LandmarkShift {
    pub name: String,
    pub displacement: [f64; 3],
    pub distance_mm: f64,
}

/// The serialisable summary of a comparison, with everything needed to reproduce it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    pub analysis: String,
    pub software_version: String,
    pub parameters: CompareOptions,
    pub pre_vertices: usize,
    pub post_vertices: usize,
    pub registration: Registration,
    /// Signed closest-point distance of the aligned post scan to the pre surface.
    pub distance: Option<MapStats>,
    /// Post vertices beyond the pre scan's border (no value).
    pub no_overlap_vertices: usize,
    pub along_direction: Option<MapStats>,
    pub regions: Vec<RegionStats>,
    pub landmarks: Vec<LandmarkShift>,
}

/// A comparison: the report plus the per-vertex maps on the aligned post scan.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub report: CompareReport,
    /// The post scan moved into the pre scan's frame.
    pub aligned_post: Mesh,
    /// Signed distance per post vertex (NaN: beyond the pre scan's border).
    pub distances: Vec<f32>,
    /// Displacement along `direction` per post vertex, when asked for.
    pub along: Option<Vec<f32>>,
}

/// The steps of a long analysis, reported as each begins (for progress display).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    Indexing,
    Registering,
    Measuring,
    Summarising,
}

/// Compares `post` against `pre`. `mask` (one entry per post vertex) marks the stable regions
/// to register on; all vertices when `None`.
pub fn compare(
    pre: &Mesh,
    post: &Mesh,
    mask: Option<&[bool]>,
    options: &CompareOptions,
    progress: &mut dyn FnMut(Stage),
) -> Result<Comparison, AnalysisError> {
    for (what, m) in [("the pre scan", pre), ("the post scan", post)] {
        if m.triangle_count() < 10 {
            return Err(AnalysisError::TooSmall { what, got: m.triangle_count(), need: 10 });
        }
    }
    progress(Stage::Indexing);
    let surface = Surface::new(pre);
    progress(Stage::Registering);
    let registration = register(post.positions(), mask, pre.positions(), &surface, &options.registration)?;
    let t = registration.transform;
    progress(Stage::Measuring);
    let moved: Vec<[f32; 3]> = post.positions().par_iter().map(|&p| t.apply_f32(p)).collect();
    let distances = signed_distances(&surface, &moved);
    let along = options
        .direction
        .map(|d| displacement_along(&surface, &moved, d, options.max_displacement_mm as f32));
    // The index is done with: free it before copying the post scan into the result.
    drop(surface);
    progress(Stage::Summarising);
    drop(moved);
    let mut aligned_post = post.clone();
    // The same map as `moved`, so the positions are bit for bit those measured.
    aligned_post.map_positions(|p| t.apply_f32(p)).map_err(|_| AnalysisError::TooSmall {
        what: "the aligned post scan",
        got: 0,
        need: 10,
    })?;
    let points = aligned_post.positions();
    let areas = vertex_areas(points, aligned_post.triangles());
    let th = options.threshold_mm;
    let regions = options
        .regions
        .iter()
        .map(|r| {
            let inside = r.select(points);
            RegionStats {
                region: r.clone(),
                distance: MapStats::of(&distances, &areas, Some(&inside), th),
                along_direction: along.as_ref().and_then(|a| MapStats::of(a, &areas, Some(&inside), th)),
            }
        })
        .collect();
    let landmarks = options
        .landmarks
        .iter()
        .map(|l| {
            let d = sub(t.apply(l.post), l.pre);
            LandmarkShift { name: l.name.clone(), displacement: d, distance_mm: norm(d) }
        })
        .collect();
    let report = CompareReport {
        analysis: "compare".to_string(),
        software_version: crate::VERSION.to_string(),
        parameters: options.clone(),
        pre_vertices: pre.vertex_count(),
        post_vertices: post.vertex_count(),
        registration,
        distance: MapStats::of(&distances, &areas, None, th),
        no_overlap_vertices: distances.iter().filter(|d| d.is_nan()).count(),
        along_direction: along.as_ref().and_then(|a| MapStats::of(a, &areas, None, th)),
        regions,
        landmarks,
    };
    Ok(Comparison { report, aligned_post, distances, along })
}
