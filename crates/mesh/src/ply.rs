//! PLY (Stanford polygon format): ascii, binary little-endian and binary big-endian.
//!
//! The reader keeps vertex positions, normals, colours and texture coordinates and the face
//! index lists (polygons fan-triangulated); every other element and property is skipped. It
//! streams from the [`Source`]: binary records are decoded in chunks of whole records, with a
//! fast path for the common `list uchar int vertex_indices` triangle faces.
//!
//! Record numbers in errors are 0-based, like mesh indices; ascii line numbers are 1-based.

use std::io::{self, BufRead, Write};
use std::str::FromStr;

use crate::error::{ErrorKind, Location, ReadError};
use crate::format::{FileFormat, Format, Parsed};
use crate::input::{self, capacity_for, Source, MAX_POLYGON};
use crate::mesh::Mesh;
use crate::unit::Unit;

/// PLY encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Ascii,
    BinaryLittleEndian,
    BinaryBigEndian,
}

impl Encoding {
    fn header_name(self) -> &'static str {
        match self {
            Encoding::Ascii => "ascii",
            Encoding::BinaryLittleEndian => "binary_little_endian",
            Encoding::BinaryBigEndian => "binary_big_endian",
        }
    }
}

/// A header longer than this is not a mesh export.
const MAX_HEADER_LINES: usize = 1000;
const MAX_HEADER_BYTES: u64 = 1 << 16;

/// Binary data is copied from the source and decoded this many bytes at a time.
const CHUNK: usize = 1 << 16;

// ---------------------------------------------------------------------------------------------
// Header

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn from_name(name: &[u8]) -> Option<Scalar> {
        Some(match name {
            b"char" | b"int8" => Scalar::I8,
            b"uchar" | b"uint8" => Scalar::U8,
            b"short" | b"int16" => Scalar::I16,
            b"ushort" | b"uint16" => Scalar::U16,
            b"int" | b"int32" => Scalar::I32,
            b"uint" | b"uint32" => Scalar::U32,
            b"float" | b"float32" => Scalar::F32,
            b"double" | b"float64" => Scalar::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::F64 => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Scalar::F32 | Scalar::F64)
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Scalar(Scalar),
    List { count: Scalar, item: Scalar },
}

#[derive(Debug)]
struct Property {
    name: String,
    kind: Kind,
}

#[derive(Debug)]
struct Element {
    name: String,
    count: u64,
    props: Vec<Property>,
    /// Byte offset of the `element` line, for header errors about this element.
    at: u64,
}

impl Element {
    /// The fixed record size in binary, when every property is a scalar.
    fn fixed_size(&self) -> Option<usize> {
        self.props.iter().try_fold(0, |sum, p| match p.kind {
            Kind::Scalar(ty) => Some(sum + ty.size()),
            Kind::List { .. } => None,
        })
    }

    /// The fewest bytes one record can take: scalars and list counts in binary, one character
    /// and a separator per property in ascii.
    fn min_record(&self, encoding: Encoding) -> u64 {
        if encoding == Encoding::Ascii {
            return 2 * self.props.len() as u64;
        }
        self.props
            .iter()
            .map(|p| match p.kind {
                Kind::Scalar(ty) => ty.size() as u64,
                Kind::List { count, .. } => count.size() as u64,
            })
            .sum()
    }
}

struct Header {
    encoding: Encoding,
    elements: Vec<Element>,
    declared_unit: Option<Unit>,
    notes: Vec<String>,
}

fn fail(at: Location, kind: ErrorKind) -> ReadError {
    ReadError::new(Format::Ply, at, kind)
}

fn bad_header(at: u64, reason: String) -> ReadError {
    fail(Location::Byte(at), ErrorKind::BadHeader { reason })
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(80).collect()
}

fn parse_header<R: BufRead>(src: &mut Source<R>) -> Result<Header, ReadError> {
    let mut line = Vec::new();
    let first = src.read_line(&mut line).map_err(|k| fail(Location::Byte(0), k))?;
    if !first || line.trim_ascii() != b"ply" {
        return Err(bad_header(0, format!("the first line is {:?}, not `ply`", show(&line))));
    }
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    let mut declared_unit = None;
    let mut notes = Vec::new();
    for _ in 1..MAX_HEADER_LINES {
        let at = src.offset();
        if at > MAX_HEADER_BYTES {
            break;
        }
        if !src.read_line(&mut line).map_err(|k| fail(Location::Byte(at), k))? {
            let reading = "the header (no `end_header` yet)".to_string();
            return Err(fail(Location::Byte(at), ErrorKind::Truncated { reading }));
        }
        let tokens: Vec<&[u8]> = line.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty()).collect();
        let Some(&keyword) = tokens.first() else { continue };
        let shown = || show(&line);
        match keyword {
            b"comment" => {
                let text = line.trim_ascii_start().get(7..).unwrap_or_default();
                match unit_from_comment(&String::from_utf8_lossy(text)) {
                    Some(Ok(unit)) if declared_unit.is_none() => declared_unit = Some(unit),
                    Some(Ok(unit)) if declared_unit != Some(unit) => {
                        notes.push(format!("ignored a second unit comment {:?}", shown()));
                    }
                    Some(Err(e)) => notes.push(format!("ignored unit comment {:?}: {e}", shown())),
                    _ => {}
                }
            }
            b"obj_info" => {}
            b"format" => {
                if encoding.is_some() {
                    return Err(bad_header(at, format!("a second format line {:?}", shown())));
                }
                let [_, name, version] = tokens[..] else {
                    return Err(bad_header(
                        at,
                        format!("format line {:?} is not `format TYPE 1.0`", shown()),
                    ));
                };
                encoding = Some(match name {
                    b"ascii" => Encoding::Ascii,
                    b"binary_little_endian" => Encoding::BinaryLittleEndian,
                    b"binary_big_endian" => Encoding::BinaryBigEndian,
                    _ => return Err(bad_header(at, format!("unknown format {:?}", show(name)))),
                });
                if version != b"1.0" && version != b"1" {
                    return Err(bad_header(at, format!("unsupported PLY version {:?}", show(version))));
                }
            }
            b"element" => {
                let [_, name, count] = tokens[..] else {
                    return Err(bad_header(
                        at,
                        format!("element line {:?} is not `element NAME COUNT`", shown()),
                    ));
                };
                let count =
                    std::str::from_utf8(count).ok().and_then(|c| c.parse::<u64>().ok()).ok_or_else(|| {
                        bad_header(
                            at,
                            format!("element count {:?} is not a non-negative integer", show(count)),
                        )
                    })?;
                let name = String::from_utf8_lossy(name).into_owned();
                if (name == "vertex" || name == "face") && elements.iter().any(|e| e.name == name) {
                    return Err(bad_header(at, format!("a second `{name}` element")));
                }
                elements.push(Element { name, count, props: Vec::new(), at });
            }
            b"property" => {
                let Some(element) = elements.last_mut() else {
                    return Err(bad_header(at, format!("property {:?} before any element", shown())));
                };
                let (kind, name) = match tokens[..] {
                    [_, b"list", count, item, name] => {
                        let count = scalar(at, count)?;
                        if count.is_float() {
                            return Err(bad_header(at, format!("list count type in {:?} is not an integer type", shown())));
                        }
                        (Kind::List { count, item: scalar(at, item)? }, name)
                    }
                    [_, ty, name] if ty != b"list" => (Kind::Scalar(scalar(at, ty)?), name),
                    _ => {
                        return Err(bad_header(
                            at,
                            format!("property line {:?} is not `property TYPE NAME` or `property list COUNT ITEM NAME`", shown()),
                        ))
                    }
                };
                let name = String::from_utf8_lossy(name).into_owned();
                if element.props.iter().any(|p| p.name == name) {
                    return Err(bad_header(
                        at,
                        format!("element `{}` declares property `{name}` twice", element.name),
                    ));
                }
                element.props.push(Property { name, kind });
            }
            b"end_header" => {
                let Some(encoding) = encoding else {
                    return Err(bad_header(at, "the header has no `format` line".into()));
                };
                for e in &elements {
                    if e.props.is_empty() && e.count > 0 {
                        return Err(bad_header(
                            e.at,
                            format!("element `{}` has records but no properties", e.name),
                        ));
                    }
                }
                return Ok(Header { encoding, elements, declared_unit, notes });
            }
            _ => {
                return Err(bad_header(
                    at,
                    format!("unknown header keyword {:?} in line {:?}", show(keyword), shown()),
                ))
            }
        }
    }
    Err(bad_header(
        src.offset(),
        format!("no `end_header` within {MAX_HEADER_LINES} lines or {MAX_HEADER_BYTES} bytes"),
    ))
}

