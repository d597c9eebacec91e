"""Embed the 468 MediaPipe landmarks in FaceKit's template (triangle + barycentric), from our own renders.

MediaPipe's canonical face mesh is not in the wheel, and its topology is unrelated to FaceKit's anyway. So
each landmark's place on FaceKit is measured: on cached synthetic views (true head known), the detected
landmark pixel is looked up in a z-buffer of the true template mesh (triangle + barycentric), mapped to the
mean-shape template, and the per-landmark median over all views is snapped back to the surface. The spread
over views (mm) says how consistently the detector puts that point on the same anatomy; landmarks of the face
oval (silhouette points that slide with pose) and unstable ones get weight 0 in the fitting's landmark term.

    python -m face_addon.train.photo_embedding --cache /work/data/photo/cache/train --out face_addon/models
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..core.facekit import load_facekit
from ..core.photo.camera import CROP
from ..core.photo.facekit_photo import EMBEDDING_FILE
from ..core.geometry.raster import rasterize
from ..core.geometry.surface_distance import SurfaceQuery, barycentric

MAX_SPREAD_MM = 6.0


def embed(records: list[Path], oval: np.ndarray, log=print) -> dict[str, np.ndarray]:
    fk = load_facekit()
    tv, tf = fk.template, fk.faces
    samples = []
    for path in records:
        with np.load(path) as r:
            uv, z, lm = r["uv_true"], r["cam_vertices"][:, 2], r["landmarks"]
        ras = rasterize(uv, z, tf, CROP, CROP)
        q = np.clip(np.round(lm).astype(int), 0, CROP - 1)
        tri = ras.tri[q[:, 1], q[:, 0]]
        bary = ras.bary[q[:, 1], q[:, 0]]
        pts = (tv[tf[np.maximum(tri, 0)]] * bary[:, :, None]).sum(1)
        pts[tri < 0] = np.nan
        samples.append(pts)
    stack = np.stack(samples)  # (views, 468, 3) on the mean template
    med = np.nanmedian(stack, 0)
    spread = np.nanmedian(np.linalg.norm(stack - med, axis=2), 0) * 1e3
    hit = np.isfinite(stack[..., 0]).mean(0)
    med = np.where(np.isfinite(med), med, 0.0)
    p, _, fi = SurfaceQuery(tv, tf, k=8).nearest(med)
    a, b, c = (tv[tf[fi]][:, i] for i in range(3))
    bary = barycentric(p, a, b, c)
    weight = ((spread < MAX_SPREAD_MM) & (hit > 0.8)).astype(np.float32)
    weight[np.asarray(oval, np.int64)] = 0.0
    log(f"embedded {len(med)} landmarks from {len(records)} views: median spread {np.median(spread):.2f} mm, "
        f"{int(weight.sum())} with weight 1")
    return {"triangle": fi.astype(np.int64), "bary": bary.astype(np.float64), "weight": weight,
            "spread_mm": spread.astype(np.float32), "hit_rate": hit.astype(np.float32)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, help="cached train views (train/photo_data.py)")
    ap.add_argument("--out", required=True, help="folder for mediapipe_facekit.npz (+ .json card)")
    ap.add_argument("--max-views", type=int, default=600)
    args = ap.parse_args(argv)
    from ..core.photo.mediapipe_assets import load_connections

    records = sorted(Path(args.cache).glob("*.npz"))[: args.max_views]
    emb = embed(records, np.unique(load_connections()["face_oval"]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / EMBEDDING_FILE, **emb)
    seeds = sorted({int(r.stem.split("_")[0]) for r in records})
    (out / EMBEDDING_FILE.replace(".npz", ".json")).write_text(json.dumps({
        "what": "MediaPipe 468 landmarks -> FaceKit template (triangle, barycentric), measured on renders",
        "views": len(records), "train_seeds": [seeds[0], seeds[-1]] if seeds else [],
        "median_spread_mm": float(np.median(emb["spread_mm"])), "weighted": int(emb["weight"].sum()),
        "max_spread_mm": MAX_SPREAD_MM, "command": "python -m face_addon.train.photo_embedding " + " ".join(sys.argv[1:] if argv is None else argv)},
        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
