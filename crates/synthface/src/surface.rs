//! The analytic face surface: a height field z = f(x, y) over a face-shaped domain, built from
//! a smooth base (a forward-curved midline profile with sideways recession) plus compactly
//! supported C2 bumps for brows, eye sockets, nose, cheeks, lips and chin.
//!
//! Every term is an even function of x, and each is evaluated at |x|, so f(-x, y) == f(x, y)
//! holds bit for bit, not just to rounding. Gradients come from forward-mode differentiation of
//! the same expressions, so normals are exact too.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::params::{FaceParams, Vertical};

/// A value with its partial derivatives in x and y (forward-mode differentiation).
#[derive(Clone, Copy, Debug, PartialEq)]
struct D {
    v: f64,
    dx: f64,
    dy: f64,
}

impl D {
    const ZERO: D = D { v: 0.0, dx: 0.0, dy: 0.0 };

    fn c(v: f64) -> D {
        D { v, dx: 0.0, dy: 0.0 }
    }
    fn var_x(v: f64) -> D {
        D { v, dx: 1.0, dy: 0.0 }
    }
    fn var_y(v: f64) -> D {
        D { v, dx: 0.0, dy: 1.0 }
    }
    /// g(self), given g's value and derivative at self.v.
    fn chain(self, g: f64, dg: f64) -> D {
        D { v: g, dx: dg * self.dx, dy: dg * self.dy }
    }
    fn sqrt(self) -> D {
        let s = self.v.max(0.0).sqrt();
        let k = if s > 0.0 { 0.5 / s } else { 0.0 };
        self.chain(s, k)
    }
}

impl Add for D {
    type Output = D;
    fn add(self, o: D) -> D {
        D { v: self.v + o.v, dx: self.dx + o.dx, dy: self.dy + o.dy }
    }
}
impl Sub for D {
    type Output = D;
    fn sub(self, o: D) -> D {
        D { v: self.v - o.v, dx: self.dx - o.dx, dy: self.dy - o.dy }
    }
}
impl Mul for D {
    type Output = D;
    fn mul(self, o: D) -> D {
        D { v: self.v * o.v, dx: self.dx * o.v + self.v * o.dx, dy: self.dy * o.v + self.v * o.dy }
    }
}
impl Div for D {
    type Output = D;
    fn div(self, o: D) -> D {
        let inv = 1.0 / o.v;
        let v = self.v * inv;
        D { v, dx: (self.dx - v * o.dx) * inv, dy: (self.dy - v * o.dy) * inv }
    }
}
impl Mul<f64> for D {
    type Output = D;
    fn mul(self, k: f64) -> D {
        D { v: self.v * k, dx: self.dx * k, dy: self.dy * k }
    }
}
impl Add<f64> for D {
    type Output = D;
    fn add(self, k: f64) -> D {
        D { v: self.v + k, ..self }
    }
}
impl Neg for D {
    type Output = D;
    fn neg(self) -> D {
        D { v: -self.v, dx: -self.dx, dy: -self.dy }
    }
}

/// Smootherstep 6u⁵ - 15u⁴ + 10u³ clamped to [0, 1]: C2 at both ends.
fn smootherstep(u: D) -> D {
    if u.v <= 0.0 {
        D::c(0.0)
    } else if u.v >= 1.0 {
        D::c(1.0)
    } else {
        let t = u.v;
        u.chain(t * t * t * (t * (6.0 * t - 15.0) + 10.0), 30.0 * t * t * (1.0 - t) * (1.0 - t))
    }
}

/// Integral of smootherstep from 0 to u, for u in [0, 1].
fn smootherstep_integral(u: f64) -> f64 {
    let u4 = u * u * u * u;
    u4 * (u * u - 3.0 * u + 2.5)
}

/// A bump amp·(1 - q)³ where q < 1 inside a (possibly rotated) ellipse; zero outside. C2.
#[derive(Clone, Copy, Debug)]
struct Bump {
    cx: f64,
    cy: f64,
    inv_rx2: f64,
    inv_ry2: f64,
    cos: f64,
    sin: f64,
    amp: f64,
    ext_x: f64,
    ext_y: f64,
    /// A left/right pair at ±cx (the -cx one mirrored); otherwise a midline bump at cx = 0.
    paired: bool,
}

