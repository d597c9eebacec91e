"""Render Segment Skin's views of dataset scans (needs bpy): the image encoder's training data and the
benchmark's inputs, cached as one npz per scan (format: core/view_cache.py).

    python -m face_addon.synth.skin_views --data /work/data/synth/train_lm --out out/skin_views --jitter
    python -m face_addon.synth.skin_views --data /work/data/synth/test --out out/skin_views --max 100

Per scan (`<seed>.npz`): images uint8 (V, H, W, 3) — Cycles renders of the vertex-coloured scan from the
13-view rig (`core.geometry.multiview.scan_rig`, blender/scan_views.py) —, labels uint8 (V, H, W) — the class
of the visible scan surface per pixel (labels.npz:class_id through the same cameras, 0 = background) —, and
K (V, 3, 3), world_to_camera (V, 4, 4) in the scan's frame. `--jitter` (train scans) turns the rig by a random
yaw ±20° / pitch ±10° and scales its distance ×U(0.9, 1.2) per scan, so the encoder does not learn one fixed
set of viewpoints; the test scans use the plain rig, as inference does. Resumable: existing files are skipped.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ..core.dataset import complete_seeds, load_sample
from ..core.geometry.multiview import ViewCamera, label_image, scan_rig
from ..core.mesh import Mesh
from ..core.pipelines.skin_image import turned_rig
from ..core.view_cache import save_views

RESOLUTION = 160


def view_cameras(vertices: np.ndarray, resolution: int, rng: np.random.Generator | None) -> list[ViewCamera]:
    """The rig for one scan, in the scan's frame (jittered when rng is given)."""
    if rng is None:
        return scan_rig(vertices, resolution)
    return turned_rig(vertices, rng.uniform(-20, 20), rng.uniform(-10, 10), resolution, margin=rng.uniform(0.9, 1.2))


def render_sample(root: Path, seed: int, out: Path, resolution: int, jitter: bool) -> Path:
    from ..blender.scan_views import render_views

    path = out / f"{seed:07d}.npz"
    s = load_sample(root, seed, head=False, cameras=False)
    v = s.scan_vertices.astype(np.float64)
    cams = view_cameras(v, resolution, np.random.default_rng(seed) if jitter else None)
    images = render_views(Mesh(v, s.scan_faces, colors=s.scan_colors), cams)
    labels = np.stack([label_image(v, s.scan_faces, s.class_id.astype(np.uint8), c) for c in cams])
    return save_views(path, images, labels, cams)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max", type=int, default=None, help="at most this many scans (lowest seeds first)")
    ap.add_argument("--resolution", type=int, default=RESOLUTION)
    ap.add_argument("--jitter", action="store_true", help="random rig pose per scan (training data)")
    a = ap.parse_args(argv)
    root, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = complete_seeds(root)[:a.max]
    t0 = time.time()
    for i, seed in enumerate(seeds):
        if (out / f"{seed:07d}.npz").exists():
            continue
        try:
            render_sample(root, seed, out, a.resolution, a.jitter)
        except Exception as exc:  # noqa: BLE001 - one broken sample must not stop a long run
            print(f"skip {seed}: {exc}", flush=True)
            continue
        print(f"{i + 1}/{len(seeds)} {seed} ({time.time() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
