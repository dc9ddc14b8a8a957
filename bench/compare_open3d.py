"""Open3D's side of `cargo xtask bench analysis`: register POST onto PRE with its best
pipeline (voxel-downsampled point-to-plane ICP with a Tukey kernel, coarse then fine) and
measure the distance of every aligned POST vertex to PRE's surface with
RaycastingScene.compute_distance (unsigned: Open3D's signed variant needs a watertight mesh).

Writes the 3x4 transform and one distance per vertex as little-endian f64 to OUT, and prints
one JSON line: seconds (registration + distances, reading excluded) and peak memory (VmHWM).
Usage: compare_open3d.py PRE POST OUT
"""
import json
import sys
import time

import numpy as np
import open3d as o3d


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def main():
    pre_path, post_path, out = sys.argv[1:4]
    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    pre = o3d.io.read_triangle_mesh(pre_path, enable_post_processing=False, print_progress=False)
    post = o3d.io.read_triangle_mesh(post_path, enable_post_processing=False, print_progress=False)
    reg = o3d.pipelines.registration
    t0 = time.perf_counter()
    src = o3d.geometry.PointCloud(post.vertices).voxel_down_sample(1.0)
    tgt = o3d.geometry.PointCloud(pre.vertices).voxel_down_sample(1.0)
    for pc in (src, tgt):
        pc.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=3.0, max_nn=30))
    est = reg.TransformationEstimationPointToPlane(reg.TukeyLoss(k=1.0))
    crit = reg.ICPConvergenceCriteria(relative_fitness=1e-7, relative_rmse=1e-7, max_iteration=60)
    # Open3D needs a start: align the centroids, then ICP coarse (4 mm voxels, 20 mm
    # correspondences) to fine (1 mm voxels, 2 mm).
    init = np.eye(4)
    init[:3, 3] = np.asarray(tgt.get_center()) - np.asarray(src.get_center())
    coarse_src, coarse_tgt = src.voxel_down_sample(4.0), tgt.voxel_down_sample(4.0)
    r = reg.registration_icp(coarse_src, coarse_tgt, 20.0, init, est, crit)
    r = reg.registration_icp(src, tgt, 2.0, r.transformation, est, crit)
    t = np.asarray(r.transformation)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(pre))
    pts = (np.asarray(post.vertices) @ t[:3, :3].T + t[:3, 3]).astype(np.float32)
    d = scene.compute_distance(o3d.core.Tensor(pts)).numpy()
    seconds = time.perf_counter() - t0
    peak = status_kib("VmHWM") * 1024
    np.concatenate([t[:3, :].reshape(-1), d.astype(np.float64)]).astype("<f8").tofile(out)
    print(json.dumps({"seconds": seconds, "peak_bytes": peak}))


if __name__ == "__main__":
    main()
