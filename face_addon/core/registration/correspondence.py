"""Correspondences between scan skin points and the model: the pose that maps between them, the per-iteration
gates (a distance threshold, a normal agreement and a robust scale that tighten over the iterations, in
template units) and the nearest-vertex matching itself, point-to-plane along the model's normals."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.normals import vertex_normals
from ..geometry.similarity import rotation_vector
from .fit_model import FitModel

# (first, last iteration) of the correspondence gates, interpolated geometrically in between:
THRESHOLD_M = (0.02, 0.004)      # greatest point-to-plane distance
NORMAL_COS = (0.3, 0.6)          # least |cos| between scan and model normals
ROBUST_SCALE_M = (0.005, 0.001)  # Geman-McClure scale of the point weights
LANDMARK_SIGMA_M = (0.004, 0.02)  # landmark error (non-jaw) assumed in the first and last iteration: they guide
#                                   the start, the skin decides the end (detected landmarks are a few mm off)
REACH_FRACTION = 0.25            # a point may lie this fraction of its vertex's longest edge farther (tangentially)


@dataclass
class Pose:
    """Similarity template (metres) -> scan (metres): p = s·R·x + t."""

    s: float
    rot: np.ndarray
    t: np.ndarray

    def to_template(self, p: np.ndarray) -> np.ndarray:
        return (p - self.t) @ self.rot / self.s

    def apply(self, x: np.ndarray) -> np.ndarray:
        return self.s * x @ self.rot.T + self.t

    def compose(self, sigma: float, omega: np.ndarray, tau: np.ndarray) -> "Pose":
        """This pose after the template-space update x -> (1 + σ)·R(ω)·x + τ."""
        return Pose(self.s * (1 + sigma), self.rot @ rotation_vector(omega), self.t + self.s * self.rot @ tau)


@dataclass
class Matches:
    vertex: np.ndarray     # (k,) matched template vertex per accepted point
    residual: np.ndarray   # (k,) point-to-plane residual along the model normal (template units)
    weight: np.ndarray     # (k,) robust weight (Geman-McClure): stray points off the surface count less
    normals: np.ndarray    # (n, 3) model vertex normals the residuals are measured along
    n_points: int

    def per_vertex(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(summed weight (n,), weighted mean residual (n,)) per template vertex."""
        total = np.bincount(self.vertex, self.weight, minlength=n)
        return total, np.bincount(self.vertex, self.weight * self.residual, minlength=n) / np.maximum(total, 1e-300)


@dataclass(frozen=True)
class Schedule:
    """Correspondence gates and landmark weight of one iteration, in template units."""

    max_dist: float
    min_cos: float
    robust_scale: float
    landmark_sigma: float

    @staticmethod
    def at(i: int, n: int, scale: float) -> "Schedule":
        """Iteration i of n (geometric from the first to the last values), for a pose of this scale."""
        f = i / max(n - 1, 1)
        step = lambda ends: float(ends[0] * (ends[1] / ends[0]) ** f)  # noqa: E731
        return Schedule(step(THRESHOLD_M) / scale, step(NORMAL_COS), step(ROBUST_SCALE_M) / scale,
                        step(LANDMARK_SIGMA_M) / scale)

    @staticmethod
    def last(scale: float) -> "Schedule":
        return Schedule.at(1, 2, scale)


def match(model: FitModel, v: np.ndarray, q: np.ndarray, qn: np.ndarray, sched: Schedule) -> Matches:
    """Nearest matchable model vertex per point (q, normals qn in template space), kept when similarly oriented
    and near the vertex's tangent plane but not much farther from the vertex itself: between vertices a point is
    expected to lie some way off, far away the tangent plane no longer stands for the surface (6 mm edges)."""
    normals = vertex_normals(v, model.fk.faces)
    cand = np.flatnonzero(model.matchable)
    d, j = cKDTree(v[cand]).query(q, distance_upper_bound=sched.max_dist + REACH_FRACTION * model.reach.max())
    ok = np.isfinite(d)
    vert = cand[j[ok]]
    n = normals[vert]
    r = ((q[ok] - v[vert]) * n).sum(axis=1)
    keep = ((d[ok] <= sched.max_dist + REACH_FRACTION * model.reach[vert])
            & (np.abs((qn[ok] * n).sum(axis=1)) >= sched.min_cos) & (np.abs(r) <= sched.max_dist))
    r = r[keep]
    return Matches(vert[keep], r, 1.0 / (1.0 + (r / sched.robust_scale) ** 2) ** 2, normals, len(q))
