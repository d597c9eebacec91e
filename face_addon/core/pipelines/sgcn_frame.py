"""Where a face-frame 2S-SGCN looks: the scan turned into FaceKit's canonical frame and cut to the face's mask.

Why: the paper's standardisation (centre, PCA-align, scale into [-1, 1]) puts a full synthetic head with shoulders
and a real face-only crop in different places of the network's input space: the PCA axes and the scale of a
face mask are not those of a bust, and the shipped network, trained on busts, put the Artec scans' points ~50 mm
off (docs/landmarks.md). The face frame (`face_orientation`) already says where the face is, which way it looks
and how big it is, so a network trained in that frame sees every scan the same way:

- the scan's vertices go to canonical metres (FaceKit's axes: +Z up, the face looking along -Y, origin between
  the ears, scaled to FaceKit's mean face);
- everything outside a ball of `radius` around the mean face's landmark centre, or behind the plane y = `back`
  (the ears and the back of the head), is dropped: a bust and an Artec face mask both become a face mask;
- the standardisation is that fixed centre and 1/radius, no rotation.

The crop and the centre are stored in the weights' meta ("frame_crop"), so inference and training agree.
Without a face frame (no face seen in renders of the input) `guessed_frames` stand in for it: the input's principal
axes in the upright convention, its unit guessed from its size, the nose tip on the most forward point of one
horizontal slice per guess; the guess the network reads most confidently is kept and `frame_from_landmarks`
re-fits the frame to its reading (REFITS times).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.knn_graph import estimate_normals
from ..geometry.pca_align import Standardization, pca_rotation
from ..geometry.similarity import umeyama
from .face_orientation import FaceFrame

CROP_RADIUS_M = 0.125   # Artec face masks reach 0.12-0.13 m from the landmark centre (15 scans, their frames)
CROP_BACK_M = -0.01     # canonical y: the Artec masks end at -0.03..0.0 (the ears are at 0)
#: "this does not look like a face" for face-frame weights (the paper's weights keep detect_landmarks' own): the
#: shipped model's mean heatmap peak / landmark layout residual on the 16 synthetic test scans 0.69-0.81 /
#: 0.02-0.12, on a sphere and a box (mesh and cloud) 0.15-0.47 / 0.15-0.37; set between, on no real scan (the
#: Artec scans then read 0.67-0.76 / 0.05-0.16: none warned)
NOT_A_FACE_MEAN_CONFIDENCE = 0.58
NOT_A_FACE_SHAPE_RESIDUAL = 0.2
REFITS = 2               # no-frame readings re-fitted to their own landmarks this many times
NOSE_SLICE_M = 0.04      # no-frame guesses: the most forward point of each horizontal slice this thick ...
NOSE_SLICES_M = tuple(np.arange(0.06, 0.34, 0.04))  # ... starting this far below the top of the input


@dataclass(frozen=True)
class FrameCrop:
    """The face mask (canonical metres) a face-frame network reads, and its standardisation."""

    centre: np.ndarray      # (3,) the mean face's landmark centroid
    radius: float
    back: float

    def keep(self, canonical: np.ndarray) -> np.ndarray:
        """(n,) bool: canonical points inside the mask."""
        c = np.asarray(canonical, np.float64)
        return (((c - self.centre) ** 2).sum(1) <= self.radius ** 2) & (c[:, 1] <= self.back)

    def standardization(self) -> Standardization:
        return Standardization(np.asarray(self.centre, np.float64), np.eye(3), 1.0 / self.radius)

    def to_meta(self) -> dict:
        return {"centre": [float(x) for x in self.centre], "radius": float(self.radius), "back": float(self.back)}

    @classmethod
    def from_meta(cls, meta: dict) -> "FrameCrop":
        return cls(np.asarray(meta["centre"], np.float64), float(meta["radius"]), float(meta["back"]))


def default_crop(mean_landmarks: np.ndarray) -> FrameCrop:
    """The mask around FaceKit's mean face landmarks (68, 3) in canonical metres."""
    return FrameCrop(np.asarray(mean_landmarks, np.float64).mean(0), CROP_RADIUS_M, CROP_BACK_M)


def crop_mesh(canonical: np.ndarray, faces: np.ndarray | None, crop: FrameCrop
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """(kept vertex indices, faces of the kept triangles renumbered into them, or None for a point cloud)."""
    keep = crop.keep(canonical)
    index = np.flatnonzero(keep)
    if faces is None or not len(faces):
        return index, None
    inside = keep[faces].all(axis=1)
    renumber = np.full(len(canonical), -1, np.int64)
    renumber[index] = np.arange(len(index))
    return index, renumber[faces[inside]]


def frame_from_landmarks(landmarks: np.ndarray, mean_landmarks: np.ndarray) -> FaceFrame:
    """The similarity that takes FaceKit's mean landmarks onto `landmarks` (scan coordinates), as a FaceFrame."""
    s, rot, t = umeyama(np.asarray(mean_landmarks, np.float64), np.asarray(landmarks, np.float64))
    resid = np.linalg.norm(s * mean_landmarks @ rot.T + t - landmarks, axis=1)
    return FaceFrame(rotation=rot, centre=t, scale=s, confidence=0.0,
                     residual_mm=float(np.sqrt((resid ** 2).mean()) / s * 1000.0), score=0.0)


def guessed_frames(vertices: np.ndarray, unit_to_m: float, mean_landmarks: np.ndarray) -> list[FaceFrame]:
    """First frames for an input without one (module doc): its principal axes snapped to the upright convention
    (`pca_align`, as the paper's standardisation reads a roughly upright scan), `unit_to_m` its unit, and the
    mean face's nose tip (iBUG 30) on the most forward vertex of a horizontal slice, one guess per slice (a fringe
    or a hat brim can stand further forward than the nose: the reading decides)."""
    v = np.asarray(vertices, np.float64)
    sample = v[np.random.default_rng(0).choice(len(v), min(len(v), 4000), replace=False)]
    rot = pca_rotation(sample, estimate_normals(sample, 16)).T   # columns: the input's up-right axes
    upright = (v - v.mean(0)) @ rot
    frames = []
    z = upright[:, 2].max() - upright[:, 2]
    for lo in NOSE_SLICES_M:
        inside = np.flatnonzero((z >= lo / unit_to_m) & (z < (lo + NOSE_SLICE_M) / unit_to_m))
        if not len(inside):
            continue
        nose = v[inside[np.argmin(upright[inside, 1])]]
        frames.append(FaceFrame(rotation=rot, centre=nose - rot @ mean_landmarks[30] / unit_to_m,
                                scale=1.0 / unit_to_m, confidence=0.0, residual_mm=0.0, score=0.0))
    return frames
