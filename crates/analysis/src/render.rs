//! Heatmap renders for reports: a small z-buffer rasterizer draws the mesh from the front, the
//! patient's left and the patient's right side by side, Lambert-shaded and coloured by a
//! per-vertex map on a diverging scale (blue negative, white zero, red positive), with a
//! labelled colour bar in mm. Output is a PNG, byte-for-byte the same for the same input.
//!
//! Orthographic views in a face frame (right = patient's left, up, forward = out of the face),
//! given or guessed from the mesh ([`face_frame`]).

use facevault_mesh::Mesh;
use serde::{Deserialize, Serialize};

use crate::geom::{add, cross, dot, f64v, principal_axes, scale, sub, unit, V3};

/// The face's own axes in the mesh's coordinates, for choosing views.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceFrame {
    pub centre: V3,
    /// Toward the patient's left (the viewer's right in a front view).
    pub right: V3,
    pub up: V3,
    /// Out of the face, toward a viewer in front.
    pub forward: V3,
}

impl FaceFrame {
    /// The synthetic-face convention: x right (patient's left), y up, z forward.
    pub const CANONICAL: FaceFrame =
        FaceFrame { centre: [0.0; 3], right: [1.0, 0.0, 0.0], up: [0.0, 1.0, 0.0], forward: [0.0, 0.0, 1.0] };
}

/// Guesses the face frame from the mesh: principal axes (height the longest, depth the
/// shortest), forward along the mean vertex normal, up away from the most anterior point (the
/// nose tip sits below the middle of a face). `sagittal_normal`, when known (from a symmetry
/// analysis), fixes the left-right axis.
pub fn face_frame(mesh: &Mesh, sagittal_normal: Option<V3>) -> FaceFrame {
    let p = mesh.positions();
    let step = (p.len() / 20_000).max(1);
    let Some((centre, _, axes)) = principal_axes(p.iter().step_by(step).map(|&q| f64v(q))) else {
        return FaceFrame::CANONICAL;
    };
    let normals = crate::surface::vertex_normals(p, mesh.triangles());
    let mut mean_n = [0.0; 3];
    for n in normals.iter().step_by(step) {
        mean_n = add(mean_n, f64v(*n));
    }
    let mut forward = axes[2];
    if dot(forward, mean_n) < 0.0 {
        forward = scale(forward, -1.0);
    }
    let mut up = axes[0];
    if let Some(n) = sagittal_normal.and_then(unit) {
        // Up is the in-plane axis orthogonal to forward.
        let f = unit(sub(forward, scale(n, dot(forward, n)))).unwrap_or(forward);
        forward = f;
        up = unit(cross(f, n)).unwrap_or(up);
    }
    let tip =
        p.iter().step_by(step).map(|&q| f64v(q)).max_by(|a, b| dot(*a, forward).total_cmp(&dot(*b, forward)));
    if tip.is_some_and(|t| dot(sub(t, centre), up) > 0.0) {
        up = scale(up, -1.0);
    }
    let right = unit(cross(up, forward)).unwrap_or([1.0, 0.0, 0.0]);
    let up = cross(forward, right);
    FaceFrame { centre, right, up, forward }
}

/// How to draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenderOptions {
    /// Size of each of the three views, pixels.
    pub view_width: u32,
    pub height: u32,
    /// The colour scale runs over [-range, +range] mm; `None` picks a round number covering
    /// the map's 99th percentile of |value|.
    pub range_mm: Option<f32>,
    /// The face frame; guessed from the mesh when `None`.
    pub frame: Option<FaceFrame>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { view_width: 360, height: 440, range_mm: None, frame: None }
    }
}

/// An RGB image, row-major, 3 bytes a pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Image {
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        (x < self.width).then(|| self.rgb.get(i..i + 3)).flatten().map(|s| [s[0], s[1], s[2]])
    }

    /// PNG-encoded bytes (8-bit RGB).
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Writing to a Vec cannot fail; the sizes match by construction.
        if let Ok(mut w) = enc.write_header() {
            let _ = w.write_image_data(&self.rgb);
        }
        out
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            if let Some(s) = self.rgb.get_mut(i..i + 3) {
                s.copy_from_slice(&c);
            }
        }
    }
}

