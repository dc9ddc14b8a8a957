//! Shape parameters of a synthetic face: defaults describe an average adult, and
//! [`FaceParams::sanitized`] clamps every value into the range the generator is built for.

/// Named shape parameters, all in millimetres. [`FaceParams::default`] is an average adult
/// face 150 mm wide and 200 mm tall (chin to top of forehead).
///
/// Vertical feature positions scale with `face_height_mm` and lateral ones with
/// `face_width_mm`; the other lengths and heights are absolute. Out-of-range or non-finite
/// values are clamped (see [`FaceParams::sanitized`]) rather than rejected, so generation never
/// fails; a generated [`crate::SynthFace`] records the values actually used.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceParams {
    /// Widest extent of the mask in x. Range 100..=220.
    pub face_width_mm: f64,
    /// Extent of the mask in y, chin to top of forehead. Range 140..=280.
    pub face_height_mm: f64,
    /// Vertical distance from nasion down to the nose tip. Range 0.18..=0.28 × face height.
    pub nose_length_mm: f64,
    /// Height of the nasal ridge above the underlying face at the tip. Range 15..=45.
    pub nose_projection_mm: f64,
    /// Alar base width (both alae). Range 20..=50.
    pub nose_width_mm: f64,
    /// Extra height at mid-dorsum; negative gives a scooped (saddle) dorsum. Range -3..=6.
    pub dorsal_hump_mm: f64,
    /// Height of the supraorbital ridges. Range 0..=12.
    pub brow_prominence_mm: f64,
    /// Height of the malar (cheekbone) prominences. Range 0..=15.
    pub cheek_fullness_mm: f64,
    /// Forward projection of the soft-tissue chin. Range 0..=20.
    pub chin_projection_mm: f64,
    /// Labiomental fold to menton. Range 0.10..=0.20 × face height, and at least 12 mm (scaled)
    /// below the mouth.
    pub chin_height_mm: f64,
    /// Height of the lip vermilion. Range 0..=8.
    pub lip_fullness_mm: f64,
    /// Standard deviation of simulated scanner noise along the surface normal (0 = none; noise
    /// breaks the exact mirror symmetry). Range 0..=2.
    pub noise_mm: f64,
    /// Largest in-plane random offset of each vertex off the regular grid (0 = none), so that a
    /// mirror image's vertices do not coincide with the original's. Clamped to 0.3 × grid
    /// spacing so no triangle folds over; vertices still lie exactly on the surface.
    pub jitter_mm: f64,
    /// Seed for noise and jitter.
    pub seed: u64,
}

impl Default for FaceParams {
    fn default() -> Self {
        FaceParams {
            face_width_mm: 150.0,
            face_height_mm: 200.0,
            nose_length_mm: 48.0,
            nose_projection_mm: 26.0,
            nose_width_mm: 34.0,
            dorsal_hump_mm: 0.0,
            brow_prominence_mm: 5.0,
            cheek_fullness_mm: 6.0,
            chin_projection_mm: 8.0,
            chin_height_mm: 29.0,
            lip_fullness_mm: 3.0,
            noise_mm: 0.0,
            jitter_mm: 0.0,
            seed: 0,
        }
    }
}

/// Vertical layout of the nose and mouth in mm, shared by clamping and the surface.
pub(crate) struct Vertical {
    pub nasion: f64,
    pub tip: f64,
    pub subnasale: f64,
    pub stomion: f64,
    pub menton: f64,
}

impl Vertical {
    pub(crate) fn new(face_height: f64, nose_length: f64) -> Vertical {
        let sy = face_height / 200.0;
        let nasion = 27.0 * sy;
        let tip = nasion - nose_length;
        let subnasale = tip - 0.22 * nose_length;
        Vertical { nasion, tip, subnasale, stomion: subnasale - 19.0 * sy, menton: -96.0 * sy }
    }
}

fn clamp_or(value: f64, lo: f64, hi: f64, default: f64) -> f64 {
    let v = if value.is_finite() { value } else { default };
    v.clamp(lo, hi.max(lo))
}

impl FaceParams {
    /// These parameters with every value clamped into its documented range (non-finite values
    /// become the default first). Generation always works on sanitized parameters.
    pub fn sanitized(&self) -> FaceParams {
        let d = FaceParams::default();
        let w = clamp_or(self.face_width_mm, 100.0, 220.0, d.face_width_mm);
        let h = clamp_or(self.face_height_mm, 140.0, 280.0, d.face_height_mm);
        let sy = h / 200.0;
        let nose_length = clamp_or(self.nose_length_mm, 0.18 * h, 0.28 * h, d.nose_length_mm * sy);
        let v = Vertical::new(h, nose_length);
        // The labiomental fold must stay below the lower lip.
        let chin_max = (0.20 * h).min(v.stomion - 12.0 * sy - v.menton);
        FaceParams {
            face_width_mm: w,
            face_height_mm: h,
            nose_length_mm: nose_length,
            nose_projection_mm: clamp_or(self.nose_projection_mm, 15.0, 45.0, d.nose_projection_mm),
            nose_width_mm: clamp_or(self.nose_width_mm, 20.0, 50.0, d.nose_width_mm),
            dorsal_hump_mm: clamp_or(self.dorsal_hump_mm, -3.0, 6.0, d.dorsal_hump_mm),
            brow_prominence_mm: clamp_or(self.brow_prominence_mm, 0.0, 12.0, d.brow_prominence_mm),
            cheek_fullness_mm: clamp_or(self.cheek_fullness_mm, 0.0, 15.0, d.cheek_fullness_mm),
            chin_projection_mm: clamp_or(self.chin_projection_mm, 0.0, 20.0, d.chin_projection_mm),
            chin_height_mm: clamp_or(self.chin_height_mm, 0.10 * h, chin_max, d.chin_height_mm * sy),
            lip_fullness_mm: clamp_or(self.lip_fullness_mm, 0.0, 8.0, d.lip_fullness_mm),
            noise_mm: clamp_or(self.noise_mm, 0.0, 2.0, 0.0),
            jitter_mm: clamp_or(self.jitter_mm, 0.0, f64::MAX, 0.0),
            seed: self.seed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_already_sanitized() {
        assert_eq!(FaceParams::default().sanitized(), FaceParams::default());
    }

    #[test]
    fn sanitized_clamps_and_replaces_non_finite() {
        let p = FaceParams {
            face_width_mm: f64::NAN,
            face_height_mm: 1e9,
            nose_length_mm: -5.0,
            chin_height_mm: f64::INFINITY,
            noise_mm: -1.0,
            ..FaceParams::default()
        }
        .sanitized();
        assert_eq!(p.face_width_mm, 150.0);
        assert_eq!(p.face_height_mm, 280.0);
        assert_eq!(p.nose_length_mm, 0.18 * 280.0);
        assert!(p.chin_height_mm <= 0.20 * 280.0 && p.chin_height_mm >= 0.10 * 280.0);
        assert_eq!(p.noise_mm, 0.0);
        // The longest nose still leaves room for the lower lip above the chin fold.
        let long = FaceParams { nose_length_mm: 1e3, chin_height_mm: 1e3, ..FaceParams::default() };
        let s = long.sanitized();
        let v = Vertical::new(s.face_height_mm, s.nose_length_mm);
        assert!(v.menton + s.chin_height_mm <= v.stomion - 12.0 + 1e-9);
        assert!(s.chin_height_mm >= 20.0);
    }
}
