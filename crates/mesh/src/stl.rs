//! STL, ascii and binary. STL stores every triangle's corners by value, so the reader welds
//! corners with bit-identical positions (-0 equal to +0) into shared vertices, numbered in the
//! order first seen, giving an indexed mesh. Facet normals are not vertex normals and are not
//! kept; degenerate facets are kept for [`crate::inspect`] to report, never dropped here.

use std::collections::hash_map::{Entry, HashMap, RandomState};
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::{self, BufRead, Write};
use std::str::FromStr;

use crate::error::{ErrorKind, Location, ReadError};
use crate::format::{FileFormat, Format, Parsed};
use crate::input::{parse_f32, Source};
use crate::mesh::Mesh;
use crate::unit::Unit;

/// STL encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Ascii,
    Binary,
}

const HEADER: usize = 80;
const RECORD: usize = 50;
/// Triangles read per chunk of a binary file.
const CHUNK_TRIANGLES: usize = 4096;
/// The header our binary writer uses; it must never start with "solid".
const BINARY_HEADER: &[u8] = b"FaceVault binary STL unit=mm";

pub(crate) fn parse<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    let binary = is_binary(src).map_err(|k| ReadError::new(Format::Stl, Location::Byte(0), k))?;
    if binary {
        parse_binary(src)
    } else {
        parse_ascii(src)
    }
}

/// Decide the encoding from the first buffered bytes: a known length of exactly 84 + 50 n is
/// binary; otherwise text starting with `solid` is ascii and anything else binary (many binary
/// exporters also start their header with "solid").
fn is_binary<R: BufRead>(src: &mut Source<R>) -> Result<bool, ErrorKind> {
    let total = src.remaining();
    let head = src.fill_buf()?;
    if let (Some(len), Some(count)) = (total, head.get(HEADER..HEADER + 4)) {
        if len == 84 + 50 * u64::from(le_u32(count)) {
            return Ok(true);
        }
    }
    let head = head.get(..1024).unwrap_or(head);
    let trimmed = head.trim_ascii_start();
    let solid = trimmed.len() >= 5
        && trimmed[..5].eq_ignore_ascii_case(b"solid")
        && trimmed.get(5).is_none_or(u8::is_ascii_whitespace);
    Ok(!(solid && looks_like_text(head)))
}

fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut off at the end of the buffer is still text.
        Err(e) => e.error_len().is_none(),
    }
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b.get(..4).unwrap_or(&[0; 4]));
    u32::from_le_bytes(a)
}

fn le_f32(b: &[u8]) -> f32 {
    f32::from_bits(le_u32(b))
}

fn parse_binary<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    let at = |byte: u64| move |kind| ReadError::new(Format::Stl, Location::Byte(byte), kind);
    let mut header = [0u8; HEADER + 4];
    src.read_exact(&mut header, "the 84-byte binary STL header").map_err(at(src.offset()))?;
    let count = u64::from(le_u32(&header[HEADER..]));
    let capacity = src.check_count("triangle", count, RECORD as u64).map_err(at(HEADER as u64))?;
    let mut notes = Vec::new();
    let trailing = src.remaining().map_or(0, |r| r.saturating_sub(count * RECORD as u64));
    if trailing > 0 {
        notes.push(format!("{trailing} bytes after the last of {count} triangles ignored"));
    }
    let mut welder = Welder::with_capacity(capacity);
    let mut triangles = Vec::with_capacity(capacity);
    let mut chunk = vec![0u8; RECORD * CHUNK_TRIANGLES.min(capacity.max(1))];
    let mut attributes = 0u64;
    let mut done = 0u64;
    while done < count {
        let k = ((count - done) as usize).min(chunk.len() / RECORD);
        let bytes = &mut chunk[..k * RECORD];
        if let Err(kind) = src.read_exact(bytes, "") {
            // Name the first triangle that is not all there.
            let t = (src.offset() - (HEADER as u64 + 4)) / RECORD as u64;
            let kind = match kind {
                ErrorKind::Truncated { .. } => {
                    ErrorKind::Truncated { reading: format!("triangle {t} of {count}") }
                }
                other => other,
            };
            return Err(at(84 + t * RECORD as u64)(kind));
        }
        for (j, record) in bytes.chunks_exact(RECORD).enumerate() {
            let t = done + j as u64;
            let mut tri = [0u32; 3];
            for (k, slot) in tri.iter_mut().enumerate() {
                let o = 12 + 12 * k;
                let p = [le_f32(&record[o..]), le_f32(&record[o + 4..]), le_f32(&record[o + 8..])];
                let corner = t * 3 + k as u64;
                *slot = welder.index(p, corner).map_err(at(84 + t * RECORD as u64 + o as u64))?;
            }
            triangles.push(tri);
            if record[48..50] != [0, 0] {
                attributes += 1;
            }
        }
        done += k as u64;
    }
    if attributes > 0 {
        notes.push(format!(
            "{attributes} triangles carry attribute bytes (some exporters store colour there): ignored"
        ));
    }
    let declared_unit = unit_in(&header[..HEADER]);
    Ok(finish(welder, triangles, FileFormat::StlBinary, declared_unit, notes))
}