/// Vertices without a value (e.g. beyond the other scan's border).
pub const NO_VALUE: [u8; 3] = [160, 160, 160];
const BAR_WIDTH: u32 = 96;

/// The diverging colour of `value` on [-range, +range]: blue, white at 0, red; grey for NaN.
pub fn diverging(value: f32, range: f32) -> [u8; 3] {
    if value.is_nan() {
        return NO_VALUE;
    }
    let t = (value / range.max(1e-6)).clamp(-1.0, 1.0);
    // White to saturated red (59, 76, 192 / 180, 4, 38 are the cool-warm end points).
    let (end, s) = if t >= 0.0 { ([180.0, 4.0, 38.0], t) } else { ([59.0, 76.0, 192.0], -t) };
    let c = |k: usize| (255.0 + (end[k] - 255.0) * s).round().clamp(0.0, 255.0) as u8;
    [c(0), c(1), c(2)]
}

/// A round colour-scale range covering the 99th percentile of |values| (at least 0.5 mm).
pub fn auto_range(values: &[f32]) -> f32 {
    let mut a: Vec<f32> = values.iter().filter(|v| !v.is_nan()).map(|v| v.abs()).collect();
    if a.is_empty() {
        return 1.0;
    }
    let k = (a.len() * 99 / 100).min(a.len() - 1);
    let p99 = *a.select_nth_unstable_by(k, f32::total_cmp).1;
    let steps = [0.5f32, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0];
    steps.iter().copied().find(|&s| s >= p99).unwrap_or(50.0)
}

/// Renders `mesh` coloured by `values` (one per vertex; NaN drawn grey): front, patient's
/// left and patient's right, plus the colour bar.
pub fn render_map(mesh: &Mesh, values: &[f32], options: &RenderOptions) -> Image {
    let range = options.range_mm.filter(|r| *r > 0.0 && r.is_finite()).unwrap_or_else(|| auto_range(values));
    let f = options.frame.unwrap_or_else(|| face_frame(mesh, None));
    let (vw, h) = (options.view_width.max(16), options.height.max(16));
    let width = 3 * vw + BAR_WIDTH;
    let mut img = Image { width, height: h, rgb: vec![255; (width * h * 3) as usize] };
    // (camera direction, screen right) for front, patient's left, patient's right.
    let views = [(f.forward, f.right), (f.right, scale(f.forward, -1.0)), (scale(f.right, -1.0), f.forward)];
    let points: Vec<V3> = mesh.positions().iter().map(|&p| sub(f64v(p), f.centre)).collect();
    // One scale for all views, fitting the largest extent.
    let mut extent: f64 = 1e-6;
    for (_, right) in &views {
        for p in &points {
            extent = extent.max(dot(*p, *right).abs()).max(dot(*p, f.up).abs());
        }
    }
    let px_per_mm = 0.45 * f64::from(vw.min(h)) / extent;
    let normals = crate::surface::vertex_normals(mesh.positions(), mesh.triangles());
    let colours: Vec<[f32; 3]> = (0..points.len())
        .map(|i| diverging(values.get(i).copied().unwrap_or(f32::NAN), range).map(f32::from))
        .collect();
    for (k, (cam, right)) in views.iter().enumerate() {
        let light = unit(add(*cam, scale(f.up, 0.4))).unwrap_or(*cam);
        let x0 = f64::from(k as u32 * vw) + f64::from(vw) / 2.0;
        let y0 = f64::from(h) / 2.0;
        let screen: Vec<[f64; 3]> = points
            .iter()
            .map(|p| [x0 + dot(*p, *right) * px_per_mm, y0 - dot(*p, f.up) * px_per_mm, dot(*p, *cam)])
            .collect();
        let shade: Vec<f32> =
            normals.iter().map(|n| (0.4 + 0.6 * dot(f64v(*n), light).abs()) as f32).collect();
        raster(&mut img, mesh.triangles(), &screen, &colours, &shade, (k as u32 * vw, (k as u32 + 1) * vw));
    }
    colour_bar(&mut img, 3 * vw, range);
    img
}