fn scalar(at: u64, name: &[u8]) -> Result<Scalar, ReadError> {
    Scalar::from_name(name).ok_or_else(|| bad_header(at, format!("unknown property type {:?}", show(name))))
}

/// `unit mm`, `units: cm`, `Units millimeters` → the unit; `None` when the comment is not
/// about units at all.
fn unit_from_comment(text: &str) -> Option<Result<Unit, String>> {
    let lower = text.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("units").or_else(|| lower.strip_prefix("unit"))?;
    let sep = |c: char| c.is_ascii_whitespace() || c == ':' || c == '=';
    if !rest.starts_with(sep) {
        return None;
    }
    Some(Unit::from_str(rest.trim_start_matches(sep)))
}

// ---------------------------------------------------------------------------------------------
// What to do with each element

/// What the reader does with one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Skip,
    Keep,
    Indices,
}

/// Where one kept vertex value lives: property index (ascii and list-bearing records) and byte
/// offset in a fixed-size binary record.
#[derive(Clone, Copy, Debug)]
struct Field {
    prop: usize,
    off: usize,
    ty: Scalar,
}

#[derive(Clone, Debug)]
struct VertexLayout {
    pos: [Field; 3],
    normal: Option<[Field; 3]>,
    color: Option<[Field; 3]>,
    alpha: Option<Field>,
    uv: Option<[Field; 2]>,
}

enum Role {
    Vertex(Box<VertexLayout>),
    Face,
    Other,
}

struct Plan {
    el: Element,
    uses: Vec<Use>,
    role: Role,
}

fn plan(elements: Vec<Element>, notes: &mut Vec<String>) -> Result<Vec<Plan>, ReadError> {
    let mut plans = Vec::with_capacity(elements.len());
    let mut saw_vertex = false;
    for el in elements {
        let (uses, role) = match el.name.as_str() {
            "vertex" => {
                saw_vertex = true;
                let (uses, layout) = vertex_layout(&el, notes)?;
                (uses, Role::Vertex(Box::new(layout)))
            }
            "face" => (face_uses(&el, notes)?, Role::Face),
            _ => {
                if el.count > 0 {
                    let s = if el.count == 1 { "" } else { "s" };
                    notes.push(format!("skipped element `{}` ({} record{s})", el.name, el.count));
                }
                (vec![Use::Skip; el.props.len()], Role::Other)
            }
        };
        plans.push(Plan { el, uses, role });
    }
    if !saw_vertex {
        return Err(bad_header(0, "the header declares no `vertex` element".into()));
    }
    Ok(plans)
}

