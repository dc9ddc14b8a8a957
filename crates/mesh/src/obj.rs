//! Wavefront OBJ: reads `v` (with the `v x y z r g b` colour extension), `vt`, `vn` and `f`
//! (any polygon, fan-triangulated; negative and forward indices), and writes the same subset.
//! Materials, groups, curves and every other statement are skipped and counted in the notes.
//!
//! OBJ indexes positions, uvs and normals separately; a [`Mesh`] is per-vertex. A uv or normal
//! is attached to a position when each position is used with one value; if a position is used
//! with two, that attribute is dropped with a note. Vertices are never split, so the vertex count
//! always equals the file's `v` lines (other tools' counts stay comparable).

use std::io::{self, BufRead, Write};
use std::str::FromStr;

use crate::error::{ErrorKind, Location, ReadError};
use crate::format::{FileFormat, Format, Parsed};
use crate::input::{bad_number, parse_f32, Source, MAX_LINE, MAX_POLYGON};
use crate::mesh::Mesh;
use crate::unit::Unit;

/// "No index": a corner without a uv or normal. Never a valid index, since counts stay below it.
const NONE: u32 = u32::MAX;

/// Distinct ignored keywords named in the notes; the rest are counted together.
const MAX_NAMED_IGNORED: usize = 16;

pub(crate) fn parse<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    let at_line = |line: u64| move |kind| ReadError::new(Format::Obj, Location::Line(line), kind);
    let mut reader = Reader::default();
    let mut line = Vec::new();
    // A statement continued over lines with a trailing `\`, and the line it started on.
    let mut joined = Vec::new();
    let mut joined_from: Option<u64> = None;
    loop {
        let more = src.read_line(&mut line).map_err(at_line(src.line() + 1))?;
        if !more {
            break;
        }
        let n = src.line();
        // Comments are not continued: a Windows path ending in `\` must not eat the next line.
        let continued = line.ends_with(b"\\") && !line.trim_ascii_start().starts_with(b"#");
        if joined_from.is_none() && !continued {
            reader.statement(&line, n).map_err(at_line(n))?;
            continue;
        }
        let start = *joined_from.get_or_insert(n);
        joined.extend_from_slice(line.strip_suffix(b"\\").unwrap_or(&line));
        joined.push(b' ');
        if joined.len() > MAX_LINE {
            return Err(at_line(start)(ErrorKind::LineTooLong { max: MAX_LINE as u64 }));
        }
        if !continued {
            reader.statement(&joined, start).map_err(at_line(start))?;
            joined.clear();
            joined_from = None;
        }
    }
    if let Some(start) = joined_from {
        reader.statement(&joined, start).map_err(at_line(start))?;
    }
    reader.finish(src.line())
}

/// Which index list a face corner refers to.
#[derive(Clone, Copy)]
enum Kind {
    Position = 0,
    Uv = 1,
    Normal = 2,
}

/// A face that refers to an element not yet defined when it was read; checked at the end.
struct Forward {
    face: u64,
    line: u64,
    kind: Kind,
    /// The largest such index, as written (1-based).
    index: i64,
}

#[derive(Default)]
struct Reader {
    positions: Vec<[f32; 3]>,
    /// Colours as written, alpha < 0 meaning "not given"; kept only while every vertex has one.
    colors: Vec<[f32; 4]>,
    colored: u64,
    uncolored: u64,
    color_max: f32,
    uvs: Vec<[f32; 2]>,
    normals: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
    /// Per-triangle uv and normal indices, created when a face first names one.
    triangle_uvs: Option<Vec<[u32; 3]>>,
    triangle_normals: Option<Vec<[u32; 3]>>,
    faces: u64,
    polygons: u64,
    polygon_triangles: u64,
    forward: Vec<Forward>,
    corners: Vec<[u32; 3]>,
    ignored: Vec<(String, u64)>,
    ignored_other: u64,
    unit: Option<Unit>,
}

impl Reader {
    fn statement(&mut self, text: &[u8], line: u64) -> Result<(), ErrorKind> {
        let text = text.trim_ascii_start();
        if let Some(comment) = text.strip_prefix(b"#") {
            if self.unit.is_none() {
                self.unit = declared_unit(comment);
            }
            return Ok(());
        }
        // A comment may also end a statement: `v 1 2 3 # tip of the nose`.
        let text = text.split(|&b| b == b'#').next().unwrap_or_default();
        let mut tokens = text.split(u8::is_ascii_whitespace).filter(|t| !t.is_empty());
        let Some(keyword) = tokens.next() else {
            return Ok(());
        };
        match keyword {
            b"v" => self.vertex(tokens),
            b"vt" => self.uv(tokens),
            b"vn" => self.normal(tokens),
            // `fo` is the old spelling of `f`.
            b"f" | b"fo" => self.face(tokens, line),
            _ => self.ignore(keyword),
        }
    }

