"""Read one mesh file with a peer tool and print one JSON line: time, peak memory, counts.

Run by `cargo xtask bench mesh`, one fresh process per run, so that peak memory (VmHWM) is
the read's own. Usage: read_mesh.py open3d|trimesh FILE
"""
import json
import sys
import time

import numpy as np


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def main():
    tool, path = sys.argv[1], sys.argv[2]
    if tool == "open3d":
        import open3d as o3d

        o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)

        def load():
            m = o3d.io.read_triangle_mesh(path, enable_post_processing=False, print_progress=False)
            return np.asarray(m.vertices), np.asarray(m.triangles), m

    elif tool == "trimesh":
        import trimesh

        def load():
            m = trimesh.load(path, process=False)
            return m.vertices, m.faces, m

    else:
        raise SystemExit(f"unknown tool {tool}")
    rss_before = status_kib("VmRSS")
    t0 = time.perf_counter()
    v, f, keep = load()
    seconds = time.perf_counter() - t0
    peak = status_kib("VmHWM")
    print(json.dumps({
        "seconds": seconds,
        "peak_delta_bytes": (peak - rss_before) * 1024,
        "vertices": int(len(v)),
        "triangles": int(len(f)),
        "coord_sum": float(np.asarray(v, dtype=np.float64).sum()),
        "index_sum": int(np.asarray(f, dtype=np.int64).sum()),
    }))


if __name__ == "__main__":
    main()