impl Bump {
    fn midline(cy: f64, rx: f64, ry: f64, amp: f64) -> Bump {
        Bump::new(0.0, cy, rx, ry, 0.0, amp, false)
    }
    /// A mirror pair; `angle` (radians, counter-clockwise) is the tilt of the +x one.
    fn pair(cx: f64, cy: f64, rx: f64, ry: f64, angle: f64, amp: f64) -> Bump {
        Bump::new(cx, cy, rx, ry, angle, amp, true)
    }
    fn new(cx: f64, cy: f64, rx: f64, ry: f64, angle: f64, amp: f64, paired: bool) -> Bump {
        let (sin, cos) = angle.sin_cos();
        Bump {
            cx,
            cy,
            inv_rx2: 1.0 / (rx * rx),
            inv_ry2: 1.0 / (ry * ry),
            cos,
            sin,
            amp,
            ext_x: ((rx * cos).powi(2) + (ry * sin).powi(2)).sqrt(),
            ext_y: ((rx * sin).powi(2) + (ry * cos).powi(2)).sqrt(),
            paired,
        }
    }

    /// Adds this bump's value and gradient at (ax, y), ax = |x| >= 0.
    fn add_to(&self, acc: &mut D, ax: f64, y: f64) {
        let dv = y - self.cy;
        if dv.abs() >= self.ext_y {
            return;
        }
        let du = ax - self.cx;
        if du.abs() < self.ext_x {
            *acc = *acc + self.shape(du, dv, self.sin);
        }
        if self.paired {
            let du = ax + self.cx;
            if du.abs() < self.ext_x {
                *acc = *acc + self.shape(du, dv, -self.sin);
            }
        }
    }

    fn shape(&self, du: f64, dv: f64, sin: f64) -> D {
        let c = self.cos;
        let p = du * c + dv * sin;
        let r = dv * c - du * sin;
        let q = p * p * self.inv_rx2 + r * r * self.inv_ry2;
        if q >= 1.0 {
            return D::ZERO;
        }
        let one = 1.0 - q;
        let dq_dx = 2.0 * (p * c * self.inv_rx2 - r * sin * self.inv_ry2);
        let dq_dy = 2.0 * (p * sin * self.inv_rx2 + r * c * self.inv_ry2);
        let dval = -3.0 * self.amp * one * one;
        D { v: self.amp * one * one * one, dx: dval * dq_dx, dy: dval * dq_dy }
    }
}

/// Named design points (x >= 0 for paired ones; the patient's left is +x).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct DesignPoints {
    pub nasion_y: f64,
    pub tip_y: f64,
    pub subnasale_y: f64,
    pub stomion_y: f64,
    pub labiomental_y: f64,
    pub menton_y: f64,
    pub trichion_y: f64,
    pub endocanthion: [f64; 2],
    pub exocanthion: [f64; 2],
    pub alar: [f64; 2],
    pub cheilion: [f64; 2],
    pub zygion: [f64; 2],
}

/// The analytic surface of one face. Build it once with [`Surface::new`] and query it many
/// times; [`crate::surface_height`] and [`crate::surface_normal`] are one-off shortcuts.
#[derive(Clone, Debug)]
pub struct Surface {
    params: FaceParams,
    half_w: f64,
    half_h: f64,
    // Midline profile and sideways recession.
    mid_y0: f64,
    mid_inv_2r: f64,
    lat_depth: f64,
    // Nasal ridge.
    nose_root_y: f64,
    nose_tip_y: f64,
    nose_bottom_y: f64,
    nose_height: f64,
    nose_w_root: f64,
    nose_w_tip: f64,
    bumps: Vec<Bump>,
    points: DesignPoints,
}

// Shape of the nasal dorsum: fractions of root-to-tip length spent blending into the forehead
// and rounding into the tip; the part between is straight.
const DORSUM_ROOT_BLEND: f64 = 0.35;
const DORSUM_TIP_BLEND: f64 = 0.20;

