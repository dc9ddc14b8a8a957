//! Facial symmetry: the mid-sagittal plane by mirror-and-register, the per-vertex asymmetry
//! map, the asymmetry index, and a symmetrized surface (one side mirrored onto the other,
//! blended across the midline).
//!
//! The scan is reflected through a first-guess plane (each principal axis is tried) and the
//! mirror image registered onto the original with the robust ICP of [`crate::register`]. The
//! composite of reflection and registration is a reflection through the sought plane; the
//! plane is read from it. Robust weights keep a one-sided change (an augmented cheek) from
//! tilting the plane.

use facevault_mesh::Mesh;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::compare::Stage;
use crate::distance::{vertex_areas, MapStats};
use crate::error::AnalysisError;
use crate::geom::{add, f32v, f64v, principal_axes, scale, sub, symmetric_eigen, unit, Plane, Transform};
use crate::register::{register, RegisterOptions, Registration};
use crate::surface::Surface;

/// Knobs of [`symmetry`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymmetryOptions {
    pub registration: RegisterOptions,
    /// Vertices this close to the mesh border (mm, counted in edge rings) are left out of the
    /// statistics: a scan's rim is ragged and its mirror image rarely overlaps it.
    pub border_mm: f64,
    /// Half-width of the blend across the midline in the symmetrized surface, mm.
    pub blend_mm: f64,
    /// Which side the symmetrized surface keeps: the side the plane's normal points to (the
    /// normal is oriented toward +x of the scan's coordinates, the patient's left in the usual
    /// scanner frame) or the other.
    pub keep_positive_side: bool,
    /// |asymmetry| above this counts toward the area figure.
    pub threshold_mm: f64,
}

impl Default for SymmetryOptions {
    fn default() -> Self {
        SymmetryOptions {
            registration: RegisterOptions { auto_initial: false, ..RegisterOptions::default() },
            border_mm: 3.0,
            blend_mm: 5.0,
            keep_positive_side: true,
            threshold_mm: 1.0,
        }
    }
}

/// The serialisable summary of a symmetry analysis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymmetryReport {
    pub analysis: String,
    pub software_version: String,
    pub parameters: SymmetryOptions,
    pub vertices: usize,
    /// The mid-sagittal plane, normal oriented toward +x of the scan's coordinates.
    pub plane: Plane,
    /// The registration of the mirror image onto the scan.
    pub registration: Registration,
    /// The asymmetry map's statistics, border excluded.
    pub asymmetry: Option<MapStats>,
    /// Asymmetry index: RMS and 95th percentile of |asymmetry|, border excluded, mm.
    pub asymmetry_index_rms_mm: f64,
    pub asymmetry_index_p95_mm: f64,
    pub border_vertices: usize,
    /// Vertices whose mirror image falls beyond the scan (no value).
    pub no_mirror_vertices: usize,
}

/// A symmetry analysis: the report plus per-vertex results.
#[derive(Clone, Debug)]
pub struct SymmetryAnalysis {
    pub report: SymmetryReport,
    /// Signed distance of each vertex to the mirrored surface (positive: this side stands
    /// out beyond the other side's mirror image); NaN where the mirror image is missing.
    pub asymmetry: Vec<f32>,
    /// Vertices near the border, left out of the statistics.
    pub border: Vec<bool>,
    /// The scan with one side mirrored onto the other.
    pub symmetrized: Mesh,
}

