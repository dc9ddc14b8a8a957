//! Generating a synthetic face scan: a regular, mirror-symmetric grid over the face domain,
//! lifted onto the analytic [`Surface`] and triangulated, with its true symmetry plane and
//! landmarks, and the rigid motions that pose it.

use std::collections::BTreeMap;

use facevault_mesh::Mesh;

use crate::motion::{Plane, RigidMotion};
use crate::params::FaceParams;
use crate::rng::SplitMix64;
use crate::surface::{normal_from_gradient, Surface};

/// Fewest and most vertices [`generate`] makes; targets outside are clamped.
pub const MIN_VERTICES: usize = 100;
pub const MAX_VERTICES: usize = 4_000_000;

const SALT_JITTER: u64 = 1;
const SALT_NOISE: u64 = 2;

/// Soft-tissue landmarks, each a point on the surface. Left and Right are the patient's: the
/// patient's left is +x (the viewer's right).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Landmark {
    /// Top of the forehead on the midline (the mask's stand-in for the hairline point).
    Trichion,
    /// Most anterior midline point between the brows.
    Glabella,
    /// The frontonasal point on the midline where the nose begins.
    Nasion,
    /// Deepest midline point of the nasal bridge, between glabella and the nose tip.
    Sellion,
    /// Nose tip: the most anterior point of the whole surface.
    Pronasale,
    /// Where the columella meets the upper lip.
    Subnasale,
    /// Most anterior midline point of the upper lip.
    LabraleSuperius,
    /// Midline point of the mouth line.
    Stomion,
    /// Most anterior midline point of the lower lip.
    LabraleInferius,
    /// Most anterior midline point of the chin.
    Pogonion,
    /// Lowest midline point of the chin (near the bottom edge of the mask).
    Menton,
    EndocanthionLeft,
    EndocanthionRight,
    ExocanthionLeft,
    ExocanthionRight,
    /// Centre of the alar lobule.
    AlarLeft,
    AlarRight,
    /// Mouth corner.
    CheilionLeft,
    CheilionRight,
    /// The malar (cheekbone) prominence, centre of the cheek bump.
    ZygionLeft,
    ZygionRight,
}

impl Landmark {
    pub const ALL: [Landmark; 21] = [
        Landmark::Trichion,
        Landmark::Glabella,
        Landmark::Nasion,
        Landmark::Sellion,
        Landmark::Pronasale,
        Landmark::Subnasale,
        Landmark::LabraleSuperius,
        Landmark::Stomion,
        Landmark::LabraleInferius,
        Landmark::Pogonion,
        Landmark::Menton,
        Landmark::EndocanthionLeft,
        Landmark::EndocanthionRight,
        Landmark::ExocanthionLeft,
        Landmark::ExocanthionRight,
        Landmark::AlarLeft,
        Landmark::AlarRight,
        Landmark::CheilionLeft,
        Landmark::CheilionRight,
        Landmark::ZygionLeft,
        Landmark::ZygionRight,
    ];

    /// The same landmark on the other side (midline landmarks map to themselves).
    pub fn mirror(self) -> Landmark {
        use Landmark::*;
        match self {
            EndocanthionLeft => EndocanthionRight,
            EndocanthionRight => EndocanthionLeft,
            ExocanthionLeft => ExocanthionRight,
            ExocanthionRight => ExocanthionLeft,
            AlarLeft => AlarRight,
            AlarRight => AlarLeft,
            CheilionLeft => CheilionRight,
            CheilionRight => CheilionLeft,
            ZygionLeft => ZygionRight,
            ZygionRight => ZygionLeft,
            midline => midline,
        }
    }
}

/// The patient's side: Left is +x in the face's own frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    /// +1 for Left, -1 for Right: the sign of x on that side.
    pub fn sign(self) -> f64 {
        match self {
            Side::Left => 1.0,
            Side::Right => -1.0,
        }
    }
}

/// A synthetic face scan and its ground truth, all in the mesh's frame.
#[derive(Clone, Debug)]
pub struct SynthFace {
    /// The scan, with per-vertex unit normals of the analytic surface (before noise).
    pub mesh: Mesh,
    /// The true mid-sagittal plane: x = 0 before any motion.
    pub symmetry_plane: Plane,
    /// Every [`Landmark`], on the analytic surface.
    pub landmarks: BTreeMap<Landmark, [f64; 3]>,
    /// The (sanitized) parameters the face was built from.
    pub params: FaceParams,
    /// Motion from the face's own frame to the mesh's frame (identity from [`generate`]).
    pub pose: RigidMotion,
    /// Grid spacing in mm, about the mean edge length.
    pub spacing_mm: f64,
    surface: Surface,
}

impl SynthFace {
    /// The analytic surface, in the face's own frame (apply [`SynthFace::pose`] to reach the
    /// mesh's frame).
    pub fn surface(&self) -> &Surface {
        &self.surface
    }

