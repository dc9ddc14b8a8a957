//! Rigid registration of one scan onto another: robust point-to-plane ICP, coarse to fine,
//! from an automatic initial alignment (principal axes with their sign hypotheses, plus the
//! identity and a pure translation), scored by trimmed residual.
//!
//! The moving scan's points are matched to exact closest points on the fixed surface. A Tukey
//! kernel whose scale follows the residuals' median, a trimmed tail and a border test keep an
//! operated region or a non-overlapping rim from biasing the fit. A result that is not
//! converged, overlaps too little or fits too loosely is an error, never a silent answer.

use serde::{Deserialize, Serialize};

use crate::error::AnalysisError;
use crate::geom::{add, cross, dot, f64v, norm, principal_axes, scale, solve6, sub, Transform, V3};
use crate::surface::{Closest, Surface};

/// Knobs of [`register`]. The defaults suit face scans in mm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterOptions {
    /// Moving points used while choosing among initial hypotheses.
    pub hypothesis_points: usize,
    /// Fixed-scan vertices forming the coarse target (a point cloud with normals).
    pub coarse_target_points: usize,
    /// Moving points in the coarse stage.
    pub coarse_points: usize,
    /// Moving points in the fine stage, matched against the full-resolution surface.
    pub fine_points: usize,
    /// Iteration caps per stage.
    pub hypothesis_iterations: usize,
    pub coarse_iterations: usize,
    pub fine_iterations: usize,
    /// Smallest Tukey scale (mm): residuals beyond it get no weight once the fit is tight.
    pub kernel_floor_mm: f64,
    /// Fraction of the largest residuals dropped in every iteration.
    pub trim_fraction: f64,
    /// Quality gates: the largest acceptable inlier RMS residual, and the smallest fraction of
    /// moving points that must find an inlier match on the fixed surface.
    pub max_rms_mm: f64,
    pub min_overlap: f64,
    /// Try the principal-axis hypotheses (for scans in arbitrary poses). With `false` only the
    /// identity (scans already roughly aligned, e.g. from the same scanner set-up) is used.
    pub auto_initial: bool,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        RegisterOptions {
            hypothesis_points: 400,
            coarse_target_points: 6000,
            coarse_points: 3000,
            fine_points: 30_000,
            hypothesis_iterations: 12,
            coarse_iterations: 40,
            fine_iterations: 30,
            kernel_floor_mm: 0.3,
            trim_fraction: 0.1,
            max_rms_mm: 1.0,
            min_overlap: 0.5,
            auto_initial: true,
        }
    }
}

/// A successful registration: the transform taking the moving scan onto the fixed one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// Moving → fixed.
    pub transform: Transform,
    /// The same as a 4x4 row-major matrix, for tools that want one.
    pub matrix: [[f64; 4]; 4],
    /// Rotation angle of the transform, degrees.
    pub rotation_degrees: f64,
    /// RMS point-to-plane residual over inlier matches in the final iteration, mm.
    pub rms_mm: f64,
    /// Fraction of the fine-stage moving points with an inlier match.
    pub overlap: f64,
    /// Iterations in the fine stage and in total.
    pub fine_iterations: usize,
    pub iterations: usize,
    /// Whether the fine stage stopped because the updates became negligible.
    pub converged: bool,
    /// Which initial hypothesis won.
    pub initial: String,
    /// Points used in the fine stage.
    pub fine_points: usize,
}

/// What one ICP run produced.
#[derive(Clone, Copy, Debug)]
struct Fit {
    transform: Transform,
    rms: f64,
    overlap: f64,
    iterations: usize,
    converged: bool,
    /// Trimmed RMS of point-to-point distance: the score that ranks hypotheses.
    score: f64,
}

/// `count` indices spread evenly through `0..n` in stored order (which keeps them spatially
/// coherent for seeded queries), restricted to `mask` when given.
pub(crate) fn sample(n: usize, count: usize, mask: Option<&[bool]>) -> Vec<usize> {
    let eligible: Vec<usize> = match mask {
        Some(m) => (0..n).filter(|&i| m.get(i).copied().unwrap_or(false)).collect(),
        None => Vec::new(),
    };
    let total = if mask.is_some() { eligible.len() } else { n };
    let count = count.min(total);
    (0..count)
        .map(|k| {
            let i = ((k as u128 * total as u128) / count.max(1) as u128) as usize;
            if mask.is_some() {
                eligible[i]
            } else {
                i
            }
        })
        .collect()
}

