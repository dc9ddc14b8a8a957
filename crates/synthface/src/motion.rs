//! Rigid motions (rotation then translation) and planes, in millimetres, used to pose a
//! synthetic face and to state the true answer a registration or symmetry analysis should find.

use crate::rng::SplitMix64;

/// p ↦ R·p + t, with R a proper rotation matrix (row-major) and t in mm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RigidMotion {
    pub rotation: [[f64; 3]; 3],
    pub translation: [f64; 3],
}

impl Default for RigidMotion {
    fn default() -> Self {
        RigidMotion::IDENTITY
    }
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

impl RigidMotion {
    pub const IDENTITY: RigidMotion =
        RigidMotion { rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], translation: [0.0; 3] };

    /// Rotation by `degrees` about `axis` (right-hand rule, through the origin; need not be
    /// unit length), then translation. A zero or non-finite axis or angle gives no rotation;
    /// a non-finite translation gives none.
    pub fn from_axis_angle(axis: [f64; 3], degrees: f64, translation: [f64; 3]) -> RigidMotion {
        let len = norm(axis);
        let translation = if translation.iter().all(|c| c.is_finite()) { translation } else { [0.0; 3] };
        if !(len > 0.0 && len.is_finite() && degrees.is_finite()) {
            return RigidMotion { translation, ..RigidMotion::IDENTITY };
        }
        let [x, y, z] = [axis[0] / len, axis[1] / len, axis[2] / len];
        let (s, c) = degrees.to_radians().sin_cos();
        let k = 1.0 - c;
        let rotation = [
            [c + x * x * k, x * y * k - z * s, x * z * k + y * s],
            [y * x * k + z * s, c + y * y * k, y * z * k - x * s],
            [z * x * k - y * s, z * y * k + x * s, c + z * z * k],
        ];
        RigidMotion { rotation, translation }
    }

    /// A random motion: axis uniform on the sphere, angle uniform in [0, max_degrees],
    /// translation uniform in the ball of radius `max_mm`. Deterministic for a given seed.
    pub fn random(seed: u64, max_degrees: f64, max_mm: f64) -> RigidMotion {
        let mut g = SplitMix64::new(seed);
        let axis = g.next_unit_vector();
        let angle = max_degrees * g.next_f64();
        let dir = g.next_unit_vector();
        let r = max_mm * g.next_f64().cbrt();
        RigidMotion::from_axis_angle(axis, angle, [dir[0] * r, dir[1] * r, dir[2] * r])
    }

    pub fn apply_point(&self, p: [f64; 3]) -> [f64; 3] {
        let v = self.apply_vector(p);
        [v[0] + self.translation[0], v[1] + self.translation[1], v[2] + self.translation[2]]
    }

    /// Rotates a direction (no translation).
    pub fn apply_vector(&self, v: [f64; 3]) -> [f64; 3] {
        let r = &self.rotation;
        [dot(r[0], v), dot(r[1], v), dot(r[2], v)]
    }

    pub fn inverse(&self) -> RigidMotion {
        let r = &self.rotation;
        let rt = [[r[0][0], r[1][0], r[2][0]], [r[0][1], r[1][1], r[2][1]], [r[0][2], r[1][2], r[2][2]]];
        let inv = RigidMotion { rotation: rt, translation: [0.0; 3] };
        let t = inv.apply_vector(self.translation);
        RigidMotion { rotation: rt, translation: [-t[0], -t[1], -t[2]] }
    }

    /// The motion that applies `first`, then `self` (matrix product self · first).
    pub fn compose(&self, first: &RigidMotion) -> RigidMotion {
        let a = &self.rotation;
        let b = &first.rotation;
        let mut rotation = [[0.0; 3]; 3];
        for (i, row) in rotation.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                *cell = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
            }
        }
        RigidMotion { rotation, translation: self.apply_point(first.translation) }
    }

    /// The rotation angle in degrees, in [0, 180] (accurate for small angles too).
    pub fn angle_degrees(&self) -> f64 {
        let r = &self.rotation;
        let axis = [r[2][1] - r[1][2], r[0][2] - r[2][0], r[1][0] - r[0][1]];
        let trace = r[0][0] + r[1][1] + r[2][2];
        (0.5 * norm(axis)).atan2(0.5 * (trace - 1.0)).to_degrees()
    }

    /// Root-mean-square distance between where `self` and `other` send each point: the usual
    /// way to score an estimated registration against the true one over a scan's vertices.
    /// Zero for no points.
    pub fn rms_deviation(&self, other: &RigidMotion, points: &[[f32; 3]]) -> f64 {
        if points.is_empty() {
            return 0.0;
        }
        let sum: f64 = points
            .iter()
            .map(|p| {
                let p = [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])];
                let a = self.apply_point(p);
                let b = other.apply_point(p);
                (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
            })
            .sum();
        (sum / points.len() as f64).sqrt()
    }

    /// Whether every entry is finite and the rotation is orthonormal with determinant +1
    /// (within 1e-6).
    pub fn is_rigid(&self) -> bool {
        let r = &self.rotation;
        if !r.iter().flatten().chain(self.translation.iter()).all(|c| c.is_finite()) {
            return false;
        }
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                if (dot(r[i], r[j]) - want).abs() > 1e-6 {
                    return false;
                }
            }
        }
        let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
            - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
            + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
        (det - 1.0).abs() < 1e-6
    }
}

