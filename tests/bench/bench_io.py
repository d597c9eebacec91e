"""Blender I/O speed on a 1M-vertex mesh, as a ratio to a plain foreach_get of the coordinates in the same run.

Run: .venv/bin/python tests/bench/bench_io.py   (writes tests/bench/results/io.json and io.md)
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402

from common import RESULTS, write_results  # noqa: E402
from face_addon.blender.mesh_io import read_mesh  # noqa: E402
from face_addon.blender.writers import write_empties, write_shape_keys, write_vertex_group  # noqa: E402


def _grid_object(side: int) -> bpy.types.Object:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_grid_add(x_subdivisions=side - 1, y_subdivisions=side - 1, size=0.3)
    obj = bpy.context.active_object
    return obj


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    side = 1000
    obj = _grid_object(side)
    n = len(obj.data.vertices)
    co = np.empty(n * 3, np.float32)
    baseline = _best(lambda: obj.data.vertices.foreach_get("co", co))
    read = _best(lambda: read_mesh(obj, space="WORLD"))
    rng = np.random.default_rng(0)
    weights = rng.random(n)
    offsets = rng.normal(0, 1e-3, (n, 3))
    write_vg = _best(lambda: write_vertex_group(obj, "Skin", weights))
    write_sk = _best(lambda: write_shape_keys(obj, {"Nose Height": offsets}))
    write_em = _best(lambda: write_empties(obj, "Grid Landmarks", [f"LM_{i}" for i in range(68)],
                                           rng.random((68, 3)), 0.005))
    total = read + write_vg + write_sk
    build = RESULTS / "build.json"  # zip sizes come from bench_install_full.py, which builds every platform
    zip_mb = json.loads(build.read_text())["zip_mb"] if build.exists() else {}
    data = {
        "zip_mb": zip_mb,
        "n_vertices": n,
        "baseline_foreach_get_s": baseline,
        "read_mesh_s": read,
        "write_vertex_group_s": write_vg,
        "write_shape_key_s": write_sk,
        "write_68_empties_s": write_em,
        "io_1M_ratio": total / baseline,
        "read_ratio": read / baseline,
        "write_vertex_group_ratio": write_vg / baseline,
        "write_shape_key_ratio": write_sk / baseline,
    }
    table = (
        f"| step ({n:,} vertices) | seconds | × foreach_get(co) |\n|---|---|---|\n"
        f"| baseline foreach_get('co') | {baseline:.4f} | 1.0 |\n"
        f"| read_mesh (world, loop triangles, colors, uv) | {read:.3f} | {read / baseline:.1f} |\n"
        f"| write_vertex_group (random weights) | {write_vg:.3f} | {write_vg / baseline:.1f} |\n"
        f"| write_shape_keys (1 key) | {write_sk:.3f} | {write_sk / baseline:.1f} |\n"
        f"| **read + write (io_1M_ratio)** | {total:.3f} | **{total / baseline:.1f}** |\n"
        f"| write_empties (68) | {write_em:.4f} | — |\n"
        f"\nZip sizes (MB, from build.json): {zip_mb}\n"
    )
    write_results("io", data, table, "python tests/bench/bench_io.py")
    print((RESULTS / "io.md").read_text())


if __name__ == "__main__":
    main()
