"""Vertex normals of a triangle mesh (numpy), shared by registration and scan rendering."""
from __future__ import annotations

import numpy as np


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ((0, 0, 0) for vertices no face uses)."""
    fn = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    idx = faces.ravel()
    n = np.stack([np.bincount(idx, np.repeat(fn[:, c], 3), minlength=len(vertices)) for c in range(3)], axis=1)
    return n / np.maximum(np.linalg.norm(n, axis=1), 1e-300)[:, None]