fn vertex_layout(el: &Element, notes: &mut Vec<String>) -> Result<(Vec<Use>, VertexLayout), ReadError> {
    const NAMES: [&[&str]; 12] = [
        &["x"],
        &["y"],
        &["z"],
        &["nx", "normal_x"],
        &["ny", "normal_y"],
        &["nz", "normal_z"],
        &["red", "r", "diffuse_red"],
        &["green", "g", "diffuse_green"],
        &["blue", "b", "diffuse_blue"],
        &["alpha", "a", "diffuse_alpha"],
        &["u", "s", "texture_u", "texture_s"],
        &["v", "t", "texture_v", "texture_t"],
    ];
    let mut slots: [Option<Field>; 12] = [None; 12];
    let mut off = 0;
    for (prop, p) in el.props.iter().enumerate() {
        let slot = NAMES.iter().position(|names| names.contains(&p.name.as_str()));
        match (slot, p.kind) {
            (Some(s), Kind::Scalar(ty)) => {
                if let Some(entry @ None) = slots.get_mut(s) {
                    *entry = Some(Field { prop, off, ty });
                }
            }
            (Some(_), Kind::List { .. }) => {
                return Err(bad_header(
                    el.at,
                    format!("vertex property `{}` is a list, not a number", p.name),
                ));
            }
            (None, _) => {}
        }
        off += match p.kind {
            Kind::Scalar(ty) => ty.size(),
            Kind::List { .. } => 0,
        };
    }
    let [x, y, z, nx, ny, nz, r, g, b, a, u, v] = slots;
    let mut missing = ["x", "y", "z"].iter().zip([x, y, z]).filter(|(_, f)| f.is_none()).map(|(n, _)| *n);
    if let Some(name) = missing.next() {
        return Err(bad_header(el.at, format!("the vertex element has no `{name}` property")));
    }
    let (Some(x), Some(y), Some(z)) = (x, y, z) else {
        return Err(bad_header(el.at, "the vertex element has no position".into()));
    };
    let mut partial = |what: &str, got: usize, of: usize| {
        if got > 0 && got < of {
            notes.push(format!("ignored incomplete vertex {what}s ({got} of {of} components)"));
        }
    };
    let count = |fs: &[Option<Field>]| fs.iter().filter(|f| f.is_some()).count();
    partial("normal", count(&[nx, ny, nz]), 3);
    partial("colour", count(&[r, g, b]), 3);
    partial("texture coordinate", count(&[u, v]), 2);
    let layout = VertexLayout {
        pos: [x, y, z],
        normal: nx.zip(ny).zip(nz).map(|((a, b), c)| [a, b, c]),
        color: r.zip(g).zip(b).map(|((a, b), c)| [a, b, c]),
        alpha: a.filter(|_| r.is_some() && g.is_some() && b.is_some()),
        uv: u.zip(v).map(|(a, b)| [a, b]),
    };
    let mut uses = vec![Use::Skip; el.props.len()];
    let kept = layout.pos.iter().chain(layout.normal.iter().flatten());
    let kept = kept.chain(layout.color.iter().flatten()).chain(layout.alpha.iter());
    for f in kept.chain(layout.uv.iter().flatten()) {
        if let Some(u) = uses.get_mut(f.prop) {
            *u = Use::Keep;
        }
    }
    let skipped: Vec<&str> =
        el.props.iter().zip(&uses).filter(|(_, u)| **u == Use::Skip).map(|(p, _)| p.name.as_str()).collect();
    if !skipped.is_empty() && el.count > 0 {
        notes.push(format!("skipped vertex properties: {}", skipped.join(", ")));
    }
    Ok((uses, layout))
}

fn face_uses(el: &Element, notes: &mut Vec<String>) -> Result<Vec<Use>, ReadError> {
    let list = el.props.iter().position(|p| p.name == "vertex_indices" || p.name == "vertex_index");
    let Some(list) = list else {
        return Err(bad_header(el.at, "the face element has no `vertex_indices` list".into()));
    };
    match el.props.get(list).map(|p| p.kind) {
        Some(Kind::List { item, .. }) if !item.is_float() => {}
        _ => {
            return Err(bad_header(el.at, "face `vertex_indices` is not a list of integers".into()));
        }
    }
    let mut uses = vec![Use::Skip; el.props.len()];
    if let Some(u) = uses.get_mut(list) {
        *u = Use::Indices;
    }
    let skipped: Vec<&str> =
        el.props.iter().zip(&uses).filter(|(_, u)| **u == Use::Skip).map(|(p, _)| p.name.as_str()).collect();
    if !skipped.is_empty() && el.count > 0 {
        notes.push(format!("skipped face properties: {}", skipped.join(", ")));
    }
    Ok(uses)
}

// ---------------------------------------------------------------------------------------------
// Where decoded records go

struct VertexSink {
    layout: VertexLayout,
    positions: Vec<[f32; 3]>,
    normals: Option<Vec<[f32; 3]>>,
    colors: Option<Vec<[u8; 4]>>,
    uvs: Option<Vec<[f32; 2]>>,
}

impl VertexSink {
    fn new(layout: VertexLayout, capacity: usize) -> Self {
        VertexSink {
            positions: Vec::with_capacity(capacity),
            normals: layout.normal.map(|_| Vec::with_capacity(capacity)),
            colors: layout.color.map(|_| Vec::with_capacity(capacity)),
            uvs: layout.uv.map(|_| Vec::with_capacity(capacity)),
            layout,
        }
    }

    /// The byte offsets of x, y, z when they are all float and no other attribute is kept.
    fn f32_positions_only(&self) -> Option<[usize; 3]> {
        let l = &self.layout;
        let only = l.normal.is_none() && l.color.is_none() && l.uv.is_none();
        (only && l.pos.iter().all(|f| f.ty == Scalar::F32)).then(|| l.pos.map(|f| f.off))
    }

    /// Append vertex `v`, whose values `get` decodes.
    #[inline(always)]
    fn push(&mut self, v: u64, get: impl Fn(Field) -> f64) -> Result<(), ErrorKind> {
        let [x, y, z] = self.layout.pos;
        let p = [get(x) as f32, get(y) as f32, get(z) as f32];
        if !(p[0].is_finite() && p[1].is_finite() && p[2].is_finite()) {
            return Err(ErrorKind::NonFinite { vertex: v, what: "position" });
        }
        self.positions.push(p);
        if let (Some([a, b, c]), Some(out)) = (self.layout.normal, self.normals.as_mut()) {
            let n = [get(a) as f32, get(b) as f32, get(c) as f32];
            if !n.iter().all(|c| c.is_finite()) {
                return Err(ErrorKind::NonFinite { vertex: v, what: "normal" });
            }
            out.push(n);
        }
        if let (Some([r, g, b]), Some(out)) = (self.layout.color, self.colors.as_mut()) {
            let alpha = self.layout.alpha.map_or(255, |a| color_u8(get(a), a.ty));
            out.push([color_u8(get(r), r.ty), color_u8(get(g), g.ty), color_u8(get(b), b.ty), alpha]);
        }
        if let (Some([s, t]), Some(out)) = (self.layout.uv, self.uvs.as_mut()) {
            let uv = [get(s) as f32, get(t) as f32];
            if !uv.iter().all(|c| c.is_finite()) {
                return Err(ErrorKind::NonFinite { vertex: v, what: "uv" });
            }
            out.push(uv);
        }
        Ok(())
    }
}