impl Surface {
    /// The surface for these parameters (sanitized first, see [`FaceParams::sanitized`]).
    pub fn new(params: &FaceParams) -> Surface {
        let p = params.sanitized();
        let sx = p.face_width_mm / 150.0;
        let sy = p.face_height_mm / 200.0;
        let v = Vertical::new(p.face_height_mm, p.nose_length_mm);
        let len = p.nose_length_mm;
        let labiomental_y = v.menton + p.chin_height_mm;
        let nw = p.nose_width_mm;
        let alar = [0.5 * nw - 5.0, v.tip - 0.12 * len];
        let alar_rx = 0.2 * nw;
        let zygion = [46.0 * sx, -2.0 * sy];
        let bumps = vec![
            // Forehead and brows.
            Bump::midline(55.0 * sy, 50.0 * sx, 42.0 * sy, 4.0),
            Bump::pair(27.0 * sx, 35.0 * sy, 22.0 * sx, 9.0 * sy, -0.14, p.brow_prominence_mm),
            Bump::midline(34.0 * sy, 13.0 * sx, 10.0 * sy, 0.6 * p.brow_prominence_mm),
            Bump::midline(v.nasion, 10.0 * sx, 6.0 * sy, -1.5),
            // Eye sockets, with the closed lids bulging inside them.
            Bump::pair(31.0 * sx, 19.0 * sy, 19.0 * sx, 14.0 * sy, 0.0, -11.0),
            Bump::pair(31.0 * sx, 18.5 * sy, 13.5 * sx, 8.0 * sy, 0.0, 6.5),
            // Cheeks, nasolabial folds, jaw.
            Bump::pair(zygion[0], zygion[1], 24.0 * sx, 20.0 * sy, 0.3, p.cheek_fullness_mm),
            Bump::pair(36.0 * sx, -32.0 * sy, 16.0 * sx, 20.0 * sy, 0.0, 2.5),
            Bump::pair(26.0 * sx, v.stomion + 12.0 * sy, 7.0 * sx, 16.0 * sy, 0.35, -1.0),
            Bump::pair(48.0 * sx, -62.0 * sy, 14.0 * sx, 22.0 * sy, 0.0, 2.0),
            Bump::midline(-55.0 * sy, 45.0 * sx, 45.0 * sy, 6.0),
            // Alae, alar-facial grooves, dorsal hump.
            Bump::pair(alar[0], alar[1], alar_rx, 7.0 * sy, 0.0, 6.0),
            Bump::pair(alar[0] + alar_rx + 1.0, alar[1] + 1.0 * sy, 2.5, 7.0 * sy, 0.0, -1.0),
            Bump::midline(v.nasion - 0.45 * len, 6.0 * sx, 9.0 * sy, p.dorsal_hump_mm),
            // Upper lip, philtral columns, vermilion, mouth line, commissures, lower lip.
            Bump::midline(v.subnasale - 13.0 * sy, 26.0 * sx, 14.0 * sy, 4.0),
            Bump::pair(4.5 * sx, v.subnasale - 7.0 * sy, 2.2 * sx, 7.5 * sy, 0.0, 0.7),
            Bump::midline(v.stomion + 5.0 * sy, 16.0 * sx, 4.5 * sy, p.lip_fullness_mm),
            Bump::midline(v.stomion, 22.0 * sx, 2.4 * sy, -1.6),
            Bump::pair(24.0 * sx, v.stomion, 6.0 * sx, 5.0 * sy, 0.0, -1.2),
            Bump::midline(v.stomion - 6.5 * sy, 18.0 * sx, 5.5 * sy, 1.1 * p.lip_fullness_mm),
            Bump::midline(v.stomion - 8.0 * sy, 22.0 * sx, 10.0 * sy, 2.5),
            // Labiomental fold and chin.
            Bump::midline(labiomental_y, 18.0 * sx, 4.5 * sy, -2.5),
            Bump::midline(
                v.menton + 0.45 * p.chin_height_mm,
                17.0 * sx,
                0.55 * p.chin_height_mm,
                p.chin_projection_mm,
            ),
        ];
        let points = DesignPoints {
            nasion_y: v.nasion,
            tip_y: v.tip,
            subnasale_y: v.subnasale,
            stomion_y: v.stomion,
            labiomental_y,
            menton_y: v.menton,
            trichion_y: 90.0 * sy,
            endocanthion: [17.0 * sx, 18.5 * sy],
            exocanthion: [45.0 * sx, 20.0 * sy],
            alar,
            cheilion: [25.0 * sx, v.stomion],
            zygion,
        };
        Surface {
            half_w: p.face_width_mm / 2.0,
            half_h: p.face_height_mm / 2.0,
            mid_y0: 10.0 * sy,
            mid_inv_2r: 1.0 / (2.0 * 400.0 * sy),
            lat_depth: 80.0 * sx,
            nose_root_y: v.nasion + 8.0 * sy,
            nose_tip_y: v.tip,
            nose_bottom_y: v.subnasale - 1.0 * sy,
            nose_height: p.nose_projection_mm,
            nose_w_root: 8.5 * sx,
            nose_w_tip: 0.38 * nw,
            bumps,
            points,
            params: p,
        }
    }

