"""Photo-profile samples -> per-view training/evaluation records (no bpy).

Each view of a `synth --profile photo` sample goes through the product's own front end (MediaPipe-derived
detector and 468-point mesh, crop around the landmarks) and is cached as `<cache>/SEED_VV.npz`:
the 224² crop (uint8), the landmarks and the true part-label image in crop pixels, the crop transform, the
true FaceKit coefficients and the true template vertices in camera space and crop pixels. Views where the
detector finds no face are recorded in `<cache>/no_face.json` (a detector miss rate worth reporting).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.dataset import complete_seeds, read_ply, read_png
from ..core.photo.camera import CROP, Crop
from .options import add_common, data_folders, out_folder

def resample_labels(labels: np.ndarray, crop: Crop) -> np.ndarray:
    """Nearest-neighbour resample of a class-id image into the crop (outside the photo: 0)."""
    g = np.arange(CROP, dtype=np.float64)
    xy = crop.to_image(np.stack([g, g], 1))
    xs, ys = np.round(xy[:, 0]).astype(int), np.round(xy[:, 1]).astype(int)
    h, w = labels.shape
    out = np.zeros((CROP, CROP), labels.dtype)
    vx, vy = (xs >= 0) & (xs < w), (ys >= 0) & (ys < h)
    out[np.ix_(vy, vx)] = labels[np.ix_(ys[vy], xs[vx])]
    return out


def true_camera_vertices(sample: Path, view: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(template vertices in OpenCV camera space (n, 3), their image pixels (n, 2), K) of one view."""
    cam = json.loads((sample / "cameras.json").read_text())["views"][view]
    v, _, _ = read_ply(sample / "head.ply")
    m = np.asarray(cam["world_to_camera"])
    k = np.asarray(cam["K"])
    pc = v @ m[:3, :3].T + m[:3, 3]
    uv = np.stack([k[0, 0] * pc[:, 0] / pc[:, 2] + k[0, 2], k[1, 1] * pc[:, 1] / pc[:, 2] + k[1, 2]], 1)
    return pc, uv, k


def cache_view(sample: Path, view: int, out: Path, mesh_model: str = "mesh") -> Path | None:
    """Write the record of one view, its landmarks drawn by the face mesh `mesh_model` (None when no face is
    detected)."""
    from ..core.photo import PhotoError
    from ..core.photo.face_mesh import detect_drawn_by

    img = read_png(sample / "views" / f"{view:02d}.png")[..., :3].astype(np.float32) / 255.0
    try:
        face = detect_drawn_by(img, mesh_model)[0]
    except PhotoError:
        return None
    crop = Crop.for_landmarks(face.points)
    meta = json.loads((sample / "meta.json").read_text())
    pc, uv, k = true_camera_vertices(sample, view)
    labels = read_png(sample / "views" / f"{view:02d}_parts.png")
    rec = {
        "crop": np.round(crop.sample(img) * 255).astype(np.uint8),
        "landmarks": crop.to_crop(face.points[:, :2]).astype(np.float32),
        "landmarks_z": (face.points[:, 2] * crop.scale).astype(np.float32),
        "score": np.float32(face.score),
        "labels": resample_labels(labels, crop),
        "origin": np.asarray(crop.origin), "scale": np.float64(crop.scale), "K": k,
        "alpha_id": np.asarray(meta["facekit"]["alpha_id"], np.float32),
        "alpha_exp": np.asarray(meta["facekit"]["alpha_exp"], np.float32),
        "cam_vertices": pc.astype(np.float32), "uv_true": crop.to_crop(uv).astype(np.float32),
        "seed": np.int64(meta["seed"]), "view": np.int64(view), "mesh_model": np.str_(mesh_model)}
    return save_record(out, rec)


def save_record(out: Path, rec: dict) -> Path:
    """Write a record atomically (an interrupted run leaves no half-written file that looks complete)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **rec)
    tmp.replace(out)
    return out


def cache_split(root: Path, cache: Path, log=print, view_fn=None) -> list[Path]:
    """Cache every view of every complete sample under `root` with `view_fn(sample, view, out)` (default:
    this module's `cache_view`; None = no face), keeping present records; returns the records."""
    view_fn = view_fn or cache_view
    cache.mkdir(parents=True, exist_ok=True)
    miss_file = cache / "no_face.json"
    misses = set(tuple(x) for x in json.loads(miss_file.read_text())) if miss_file.exists() else set()
    records = []
    for seed in complete_seeds(root):
        sample = root / f"{seed:07d}"
        n_views = len(json.loads((sample / "cameras.json").read_text())["views"])
        for v in range(n_views):
            out = cache / f"{seed:07d}_{v:02d}.npz"
            if out.exists():
                records.append(out)
                continue
            if (seed, v) in misses:
                continue
            if view_fn(sample, v, out) is None:
                misses.add((seed, v))
                log(f"  no face: {seed} view {v}")
            else:
                records.append(out)
    miss_file.write_text(json.dumps(sorted(misses)))
    return records


def add_dataset_options(parser, default_minutes: float, threads: int) -> None:
    """The options of a trainer on photo-profile views (`face train photo`, `face train pixel2mesh`)."""
    add_common(parser, data="photo-profile dataset (`face synth --profile photo`; the train split is cached into "
               "--cache first)", default_minutes=default_minutes, threads=threads)
    parser.add_argument("--cache", help="cached train views (default: OUT/cache; records already there are kept)")


def cached_views(args, cache_fn) -> tuple[Path, Path]:
    """(run folder, cache folder) after caching the --data dataset's views with `cache_fn(root, cache)`."""
    out = out_folder(args)
    data = data_folders(args, "the photo-profile dataset folder")[0]
    cache = Path(args.cache) if args.cache else out / "cache"
    cache_fn(data, cache)
    return out, cache



def run_info(state: dict, names: list[str], epochs: float) -> dict:
    """What a photo trainer's weights record about its run (steps, epochs, views, time, the span of training
    seeds read from the view names '<seed>_<view>', last losses): the model card's 'training'."""
    seeds = [int(n.split("_")[0]) for n in names]
    return {"steps": state["step"], "epochs": round(epochs, 2), "train_views": len(names),
            "train_seconds": round(state["seconds"], 1), "train_seeds": [min(seeds), max(seeds)],
            "last_losses": state["losses"][-1] if state["losses"] else None}