/// Integer channels are 0-255 (16-bit ones are scaled down); float channels are 0-1.
fn color_u8(value: f64, ty: Scalar) -> u8 {
    match ty {
        Scalar::F32 | Scalar::F64 => (value.clamp(0.0, 1.0) * 255.0).round() as u8,
        Scalar::U16 => (value / 257.0).round() as u8,
        _ => value.clamp(0.0, 255.0) as u8,
    }
}

struct FaceSink {
    triangles: Vec<[u32; 3]>,
    /// The declared vertex count: indices are checked against it whatever the element order.
    vertices: u64,
    polygons: u64,
}

impl FaceSink {
    fn push(&mut self, face: u64, idx: &[i64]) -> Result<(), ErrorKind> {
        let mut checked = [0u32; 3];
        let vertices = self.vertices;
        let check = |index: i64| {
            u32::try_from(index).ok().filter(|&i| u64::from(i) < vertices).ok_or(ErrorKind::BadIndex {
                face,
                index,
                vertices,
            })
        };
        let [first, rest @ ..] = idx else {
            return Err(ErrorKind::TooFewVertices { face, len: 0 });
        };
        checked[0] = check(*first)?;
        if rest.len() > 2 {
            self.polygons += 1;
        }
        for (k, &i) in rest.iter().enumerate() {
            checked[2] = check(i)?;
            if k > 0 {
                self.triangles.push(checked);
            }
            checked[1] = checked[2];
        }
        Ok(())
    }
}

/// A list length from the file; for face indices, also within polygon limits.
fn list_len(el: &Element, rec: u64, n: i64, u: Use) -> Result<u64, ErrorKind> {
    let len = u64::try_from(n).map_err(|_| ErrorKind::Inconsistent {
        what: format!("{} {rec} has a list of negative length {n}", el.name),
    })?;
    if u == Use::Indices {
        if len > MAX_POLYGON {
            return Err(ErrorKind::ListTooLong { face: rec, len, max: MAX_POLYGON });
        }
        if len < 3 {
            return Err(ErrorKind::TooFewVertices { face: rec, len });
        }
    }
    Ok(len)
}

fn truncated(el: &Element, rec: u64) -> ErrorKind {
    ErrorKind::Truncated { reading: format!("{} {rec} of {}", el.name, el.count) }
}

struct Body {
    vertices: Option<VertexSink>,
    faces: FaceSink,
}

// ---------------------------------------------------------------------------------------------
// Reading

pub(crate) fn parse<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    let Header { encoding, elements, declared_unit, mut notes } = parse_header(src)?;
    let vertex_count = elements.iter().find(|e| e.name == "vertex").map_or(0, |e| e.count);
    if vertex_count > u64::from(u32::MAX) {
        return Err(fail(
            Location::Byte(src.offset()),
            ErrorKind::Unsupported {
                what: format!("{vertex_count} vertices; 32-bit indices reach {}", u32::MAX),
            },
        ));
    }
    let plans = plan(elements, &mut notes)?;
    let faces = FaceSink { triangles: Vec::new(), vertices: vertex_count, polygons: 0 };
    let body = Body { vertices: None, faces };
    let (body, format) = match encoding {
        Encoding::Ascii => (read_ascii(src, &plans, body, &mut notes)?, FileFormat::PlyAscii),
        Encoding::BinaryLittleEndian => {
            (read_binary(src, &plans, body, false, &mut notes)?, FileFormat::PlyBinaryLittleEndian)
        }
        Encoding::BinaryBigEndian => {
            (read_binary(src, &plans, body, true, &mut notes)?, FileFormat::PlyBinaryBigEndian)
        }
    };
    let Body { vertices, faces } = body;
    if faces.polygons > 0 {
        notes.push(format!("fan-triangulated {} faces with more than 3 vertices", faces.polygons));
    }
    let end = Location::Byte(src.offset());
    let Some(VertexSink { positions, normals, colors, uvs, .. }) = vertices else {
        return Err(bad_header(0, "the header declares no `vertex` element".into()));
    };
    let mismatch = |e: crate::error::MeshError| fail(end, ErrorKind::Inconsistent { what: e.to_string() });
    let mut mesh = Mesh::from_checked(positions, faces.triangles);
    if let Some(n) = normals {
        mesh = mesh.with_normals(n).map_err(mismatch)?;
    }
    if let Some(c) = colors {
        mesh = mesh.with_colors(c).map_err(mismatch)?;
    }
    if let Some(t) = uvs {
        mesh = mesh.with_uvs(t).map_err(mismatch)?;
    }
    Ok(Parsed { mesh, format, declared_unit, notes })
}

/// Binary records, copied from the source into a buffer of whole records and decoded there.
///
/// Fast paths may instead decode straight from the source's own buffer ("direct"), which saves
/// a copy of every byte when nothing is pending here.
struct BinReader<'s, R> {
    src: &'s mut Source<R>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    big: bool,
    direct: bool,
}

