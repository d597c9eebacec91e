"""The scan side of registration: the skin mask as booleans and the skin points with their normals."""
from __future__ import annotations

import numpy as np

from ..geometry.knn_graph import estimate_normals
from ..mesh import MeshError


def skin_mask(skin: np.ndarray, n: int) -> np.ndarray:
    """(n,) bool from a bool mask or a per-vertex probability (≥ 0.5 = skin); MeshError if malformed."""
    s = np.asarray(skin)
    if s.shape != (n,):
        raise MeshError(f"the skin mask must have one value per scan vertex ({n}), got shape {s.shape}")
    if s.dtype == bool:
        return s
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise MeshError("the skin probabilities contain NaN or infinite values")
    return s >= 0.5


def skin_samples(vertices: np.ndarray, faces: np.ndarray, skin: np.ndarray, max_points: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(points (k, 3), unit normals (k, 3)) of at most `max_points` skin vertices; normals from the faces
    around them (PCA normals for a point cloud or a vertex no face uses)."""
    idx = np.flatnonzero(skin)
    if len(idx) > max_points:
        idx = np.sort(rng.choice(idx, max_points, replace=False))
    pts = vertices[idx]
    normals = np.zeros_like(pts)
    if len(faces):
        near = faces[skin[faces].any(axis=1)]
        slot = np.full(len(vertices), -1)
        slot[idx] = np.arange(len(idx))
        fn = np.cross(vertices[near[:, 1]] - vertices[near[:, 0]], vertices[near[:, 2]] - vertices[near[:, 0]])
        s = slot[near].ravel()
        ok = s >= 0
        for c in range(3):
            normals[:, c] = np.bincount(s[ok], np.repeat(fn[:, c], 3)[ok], minlength=len(idx))
    length = np.linalg.norm(normals, axis=1)
    bad = length <= 1e-12 * max(float(length.max()), 1e-300)
    if bad.any():
        normals[bad] = estimate_normals(pts, k=min(16, len(pts) - 1))[bad]
        length[bad] = 1.0
    return pts, normals / length[:, None]
