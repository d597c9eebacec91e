"""Evaluation of photo reconstruction: Part IoU (3DDFA-V3 §5.2) and REALY-style region vertex errors."""
from __future__ import annotations

import numpy as np

from ..dataset import CLASS_IDS
from ..geometry.similarity import umeyama
from .facekit_photo import PARTS, PhotoFaceKit

#: true-label classes that hide the face in the photo; those pixels count for neither mask
OCCLUDERS = tuple(CLASS_IDS[c] for c in ("hair", "facial_hair", "accessory"))


def part_iou(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """IoU per part between two class-id images; pixels where the truth shows an occluder are ignored. A part
    absent from both images is NaN (left out of averages)."""
    valid = ~np.isin(truth, OCCLUDERS)
    out = {}
    for p in PARTS:
        a = (pred == CLASS_IDS[p]) & valid
        b = (truth == CLASS_IDS[p]) & valid
        union = (a | b).sum()
        out[p] = float((a & b).sum() / union) if union else float("nan")
    return out


def similarity_align(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """src (n, 3) moved by the least-squares similarity (Umeyama) that best maps it onto dst."""
    s, rot, t = umeyama(src, dst)
    return s * src @ rot.T + t


def region_errors_mm(model: PhotoFaceKit, pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean per-vertex distance (mm) per REALY region after a similarity alignment of that region (same
    topology, so the error includes sliding along the surface), plus their mean as `all`."""
    out = {}
    for name, idx in model.regions.items():
        out[name] = float(np.linalg.norm(similarity_align(pred[idx], truth[idx]) - truth[idx], axis=1).mean() * 1e3)
    out["all"] = float(np.mean([out[r] for r in model.regions]))
    return out
