"""MediaPipe's 468 face-mesh points -> the 68 iBUG / 300-W landmarks, as people place them.

The map is a fixed (68, 468) weight matrix W whose rows sum to 1: `ibug = W @ mediapipe`. Because each iBUG point
is an affine combination of mesh points, the map commutes with any affine transform (rotation, scale, shift,
projection to the image), so the same weights map 2D photo pixels, MediaPipe's (x, y, z) output, and 3D mesh
points placed on a scan or on FaceKit's surface.

Two versions:
- `TABLE`: the common one-point-per-landmark index table used across open-source projects (one MediaPipe
  vertex per iBUG point). It ignores that MediaPipe's topology does not have a vertex exactly where
  annotators click (e.g. the eyelid points, the brow ends, the lip corners).
- the calibrated maps (`WEIGHTS_FILES`, built by `face_addon/train/ibug_map.py`), one per face-mesh model
  (`face_mesh.MESH_MODELS`): every point the London set annotates is a sparse, non-negative combination of the
  mesh points near it, fitted to human annotation of that model's points (the attention model redraws lips and
  eyes, so the plain mesh's map sits its lip and eyelid points in the wrong places on them). Points the set does
  not cover (jaw 0-16, nose ridge 27-29) keep their `TABLE` row.
`load_weights(mesh_model=...)` returns the model's calibrated map when it ships, else the table. The scan
pipelines read the plain mesh ("mesh", `ibug_map.npz`); Reconstruct from Photo the attention mesh.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models import available, resolve

N_MEDIAPIPE = 468
N_IBUG = 68
WEIGHTS_FILE = "ibug_map.npz"
#: the calibrated map of each face-mesh model's points
WEIGHTS_FILES = {"mesh": WEIGHTS_FILE, "attention": "ibug_map_attention.npz"}

#: MediaPipe vertex per iBUG point, iBUG order (0-16 jaw from the subject's right, brows, nose ridge, nose base,
#: right eye, left eye, outer lip, inner lip): the table common to many open-source projects (e.g. LatentSync).
TABLE: tuple[int, ...] = (
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,  # 0-16 jaw
    71, 63, 105, 66, 107,  # 17-21 right brow
    336, 296, 334, 293, 301,  # 22-26 left brow
    168, 197, 5, 4,  # 27-30 nose ridge
    75, 97, 2, 326, 305,  # 31-35 nose base
    33, 160, 158, 133, 153, 144,  # 36-41 right eye
    362, 385, 387, 263, 373, 380,  # 42-47 left eye
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # 48-59 outer lip
    78, 82, 13, 312, 308, 317, 14, 87,  # 60-67 inner lip
)


def table_weights() -> np.ndarray:
    """(68, 468) one-hot rows of `TABLE`."""
    w = np.zeros((N_IBUG, N_MEDIAPIPE))
    w[np.arange(N_IBUG), TABLE] = 1.0
    return w


def check_weights(w: np.ndarray) -> np.ndarray:
    """`w` as float64 (68, 468) after checking shape and that rows sum to 1 (affine equivariance)."""
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (N_IBUG, N_MEDIAPIPE):
        raise ValueError(f"iBUG map weights must be ({N_IBUG}, {N_MEDIAPIPE}), not {w.shape}")
    if not np.allclose(w.sum(1), 1.0, atol=1e-6):
        raise ValueError("iBUG map weight rows must sum to 1")
    return w


@lru_cache(maxsize=4)
def load_weights(models_dir: Path | None = None, mesh_model: str = "mesh") -> np.ndarray:
    """The shipped calibrated (68, 468) map of `mesh_model`'s points, or `table_weights()` when none ships."""
    if mesh_model not in WEIGHTS_FILES:
        raise ValueError(f"no iBUG map for face mesh model {mesh_model!r}: one of {tuple(WEIGHTS_FILES)}")
    name = WEIGHTS_FILES[mesh_model]
    if not available(name, models_dir):  # the model folder's file, else the shipped one (core.models)
        return table_weights()
    with np.load(resolve(name, models_dir)) as z:
        return check_weights(z["weights"])


def mediapipe_to_ibug68(points: np.ndarray, weights: np.ndarray | None = None, mesh_model: str = "mesh") -> np.ndarray:
    """(..., 468, D) MediaPipe points -> (..., 68, D) iBUG points, for any D; `weights` defaults to
    `load_weights(mesh_model=mesh_model)` (pass `table_weights()` for the index table)."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-2] != N_MEDIAPIPE:
        raise ValueError(f"expected (..., {N_MEDIAPIPE}, D) points, got {pts.shape}")
    w = load_weights(mesh_model=mesh_model) if weights is None else check_weights(weights)
    return np.einsum("kn,...nd->...kd", w, pts)