/// Draws triangles into columns `cols` of `img` with a z-buffer (larger depth is nearer).
fn raster(
    img: &mut Image,
    tris: &[[u32; 3]],
    s: &[[f64; 3]],
    col: &[[f32; 3]],
    shade: &[f32],
    cols: (u32, u32),
) {
    let (w, h) = ((cols.1 - cols.0) as usize, img.height as usize);
    let mut z = vec![f64::NEG_INFINITY; w * h];
    for t in tris {
        let [Some(a), Some(b), Some(c)] = t.map(|i| s.get(i as usize)) else { continue };
        let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if area.abs() < 1e-12 {
            continue;
        }
        let xmin = a[0].min(b[0]).min(c[0]).ceil().max(f64::from(cols.0)) as i64;
        let xmax = a[0].max(b[0]).max(c[0]).floor().min(f64::from(cols.1) - 1.0) as i64;
        let ymin = a[1].min(b[1]).min(c[1]).ceil().max(0.0) as i64;
        let ymax = a[1].max(b[1]).max(c[1]).floor().min(h as f64 - 1.0) as i64;
        for y in ymin..=ymax {
            for x in xmin..=xmax {
                let (px, py) = (x as f64, y as f64);
                let w0 = ((b[0] - px) * (c[1] - py) - (b[1] - py) * (c[0] - px)) / area;
                let w1 = ((c[0] - px) * (a[1] - py) - (c[1] - py) * (a[0] - px)) / area;
                let w2 = 1.0 - w0 - w1;
                if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                    continue;
                }
                let depth = w0 * a[2] + w1 * b[2] + w2 * c[2];
                let zi = y as usize * w + (x as usize - cols.0 as usize);
                if z.get(zi).is_none_or(|&old| depth <= old) {
                    continue;
                }
                z[zi] = depth;
                let idx = t.map(|i| i as usize);
                let ws = [w0 as f32, w1 as f32, w2 as f32];
                let mut rgb = [0.0f32; 3];
                let mut sh = 0.0f32;
                for v in 0..3 {
                    let (cv, sv) = (
                        col.get(idx[v]).copied().unwrap_or([0.0; 3]),
                        shade.get(idx[v]).copied().unwrap_or(1.0),
                    );
                    sh += ws[v] * sv;
                    for k in 0..3 {
                        rgb[k] += ws[v] * cv[k];
                    }
                }
                img.set(x, y, rgb.map(|c| (c * sh).round().clamp(0.0, 255.0) as u8));
            }
        }
    }
}

fn colour_bar(img: &mut Image, x0: u32, range: f32) {
    let h = img.height as i64;
    let (top, bottom) = (40i64, h - 40);
    let x = i64::from(x0) + 12;
    for y in top..=bottom {
        let t = 1.0 - 2.0 * (y - top) as f32 / (bottom - top).max(1) as f32;
        let c = diverging(t * range, range);
        for dx in 0..16 {
            img.set(x + dx, y, c);
        }
    }
    for i in 0..=4 {
        let t = 1.0 - i as f32 / 2.0;
        let y = top + (bottom - top) * i / 4;
        for dx in 16..20 {
            img.set(x + dx, y, [0, 0, 0]);
        }
        let v = t * range;
        let label = if v == 0.0 { "0".to_string() } else { format!("{v:+.1}") };
        text(img, x + 26, y - 4, &label);
    }
    text(img, x, top - 24, "mm");
}

/// 8x8 bitmap text in black.
fn text(img: &mut Image, x: i64, y: i64, s: &str) {
    for (i, ch) in s.chars().enumerate() {
        let Some(glyph) = font8x8::legacy::BASIC_LEGACY.get(ch as usize) else { continue };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits >> col & 1 == 1 {
                    img.set(x + (i as i64) * 8 + col, y + row as i64, [0, 0, 0]);
                }
            }
        }
    }
}

