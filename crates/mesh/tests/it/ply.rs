//! Integration tests of the PLY reader and writer.
//!
//! Hand-written cases go through [`check`], which writes one ascii body in all three encodings
//! (a small test-side encoder turns the ascii tokens into binary by the declared types) and
//! expects the same mesh from each; [`check_err`] pins one encoding's error and its location.

use std::fmt::Write as _;

use expect_test::{expect, Expect};
use facevault_mesh::{
    read, read_from, to_bytes, ErrorKind, FileFormat, Imported, Location, Mesh, ReadError, ReadOptions, Unit,
};
use proptest::prelude::*;

const ENCODINGS: [&str; 3] = ["ascii", "binary_little_endian", "binary_big_endian"];
const XYZ: &str = "element vertex 3; property float x; property float y; property float z";
const TRI: &str = "element face 1; property list uchar int vertex_indices";
const TRIANGLE: &str = "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n";

fn mm() -> ReadOptions {
    ReadOptions { unit: Some(Unit::Millimetre), ..Default::default() }
}

/// A PLY file: `decls` are header lines separated by `;`, `body` is ascii records; for binary
/// encodings each token is written as the type its property declares.
fn encode(encoding: &str, decls: &str, body: &str) -> Vec<u8> {
    let mut out = format!("ply\nformat {encoding} 1.0\n").into_bytes();
    let decls: Vec<&str> = decls.split(';').map(str::trim).filter(|d| !d.is_empty()).collect();
    for d in &decls {
        out.extend_from_slice(d.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"end_header\n");
    if encoding == "ascii" {
        out.extend_from_slice(body.as_bytes());
        return out;
    }
    let big = encoding == "binary_big_endian";
    let mut elements: Vec<(usize, Vec<Vec<&str>>)> = Vec::new();
    for d in &decls {
        let words: Vec<&str> = d.split_whitespace().collect();
        match words[0] {
            "element" => elements.push((words[2].parse().unwrap(), Vec::new())),
            "property" => elements.last_mut().unwrap().1.push(words[1..].to_vec()),
            _ => {}
        }
    }
    let mut tokens = body.split_whitespace();
    for (count, props) in elements {
        for _ in 0..count {
            for p in &props {
                if p[0] == "list" {
                    let n = tokens.next().unwrap();
                    put(&mut out, p[1], n, big);
                    for _ in 0..n.parse::<i64>().unwrap() {
                        put(&mut out, p[2], tokens.next().unwrap(), big);
                    }
                } else {
                    put(&mut out, p[0], tokens.next().unwrap(), big);
                }
            }
        }
    }
    out
}

fn put(out: &mut Vec<u8>, ty: &str, token: &str, big: bool) {
    macro_rules! num {
        ($t:ty) => {{
            let v: $t = token.parse().unwrap();
            out.extend_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
        }};
    }
    match ty {
        "char" | "int8" => num!(i8),
        "uchar" | "uint8" => num!(u8),
        "short" | "int16" => num!(i16),
        "ushort" | "uint16" => num!(u16),
        "int" | "int32" => num!(i32),
        "uint" | "uint32" => num!(u32),
        "float" | "float32" => num!(f32),
        "double" | "float64" => num!(f64),
        _ => panic!("unknown type {ty}"),
    }
}

/// The mesh as text: one line per vertex and triangle, then the notes.
fn summary(imported: &Imported) -> String {
    let m = &imported.mesh;
    let mut s = String::new();
    for (i, p) in m.positions().iter().enumerate() {
        write!(s, "v {p:?}").unwrap();
        if let Some(n) = m.normals() {
            write!(s, " n {:?}", n[i]).unwrap();
        }
        if let Some(c) = m.colors() {
            write!(s, " c {:?}", c[i]).unwrap();
        }
        if let Some(t) = m.uvs() {
            write!(s, " t {:?}", t[i]).unwrap();
        }
        s.push('\n');
    }
    for t in m.triangles() {
        writeln!(s, "f {t:?}").unwrap();
    }
    for n in &imported.notes {
        writeln!(s, "note: {n}").unwrap();
    }
    s
}

fn error(e: &ReadError) -> String {
    format!("{} at {}: {}", e.kind.code(), e.at, e.kind)
}

/// Read `body` under `decls` in every encoding with default options: all must agree.
#[track_caller]
fn check(decls: &str, body: &str, expect: Expect) {
    let mut seen: Option<String> = None;
    for encoding in ENCODINGS {
        let got = match read(&encode(encoding, decls, body), &ReadOptions::default()) {
            Ok(imported) => summary(&imported),
            Err(e) => error(&e),
        };
        match &seen {
            Some(first) => assert_eq!(&got, first, "{encoding} differs from ascii"),
            None => seen = Some(got),
        }
    }
    expect.assert_eq(&seen.unwrap_or_default());
}

/// Read `body` under `decls` in one encoding, expecting an error.
#[track_caller]
fn check_err(encoding: &str, decls: &str, body: &str, expect: Expect) {
    match read(&encode(encoding, decls, body), &mm()) {
        Ok(imported) => panic!("expected an error, got\n{}", summary(&imported)),
        Err(e) => expect.assert_eq(&error(&e)),
    }
}

fn read_bytes(bytes: &[u8]) -> Result<Imported, ReadError> {
    read(bytes, &mm())
}

// ---------------------------------------------------------------------------------------------
// Round trips

fn finite_f32() -> impl Strategy<Value = f32> {
    use proptest::num::f32::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
}

fn mesh_strategy() -> impl Strategy<Value = Mesh> {
    (0usize..40).prop_flat_map(|n| {
        let index = 0..n.max(1) as u32;
        let triangles = if n == 0 {
            Just(vec![]).boxed()
        } else {
            prop::collection::vec([index.clone(), index.clone(), index], 0..60).boxed()
        };
        (
            prop::collection::vec([finite_f32(), finite_f32(), finite_f32()], n),
            triangles,
            prop::option::of(prop::collection::vec([finite_f32(), finite_f32(), finite_f32()], n)),
            prop::option::of(prop::collection::vec(any::<[u8; 4]>(), n)),
            prop::option::of(prop::collection::vec([finite_f32(), finite_f32()], n)),
        )
            .prop_map(|(p, t, normals, colors, uvs)| {
                let mut m = Mesh::new(p, t).unwrap();
                if let Some(n) = normals {
                    m = m.with_normals(n).unwrap();
                }
                if let Some(c) = colors {
                    m = m.with_colors(c).unwrap();
                }
                if let Some(t) = uvs {
                    m = m.with_uvs(t).unwrap();
                }
                m
            })
    })
}

fn bits<const N: usize>(v: &[[f32; N]]) -> Vec<[u32; N]> {
    v.iter().map(|a| a.map(f32::to_bits)).collect()
}

proptest! {
    #[test]
    fn round_trips_bit_exact(mesh in mesh_strategy()) {
        for format in [FileFormat::PlyAscii, FileFormat::PlyBinaryLittleEndian, FileFormat::PlyBinaryBigEndian] {
            let back = read_bytes(&to_bytes(&mesh, format)).unwrap();
            prop_assert_eq!(back.format, format);
            let m = &back.mesh;
            prop_assert_eq!(bits(m.positions()), bits(mesh.positions()));
            prop_assert_eq!(m.triangles(), mesh.triangles());
            prop_assert_eq!(m.normals().map(bits), mesh.normals().map(bits));
            prop_assert_eq!(m.colors(), mesh.colors());
            prop_assert_eq!(m.uvs().map(bits), mesh.uvs().map(bits));
            prop_assert!(back.notes.is_empty(), "{:?}", back.notes);
        }
    }
}

proptest! {
    // Damaged files fail with an error placed inside the file, or read as a valid mesh; never panic.
    #[test]
    fn damaged_files_fail_cleanly(
        mesh in mesh_strategy(),
        format in prop::sample::select(vec![FileFormat::PlyAscii, FileFormat::PlyBinaryLittleEndian, FileFormat::PlyBinaryBigEndian]),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = to_bytes(&mesh, format);
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        for result in [read_bytes(&bytes), read_from(&bytes[..], None, &mm())] {
            match result {
                Ok(imported) => {
                    let (p, t, ..) = imported.mesh.into_parts();
                    prop_assert!(Mesh::new(p, t).is_ok());
                }
                Err(e) => match e.at {
                    Location::Byte(b) => prop_assert!(b <= bytes.len() as u64, "{e}"),
                    Location::Line(l) => prop_assert!(l <= bytes.split(|&b| b == b'\n').count() as u64, "{e}"),
                    _ => prop_assert!(false, "{e}"),
                },
            }
        }
    }
}

#[test]
fn writes_a_header_other_tools_read() {
    let mesh = Mesh::new(vec![[0.5, -1.0, 2.0]; 3], vec![[0, 1, 2]])
        .unwrap()
        .with_colors(vec![[1, 2, 3, 4]; 3])
        .unwrap();
    let text = String::from_utf8(to_bytes(&mesh, FileFormat::PlyAscii)).unwrap();
    expect![[r#"
        ply
        format ascii 1.0
        comment unit mm
        comment written by FaceVault
        element vertex 3
        property float x
        property float y
        property float z
        property uchar red
        property uchar green
        property uchar blue
        property uchar alpha
        element face 1
        property list uchar int vertex_indices
        end_header
        0.5 -1 2 1 2 3 4
        0.5 -1 2 1 2 3 4
        0.5 -1 2 1 2 3 4
        3 0 1 2
    "#]]
    .assert_eq(&text);
    // The written unit comment is read back as a declaration.
    let back = read(text.as_bytes(), &ReadOptions::default()).unwrap();
    assert_eq!(back.mesh.source_unit().to_string(), "mm (declared in file)");
}

#[test]
fn large_mesh_round_trips_across_buffer_refills() {
    // Big enough that records straddle the reader's 64 KiB chunks, through a small BufReader.
    let n = 20_000u32;
    let positions: Vec<[f32; 3]> =
        (0..n).map(|i| [i as f32, -(i as f32) * 0.5, 1.0 / (i + 1) as f32]).collect();
    let triangles: Vec<[u32; 3]> = (0..n - 2).map(|i| [i, i + 1, i + 2]).collect();
    let mesh = Mesh::new(positions, triangles).unwrap();
    for format in [FileFormat::PlyBinaryLittleEndian, FileFormat::PlyBinaryBigEndian, FileFormat::PlyAscii] {
        let bytes = to_bytes(&mesh, format);
        for len in [Some(bytes.len() as u64), None] {
            let reader = std::io::BufReader::with_capacity(1000, bytes.as_slice());
            let back = read_from(reader, len, &mm()).unwrap();
            assert_eq!(back.mesh.positions(), mesh.positions(), "{format}");
            assert_eq!(back.mesh.triangles(), mesh.triangles(), "{format}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layouts the reader must accept

#[test]
fn plain_triangle() {
    check(
        &format!("comment unit mm; {XYZ}; {TRI}"),
        TRIANGLE,
        expect![[r#"
            v [0.0, 0.0, 0.0]
            v [1.0, 0.0, 0.0]
            v [0.0, 1.0, 0.0]
            f [0, 1, 2]
        "#]],
    );
}

#[test]
fn any_property_order_with_extra_scalars_and_lists_skipped() {
    check(
        "comment units: mm; element material 1; property list uint float data; property uchar id; \
         element vertex 2; property uchar quality; property double z; property list uchar short tags; \
         property float y; property int x; \
         element face 1; property uchar flags; property list uchar float texcoord; property list ushort uint vertex_index; property short group; \
         element edge 1; property int vertex1; property int vertex2",
        "2 0.5 0.25 9\n\
         7 3.5 2 11 12 -2.25 4\n\
         8 -1 0 5 -6\n\
         1 6 0 0 1 1 0.5 0.5 4 0 1 1 0 -3\n\
         0 1\n",
        expect![[r#"
            v [4.0, -2.25, 3.5]
            v [-6.0, 5.0, -1.0]
            f [0, 1, 1]
            f [0, 1, 0]
            note: skipped element `material` (1 record)
            note: skipped vertex properties: quality, tags
            note: skipped face properties: flags, texcoord, group
            note: skipped element `edge` (1 record)
            note: fan-triangulated 1 faces with more than 3 vertices
        "#]],
    );
}

#[test]
fn all_type_aliases() {
    let types = [
        "char", "int8", "uchar", "uint8", "short", "int16", "ushort", "uint16", "int", "int32", "uint",
        "uint32", "float", "float32", "double", "float64",
    ];
    let props: String = types.iter().enumerate().map(|(i, t)| format!("property {t} p{i}; ")).collect();
    let lists: String = types
        .iter()
        .filter(|t| !t.starts_with('f') && !t.starts_with('d'))
        .enumerate()
        .map(|(i, t)| format!("property list {t} {t} l{i}; "))
        .collect();
    check(
        &format!("comment unit mm; element vertex 1; {props} {lists} property float x; property float y; property float z"),
        &format!("{} {} 1 2 3\n", ["1"; 16].join(" "), ["2 1 1"; 12].join(" ")),
        expect![[r#"
            v [1.0, 2.0, 3.0]
            note: skipped vertex properties: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11
        "#]],
    );
}

#[test]
fn normals_colours_uvs() {
    check(
        "comment unit mm; element vertex 2; property float x; property float y; property float z; property float nx; property float ny; property float nz; \
         property uchar red; property uchar green; property uchar blue; property float s; property float t",
        "1 2 3 0 0 1 255 128 0 0.25 0.75\n4 5 6 0 1 0 1 2 3 1 0\n",
        expect![[r#"
            v [1.0, 2.0, 3.0] n [0.0, 0.0, 1.0] c [255, 128, 0, 255] t [0.25, 0.75]
            v [4.0, 5.0, 6.0] n [0.0, 1.0, 0.0] c [1, 2, 3, 255] t [1.0, 0.0]
        "#]],
    );
    // Float colours are 0-1; u/v and texture_u/texture_v are uvs too.
    check(
        "comment unit mm; element vertex 1; property double x; property double y; property double z; property float red; property double green; property float blue; property float alpha; property float texture_u; property float texture_v",
        "0.1 0.2 0.3 1 0.5 0 0.2 0.125 0.5\n",
        expect![[r#"
            v [0.1, 0.2, 0.3] c [255, 128, 0, 51] t [0.125, 0.5]
        "#]],
    );
    check(
        "comment unit mm; element vertex 1; property float x; property float y; property float z; property float u; property float v; property float nx",
        "1 2 3 0.5 0.5 1\n",
        expect![[r#"
            v [1.0, 2.0, 3.0] t [0.5, 0.5]
            note: ignored incomplete vertex normals (1 of 3 components)
            note: skipped vertex properties: nx
        "#]],
    );
}

#[test]
fn double_coordinates_round_to_f32() {
    check(
        &format!("comment unit mm; element vertex 3; property double x; property double y; property double z; {TRI}"),
        "0.1 1e-3 -123456.789\n1 0 0\n0 1 0\n3 0 1 2\n",
        expect![[r#"
            v [0.1, 0.001, -123456.79]
            v [1.0, 0.0, 0.0]
            v [0.0, 1.0, 0.0]
            f [0, 1, 2]
        "#]],
    );
}

#[test]
fn quads_and_polygons_are_fan_triangulated() {
    check(
        "comment unit mm; element vertex 5; property float x; property float y; property float z; element face 2; property list uchar uint vertex_indices",
        "0 0 0\n1 0 0\n1 1 0\n0 1 0\n2 2 0\n4 0 1 2 3\n5 4 3 2 1 0\n",
        expect![[r#"
            v [0.0, 0.0, 0.0]
            v [1.0, 0.0, 0.0]
            v [1.0, 1.0, 0.0]
            v [0.0, 1.0, 0.0]
            v [2.0, 2.0, 0.0]
            f [0, 1, 2]
            f [0, 2, 3]
            f [4, 3, 2]
            f [4, 2, 1]
            f [4, 1, 0]
            note: fan-triangulated 2 faces with more than 3 vertices
        "#]],
    );
}

#[test]
fn unit_comment_is_honoured() {
    check(
        &format!("comment Units centimeters; {XYZ}; {TRI}"),
        TRIANGLE,
        expect![[r#"
            v [0.0, 0.0, 0.0]
            v [10.0, 0.0, 0.0]
            v [0.0, 10.0, 0.0]
            f [0, 1, 2]
        "#]],
    );
    let file = encode("ascii", &format!("comment unit cm; {XYZ}"), "1 2 3\n4 5 6\n7 8 9\n");
    let back = read(&file, &ReadOptions::default()).unwrap();
    assert_eq!(back.mesh.positions()[2], [70.0, 80.0, 90.0]);
    assert_eq!(back.mesh.source_unit().to_string(), "cm (declared in file)");
    // The caller's unit wins over the file's.
    assert_eq!(read(&file, &mm()).unwrap().mesh.positions()[2], [7.0, 8.0, 9.0]);
}

#[test]
fn point_cloud_without_faces() {
    check(
        &format!("comment unit mm; {XYZ}"),
        "1 2 3\n4 5 6\n7 8 9\n",
        expect![[r#"
            v [1.0, 2.0, 3.0]
            v [4.0, 5.0, 6.0]
            v [7.0, 8.0, 9.0]
        "#]],
    );
}

#[test]
fn faces_before_vertices() {
    check(
        &format!("comment unit mm; {TRI}; {XYZ}"),
        "3 2 1 0\n0 0 0\n1 0 0\n0 1 0\n",
        expect![[r#"
            v [0.0, 0.0, 0.0]
            v [1.0, 0.0, 0.0]
            v [0.0, 1.0, 0.0]
            f [2, 1, 0]
        "#]],
    );
    // Indices are still checked against the declared vertex count, naming the face.
    let decls = format!("{TRI}; {XYZ}");
    check_err(
        "binary_little_endian",
        &decls,
        "3 2 1 3\n0 0 0\n1 0 0\n0 1 0\n",
        expect!["bad-index at byte 169: face 0 refers to vertex 3, but there are 3 vertices"],
    );
    check_err(
        "ascii",
        &decls,
        "3 2 1 3\n0 0 0\n1 0 0\n0 1 0\n",
        expect!["bad-index at line 10: face 0 refers to vertex 3, but there are 3 vertices"],
    );
}

#[test]
fn ascii_details() {
    // CRLF line ends, tabs, blank lines and trailing whitespace are fine.
    let file = b"ply\r\nformat ascii 1.0\r\nelement vertex 3\r\nproperty float x\r\nproperty float y\r\nproperty float z\r\nend_header\r\n0\t0 0\r\n\r\n1 0 0 \r\n0 1 0\r\n\r\n\r\n";
    assert_eq!(read_bytes(file).unwrap().mesh.positions()[2], [0.0, 1.0, 0.0]);
    let back = read_bytes(&encode("ascii", XYZ, "0 0 0\n1 0 0\n0 1 0\nrubbish\n")).unwrap();
    assert_eq!(back.notes, ["ignored 8 bytes after the last element"]);
}

#[test]
fn trailing_binary_bytes_are_noted() {
    let mut file = encode("binary_little_endian", &format!("{XYZ}; {TRI}"), TRIANGLE);
    file.extend_from_slice(b"\0\0\0junk");
    let back = read_bytes(&file).unwrap();
    assert_eq!(back.mesh.triangle_count(), 1);
    assert_eq!(back.notes, ["ignored 7 bytes after the last element"]);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn bad_headers() {
    let bad = |file: &str, expect: Expect| match read_bytes(file.as_bytes()) {
        Ok(_) => panic!("{file:?} was accepted"),
        Err(e) => expect.assert_eq(&error(&e)),
    };
    bad(
        "ply\nformat ascii 1.0\nelement vertex 0\nproprety float x\nend_header\n",
        expect![[
            r#"bad-header at byte 38: bad header: unknown header keyword "proprety" in line "proprety float x""#
        ]],
    );
    bad(
        "ply\nformat ascii 2.0\n",
        expect![[r#"bad-header at byte 4: bad header: unsupported PLY version "2.0""#]],
    );
    bad(
        "ply\nformat binary_middle_endian 1.0\n",
        expect![[r#"bad-header at byte 4: bad header: unknown format "binary_middle_endian""#]],
    );
    bad(
        "ply\nformat ascii 1.0\nproperty float x\n",
        expect![[r#"bad-header at byte 21: bad header: property "property float x" before any element"#]],
    );
    bad(
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty float128 x\n",
        expect![[r#"bad-header at byte 38: bad header: unknown property type "float128""#]],
    );
    bad(
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty list float int x\n",
        expect![[
            r#"bad-header at byte 38: bad header: list count type in "property list float int x" is not an integer type"#
        ]],
    );
    bad(
        "ply\nformat ascii 1.0\nelement vertex -1\n",
        expect![[r#"bad-header at byte 21: bad header: element count "-1" is not a non-negative integer"#]],
    );
    bad(
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n1 2\n",
        expect!["bad-header at byte 21: bad header: the vertex element has no `z` property"],
    );
    bad(
        "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float x\n",
        expect!["bad-header at byte 55: bad header: element `vertex` declares property `x` twice"],
    );
    bad(
        "ply\nformat ascii 1.0\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n",
        expect![[r#"bad-header at byte 0: bad header: the header declares no `vertex` element"#]],
    );
    bad(
        "ply\nelement vertex 0\nproperty float x\nend_header\n",
        expect!["bad-header at byte 38: bad header: the header has no `format` line"],
    );
    bad("ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nelement face 0\nproperty list uchar float vertex_indices\nend_header\n", expect!["bad-header at byte 89: bad header: face `vertex_indices` is not a list of integers"]);
    bad(
        "ply\nformat ascii 1.0\n",
        expect!["truncated at byte 21: the input ends early, while reading the header (no `end_header` yet)"],
    );
    let endless = format!("ply\nformat ascii 1.0\n{}", "comment hello\n".repeat(2000));
    bad(
        &endless,
        expect!["bad-header at byte 13993: bad header: no `end_header` within 1000 lines or 65536 bytes"],
    );
    // Forcing PLY on something else names its first line.
    let opts = ReadOptions { format: Some(facevault_mesh::Format::Ply), ..mm() };
    let e = read(b"solid x\n", &opts).unwrap_err();
    expect![[r#"bad-header at byte 0: bad header: the first line is "solid x", not `ply`"#]]
        .assert_eq(&error(&e));
}

#[test]
fn huge_declared_count_fails_at_once() {
    let mut file = b"ply\nformat binary_little_endian 1.0\nelement vertex 2147483648\nproperty float x\nproperty float y\nproperty float z\nend_header\n".to_vec();
    file.resize(200, 0);
    let t = std::time::Instant::now();
    let e = read_bytes(&file).unwrap_err();
    assert!(t.elapsed().as_millis() < 100, "took {:?}", t.elapsed());
    assert_eq!(
        e.kind,
        ErrorKind::CountTooLarge { what: "vertex".into(), count: 1 << 31, available: 76, max: 6 }
    );
    assert_eq!(e.at, Location::Byte(124));
    // With the length unknown the reader grows only with the data really present.
    let e = read_from(file.as_slice(), None, &mm()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated { reading: "vertex 6 of 2147483648".into() });
    // Ascii: at least two bytes per property.
    let e = read_bytes(&encode(
        "ascii",
        "element vertex 30; property float x; property float y; property float z",
        "1 2 3\n",
    ))
    .unwrap_err();
    assert_eq!(e.kind.code(), "count-too-large");
}

#[test]
fn truncated_data_names_the_record_and_offset() {
    let file = encode("binary_little_endian", &format!("{XYZ}; {TRI}"), TRIANGLE);
    let header = file.len() - 3 * 12 - 13;
    // Vertex data cut short: with the length known the count cannot fit; unknown, it runs out.
    let cut = &file[..header + 12 + 5];
    assert_eq!(read_bytes(cut).unwrap_err().kind.code(), "count-too-large");
    let e = read_from(cut, None, &mm()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated { reading: "vertex 1 of 3".into() });
    assert_eq!(e.at, Location::Byte(header as u64 + 12));
    // A face list cut short.
    let e = read_bytes(&file[..file.len() - 2]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated { reading: "face 0 of 1".into() });
    assert_eq!(e.at, Location::Byte(header as u64 + 36));
    // Ascii: records missing at the end.
    let two = format!("{XYZ}; element face 2; property list uchar int vertex_indices");
    let e = read_bytes(&encode("ascii", &two, "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated { reading: "face 1 of 2".into() });
    // With no byte left for a record, the count itself is refused.
    let e = read_bytes(&encode("ascii", &format!("{XYZ}; {TRI}"), "0 0 0\n1 0 0\n0 1 0\n")).unwrap_err();
    assert_eq!(e.kind.code(), "count-too-large");
}

#[test]
fn non_finite_values() {
    let tri = format!("comment unit mm; {XYZ}; {TRI}");
    for encoding in ENCODINGS {
        let e = read_bytes(&encode(encoding, &tri, "0 0 0\n1 nan 0\n0 1 0\n3 0 1 2\n")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NonFinite { vertex: 1, what: "position" }, "{encoding}");
    }
    check_err(
        "ascii",
        &tri,
        "0 0 0\n1 inf 0\n0 1 0\n3 0 1 2\n",
        expect!["non-finite at line 12: vertex 1 has a non-finite position"],
    );
    check_err(
        "binary_little_endian",
        &tri,
        "0 0 0\n1 0 0\n0 -inf 0\n3 0 1 2\n",
        expect!["non-finite at byte 209: vertex 2 has a non-finite position"],
    );
    // A double too big for f32 is not finite once read.
    let doubles = "element vertex 1; property double x; property double y; property double z";
    check_err(
        "binary_big_endian",
        doubles,
        "1e300 0 0\n",
        expect!["non-finite at byte 115: vertex 0 has a non-finite position"],
    );
    let normals = "element vertex 1; property float x; property float y; property float z; property float nx; property float ny; property float nz";
    check_err(
        "binary_big_endian",
        normals,
        "0 0 0 0 NaN 1\n",
        expect!["non-finite at byte 166: vertex 0 has a non-finite normal"],
    );
    let uvs = "element vertex 1; property float x; property float y; property float z; property float s; property float t";
    check_err("ascii", uvs, "0 0 0 inf 1\n", expect!["non-finite at line 10: vertex 0 has a non-finite uv"]);
}

#[test]
fn bad_indices_name_the_face() {
    let decls = format!("{XYZ}; element face 2; property list uchar int vertex_indices");
    let body = "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n3 0 1 3\n";
    for encoding in ENCODINGS {
        let e = read_bytes(&encode(encoding, &decls, body)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadIndex { face: 1, index: 3, vertices: 3 }, "{encoding}");
    }
    check_err(
        "ascii",
        &decls,
        "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n4 0 1 2 -1\n",
        expect!["bad-index at line 14: face 1 refers to vertex -1, but there are 3 vertices"],
    );
    check_err(
        "binary_little_endian",
        &decls,
        "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n3 -7 1 2\n",
        expect!["bad-index at byte 218: face 1 refers to vertex -7, but there are 3 vertices"],
    );
    let uint = format!("{XYZ}; element face 1; property list uchar uint vertex_indices");
    check_err(
        "binary_big_endian",
        &uint,
        "0 0 0\n1 0 0\n0 1 0\n3 0 4294967295 2\n",
        expect!["bad-index at byte 203: face 0 refers to vertex 4294967295, but there are 3 vertices"],
    );
}

#[test]
fn polygon_length_limits() {
    // A 200000-long list is refused from its count alone (only the count's 4 bytes need to be
    // present, so this is not a count-too-large).
    let decls = format!("{XYZ}; element face 1; property list uint int vertex_indices");
    let mut file = encode("binary_little_endian", &decls, "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n");
    let count_at = file.len() - 16;
    file[count_at..count_at + 4].copy_from_slice(&200_000u32.to_le_bytes());
    let e = read_bytes(&file).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ListTooLong { face: 0, len: 200_000, max: 1024 });
    assert_eq!(e.at, Location::Byte(count_at as u64));
    check_err(
        "ascii",
        &decls,
        "0 0 0\n1 0 0\n0 1 0\n2 0 1\n",
        expect!["too-few-vertices at line 13: face 0 has 2 vertices; a face needs at least 3"],
    );
    check_err(
        "binary_big_endian",
        &decls,
        "0 0 0\n1 0 0\n0 1 0\n0\n",
        expect!["too-few-vertices at byte 201: face 0 has 0 vertices; a face needs at least 3"],
    );
    let signed = format!("{XYZ}; element face 1; property list char int vertex_indices");
    check_err(
        "binary_little_endian",
        &signed,
        "0 0 0\n1 0 0\n0 1 0\n-3\n",
        expect!["inconsistent at byte 204: face 0 has a list of negative length -3"],
    );
}

#[test]
fn ascii_number_and_token_errors() {
    let decls = format!("{XYZ}; {TRI}");
    check_err(
        "ascii",
        &decls,
        "0 0 0\n1 abc 0\n0 1 0\n3 0 1 2\n",
        expect![[r#"bad-number at line 11: cannot read "abc" as a number"#]],
    );
    check_err(
        "ascii",
        &decls,
        "0 0 0\n1 0 0\n0 1 0\n3 0 1.5 2\n",
        expect![[r#"bad-number at line 13: cannot read "1.5" as an integer"#]],
    );
    check_err(
        "ascii",
        &decls,
        "0 0 0\n1 0\n0 1 0\n3 0 1 2\n",
        expect!["inconsistent at line 11: vertex 1 has fewer values than the header declares"],
    );
    check_err(
        "ascii",
        &decls,
        "0 0 0\n1 0 0\n0 1 0\n3 0 1 2 7\n",
        expect!["inconsistent at line 13: face 0 has more values than the header declares"],
    );
}

#[test]
fn fast_paths_hand_over_to_the_general_path_and_back() {
    // Float positions and uchar/int triangles take the specialised decoders; a quad and a bad
    // index in the middle of a long run must be handled exactly as the general path would.
    let n = 12_000u32;
    for big in [false, true] {
        let fmt = if big { "binary_big_endian" } else { "binary_little_endian" };
        let faces = n - 2;
        let header = format!(
            "ply\nformat {fmt} 1.0\ncomment unit mm\nelement vertex {n}\nproperty float x\nproperty float y\n\
             property float z\nelement face {faces}\nproperty list uchar int vertex_indices\nend_header\n"
        );
        let mut bytes = header.into_bytes();
        let f32b = |v: f32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let i32b = |v: i32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        for i in 0..n {
            for c in [i as f32, (i % 7) as f32, -0.25 * i as f32] {
                bytes.extend_from_slice(&f32b(c));
            }
        }
        let quad_at = 5_000;
        let mut face_offsets = Vec::new();
        for f in 0..faces {
            face_offsets.push(bytes.len());
            let i = f as i32;
            if f == quad_at {
                bytes.push(4);
                for v in [i, i + 1, i + 2, 0] {
                    bytes.extend_from_slice(&i32b(v));
                }
            } else {
                bytes.push(3);
                for v in [i, i + 1, i + 2] {
                    bytes.extend_from_slice(&i32b(v));
                }
            }
        }
        let back = read(&bytes, &mm()).unwrap();
        assert_eq!(back.mesh.triangle_count(), faces as usize + 1, "{fmt}");
        assert_eq!(back.mesh.triangles()[quad_at as usize + 1], [quad_at, quad_at + 2, 0], "{fmt}");
        assert_eq!(back.mesh.triangles()[quad_at as usize + 2], [quad_at + 1, quad_at + 2, quad_at + 3]);
        assert_eq!(back.mesh.positions()[11_999], [11_999.0, (11_999 % 7) as f32, -0.25 * 11_999.0]);

        // A negative index late in the run names its face and that face's byte offset.
        let bad_face = 9_876usize;
        let mut broken = bytes.clone();
        let at = face_offsets[bad_face] + 5;
        broken[at..at + 4].copy_from_slice(&i32b(-7));
        let e = read(&broken, &mm()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadIndex { face: bad_face as u64, index: -7, vertices: n as u64 });
        assert_eq!(e.at, Location::Byte(face_offsets[bad_face] as u64), "{fmt}");

        // A NaN late in the vertex run names its vertex and byte offset.
        let bad_vertex = 10_001usize;
        let vstart = face_offsets[0] - 12 * n as usize;
        let mut broken = bytes.clone();
        let at = vstart + 12 * bad_vertex + 4;
        broken[at..at + 4].copy_from_slice(&f32b(f32::NAN));
        let e = read(&broken, &mm()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NonFinite { vertex: bad_vertex as u64, what: "position" });
        assert_eq!(e.at, Location::Byte((vstart + 12 * bad_vertex) as u64), "{fmt}");
    }
}