    /// The (sanitized) parameters this surface was built from.
    pub fn params(&self) -> &FaceParams {
        &self.params
    }

    pub(crate) fn points(&self) -> &DesignPoints {
        &self.points
    }

    /// Half the width of the face domain at height `y`, or `None` above or below the face.
    /// The domain is a superellipse (exponent 3) above y = 0 for a broad forehead and a
    /// narrowing ellipse below it toward the chin.
    pub fn half_width_at(&self, y: f64) -> Option<f64> {
        let t = y / self.half_h;
        if t.is_nan() || t.abs() >= 1.0 {
            return None;
        }
        let shape =
            if t >= 0.0 { (1.0 - t * t * t).cbrt() } else { (1.0 - t * t).sqrt() * (1.0 - 0.15 * t * t) };
        Some(self.half_w * shape)
    }

    /// Whether (x, y) lies in the face domain, where [`Surface::height`] is defined.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        self.half_width_at(y).is_some_and(|w| x.abs() <= w)
    }

    /// Height z at (x, y), or `None` outside the face domain.
    pub fn height(&self, x: f64, y: f64) -> Option<f64> {
        self.contains(x, y).then(|| self.eval(x, y).0)
    }

    /// Outward (anterior, +z-facing) unit normal at (x, y), or `None` outside the domain.
    pub fn normal(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        self.contains(x, y).then(|| normal_from_gradient(self.eval(x, y).1))
    }

    /// Height and gradient [dz/dx, dz/dy] at (x, y), with no domain check: the formula extends
    /// smoothly a little beyond the domain and stays finite everywhere.
    pub fn height_and_gradient(&self, x: f64, y: f64) -> (f64, [f64; 2]) {
        self.eval(x, y)
    }

    fn eval(&self, x: f64, y: f64) -> (f64, [f64; 2]) {
        let ax = x.abs();
        let f = self.even_part(ax, y);
        // f is even in x, so at x = 0 its x-slope is exactly zero; elsewhere flip it for x < 0.
        let gx = if x > 0.0 {
            f.dx
        } else if x < 0.0 {
            -f.dx
        } else {
            0.0
        };
        (f.v, [gx, f.dy])
    }

    /// f(ax, y) for ax = |x|, differentiated with respect to ax and y.
    fn even_part(&self, ax: f64, y: f64) -> D {
        let xd = D::var_x(ax);
        let yd = D::var_y(y);
        // Midline profile: the face curves back gently above and below y0.
        let dy = yd + (-self.mid_y0);
        let mut f = -(dy * dy) * self.mid_inv_2r;
        // Sideways recession: an elliptical cross-section whose half-axis a(y) narrows toward
        // the jaw, so the sides fall away faster on the lower face.
        let t = yd * (1.0 / self.half_h);
        let jaw = smootherstep((-t + (-0.3)) * (1.0 / 0.6));
        let a = (D::c(1.12) - jaw * 0.22) * self.half_w;
        let u = xd / a;
        let s = (D::c(1.0) - u * u).sqrt();
        f = f - (D::c(1.0) - s) * self.lat_depth;
        f = f + self.nose_ridge(xd, y);
        for b in &self.bumps {
            b.add_to(&mut f, ax, y);
        }
        f
    }

    /// The nasal ridge: a height profile along y (rising from the root, straight along the
    /// dorsum, rounded at the tip, dropping steeply to subnasale) times a (1 - u²)³
    /// cross-section whose width grows toward the tip.
    fn nose_ridge(&self, xd: D, y: f64) -> D {
        if y >= self.nose_root_y || y <= self.nose_bottom_y {
            return D::ZERO;
        }
        let upper_len = self.nose_root_y - self.nose_tip_y;
        let t_up = (D::var_y(y) * -1.0 + self.nose_root_y) * (1.0 / upper_len);
        let width = D::c(self.nose_w_root) + smootherstep(t_up) * (self.nose_w_tip - self.nose_w_root);
        if xd.v >= width.v {
            return D::ZERO;
        }
        let profile = if y >= self.nose_tip_y {
            let (g, dg) = dorsum_profile(t_up.v);
            t_up.chain(g, dg)
        } else {
            let lower_len = self.nose_tip_y - self.nose_bottom_y;
            let t = (D::var_y(y) * -1.0 + self.nose_tip_y) * (1.0 / lower_len);
            D::c(1.0) - smootherstep(t)
        };
        let u = xd / width;
        let w = D::c(1.0) - u * u;
        profile * w * w * w * self.nose_height
    }
}

