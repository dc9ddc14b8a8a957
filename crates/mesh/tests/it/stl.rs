//! Integration tests of the STL reader and writer.
//!
//! Welding makes the expected mesh predictable: vertices are numbered in the order their first
//! corner appears, and vertices no triangle uses disappear. [`welded`] computes that expectation
//! for the round-trip property; hand-written files go through [`stl`] and [`stl_err`].

use facevault_mesh::{
    read, read_from, stl, ErrorKind, FileFormat, Format, Imported, Location, Mesh, ReadOptions, Unit,
    UnitBasis,
};
use proptest::prelude::*;

fn mm() -> ReadOptions {
    ReadOptions { unit: Some(Unit::Millimetre), ..Default::default() }
}

fn stl(bytes: &[u8]) -> Imported {
    read(bytes, &ReadOptions { format: Some(Format::Stl), ..mm() }).unwrap_or_else(|e| panic!("{e}"))
}

fn stl_err(bytes: &[u8]) -> (Location, ErrorKind) {
    let e = read(bytes, &ReadOptions { format: Some(Format::Stl), ..mm() })
        .map(|m| m.mesh)
        .expect_err("should fail");
    assert_eq!(e.format, Some(Format::Stl));
    (e.at, e.kind)
}

fn write(mesh: &Mesh, encoding: stl::Encoding) -> Vec<u8> {
    let mut out = Vec::new();
    stl::write(mesh, encoding, &mut out).unwrap();
    out
}

fn bits(v: &[[f32; 3]]) -> Vec<[u32; 3]> {
    v.iter().map(|p| p.map(f32::to_bits)).collect()
}

/// What welding must make of a mesh with distinct positions: vertices renumbered in the order
/// first used, unused ones gone.
fn welded(mesh: &Mesh) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let mut new_index = vec![u32::MAX; mesh.vertex_count()];
    let mut positions = Vec::new();
    let triangles = mesh
        .triangles()
        .iter()
        .map(|t| {
            t.map(|i| {
                if new_index[i as usize] == u32::MAX {
                    new_index[i as usize] = positions.len() as u32;
                    positions.push(mesh.positions()[i as usize]);
                }
                new_index[i as usize]
            })
        })
        .collect();
    (positions, triangles)
}

/// Meshes with distinct positions (any finite f32; -0 is written as +0, which welds alike).
fn meshes() -> impl Strategy<Value = Mesh> {
    let f = prop::num::f32::NORMAL
        | prop::num::f32::SUBNORMAL
        | prop::num::f32::ZERO
        | prop::num::f32::POSITIVE
        | prop::num::f32::NEGATIVE;
    prop::collection::vec([f, f, f].prop_map(|p| p.map(|c| c + 0.0)), 3..40)
        .prop_map(|mut p| {
            let mut seen = std::collections::HashSet::new();
            p.retain(|q| seen.insert(q.map(f32::to_bits)));
            p
        })
        .prop_filter("need 3 distinct positions", |p| p.len() >= 3)
        .prop_flat_map(|p| {
            let n = p.len() as u32;
            // Repeated indices make degenerate triangles, which must survive.
            (Just(p), prop::collection::vec([0..n, 0..n, 0..n], 0..60))
        })
        .prop_map(|(p, t)| Mesh::new(p, t).unwrap())
}

proptest! {
    #[test]
    fn round_trip_welds_predictably(mesh in meshes()) {
        let (positions, triangles) = welded(&mesh);
        for (encoding, format) in [(stl::Encoding::Ascii, FileFormat::StlAscii), (stl::Encoding::Binary, FileFormat::StlBinary)] {
            let bytes = write(&mesh, encoding);
            let back = read(&bytes, &mm()).unwrap();
            prop_assert_eq!(back.format, format);
            prop_assert_eq!(bits(back.mesh.positions()), bits(&positions));
            prop_assert_eq!(back.mesh.triangles(), &triangles[..]);
            prop_assert_eq!(back.mesh.normals(), None);
            // Streaming, with the length unknown, reads the same.
            let streamed = read_from(&bytes[..], None, &mm()).unwrap();
            prop_assert_eq!(streamed.mesh, back.mesh);
        }
    }
}

fn quad() -> Mesh {
    Mesh::new(
        vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]],
        vec![[0, 1, 2], [0, 2, 3]],
    )
    .unwrap()
}

#[test]
fn corners_weld_into_shared_vertices() {
    for encoding in [stl::Encoding::Ascii, stl::Encoding::Binary] {
        let got = stl(&write(&quad(), encoding));
        assert_eq!(got.mesh.vertex_count(), 4);
        assert_eq!(got.mesh.positions(), quad().positions());
        assert_eq!(got.mesh.triangles(), &[[0, 1, 2], [0, 2, 3]]);
        assert!(got.notes.contains(&"welded 6 facet corners into 4 vertices by exact position".to_string()));
    }
}