/// Where the ascii reader is in the `solid`/`facet`/`outer loop`/`vertex`/`endloop`/`endfacet`
/// grammar. It runs on tokens, so any line layout and any whitespace is accepted.
#[derive(Clone, Copy, PartialEq)]
enum State {
    /// Between solids: expects `solid` or the end.
    Outside,
    /// Expects `facet` or `endsolid`.
    Solid,
    /// After `facet`: expects `normal` (once) or `outer`.
    Facet { normal: bool },
    /// Reading the normal's numbers; how many are read.
    Normal(u8),
    /// After `outer`: expects `loop`.
    Outer,
    /// Expects `vertex` or `endloop`.
    Loop,
    /// Reading a vertex's coordinates; how many are read.
    Vertex(u8),
    /// After `endloop`: expects `endfacet`.
    EndLoop,
}

fn parse_ascii<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    // About 250 bytes per facet is typical; more room than that only grows with real data.
    let estimate = src.remaining().map_or(1 << 12, |r| (r / 250).min(1 << 20) as usize);
    let mut welder = Welder::with_capacity(estimate);
    let mut triangles: Vec<[u32; 3]> = Vec::with_capacity(estimate);
    let mut state = State::Outside;
    let mut solids = 0u64;
    let mut declared_unit = None;
    let mut corners = [0u32; 3];
    let mut corner = 0usize;
    let mut xyz = [0f32; 3];
    let mut line = Vec::new();
    loop {
        let at = |n: u64| move |kind| ReadError::new(Format::Stl, Location::Line(n), kind);
        if !src.read_line(&mut line).map_err(at(src.line() + 1))? {
            break;
        }
        let n = src.line();
        let facet = triangles.len() as u64;
        let unexpected = |token: &[u8], expected: &str| {
            let shown: String = String::from_utf8_lossy(token).chars().take(40).collect();
            at(n)(ErrorKind::Inconsistent {
                what: format!("facet {facet}: expected {expected}, found {shown:?}"),
            })
        };
        let tokens = line.split(u8::is_ascii_whitespace).filter(|t| !t.is_empty());
        for token in tokens {
            let is = |word: &[u8]| token.eq_ignore_ascii_case(word);
            state = match state {
                State::Outside if is(b"solid") => {
                    // The rest of the line is the name, which may declare our unit.
                    solids += 1;
                    if declared_unit.is_none() {
                        declared_unit = unit_in(&line);
                    }
                    State::Solid
                }
                State::Outside => return Err(unexpected(token, "`solid`")),
                State::Solid if is(b"facet") => State::Facet { normal: false },
                State::Solid if is(b"endsolid") => State::Outside,
                // A solid without `endsolid` followed by the next one: take it as both.
                State::Solid if is(b"solid") => {
                    solids += 1;
                    State::Solid
                }
                State::Solid => return Err(unexpected(token, "`facet` or `endsolid`")),
                State::Facet { normal: false } if is(b"normal") => State::Normal(0),
                State::Facet { .. } if is(b"outer") => State::Outer,
                State::Facet { normal: false } => return Err(unexpected(token, "`normal` or `outer`")),
                State::Facet { normal: true } => return Err(unexpected(token, "`outer`")),
                State::Normal(k) => {
                    // Checked for form, then dropped: facet normals are not vertex normals, and
                    // exporters write NaN for degenerate facets.
                    parse_f32(token).map_err(at(n))?;
                    if k == 2 {
                        State::Facet { normal: true }
                    } else {
                        State::Normal(k + 1)
                    }
                }
                State::Outer if is(b"loop") => {
                    corner = 0;
                    State::Loop
                }
                State::Outer => return Err(unexpected(token, "`loop`")),
                State::Loop if is(b"vertex") => {
                    if corner == 3 {
                        return Err(at(n)(ErrorKind::Inconsistent {
                            what: format!("facet {facet} has more than 3 vertices; STL facets are triangles"),
                        }));
                    }
                    State::Vertex(0)
                }
                State::Loop if is(b"endloop") => {
                    if corner != 3 {
                        return Err(at(n)(ErrorKind::Inconsistent {
                            what: format!("facet {facet} has {corner} vertices; STL facets are triangles"),
                        }));
                    }
                    State::EndLoop
                }
                State::Loop => return Err(unexpected(token, "`vertex` or `endloop`")),
                State::Vertex(k) => {
                    let k = usize::from(k);
                    xyz[k] = parse_f32(token).map_err(at(n))?;
                    if k == 2 {
                        let c = facet * 3 + corner as u64;
                        corners[corner] = welder.index(xyz, c).map_err(at(n))?;
                        corner += 1;
                        State::Loop
                    } else {
                        State::Vertex(k as u8 + 1)
                    }
                }
                State::EndLoop if is(b"endfacet") => {
                    triangles.push(corners);
                    State::Solid
                }
                State::EndLoop => return Err(unexpected(token, "`endfacet`")),
            };
            if state == State::Outside || (state == State::Solid && is(b"solid")) {
                break; // A solid's name, or what follows `endsolid`, is not grammar.
            }
        }
    }
    let mut notes = Vec::new();
    match state {
        State::Outside => {}
        State::Solid => notes.push("the last solid has no `endsolid`".into()),
        _ => {
            return Err(ReadError::new(
                Format::Stl,
                Location::Line(src.line()),
                ErrorKind::Truncated { reading: format!("facet {}", triangles.len()) },
            ))
        }
    }
    if solids > 1 {
        notes.push(format!("{solids} solids merged into one mesh"));
    }
    Ok(finish(welder, triangles, FileFormat::StlAscii, declared_unit, notes))
}