/// The dorsum height profile g(t) for t in [0, 1] from root (0) to tip (1): g' is a smooth
/// trapezoid (smootherstep ramps), so g is C3 with g(0) = 0, g(1) = 1 and zero slope at both
/// ends. Returns (g, dg/dt).
fn dorsum_profile(t: f64) -> (f64, f64) {
    let a = DORSUM_ROOT_BLEND;
    let b = DORSUM_TIP_BLEND;
    let c = 1.0 / (1.0 - 0.5 * a - 0.5 * b);
    let ss = |u: f64| u * u * u * (u * (6.0 * u - 15.0) + 10.0);
    if t <= 0.0 {
        (0.0, 0.0)
    } else if t < a {
        (c * a * smootherstep_integral(t / a), c * ss(t / a))
    } else if t <= 1.0 - b {
        (c * (0.5 * a + (t - a)), c)
    } else if t < 1.0 {
        let u = (1.0 - t) / b;
        (c * (0.5 * a + (1.0 - b - a) + b * (0.5 - smootherstep_integral(u))), c * ss(u))
    } else {
        (1.0, 0.0)
    }
}

pub(crate) fn normal_from_gradient(g: [f64; 2]) -> [f64; 3] {
    let n = [-g[0], -g[1], 1.0];
    let len = (n[0] * n[0] + n[1] * n[1] + 1.0).sqrt();
    [n[0] / len, n[1] / len, n[2] / len]
}

/// Height of the surface for `params` at (x, y), or `None` outside the face.
/// Builds a [`Surface`] each call; use [`Surface`] directly for many queries.
pub fn surface_height(params: &FaceParams, x: f64, y: f64) -> Option<f64> {
    Surface::new(params).height(x, y)
}

