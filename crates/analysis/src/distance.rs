//! Per-vertex maps against a reference surface and their statistics: signed closest-point
//! distance (outward = positive), displacement along a given direction, vertex areas, and the
//! summary figures a report shows (mean, RMS, extremes, percentiles, area over a threshold,
//! volume between the surfaces).
//!
//! A vertex whose closest point lies beyond the reference's border has no value: it is NaN in
//! a map and left out of every statistic.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::surface::Surface;

/// Signed distance from each point to `reference`, positive in front of it (the side its
/// normals face); NaN where the point lies beyond the reference's border.
pub fn signed_distances(reference: &Surface, points: &[[f32; 3]]) -> Vec<f32> {
    reference.closest_map(points, |p, c| match c {
        Some(c) if c.is_over_surface(p) => c.signed_distance(p),
        _ => f32::NAN,
    })
}

/// For each point p, the t with p = q + t·dir for q on `reference` (the displacement along
/// `dir` from the reference surface), taking the q nearest to p within `max_mm`; NaN where
/// the line misses. `dir` need not be unit length; t is in mm along its unit vector.
pub fn displacement_along(reference: &Surface, points: &[[f32; 3]], dir: [f64; 3], max_mm: f32) -> Vec<f32> {
    let Some(u) = crate::geom::unit(dir) else { return vec![f32::NAN; points.len()] };
    let back = crate::geom::f32v(crate::geom::scale(u, -1.0));
    points
        .par_iter()
        .with_min_len(1024)
        .map(|&p| reference.nearest_hit_along(p, back, max_mm).unwrap_or(f32::NAN))
        .collect()
}

/// A third of the area of every triangle around each vertex (mm²): the area each vertex stands
/// for when integrating a map.
pub fn vertex_areas(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Vec<f32> {
    let mut areas = vec![0.0f32; positions.len()];
    for t in triangles {
        let [a, b, c] = t.map(|i| crate::geom::f64v(positions.get(i as usize).copied().unwrap_or_default()));
        let area =
            0.5 * crate::geom::norm(crate::geom::cross(crate::geom::sub(b, a), crate::geom::sub(c, a)));
        for &i in t {
            if let Some(s) = areas.get_mut(i as usize) {
                *s += (area / 3.0) as f32;
            }
        }
    }
    areas
}

/// Summary of a per-vertex map over the vertices that have a value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapStats {
    /// Vertices with a value, and their area (mm²).
    pub vertices: usize,
    pub area_mm2: f64,
    /// Area-weighted mean and RMS, mm.
    pub mean_mm: f64,
    pub rms_mm: f64,
    pub min_mm: f64,
    pub max_mm: f64,
    /// Largest magnitude, with its sign.
    pub peak_mm: f64,
    /// 5th and 95th percentiles (by vertex), mm.
    pub p5_mm: f64,
    pub p95_mm: f64,
    /// 95th percentile of |value|, mm.
    pub p95_abs_mm: f64,
    /// Area where |value| exceeds `threshold_mm`.
    pub threshold_mm: f64,
    pub area_above_mm2: f64,
    /// Signed volume between the surfaces (∫ value dA), cubic centimetres.
    pub volume_cc: f64,
}

impl MapStats {
    /// Statistics of `values` (NaN = no value) weighted by `areas`, over the vertices where
    /// `include` is true (all when `None`). `None` when no vertex qualifies.
    pub fn of(
        values: &[f32],
        areas: &[f32],
        include: Option<&[bool]>,
        threshold_mm: f64,
    ) -> Option<MapStats> {
        let mut vals = Vec::new();
        let (mut sw, mut s1, mut s2, mut above, mut vol) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, (&v, &a)) in values.iter().zip(areas).enumerate() {
            if v.is_nan() || include.is_some_and(|m| !m.get(i).copied().unwrap_or(false)) {
                continue;
            }
            let (v, a) = (f64::from(v), f64::from(a));
            vals.push(v);
            sw += a;
            s1 += a * v;
            s2 += a * v * v;
            vol += a * v;
            if v.abs() > threshold_mm {
                above += a;
            }
        }
        if vals.is_empty() {
            return None;
        }
        let n = vals.len();
        let (mean, rms) = if sw > 0.0 {
            (s1 / sw, (s2 / sw).sqrt())
        } else {
            (vals.iter().sum::<f64>() / n as f64, (vals.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt())
        };
        let peak = vals.iter().copied().fold(0.0f64, |p, v| if v.abs() > p.abs() { v } else { p });
        let mut abs: Vec<f64> = vals.iter().map(|v| v.abs()).collect();
        vals.sort_unstable_by(f64::total_cmp);
        abs.sort_unstable_by(f64::total_cmp);
        let pct = |s: &[f64], q: f64| s[((q * (n - 1) as f64).round() as usize).min(n - 1)];
        Some(MapStats {
            vertices: n,
            area_mm2: sw,
            mean_mm: mean,
            rms_mm: rms,
            min_mm: vals[0],
            max_mm: vals[n - 1],
            peak_mm: peak,
            p5_mm: pct(&vals, 0.05),
            p95_mm: pct(&vals, 0.95),
            p95_abs_mm: pct(&abs, 0.95),
            threshold_mm,
            area_above_mm2: above,
            volume_cc: vol / 1000.0,
        })
    }
}

/// A spherical region of interest (e.g. "nose": centre at the dorsum, radius 25 mm), in the
/// coordinates of the mesh it selects vertices from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub name: String,
    pub centre: [f64; 3],
    pub radius_mm: f64,
}

impl Region {
    /// Which of `points` lie inside.
    pub fn select(&self, points: &[[f32; 3]]) -> Vec<bool> {
        let r2 = self.radius_mm * self.radius_mm;
        points
            .iter()
            .map(|&p| {
                let d = crate::geom::sub(crate::geom::f64v(p), self.centre);
                crate::geom::dot(d, d) <= r2
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_a_known_map() {
        let values = [1.0, -1.0, 2.0, f32::NAN, 0.0];
        let areas = [1.0, 1.0, 2.0, 5.0, 0.0];
        let s = MapStats::of(&values, &areas, None, 0.5).unwrap_or_else(|| unreachable!());
        assert_eq!(s.vertices, 4);
        assert!((s.area_mm2 - 4.0).abs() < 1e-12);
        assert!((s.mean_mm - 1.0).abs() < 1e-12);
        assert!((s.rms_mm - (10.0f64 / 4.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.min_mm, s.max_mm, s.peak_mm), (-1.0, 2.0, 2.0));
        assert!((s.area_above_mm2 - 4.0).abs() < 1e-12);
        assert!((s.volume_cc - 0.004).abs() < 1e-12);
        let only = MapStats::of(&values, &areas, Some(&[false, true, false, true, false]), 0.5);
        assert_eq!(only.map(|s| s.peak_mm), Some(-1.0));
        assert!(MapStats::of(&[f32::NAN], &[1.0], None, 0.5).is_none());
    }

    #[test]
    fn vertex_areas_sum_to_the_surface_area() {
        let p = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 3.0, 0.0], [0.0, 3.0, 0.0]];
        let a = vertex_areas(&p, &[[0, 1, 2], [0, 2, 3]]);
        assert!((a.iter().sum::<f32>() - 6.0).abs() < 1e-6);
        assert!((a[0] - 2.0).abs() < 1e-6 && (a[1] - 1.0).abs() < 1e-6);
    }
}