/// The registration mask of `points` (a scan's vertices) for stable regions given as spheres
/// `[x, y, z, radius]` (mm, the points' coordinates): true for a point inside any sphere.
/// `None` when no sphere is given (register on everything), which is what [`register`] and
/// [`crate::compare`] take.
pub fn sphere_mask(points: &[[f32; 3]], spheres: &[[f64; 4]]) -> Option<Vec<bool>> {
    (!spheres.is_empty()).then(|| {
        points
            .iter()
            .map(|&p| {
                let p = f64v(p);
                spheres.iter().any(|&[x, y, z, r]| {
                    let d = [p[0] - x, p[1] - y, p[2] - z];
                    d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= r * r
                })
            })
            .collect()
    })
}

/// Registers `moving` (points, e.g. a scan's vertices) onto the `fixed` surface, whose
/// vertices are `fixed_points`. `mask`, when given, has one entry per moving point and marks
/// the stable regions to fit on.
pub fn register(
    moving: &[[f32; 3]],
    mask: Option<&[bool]>,
    fixed_points: &[[f32; 3]],
    fixed: &Surface,
    options: &RegisterOptions,
) -> Result<Registration, AnalysisError> {
    if let Some(m) = mask {
        if m.len() != moving.len() {
            return Err(AnalysisError::MaskLength { got: m.len(), vertices: moving.len() });
        }
    }
    if fixed.triangle_count() < 10 {
        return Err(AnalysisError::TooSmall {
            what: "the fixed scan",
            got: fixed.triangle_count(),
            need: 10,
        });
    }
    let fail = |reason: &str, rms: f64, overlap: f64, iterations: usize| AnalysisError::PoorAlignment {
        reason: reason.to_string(),
        rms_mm: rms,
        overlap,
        iterations,
    };
    let pick = |count: usize| -> Vec<V3> {
        sample(moving.len(), count, mask).into_iter().map(|i| f64v(moving[i])).collect()
    };
    let fine_sample = pick(options.fine_points);
    if fine_sample.len() < 10 {
        return Err(fail("fewer than 10 moving points to fit", f64::NAN, 0.0, 0));
    }

    // The coarse target: a sample of the fixed vertices with their surface normals, queried as
    // a point cloud (degenerate triangles).
    let coarse_idx = sample(fixed_points.len(), options.coarse_target_points, None);
    let coarse_pts: Vec<[f32; 3]> = coarse_idx.iter().map(|&i| fixed_points[i]).collect();
    let coarse_normals: Vec<[f32; 3]> = coarse_idx.iter().map(|&i| fixed.vertex_normal(i)).collect();
    let coarse_tris: Vec<[u32; 3]> = (0..coarse_pts.len() as u32).map(|i| [i, i, i]).collect();
    let coarse = Surface::from_parts(&coarse_pts, &coarse_tris, coarse_normals);
    // Coarse stage floor: the point cloud's spacing makes residuals of a fraction of a mm.
    let coarse_floor = options.kernel_floor_mm.max(1.0);

    let mut iterations = 0;
    let (initial_name, start) = if options.auto_initial {
        let hyp_sample = pick(options.hypothesis_points);
        let mut best: Option<(String, Fit)> = None;
        for (name, t) in hypotheses(&fine_sample, fixed_points) {
            let fit =
                icp(&hyp_sample, &coarse, t, options.hypothesis_iterations, coarse_floor, options, false);
            iterations += fit.iterations;
            if best.as_ref().is_none_or(|(_, b)| fit.score < b.score) {
                best = Some((name, fit));
            }
        }
        match best {
            Some((name, fit)) => (name, fit.transform),
            None => return Err(fail("no initial hypothesis", f64::NAN, 0.0, iterations)),
        }
    } else {
        ("identity".to_string(), Transform::IDENTITY)
    };
    let coarse_sample = pick(options.coarse_points);
    let fit = icp(&coarse_sample, &coarse, start, options.coarse_iterations, coarse_floor, options, false);
    iterations += fit.iterations;
    let fit = icp(
        &fine_sample,
        fixed,
        fit.transform,
        options.fine_iterations,
        options.kernel_floor_mm,
        options,
        true,
    );
    iterations += fit.iterations;

    if !fit.converged {
        return Err(fail("did not converge", fit.rms, fit.overlap, iterations));
    }
    if fit.overlap < options.min_overlap {
        return Err(fail("too little overlap between the scans", fit.rms, fit.overlap, iterations));
    }
    if fit.rms.is_nan() || fit.rms > options.max_rms_mm {
        return Err(fail("residual too large", fit.rms, fit.overlap, iterations));
    }
    Ok(Registration {
        transform: fit.transform,
        matrix: fit.transform.matrix4(),
        rotation_degrees: fit.transform.angle_degrees(),
        rms_mm: fit.rms,
        overlap: fit.overlap,
        fine_iterations: fit.iterations,
        iterations,
        converged: fit.converged,
        initial: initial_name,
        fine_points: fine_sample.len(),
    })
}