    fn vertex<'a>(&mut self, tokens: impl Iterator<Item = &'a [u8]>) -> Result<(), ErrorKind> {
        let (v, n) = numbers::<7>(tokens, "v")?;
        let vertex = self.positions.len() as u64;
        check_room(vertex, "vertices")?;
        let p = [v[0], v[1], v[2]];
        if n >= 3 && !p.iter().all(|c| c.is_finite()) {
            return Err(ErrorKind::NonFinite { vertex, what: "position" });
        }
        match n {
            3 | 4 => {}
            6 | 7 => {
                if !v[3..n].iter().all(|c| c.is_finite()) {
                    return Err(ErrorKind::NonFinite { vertex, what: "colour" });
                }
            }
            _ => {
                return Err(ErrorKind::Inconsistent {
                    what: format!("`v` takes x y z, x y z w or x y z r g b, but has {n} numbers"),
                })
            }
        }
        self.positions.push(p);
        if n >= 6 {
            self.colored += 1;
            // Stop collecting once a vertex lacks colour: the colours will be dropped anyway.
            if self.uncolored == 0 {
                let alpha = if n == 7 { v[6] } else { -1.0 };
                self.color_max = v[3..n].iter().fold(self.color_max, |m, &c| m.max(c));
                self.colors.push([v[3], v[4], v[5], alpha]);
            }
        } else {
            self.uncolored += 1;
            self.colors = Vec::new();
        }
        Ok(())
    }

    fn uv<'a>(&mut self, tokens: impl Iterator<Item = &'a [u8]>) -> Result<(), ErrorKind> {
        let (v, n) = numbers::<3>(tokens, "vt")?;
        let vertex = self.uvs.len() as u64;
        check_room(vertex, "texture coordinates")?;
        if n == 0 {
            return Err(ErrorKind::Inconsistent { what: "`vt` needs at least a u coordinate".into() });
        }
        // `v` defaults to 0 when only `u` is given; `w` is not kept.
        let uv = [v[0], if n >= 2 { v[1] } else { 0.0 }];
        if !uv.iter().all(|c| c.is_finite()) {
            return Err(ErrorKind::NonFinite { vertex, what: "texture coordinate" });
        }
        self.uvs.push(uv);
        Ok(())
    }

    fn normal<'a>(&mut self, tokens: impl Iterator<Item = &'a [u8]>) -> Result<(), ErrorKind> {
        let (v, n) = numbers::<3>(tokens, "vn")?;
        let vertex = self.normals.len() as u64;
        check_room(vertex, "normals")?;
        if n != 3 {
            return Err(ErrorKind::Inconsistent { what: format!("`vn` needs 3 numbers, but has {n}") });
        }
        if !v.iter().all(|c| c.is_finite()) {
            return Err(ErrorKind::NonFinite { vertex, what: "normal" });
        }
        self.normals.push(v);
        Ok(())
    }

    fn face<'a>(&mut self, tokens: impl Iterator<Item = &'a [u8]>, line: u64) -> Result<(), ErrorKind> {
        let face = self.faces;
        self.faces += 1;
        let mut corners = std::mem::take(&mut self.corners);
        corners.clear();
        let mut forward = [0i64; 3];
        let counts = [self.positions.len(), self.uvs.len(), self.normals.len()].map(|c| c as u64);
        let mut len = 0u64;
        for token in tokens {
            len += 1;
            if len > MAX_POLYGON {
                continue; // Only count the rest, for the error below.
            }
            let mut parts = token.split(|&b| b == b'/');
            let v = parts.next().unwrap_or_default();
            let vt = parts.next().filter(|t| !t.is_empty());
            let vn = parts.next().filter(|t| !t.is_empty());
            if parts.next().is_some() {
                return Err(bad_number(token, "a face corner: v, v/vt, v//vn or v/vt/vn"));
            }
            let mut corner = [NONE; 3];
            for (kind, part) in [(Kind::Position, Some(v)), (Kind::Uv, vt), (Kind::Normal, vn)] {
                if let Some(part) = part {
                    let k = kind as usize;
                    let (index, written) = resolve(part, counts[k], face)?;
                    if u64::from(index) >= counts[k] {
                        forward[k] = forward[k].max(written);
                    }
                    corner[k] = index;
                }
            }
            corners.push(corner);
        }
        if len > MAX_POLYGON {
            return Err(ErrorKind::ListTooLong { face, len, max: MAX_POLYGON });
        }
        if len < 3 {
            return Err(ErrorKind::TooFewVertices { face, len });
        }
        for (kind, index) in [Kind::Position, Kind::Uv, Kind::Normal].into_iter().zip(forward) {
            if index > 0 {
                self.forward.push(Forward { face, line, kind, index });
            }
        }
        if self.triangle_uvs.is_none() && corners.iter().any(|c| c[1] != NONE) {
            self.triangle_uvs = Some(vec![[NONE; 3]; self.triangles.len()]);
        }
        if self.triangle_normals.is_none() && corners.iter().any(|c| c[2] != NONE) {
            self.triangle_normals = Some(vec![[NONE; 3]; self.triangles.len()]);
        }
        if corners.len() > 3 {
            self.polygons += 1;
            self.polygon_triangles += corners.len() as u64 - 2;
        }
        // Fan around the first corner: exact for the convex polygons exporters write.
        if let Some((&first, rest)) = corners.split_first() {
            for pair in rest.windows(2) {
                let [b, c] = [pair[0], pair[1]];
                self.triangles.push([first[0], b[0], c[0]]);
                if let Some(t) = &mut self.triangle_uvs {
                    t.push([first[1], b[1], c[1]]);
                }
                if let Some(t) = &mut self.triangle_normals {
                    t.push([first[2], b[2], c[2]]);
                }
            }
        }
        self.corners = corners;
        Ok(())
    }

    fn ignore(&mut self, keyword: &[u8]) -> Result<(), ErrorKind> {
        // Binary junk read as OBJ shows up here first: say so rather than "ignored".
        let Ok(keyword) = std::str::from_utf8(keyword) else {
            return Err(ErrorKind::NotText);
        };
        if keyword.chars().any(char::is_control) {
            return Err(ErrorKind::NotText);
        }
        if let Some((_, count)) = self.ignored.iter_mut().find(|(k, _)| k == keyword) {
            *count += 1;
        } else if self.ignored.len() < MAX_NAMED_IGNORED {
            let shown: String = keyword.chars().take(32).collect();
            self.ignored.push((shown, 1));
        } else {
            self.ignored_other += 1;
        }
        Ok(())
    }

    fn finish(self, last_line: u64) -> Result<Parsed, ReadError> {
        let counts = [self.positions.len(), self.uvs.len(), self.normals.len()].map(|c| c as u64);
        for f in &self.forward {
            let vertices = counts[f.kind as usize];
            if f.index as u64 > vertices {
                return Err(ReadError::new(
                    Format::Obj,
                    Location::Line(f.line),
                    ErrorKind::BadIndex { face: f.face, index: f.index, vertices },
                ));
            }
        }
        let mut notes = Vec::new();
        if self.polygons > 0 {
            notes.push(format!(
                "fan-triangulated {} polygons with more than 3 corners into {} triangles",
                self.polygons, self.polygon_triangles
            ));
        }
        if !self.ignored.is_empty() || self.ignored_other > 0 {
            let mut list: Vec<String> = self.ignored.iter().map(|(k, n)| format!("`{k}` ×{n}")).collect();
            if self.ignored_other > 0 {
                list.push(format!("other statements ×{}", self.ignored_other));
            }
            notes.push(format!("ignored statements: {}", list.join(", ")));
        }
        let n = self.positions.len();
        let colors = self.resolve_colors(&mut notes);
        let uvs =
            per_vertex("texture coordinates", self.uvs, self.triangle_uvs, &self.triangles, n, &mut notes);
        let normals =
            per_vertex("normals", self.normals, self.triangle_normals, &self.triangles, n, &mut notes);
        let mut mesh = Mesh::from_checked(self.positions, self.triangles);
        let end = Location::Line(last_line);
        let mismatch = |e: crate::error::MeshError| {
            ReadError::new(Format::Obj, end, ErrorKind::Inconsistent { what: e.to_string() })
        };
        if let Some(c) = colors {
            mesh = mesh.with_colors(c).map_err(mismatch)?;
        }
        if let Some(u) = uvs {
            mesh = mesh.with_uvs(u).map_err(mismatch)?;
        }
        if let Some(v) = normals {
            mesh = mesh.with_normals(v).map_err(mismatch)?;
        }
        Ok(Parsed { mesh, format: FileFormat::Obj, declared_unit: self.unit, notes })
    }

    fn resolve_colors(&self, notes: &mut Vec<String>) -> Option<Vec<[u8; 4]>> {
        if self.colored == 0 {
            return None;
        }
        if self.uncolored > 0 {
            notes.push(format!(
                "only {} of {} vertices have a colour: colours dropped",
                self.colored,
                self.colored + self.uncolored
            ));
            return None;
        }
        // Most exporters write 0..1; a few write 0..255. A value clearly above 1 tells them apart.
        let scale = if self.color_max > 1.01 {
            notes.push("vertex colours read as 0-255 (a value above 1 was found)".into());
            1.0
        } else {
            255.0
        };
        let to_u8 = |c: f32| (c * scale).round().clamp(0.0, 255.0) as u8;
        Some(
            self.colors
                .iter()
                .map(|&[r, g, b, a]| [to_u8(r), to_u8(g), to_u8(b), if a < 0.0 { 255 } else { to_u8(a) }])
                .collect(),
        )
    }
}

