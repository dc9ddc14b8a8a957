"""Writes the hostile-input corpus: each file is broken in one known way, and MANIFEST lists
the error kind the reader must report for it. Run once; the files are committed.
    python3 make_corpus.py
"""
import struct

cases = []  # (name, bytes, kind)


def add(name, data, kind):
    if isinstance(data, str):
        data = data.encode()
    cases.append((name, data, kind))


def ply_header(fmt, nv, nf, vprops="property float x\nproperty float y\nproperty float z\n",
               flist="property list uchar int vertex_indices\n"):
    h = f"ply\nformat {fmt} 1.0\nelement vertex {nv}\n{vprops}"
    if nf is not None:
        h += f"element face {nf}\n{flist}"
    return h + "end_header\n"


def le_verts(vs, e="<"):
    return b"".join(struct.pack(e + "3f", *v) for v in vs)


def le_faces(fs, e="<", count="B", idx="i"):
    return b"".join(struct.pack(e + count + idx * len(f), len(f), *f) for f in fs)


tri = [(0, 0, 0), (100, 0, 0), (0, 150, 0)]

# --- unknown / empty ---
add("fail_empty.ply", b"", "empty")
add("fail_unknown_text.txt", "hello, this is not a mesh\n", "unknown-format")
add("fail_unknown_short_binary.bin", bytes([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]), "unknown-format")

# --- PLY header ---
add("fail_ply_magic_only.ply", "ply\n", "truncated")
add("fail_ply_bad_format.ply", "ply\nformat binary_middle_endian 1.0\nelement vertex 0\nend_header\n", "bad-header")
add("fail_ply_unknown_type.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float128 x\nend_header\n1\n", "bad-header")
add("fail_ply_no_xyz.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float q\nend_header\n1\n", "bad-header")
add("fail_ply_bad_keyword.ply", "ply\nformat ascii 1.0\nelemnt vertex 1\nend_header\n", "bad-header")
add("fail_ply_negative_count.ply", "ply\nformat ascii 1.0\nelement vertex -3\nproperty float x\nproperty float y\nproperty float z\nend_header\n", "bad-header")
add("fail_ply_header_endless_comments.ply", "ply\nformat ascii 1.0\n" + "comment spam\n" * 20000 + "end_header\n", "bad-header")
add("fail_ply_header_line_too_long.ply", "ply\nformat ascii 1.0\ncomment " + "x" * 200000 + "\nend_header\n", "line-too-long")

# --- PLY lying counts: memory must stay bounded by the bytes present ---
# Exactly 200 bytes that declare 2^31 vertices.
h = ply_header("binary_little_endian", 2**31, None)
add("fail_ply_lying_vertex_count.ply", (h.encode() + le_verts(tri)).ljust(200, b"\0"), "count-too-large")
h = ply_header("binary_little_endian", 3, 10**9)
add("fail_ply_lying_face_count.ply", h.encode() + le_verts(tri) + le_faces([(0, 1, 2)]), "count-too-large")
h = ply_header("binary_little_endian", 3, 1, flist="property list uint int vertex_indices\n")
add("fail_ply_absurd_list_length.ply", h.encode() + le_verts(tri) + struct.pack("<I", 4_000_000_000) + b"\0" * 12, "list-too-long")
h = ply_header("binary_little_endian", 3, 2)
add("fail_ply_truncated_faces.ply", h.encode() + le_verts(tri) + struct.pack("<B3i", 3, 0, 1, 2) + struct.pack("<B3i", 4, 0, 1, 2), "truncated")  # a quad cut after 3 indices
h = ply_header("ascii", 10, 0)
add("fail_ply_ascii_truncated.ply", h + "0.123456 1.234567 2.345678\n" * 3, "truncated")

