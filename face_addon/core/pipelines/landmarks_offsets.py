"""Per-point offsets of the view landmarks in the face frame, learned on synthetic train scans.

    offsets = load_offsets(coloured=surface.has_appearance)      # None: nothing learned for that appearance
    points = apply_offsets(points, frame, offsets, query)        # moved in the face frame, snapped to the scan

Why: the face mesh reads an untextured (shaded) render of a face with a systematic offset at some points (the
closed-looking lids of a grey render: the lid points sit low and the outer corners short of the corner; the
inner lips), the same on every scan. The offset of each point, in the face frame (canonical metres: +Z up, the
face along -Y, FaceKit's scale, so it scales with the face), is the mean of label - reading over synthetic train
scans (`train/landmark_offsets.py`), and the view landmarks are moved by it and snapped back onto the scan.

What the labels are: FaceKit's 68 landmarks in the human convention (re-derived from people's clicks on the
London photos, docs/facekit.md), so an offset moves a reading towards that convention as FaceKit's geometry
carries it. Where the Artec clicks follow another convention, an offset moves away from them: brows (Artec
selection scans p02/p05/p06: 9.9 -> 15.5 mm) and the nose (3.5 -> 4.5 mm) were measured that way and are not
moved; eyes (3.75 -> 3.56) and mouth (4.67 -> 4.62) are (APPLIED, docs/landmarks.md round 6). Within them only
the points whose offset carries over between train scans are moved (5-fold cross-validation on the train
scans, gain > MIN_GAIN_MM); the file holds the moved rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..geometry.surface_distance import SurfaceQuery
from .face_orientation import FaceFrame

FILE = "landmark_offsets.npz"
VERSION = 1
#: iBUG rows an offset may move: eyes and mouth. Brows and nose were left out on the Artec selection scans
#: p02/p05/p06 (offsets moved them away from the clicks: 9.9 -> 15.5 and 3.5 -> 4.5 mm), the jaw contour is
#: FaceKit's own fitted points already, the chin (8) a convention the Artec clicks do not share (round 6)
APPLIED = tuple(range(36, 68))
MIN_GAIN_MM = 0.3  # a row is moved when its 5-fold cross-validated error on the train scans drops by this much


@dataclass
class Offsets:
    """offsets (68, 3) canonical metres (label - reading, the face frame's axes) and rows (68,) bool: moved."""

    offsets: np.ndarray
    rows: np.ndarray


def load_offsets(coloured: bool, models_dir: Path | None = None) -> Offsets | None:
    """The shipped offsets for shaded (untextured) or coloured renders; None when none were learned for that
    appearance or no file ships (the readings stay as they are)."""
    from ..models import available, resolve

    if not available(FILE, models_dir):
        return None
    key = "coloured" if coloured else "shaded"
    with np.load(resolve(FILE, models_dir)) as z:
        if int(z["version"]) != VERSION or f"{key}_offsets" not in z:
            return None
        return Offsets(np.asarray(z[f"{key}_offsets"], np.float64), np.asarray(z[f"{key}_rows"], bool))


def apply_offsets(points: np.ndarray, frame: FaceFrame, offsets: Offsets, query: SurfaceQuery
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(68, 3) scan points -> (moved and snapped points, moved points before snapping): each moved row shifted
    by its offset turned and scaled into the scan by the face frame."""
    rows = np.flatnonzero(offsets.rows)
    moved = np.asarray(points, np.float64).copy()
    moved[rows] += frame.scale * offsets.offsets[rows] @ frame.rotation.T
    snapped = moved.copy()
    snapped[rows] = query.nearest(moved[rows])[0]
    return snapped, moved


def residuals(points: np.ndarray, labels: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """label - reading (68, 3) in the face frame's canonical metres (what an offset is learned from)."""
    return (np.asarray(labels, np.float64) - points) @ frame.rotation / frame.scale


def cross_validated_gain(res: np.ndarray, folds: int = 5) -> np.ndarray:
    """(68,) mm: mean error of the readings minus their error after the other folds' mean offset, from (scans,
    68, 3) residuals in metres; positive where the offset carries over to scans it was not learned on."""
    fold = np.arange(len(res)) % folds
    after = np.zeros(res.shape[:2])
    for k in range(folds):
        after[fold == k] = np.linalg.norm(res[fold == k] - res[fold != k].mean(0), axis=-1)
    return (np.linalg.norm(res, axis=-1).mean(0) - after.mean(0)) * 1e3


def learn(res: np.ndarray) -> Offsets:
    """Offsets from (scans, 68, 3) residuals: the mean per point, moved in APPLIED rows whose cross-validated
    gain exceeds MIN_GAIN_MM."""
    rows = np.isin(np.arange(res.shape[1]), APPLIED) & (cross_validated_gain(res) > MIN_GAIN_MM)
    return Offsets(res.mean(0), rows)