    /// The face moved by `motion` (applied after the current pose): mesh, normals, landmarks,
    /// plane and pose all move together. A motion that is not rigid
    /// ([`RigidMotion::is_rigid`]) or translates by more than 1 km is replaced by the identity,
    /// so the recorded truth always matches the mesh.
    pub fn transformed(&self, motion: &RigidMotion) -> SynthFace {
        let m = sane_motion(motion);
        SynthFace {
            mesh: transform_mesh(&self.mesh, &m),
            symmetry_plane: self.symmetry_plane.transformed(&m),
            landmarks: self.landmarks.iter().map(|(&k, &p)| (k, m.apply_point(p))).collect(),
            params: self.params.clone(),
            pose: m.compose(&self.pose),
            spacing_mm: self.spacing_mm,
            surface: self.surface.clone(),
        }
    }

    /// Signed distance from `p` (mesh frame) to the analytic surface, positive in front of it
    /// (anterior, the side the normals face): the truth for a distance map against this face.
    /// `None` when the nearest surface point falls outside the face domain or the search does
    /// not settle (points far from the surface).
    pub fn signed_distance(&self, p: [f64; 3]) -> Option<f64> {
        let q = self.pose.inverse().apply_point(p);
        signed_distance_canonical(&self.surface, q)
    }

    /// [`SynthFace::signed_distance`] for each point, e.g. a deformed mesh's positions: the true
    /// distance map of that mesh against this face.
    pub fn signed_distances(&self, points: &[[f32; 3]]) -> Vec<Option<f64>> {
        let to_face = self.pose.inverse();
        points
            .iter()
            .map(|&p| signed_distance_canonical(&self.surface, to_face.apply_point(to_f64(p))))
            .collect()
    }
}

pub(crate) fn sane_motion(motion: &RigidMotion) -> RigidMotion {
    let t = motion.translation;
    if motion.is_rigid() && (t[0] * t[0] + t[1] * t[1] + t[2] * t[2]).sqrt() <= 1e6 {
        *motion
    } else {
        RigidMotion::IDENTITY
    }
}

pub(crate) fn to_f64(p: [f32; 3]) -> [f64; 3] {
    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
}

pub(crate) fn to_f32(p: [f64; 3]) -> [f32; 3] {
    [p[0] as f32, p[1] as f32, p[2] as f32]
}

/// Assemble a mesh from parts built here. This cannot fail: indices are made in range, every
/// coordinate is finite (sanitized parameters and motions), and normals match the vertex count.
/// An empty mesh stands in if that ever broke, so tests would notice.
pub(crate) fn assemble(positions: Vec<[f32; 3]>, triangles: Vec<[u32; 3]>, normals: Vec<[f32; 3]>) -> Mesh {
    Mesh::new(positions, triangles).and_then(|m| m.with_normals(normals)).unwrap_or_default()
}

fn transform_mesh(mesh: &Mesh, m: &RigidMotion) -> Mesh {
    let positions = mesh.positions().iter().map(|&p| to_f32(m.apply_point(to_f64(p)))).collect();
    let normals = match mesh.normals() {
        Some(ns) => ns.iter().map(|&n| to_f32(m.apply_vector(to_f64(n)))).collect(),
        None => vertex_normals(mesh.positions(), mesh.triangles()),
    };
    assemble(positions, mesh.triangles().to_vec(), normals)
}