#[test]
fn ascii_writer_output() {
    let text = String::from_utf8(write(&quad(), stl::Encoding::Ascii)).unwrap();
    assert!(text.starts_with(
        "solid facevault unit=mm\nfacet normal 0 0 1\n outer loop\n  vertex 0 0 0\n  vertex 1 0 0\n  \
         vertex 1 1 0\n endloop\nendfacet\n"
    ));
    assert!(text.ends_with("endfacet\nendsolid facevault\n"));
}

#[test]
fn binary_writer_output() {
    let bytes = write(&quad(), stl::Encoding::Binary);
    assert_eq!(bytes.len(), 84 + 2 * 50);
    assert!(bytes.starts_with(b"FaceVault binary STL unit=mm "));
    assert_eq!(&bytes[80..84], &2u32.to_le_bytes());
    // First record: normal (0, 0, 1), then the corners, then a zero attribute.
    let f = |o: usize| f32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    assert_eq!([f(84), f(88), f(92)], [0.0, 0.0, 1.0]);
    assert_eq!([f(108), f(112), f(116)], [1.0, 0.0, 0.0]);
    assert_eq!(&bytes[132..134], &[0, 0]);
    // A degenerate triangle gets a zero normal, not NaN.
    let flat = Mesh::new(vec![[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]], vec![[0, 1, 2]]).unwrap();
    let bytes = write(&flat, stl::Encoding::Binary);
    assert_eq!(&bytes[84..96], &[0; 12]);
}

#[test]
fn written_files_declare_mm() {
    for encoding in [stl::Encoding::Ascii, stl::Encoding::Binary] {
        let got = read(&write(&quad(), encoding), &ReadOptions::default()).unwrap();
        assert_eq!(got.mesh.source_unit().basis, UnitBasis::Declared);
        assert_eq!(got.mesh.source_unit().unit, Unit::Millimetre);
    }
    let got = read(b"solid part units=cm\nendsolid\n", &ReadOptions::default()).unwrap();
    assert_eq!(got.mesh.source_unit().unit, Unit::Centimetre);
    assert_eq!(got.mesh.source_unit().basis, UnitBasis::Declared);
}

#[test]
fn ascii_layout_is_free() {
    let text = "SOLID\r\n  FACET   NORMAL 0 0 1\r\n\tOUTER LOOP\r\n VERTEX 0 0 0\r\nvertex 1  0 0\r\n  vertex 0 1 0\r\n\
                ENDLOOP\r\nENDFACET\r\nENDSOLID\r\n\r\n\
                solid second\nfacet normal 0 0 1 outer loop vertex 1 0 0 vertex 1 1 0 vertex 0 1 0 endloop endfacet\n\
                endsolid second\n\
                solid third\n facet outer loop vertex 0 0 0 vertex 1 0 0 vertex 1 1 0 endloop endfacet\n";
    let got = stl(text.as_bytes());
    assert_eq!(got.format, FileFormat::StlAscii);
    assert_eq!(got.mesh.vertex_count(), 4);
    assert_eq!(got.mesh.triangles(), &[[0, 1, 2], [1, 3, 2], [0, 1, 3]]);
    assert!(got.notes.contains(&"3 solids merged into one mesh".to_string()), "{:?}", got.notes);
    assert!(got.notes.contains(&"the last solid has no `endsolid`".to_string()), "{:?}", got.notes);
}

#[test]
fn facet_normals_are_not_vertex_normals() {
    // Exporters write NaN normals for degenerate facets: accepted and dropped.
    let text = "solid\nfacet normal nan nan nan\nouter loop\nvertex 0 0 0\nvertex 0 0 0\nvertex 1 0 0\n\
                endloop\nendfacet\nendsolid\n";
    let got = stl(text.as_bytes());
    assert_eq!(got.mesh.normals(), None);
    // The degenerate facet is kept, with its repeated vertex.
    assert_eq!(got.mesh.triangles(), &[[0, 0, 1]]);
}

#[test]
fn binary_header_may_start_with_solid() {
    let mut bytes = write(&quad(), stl::Encoding::Binary);
    bytes[..80].fill(b' ');
    bytes[..20].copy_from_slice(b"solid exported-by-x ");
    let got = read(&bytes, &mm()).unwrap();
    assert_eq!(got.format, FileFormat::StlBinary);
    assert_eq!(got.mesh.triangles(), &[[0, 1, 2], [0, 2, 3]]);
    // Without the length, the zero bytes in the data still show it is not text.
    let streamed = read_from(&bytes[..], None, &mm()).unwrap();
    assert_eq!(streamed.format, FileFormat::StlBinary);
    assert_eq!(streamed.mesh, got.mesh);
}