/// Finds the mid-sagittal plane of `mesh` and maps its asymmetry.
pub fn symmetry(
    mesh: &Mesh,
    options: &SymmetryOptions,
    progress: &mut dyn FnMut(Stage),
) -> Result<SymmetryAnalysis, AnalysisError> {
    if mesh.triangle_count() < 10 {
        return Err(AnalysisError::TooSmall { what: "the scan", got: mesh.triangle_count(), need: 10 });
    }
    let points = mesh.positions();
    progress(Stage::Indexing);
    let surface = Surface::new(mesh);
    progress(Stage::Registering);
    let step = (points.len() / 20_000).max(1);
    let Some((centre, _, axes)) = principal_axes(points.iter().step_by(step).map(|&p| f64v(p))) else {
        return Err(AnalysisError::TooSmall { what: "the scan", got: mesh.triangle_count(), need: 10 });
    };
    // Each principal axis is a candidate normal. The one whose mirror image already lies
    // closest to the scan (median distance of a sample) is registered.
    let probe: Vec<usize> = crate::register::sample(points.len(), 500, None);
    let mut first = None;
    let mut best_score = f64::INFINITY;
    for axis in axes {
        let plane = Plane { normal: axis, offset: crate::geom::dot(axis, centre) };
        let mirrored: Vec<[f32; 3]> = probe.iter().map(|&i| f32v(plane.reflect(f64v(points[i])))).collect();
        let mut d: Vec<f32> = surface.closest_many(&mirrored).iter().flatten().map(|c| c.dist_sq).collect();
        if d.is_empty() {
            continue;
        }
        let mid = d.len() / 2;
        let score = f64::from(*d.select_nth_unstable_by(mid, f32::total_cmp).1);
        if score < best_score {
            best_score = score;
            first = Some(plane);
        }
    }
    let Some(first) = first else {
        return Err(AnalysisError::TooSmall { what: "the scan", got: mesh.triangle_count(), need: 10 });
    };
    let mirrored: Vec<[f32; 3]> = points.par_iter().map(|&p| f32v(first.reflect(f64v(p)))).collect();
    let registration = register(&mirrored, None, points, &surface, &options.registration)?;
    drop(mirrored);
    let composite = registration.transform.compose(&first.reflection());
    let plane = plane_of_reflection(&composite, centre).oriented([1.0, 0.0, 0.0]);

    progress(Stage::Measuring);
    let mirrored: Vec<[f32; 3]> = points.par_iter().map(|&p| f32v(plane.reflect(f64v(p)))).collect();
    // Per vertex: the signed distance, and the closest point (for the symmetrized surface).
    let matches: Vec<(f32, [f32; 3])> = surface.closest_map(&mirrored, |p, c| match c {
        Some(c) if c.is_over_surface(p) => (c.signed_distance(p), c.point),
        _ => (f32::NAN, p),
    });
    drop(mirrored);
    let asymmetry: Vec<f32> = matches.par_iter().map(|m| m.0).collect();

    progress(Stage::Summarising);
    let border = near_border(mesh, options.border_mm);
    let include: Vec<bool> = border.iter().map(|b| !b).collect();
    let areas = vertex_areas(points, mesh.triangles());
    let stats = MapStats::of(&asymmetry, &areas, Some(&include), options.threshold_mm);

    // Symmetrized: vertex v moves toward the mirror of the closest point to its own mirror
    // image, fully on the side not kept, blended across the midline.
    let keep = if options.keep_positive_side { 1.0 } else { -1.0 };
    let blend = options.blend_mm.max(1e-6);
    let symmetrized_points: Vec<[f32; 3]> = points
        .par_iter()
        .zip(&matches)
        .map(|(&p, &(a, point))| {
            if a.is_nan() {
                return p;
            }
            let v = f64v(p);
            let target = plane.reflect(f64v(point));
            let s = (keep * plane.signed_distance(v) / blend).clamp(-1.0, 1.0);
            // w: 1 on the replaced side, 0 on the kept side, 1/2 on the plane (smoothstep).
            let x = 0.5 - 0.5 * s;
            let w = x * x * (3.0 - 2.0 * x);
            f32v(add(v, scale(sub(target, v), w)))
        })
        .collect();
    // Same triangles, colours and uvs; normals are dropped since the shape changed.
    let bad = |_| AnalysisError::TooSmall { what: "the symmetrized scan", got: 0, need: 10 };
    let mut symmetrized = Mesh::new(symmetrized_points, mesh.triangles().to_vec())
        .map_err(bad)?
        .with_source_unit(mesh.source_unit());
    if let Some(c) = mesh.colors() {
        symmetrized = symmetrized.with_colors(c.to_vec()).map_err(bad)?;
    }
    if let Some(uv) = mesh.uvs() {
        symmetrized = symmetrized.with_uvs(uv.to_vec()).map_err(bad)?;
    }

    let report = SymmetryReport {
        analysis: "symmetry".to_string(),
        software_version: crate::VERSION.to_string(),
        parameters: options.clone(),
        vertices: points.len(),
        plane,
        registration,
        asymmetry_index_rms_mm: stats.as_ref().map_or(f64::NAN, |s| s.rms_mm),
        asymmetry_index_p95_mm: stats.as_ref().map_or(f64::NAN, |s| s.p95_abs_mm),
        asymmetry: stats,
        border_vertices: border.iter().filter(|&&b| b).count(),
        no_mirror_vertices: asymmetry.iter().filter(|a| a.is_nan()).count(),
    };
    Ok(SymmetryAnalysis { report, asymmetry, border, symmetrized })
}

/// The plane of an (approximately) reflecting transform S: its normal is the eigenvector of
/// (I - R)/2 with the largest eigenvalue, and it passes through the midpoint of any point and
/// its image (taken at `near`, inside the scan).
pub fn plane_of_reflection(s: &Transform, near: [f64; 3]) -> Plane {
    let r = &s.rotation;
    let mut m = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let id = if i == j { 1.0 } else { 0.0 };
            m[i][j] = 0.5 * (id - 0.5 * (r[i][j] + r[j][i]));
        }
    }
    let (_, vectors) = symmetric_eigen(&m);
    let normal = unit(vectors[0]).unwrap_or([1.0, 0.0, 0.0]);
    let mid = scale(add(near, s.apply(near)), 0.5);
    Plane { normal, offset: crate::geom::dot(normal, mid) }
}