/// Parse up to `N` numbers; more is an error. Returns the numbers and how many there were.
fn numbers<'a, const N: usize>(
    tokens: impl Iterator<Item = &'a [u8]>,
    keyword: &str,
) -> Result<([f32; N], usize), ErrorKind> {
    let mut out = [0.0; N];
    let mut n = 0;
    for token in tokens {
        let Some(slot) = out.get_mut(n) else {
            return Err(ErrorKind::Inconsistent { what: format!("`{keyword}` has more than {N} numbers") });
        };
        *slot = parse_f32(token)?;
        n += 1;
    }
    Ok((out, n))
}

/// Indices are u32 with [`NONE`] reserved, so a list may not reach it.
fn check_room(count: u64, what: &str) -> Result<(), ErrorKind> {
    if count >= u64::from(NONE) {
        return Err(ErrorKind::Inconsistent { what: format!("more than {NONE} {what}") });
    }
    Ok(())
}

/// Turn a written index (1-based, or negative counting back from the last defined element) into
/// a 0-based index. An index past the current count may be a forward reference, checked later.
/// Also returns the index as written.
fn resolve(token: &[u8], count: u64, face: u64) -> Result<(u32, i64), ErrorKind> {
    let written = std::str::from_utf8(token)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| bad_number(token, "a vertex index"))?;
    let bad = ErrorKind::BadIndex { face, index: written, vertices: count };
    let index = match written {
        0 => return Err(bad),
        i if i > 0 => i.unsigned_abs() - 1,
        i => match count.checked_sub(i.unsigned_abs()) {
            Some(index) => index,
            None => return Err(bad),
        },
    };
    match u32::try_from(index) {
        Ok(i) if i != NONE => Ok((i, written)),
        _ => Err(bad),
    }
}

