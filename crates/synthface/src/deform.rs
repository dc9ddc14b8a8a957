//! Known deformations of a synthetic face, standing in for surgical change: every vertex moves
//! by a Gaussian-weighted displacement whose exact vectors are returned as ground truth.
//!
//! The weight is exp(-r²/(2σ²)), r being the distance in the face's own (x, y) plane from the
//! centre, smoothly cut to zero between 4σ and 5σ (changing it by at most 3.4e-4 of the
//! amplitude there) so that vertices beyond 5σ do not move at all.

use facevault_mesh::Mesh;

use crate::face::{assemble, dorsum_centre, sane_motion, to_f32, to_f64, vertex_normals, Side, SynthFace};
use crate::motion::RigidMotion;

/// Largest |amplitude| accepted; larger values are clamped.
const MAX_AMPLITUDE_MM: f64 = 1000.0;

/// A deformed copy of a face's mesh and the truth about how it moved.
#[derive(Clone, Debug)]
pub struct Deformed {
    /// The deformed mesh (same triangles; normals recomputed from the triangles).
    pub mesh: Mesh,
    /// Per-vertex displacement in mm, in the mesh's frame: deformed = original + displacement,
    /// exact in f64 (the stored f32 positions round it by at most a few µm).
    pub displacement: Vec<[f64; 3]>,
    /// Largest displacement length over all vertices.
    pub peak_mm: f64,
    /// The deformation centre on the original surface, in the mesh's frame.
    pub centre: [f64; 3],
}

impl Deformed {
    /// The same deformation seen after a rigid motion: mesh, displacement vectors and centre
    /// move together (a non-rigid motion is replaced by the identity, as in
    /// [`SynthFace::transformed`]).
    pub fn transformed(&self, motion: &RigidMotion) -> Deformed {
        let m = sane_motion(motion);
        let positions = self.mesh.positions().iter().map(|&p| to_f32(m.apply_point(to_f64(p)))).collect();
        let normals = match self.mesh.normals() {
            Some(ns) => ns.iter().map(|&n| to_f32(m.apply_vector(to_f64(n)))).collect(),
            None => vertex_normals(self.mesh.positions(), self.mesh.triangles()),
        };
        Deformed {
            mesh: assemble(positions, self.mesh.triangles().to_vec(), normals),
            displacement: self.displacement.iter().map(|&d| m.apply_vector(d)).collect(),
            peak_mm: self.peak_mm,
            centre: m.apply_point(self.centre),
        }
    }
}

/// Weight at squared in-plane distance r2: Gaussian, cut smoothly to zero over [4σ, 5σ].
fn weight(r2: f64, sigma: f64) -> f64 {
    let r = r2.sqrt();
    if r >= 5.0 * sigma {
        return 0.0;
    }
    let g = (-r2 / (2.0 * sigma * sigma)).exp();
    if r <= 4.0 * sigma {
        return g;
    }
    let t = r / sigma - 4.0;
    g * (1.0 - t * t * t * (t * (6.0 * t - 15.0) + 10.0))
}

/// Moves every vertex by `amplitude_mm` · weight(r) along `direction`, where r is the distance
/// in the face's own (x, y) plane from `centre_xy`. `centre_xy` and `direction` are in the
/// face's own frame (x left, y up, z anterior; `direction` need not be unit length) whatever
/// the face's pose; the returned vectors are in the mesh's frame.
///
/// Degenerate inputs move nothing: a zero or non-finite direction, a non-finite amplitude or
/// centre, or σ that is not positive and finite. |amplitude| is clamped to 1000 mm.
pub fn gaussian_bump(
    face: &SynthFace,
    centre_xy: [f64; 2],
    direction: [f64; 3],
    amplitude_mm: f64,
    sigma_mm: f64,
) -> Deformed {
    let len = (direction[0].powi(2) + direction[1].powi(2) + direction[2].powi(2)).sqrt();
    let usable = len > 0.0
        && len.is_finite()
        && amplitude_mm.is_finite()
        && sigma_mm > 0.0
        && sigma_mm.is_finite()
        && centre_xy.iter().all(|c| c.is_finite());
    let amplitude = if usable { amplitude_mm.clamp(-MAX_AMPLITUDE_MM, MAX_AMPLITUDE_MM) } else { 0.0 };
    let unit =
        if usable { [direction[0] / len, direction[1] / len, direction[2] / len] } else { [0.0, 0.0, 1.0] };
    let world_dir = face.pose.apply_vector(unit);
    let to_face = face.pose.inverse();
    let [cx, cy] = if usable { centre_xy } else { [0.0; 2] };

    let mut displacement = Vec::with_capacity(face.mesh.vertex_count());
    let mut positions = Vec::with_capacity(face.mesh.vertex_count());
    let mut peak: f64 = 0.0;
    for &p in face.mesh.positions() {
        let p = to_f64(p);
        let q = to_face.apply_point(p);
        let r2 = (q[0] - cx).powi(2) + (q[1] - cy).powi(2);
        let s = if amplitude == 0.0 { 0.0 } else { amplitude * weight(r2, sigma_mm) };
        let d = [s * world_dir[0], s * world_dir[1], s * world_dir[2]];
        peak = peak.max(s.abs());
        positions.push(to_f32([p[0] + d[0], p[1] + d[1], p[2] + d[2]]));
        displacement.push(d);
    }
    let normals = vertex_normals(&positions, face.mesh.triangles());
    let centre = face.pose.apply_point([cx, cy, face.surface().height_and_gradient(cx, cy).0]);
    Deformed {
        mesh: assemble(positions, face.mesh.triangles().to_vec(), normals),
        displacement,
        peak_mm: peak,
        centre,
    }
}

