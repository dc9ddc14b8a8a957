"""Interop with peer tools: files FaceVault writes are read by trimesh and Open3D with the same
counts and coordinates, and files trimesh and Open3D write are read by FaceVault the same way.

Run by `cargo xtask test` in target/venv, with FACEVAULT_BIN pointing at the binary. FaceVault's
side is observed through `facevault mesh convert ... --format ply-ascii`, whose shortest
round-trip float text is parsed here, so no peer stands in for FaceVault's reader.
"""
import os
import subprocess
from pathlib import Path

import numpy as np
import open3d as o3d
import pytest
import trimesh

FACEVAULT = os.environ.get("FACEVAULT_BIN", "target/release/facevault")
RTOL = 1e-6
o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)


def face_like_mesh(nx=61, ny=81, seed=7):
    """A smooth face-sized height field (mm) with full-precision jitter in every coordinate."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(-70.0, 70.0, nx)
    ys = np.linspace(-100.0, 100.0, ny)
    x, y = np.meshgrid(xs, ys)
    z = 80.0 * np.exp(-(x**2) / 5000.0 - (y**2) / 12000.0) + 20.0 * np.exp(-(x**2 + (y + 5) ** 2) / 150.0)
    v = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    v += rng.uniform(-0.3, 0.3, v.shape)
    v = v.astype(np.float32)
    idx = np.arange(nx * ny).reshape(ny, nx)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    f = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return v, f.astype(np.int64)


def write_ascii_ply(path, v, f):
    with open(path, "w") as out:
        out.write(f"ply\nformat ascii 1.0\ncomment unit mm\nelement vertex {len(v)}\n")
        out.write("property float x\nproperty float y\nproperty float z\n")
        out.write(f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
        for p in v:
            out.write(" ".join(repr(float(c)) for c in p) + "\n")
        for t in f:
            out.write("3 " + " ".join(str(int(i)) for i in t) + "\n")


def read_ascii_ply(path):
    """Parse the ascii PLY FaceVault writes: x y z first, then optional attributes."""
    with open(path) as fh:
        lines = fh.read().splitlines()
    end = lines.index("end_header")
    header = lines[:end]
    nv = nf = 0
    for line in header:
        parts = line.split()
        if parts[:2] == ["element", "vertex"]:
            nv = int(parts[2])
        if parts[:2] == ["element", "face"]:
            nf = int(parts[2])
    body = lines[end + 1 :]
    v = np.array([[float(t) for t in line.split()[:3]] for line in body[:nv]], dtype=np.float64)
    f = np.array([[int(t) for t in line.split()[1:4]] for line in body[nv : nv + nf]], dtype=np.int64)
    return v.reshape(-1, 3), f.reshape(-1, 3)


def facevault(*args):
    proc = subprocess.run([FACEVAULT, *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def facevault_read(path, tmp_path):
    out = tmp_path / (Path(path).name + ".fv.ply")
    facevault("mesh", "convert", path, out, "--format", "ply-ascii", "--unit", "mm")
    return read_ascii_ply(out)


def assert_close(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    scale = np.abs(b).max()
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * scale)


def assert_same(v, f, ref_v, ref_f, welded_or_split=False):
    """Same counts and coordinates. STL has no shared vertices on disk, so there the triangles'
    corner coordinates are compared instead of the vertex lists."""
    assert len(f) == len(ref_f)
    if welded_or_split:
        assert_close(np.asarray(v)[np.asarray(f)], ref_v[ref_f])
    else:
        assert len(v) == len(ref_v)
        assert_close(v, ref_v)
        np.testing.assert_array_equal(np.asarray(f), ref_f)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    v, f = face_like_mesh()
    path = tmp_path_factory.mktemp("ref") / "ref.ply"
    write_ascii_ply(path, v, f)
    return path, v.astype(np.float64), f


WRITTEN = {
    "ply-ascii": "ply",
    "ply-binary-le": "ply",
    "ply-binary-be": "ply",
    "obj": "obj",
    "stl-ascii": "stl",
    "stl-binary": "stl",
}


def peer_read(peer, path):
    if peer == "trimesh":
        m = trimesh.load(path, process=False)
        return np.asarray(m.vertices), np.asarray(m.faces)
    m = o3d.io.read_triangle_mesh(str(path), enable_post_processing=False)
    return np.asarray(m.vertices), np.asarray(m.triangles)


def by_corners(peer, ext):
    """STL stores no shared vertices, and Open3D's OBJ reader renumbers vertices in the order
    faces first use them: there the triangles' corners are compared, and the counts."""
    return ext == "stl" or (peer == "open3d" and ext == "obj")