fn finish(
    welder: Welder,
    triangles: Vec<[u32; 3]>,
    format: FileFormat,
    declared_unit: Option<Unit>,
    mut notes: Vec<String>,
) -> Parsed {
    if !triangles.is_empty() {
        notes.push(format!(
            "welded {} facet corners into {} vertices by exact position",
            triangles.len() * 3,
            welder.positions.len()
        ));
    }
    let mesh = Mesh::from_checked(welder.positions, triangles);
    Parsed { mesh, format, declared_unit, notes }
}

/// A `unit=mm` or `units=cm` word in a solid name or binary header (our writer puts one there).
fn unit_in(text: &[u8]) -> Option<Unit> {
    text.split(|b| b.is_ascii_whitespace() || *b == 0).find_map(|word| {
        let word = std::str::from_utf8(word).ok()?.to_ascii_lowercase();
        let unit = word.strip_prefix("units=").or_else(|| word.strip_prefix("unit="))?;
        Unit::from_str(unit).ok()
    })
}

/// Welds corners into shared vertices by exact position.
struct Welder {
    map: HashMap<WeldKey, u32, WeldHasherBuilder>,
    positions: Vec<[f32; 3]>,
}

impl Welder {
    fn with_capacity(triangles: usize) -> Welder {
        // A closed surface has about half as many vertices as triangles; an open scan a bit more.
        let mut map = HashMap::with_hasher(WeldHasherBuilder::new());
        map.reserve(triangles);
        Welder { map, positions: Vec::with_capacity(triangles / 2 + 3) }
    }

    /// The index of the vertex at `p`, added if new. `corner` numbers the corner for errors.
    fn index(&mut self, p: [f32; 3], corner: u64) -> Result<u32, ErrorKind> {
        if !p.iter().all(|c| c.is_finite()) {
            return Err(ErrorKind::NonFinite { vertex: corner, what: "position" });
        }
        let key = WeldKey(p.map(|c| if c == 0.0 { 0 } else { c.to_bits() }));
        match self.map.entry(key) {
            Entry::Occupied(e) => Ok(*e.get()),
            Entry::Vacant(e) => {
                let index = u32::try_from(self.positions.len()).map_err(|_| ErrorKind::Inconsistent {
                    what: "more than 2^32 distinct vertices".into(),
                })?;
                e.insert(index);
                self.positions.push(p);
                Ok(index)
            }
        }
    }
}

/// Position bits, hashed as one u64 and one u32.
#[derive(Clone, Copy, PartialEq, Eq)]
struct WeldKey([u32; 3]);

impl Hash for WeldKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(u64::from(self.0[0]) | u64::from(self.0[1]) << 32);
        h.write_u32(self.0[2]);
    }
}

/// A fast hasher for weld keys: a folded 64×64→128-bit multiply per word, with secret per-map
/// seeds. SipHash would cost a large share of the read time; an unseeded FxHash would let a
/// crafted file make every key collide and welding quadratic.
#[derive(Clone, Copy)]
struct WeldHasherBuilder {
    seeds: [u64; 2],
}

impl WeldHasherBuilder {
    fn new() -> Self {
        let s = RandomState::new();
        WeldHasherBuilder { seeds: [s.hash_one(0x5eed_u64), s.hash_one(0x5eed_u64 + 1) | 1] }
    }
}

impl BuildHasher for WeldHasherBuilder {
    type Hasher = WeldHasher;
    fn build_hasher(&self) -> WeldHasher {
        WeldHasher { acc: self.seeds[0], seed: self.seeds[1] }
    }
}

