"""k-nearest-neighbour graphs and point-cloud normals (scipy cKDTree)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def knn_graph(points: np.ndarray, k: int) -> np.ndarray:
    """(n, k+1) int64 neighbour indices per point, the point itself first (a self-loop), then its k nearest."""
    pts = np.asarray(points, np.float64)
    kk = min(k + 1, len(pts))
    _, idx = cKDTree(pts).query(pts, k=kk)
    idx = np.asarray(idx, np.int64).reshape(len(pts), kk)
    idx[:, 0] = np.arange(len(pts))  # duplicates could put another point first; the self-loop is explicit
    return idx


def estimate_normals(points: np.ndarray, k: int = 16, toward: np.ndarray | None = None) -> np.ndarray:
    """Unit normals of a point cloud from the smallest principal direction of each k-neighbourhood.

    Signs point away from the centroid (or towards `toward`, a (3,) viewpoint, when given).
    """
    pts = np.asarray(points, np.float64)
    nbr = knn_graph(pts, k)
    local = pts[nbr] - pts[nbr].mean(axis=1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", local, local)
    _, vecs = np.linalg.eigh(cov)
    normals = vecs[:, :, 0]
    ref = pts - pts.mean(axis=0) if toward is None else np.asarray(toward, np.float64) - pts
    normals *= np.where((normals * ref).sum(axis=1) < 0, -1.0, 1.0)[:, None]
    return normals