@pytest.mark.parametrize("fmt", sorted(WRITTEN))
@pytest.mark.parametrize("peer", ["trimesh", "open3d"])
def test_peers_read_what_facevault_writes(reference, tmp_path, fmt, peer):
    src, ref_v, ref_f = reference
    ext = WRITTEN[fmt]
    out = tmp_path / f"out.{ext}"
    facevault("mesh", "convert", src, out, "--format", fmt, "--unit", "mm")
    v, f = peer_read(peer, out)
    if peer == "open3d" and ext == "obj":
        assert len(v) == len(ref_v)
    assert_same(v, f, ref_v, ref_f, welded_or_split=by_corners(peer, ext))


def trimesh_write(v, f, path, **kw):
    trimesh.Trimesh(v, f, process=False).export(path, **kw)


def open3d_write(v, f, path, **kw):
    m = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(v), o3d.utility.Vector3iVector(f))
    if str(path).endswith(".stl"):
        m.compute_triangle_normals()
    assert o3d.io.write_triangle_mesh(str(path), m, **kw)


PEER_WRITES = {
    "trimesh-ply-binary": (trimesh_write, "ply", {"encoding": "binary"}),
    "trimesh-ply-ascii": (trimesh_write, "ply", {"encoding": "ascii"}),
    "trimesh-obj": (trimesh_write, "obj", {"include_normals": False, "include_texture": False}),
    "trimesh-stl-binary": (trimesh_write, "stl", {}),
    "trimesh-stl-ascii": (trimesh_write, "stl", {"file_type": "stl_ascii"}),
    "open3d-ply-binary": (open3d_write, "ply", {"write_ascii": False}),
    "open3d-ply-ascii": (open3d_write, "ply", {"write_ascii": True}),
    "open3d-obj": (open3d_write, "obj", {}),
    "open3d-stl": (open3d_write, "stl", {}),
}


@pytest.mark.parametrize("case", sorted(PEER_WRITES))
def test_facevault_reads_what_peers_write(reference, tmp_path, case):
    """The reference is what the peer itself reads back from its file: Open3D writes ascii
    with six significant digits, so the file, not the array it was given, is the truth."""
    _, ref_v, ref_f = reference
    write, ext, kw = PEER_WRITES[case]
    peer = case.split("-")[0]
    path = tmp_path / f"peer.{ext}"
    write(ref_v, ref_f, path, **kw)
    peer_v, peer_f = peer_read(peer, path)
    v, f = facevault_read(path, tmp_path)
    if by_corners(peer, ext):
        assert len(f) == len(ref_f)
        assert_close(v[f], peer_v[peer_f])
        if ext == "obj":
            assert len(v) == len(peer_v)
    else:
        assert_same(v, f, peer_v, peer_f)


def test_attributes_reach_open3d(tmp_path):
    """Normals and colours FaceVault writes to PLY are the ones Open3D reads."""
    v, f = face_like_mesh(nx=21, ny=31)
    m = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(v.astype(np.float64)), o3d.utility.Vector3iVector(f))
    m.compute_vertex_normals()
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (len(v), 3)) / 255.0
    m.vertex_colors = o3d.utility.Vector3dVector(colours)
    src = tmp_path / "src.ply"
    assert o3d.io.write_triangle_mesh(str(src), m, write_ascii=True)
    out = tmp_path / "fv.ply"
    facevault("mesh", "convert", src, out, "--unit", "mm")
    # Open3D writes ascii with six significant digits: what it reads from src is the truth.
    expected = o3d.io.read_triangle_mesh(str(src), enable_post_processing=False)
    back = o3d.io.read_triangle_mesh(str(out), enable_post_processing=False)
    assert len(back.vertices) == len(v)
    assert_close(np.asarray(back.vertices), np.asarray(expected.vertices))
    assert_close(np.asarray(back.vertex_normals), np.asarray(expected.vertex_normals))
    np.testing.assert_allclose(np.asarray(back.vertex_colors), colours, atol=0.5 / 255)
    np.testing.assert_array_equal(np.asarray(back.triangles), f)
