"""Pixels2Points' registration error d_surface (§3): how far a registered head lies from the true head surface
over the face ("spa") region."""
from __future__ import annotations

import numpy as np

from ..geometry.surface_distance import point_mesh_distance


def d_surface_mm(registered_vertices: np.ndarray, true_vertices: np.ndarray, true_faces: np.ndarray,
                 spa: np.ndarray) -> float:
    """Mean distance (mm) from the registered head's spa vertices to the true head surface restricted to the
    triangles touching the spa region. Both heads share FaceKit's topology (`spa` = `fk.spa` indices) and are
    in metres."""
    reg = np.asarray(registered_vertices, np.float64)
    true_v = np.asarray(true_vertices, np.float64)
    f = np.asarray(true_faces, np.int64)
    spa = np.asarray(spa, np.int64)
    if reg.shape != true_v.shape:
        raise ValueError(f"registered {reg.shape} and true {true_v.shape} vertices differ: not the same topology")
    in_spa = np.zeros(len(true_v), bool)
    in_spa[spa] = True
    _, d, _ = point_mesh_distance(reg[spa], true_v, f[in_spa[f].any(axis=1)])
    return float(d.mean() * 1000.0)
