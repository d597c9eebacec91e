"""Embed the 468 MediaPipe landmarks in FaceKit's template (triangle + barycentric), from our own renders.

MediaPipe's canonical face mesh is not in the wheel, and its topology is unrelated to FaceKit's anyway. So
each landmark's place on FaceKit is measured: on cached synthetic views (true head known), the detected
landmark pixel is looked up in a z-buffer of the true template mesh (triangle + barycentric), mapped to the
mean-shape template, and the per-landmark median over all views is snapped back to the surface. The spread
over views (mm) says how consistently the detector puts that point on the same anatomy; landmarks of the face
oval (silhouette points that slide with pose) and unstable ones get weight 0 in the fitting's landmark term.

    face train photo_embedding --data /work/data/photo/cache/train --out face_addon/models
    face train photo_embedding --mesh-model attention --photos /work/data/photo/train \
        --data /work/data/photo/cache/train_attention --out face_addon/models
    (--data: cached train views, the points drawn by --mesh-model: `face train photo` writes the plain mesh's to
    its --cache; with --photos the photo-profile dataset's views are cached into --data first, records already
    there kept. `python -m face_addon.train.photo_embedding` takes the same options without Blender)

One embedding per face mesh model (`facekit_photo.EMBEDDING_FILES`): the attention model redraws lips and lids,
so the same index lands on other anatomy than the plain mesh's, and a read-out calibrated through one model's
places misreads the other's points. Except the eyes: on our small, noisy renders the attention model often draws
FaceKit's eye openings as near-closed slits (docs/photo.md), so where its eye points sit is not
measured well there (through those places FaceKit's own neutral faces read eyeBlinkLeft up to 0.24 and a full
left blink as little as 0.56; the plain places: 0.06 and 0.90); the points its eye crops redraw
(`eye_crop_points`: lids, eye rings, brows) keep the plain mesh's places.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from ..core.facekit import load_facekit
from ..core.photo.camera import CROP
from ..core.errors import UsageError
from ..core.models import resolve
from ..core.photo.face_mesh import MESH_MODELS
from ..core.photo.facekit_photo import EMBEDDING_FILES
from ..core.geometry.raster import rasterize
from ..core.geometry.surface_distance import SurfaceQuery, barycentric
from .model_card import write_card
from .options import add_common, count, data_folders, out_folder, standalone
from .photo_data import cache_split, cache_view

MAX_SPREAD_MM = 6.0


def embed(records: list[Path], oval: np.ndarray, log=print, mesh_model: str = "mesh") -> dict[str, np.ndarray]:
    """The embedding of `mesh_model`'s points from cached views whose landmarks that model drew (UsageError on a
    record of another model: records from before the key are the plain mesh's)."""
    fk = load_facekit()
    tv, tf = fk.template, fk.faces
    samples = []
    for path in records:
        with np.load(path) as r:
            drawn_by = str(r["mesh_model"]) if "mesh_model" in r.files else "mesh"
            if drawn_by != mesh_model:
                raise UsageError(f"{path}: its points were drawn by the face mesh {drawn_by!r}, not {mesh_model!r}")
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


def eye_crop_points() -> np.ndarray:
    """The 468-mesh points the attention model's eye crops redraw (each crop's subset that holds eye-contour
    points: lids, the rings around the eyes, brows; 142 points)."""
    from ..core.photo.mediapipe_assets import load_connections, load_model

    eye = np.unique(np.concatenate([load_connections()[k].ravel() for k in ("left_eye", "right_eye")]))
    subsets = [np.asarray(r["subset"]) for r in load_model("attention")[0]["refinement"]]
    return np.unique(np.concatenate([s for s in subsets if np.isin(s, eye).any()]))


def with_plain_eyes(emb: dict[str, np.ndarray], plain: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`emb` with the eye-crop points' rows (`eye_crop_points`) taken from the plain mesh's embedding `plain`."""
    rows = eye_crop_points()
    out = {k: np.array(v) for k, v in emb.items()}
    for k in out:
        out[k][rows] = plain[k][rows]
    return out


def add_arguments(parser) -> None:
    """`face train photo_embedding` options (train/options.py adds the shared ones; a measurement: no budget)."""
    add_common(parser, data="cached train views (`face train photo` writes them to its --cache)",
               default_minutes=None, threads=None, ship=False)
    parser.add_argument("--max-views", type=count, default=600)
    parser.add_argument("--mesh-model", choices=MESH_MODELS, default="mesh",
                        help="the face mesh whose points are embedded (the photo methods read 'attention')")
    parser.add_argument("--photos", help="photo-profile dataset (`face synth --profile photo`, train seeds) whose "
                        "views are cached into --data first, drawn by --mesh-model")


def run(args) -> int:
    """Measure the embedding and write OUT/<EMBEDDING_FILES[--mesh-model]> with its card (.json)."""
    from ..core.photo.mediapipe_assets import load_connections

    if args.photos:
        if not Path(args.photos).is_dir():
            raise UsageError(f"--photos {args.photos}: no such folder")
        if args.data:  # cache_split makes the folder; without --data, data_folders says what is missing
            cache_split(Path(args.photos), Path(args.data), view_fn=partial(cache_view, mesh_model=args.mesh_model))
    cache = data_folders(args, "the cached train views folder")[0]
    out = out_folder(args)
    records = sorted(cache.glob("*.npz"))[: args.max_views]
    if not records:
        raise UsageError(f"--data {cache}: no cached views (*.npz)")
    name = EMBEDDING_FILES[args.mesh_model]
    emb = embed(records, np.unique(load_connections()["face_oval"]), mesh_model=args.mesh_model)
    if args.mesh_model != "mesh":
        with np.load(resolve(EMBEDDING_FILES["mesh"])) as z:
            emb = with_plain_eyes(emb, {k: z[k] for k in z.files})
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / name, **emb)
    seeds = sorted({int(r.stem.split("_")[0]) for r in records})
    photos = f" --photos {args.photos}" if args.photos else ""
    write_card(out, name, {
        "what": "MediaPipe 468 landmarks -> FaceKit template (triangle, barycentric), measured on renders",
        "face_mesh_model": args.mesh_model,
        "views": len(records), "train_seeds": [seeds[0], seeds[-1]],
        "median_spread_mm": float(np.median(emb["spread_mm"])), "weighted": int(emb["weight"].sum()),
        "max_spread_mm": MAX_SPREAD_MM,
        "eye_points_from": None if args.mesh_model == "mesh" else f"{EMBEDDING_FILES['mesh']} ({len(eye_crop_points())})",
        "command": f"python -m face_addon train photo_embedding --mesh-model {args.mesh_model}{photos} --data "
                   f"{cache} --out {out} --max-views {args.max_views}"})
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
