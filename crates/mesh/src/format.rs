//! Format detection from content, and the front doors: [`read`], [`read_from`], [`write`].

use std::fmt;
use std::io::{BufRead, Cursor, Read, Write};
use std::str::FromStr;

use serde::Serialize;

use crate::error::{ErrorKind, Location, ReadError};
use crate::input::Source;
use crate::inspect;
use crate::mesh::Mesh;
use crate::unit::{SourceUnit, Unit, UnitBasis};
use crate::{obj, ply, stl};

/// A family of mesh file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Ply,
    Obj,
    Stl,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Ply => "PLY",
            Format::Obj => "OBJ",
            Format::Stl => "STL",
        })
    }
}

/// A concrete format and encoding, as read or to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    PlyAscii,
    // Serialised with the same names as `--format` takes.
    #[serde(rename = "ply-binary-le")]
    PlyBinaryLittleEndian,
    #[serde(rename = "ply-binary-be")]
    PlyBinaryBigEndian,
    Obj,
    StlAscii,
    StlBinary,
}

impl FileFormat {
    pub const ALL: [FileFormat; 6] = [
        FileFormat::PlyAscii,
        FileFormat::PlyBinaryLittleEndian,
        FileFormat::PlyBinaryBigEndian,
        FileFormat::Obj,
        FileFormat::StlAscii,
        FileFormat::StlBinary,
    ];

    pub fn family(self) -> Format {
        match self {
            FileFormat::PlyAscii | FileFormat::PlyBinaryLittleEndian | FileFormat::PlyBinaryBigEndian => {
                Format::Ply
            }
            FileFormat::Obj => Format::Obj,
            FileFormat::StlAscii | FileFormat::StlBinary => Format::Stl,
        }
    }

    /// The format to write for a file name extension (`ply` → binary little-endian PLY,
    /// `stl` → binary STL), or `None` if the extension is not a mesh format.
    pub fn from_extension(ext: &str) -> Option<FileFormat> {
        match ext.to_ascii_lowercase().as_str() {
            "ply" => Some(FileFormat::PlyBinaryLittleEndian),
            "obj" => Some(FileFormat::Obj),
            "stl" => Some(FileFormat::StlBinary),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FileFormat::PlyAscii => "ply-ascii",
            FileFormat::PlyBinaryLittleEndian => "ply-binary-le",
            FileFormat::PlyBinaryBigEndian => "ply-binary-be",
            FileFormat::Obj => "obj",
            FileFormat::StlAscii => "stl-ascii",
            FileFormat::StlBinary => "stl-binary",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FileFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.to_ascii_lowercase();
        if let Some(f) = FileFormat::ALL.into_iter().find(|f| f.name() == s) {
            return Ok(f);
        }
        FileFormat::from_extension(&s).ok_or_else(|| {
            let names: Vec<&str> = FileFormat::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format {s:?}; use ply, obj, stl or one of {}", names.join(", "))
        })
    }
}

/// How to read: by default the format is detected from content and the unit is taken from the
/// file or guessed from the bounding box.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Read as this format family instead of detecting it.
    pub format: Option<Format>,
    /// The file's unit, overriding any declaration in the file and any guess.
    pub unit: Option<Unit>,
}

/// A mesh read from a file, converted to millimetres.
#[derive(Clone, Debug)]
pub struct Imported {
    pub mesh: Mesh,
    pub format: FileFormat,
    /// What the reader did that a careful user may want to know (skipped properties,
    /// triangulated polygons, ignored statements).
    pub notes: Vec<String>,
}

/// What a format reader hands back: positions still in the file's unit.
pub(crate) struct Parsed {
    pub(crate) mesh: Mesh,
    pub(crate) format: FileFormat,
    pub(crate) declared_unit: Option<Unit>,
    pub(crate) notes: Vec<String>,
}

const HEAD: usize = 1024;

/// Detect the format family from the first bytes of a file (up to 1 KiB is enough) and, when
/// known, its total length. Content decides, never a file name.
pub fn detect(head: &[u8], total_len: Option<u64>) -> Option<Format> {
    if head.starts_with(b"ply\n") || head.starts_with(b"ply\r\n") || head == b"ply" {
        return Some(Format::Ply);
    }
    let text = looks_like_text(head);
    if let (Some(len), Some(count)) = (total_len, head.get(80..84)) {
        let n = u64::from(u32::from_le_bytes([count[0], count[1], count[2], count[3]]));
        if len == 84 + 50 * n && !(text && starts_with_solid(head)) {
            return Some(Format::Stl);
        }
    }
    if text {
        if starts_with_solid(head) {
            return Some(Format::Stl);
        }
        if looks_like_obj(head) {
            return Some(Format::Obj);
        }
        return None;
    }
    if head.len() >= 84 {
        return Some(Format::Stl);
    }
    None
}

fn starts_with_solid(head: &[u8]) -> bool {
    let trimmed = head.trim_ascii_start();
    trimmed.starts_with(b"solid") && trimmed.get(5).is_none_or(|b| b.is_ascii_whitespace())
}

fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut off at the end of the head is still text.
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > head.len(),
    }
}

