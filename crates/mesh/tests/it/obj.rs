//! Integration tests of the OBJ reader and writer.
//!
//! Hand-written files go through [`obj`] (read as OBJ, in mm) and [`obj_err`] (the error's place
//! and kind); the round trip is a property over random meshes.

use facevault_mesh::{
    obj, read, read_from, ErrorKind, FileFormat, Format, Imported, Location, Mesh, ReadOptions, Unit,
    UnitBasis,
};
use proptest::prelude::*;

fn mm() -> ReadOptions {
    ReadOptions { unit: Some(Unit::Millimetre), ..Default::default() }
}

fn obj(text: &str) -> Imported {
    let opts = ReadOptions { format: Some(Format::Obj), ..mm() };
    read(text.as_bytes(), &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn obj_err(bytes: &[u8]) -> (Location, ErrorKind) {
    let opts = ReadOptions { format: Some(Format::Obj), ..mm() };
    let e = read(bytes, &opts).map(|m| m.mesh).expect_err("should fail");
    assert_eq!(e.format, Some(Format::Obj));
    // Streaming with the length unknown must give the same answer.
    let streamed = read_from(bytes, None, &opts).map(|m| m.mesh).expect_err("should fail when streamed");
    assert_eq!((streamed.at, &streamed.kind), (e.at, &e.kind));
    (e.at, e.kind)
}

const TRIANGLE: &str = "v 0 0 0\nv 1 0 0\nv 0 1 0\n";

fn bits<const N: usize>(v: &[[f32; N]]) -> Vec<[u32; N]> {
    v.iter().map(|p| p.map(f32::to_bits)).collect()
}

/// Random valid meshes, with every optional attribute sometimes present; coordinates are any
/// finite f32 (signed zeros, subnormals and extremes included).
fn meshes() -> impl Strategy<Value = Mesh> {
    let f = prop::num::f32::NORMAL
        | prop::num::f32::SUBNORMAL
        | prop::num::f32::ZERO
        | prop::num::f32::POSITIVE
        | prop::num::f32::NEGATIVE;
    (1usize..40).prop_flat_map(move |n| {
        (
            prop::collection::vec([f, f, f], n),
            prop::collection::vec([0..n as u32, 0..n as u32, 0..n as u32], 0..60),
            prop::option::of(prop::collection::vec([f, f, f], n)),
            prop::option::of(prop::collection::vec(any::<[u8; 4]>(), n)),
            prop::option::of(prop::collection::vec([f, f], n)),
            any::<bool>(),
        )
            .prop_map(|(p, t, normals, colors, uvs, opaque)| {
                let mut m = Mesh::new(p, t).unwrap();
                if let Some(v) = normals {
                    m = m.with_normals(v).unwrap();
                }
                if let Some(mut c) = colors {
                    // Both the rgb form and the rgba form of the writer.
                    if opaque {
                        c.iter_mut().for_each(|c| c[3] = 255);
                    }
                    m = m.with_colors(c).unwrap();
                }
                if let Some(v) = uvs {
                    m = m.with_uvs(v).unwrap();
                }
                m
            })
    })
}

proptest! {
    #[test]
    fn round_trip_is_exact(mesh in meshes()) {
        let mut bytes = Vec::new();
        obj::write(&mesh, &mut bytes).unwrap();
        let back = read(&bytes, &mm()).unwrap();
        prop_assert_eq!(back.format, FileFormat::Obj);
        let m = back.mesh;
        prop_assert_eq!(bits(m.positions()), bits(mesh.positions()));
        prop_assert_eq!(m.triangles(), mesh.triangles());
        prop_assert_eq!(m.normals().map(bits), mesh.normals().map(bits));
        prop_assert_eq!(m.uvs().map(bits), mesh.uvs().map(bits));
        prop_assert_eq!(m.colors(), mesh.colors());
        prop_assert!(back.notes.is_empty(), "{:?}", back.notes);
    }
}

#[test]
fn writer_declares_mm_and_uses_the_matching_face_form() {
    let m = Mesh::new(vec![[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 1.0, -0.25]], vec![[0, 1, 2]]).unwrap();
    let text = |m: &Mesh| {
        let mut out = Vec::new();
        obj::write(m, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    assert_eq!(text(&m), "# written by FaceVault\n# unit mm\nv 0 0 0\nv 1.5 0 0\nv 0 1 -0.25\nf 1 2 3\n");
    let n = m.clone().with_normals(vec![[0.0, 0.0, 1.0]; 3]).unwrap();
    assert!(text(&n).ends_with("vn 0 0 1\nf 1//1 2//2 3//3\n"));
    let u = m.clone().with_uvs(vec![[0.5, 1.0]; 3]).unwrap();
    assert!(text(&u).ends_with("vt 0.5 1\nf 1/1 2/2 3/3\n"));
    let both = n.with_uvs(vec![[0.5, 1.0]; 3]).unwrap();
    assert!(text(&both).ends_with("f 1/1/1 2/2/2 3/3/3\n"));
    let c = m.with_colors(vec![[255, 0, 51, 255]; 3]).unwrap();
    assert!(text(&c).contains("v 1.5 0 0 1 0 0.2\n"), "{}", text(&c));
    // The unit comment is honoured when reading without an override.
    let back = read(text(&c).as_bytes(), &ReadOptions::default()).unwrap();
    assert_eq!(back.mesh.source_unit().basis, UnitBasis::Declared);
    assert_eq!(back.mesh.source_unit().unit, Unit::Millimetre);
}

#[test]
fn negative_indices_count_back_from_the_last_vertex() {
    let m = obj(&format!("{TRIANGLE}f -3 -2 -1\nv 0 0 1\nf 1 -1 -2\n")).mesh;
    assert_eq!(m.triangles(), &[[0, 1, 2], [0, 3, 2]]);
}

#[test]
fn all_corner_forms_attach_per_vertex_attributes() {
    let m = obj(&format!(
        "{TRIANGLE}vt 0 0\nvt 1 0\nvt 0 1\nvn 0 0 1\nvn 0 0 1\nvn 0 0 -1\nf 1/1/1 2/2/2 3/3/3\n"
    ))
    .mesh;
    assert_eq!(m.uvs(), Some(&[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]][..]));
    assert_eq!(m.normals(), Some(&[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]][..]));

    let m = obj(&format!("{TRIANGLE}vt 0.25 0.5\nf 1/1 2/1 3/1\n")).mesh;
    assert_eq!(m.uvs(), Some(&[[0.25, 0.5]; 3][..]));
    assert_eq!(m.normals(), None);

    let m = obj(&format!("{TRIANGLE}vn 1 0 0\nf 1//1 2//1 3//1\n")).mesh;
    assert_eq!(m.normals(), Some(&[[1.0, 0.0, 0.0]; 3][..]));
    assert_eq!(m.uvs(), None);

    // `vt u` alone means v = 0.
    let m = obj(&format!("{TRIANGLE}vt 0.5\nvt 0.6 0.7 0\nvt 0.8 0.9\nf 1/1 2/2 3/3\n")).mesh;
    assert_eq!(m.uvs(), Some(&[[0.5, 0.0], [0.6, 0.7], [0.8, 0.9]][..]));
}

#[test]
fn uvs_indexed_apart_from_positions_map_to_vertices() {
    // Each position always meets the same uv, in another order than the positions.
    let m =
        obj(&format!("{TRIANGLE}v 1 1 0\nvt 9 9\nvt 8 8\nvt 7 7\nvt 6 6\nf 1/4 2/3 3/2\nf 2/3 4/1 3/2\n"))
            .mesh;
    assert_eq!(m.vertex_count(), 4);
    assert_eq!(m.uvs(), Some(&[[6.0, 6.0], [7.0, 7.0], [8.0, 8.0], [9.0, 9.0]][..]));
}

#[test]
fn conflicting_uvs_are_dropped_without_splitting_vertices() {
    let got = obj(&format!("{TRIANGLE}v 1 1 0\nvt 0 0\nvt 1 1\nf 1/1 2/1 3/1\nf 2/2 4/2 3/2\n"));
    assert_eq!(got.mesh.vertex_count(), 4);
    assert_eq!(got.mesh.triangles(), &[[0, 1, 2], [1, 3, 2]]);
    assert_eq!(got.mesh.uvs(), None);
    assert!(
        got.notes.iter().any(|n| n.contains("vertex 1 is used with different texture coordinates")),
        "{:?}",
        got.notes
    );

    // Normals conflict on their own; uvs that agree are still kept.
    let got =
        obj(&format!("{TRIANGLE}vt 0 0\nvn 0 0 1\nvn 0 0 -1\nf 1/1/1 2/1/1 3/1/1\nf 1/1/2 3/1/2 2/1/2\n"));
    assert_eq!(got.mesh.normals(), None);
    assert_eq!(got.mesh.uvs(), Some(&[[0.0, 0.0]; 3][..]));

    // A face that names no uv while others do leaves some vertices without one.
    let got = obj(&format!("{TRIANGLE}v 1 1 0\nvt 0 0\nf 1/1 2/1 3/1\nf 2 4 3\n"));
    assert_eq!(got.mesh.uvs(), None);
    assert!(got.notes.iter().any(|n| n.contains("no texture coordinates")), "{:?}", got.notes);
}

#[test]
fn polygons_are_fan_triangulated_and_counted() {
    let got = obj("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 2 0 0\nv 2 1 0\nv 3 0 0\n\
         f 1 2 3 4\nf 2 5 6 7 3\nf 1 2 4\n");
    assert_eq!(got.mesh.triangles(), &[[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 5, 6], [1, 6, 2], [0, 1, 3]]);
    assert!(got
        .notes
        .contains(&"fan-triangulated 2 polygons with more than 3 corners into 5 triangles".to_string()));
}

#[test]
fn other_statements_are_ignored_and_counted() {
    let got = obj("# exported by a scanner\nmtllib face.mtl\no head\ng skin\ns 1\nusemtl skin\n\
         v 0 0 0 # tip\nv 1 0 0\nv 0 1 0\nvp 0.5 0.5\nl 1 2\np 3\ncstype bspline\ndeg 3\n\
         usemtl eyes\nf 1 2 3 # a comment after a face\nfrobnicate 1 2 3\n");
    assert_eq!(got.mesh.vertex_count(), 3);
    assert_eq!(got.mesh.triangles(), &[[0, 1, 2]]);
    assert!(
        got.notes.contains(
            &"ignored statements: `mtllib` ×1, `o` ×1, `g` ×1, `s` ×1, `usemtl` ×2, `vp` ×1, `l` ×1, `p` ×1, \
              `cstype` ×1, `deg` ×1, `frobnicate` ×1"
                .to_string()
        ),
        "{:?}",
        got.notes
    );
}

#[test]
fn faces_may_refer_to_vertices_defined_later() {
    let got = obj("f 1/1 2/1 3/1\nf 3 1 2\nvt 0.5 0.5\nv 0 0 0\nv 1 0 0\nv 0 1 0\n");
    assert_eq!(got.mesh.triangles(), &[[0, 1, 2], [2, 0, 1]]);
    assert_eq!(got.mesh.uvs(), None, "the second face has no uvs");
    // `-1` in face 1 is relative to the (zero) vertices defined so far.
    assert_eq!(
        obj_err(b"f 1 2 3\nf -1 1 2\nv 0 0 0\n").1,
        ErrorKind::BadIndex { face: 1, index: -1, vertices: 0 }
    );
}

#[test]
fn crlf_tabs_and_runs_of_spaces_separate() {
    let m = obj("v\t0  0\t 0\r\nv 1 0 0\r\n  v 0 1 0 \r\n\r\nf\t1   2 3\r\n").mesh;
    assert_eq!(m.positions(), &[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
    assert_eq!(m.triangles(), &[[0, 1, 2]]);
}

#[test]
fn backslash_continues_a_statement_but_not_a_comment() {
    let m = obj("# C:\\scans\\\nv 0 0 0\nv 1 0 \\\n 0\nv 0 1 0\nf 1 2 \\\n3\n").mesh;
    assert_eq!(m.positions(), &[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
    assert_eq!(m.triangles(), &[[0, 1, 2]]);
    // An error in a continued statement names the line it started on.
    assert_eq!(obj_err(b"v 0 0 0\nv 1 \\\n x 0\n").0, Location::Line(2));
}

#[test]
fn vertex_colours_are_kept_only_when_every_vertex_has_one() {
    let m = obj("v 0 0 0 1 0 0.5\nv 1 0 0 0 1 0\nv 0 1 0 0.2 0.2 0.2\nf 1 2 3\n").mesh;
    assert_eq!(m.colors(), Some(&[[255, 0, 128, 255], [0, 255, 0, 255], [51, 51, 51, 255]][..]));
    let got = obj("v 0 0 0 1 0 0.5\nv 1 0 0\nv 0 1 0 0.2 0.2 0.2\nf 1 2 3\n");
    assert_eq!(got.mesh.colors(), None);
    assert!(got.notes.contains(&"only 2 of 3 vertices have a colour: colours dropped".to_string()));
    // Some exporters write 0-255.
    let m = obj("v 0 0 0 255 0 128\nv 1 0 0 0 255 0\nv 0 1 0 51 51 51\nf 1 2 3\n").mesh;
    assert_eq!(m.colors(), Some(&[[255, 0, 128, 255], [0, 255, 0, 255], [51, 51, 51, 255]][..]));
    // `v x y z w` is not a colour.
    assert_eq!(obj("v 0 0 0 1\nv 1 0 0 1\nv 0 1 0 1\nf 1 2 3\n").mesh.colors(), None);
}

#[test]
fn unit_comments_are_declarations() {
    let text = format!("# Units: cm\n{TRIANGLE}f 1 2 3\n");
    let got = read(text.as_bytes(), &ReadOptions::default()).unwrap();
    assert_eq!(got.mesh.source_unit().unit, Unit::Centimetre);
    assert_eq!(got.mesh.source_unit().basis, UnitBasis::Declared);
    assert_eq!(got.mesh.positions()[1], [10.0, 0.0, 0.0]);
    let got = read(format!("#unit mm\n{TRIANGLE}").as_bytes(), &ReadOptions::default()).unwrap();
    assert_eq!(got.mesh.source_unit().basis, UnitBasis::Declared);
}

#[test]
fn attributes_without_faces_pair_up_with_positions() {
    let m = obj(&format!("{TRIANGLE}vt 1 2\nvt 3 4\nvt 5 6\n")).mesh;
    assert_eq!(m.uvs(), Some(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]][..]));
    let got = obj(&format!("{TRIANGLE}vn 0 0 1\n"));
    assert_eq!(got.mesh.normals(), None);
    assert!(got.notes.contains(&"1 normals not used by any face: dropped".to_string()));
}

#[test]
fn errors_name_their_line_and_face() {
    let (tri, face) = (TRIANGLE.as_bytes(), "f 1 2 3\n");
    let with = |rest: &str| [tri, face.as_bytes(), rest.as_bytes()].concat();
    assert_eq!(
        obj_err(b"v 0 0 0\nv 1 x 0\n"),
        (Location::Line(2), ErrorKind::BadNumber { token: "x".into(), expected: "a number" })
    );
    assert_eq!(
        obj_err(&with("f 1 2 0\n")),
        (Location::Line(5), ErrorKind::BadIndex { face: 1, index: 0, vertices: 3 })
    );
    assert_eq!(
        obj_err(&with("f 1 2 -4\n")),
        (Location::Line(5), ErrorKind::BadIndex { face: 1, index: -4, vertices: 3 })
    );
    // Out of range is only known at the end (a later `v` could define it), yet names its face.
    assert_eq!(
        obj_err(&with("f 1 2 9\nf 1 2 3\nv 5 5 5\n")),
        (Location::Line(5), ErrorKind::BadIndex { face: 1, index: 9, vertices: 4 })
    );
    assert_eq!(
        obj_err(&with("vt 0 0\nf 1/1 2/2 3/1\n")),
        (Location::Line(6), ErrorKind::BadIndex { face: 1, index: 2, vertices: 1 })
    );
    assert_eq!(
        obj_err(&with("f 1//1 2//1 3//1\n")),
        (Location::Line(5), ErrorKind::BadIndex { face: 1, index: 1, vertices: 0 })
    );
    assert_eq!(
        obj_err(&with("f 1 2 1.5\n")),
        (Location::Line(5), ErrorKind::BadNumber { token: "1.5".into(), expected: "a vertex index" })
    );
    assert_eq!(
        obj_err(&with("f 1/2/3/4 2 3\n")).1,
        ErrorKind::BadNumber {
            token: "1/2/3/4".into(),
            expected: "a face corner: v, v/vt, v//vn or v/vt/vn"
        }
    );
    assert_eq!(
        obj_err(b"v 0 0 0\nv 1 inf 0\n"),
        (Location::Line(2), ErrorKind::NonFinite { vertex: 1, what: "position" })
    );
    assert_eq!(
        obj_err(&with("vn 0 NaN 1\n")),
        (Location::Line(5), ErrorKind::NonFinite { vertex: 0, what: "normal" })
    );
    assert_eq!(obj_err(&with("f 1 2\n")), (Location::Line(5), ErrorKind::TooFewVertices { face: 1, len: 2 }));
    let huge = format!("f {}\n", vec!["1"; 1025].join(" "));
    assert_eq!(
        obj_err(&with(&huge)),
        (Location::Line(5), ErrorKind::ListTooLong { face: 1, len: 1025, max: 1024 })
    );
    assert_eq!(obj_err(&with("\u{1}\u{2} 3 4\n")), (Location::Line(5), ErrorKind::NotText));
    assert_eq!(obj_err(&[tri, b"\xff\xfe\x00 1\n"].concat()), (Location::Line(4), ErrorKind::NotText));
    assert_eq!(
        obj_err(b"v 1 2\n"),
        (
            Location::Line(1),
            ErrorKind::Inconsistent {
                what: "`v` takes x y z, x y z w or x y z r g b, but has 2 numbers".into()
            }
        )
    );
    let long = format!("v 1 2 {}\n", "3".repeat(70_000));
    assert_eq!(obj_err(long.as_bytes()), (Location::Line(1), ErrorKind::LineTooLong { max: 65536 }));
    // The index overflows i64: not a number at all.
    assert_eq!(obj_err(&with("f 1 2 99999999999999999999\n")).1.code(), "bad-number");
}

#[test]
fn mediapipe_canonical_face() {
    const FILE: &[u8] = include_bytes!("../fixtures/canonical_face_model.obj");
    let got = read(FILE, &ReadOptions::default()).unwrap();
    assert_eq!(got.format, FileFormat::Obj);
    let m = &got.mesh;
    assert_eq!((m.vertex_count(), m.triangle_count()), (468, 898));
    // No unit comment: centimetres are guessed from the size of the face, and scaled to mm.
    assert_eq!(m.source_unit().unit, Unit::Centimetre);
    assert!(matches!(m.source_unit().basis, UnitBasis::Guessed { .. }));
    // `v 0.000000 -3.406404 5.979507` is the first line.
    assert_eq!(m.positions()[0], [0.0, -3.406404f32 * 10.0, 5.979507f32 * 10.0]);
    // Faces are `v/vt` with different numbers; each vertex must get the uv its corners name.
    let text = std::str::from_utf8(FILE).unwrap();
    let vts: Vec<[f32; 2]> = text
        .lines()
        .filter_map(|l| l.strip_prefix("vt "))
        .map(|l| {
            let w: Vec<f32> = l.split_whitespace().map(|t| t.parse().unwrap()).collect();
            [w[0], w[1]]
        })
        .collect();
    assert_eq!(vts.len(), 468);
    let uvs = m.uvs().expect("uvs kept");
    let mut checked = 0;
    for (line, tri) in text.lines().filter_map(|l| l.strip_prefix("f ")).zip(m.triangles()) {
        for (corner, &v) in line.split_whitespace().zip(tri) {
            let (pv, pt) = corner.split_once('/').unwrap();
            assert_eq!(pv.parse::<u32>().unwrap() - 1, v);
            assert_eq!(uvs[v as usize], vts[pt.parse::<usize>().unwrap() - 1]);
            checked += 1;
        }
    }
    assert_eq!(checked, 898 * 3);
    assert_eq!(m.normals(), None);
    assert_eq!(m.colors(), None);
}