# --- PLY bad values ---
h = ply_header("binary_little_endian", 3, 1)
add("fail_ply_nan.ply", h.encode() + le_verts([(0, 0, 0), (float("nan"), 0, 0), (0, 1, 0)]) + le_faces([(0, 1, 2)]), "non-finite")
add("fail_ply_inf_ascii.ply", ply_header("ascii", 3, 1) + "0 0 0\ninf 0 0\n0 1 0\n3 0 1 2\n", "non-finite")
add("fail_ply_index_out_of_range.ply", h.encode() + le_verts(tri) + le_faces([(0, 1, 3)]), "bad-index")
add("fail_ply_negative_index.ply", h.encode() + le_verts(tri) + le_faces([(0, -1, 2)]), "bad-index")
add("fail_ply_two_vertex_face.ply", ply_header("ascii", 3, 1) + "0 0 0\n1 0 0\n0 1 0\n2 0 1\n", "too-few-vertices")
add("fail_ply_bad_number.ply", ply_header("ascii", 3, 1) + "0 0 0\n1 abc 0\n0 1 0\n3 0 1 2\n", "bad-number")
add("fail_ply_ascii_face_index_float.ply", ply_header("ascii", 3, 1) + "0 0 0\n1 0 0\n0 1 0\n3 0 1.5 2\n", "bad-number")
# Big-endian data under a little-endian header: the indices come out huge.
hb = ply_header("binary_little_endian", 3, 1)
add("fail_ply_wrong_endianness.ply", hb.encode() + le_verts(tri, ">") + le_faces([(0, 1, 2)], ">"), "bad-index")
# An ascii body under a binary header: the text's bytes cannot hold the declared records.
add("fail_ply_binary_header_ascii_body.ply", hb + "0 0 0\n100 0 0\n0 150 0\n3 0 1 2\n", "count-too-large")

# --- OBJ ---
add("fail_obj_bad_number.obj", "v 1 2 x\n", "bad-number")
add("fail_obj_nan.obj", "v 0 0 0\nv nan 0 0\nv 0 1 0\nf 1 2 3\n", "non-finite")
add("fail_obj_index_zero.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "bad-index")
add("fail_obj_index_out_of_range.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "bad-index")
add("fail_obj_negative_too_far.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -1 -2 -4\n", "bad-index")
add("fail_obj_bad_uv_index.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/9 2/9 3/9\n", "bad-index")
add("fail_obj_two_corners.obj", "v 0 0 0\nv 1 0 0\nf 1 2\n", "too-few-vertices")
add("fail_obj_huge_polygon.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf " + " ".join(["1 2 3"] * 700) + "\n", "list-too-long")
add("fail_obj_line_too_long.obj", "v 1 2 " + "3" * 200000 + "\n", "line-too-long")
add("fail_obj_index_overflow.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99999999999999999999\n", "bad-number")

# --- STL ---
add("fail_stl_lying_count.stl", (b"\0" * 80 + struct.pack("<I", 4_000_000_000)).ljust(200, b"\1"), "count-too-large")
add("fail_stl_nan.stl", b"\0" * 80 + struct.pack("<I", 1) + struct.pack("<12fH", 0, 0, 1, 0, 0, 0, float("nan"), 0, 0, 0, 1, 0, 0), "non-finite")
add("fail_stl_ascii_truncated.stl", "solid x\nfacet normal 0 0 1\n outer loop\n  vertex 0 0 0\n", "truncated")
add("fail_stl_ascii_bad_number.stl", "solid x\nfacet normal 0 0 1\n outer loop\n  vertex 0 zero 0\n  vertex 1 0 0\n  vertex 0 1 0\n endloop\nendfacet\nendsolid x\n", "bad-number")
add("fail_stl_ascii_four_vertices.stl", "solid x\nfacet normal 0 0 1\n outer loop\n  vertex 0 0 0\n  vertex 1 0 0\n  vertex 0 1 0\n  vertex 1 1 0\n endloop\nendfacet\nendsolid x\n", "inconsistent")
add("fail_stl_ascii_inf.stl", "solid x\nfacet normal 0 0 1\n outer loop\n  vertex 0 0 0\n  vertex 1e39 0 0\n  vertex 0 1 0\n endloop\nendfacet\nendsolid x\n", "non-finite")

with open("MANIFEST", "w") as m:
    m.write("# file  expected-error-kind   (written by make_corpus.py)\n")
    for name, data, kind in cases:
        with open(name, "wb") as f:
            f.write(data)
        m.write(f"{name} {kind}\n")
print(len(cases), "files")