/// A unit declared in a comment such as `unit mm` or `units: cm`.
fn declared_unit(comment: &[u8]) -> Option<Unit> {
    let text = std::str::from_utf8(comment).ok()?.trim_start().to_ascii_lowercase();
    let rest = text.strip_prefix("units").or_else(|| text.strip_prefix("unit"))?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix([':', '=']).unwrap_or(rest);
    Unit::from_str(rest.split_whitespace().next()?).ok()
}

/// Turn separately indexed values into one value per position, or `None` with a note saying
/// why they were dropped. `corners` holds each triangle's value indices, if any face gave one.
fn per_vertex<T: Copy + Default>(
    what: &str,
    values: Vec<T>,
    corners: Option<Vec<[u32; 3]>>,
    triangles: &[[u32; 3]],
    n: usize,
    notes: &mut Vec<String>,
) -> Option<Vec<T>> {
    if values.is_empty() || n == 0 {
        return None;
    }
    let Some(corners) = corners else {
        // No face says which goes where; a list as long as the positions pairs up one to one
        // (a point cloud, or a mesh written without faces).
        if values.len() == n {
            return Some(values);
        }
        notes.push(format!("{} {what} not used by any face: dropped", values.len()));
        return None;
    };
    if corners.iter().flatten().any(|&i| i == NONE) {
        notes.push(format!("some face corners have no {what}: {what} dropped"));
        return None;
    }
    // The common case, and what our writer emits: `f a/a/a`.
    if values.len() == n && corners == triangles {
        return Some(values);
    }
    let mut map = vec![NONE; n];
    for (t, c) in triangles.iter().zip(&corners) {
        for (&p, &a) in t.iter().zip(c) {
            let slot = map.get_mut(p as usize)?;
            if *slot == NONE {
                *slot = a;
            } else if *slot != a {
                notes.push(format!(
                    "vertex {p} is used with different {what} ({} and {}): {what} dropped \
                     (vertices are not split, so the vertex count matches the file)",
                    *slot as u64 + 1,
                    a as u64 + 1
                ));
                return None;
            }
        }
    }
    let unused = map.iter().filter(|&&m| m == NONE).count();
    if unused > 0 {
        notes.push(format!("{unused} vertices used by no face were given zero {what}"));
    }
    Some(map.iter().map(|&m| values.get(m as usize).copied().unwrap_or_default()).collect())
}