fn looks_like_obj(head: &[u8]) -> bool {
    const KEYWORDS: [&[u8]; 13] =
        [b"v", b"vt", b"vn", b"vp", b"f", b"o", b"g", b"s", b"l", b"p", b"mtllib", b"usemtl", b"#"];
    let mut saw_statement = false;
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let mut words = line.split(|b| b.is_ascii_whitespace());
        let word = words.next().unwrap_or_default();
        // The last line may be cut off by the 1 KiB head: judge its first word only if a
        // separator shows that the word is complete.
        if i == last && head.len() >= HEAD && words.next().is_none() {
            continue;
        }
        if !KEYWORDS.contains(&word) {
            return false;
        }
        saw_statement = true;
    }
    saw_statement || head.trim_ascii_start().starts_with(b"#")
}

/// Read a mesh from bytes in memory. See [`read_from`].
pub fn read(bytes: &[u8], opts: &ReadOptions) -> Result<Imported, ReadError> {
    read_from(bytes, Some(bytes.len() as u64), opts)
}

/// Read a mesh from any buffered reader. Pass the total length when known (a file's size): it
/// lets the reader reject a header whose counts the bytes cannot hold before reading on, and
/// tells binary from ASCII STL without guessing.
pub fn read_from<R: BufRead>(
    mut reader: R,
    total_len: Option<u64>,
    opts: &ReadOptions,
) -> Result<Imported, ReadError> {
    let start = Location::Byte(0);
    let mut head = Vec::with_capacity(HEAD);
    (&mut reader).take(HEAD as u64).read_to_end(&mut head).map_err(|e| ReadError {
        format: opts.format,
        at: start,
        kind: ErrorKind::Io { message: e.to_string() },
    })?;
    if head.is_empty() {
        return Err(ReadError { format: opts.format, at: start, kind: ErrorKind::Empty });
    }
    let format = match opts.format {
        Some(f) => f,
        None => detect(&head, total_len).ok_or(ReadError {
            format: None,
            at: start,
            kind: ErrorKind::UnknownFormat,
        })?,
    };
    let mut src = Source::new(Cursor::new(head).chain(reader), total_len);
    let parsed = match format {
        Format::Ply => ply::parse(&mut src),
        Format::Obj => obj::parse(&mut src),
        Format::Stl => stl::parse(&mut src),
    }?;
    finish(parsed, opts, src.offset())
}

/// Decide the source unit and convert positions to millimetres.
fn finish(parsed: Parsed, opts: &ReadOptions, end: u64) -> Result<Imported, ReadError> {
    let Parsed { mut mesh, format, declared_unit, mut notes } = parsed;
    let source_unit = if let Some(unit) = opts.unit {
        SourceUnit { unit, basis: UnitBasis::Given }
    } else if let Some(unit) = declared_unit {
        SourceUnit { unit, basis: UnitBasis::Declared }
    } else {
        let extent = inspect::bounding_box(mesh.positions()).map_or(0.0, |b| b.max_extent());
        match Unit::guess_from_extent(extent) {
            Some(unit) => SourceUnit { unit, basis: UnitBasis::Guessed { extent } },
            None => SourceUnit { unit: Unit::Millimetre, basis: UnitBasis::Assumed },
        }
    };
    if let UnitBasis::Guessed { extent } = source_unit.basis {
        notes.push(format!(
            "no unit declared: guessed {} from the largest extent {extent} (a face is about 150-250 mm)",
            source_unit.unit
        ));
    }
    let scale = source_unit.unit.to_mm();
    if scale != 1.0 {
        mesh.map_positions(|[x, y, z]| [x * scale, y * scale, z * scale]).map_err(|_| {
            ReadError::new(
                format.family(),
                Location::Byte(end),
                ErrorKind::Inconsistent {
                    what: format!("coordinates overflow when converted from {} to mm", source_unit.unit),
                },
            )
        })?;
    }
    Ok(Imported { mesh: mesh.with_source_unit(source_unit), format, notes })
}

/// Write a mesh in the given format, declaring millimetres where the format allows.
pub fn write<W: Write>(mesh: &Mesh, format: FileFormat, w: W) -> std::io::Result<()> {
    match format {
        FileFormat::PlyAscii => ply::write(mesh, ply::Encoding::Ascii, w),
        FileFormat::PlyBinaryLittleEndian => ply::write(mesh, ply::Encoding::BinaryLittleEndian, w),
        FileFormat::PlyBinaryBigEndian => ply::write(mesh, ply::Encoding::BinaryBigEndian, w),
        FileFormat::Obj => obj::write(mesh, w),
        FileFormat::StlAscii => stl::write(mesh, stl::Encoding::Ascii, w),
        FileFormat::StlBinary => stl::write(mesh, stl::Encoding::Binary, w),
    }
}

/// Write a mesh to a byte vector.
pub fn to_bytes(mesh: &Mesh, format: FileFormat) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write(mesh, format, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_content() {
        assert_eq!(detect(b"ply\nformat ascii 1.0\n", None), Some(Format::Ply));
        assert_eq!(detect(b"# exported\nv 1 2 3\nf 1 2 3\n", None), Some(Format::Obj));
        assert_eq!(detect(b"solid face\n facet normal 0 0 1\n", None), Some(Format::Stl));
        let mut bin = vec![0u8; 84 + 50];
        bin[80] = 1;
        assert_eq!(detect(&bin, Some(134)), Some(Format::Stl));
        // A binary STL whose 80-byte header starts with "solid" is still binary.
        bin[..5].copy_from_slice(b"solid");
        bin[10] = 0xff;
        assert_eq!(detect(&bin, Some(134)), Some(Format::Stl));
        assert_eq!(detect(b"hello world\n", None), None);
        assert_eq!(detect(b"\x00\x01", None), None);
    }
}