#[test]
fn binary_extras_are_noted() {
    let mut bytes = write(&quad(), stl::Encoding::Binary);
    bytes[132] = 0x1f; // a colour in the first triangle's attribute
    bytes.extend_from_slice(b"trailer");
    let got = stl(&bytes);
    assert_eq!(got.mesh.triangle_count(), 2);
    assert!(
        got.notes.contains(&"7 bytes after the last of 2 triangles ignored".to_string()),
        "{:?}",
        got.notes
    );
    assert!(got.notes.iter().any(|n| n.starts_with("1 triangles carry attribute bytes")), "{:?}", got.notes);
}

#[test]
fn binary_errors_name_the_byte() {
    // 200 bytes claiming four billion triangles: rejected before reading on.
    let mut lying = vec![0u8; 80];
    lying.extend_from_slice(&4_000_000_000u32.to_le_bytes());
    lying.resize(200, 1);
    assert_eq!(
        stl_err(&lying),
        (
            Location::Byte(80),
            ErrorKind::CountTooLarge {
                what: "triangle".into(),
                count: 4_000_000_000,
                available: 116,
                max: 2
            }
        )
    );
    // Streamed, the length is unknown: the data runs out inside triangle 2.
    let e = read_from(&lying[..], None, &mm()).unwrap_err();
    assert_eq!(
        (e.at, e.kind),
        (Location::Byte(84 + 2 * 50), ErrorKind::Truncated { reading: "triangle 2 of 4000000000".into() })
    );

    let mut nan = write(&quad(), stl::Encoding::Binary);
    let at = 84 + 50 + 12 + 2 * 12 + 4; // triangle 1, corner 2, y
    nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        stl_err(&nan),
        (Location::Byte(84 + 50 + 12 + 2 * 12), ErrorKind::NonFinite { vertex: 5, what: "position" })
    );

    let short = [7u8; 50];
    assert_eq!(
        stl_err(&short),
        (Location::Byte(50), ErrorKind::Truncated { reading: "the 84-byte binary STL header".into() })
    );
}

#[test]
fn ascii_errors_name_the_line() {
    let facet = |vertices: &str| {
        format!("solid x\nfacet normal 0 0 1\n outer loop\n{vertices} endloop\nendfacet\nendsolid x\n")
    };
    let three = "  vertex 0 0 0\n  vertex 1 0 0\n  vertex 0 1 0\n";
    assert_eq!(stl(facet(three).as_bytes()).mesh.triangle_count(), 1);
    assert_eq!(
        stl_err(facet("  vertex 0 0 0\n  vertex 1 zero 0\n  vertex 0 1 0\n").as_bytes()),
        (Location::Line(5), ErrorKind::BadNumber { token: "zero".into(), expected: "a number" })
    );
    assert_eq!(
        stl_err(facet(&format!("{three}  vertex 1 1 0\n")).as_bytes()),
        (
            Location::Line(7),
            ErrorKind::Inconsistent {
                what: "facet 0 has more than 3 vertices; STL facets are triangles".into()
            }
        )
    );
    assert_eq!(
        stl_err(facet("  vertex 0 0 0\n  vertex 1 0 0\n").as_bytes()),
        (
            Location::Line(6),
            ErrorKind::Inconsistent { what: "facet 0 has 2 vertices; STL facets are triangles".into() }
        )
    );
    assert_eq!(
        stl_err(facet("  vertex 0 0 0\n  vertex 1e39 0 0\n  vertex 0 1 0\n").as_bytes()),
        (Location::Line(5), ErrorKind::NonFinite { vertex: 1, what: "position" })
    );
    assert_eq!(
        stl_err(facet("  vertex 0 0 0\n  vertx 1 0 0\n  vertex 0 1 0\n").as_bytes()),
        (
            Location::Line(5),
            ErrorKind::Inconsistent {
                what: "facet 0: expected `vertex` or `endloop`, found \"vertx\"".into()
            }
        )
    );
    assert_eq!(
        stl_err(b"solid x\nfacet normal 0 0 1\n outer loop\n  vertex 0 0 0\n"),
        (Location::Line(4), ErrorKind::Truncated { reading: "facet 0".into() })
    );
    assert_eq!(
        stl_err(format!("{}facet normal 0 0 1\n", facet(three)).as_bytes()),
        (
            Location::Line(10),
            ErrorKind::Inconsistent { what: "facet 1: expected `solid`, found \"facet\"".into() }
        )
    );
}