/// Bytes gathered before each write to the sink.
const CHUNK: usize = 1 << 16;

/// Write `mesh` as OBJ in millimetres: `v` (with `r g b [a]` when coloured), `vt`, `vn`, and
/// triangles `f a b c` with the uv and normal indices equal to the vertex index.
pub fn write<W: Write>(mesh: &Mesh, mut w: W) -> io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK + 256);
    buf.extend_from_slice(b"# written by FaceVault\n# unit mm\n");
    let colors = mesh.colors();
    let alpha = colors.is_some_and(|c| c.iter().any(|c| c[3] != 255));
    for (i, p) in mesh.positions().iter().enumerate() {
        write!(buf, "v {} {} {}", p[0], p[1], p[2])?;
        if let Some(c) = colors.and_then(|c| c.get(i)) {
            // c/255 as f32 reads back to the same byte: the error is far below half a step.
            let f = |v: u8| f32::from(v) / 255.0;
            write!(buf, " {} {} {}", f(c[0]), f(c[1]), f(c[2]))?;
            if alpha {
                write!(buf, " {}", f(c[3]))?;
            }
        }
        buf.push(b'\n');
        flush_if_full(&mut buf, &mut w)?;
    }
    for uv in mesh.uvs().unwrap_or_default() {
        writeln!(buf, "vt {} {}", uv[0], uv[1])?;
        flush_if_full(&mut buf, &mut w)?;
    }
    for n in mesh.normals().unwrap_or_default() {
        writeln!(buf, "vn {} {} {}", n[0], n[1], n[2])?;
        flush_if_full(&mut buf, &mut w)?;
    }
    let (uv, normal) = (mesh.uvs().is_some(), mesh.normals().is_some());
    for t in mesh.triangles() {
        buf.push(b'f');
        for &i in t {
            // `a`, `a/a`, `a//a` or `a/a/a`.
            buf.push(b' ');
            let start = buf.len();
            push_u64(&mut buf, u64::from(i) + 1);
            let end = buf.len();
            if uv {
                buf.push(b'/');
                buf.extend_from_within(start..end);
            }
            if normal {
                buf.extend_from_slice(if uv { b"/" } else { b"//" });
                buf.extend_from_within(start..end);
            }
        }
        buf.push(b'\n');
        flush_if_full(&mut buf, &mut w)?;
    }
    w.write_all(&buf)?;
    w.flush()
}

fn flush_if_full<W: Write>(buf: &mut Vec<u8>, w: &mut W) -> io::Result<()> {
    if buf.len() >= CHUNK {
        w.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_in_comments() {
        assert_eq!(declared_unit(b" unit mm"), Some(Unit::Millimetre));
        assert_eq!(declared_unit(b" Units: CM"), Some(Unit::Centimetre));
        assert_eq!(declared_unit(b"units=m (scanner)"), Some(Unit::Metre));
        assert_eq!(declared_unit(b" unitary matrix"), None);
        assert_eq!(declared_unit(b" written by FaceVault"), None);
    }

    #[test]
    fn indices_resolve() {
        assert_eq!(resolve(b"1", 3, 0), Ok((0, 1)));
        assert_eq!(resolve(b"-1", 3, 0), Ok((2, -1)));
        assert_eq!(resolve(b"7", 3, 0), Ok((6, 7)));
        assert_eq!(resolve(b"-4", 3, 2), Err(ErrorKind::BadIndex { face: 2, index: -4, vertices: 3 }));
        assert_eq!(resolve(b"0", 3, 0), Err(ErrorKind::BadIndex { face: 0, index: 0, vertices: 3 }));
        assert_eq!(
            resolve(b"4294967296", 3, 0),
            Err(ErrorKind::BadIndex { face: 0, index: 4294967296, vertices: 3 })
        );
        assert_eq!(resolve(b"1.5", 3, 0).map_err(|e| e.code()), Err("bad-number"));
    }

    #[test]
    fn integers_print() {
        let mut b = Vec::new();
        for v in [0, 7, 10, 12345, u64::MAX] {
            push_u64(&mut b, v);
            b.push(b' ');
        }
        assert_eq!(b, b"0 7 10 12345 18446744073709551615 ");
    }
}