/// Initial transforms to try: identity, centroid translation, and the four proper rotations
/// taking the moving principal axes onto the fixed ones.
fn hypotheses(moving: &[V3], fixed_points: &[[f32; 3]]) -> Vec<(String, Transform)> {
    let mut out = vec![("identity".to_string(), Transform::IDENTITY)];
    let step = (fixed_points.len() / 20_000).max(1);
    let fixed_axes = principal_axes(fixed_points.iter().step_by(step).map(|&p| f64v(p)));
    let moving_axes = principal_axes(moving.iter().copied());
    let (Some((cf, _, ef)), Some((cm, _, em))) = (fixed_axes, moving_axes) else { return out };
    out.push((
        "centroids".to_string(),
        Transform { rotation: crate::geom::IDENTITY3, translation: sub(cf, cm) },
    ));
    for signs in [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]] {
        let mut r = [[0.0; 3]; 3];
        for k in 0..3 {
            for i in 0..3 {
                for j in 0..3 {
                    r[i][j] += signs[k] * ef[k][i] * em[k][j];
                }
            }
        }
        if crate::geom::det(&r) < 0.0 {
            // Axes from the eigen-solver may be left-handed; flip the smallest to fix.
            for i in 0..3 {
                for j in 0..3 {
                    r[i][j] -= 2.0 * signs[2] * ef[2][i] * em[2][j];
                }
            }
        }
        let t = sub(cf, crate::geom::mat_vec(&r, cm));
        out.push((format!("principal axes {signs:?}"), Transform { rotation: r, translation: t }));
    }
    out
}

/// The distance from `p` to the tangent plane at its match.
fn plane_residual(m: &Closest, p: [f32; 3]) -> f64 {
    dot(f64v(m.normal), sub(f64v(p), f64v(m.point)))
}

