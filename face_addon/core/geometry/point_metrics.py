"""Surface reconstruction metrics between point sets (Pixel2Mesh's evaluation: Chamfer distance, F-score)."""
from __future__ import annotations

import numpy as np


def nearest_distances(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance from each point of a to b, distance from each point of b to a)."""
    from scipy.spatial import cKDTree

    return cKDTree(b).query(a)[0], cKDTree(a).query(b)[0]


def chamfer(pred: np.ndarray, truth: np.ndarray) -> float:
    """Symmetric Chamfer distance: mean of the two directed mean nearest-neighbour distances (input units)."""
    d_pt, d_tp = nearest_distances(pred, truth)
    return float(0.5 * (d_pt.mean() + d_tp.mean()))


def f_score(pred: np.ndarray, truth: np.ndarray, tau: float) -> float:
    """F-score (%) at threshold tau: harmonic mean of precision (predicted points within tau of the truth)
    and recall (true points within tau of the prediction)."""
    d_pt, d_tp = nearest_distances(pred, truth)
    p, r = float((d_pt < tau).mean()), float((d_tp < tau).mean())
    return 0.0 if p + r == 0 else 100.0 * 2 * p * r / (p + r)