/// Vertices within about `width_mm` of the mesh border, found by growing rings of triangles
/// from the border edges (edges used by one triangle).
pub fn near_border(mesh: &Mesh, width_mm: f64) -> Vec<bool> {
    let tris = mesh.triangles();
    let positions = mesh.positions();
    let n = mesh.vertex_count();
    let (first, around) = vertex_triangles(tris, n);
    let fan = |v: usize| {
        let (a, b) = (first.get(v).copied().unwrap_or(0), first.get(v + 1).copied().unwrap_or(0));
        around.get(a as usize..b as usize).unwrap_or_default()
    };
    // Per vertex: whether an edge at it is used by one triangle only, and the summed length of
    // its edges to higher-numbered neighbours (each edge counted once).
    let per_vertex: Vec<(bool, f64, u32)> = (0..n)
        .into_par_iter()
        .with_min_len(4096)
        .map_init(Vec::new, |buf: &mut Vec<u32>, v| {
            buf.clear();
            for &ti in fan(v) {
                buf.extend(tris.get(ti as usize).into_iter().flatten().filter(|&&u| u as usize != v));
            }
            buf.sort_unstable();
            let (mut border, mut length, mut count) = (false, 0.0, 0u32);
            let p = positions.get(v).map(|&p| f64v(p));
            let mut i = 0;
            while i < buf.len() {
                let mut j = i + 1;
                while j < buf.len() && buf[j] == buf[i] {
                    j += 1;
                }
                border |= j - i == 1;
                if buf[i] as usize > v {
                    if let (Some(p), Some(&q)) = (p, positions.get(buf[i] as usize)) {
                        length += crate::geom::norm(sub(p, f64v(q)));
                        count += 1;
                    }
                }
                i = j;
            }
            (border, length, count)
        })
        .collect();
    let mut border: Vec<bool> = per_vertex.iter().map(|x| x.0).collect();
    let (length_sum, length_count) =
        per_vertex.iter().fold((0.0, 0u64), |(s, c), x| (s + x.1, c + u64::from(x.2)));
    drop(per_vertex);
    let edge = if length_count > 0 { length_sum / length_count as f64 } else { 1.0 };
    let rings = (width_mm / edge.max(1e-9)).ceil().clamp(0.0, 10_000.0) as usize;
    // Each ring adds the vertices of every triangle touching the previous ring: a breadth-first
    // search that touches only the band it marks.
    let mut frontier: Vec<u32> = (0..n as u32).filter(|&v| border[v as usize]).collect();
    for _ in 0..rings {
        let mut next = Vec::new();
        for &v in &frontier {
            for &ti in fan(v as usize) {
                for &u in tris.get(ti as usize).into_iter().flatten() {
                    if let Some(x) = border.get_mut(u as usize).filter(|x| !**x) {
                        *x = true;
                        next.push(u);
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    border
}

/// For each vertex, the triangles using it: those of vertex v are
/// `around[first[v]..first[v + 1]]`.
fn vertex_triangles(tris: &[[u32; 3]], n: usize) -> (Vec<u32>, Vec<u32>) {
    let mut first = vec![0u32; n + 1];
    for t in tris {
        for &v in t {
            if let Some(c) = first.get_mut(v as usize + 1) {
                *c += 1;
            }
        }
    }
    for i in 1..first.len() {
        first[i] += first[i - 1];
    }
    let mut fill = first.clone();
    let mut around = vec![0u32; first.last().copied().unwrap_or(0) as usize];
    for (ti, t) in tris.iter().enumerate() {
        for &v in t {
            if let Some(f) = fill.get_mut(v as usize) {
                if let Some(slot) = around.get_mut(*f as usize) {
                    *slot = ti as u32;
                }
                *f += 1;
            }
        }
    }
    (first, around)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_is_read_back_from_its_reflection() {
        let plane = Plane { normal: unit([0.9, 0.1, -0.2]).unwrap_or_default(), offset: 7.5 };
        let got = plane_of_reflection(&plane.reflection(), [3.0, -4.0, 10.0]).oriented(plane.normal);
        assert!(got.angle_degrees(&plane) < 1e-9 && (got.offset - plane.offset).abs() < 1e-9, "{got:?}");
    }

    #[test]
    fn border_of_a_grid_is_its_outer_rings() {
        // A 10x10 vertex grid with unit spacing: the border ring plus one more ring at 1 mm.
        let positions: Vec<[f32; 3]> = (0..100).map(|i| [(i % 10) as f32, (i / 10) as f32, 0.0]).collect();
        let mut tris = Vec::new();
        for y in 0..9u32 {
            for x in 0..9u32 {
                let a = y * 10 + x;
                tris.push([a, a + 1, a + 11]);
                tris.push([a, a + 11, a + 10]);
            }
        }
        let mesh = Mesh::new(positions, tris).unwrap_or_default();
        let b0 = near_border(&mesh, 0.0);
        assert_eq!(b0.iter().filter(|&&b| b).count(), 36);
        let b1 = near_border(&mesh, 1.0);
        assert_eq!(b1.iter().filter(|&&b| b).count(), 64);
        assert!(!b1[5 * 10 + 5]);
    }
}