/// Robust point-to-plane ICP from `start`. `exact` marks a true triangle surface (so a match
/// beyond its border can be recognised and dropped).
fn icp(
    points: &[V3],
    target: &Surface,
    start: Transform,
    max_iterations: usize,
    floor: f64,
    options: &RegisterOptions,
    exact: bool,
) -> Fit {
    let mut t = start;
    let mut last = Fit {
        transform: t,
        rms: f64::INFINITY,
        overlap: 0.0,
        iterations: 0,
        converged: false,
        score: f64::INFINITY,
    };
    let mut moved: Vec<[f32; 3]> = Vec::with_capacity(points.len());
    let mut residuals: Vec<f64> = Vec::with_capacity(points.len());
    for it in 1..=max_iterations {
        moved.clear();
        moved.extend(points.iter().map(|&p| crate::geom::f32v(t.apply(p))));
        let matches = target.closest_many(&moved);
        // Residual scale from the median absolute point-to-plane residual.
        residuals.clear();
        let usable = |c: &Closest, p: [f32; 3]| !exact || c.is_over_surface(p);
        for (c, &p) in matches.iter().zip(&moved) {
            if let Some(c) = c.filter(|c| usable(c, p)) {
                residuals.push(plane_residual(&c, p).abs());
            }
        }
        if residuals.len() < 10 {
            return last;
        }
        let n_ok = residuals.len();
        let mid = n_ok / 2;
        let median = *residuals.select_nth_unstable_by(mid, f64::total_cmp).1;
        let keep = ((1.0 - options.trim_fraction) * n_ok as f64).ceil() as usize;
        let trim_at = if keep < n_ok {
            *residuals.select_nth_unstable_by(keep, f64::total_cmp).1
        } else {
            f64::INFINITY
        };
        let c = (4.685 * 1.4826 * median).max(floor);
        let score = {
            let mut d: Vec<f64> = matches.iter().flatten().map(|m| f64::from(m.dist_sq)).collect();
            let k = (0.7 * d.len() as f64) as usize;
            if k == 0 || k >= d.len() {
                f64::INFINITY
            } else {
                d.select_nth_unstable_by(k, f64::total_cmp);
                (d[..k].iter().sum::<f64>() / k as f64).sqrt() + (points.len() - d.len()) as f64
            }
        };

        // Normal equations about the centroid of the matches, for conditioning.
        let centre = {
            let mut s = [0.0; 3];
            for &p in &moved {
                s = add(s, f64v(p));
            }
            scale(s, 1.0 / moved.len() as f64)
        };
        let mut a = [[0.0; 6]; 6];
        let mut b = [0.0; 6];
        let (mut sum_w, mut sum_r2, mut inliers) = (0.0, 0.0, 0usize);
        for (m, &p) in matches.iter().zip(&moved) {
            let Some(m) = m.filter(|m| usable(m, p)) else { continue };
            let n = f64v(m.normal);
            let rn = plane_residual(&m, p);
            let r = rn;
            if r.abs() > c || r.abs() > trim_at {
                continue;
            }
            let u = r / c;
            let w = (1.0 - u * u) * (1.0 - u * u);
            // Linearised plane residual after a small motion about the centre: rn + (ω×q)·n + t·n.
            let q = sub(f64v(p), centre);
            let j = {
                let x = cross(q, n);
                [x[0], x[1], x[2], n[0], n[1], n[2]]
            };
            for r_ in 0..6 {
                for c_ in 0..6 {
                    a[r_][c_] += w * j[r_] * j[c_];
                }
                b[r_] -= w * j[r_] * rn;
            }
            sum_w += w;
            sum_r2 += r * r;
            inliers += 1;
        }
        let rms = if inliers > 0 { (sum_r2 / inliers as f64).sqrt() } else { f64::INFINITY };
        last = Fit {
            transform: t,
            rms,
            overlap: inliers as f64 / points.len() as f64,
            iterations: it,
            converged: false,
            score,
        };
        if sum_w <= 0.0 {
            return last;
        }
        let Some(x) = solve6(&a, &b) else { return last };
        let step = Transform::from_rotation_vector([x[0], x[1], x[2]], [0.0; 3]);
        // Rotate about the centre, then translate.
        let about = Transform {
            rotation: step.rotation,
            translation: add(sub(centre, step.apply_vector(centre)), [x[3], x[4], x[5]]),
        };
        t = about.compose(&t);
        let angle = norm([x[0], x[1], x[2]]).to_degrees();
        let shift = norm([x[3], x[4], x[5]]);
        if angle < 1e-4 && shift < 1e-4 {
            last.transform = t;
            last.converged = true;
            return last;
        }
        last.transform = t;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use facevault_synthface::{generate, nasal_dorsum_reduction, FaceParams, RigidMotion};

    fn to_transform(m: &RigidMotion) -> Transform {
        Transform { rotation: m.rotation, translation: m.translation }
    }

    /// RMS over `points` of the gap between two transforms, and the angle between them.
    fn error(got: &Transform, want: &Transform, points: &[[f32; 3]]) -> (f64, f64) {
        let sq: f64 =
            points.iter().map(|&p| norm(sub(got.apply(f64v(p)), want.apply(f64v(p)))).powi(2)).sum();
        ((sq / points.len() as f64).sqrt(), got.compose(&want.inverse()).angle_degrees())
    }

    #[test]
    fn recovers_a_rigid_motion_despite_a_dorsum_reduction() {
        let pre = generate(&FaceParams::default(), 30_000);
        let motion = RigidMotion::random(7, 15.0, 20.0);
        let post = nasal_dorsum_reduction(&pre, 2.0, 6.0).transformed(&motion);
        let surface = Surface::new(&pre.mesh);
        let reg = register(
            post.mesh.positions(),
            None,
            pre.mesh.positions(),
            &surface,
            &RegisterOptions::default(),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let (rms, angle) = error(&reg.transform, &to_transform(&motion.inverse()), post.mesh.positions());
        assert!(rms < 0.05 && angle < 0.05, "rms {rms} mm, angle {angle}°, {reg:?}");
        assert!(reg.converged && reg.overlap > 0.8 && reg.rms_mm < 0.2, "{reg:?}");
    }

    #[test]
    fn different_shapes_are_reported_as_a_failure() {
        // A face against a flat plate: nothing fits, and that must be an error.
        let pre = generate(&FaceParams::default(), 5_000);
        let plate: Vec<[f32; 3]> =
            (0..4000).map(|i| [(i % 80) as f32 * 2.0 - 80.0, (i / 80) as f32 * 4.0 - 100.0, 60.0]).collect();
        let surface = Surface::new(&pre.mesh);
        let got = register(&plate, None, pre.mesh.positions(), &surface, &RegisterOptions::default());
        assert!(matches!(got, Err(AnalysisError::PoorAlignment { .. })), "{got:?}");
    }

    #[test]
    fn a_sphere_mask_marks_the_points_inside_any_sphere() {
        let points = [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 20.0, 0.0]];
        assert_eq!(sphere_mask(&points, &[]), None);
        let spheres = [[0.0, 0.0, 0.0, 3.0], [0.0, 21.0, 0.0, 1.5]];
        assert_eq!(sphere_mask(&points, &spheres), Some(vec![true, true, false, true]));
    }

    #[test]
    fn mask_of_the_wrong_length_is_refused() {
        let pre = generate(&FaceParams::default(), 2_000);
        let surface = Surface::new(&pre.mesh);
        let got = register(
            pre.mesh.positions(),
            Some(&[true; 3]),
            pre.mesh.positions(),
            &surface,
            &RegisterOptions::default(),
        );
        assert!(matches!(got, Err(AnalysisError::MaskLength { got: 3, .. })));
    }
}
