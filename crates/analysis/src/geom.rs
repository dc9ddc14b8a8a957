//! Small fixed-size linear algebra in f64: 3-vectors, rigid transforms, planes, the symmetric
//! 3x3 eigen-decomposition behind PCA, and the 6x6 solve behind point-to-plane ICP.
//!
//! Hand-written rather than pulled from a linear-algebra crate: these few routines are all the
//! analysis needs, and they keep compile times short.

use serde::{Deserialize, Serialize};

pub type V3 = [f64; 3];

pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
pub fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
pub fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
pub fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}
/// `a` scaled to unit length, or `None` for a zero or non-finite vector.
pub fn unit(a: V3) -> Option<V3> {
    let n = norm(a);
    (n > 1e-300 && n.is_finite()).then(|| scale(a, 1.0 / n))
}
pub fn f64v(p: [f32; 3]) -> V3 {
    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
}
pub fn f32v(p: V3) -> [f32; 3] {
    [p[0] as f32, p[1] as f32, p[2] as f32]
}

pub type M3 = [[f64; 3]; 3];

pub const IDENTITY3: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

pub fn mat_vec(m: &M3, v: V3) -> V3 {
    [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
}
pub fn mat_mul(a: &M3, b: &M3) -> M3 {
    let mut c = [[0.0; 3]; 3];
    for (i, row) in c.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}
pub fn transpose(m: &M3) -> M3 {
    [[m[0][0], m[1][0], m[2][0]], [m[0][1], m[1][1], m[2][1]], [m[0][2], m[1][2], m[2][2]]]
}
pub fn det(m: &M3) -> f64 {
    dot(m[0], cross(m[1], m[2]))
}

/// p ↦ R·p + t. R is orthonormal; `det R` is +1 for a rigid motion and -1 for the improper
/// transforms symmetry analysis works with (a reflection composed with a motion).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    /// Row-major rotation (or improper orthonormal) matrix.
    pub rotation: M3,
    /// Translation in mm.
    pub translation: V3,
}

impl Default for Transform {
    fn default() -> Self {
        Transform::IDENTITY
    }
}

impl Transform {
    pub const IDENTITY: Transform = Transform { rotation: IDENTITY3, translation: [0.0; 3] };

    pub fn apply(&self, p: V3) -> V3 {
        add(mat_vec(&self.rotation, p), self.translation)
    }
    pub fn apply_vector(&self, v: V3) -> V3 {
        mat_vec(&self.rotation, v)
    }
    pub fn apply_f32(&self, p: [f32; 3]) -> [f32; 3] {
        f32v(self.apply(f64v(p)))
    }
    /// `self ∘ first`: apply `first`, then `self`.
    pub fn compose(&self, first: &Transform) -> Transform {
        Transform {
            rotation: mat_mul(&self.rotation, &first.rotation),
            translation: self.apply(first.translation),
        }
    }
    pub fn inverse(&self) -> Transform {
        let rt = transpose(&self.rotation);
        Transform { rotation: rt, translation: scale(mat_vec(&rt, self.translation), -1.0) }
    }
    /// Rotation angle in degrees (meaningful for a proper rotation).
    pub fn angle_degrees(&self) -> f64 {
        // atan2 of sine and cosine stays accurate near 0, where acos of the trace does not.
        let r = &self.rotation;
        let c = (r[0][0] + r[1][1] + r[2][2] - 1.0) / 2.0;
        let s = 0.5 * norm([r[2][1] - r[1][2], r[0][2] - r[2][0], r[1][0] - r[0][1]]);
        s.atan2(c).to_degrees()
    }
    /// The 4x4 homogeneous matrix, row-major, for reports.
    pub fn matrix4(&self) -> [[f64; 4]; 4] {
        let r = &self.rotation;
        let t = self.translation;
        [
            [r[0][0], r[0][1], r[0][2], t[0]],
            [r[1][0], r[1][1], r[1][2], t[1]],
            [r[2][0], r[2][1], r[2][2], t[2]],
            [0.0, 0.0, 0.0, 1.0],
        ]
    }
    /// The small motion exp([w]×)·p + t for a rotation vector `w` (radians), by Rodrigues.
    pub fn from_rotation_vector(w: V3, t: V3) -> Transform {
        let theta = norm(w);
        if theta < 1e-15 {
            return Transform { rotation: IDENTITY3, translation: t };
        }
        let [x, y, z] = scale(w, 1.0 / theta);
        let (s, c) = theta.sin_cos();
        let k = 1.0 - c;
        let rotation = [
            [c + x * x * k, x * y * k - z * s, x * z * k + y * s],
            [y * x * k + z * s, c + y * y * k, y * z * k - x * s],
            [z * x * k - y * s, z * y * k + x * s, c + z * z * k],
        ];
        Transform { rotation, translation: t }
    }
}

