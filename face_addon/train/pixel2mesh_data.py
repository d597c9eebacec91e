"""Photo-profile samples -> Pixel2Mesh-face records: the detector crop and the true face in that crop's space.

Each view goes through the product's pre-processing (`pipelines.pixel2mesh_photo.face_crop`: detector box
×1.1) and is cached as `<cache>/SEED_VV.npz`: the 224² crop (uint8), the true template vertices in OpenCV
camera space (metres), K and the crop. Views without a detection are listed in `<cache>/no_face.json`; the
average crop (relative to the photo size) of the detected ones is what inference falls back to
(`average_crop`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.dataset import read_png
from .photo_data import cache_split as _cache_split
from .photo_data import save_record, true_camera_vertices


def cache_view(sample: Path, view: int, out: Path) -> Path | None:
    """Write one view's record (None when the detector finds no face)."""
    from ..core.photo.camera import Crop
    from ..core.photo.face_detect import detect_faces
    from ..core.pipelines.pixel2mesh_photo import DETECTOR_EXPAND

    img = read_png(sample / "views" / f"{view:02d}.png")[..., :3].astype(np.float32) / 255.0
    boxes = sorted(detect_faces(img), key=lambda b: -b.area)
    if not boxes:
        return None
    crop = Crop.around(tuple(boxes[0].box), DETECTOR_EXPAND)
    pc, _, k = true_camera_vertices(sample, view)
    h, w = img.shape[:2]
    rec = {"crop": np.round(crop.sample(img) * 255).astype(np.uint8), "cam_vertices": pc.astype(np.float32),
           "K": k, "origin": np.asarray(crop.origin), "scale": np.float64(crop.scale),
           "box_rel": np.array([(boxes[0].box[0] + boxes[0].box[2]) / 2 / w, (boxes[0].box[1] + boxes[0].box[3]) / 2 / h,
                                max(boxes[0].width, boxes[0].height) / min(w, h)]),
           "seed": np.int64(json.loads((sample / "meta.json").read_text())["seed"]), "view": np.int64(view)}
    return save_record(out, rec)


def cache_split(root: Path, cache: Path, log=print) -> list[Path]:
    """Cache every view of every complete sample under `root` (present records are kept); returns records."""
    records = _cache_split(root, cache, log, cache_view)
    log(f"{cache.name}: {len(records)} views")
    return records


def average_crop(records: list[Path]) -> dict:
    """Mean detector crop relative to the photo: centre (fractions of width/height), side (of min(w, h))."""
    rel = np.stack([np.load(f)["box_rel"] for f in records])
    m = rel.mean(0)
    return {"cx": float(m[0]), "cy": float(m[1]), "side": float(m[2])}