/// The plane of points p with normal · p = offset (normal unit length).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plane {
    pub normal: [f64; 3],
    pub offset: f64,
}

impl Plane {
    /// The canonical face's mid-sagittal plane, x = 0.
    pub const MID_SAGITTAL: Plane = Plane { normal: [1.0, 0.0, 0.0], offset: 0.0 };

    /// Signed distance from `p` (positive on the side the normal points to).
    pub fn signed_distance(&self, p: [f64; 3]) -> f64 {
        dot(self.normal, p) - self.offset
    }

    /// The plane carried by a rigid motion.
    pub fn transformed(&self, motion: &RigidMotion) -> Plane {
        let normal = motion.apply_vector(self.normal);
        Plane { normal, offset: self.offset + dot(normal, motion.translation) }
    }

    /// Angle between the two planes in degrees, in [0, 90] (a plane and its flip are the same).
    pub fn angle_degrees(&self, other: &Plane) -> f64 {
        let c = dot(self.normal, other.normal).abs();
        let s = norm(cross(self.normal, other.normal));
        s.atan2(c).to_degrees()
    }

    /// Mirror a point through the plane.
    pub fn reflect(&self, p: [f64; 3]) -> [f64; 3] {
        let d = 2.0 * self.signed_distance(p);
        [p[0] - d * self.normal[0], p[1] - d * self.normal[1], p[2] - d * self.normal[2]]
    }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f64; 3], b: [f64; 3], tol: f64) -> bool {
        (0..3).all(|i| (a[i] - b[i]).abs() < tol)
    }

    #[test]
    fn axis_angle_quarter_turn_about_z() {
        let m = RigidMotion::from_axis_angle([0.0, 0.0, 2.0], 90.0, [1.0, 2.0, 3.0]);
        assert!(close(m.apply_vector([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0], 1e-15));
        assert!(close(m.apply_point([1.0, 0.0, 0.0]), [1.0, 3.0, 3.0], 1e-15));
        assert!((m.angle_degrees() - 90.0).abs() < 1e-12);
        assert!(m.is_rigid());
    }

    #[test]
    fn round_trip_is_identity() {
        for seed in 0..50 {
            let m = RigidMotion::random(seed, 30.0, 50.0);
            assert!(m.is_rigid());
            assert!(m.angle_degrees() <= 30.0 + 1e-9);
            assert!(norm(m.translation) <= 50.0 + 1e-9);
            let id = m.inverse().compose(&m);
            assert!(id.angle_degrees() < 1e-9);
            let p = [12.5, -80.0, 33.0];
            assert!(close(m.inverse().apply_point(m.apply_point(p)), p, 1e-9));
            assert!(close(m.apply_point(m.inverse().apply_point(p)), p, 1e-9));
        }
        assert_ne!(RigidMotion::random(1, 10.0, 10.0), RigidMotion::random(2, 10.0, 10.0));
        assert_eq!(RigidMotion::random(1, 10.0, 10.0), RigidMotion::random(1, 10.0, 10.0));
    }

    #[test]
    fn compose_applies_first_then_self() {
        let a = RigidMotion::from_axis_angle([1.0, 0.0, 0.0], 20.0, [0.0, 5.0, 0.0]);
        let b = RigidMotion::from_axis_angle([0.0, 1.0, 1.0], -35.0, [3.0, 0.0, -1.0]);
        let p = [4.0, -2.0, 7.0];
        assert!(close(a.compose(&b).apply_point(p), a.apply_point(b.apply_point(p)), 1e-12));
        assert!(
            (RigidMotion::from_axis_angle([0.3, 1.0, 0.0], 0.01, [0.0; 3]).angle_degrees() - 0.01).abs()
                < 1e-12
        );
    }

    #[test]
    fn degenerate_inputs_give_no_rotation() {
        assert_eq!(RigidMotion::from_axis_angle([0.0; 3], 30.0, [0.0; 3]), RigidMotion::IDENTITY);
        assert_eq!(
            RigidMotion::from_axis_angle([1.0, 0.0, 0.0], f64::NAN, [f64::INFINITY, 0.0, 0.0]),
            RigidMotion::IDENTITY
        );
        let bad = RigidMotion {
            rotation: [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation: [0.0; 3],
        };
        assert!(!bad.is_rigid());
        let mirror = RigidMotion {
            rotation: [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation: [0.0; 3],
        };
        assert!(!mirror.is_rigid());
    }

    #[test]
    fn plane_moves_with_the_motion() {
        let m = RigidMotion::random(9, 40.0, 30.0);
        let plane = Plane::MID_SAGITTAL.transformed(&m);
        for p in [[0.0, 10.0, 5.0], [0.0, -70.0, 20.0]] {
            assert!(plane.signed_distance(m.apply_point(p)).abs() < 1e-12);
        }
        let q = m.apply_point([3.0, 1.0, 2.0]);
        assert!((plane.signed_distance(q) - 3.0).abs() < 1e-12);
        assert!(close(plane.reflect(q), m.apply_point([-3.0, 1.0, 2.0]), 1e-12));
        assert!(plane.angle_degrees(&Plane::MID_SAGITTAL) > 0.0);
        let flipped =
            Plane { normal: [-plane.normal[0], -plane.normal[1], -plane.normal[2]], offset: -plane.offset };
        assert!(plane.angle_degrees(&flipped) < 1e-9);
    }
}