/// Per-vertex RGBA colours of a map, for a coloured PLY that MeshLab and Blender show.
pub fn vertex_colours(values: &[f32], range: f32) -> Vec<[u8; 4]> {
    values
        .iter()
        .map(|&v| {
            let [r, g, b] = diverging(v, range);
            [r, g, b, 255]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compare, CompareOptions};
    use facevault_synthface::{generate, nasal_dorsum_reduction, FaceParams};

    /// Pixels whose colour is clearly not grey (shaded white is grey; the map's hues are not).
    fn coloured(img: &Image, blue: bool) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for y in 0..img.height {
            for x in 0..img.width - BAR_WIDTH {
                let [r, g, b] = img.pixel(x, y).unwrap_or_default();
                let spread = r.max(g).max(b) - r.min(g).min(b);
                if spread > 40 && (b > r) == blue {
                    out.push((x, y));
                }
            }
        }
        out
    }

    #[test]
    fn render_is_deterministic_and_colours_the_deformed_region() {
        let pre = generate(&FaceParams::default(), 20_000);
        let post = nasal_dorsum_reduction(&pre, 2.0, 6.0);
        let got = compare(&pre.mesh, &post.mesh, None, &CompareOptions::default(), &mut |_| {})
            .unwrap_or_else(|e| unreachable!("{e}"));
        let options = RenderOptions { range_mm: Some(2.0), ..RenderOptions::default() };
        let a = render_map(&got.aligned_post, &got.distances, &options);
        if let Ok(dir) = std::env::var("FACEVAULT_RENDER_OUT") {
            let _ = std::fs::write(format!("{dir}/compare-test.png"), a.to_png());
        }
        let b = render_map(&got.aligned_post, &got.distances, &options);
        assert_eq!(a.to_png(), b.to_png());
        assert_eq!(&a.to_png()[1..4], b"PNG");
        // The truth: vertices the deformation moved, drawn at full scale.
        let moved: Vec<f32> =
            post.displacement.iter().map(|d| if d[2] < -0.05 { -2.0 } else { 0.0 }).collect();
        let truth = render_map(&got.aligned_post, &moved, &options);
        let truth_px: std::collections::HashSet<(u32, u32)> = coloured(&truth, true).into_iter().collect();
        let blue = coloured(&a, true);
        assert!(blue.len() > 200, "only {} blue pixels", blue.len());
        assert!(blue.iter().all(|p| truth_px.contains(p)), "blue outside the deformed region");
        assert!(coloured(&a, false).len() < 10, "red where nothing grew");
        // The front view's face is not the frame's guess of sideways: the nose is mid-image.
        let front: Vec<&(u32, u32)> = blue.iter().filter(|p| p.0 < options.view_width).collect();
        let mean_x = front.iter().map(|p| f64::from(p.0)).sum::<f64>() / front.len().max(1) as f64;
        assert!((mean_x - f64::from(options.view_width) / 2.0).abs() < 10.0, "nose at x {mean_x}");
    }

    #[test]
    fn diverging_scale_end_points() {
        assert_eq!(diverging(0.0, 1.0), [255, 255, 255]);
        assert_eq!(diverging(5.0, 1.0), [180, 4, 38]);
        assert_eq!(diverging(-1.0, 1.0), [59, 76, 192]);
        assert_eq!(diverging(f32::NAN, 1.0), NO_VALUE);
        assert_eq!(auto_range(&[0.1, -1.7, f32::NAN]), 2.0);
    }

    #[test]
    fn frame_guess_matches_the_synthetic_convention() {
        let face = generate(&FaceParams::default(), 5_000);
        let f = face_frame(&face.mesh, None);
        assert!(dot(f.forward, [0.0, 0.0, 1.0]) > 0.95, "{f:?}");
        assert!(dot(f.up, [0.0, 1.0, 0.0]) > 0.95, "{f:?}");
        assert!(dot(f.right, [1.0, 0.0, 0.0]) > 0.95, "{f:?}");
    }
}