/// Area-weighted vertex normals from the triangles (unit length; +z for unused vertices).
pub(crate) fn vertex_normals(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Vec<[f32; 3]> {
    let mut acc = vec![[0.0f64; 3]; positions.len()];
    for t in triangles {
        let [a, b, c] = t.map(|i| positions.get(i as usize).map_or([0.0; 3], |&p| to_f64(p)));
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        for &i in t {
            if let Some(s) = acc.get_mut(i as usize) {
                s[0] += n[0];
                s[1] += n[1];
                s[2] += n[2];
            }
        }
    }
    acc.iter()
        .map(|n| {
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if len > 0.0 {
                to_f32([n[0] / len, n[1] / len, n[2] / len])
            } else {
                [0.0, 0.0, 1.0]
            }
        })
        .collect()
}

/// Closest point on the height field by Gauss-Newton on the surface parameters (x, y).
fn signed_distance_canonical(s: &Surface, q: [f64; 3]) -> Option<f64> {
    if !q.iter().all(|c| c.is_finite()) {
        return None;
    }
    let (mut u, mut v) = (q[0], q[1]);
    for _ in 0..100 {
        let (z, [fx, fy]) = s.height_and_gradient(u, v);
        let r = [q[0] - u, q[1] - v, q[2] - z];
        // Normal equations of the 2x2 least-squares step J·δ ≈ r, J = [(1,0,fx), (0,1,fy)].
        let (a, b, c) = (1.0 + fx * fx, fx * fy, 1.0 + fy * fy);
        let (g0, g1) = (r[0] + fx * r[2], r[1] + fy * r[2]);
        let det = a * c - b * b;
        let du = (c * g0 - b * g1) / det;
        let dv = (a * g1 - b * g0) / det;
        // Damp big steps so a strongly curved region cannot throw the search away.
        let step = (du * du + dv * dv).sqrt();
        let k = if step > 2.0 { 2.0 / step } else { 1.0 };
        u += k * du;
        v += k * dv;
        if step < 1e-12 {
            break;
        }
    }
    if !s.contains(u, v) {
        return None;
    }
    let (z, g) = s.height_and_gradient(u, v);
    let n = normal_from_gradient(g);
    let r = [q[0] - u, q[1] - v, q[2] - z];
    // At a true closest point r is parallel to n; refuse if the search did not settle.
    let len = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
    let along = r[0] * n[0] + r[1] * n[1] + r[2] * n[2];
    if (len - along.abs()) > 1e-9 * (1.0 + len) {
        return None;
    }
    Some(along)
}

/// Golden-section search for the extreme of f(0, y) on [lo, hi] (max if `sign` is +1, min if
/// -1), after a coarse scan so that a bumpy profile still finds the global extreme.
fn midline_extreme(s: &Surface, lo: f64, hi: f64, sign: f64) -> f64 {
    let g = |y: f64| sign * s.height_and_gradient(0.0, y).0;
    let n = (((hi - lo) / 0.05).ceil() as usize).max(2);
    let step = (hi - lo) / n as f64;
    let mut best = lo;
    for i in 0..=n {
        let y = lo + step * i as f64;
        if g(y) > g(best) {
            best = y;
        }
    }
    let (mut a, mut b) = ((best - step).max(lo), (best + step).min(hi));
    let phi = 0.5 * (5f64.sqrt() - 1.0);
    for _ in 0..80 {
        let c = b - phi * (b - a);
        let d = a + phi * (b - a);
        if g(c) > g(d) {
            b = d;
        } else {
            a = c;
        }
    }
    0.5 * (a + b)
}

/// Landmarks in the face's own frame.
fn canonical_landmarks(s: &Surface) -> BTreeMap<Landmark, [f64; 3]> {
    let d = *s.points();
    let sy = s.params().face_height_mm / 200.0;
    let len = s.params().nose_length_mm;
    let at = |x: f64, y: f64| [x, y, s.height_and_gradient(x, y).0];
    let pronasale = midline_extreme(s, d.tip_y - 0.25 * len, d.tip_y + 0.25 * len, 1.0);
    let glabella = midline_extreme(s, d.nasion_y + 1.0 * sy, d.nasion_y + 20.0 * sy, 1.0);
    let sellion = midline_extreme(s, pronasale, glabella, -1.0);
    let ls = midline_extreme(s, d.stomion_y + 0.5 * sy, d.subnasale_y - 1.0 * sy, 1.0);
    let li = midline_extreme(s, d.labiomental_y + 1.0 * sy, d.stomion_y - 0.5 * sy, 1.0);
    let pg = midline_extreme(s, d.menton_y, d.labiomental_y, 1.0);
    let mut m = BTreeMap::new();
    use Landmark::*;
    for (k, y) in [
        (Trichion, d.trichion_y),
        (Glabella, glabella),
        (Nasion, d.nasion_y),
        (Sellion, sellion),
        (Pronasale, pronasale),
        (Subnasale, d.subnasale_y),
        (LabraleSuperius, ls),
        (Stomion, d.stomion_y),
        (LabraleInferius, li),
        (Pogonion, pg),
        (Menton, d.menton_y),
    ] {
        m.insert(k, at(0.0, y));
    }
    for (left, right, [x, y]) in [
        (EndocanthionLeft, EndocanthionRight, d.endocanthion),
        (ExocanthionLeft, ExocanthionRight, d.exocanthion),
        (AlarLeft, AlarRight, d.alar),
        (CheilionLeft, CheilionRight, d.cheilion),
        (ZygionLeft, ZygionRight, d.zygion),
    ] {
        m.insert(left, at(x, y));
        m.insert(right, at(-x, y));
    }
    m
}

/// One grid row: its height and its columns -m..=m (x = i·h).
#[derive(Clone, Copy, Debug)]
struct Row {
    y: f64,
    m: i64,
}

/// Rows at y = y_align + k·h inside the domain, each as wide as the domain allows, then
/// narrowed so that every vertex belongs to a triangle.
fn layout(s: &Surface, h: f64, y_align: f64) -> Vec<Row> {
    let half_h = s.params().face_height_mm / 2.0;
    let k_lo = ((-half_h - y_align) / h).floor() as i64;
    let k_hi = ((half_h - y_align) / h).ceil() as i64;
    let mut rows: Vec<Row> = (k_lo..=k_hi)
        .filter_map(|k| {
            let y = y_align + k as f64 * h;
            s.half_width_at(y).map(|w| Row { y, m: (w / h).floor() as i64 })
        })
        .collect();
    // A row end is only covered by a triangle if a neighbouring row reaches within one column.
    let mut changed = true;
    while changed {
        changed = false;
        for j in 0..rows.len() {
            let below = if j > 0 { rows[j - 1].m } else { -1 };
            let above = rows.get(j + 1).map_or(-1, |r| r.m);
            let limit = below.max(above) + 1;
            if rows[j].m > limit {
                rows[j].m = limit;
                changed = true;
            }
        }
    }
    // Single-vertex rows need a wider neighbour.
    while rows.len() >= 2 && rows[0].m == 0 && rows[1].m == 0 {
        rows.remove(0);
    }
    while rows.len() >= 2 && rows[rows.len() - 1].m == 0 && rows[rows.len() - 2].m == 0 {
        rows.pop();
    }
    rows
}

fn vertex_count(rows: &[Row]) -> usize {
    rows.iter().map(|r| (2 * r.m + 1) as usize).sum()
}

/// A synthetic face with about `target_vertices` vertices (clamped to
/// [`MIN_VERTICES`]..=[`MAX_VERTICES`]; the result is within a few percent).
///
/// The grid has a column at x = 0 and is mirror-symmetric, as is its triangulation; one row
/// passes through the nasal dorsum centre (halfway between nasion and pronasale), so a vertex
/// sits exactly there when `jitter_mm` is 0. Runs in time linear in the vertex count.
pub fn generate(params: &FaceParams, target_vertices: usize) -> SynthFace {
    let surface = Surface::new(params);
    let p = surface.params().clone();
    let landmarks = canonical_landmarks(&surface);
    let y_align = dorsum_centre(&landmarks)[1];
    let target = target_vertices.clamp(MIN_VERTICES, MAX_VERTICES);

    // Domain area by the midpoint rule, for a first guess at the spacing.
    let half_h = p.face_height_mm / 2.0;
    let samples = 4000;
    let dy = 2.0 * half_h / samples as f64;
    let area: f64 = (0..samples)
        .map(|i| 2.0 * surface.half_width_at(-half_h + (i as f64 + 0.5) * dy).unwrap_or(0.0) * dy)
        .sum();
    let mut h = (area / target as f64).sqrt();
    let mut best = (layout(&surface, h, y_align), h);
    for _ in 0..8 {
        let rows = layout(&surface, h, y_align);
        let n = vertex_count(&rows);
        if n.abs_diff(target) < vertex_count(&best.0).abs_diff(target) {
            best = (rows, h);
        }
        if n.abs_diff(target) * 1000 <= target {
            break;
        }
        h *= (n as f64 / target as f64).sqrt();
    }
    let (rows, h) = best;
    build(surface, landmarks, &rows, h)
}

/// The centre of the nasal dorsum on the midline: halfway between nasion and pronasale.
pub(crate) fn dorsum_centre(landmarks: &BTreeMap<Landmark, [f64; 3]>) -> [f64; 2] {
    let n = landmarks.get(&Landmark::Nasion).copied().unwrap_or_default();
    let t = landmarks.get(&Landmark::Pronasale).copied().unwrap_or_default();
    [0.5 * (n[0] + t[0]), 0.5 * (n[1] + t[1])]
}

fn build(surface: Surface, landmarks: BTreeMap<Landmark, [f64; 3]>, rows: &[Row], h: f64) -> SynthFace {
    let p = surface.params().clone();
    let n = vertex_count(rows);
    let jitter = p.jitter_mm.min(0.3 * h);
    let mut positions = Vec::with_capacity(n);
    let mut normals = Vec::with_capacity(n);
    let mut row_start = Vec::with_capacity(rows.len());
    for row in rows {
        row_start.push(positions.len() as u32);
        for i in -row.m..=row.m {
            let (mut x, mut y) = (i as f64 * h, row.y);
            let index = positions.len() as u64;
            if jitter > 0.0 {
                // Uniform in a disc of radius 0.3h: each vertex stays closer than half the
                // smallest triangle altitude (h/√2), so no triangle can fold over.
                let mut g = SplitMix64::for_item(p.seed, SALT_JITTER, index);
                let r = jitter * g.next_f64().sqrt();
                let (sin, cos) = (std::f64::consts::TAU * g.next_f64()).sin_cos();
                let (jx, jy) = (x + r * cos, y + r * sin);
                if surface.contains(jx, jy) {
                    (x, y) = (jx, jy);
                }
            }
            let (z, grad) = surface.height_and_gradient(x, y);
            let normal = normal_from_gradient(grad);
            let mut pos = [x, y, z];
            if p.noise_mm > 0.0 {
                let e = p.noise_mm * SplitMix64::for_item(p.seed, SALT_NOISE, index).next_gaussian();
                pos = [x + e * normal[0], y + e * normal[1], z + e * normal[2]];
            }
            positions.push(to_f32(pos));
            normals.push(to_f32(normal));
        }
    }

    let mut triangles = Vec::with_capacity(2 * n);
    for j in 0..rows.len().saturating_sub(1) {
        let (lo, hi) = (rows[j], rows[j + 1]);
        let at = |row: Row, start: u32, i: i64| (i.abs() <= row.m).then(|| start + (i + row.m) as u32);
        let wide = lo.m.max(hi.m);
        for i in -wide..wide {
            // Corners counter-clockwise seen from +z: a, b on the lower row, c, d above.
            let a = at(lo, row_start[j], i);
            let b = at(lo, row_start[j], i + 1);
            let c = at(hi, row_start[j + 1], i + 1);
            let d = at(hi, row_start[j + 1], i);
            match (a, b, c, d) {
                // Diagonals mirror across x = 0 so the triangulation is symmetric too.
                (Some(a), Some(b), Some(c), Some(d)) if i >= 0 => {
                    triangles.push([a, b, c]);
                    triangles.push([a, c, d]);
                }
                (Some(a), Some(b), Some(c), Some(d)) => {
                    triangles.push([a, b, d]);
                    triangles.push([b, c, d]);
                }
                (Some(a), Some(b), Some(c), None) => triangles.push([a, b, c]),
                (Some(a), Some(b), None, Some(d)) => triangles.push([a, b, d]),
                (Some(a), None, Some(c), Some(d)) => triangles.push([a, c, d]),
                (None, Some(b), Some(c), Some(d)) => triangles.push([b, c, d]),
                _ => {}
            }
        }
    }

    SynthFace {
        mesh: assemble(positions, triangles, normals),
        symmetry_plane: Plane::MID_SAGITTAL,
        landmarks,
        params: p,
        pose: RigidMotion::IDENTITY,
        spacing_mm: h,
        surface,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn bits(p: [f32; 3]) -> [u32; 3] {
        // +0.0 folds -0.0 into 0.0 so the midline column mirrors onto itself.
        p.map(|c| (c + 0.0).to_bits())
    }

    fn mirror(p: [f32; 3]) -> [f32; 3] {
        [-p[0], p[1], p[2]]
    }

    fn referenced(mesh: &Mesh) -> Vec<bool> {
        let mut used = vec![false; mesh.vertex_count()];
        for t in mesh.triangles() {
            for &i in t {
                used[i as usize] = true;
            }
        }
        used
    }

    #[test]
    fn vertex_counts_near_targets() {
        for target in [1_000, 50_000, 200_000] {
            let face = generate(&FaceParams::default(), target);
            let n = face.mesh.vertex_count();
            assert!(n.abs_diff(target) * 100 <= target * 2, "target {target}, got {n}");
            let t = face.mesh.triangle_count();
            assert!(t > 18 * n / 10 && t < 2 * n, "{t} triangles for {n} vertices");
            assert!(referenced(&face.mesh).iter().all(|&u| u), "unused vertex at target {target}");
            assert_eq!(face.mesh.normals().map(<[_]>::len), Some(n));
        }
    }

    #[test]
    fn targets_outside_the_range_are_clamped() {
        let face = generate(&FaceParams::default(), 0);
        let n = face.mesh.vertex_count();
        assert!((MIN_VERTICES / 2..=MIN_VERTICES * 2).contains(&n), "{n} vertices");
        assert!(face.mesh.triangle_count() > 0);
        assert!(referenced(&face.mesh).iter().all(|&u| u));
    }

    #[test]
    fn mirror_symmetric_grid_surface_and_triangulation() {
        let face = generate(&FaceParams::default(), 20_000);
        let s = face.surface();
        let positions = face.mesh.positions();
        let index: HashMap<[u32; 3], u32> =
            positions.iter().enumerate().map(|(i, &p)| (bits(p), i as u32)).collect();
        assert_eq!(index.len(), positions.len(), "duplicate vertices");
        let mut mirror_of = Vec::with_capacity(positions.len());
        for &p in positions {
            let (x, y) = (f64::from(p[0]), f64::from(p[1]));
            let (z, _) = s.height_and_gradient(x, y);
            assert_eq!(z.to_bits(), s.height_and_gradient(-x, y).0.to_bits(), "f not even at ({x}, {y})");
            // Stored in f32: z is the surface height up to rounding of x, y and z.
            assert!((z - f64::from(p[2])).abs() < 1e-4, "vertex off the surface at ({x}, {y})");
            let m = index.get(&bits(mirror(p)));
            assert!(m.is_some(), "no mirror vertex for {p:?}");
            mirror_of.push(m.copied().unwrap_or(0));
        }
        // Mirroring reverses orientation, so [a, b, c] maps to [m(a), m(c), m(b)].
        let canonical = |t: [u32; 3]| {
            let k = (0..3).min_by_key(|&k| t[k]).unwrap_or(0);
            [t[k], t[(k + 1) % 3], t[(k + 2) % 3]]
        };
        let tris: HashSet<[u32; 3]> = face.mesh.triangles().iter().map(|&t| canonical(t)).collect();
        for &[a, b, c] in face.mesh.triangles() {
            let m = [mirror_of[a as usize], mirror_of[c as usize], mirror_of[b as usize]];
            assert!(tris.contains(&canonical(m)), "triangle {:?} has no mirror", [a, b, c]);
        }
    }

    #[test]
    fn jitter_breaks_coincidence_but_stays_on_surface() {
        let params = FaceParams { jitter_mm: 0.5, seed: 11, ..FaceParams::default() };
        let face = generate(&params, 10_000);
        let s = face.surface();
        let positions = face.mesh.positions();
        let set: HashSet<[u32; 3]> = positions.iter().map(|&p| bits(p)).collect();
        let coincide = positions.iter().filter(|&&p| set.contains(&bits(mirror(p)))).count();
        assert!(coincide * 100 < positions.len(), "{coincide} of {} mirror onto vertices", positions.len());
        for &p in positions {
            let (x, y) = (f64::from(p[0]), f64::from(p[1]));
            assert!(s.contains(x, y));
            assert!((s.height_and_gradient(x, y).0 - f64::from(p[2])).abs() < 1e-4);
        }
        // Jitter is bounded by 0.3 of the spacing, so triangles keep facing the viewer.
        for t in face.mesh.triangles() {
            let [a, b, c] = t.map(|i| positions[i as usize]);
            let cross_z = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            assert!(cross_z > 0.0, "folded triangle {t:?}");
        }
        let again = generate(&params, 10_000);
        assert_eq!(again.mesh, face.mesh);
        let other = generate(&FaceParams { seed: 12, ..params }, 10_000);
        assert_ne!(other.mesh.positions(), face.mesh.positions());
    }

    #[test]
    fn landmarks_lie_on_the_surface_and_mirror() {
        let face = generate(&FaceParams { dorsal_hump_mm: 2.0, ..FaceParams::default() }, 1_000);
        let s = face.surface();
        assert_eq!(face.landmarks.len(), Landmark::ALL.len());
        for (&k, &p) in &face.landmarks {
            let z = s.height(p[0], p[1]);
            assert!(z.is_some_and(|z| (z - p[2]).abs() < 1e-6), "{k:?} at {p:?} is off the surface");
            let m = face.landmarks[&k.mirror()];
            assert_eq!([-m[0], m[1], m[2]], [p[0] + 0.0, p[1], p[2]], "{k:?} and its mirror");
        }
        let y = |k: Landmark| face.landmarks[&k][1];
        use Landmark::*;
        let top_down = [Trichion, Glabella, Nasion, Pronasale, Subnasale, LabraleSuperius, Stomion];
        for w in top_down.windows(2) {
            assert!(y(w[0]) > y(w[1]), "{:?} should be above {:?}", w[0], w[1]);
        }
        assert!(
            y(Stomion) > y(LabraleInferius) && y(LabraleInferius) > y(Pogonion) && y(Pogonion) > y(Menton)
        );
        assert!(face.landmarks[&ExocanthionLeft][0] > face.landmarks[&EndocanthionLeft][0]);
        assert!(face.landmarks[&ZygionLeft][0] > 0.0 && face.landmarks[&ZygionRight][0] < 0.0);
    }

    #[test]
    fn pronasale_is_the_most_anterior_point() {
        let face = generate(&FaceParams::default(), 50_000);
        let tip = face.landmarks[&Landmark::Pronasale];
        let (i, top) = face
            .mesh
            .positions()
            .iter()
            .enumerate()
            .max_by(|a, b| a.1[2].total_cmp(&b.1[2]))
            .map(|(i, p)| (i, to_f64(*p)))
            .unwrap_or_default();
        assert!(top[2] <= tip[2] + 1e-5, "vertex {i} at {top:?} is in front of the tip {tip:?}");
        let dist = ((top[0] - tip[0]).powi(2) + (top[1] - tip[1]).powi(2)).sqrt();
        assert!(dist < 2.0 * face.spacing_mm, "highest vertex {dist} mm from the tip");
        // Also against the analytic surface, off the grid.
        let s = face.surface();
        for j in 0..400 {
            for k in 0..300 {
                let (x, y) = (-75.0 + 0.5 * k as f64 + 0.13, -100.0 + 0.5 * j as f64 + 0.07);
                if let Some(z) = s.height(x, y) {
                    assert!(z <= tip[2] + 1e-9, "({x}, {y}) at {z} is in front of the tip");
                }
            }
        }
    }

    #[test]
    fn face_is_face_sized() {
        let face = generate(&FaceParams::default(), 50_000);
        let mut lo = [f32::MAX; 3];
        let mut hi = [f32::MIN; 3];
        for p in face.mesh.positions() {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let ext = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
        assert!((195.0..=200.0).contains(&ext[1]), "height {}", ext[1]);
        assert!((148.0..=150.0).contains(&ext[0]), "width {}", ext[0]);
        assert!((40.0..=90.0).contains(&ext[2]), "depth {}", ext[2]);
        let wide = generate(
            &FaceParams { face_width_mm: 170.0, face_height_mm: 230.0, ..FaceParams::default() },
            20_000,
        );
        let ys = wide.mesh.positions().iter().map(|p| p[1]);
        let height = ys.clone().fold(f32::MIN, f32::max) - ys.fold(f32::MAX, f32::min);
        assert!((224.0..=230.0).contains(&height), "height {height}");
    }

    #[test]
    fn normals_are_unit_and_face_the_viewer() {
        let face = generate(&FaceParams::default(), 50_000);
        let normals = face.mesh.normals().unwrap_or_default();
        let from_triangles = vertex_normals(face.mesh.positions(), face.mesh.triangles());
        let mut disagree = 0;
        for (n, t) in normals.iter().zip(&from_triangles) {
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            assert!((len - 1.0).abs() < 1e-5 && n[2] > 0.0);
            if n[0] * t[0] + n[1] * t[1] + n[2] * t[2] < 0.99 {
                disagree += 1;
            }
        }
        // Only rim vertices (one-sided fans) may differ from the triangle normals.
        assert!(disagree * 100 < normals.len(), "{disagree} normals disagree with the triangles");
        let tip = face.landmarks[&Landmark::Pronasale];
        let n = face.surface().normal(tip[0], tip[1]).unwrap_or_default();
        assert!(n[2] > 0.99 && n[0] == 0.0, "tip normal {n:?}");
    }

    #[test]
    fn transformed_moves_mesh_and_truth_together() {
        let face = generate(&FaceParams::default(), 5_000);
        let m = RigidMotion::random(5, 25.0, 40.0);
        let moved = face.transformed(&m);
        assert_eq!(moved.pose, m);
        for (k, p) in &face.landmarks {
            let q = m.apply_point(*p);
            let got = moved.landmarks[k];
            assert!((0..3).all(|i| (q[i] - got[i]).abs() < 1e-9), "{k:?}");
        }
        for (i, (&p, &q)) in face.mesh.positions().iter().zip(moved.mesh.positions()).enumerate() {
            let want = m.apply_point(to_f64(p));
            assert!((0..3).all(|k| (want[k] - f64::from(q[k])).abs() < 1e-4), "vertex {i}");
            // Midline vertices stay on the moved symmetry plane; others keep their distance.
            let d = moved.symmetry_plane.signed_distance(to_f64(q));
            assert!((d - f64::from(p[0])).abs() < 1e-4);
        }
        let n0 = face.mesh.normals().unwrap_or_default();
        let n1 = moved.mesh.normals().unwrap_or_default();
        let want = m.apply_vector(to_f64(n0[100]));
        assert!((0..3).all(|k| (want[k] - f64::from(n1[100][k])).abs() < 1e-6));
        let back = moved.transformed(&m.inverse());
        assert!(back.pose.angle_degrees() < 1e-9);
        assert!(back.symmetry_plane.angle_degrees(&Plane::MID_SAGITTAL) < 1e-9);
        let worst = face
            .mesh
            .positions()
            .iter()
            .zip(back.mesh.positions())
            .map(|(a, b)| (0..3).map(|k| (a[k] - b[k]).abs()).fold(0.0f32, f32::max))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "round trip moved a vertex by {worst}");
    }

    #[test]
    fn non_rigid_motion_is_refused() {
        let face = generate(&FaceParams::default(), 1_000);
        let scale = RigidMotion {
            rotation: [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]],
            translation: [0.0; 3],
        };
        let same = face.transformed(&scale);
        assert_eq!(same.mesh, face.mesh);
        assert_eq!(same.pose, RigidMotion::IDENTITY);
        let far = RigidMotion::from_axis_angle([0.0, 0.0, 1.0], 0.0, [1e30, 0.0, 0.0]);
        assert_eq!(face.transformed(&far).mesh, face.mesh);
    }

    #[test]
    fn noise_is_seeded_and_along_the_normal() {
        let params = FaceParams { noise_mm: 0.1, seed: 3, ..FaceParams::default() };
        let face = generate(&params, 20_000);
        assert_eq!(generate(&params, 20_000).mesh, face.mesh);
        let mut sum_sq = 0.0;
        let mut count = 0;
        for p in face.mesh.positions() {
            if let Some(d) = face.signed_distance(to_f64(*p)) {
                sum_sq += d * d;
                count += 1;
            }
        }
        assert!(count > face.mesh.vertex_count() * 9 / 10);
        let rms = (sum_sq / count as f64).sqrt();
        assert!((rms - 0.1).abs() < 0.01, "noise rms {rms}");
    }

    #[test]
    fn signed_distance_recovers_normal_offsets() {
        let face = generate(&FaceParams::default(), 1_000).transformed(&RigidMotion::random(8, 20.0, 30.0));
        let s = face.surface();
        for (x, y) in [(0.0, 70.0), (30.0, 50.0), (-45.0, -5.0), (0.0, 5.0), (-20.0, -70.0), (50.0, 30.0)] {
            let (z, g) = s.height_and_gradient(x, y);
            let n = normal_from_gradient(g);
            for d in [-1.5, -0.2, 0.0, 0.7, 2.0] {
                let p = face.pose.apply_point([x + d * n[0], y + d * n[1], z + d * n[2]]);
                let got = face.signed_distance(p);
                assert!(got.is_some_and(|got| (got - d).abs() < 1e-6), "at ({x}, {y}) offset {d}: {got:?}");
            }
        }
        assert_eq!(face.signed_distance([f64::NAN, 0.0, 0.0]), None);
        assert_eq!(face.signed_distance(face.pose.apply_point([300.0, 0.0, 0.0])), None);
    }

    /// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations.
    fn symmetric_eigenvalues<const N: usize>(mut a: [[f64; N]; N]) -> [f64; N] {
        for _ in 0..100 {
            for p in 0..N {
                for q in p + 1..N {
                    if a[p][q].abs() < 1e-300 {
                        continue;
                    }
                    let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                    let t = if theta == 0.0 { 1.0 } else { t };
                    let c = 1.0 / (t * t + 1.0).sqrt();
                    let s = t * c;
                    for row in a.iter_mut() {
                        let (akp, akq) = (row[p], row[q]);
                        row[p] = c * akp - s * akq;
                        row[q] = s * akp + c * akq;
                    }
                    let (rp, rq) = (a[p], a[q]);
                    a[p] = std::array::from_fn(|k| c * rp[k] - s * rq[k]);
                    a[q] = std::array::from_fn(|k| s * rp[k] + c * rq[k]);
                }
            }
        }
        std::array::from_fn(|i| a[i][i])
    }

    #[test]
    fn point_to_plane_registration_is_constrained_in_all_six_directions() {
        // The normal equations of point-to-plane ICP: rows [(p × n) / L, n]. A near-cylinder or
        // plane would leave an eigenvalue near zero (a motion the surface cannot see).
        let face = generate(&FaceParams::default(), 20_000);
        let positions = face.mesh.positions();
        let normals = face.mesh.normals().unwrap_or_default();
        let n = positions.len() as f64;
        let mut c = [0.0; 3];
        for p in positions {
            for k in 0..3 {
                c[k] += f64::from(p[k]) / n;
            }
        }
        let l = 60.0;
        let mut m = [[0.0; 6]; 6];
        for (p, nv) in positions.iter().zip(normals) {
            let p = [f64::from(p[0]) - c[0], f64::from(p[1]) - c[1], f64::from(p[2]) - c[2]];
            let nv = to_f64(*nv);
            let r = [p[1] * nv[2] - p[2] * nv[1], p[2] * nv[0] - p[0] * nv[2], p[0] * nv[1] - p[1] * nv[0]];
            let row = [r[0] / l, r[1] / l, r[2] / l, nv[0], nv[1], nv[2]];
            for i in 0..6 {
                for j in 0..6 {
                    m[i][j] += row[i] * row[j] / n;
                }
            }
        }
        let mut eig = symmetric_eigenvalues(m);
        eig.sort_by(f64::total_cmp);
        assert!(eig[0] > 0.01 * eig[5], "weakest direction {:.2e} vs strongest {:.2e}", eig[0], eig[5]);
        // A half cylinder of the same size, by contrast, is blind to sliding along its axis.
        let mut cyl = [[0.0; 6]; 6];
        let mut count = 0.0;
        for i in 0..100 {
            for j in 0..100 {
                let a = std::f64::consts::PI * (i as f64 / 99.0 - 0.5);
                let (x, y, z) = (75.0 * a.sin(), -100.0 + 2.0 * j as f64, 75.0 * a.cos());
                let nv = [a.sin(), 0.0, a.cos()];
                let r = [y * nv[2] - z * nv[1], z * nv[0] - x * nv[2], x * nv[1] - y * nv[0]];
                let row = [r[0] / l, r[1] / l, r[2] / l, nv[0], nv[1], nv[2]];
                for p in 0..6 {
                    for q in 0..6 {
                        cyl[p][q] += row[p] * row[q];
                    }
                }
                count += 1.0;
            }
        }
        let mut ce = symmetric_eigenvalues(cyl.map(|r| r.map(|v| v / count)));
        ce.sort_by(f64::total_cmp);
        assert!(ce[0] < 1e-9 * ce[5], "the check cannot tell a cylinder: {ce:?}");
    }

    #[test]
    #[ignore = "slow in debug builds; run with --release -- --ignored"]
    fn generates_a_million_vertices() {
        let start = std::time::Instant::now();
        let face = generate(&FaceParams::default(), 1_000_000);
        let took = start.elapsed();
        let n = face.mesh.vertex_count();
        assert!(n.abs_diff(1_000_000) < 20_000, "{n} vertices");
        assert!(face.mesh.triangle_count() > 1_900_000);
        assert!(referenced(&face.mesh).iter().all(|&u| u));
        println!("1M vertices in {took:?}");
        let bench = generate(&FaceParams::default(), 860_000);
        let t = bench.mesh.triangle_count();
        assert!((1_650_000..=1_750_000).contains(&t), "{t} triangles");
    }
}