struct WeldHasher {
    acc: u64,
    seed: u64,
}

impl Hasher for WeldHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut a = [0u8; 8];
            a[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(a));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        let full = u128::from(self.acc ^ v) * u128::from(self.seed);
        self.acc = (full as u64) ^ ((full >> 64) as u64);
    }
    fn finish(&self) -> u64 {
        self.acc
    }
}

/// Write `mesh` as STL in millimetres. Facet normals are computed from each triangle (zero for a
/// degenerate one); vertex normals, colours and uvs cannot be stored in STL.
pub fn write<W: Write>(mesh: &Mesh, encoding: Encoding, mut w: W) -> io::Result<()> {
    let positions = mesh.positions();
    let corner = |i: u32| {
        positions
            .get(i as usize)
            .copied()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "triangle index out of range"))
    };
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 1024);
    match encoding {
        Encoding::Binary => {
            let count = u32::try_from(mesh.triangle_count()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "binary STL holds at most 2^32-1 triangles")
            })?;
            let mut header = [b' '; HEADER];
            header[..BINARY_HEADER.len()].copy_from_slice(BINARY_HEADER);
            buf.extend_from_slice(&header);
            buf.extend_from_slice(&count.to_le_bytes());
            for t in mesh.triangles() {
                let p = [corner(t[0])?, corner(t[1])?, corner(t[2])?];
                for v in std::iter::once(facet_normal(p)).chain(p) {
                    for c in v {
                        buf.extend_from_slice(&c.to_le_bytes());
                    }
                }
                buf.extend_from_slice(&[0, 0]);
                if buf.len() >= CHUNK_BYTES {
                    w.write_all(&buf)?;
                    buf.clear();
                }
            }
        }
        Encoding::Ascii => {
            buf.extend_from_slice(b"solid facevault unit=mm\n");
            for t in mesh.triangles() {
                let p = [corner(t[0])?, corner(t[1])?, corner(t[2])?];
                let n = facet_normal(p);
                writeln!(buf, "facet normal {} {} {}\n outer loop", n[0], n[1], n[2])?;
                for v in p {
                    writeln!(buf, "  vertex {} {} {}", v[0], v[1], v[2])?;
                }
                buf.extend_from_slice(b" endloop\nendfacet\n");
                if buf.len() >= CHUNK_BYTES {
                    w.write_all(&buf)?;
                    buf.clear();
                }
            }
            buf.extend_from_slice(b"endsolid facevault\n");
        }
    }
    w.write_all(&buf)?;
    w.flush()
}

const CHUNK_BYTES: usize = 1 << 16;

/// The unit normal of a triangle, or zero when it has no area. Computed in f64 so that large
/// coordinates cannot overflow the cross product.
fn facet_normal(p: [[f32; 3]; 3]) -> [f32; 3] {
    let d = |a: [f32; 3], b: [f32; 3]| [0, 1, 2].map(|k| f64::from(b[k]) - f64::from(a[k]));
    let (u, v) = (d(p[0], p[1]), d(p[0], p[2]));
    let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 && len.is_finite() {
        n.map(|c| (c / len) as f32)
    } else {
        [0.0; 3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_in_names() {
        assert_eq!(unit_in(b"solid facevault unit=mm"), Some(Unit::Millimetre));
        assert_eq!(unit_in(b"FaceVault binary STL Units=CM\0\0"), Some(Unit::Centimetre));
        assert_eq!(unit_in(b"solid part unit"), None);
        assert_eq!(unit_in(b"solid part unit=parsec"), None);
    }

    #[test]
    fn normals_are_unit_or_zero() {
        assert_eq!(facet_normal([[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), [0.0, 0.0, 1.0]);
        assert_eq!(facet_normal([[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]), [0.0; 3]);
        let big = f32::MAX;
        let n = facet_normal([[-big, -big, 0.0], [big, -big, 0.0], [-big, big, 0.0]]);
        assert_eq!(n, [0.0, 0.0, 1.0]);
    }

    #[test]
    fn welding_treats_signed_zeros_alike() {
        let mut w = Welder::with_capacity(4);
        assert_eq!(w.index([0.0, 1.0, 2.0], 0), Ok(0));
        assert_eq!(w.index([-0.0, 1.0, 2.0], 1), Ok(0));
        assert_eq!(w.index([0.0, 1.0, 2.5], 2), Ok(1));
        assert_eq!(
            w.index([f32::NAN, 1.0, 2.5], 3),
            Err(ErrorKind::NonFinite { vertex: 3, what: "position" })
        );
        assert_eq!(w.positions, vec![[0.0, 1.0, 2.0], [0.0, 1.0, 2.5]]);
    }
}