/// Outward unit normal of the surface for `params` at (x, y), or `None` outside the face.
pub fn surface_normal(params: &FaceParams, x: f64, y: f64) -> Option<[f64; 3]> {
    Surface::new(params).normal(x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(s: &Surface, step: f64) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let mut y = -99.5;
        while y < 100.0 {
            let mut x = -75.0;
            while x <= 75.0 {
                if s.contains(x, y) {
                    out.push((x, y));
                }
                x += step;
            }
            y += step;
        }
        out
    }

    #[test]
    fn mirror_symmetric_bit_for_bit() {
        let s = Surface::new(&FaceParams { dorsal_hump_mm: 2.0, ..FaceParams::default() });
        for (x, y) in grid(&s, 0.37) {
            let (z, g) = s.height_and_gradient(x, y);
            let (zm, gm) = s.height_and_gradient(-x, y);
            assert_eq!(z.to_bits(), zm.to_bits(), "at ({x}, {y})");
            assert_eq!(g[0], -gm[0]);
            assert_eq!(g[1], gm[1]);
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let s = Surface::new(&FaceParams::default());
        let e = 1e-5;
        let mut worst: f64 = 0.0;
        for (x, y) in grid(&s, 1.3) {
            let (_, g) = s.height_and_gradient(x, y);
            let fx = (s.height_and_gradient(x + e, y).0 - s.height_and_gradient(x - e, y).0) / (2.0 * e);
            let fy = (s.height_and_gradient(x, y + e).0 - s.height_and_gradient(x, y - e).0) / (2.0 * e);
            worst = worst.max((fx - g[0]).abs()).max((fy - g[1]).abs());
        }
        assert!(worst < 1e-5, "worst gradient error {worst}");
    }

    /// Largest slope change between samples `step` apart along lines across the whole face,
    /// divided by the step. Lines are walked densely, so every feature edge is crossed.
    fn steepest_slope_change(s: &Surface, step: f64) -> f64 {
        let mut worst: f64 = 0.0;
        let mut walk = |start: (f64, f64), dir: (f64, f64)| {
            let mut prev: Option<[f64; 2]> = None;
            for i in 0..(200.0 / step) as usize {
                let (x, y) = (start.0 + dir.0 * step * i as f64, start.1 + dir.1 * step * i as f64);
                if !s.contains(x, y) {
                    prev = None;
                    continue;
                }
                let (_, g) = s.height_and_gradient(x, y);
                if let Some(p) = prev {
                    worst = worst.max(((g[0] - p[0]).abs() + (g[1] - p[1]).abs()) / step);
                }
                prev = Some(g);
            }
        };
        for x in [0.0, 3.0, 8.0, 12.0, 17.0, 24.0, 31.0, 46.0, 60.0] {
            walk((x, -100.0), (0.0, 1.0));
        }
        for y in [-90.0, -80.0, -67.0, -57.0, -50.5, -45.0, -31.0, -27.0, -21.0, 0.0, 19.0, 27.0, 35.0, 55.0]
        {
            walk((-75.0, y), (1.0, 0.0));
        }
        worst
    }

    #[test]
    fn smooth_c1_across_feature_boundaries() {
        // A slope that jumps anywhere (a C0 seam) would make this ratio grow as the step
        // shrinks; for a C1 surface it stays bounded by the curvature.
        let s = Surface::new(&FaceParams::default());
        let coarse = steepest_slope_change(&s, 0.008);
        let fine = steepest_slope_change(&s, 0.002);
        assert!(coarse < 5.0, "slope changes by {coarse}/mm");
        assert!(fine < 1.2 * coarse, "slope jumps: {fine}/mm at 2 µm vs {coarse}/mm at 8 µm");
    }

    #[test]
    fn dorsum_profile_is_continuous_and_monotone() {
        let mut prev = 0.0;
        for i in 0..=1000 {
            let t = i as f64 / 1000.0;
            let (g, dg) = dorsum_profile(t);
            assert!(g >= prev - 1e-15 && dg >= 0.0);
            assert!(g - prev < 2e-3, "jump at {t}");
            prev = g;
        }
        assert!((dorsum_profile(1.0).0 - 1.0).abs() < 1e-12);
        let (g, _) = dorsum_profile(1.0 - 1e-9);
        assert!((g - 1.0).abs() < 1e-8);
    }

    #[test]
    fn domain_is_face_sized() {
        let s = Surface::new(&FaceParams::default());
        assert_eq!(s.half_width_at(0.0), Some(75.0));
        assert!(s.half_width_at(100.0).is_none() && s.half_width_at(f64::NAN).is_none());
        assert!(s.contains(0.0, 99.0) && s.contains(0.0, -99.0) && !s.contains(76.0, 0.0));
        assert!(s.height(80.0, 0.0).is_none());
        let n = s.normal(0.0, 0.0).unwrap_or([0.0; 3]);
        assert!((n[0] * n[0] + n[1] * n[1] + n[2] * n[2] - 1.0).abs() < 1e-12);
    }
}
