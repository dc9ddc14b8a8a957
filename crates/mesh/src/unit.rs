//! Length units. A [`crate::Mesh`] always holds millimetres; [`SourceUnit`] records what the
//! file used and how that was decided, so a report can say "guessed centimetres from a 21 cm
//! tall bounding box" instead of silently rescaling.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A unit of length that scan files use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Millimetre,
    Centimetre,
    Metre,
    Inch,
}

impl Unit {
    pub const ALL: [Unit; 4] = [Unit::Millimetre, Unit::Centimetre, Unit::Metre, Unit::Inch];

    /// Millimetres per one of this unit.
    pub fn to_mm(self) -> f32 {
        match self {
            Unit::Millimetre => 1.0,
            Unit::Centimetre => 10.0,
            Unit::Metre => 1000.0,
            Unit::Inch => 25.4,
        }
    }

    /// The short symbol written into files (`mm`, `cm`, `m`, `in`).
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Millimetre => "mm",
            Unit::Centimetre => "cm",
            Unit::Metre => "m",
            Unit::Inch => "in",
        }
    }

    /// Guess the unit of a face scan from the largest extent of its bounding box: a face is
    /// about 150-250 mm tall, so the unit that brings the extent closest to 200 mm (on a log
    /// scale) wins, provided the result lies within 40-800 mm. Inches lose ties to centimetres.
    pub fn guess_from_extent(extent: f32) -> Option<Unit> {
        if !extent.is_finite() || extent <= 0.0 {
            return None;
        }
        let mut best: Option<(Unit, f32)> = None;
        for unit in [Unit::Millimetre, Unit::Centimetre, Unit::Metre, Unit::Inch] {
            let mm = extent * unit.to_mm();
            if !(40.0..=800.0).contains(&mm) {
                continue;
            }
            let score = (mm / 200.0).ln().abs();
            if best.is_none_or(|(_, s)| score < s - 1e-6) {
                best = Some((unit, score));
            }
        }
        best.map(|(u, _)| u)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mm" | "millimetre" | "millimeter" | "millimetres" | "millimeters" => Ok(Unit::Millimetre),
            "cm" | "centimetre" | "centimeter" | "centimetres" | "centimeters" => Ok(Unit::Centimetre),
            "m" | "metre" | "meter" | "metres" | "meters" => Ok(Unit::Metre),
            "in" | "inch" | "inches" => Ok(Unit::Inch),
            other => Err(format!("unknown unit {other:?}; use mm, cm, m or in")),
        }
    }
}

/// How the source unit of a mesh was decided.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "basis", rename_all = "lowercase")]
pub enum UnitBasis {
    /// Built in memory, in millimetres.
    Native,
    /// Declared inside the file (a PLY or OBJ comment such as `unit mm`).
    Declared,
    /// Given by the caller (`--unit`), overriding anything in the file.
    Given,
    /// Guessed from the bounding box, whose largest extent in file units is recorded.
    Guessed { extent: f32 },
    /// Nothing to go on (empty or degenerate mesh, or an extent no face has): millimetres assumed.
    Assumed,
}

/// The unit a mesh's source file used, and how that was decided. Positions are already in mm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SourceUnit {
    pub unit: Unit,
    #[serde(flatten)]
    pub basis: UnitBasis,
}

impl Default for SourceUnit {
    fn default() -> Self {
        SourceUnit { unit: Unit::Millimetre, basis: UnitBasis::Native }
    }
}

impl fmt::Display for SourceUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.basis {
            UnitBasis::Native => write!(f, "{} (native)", self.unit),
            UnitBasis::Declared => write!(f, "{} (declared in file)", self.unit),
            UnitBasis::Given => write!(f, "{} (given)", self.unit),
            UnitBasis::Guessed { extent } => {
                write!(f, "{} (guessed: largest extent {extent} {})", self.unit, self.unit)
            }
            UnitBasis::Assumed => write!(f, "{} (assumed: nothing to guess from)", self.unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_face_sized_extents() {
        assert_eq!(Unit::guess_from_extent(210.0), Some(Unit::Millimetre));
        assert_eq!(Unit::guess_from_extent(21.0), Some(Unit::Centimetre));
        assert_eq!(Unit::guess_from_extent(0.21), Some(Unit::Metre));
        assert_eq!(Unit::guess_from_extent(8.3), Some(Unit::Inch));
        assert_eq!(Unit::guess_from_extent(1e-9), None);
        assert_eq!(Unit::guess_from_extent(f32::NAN), None);
    }
}
