"""Embed the 468 MediaPipe landmarks in FaceKit's template (triangle + barycentric), from our own renders.

MediaPipe's canonical face mesh is not in the wheel, and its topology is unrelated to FaceKit's anyway. So
each landmark's place on FaceKit is measured: on cached synthetic views (true head known), the detected
landmark pixel is looked up in a z-buffer of the true template mesh (triangle + barycentric), mapped to the
mean-shape template, and the per-landmark median over all views is snapped back to the surface. The spread
over views (mm) says how consistently the detector puts that point on the same anatomy; landmarks of the face
oval (silhouette points that slide with pose) and unstable ones get weight 0 in the fitting's landmark term.

    face train photo_embedding --data /work/data/photo/cache/train --out face_addon/models
    (--data: the cached train views `face train photo` writes to its --cache; `python -m
    face_addon.train.photo_embedding` takes the same options without Blender)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.facekit import load_facekit
from ..core.photo.camera import CROP
from ..core.photo.facekit_photo import EMBEDDING_FILE
from ..core.geometry.raster import rasterize
from ..core.geometry.surface_distance import SurfaceQuery, barycentric
from .model_card import write_card
from .options import add_common, count, data_folders, out_folder, standalone

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


def add_arguments(parser) -> None:
    """`face train photo_embedding` options (train/options.py adds the shared ones; a measurement: no budget)."""
    add_common(parser, data="cached train views (`face train photo` writes them to its --cache)",
               default_minutes=None, threads=None, ship=False)
    parser.add_argument("--max-views", type=count, default=600)


def run(args) -> int:
    """Measure the embedding and write OUT/mediapipe_facekit.npz with its card (.json)."""
    from ..core.photo.mediapipe_assets import load_connections

    cache = data_folders(args, "the cached train views folder")[0]
    out = out_folder(args)
    records = sorted(cache.glob("*.npz"))[: args.max_views]
    emb = embed(records, np.unique(load_connections()["face_oval"]))
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / EMBEDDING_FILE, **emb)
    seeds = sorted({int(r.stem.split("_")[0]) for r in records})
    write_card(out, EMBEDDING_FILE, {
        "what": "MediaPipe 468 landmarks -> FaceKit template (triangle, barycentric), measured on renders",
        "views": len(records), "train_seeds": [seeds[0], seeds[-1]] if seeds else [],
        "median_spread_mm": float(np.median(emb["spread_mm"])), "weighted": int(emb["weight"].sum()),
        "max_spread_mm": MAX_SPREAD_MM,
        "command": f"python -m face_addon train photo_embedding --data {cache} --out {out} --max-views {args.max_views}"})
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