/// A plane n·p = offset, with `normal` unit length.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plane {
    pub normal: V3,
    /// Signed distance of the plane from the origin along `normal`, mm.
    pub offset: f64,
}

impl Plane {
    pub fn signed_distance(&self, p: V3) -> f64 {
        dot(self.normal, p) - self.offset
    }
    pub fn reflect(&self, p: V3) -> V3 {
        sub(p, scale(self.normal, 2.0 * self.signed_distance(p)))
    }
    /// Reflection through this plane as an (improper) transform.
    pub fn reflection(&self) -> Transform {
        let n = self.normal;
        let mut r = IDENTITY3;
        for (i, row) in r.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x -= 2.0 * n[i] * n[j];
            }
        }
        Transform { rotation: r, translation: scale(n, 2.0 * self.offset) }
    }
    /// Angle between the planes' normals in degrees, ignoring orientation.
    pub fn angle_degrees(&self, other: &Plane) -> f64 {
        dot(self.normal, other.normal).abs().clamp(0.0, 1.0).acos().to_degrees()
    }
    /// The same plane with its normal pointing along `towards` (flips normal and offset).
    pub fn oriented(self, towards: V3) -> Plane {
        if dot(self.normal, towards) < 0.0 {
            Plane { normal: scale(self.normal, -1.0), offset: -self.offset }
        } else {
            self
        }
    }
}

/// Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations: eigenvalues in
/// descending order and the matching unit eigenvectors (as rows).
pub fn symmetric_eigen(a: &M3) -> ([f64; 3], M3) {
    let mut m = *a;
    let mut v = IDENTITY3; // columns are eigenvectors
    for _sweep in 0..50 {
        let off = m[0][1] * m[0][1] + m[0][2] * m[0][2] + m[1][2] * m[1][2];
        let scale_sq: f64 = (0..3).map(|i| m[i][i] * m[i][i]).sum::<f64>() + off;
        if off <= 1e-30 * scale_sq.max(1e-300) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if m[p][q].abs() < 1e-300 {
                continue;
            }
            let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            // m ← Jᵀ m J with J the rotation in the (p, q) plane.
            for k in 0..3 {
                let (mkp, mkq) = (m[k][p], m[k][q]);
                m[k][p] = c * mkp - s * mkq;
                m[k][q] = s * mkp + c * mkq;
            }
            for k in 0..3 {
                let (mpk, mqk) = (m[p][k], m[q][k]);
                m[p][k] = c * mpk - s * mqk;
                m[q][k] = s * mpk + c * mqk;
            }
            for row in v.iter_mut() {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    let mut order = [0usize, 1, 2];
    order.sort_by(|&i, &j| m[j][j].total_cmp(&m[i][i]));
    let values = [m[order[0]][order[0]], m[order[1]][order[1]], m[order[2]][order[2]]];
    let vectors = [
        [v[0][order[0]], v[1][order[0]], v[2][order[0]]],
        [v[0][order[1]], v[1][order[1]], v[2][order[1]]],
        [v[0][order[2]], v[1][order[2]], v[2][order[2]]],
    ];
    (values, vectors)
}

/// Solves the symmetric positive-definite system A·x = b (6x6) by Cholesky; `None` if A is not
/// positive definite enough to trust (degenerate geometry, e.g. a plane sliding on itself).
pub fn solve6(a: &[[f64; 6]; 6], b: &[f64; 6]) -> Option<[f64; 6]> {
    let mut l = [[0.0; 6]; 6];
    let max_diag = (0..6).map(|i| a[i][i]).fold(0.0, f64::max);
    for i in 0..6 {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 1e-12 * max_diag {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = [0.0; 6];
    for i in 0..6 {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; 6];
    for i in (0..6).rev() {
        x[i] = (y[i] - (i + 1..6).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Principal axes of a point set: centroid, variances (descending) and unit axes (rows).
pub fn principal_axes(points: impl Iterator<Item = V3> + Clone) -> Option<(V3, [f64; 3], M3)> {
    let mut n = 0usize;
    let mut c = [0.0; 3];
    for p in points.clone() {
        c = add(c, p);
        n += 1;
    }
    if n < 3 {
        return None;
    }
    c = scale(c, 1.0 / n as f64);
    let mut cov = [[0.0; 3]; 3];
    for p in points {
        let d = sub(p, c);
        for i in 0..3 {
            for j in 0..3 {
                cov[i][j] += d[i] * d[j];
            }
        }
    }
    for row in cov.iter_mut() {
        for x in row.iter_mut() {
            *x /= n as f64;
        }
    }
    let (values, axes) = symmetric_eigen(&cov);
    Some((c, values, axes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_recovers_a_rotated_diagonal() {
        let r = Transform::from_rotation_vector([0.3, -0.7, 0.2], [0.0; 3]).rotation;
        let d = [[9.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 1.0]];
        let a = mat_mul(&mat_mul(&r, &d), &transpose(&r));
        let (vals, vecs) = symmetric_eigen(&a);
        assert!(
            (vals[0] - 9.0).abs() < 1e-12 && (vals[1] - 4.0).abs() < 1e-12 && (vals[2] - 1.0).abs() < 1e-12
        );
        for (k, v) in vecs.iter().enumerate() {
            let col = [r[0][k], r[1][k], r[2][k]];
            assert!((dot(*v, col).abs() - 1.0).abs() < 1e-12, "axis {k}");
        }
    }

    #[test]
    fn cholesky_solves_and_refuses_singular() {
        let mut a = [[0.0; 6]; 6];
        for i in 0..6 {
            for j in 0..6 {
                a[i][j] = if i == j { 10.0 + i as f64 } else { 1.0 / (1.0 + (i + j) as f64) };
            }
        }
        let x = [1.0, -2.0, 3.0, 0.5, 0.0, -1.0];
        let b: [f64; 6] = std::array::from_fn(|i| (0..6).map(|j| a[i][j] * x[j]).sum());
        let got = solve6(&a, &b).unwrap_or_default();
        assert!((0..6).all(|i| (got[i] - x[i]).abs() < 1e-12));
        a[5] = [0.0; 6];
        assert!(solve6(&a, &b).is_none());
    }

    #[test]
    fn transform_compose_inverse_and_reflection() {
        let m = Transform::from_rotation_vector([0.1, 0.2, -0.3], [4.0, -5.0, 6.0]);
        let p = [1.0, 2.0, 3.0];
        let back = m.inverse().apply(m.apply(p));
        assert!(norm(sub(back, p)) < 1e-12);
        let plane = Plane { normal: [0.0, 1.0, 0.0], offset: 2.0 };
        assert!(norm(sub(plane.reflection().apply(p), [1.0, 2.0, 3.0])) < 1e-12);
        assert!(norm(sub(plane.reflect([0.0, 5.0, 0.0]), [0.0, -1.0, 0.0])) < 1e-12);
        assert!((det(&plane.reflection().rotation) + 1.0).abs() < 1e-12);
        assert!((m.compose(&m.inverse()).angle_degrees()).abs() < 1e-6);
    }
}