/// A nasal dorsum reduction: vertices move posteriorly (along the face's -z) by
/// `depth_mm` · weight(r), centred on the dorsum midline halfway between nasion and pronasale.
/// With no jitter a grid vertex lies exactly at the centre, so `peak_mm` equals `depth_mm`.
pub fn nasal_dorsum_reduction(face: &SynthFace, depth_mm: f64, sigma_mm: f64) -> Deformed {
    let to_face = face.pose.inverse();
    let canonical = face.landmarks.iter().map(|(&k, &p)| (k, to_face.apply_point(p))).collect();
    gaussian_bump(face, dorsum_centre(&canonical), [0.0, 0.0, -1.0], depth_mm, sigma_mm)
}

/// A one-sided cheek augmentation: vertices move anteriorly (along the face's +z) by
/// `height_mm` · weight(r), centred on the malar prominence ([`crate::Landmark::ZygionLeft`]
/// or `ZygionRight`, 46 mm from the midline on the default face). With 5σ below that distance
/// (σ < 9.2 mm by default) the other side does not move at all; with σ = 10 mm the midline
/// moves by 2.5e-5 of the height.
pub fn cheek_augmentation(face: &SynthFace, side: Side, height_mm: f64, sigma_mm: f64) -> Deformed {
    let [x, y] = face.surface().points().zygion;
    gaussian_bump(face, [side.sign() * x, y], [0.0, 0.0, 1.0], height_mm, sigma_mm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::generate;
    use crate::{FaceParams, Landmark};

    fn norm(d: [f64; 3]) -> f64 {
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }

    #[test]
    fn weight_is_gaussian_then_cut_smoothly_at_five_sigma() {
        let s = 3.0;
        assert_eq!(weight(0.0, s), 1.0);
        assert!((weight(4.0 * 4.0 * s * s, s) - (-8.0f64).exp()).abs() < 1e-15);
        assert_eq!(weight(25.0 * s * s, s), 0.0);
        let mut prev = 1.0;
        for i in 1..=600 {
            let r = i as f64 * 0.01 * s;
            let w = weight(r * r, s);
            assert!(w <= prev && prev - w < 0.02, "not smooth and falling at r = {r}");
            prev = w;
        }
    }

    #[test]
    fn dorsum_reduction_peaks_at_depth_on_the_dorsum() {
        let face = generate(&FaceParams::default(), 50_000);
        let (depth, sigma) = (2.0, 6.0);
        let d = nasal_dorsum_reduction(&face, depth, sigma);
        assert!((d.peak_mm - depth).abs() < 1e-9, "peak {}", d.peak_mm);
        let nasion = face.landmarks[&Landmark::Nasion];
        let tip = face.landmarks[&Landmark::Pronasale];
        assert!(d.centre[0] == 0.0 && (d.centre[1] - 0.5 * (nasion[1] + tip[1])).abs() < 1e-12);
        assert!(face
            .surface()
            .height(d.centre[0], d.centre[1])
            .is_some_and(|z| (z - d.centre[2]).abs() < 1e-12));
        let mut moved = 0;
        for ((p, q), disp) in face.mesh.positions().iter().zip(d.mesh.positions()).zip(&d.displacement) {
            assert!(disp[0] == 0.0 && disp[1] == 0.0 && disp[2] <= 0.0, "not posterior: {disp:?}");
            let r =
                ((f64::from(p[0]) - d.centre[0]).powi(2) + (f64::from(p[1]) - d.centre[1]).powi(2)).sqrt();
            if r > 5.0 * sigma {
                assert_eq!(*disp, [0.0; 3]);
                assert_eq!(p, q);
            } else {
                assert!((f64::from(q[2]) - f64::from(p[2]) - disp[2]).abs() < 2e-5);
                moved += 1;
            }
        }
        assert!(moved > 100);
    }

    #[test]
    fn dorsum_reduction_distance_map_peak_is_depth_times_normal_z() {
        // The reduction is vertical, but the dorsum slopes, so the distance to the original
        // surface at the centre is depth · n_z, not depth.
        let face = generate(&FaceParams::default(), 50_000);
        let d = nasal_dorsum_reduction(&face, 2.0, 6.0);
        let n = face.surface().normal(d.centre[0], d.centre[1]).unwrap_or_default();
        let distances = face.signed_distances(d.mesh.positions());
        let deepest = distances.iter().flatten().copied().fold(f64::MAX, f64::min);
        assert!(n[2] > 0.7 && n[2] < 0.95, "dorsum normal {n:?}");
        assert!((deepest + 2.0 * n[2]).abs() < 0.05, "deepest {deepest}, expected about {}", -2.0 * n[2]);
        let undeformed = face.signed_distances(face.mesh.positions());
        assert!(undeformed.iter().all(|d| d.is_some_and(|d| d.abs() < 1e-4)));
    }

    #[test]
    fn deforming_a_moved_face_matches_moving_the_deformed_face() {
        let face = generate(&FaceParams::default(), 5_000);
        let m = RigidMotion::random(21, 30.0, 25.0);
        let a = nasal_dorsum_reduction(&face.transformed(&m), 2.0, 5.0);
        let b = nasal_dorsum_reduction(&face, 2.0, 5.0).transformed(&m);
        assert!((a.peak_mm - b.peak_mm).abs() < 1e-6);
        assert!((0..3).all(|k| (a.centre[k] - b.centre[k]).abs() < 1e-9));
        for (da, db) in a.displacement.iter().zip(&b.displacement) {
            assert!((0..3).all(|k| (da[k] - db[k]).abs() < 1e-5), "{da:?} vs {db:?}");
        }
        for (pa, pb) in a.mesh.positions().iter().zip(b.mesh.positions()) {
            assert!((0..3).all(|k| (pa[k] - pb[k]).abs() < 1e-4));
        }
    }

    #[test]
    fn cheek_augmentation_moves_one_side_only() {
        let face = generate(&FaceParams::default(), 50_000);
        for side in [Side::Left, Side::Right] {
            let d = cheek_augmentation(&face, side, 3.0, 8.0);
            assert!(d.peak_mm <= 3.0 && d.peak_mm > 2.95, "peak {}", d.peak_mm);
            let zygion = match side {
                Side::Left => Landmark::ZygionLeft,
                Side::Right => Landmark::ZygionRight,
            };
            assert_eq!(d.centre, face.landmarks[&zygion]);
            let mut moved = 0;
            for (p, disp) in face.mesh.positions().iter().zip(&d.displacement) {
                if f64::from(p[0]) * side.sign() <= 0.0 {
                    assert_eq!(*disp, [0.0; 3], "other side moved at {p:?}");
                } else if disp[2] > 0.0 {
                    assert!(disp[0] == 0.0 && disp[1] == 0.0);
                    moved += 1;
                }
            }
            assert!(moved > 100);
        }
    }

    #[test]
    fn gaussian_bump_follows_direction_and_refuses_degenerate_input() {
        let face = generate(&FaceParams::default(), 2_000);
        let d = gaussian_bump(&face, [0.0, 60.0], [0.0, 3.0, 4.0], -1.5, 8.0);
        let big =
            d.displacement.iter().copied().max_by(|a, b| norm(*a).total_cmp(&norm(*b))).unwrap_or_default();
        assert!((norm(big) - d.peak_mm).abs() < 1e-12 && d.peak_mm > 1.0);
        assert!((big[1] / big[2] - 0.75).abs() < 1e-12 && big[2] < 0.0);
        for (dir, amp, sigma) in [
            ([0.0; 3], 1.0, 5.0),
            ([0.0, 0.0, 1.0], f64::NAN, 5.0),
            ([0.0, 0.0, 1.0], 1.0, 0.0),
            ([0.0, 0.0, 1.0], 1.0, f64::INFINITY),
            ([f64::NAN, 0.0, 1.0], 1.0, 5.0),
        ] {
            let d = gaussian_bump(&face, [0.0, 0.0], dir, amp, sigma);
            assert_eq!(d.peak_mm, 0.0);
            assert!(d.displacement.iter().all(|v| *v == [0.0; 3]));
            assert_eq!(d.mesh.positions(), face.mesh.positions());
        }
    }
}