impl<R: BufRead> BinReader<'_, R> {
    /// The byte offset of the next undecoded byte.
    fn offset(&self) -> u64 {
        self.src.offset() - (self.end - self.pos) as u64
    }

    fn remaining(&self) -> Option<u64> {
        self.src.remaining().map(|r| r + (self.end - self.pos) as u64)
    }

    fn avail(&mut self) -> &[u8] {
        if self.direct {
            // `fill_any` has just filled the source's buffer, so this does no I/O.
            return self.src.fill_buf().unwrap_or_default();
        }
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    fn advance(&mut self, n: usize) {
        if self.direct {
            self.src.consume(n);
        } else {
            self.pos = (self.pos + n).min(self.end);
        }
    }

    /// Like [`BinReader::fill`], but when nothing is pending here and the source's buffer
    /// already holds `n` bytes, [`BinReader::avail`] shows that buffer itself (no copy).
    fn fill_any(&mut self, n: usize) -> Result<bool, ErrorKind> {
        if self.pos == self.end && self.src.fill_buf()?.len() >= n {
            self.direct = true;
            return Ok(true);
        }
        self.fill(n)
    }

    /// Make at least `n` bytes available in this reader's buffer, reading ahead as far as the
    /// buffer allows. `false` when the input ends first.
    fn fill(&mut self, n: usize) -> Result<bool, ErrorKind> {
        self.direct = false;
        if self.end - self.pos >= n {
            return Ok(true);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        while self.end < n {
            let avail = self.src.fill_buf()?;
            if avail.is_empty() {
                return Ok(false);
            }
            let space = self.buf.get_mut(self.end..).unwrap_or_default();
            let k = avail.len().min(space.len());
            if let (Some(to), Some(from)) = (space.get_mut(..k), avail.get(..k)) {
                to.copy_from_slice(from);
            }
            self.src.consume(k);
            self.end += k;
        }
        Ok(true)
    }

    /// The next `n` bytes, consumed; `None` when the input ends first.
    fn take(&mut self, n: usize) -> Result<Option<&[u8]>, ErrorKind> {
        if !self.fill(n)? {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += n;
        Ok(self.buf.get(start..start + n))
    }

    /// Discard `n` bytes without buffering them; `false` when the input ends first.
    fn skip(&mut self, mut n: u64) -> Result<bool, ErrorKind> {
        let here = n.min((self.end - self.pos) as u64);
        self.pos += here as usize;
        n -= here;
        while n > 0 {
            let avail = self.src.fill_buf()?.len();
            if avail == 0 {
                return Ok(false);
            }
            let k = n.min(avail as u64);
            self.src.consume(k as usize);
            n -= k;
        }
        Ok(true)
    }
}

/// Decode a number from the first bytes of `b` (callers pass at least `ty.size()` bytes).
#[inline(always)]
fn get_f64(b: &[u8], ty: Scalar, big: bool) -> f64 {
    macro_rules! read {
        ($t:ty) => {
            match b.first_chunk() {
                Some(a) if big => <$t>::from_be_bytes(*a),
                Some(a) => <$t>::from_le_bytes(*a),
                None => return f64::NAN,
            }
        };
    }
    match ty {
        Scalar::I8 => f64::from(read!(i8)),
        Scalar::U8 => f64::from(read!(u8)),
        Scalar::I16 => f64::from(read!(i16)),
        Scalar::U16 => f64::from(read!(u16)),
        Scalar::I32 => f64::from(read!(i32)),
        Scalar::U32 => f64::from(read!(u32)),
        Scalar::F32 => f64::from(read!(f32)),
        Scalar::F64 => read!(f64),
    }
}

/// Decode an integer (list counts and indices; the header makes sure their types are integers).
#[inline(always)]
fn get_i64(b: &[u8], ty: Scalar, big: bool) -> i64 {
    macro_rules! read {
        ($t:ty) => {
            match b.first_chunk() {
                Some(a) if big => <$t>::from_be_bytes(*a),
                Some(a) => <$t>::from_le_bytes(*a),
                None => return i64::MIN,
            }
        };
    }
    match ty {
        Scalar::I8 => i64::from(read!(i8)),
        Scalar::U8 => i64::from(read!(u8)),
        Scalar::I16 => i64::from(read!(i16)),
        Scalar::U16 => i64::from(read!(u16)),
        Scalar::I32 => i64::from(read!(i32)),
        Scalar::U32 => i64::from(read!(u32)),
        Scalar::F32 => read!(f32) as i64,
        Scalar::F64 => read!(f64) as i64,
    }
}

fn read_binary<R: BufRead>(
    src: &mut Source<R>,
    plans: &[Plan],
    mut body: Body,
    big: bool,
    notes: &mut Vec<String>,
) -> Result<Body, ReadError> {
    let mut r = BinReader { src, buf: vec![0; CHUNK], pos: 0, end: 0, big, direct: false };
    let encoding = if big { Encoding::BinaryBigEndian } else { Encoding::BinaryLittleEndian };
    for plan in plans {
        let el = &plan.el;
        let at = r.offset();
        let cap = capacity_for(&el.name, el.count, el.min_record(encoding), r.remaining())
            .map_err(|k| fail(Location::Byte(at), k))?;
        match &plan.role {
            Role::Vertex(layout) => {
                let mut sink = VertexSink::new(VertexLayout::clone(layout), cap);
                read_vertices_binary(&mut r, plan, &mut sink)?;
                body.vertices = Some(sink);
            }
            Role::Face => {
                body.faces.triangles.reserve_exact(cap);
                read_faces_binary(&mut r, plan, &mut body.faces)?;
            }
            Role::Other => skip_element_binary(&mut r, plan)?,
        }
    }
    let mut trailing = (r.end - r.pos) as u64;
    loop {
        let at = Location::Byte(r.src.offset());
        let n = r.src.fill_buf().map_err(|k| fail(at, k))?.len();
        if n == 0 {
            break;
        }
        r.src.consume(n);
        trailing += n as u64;
    }
    if trailing > 0 {
        notes.push(format!("ignored {trailing} bytes after the last element"));
    }
    Ok(body)
}

/// One record property by property, for records with lists or split across buffer refills.
fn read_record_binary<R: BufRead>(
    r: &mut BinReader<'_, R>,
    plan: &Plan,
    rec: u64,
    values: &mut [f64],
    idx: &mut Vec<i64>,
) -> Result<(), ErrorKind> {
    let (el, big) = (&plan.el, r.big);
    for (i, (prop, &u)) in el.props.iter().zip(&plan.uses).enumerate() {
        match prop.kind {
            Kind::Scalar(ty) => {
                let Some(b) = r.take(ty.size())? else { return Err(truncated(el, rec)) };
                if let (Use::Keep, Some(slot)) = (u, values.get_mut(i)) {
                    *slot = get_f64(b, ty, big);
                }
            }
            Kind::List { count, item } => {
                let Some(b) = r.take(count.size())? else { return Err(truncated(el, rec)) };
                let len = list_len(el, rec, get_i64(b, count, big), u)?;
                if u == Use::Indices {
                    // len <= MAX_POLYGON, so this fits the buffer.
                    let Some(b) = r.take(len as usize * item.size())? else {
                        return Err(truncated(el, rec));
                    };
                    idx.clear();
                    idx.extend(b.chunks_exact(item.size()).map(|c| get_i64(c, item, big)));
                } else if !r.skip(len.saturating_mul(item.size() as u64))? {
                    return Err(truncated(el, rec));
                }
            }
        }
    }
    Ok(())
}

fn read_vertices_binary<R: BufRead>(
    r: &mut BinReader<'_, R>,
    plan: &Plan,
    sink: &mut VertexSink,
) -> Result<(), ReadError> {
    let el = &plan.el;
    let big = r.big;
    let mut v = 0;
    let Some(size) = el.fixed_size().filter(|&s| s > 0) else {
        let mut values = vec![0.0; el.props.len()];
        let mut idx = Vec::new();
        while v < el.count {
            let at = Location::Byte(r.offset());
            read_record_binary(r, plan, v, &mut values, &mut idx).map_err(|k| fail(at, k))?;
            sink.push(v, |f| values.get(f.prop).copied().unwrap_or(f64::NAN)).map_err(|k| fail(at, k))?;
            v += 1;
        }
        return Ok(());
    };
    // Fixed-size records: decode every whole record in the buffer at precomputed offsets.
    while v < el.count {
        let start = r.offset();
        if !r.fill_any(size).map_err(|k| fail(Location::Byte(start), k))? {
            return Err(fail(Location::Byte(start), truncated(el, v)));
        }
        let avail = r.avail();
        let k = ((avail.len() / size) as u64).min(el.count - v) as usize;
        let records = avail.get(..k * size).unwrap_or_default();
        if let Some(offsets) = sink.f32_positions_only() {
            // The layout nearly every scanner writes: float positions and nothing else kept.
            let decoded = if big {
                push_f32_positions::<true>(&mut sink.positions, records, size, offsets)
            } else {
                push_f32_positions::<false>(&mut sink.positions, records, size, offsets)
            };
            if let Err(j) = decoded {
                let kind = ErrorKind::NonFinite { vertex: v + j as u64, what: "position" };
                return Err(fail(Location::Byte(start + (j * size) as u64), kind));
            }
        } else {
            for (j, rec) in records.chunks_exact(size).enumerate() {
                sink.push(v + j as u64, |f| get_f64(rec.get(f.off..).unwrap_or_default(), f.ty, big))
                    .map_err(|kind| fail(Location::Byte(start + (j * size) as u64), kind))?;
            }
        }
        r.advance(k * size);
        v += k as u64;
    }
    Ok(())
}

fn read_faces_binary<R: BufRead>(
    r: &mut BinReader<'_, R>,
    plan: &Plan,
    faces: &mut FaceSink,
) -> Result<(), ReadError> {
    let el = &plan.el;
    let big = r.big;
    // The common layout: the index list is the only property.
    let only_list = match el.props.as_slice() {
        [Property { kind: Kind::List { count, item }, .. }] => Some((*count, *item)),
        _ => None,
    };
    let mut values = vec![0.0; el.props.len()];
    let mut idx = Vec::new();
    let mut f = 0;
    while f < el.count {
        if let Some((ct, it)) = only_list {
            // Decode every whole triangle in the buffer; anything else goes the slow way.
            let (cs, is) = (ct.size(), it.size());
            let triangle = cs + 3 * is;
            let base = r.offset();
            let vertices = faces.vertices;
            // At the end of input this shows what is left; the general path below then reports
            // the truncation precisely.
            r.fill_any(triangle).map_err(|k| fail(Location::Byte(base), k))?;
            let avail = r.avail();
            let mut p = 0;
            if ct == Scalar::U8 && matches!(it, Scalar::I32 | Scalar::U32) {
                // The layout nearly every writer uses: uchar 3 then three 32-bit indices.
                let limit = ((avail.len() / triangle) as u64).min(el.count - f) as usize;
                let records = avail.get(..limit * triangle).unwrap_or_default();
                let n = if big {
                    push_u8_i32_triangles::<true>(&mut faces.triangles, records, vertices)
                } else {
                    push_u8_i32_triangles::<false>(&mut faces.triangles, records, vertices)
                };
                p = n * triangle;
                f += n as u64;
                // The record that stopped the fast loop (a polygon, or a bad index) is taken
                // below, by the general path, which reports it precisely.
            }
            while f < el.count {
                let Some(rec) = avail.get(p..p + triangle) else { break };
                if get_i64(rec, ct, big) != 3 {
                    break;
                }
                let at = |k: usize| get_i64(rec.get(cs + k * is..).unwrap_or_default(), it, big);
                let tri = [at(0), at(1), at(2)];
                if let Some(&index) = tri.iter().find(|&&i| !(0..vertices as i64).contains(&i)) {
                    let kind = ErrorKind::BadIndex { face: f, index, vertices };
                    return Err(fail(Location::Byte(base + p as u64), kind));
                }
                faces.triangles.push([tri[0] as u32, tri[1] as u32, tri[2] as u32]);
                p += triangle;
                f += 1;
            }
            r.advance(p);
            if f == el.count {
                break;
            }
        }
        let at = Location::Byte(r.offset());
        read_record_binary(r, plan, f, &mut values, &mut idx).map_err(|k| fail(at, k))?;
        faces.push(f, &idx).map_err(|k| fail(at, k))?;
        f += 1;
    }
    Ok(())
}

/// Decode float x, y, z at `offsets` from every `size`-byte record, appending to `out`.
/// `Err(j)` names the first record with a non-finite coordinate.
#[inline(never)]
fn push_f32_positions<const BIG: bool>(
    out: &mut Vec<[f32; 3]>,
    records: &[u8],
    size: usize,
    offsets: [usize; 3],
) -> Result<(), usize> {
    let f32_at = |rec: &[u8], o: usize| -> f32 {
        let b: [u8; 4] = rec.get(o..o + 4).and_then(|b| b.try_into().ok()).unwrap_or([0xff; 4]);
        if BIG {
            f32::from_be_bytes(b)
        } else {
            f32::from_le_bytes(b)
        }
    };
    for (j, rec) in records.chunks_exact(size).enumerate() {
        let p = [f32_at(rec, offsets[0]), f32_at(rec, offsets[1]), f32_at(rec, offsets[2])];
        if !(p[0].is_finite() & p[1].is_finite() & p[2].is_finite()) {
            return Err(j);
        }
        out.push(p);
    }
    Ok(())
}

/// Decode consecutive 13-byte `uchar 3, int a, int b, int c` records, appending triangles to
/// `out`, and stop at the first record that is not a triangle or has an index outside
/// `0..vertices`. Returns how many records were taken.
#[inline(never)]
fn push_u8_i32_triangles<const BIG: bool>(out: &mut Vec<[u32; 3]>, records: &[u8], vertices: u64) -> usize {
    let limit = u32::try_from(vertices).unwrap_or(u32::MAX);
    let u32_at = |b: &[u8]| -> u32 {
        let b: [u8; 4] = b.try_into().unwrap_or([0xff; 4]);
        if BIG {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut n = 0;
    for rec in records.chunks_exact(13) {
        let (Some(&3), Some(a), Some(b), Some(c)) =
            (rec.first(), rec.get(1..5), rec.get(5..9), rec.get(9..13))
        else {
            break;
        };
        // Negative i32 indices become huge u32 values, so one comparison checks both ends.
        let t = [u32_at(a), u32_at(b), u32_at(c)];
        if (t[0] >= limit) | (t[1] >= limit) | (t[2] >= limit) {
            break;
        }
        out.push(t);
        n += 1;
    }
    n
}

fn skip_element_binary<R: BufRead>(r: &mut BinReader<'_, R>, plan: &Plan) -> Result<(), ReadError> {
    let el = &plan.el;
    let at = Location::Byte(r.offset());
    if let Some(size) = el.fixed_size() {
        let bytes = el.count.saturating_mul(size as u64);
        if !r.skip(bytes).map_err(|k| fail(at, k))? {
            let reading = format!("element `{}` ({} records of {size} bytes)", el.name, el.count);
            return Err(fail(at, ErrorKind::Truncated { reading }));
        }
        return Ok(());
    }
    let mut idx = Vec::new();
    for rec in 0..el.count {
        let at = Location::Byte(r.offset());
        read_record_binary(r, plan, rec, &mut [], &mut idx).map_err(|k| fail(at, k))?;
    }
    Ok(())
}

fn read_ascii<R: BufRead>(
    src: &mut Source<R>,
    plans: &[Plan],
    mut body: Body,
    notes: &mut Vec<String>,
) -> Result<Body, ReadError> {
    let mut line = Vec::new();
    let mut idx = Vec::new();
    for plan in plans {
        let el = &plan.el;
        let at = Location::Byte(src.offset());
        let cap =
            src.check_count(&el.name, el.count, el.min_record(Encoding::Ascii)).map_err(|k| fail(at, k))?;
        let mut values = vec![0.0; el.props.len()];
        let mut sink = match &plan.role {
            Role::Vertex(layout) => Some(VertexSink::new(VertexLayout::clone(layout), cap)),
            Role::Face => {
                body.faces.triangles.reserve_exact(cap);
                None
            }
            Role::Other => None,
        };
        for rec in 0..el.count {
            loop {
                let got = src.read_line(&mut line).map_err(|k| fail(Location::Line(src.line() + 1), k))?;
                if !got {
                    return Err(fail(Location::Byte(src.offset()), truncated(el, rec)));
                }
                if !line.trim_ascii().is_empty() {
                    break;
                }
            }
            let at = Location::Line(src.line());
            read_record_ascii(&line, plan, rec, &mut values, &mut idx).map_err(|k| fail(at, k))?;
            match (&plan.role, sink.as_mut()) {
                (Role::Vertex(_), Some(sink)) => {
                    sink.push(rec, |f| values.get(f.prop).copied().unwrap_or(f64::NAN))
                        .map_err(|k| fail(at, k))?;
                }
                (Role::Face, _) => body.faces.push(rec, &idx).map_err(|k| fail(at, k))?,
                _ => {}
            }
        }
        if sink.is_some() {
            body.vertices = sink;
        }
    }
    // Trailing whitespace is normal; anything else is worth a note.
    let mut trailing = 0u64;
    let mut text = false;
    loop {
        let at = Location::Byte(src.offset());
        let avail = src.fill_buf().map_err(|k| fail(at, k))?;
        if avail.is_empty() {
            break;
        }
        text |= !avail.iter().all(u8::is_ascii_whitespace);
        let n = avail.len();
        src.consume(n);
        trailing += n as u64;
    }
    if text {
        notes.push(format!("ignored {trailing} bytes after the last element"));
    }
    Ok(body)
}

fn read_record_ascii(
    line: &[u8],
    plan: &Plan,
    rec: u64,
    values: &mut [f64],
    idx: &mut Vec<i64>,
) -> Result<(), ErrorKind> {
    let el = &plan.el;
    let mut tokens = line.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
    let short = || ErrorKind::Inconsistent {
        what: format!("{} {rec} has fewer values than the header declares", el.name),
    };
    for (i, (prop, &u)) in el.props.iter().zip(&plan.uses).enumerate() {
        match prop.kind {
            Kind::Scalar(ty) => {
                let token = tokens.next().ok_or_else(short)?;
                if let (Use::Keep, Some(slot)) = (u, values.get_mut(i)) {
                    *slot = ascii_number(token, ty)?;
                }
            }
            Kind::List { .. } => {
                let len = list_len(el, rec, ascii_int(tokens.next().ok_or_else(short)?)?, u)?;
                if u == Use::Indices {
                    idx.clear();
                    for _ in 0..len {
                        idx.push(ascii_int(tokens.next().ok_or_else(short)?)?);
                    }
                } else {
                    for _ in 0..len {
                        tokens.next().ok_or_else(short)?;
                    }
                }
            }
        }
    }
    if tokens.next().is_some() {
        return Err(ErrorKind::Inconsistent {
            what: format!("{} {rec} has more values than the header declares", el.name),
        });
    }
    Ok(())
}

fn ascii_number(token: &[u8], ty: Scalar) -> Result<f64, ErrorKind> {
    match ty {
        // Parsed as f32 directly: going through f64 could round twice.
        Scalar::F32 => input::parse_f32(token).map(f64::from),
        Scalar::F64 => std::str::from_utf8(token)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| input::bad_number(token, "a number")),
        _ => ascii_int(token).map(|i| i as f64),
    }
}

fn ascii_int(token: &[u8]) -> Result<i64, ErrorKind> {
    std::str::from_utf8(token)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| input::bad_number(token, "an integer"))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Write `mesh` as PLY, declaring millimetres. Names follow MeshLab/Open3D/trimesh: `nx ny nz`,
/// `red green blue alpha` (uchar), `texture_u texture_v`, and `vertex_indices`.
pub fn write<W: Write>(mesh: &Mesh, encoding: Encoding, mut w: W) -> io::Result<()> {
    let mut out: Vec<u8> = Vec::with_capacity(CHUNK + 1024);
    writeln!(out, "ply\nformat {} 1.0", encoding.header_name())?;
    out.extend_from_slice(b"comment unit mm\ncomment written by FaceVault\n");
    writeln!(out, "element vertex {}", mesh.vertex_count())?;
    out.extend_from_slice(b"property float x\nproperty float y\nproperty float z\n");
    let (normals, colors, uvs) = (mesh.normals(), mesh.colors(), mesh.uvs());
    if normals.is_some() {
        out.extend_from_slice(b"property float nx\nproperty float ny\nproperty float nz\n");
    }
    if colors.is_some() {
        out.extend_from_slice(
            b"property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n",
        );
    }
    if uvs.is_some() {
        out.extend_from_slice(b"property float texture_u\nproperty float texture_v\n");
    }
    writeln!(out, "element face {}", mesh.triangle_count())?;
    // `int` is what other tools expect; only meshes too big for it need `uint`.
    let index = if mesh.vertex_count() > i32::MAX as usize { "uint" } else { "int" };
    writeln!(out, "property list uchar {index} vertex_indices\nend_header")?;

    let ascii = encoding == Encoding::Ascii;
    let big = encoding == Encoding::BinaryBigEndian;
    let float = |out: &mut Vec<u8>, x: f32| match encoding {
        Encoding::Ascii => write!(out, "{x} "),
        Encoding::BinaryLittleEndian => out.write_all(&x.to_le_bytes()),
        Encoding::BinaryBigEndian => out.write_all(&x.to_be_bytes()),
    };
    for (i, p) in mesh.positions().iter().enumerate() {
        let n = normals.and_then(|n| n.get(i));
        let t = uvs.and_then(|t| t.get(i));
        for &x in p.iter().chain(n.into_iter().flatten()) {
            float(&mut out, x)?;
        }
        if let Some(c) = colors.and_then(|c| c.get(i)) {
            if ascii {
                write!(out, "{} {} {} {} ", c[0], c[1], c[2], c[3])?;
            } else {
                out.extend_from_slice(c);
            }
        }
        for &x in t.into_iter().flatten() {
            float(&mut out, x)?;
        }
        if ascii {
            out.pop();
            out.push(b'\n');
        }
        if out.len() >= CHUNK {
            w.write_all(&out)?;
            out.clear();
        }
    }
    for t in mesh.triangles() {
        if ascii {
            writeln!(out, "3 {} {} {}", t[0], t[1], t[2])?;
        } else {
            out.push(3);
            for i in t {
                out.extend_from_slice(&if big { i.to_be_bytes() } else { i.to_le_bytes() });
            }
        }
        if out.len() >= CHUNK {
            w.write_all(&out)?;
            out.clear();
        }
    }
    w.write_all(&out)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_comments() {
        let check = |text: &str, want: Option<Unit>| {
            assert_eq!(unit_from_comment(text).and_then(Result::ok), want, "{text:?}");
        };
        check(" unit mm", Some(Unit::Millimetre));
        check("units: cm", Some(Unit::Centimetre));
        check("Units millimeters", Some(Unit::Millimetre));
        check("UNIT=m", Some(Unit::Metre));
        check("unitless scan", None);
        check("made by scanner", None);
        assert!(unit_from_comment("units furlongs").is_some_and(|r| r.is_err()));
    }

    #[test]
    fn fans_polygons() {
        let mut faces = FaceSink { triangles: Vec::new(), vertices: 5, polygons: 0 };
        faces.push(0, &[0, 1, 2, 3, 4]).unwrap();
        assert_eq!(faces.triangles, vec![[0, 1, 2], [0, 2, 3], [0, 3, 4]]);
        assert_eq!(faces.polygons, 1);
        assert_eq!(faces.push(7, &[0, 1, 5]), Err(ErrorKind::BadIndex { face: 7, index: 5, vertices: 5 }));
    }
}
