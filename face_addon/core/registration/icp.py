"""The fitting loop: an initial similarity from the landmarks (jaw contour left out), then ICP-style alternation of
correspondences and bounded linear steps in which the landmark term fades, and an optional non-rigid refinement
along the vertex normals for shape the linear model cannot express."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from ..geometry.similarity import umeyama
from ..mesh import MeshError
from ..progress import Progress
from .correspondence import Matches, Pose, Schedule, match
from .fit_model import FitModel
from .solver import bounded_step, normal_equations

ROBUST_LANDMARKS = np.arange(17, 68)  # iBUG brows, nose, eyes, mouth: the jaw contour is left out
STOP_M = 2e-5                    # stop when no vertex moves more than this in an iteration
NONRIGID_ITERATIONS = 3
NONRIGID_SMOOTHNESS = 30.0       # weight of ‖L h‖² against the data term (per unit of vertex weight)
NONRIGID_DAMPING = 0.05          # weight of ‖h‖²: vertices without data stay on the model


def initial_pose(model: FitModel, lm_m: np.ndarray, weights: np.ndarray | None = None) -> Pose:
    """Similarity of the mean face's landmarks onto the scan's (jaw contour left out), each counted with its
    `weights` (68,) when given (landmarks of weight 0 are left out)."""
    rows = ROBUST_LANDMARKS if weights is None else ROBUST_LANDMARKS[weights[ROBUST_LANDMARKS] > 0]
    dst = lm_m[rows]
    if len(rows) < 3 or np.linalg.matrix_rank(dst - dst.mean(axis=0), tol=1e-9 * max(np.abs(dst).max(), 1e-300)) < 2:
        raise MeshError("the landmarks are degenerate (all in one place or on a line): no pose can be estimated")
    return Pose(*umeyama(model.fk.landmarks(model.fk.template)[rows], dst, None if weights is None else weights[rows]))


def fit(model: FitModel, pts: np.ndarray, nrm: np.ndarray, lm_m: np.ndarray, iterations: int,
        report: Progress, landmark_weights: np.ndarray | None = None) -> tuple[np.ndarray, Pose, Matches]:
    """Alternate correspondences and linear steps; returns (α, pose, matches of the result).
    `landmark_weights` (68,) >= 0: how much each landmark is trusted (e.g. the view landmarks' confidence;
    default 1 for all), on top of leaving the jaw contour out."""
    pose = initial_pose(model, lm_m, landmark_weights)
    s_ref = 1.0 if 0.8 < pose.s < 1.25 else pose.s  # metric scans keep real size; others keep their own
    alpha = np.zeros(model.basis.shape[2])
    robust = np.zeros(68)
    robust[ROBUST_LANDMARKS] = 1.0 if landmark_weights is None else landmark_weights[ROBUST_LANDMARKS]
    v = model.evaluate(alpha)
    for i in range(iterations):
        report(0.1 + 0.8 * i / iterations, f"fitting ({i + 1}/{iterations})")
        sched = Schedule.at(i, iterations, pose.s)
        m = match(model, v, pose.to_template(pts), nrm @ pose.rot, sched)
        a_mat, rhs = normal_equations(model, alpha, v, m, pose.to_template(lm_m),
                                      robust / sched.landmark_sigma ** 2, (pose.s, s_ref))
        before = pose.apply(v)
        alpha, upd = bounded_step(model, alpha, a_mat, rhs)
        pose = pose.compose(upd[0], upd[1:4], upd[4:7])
        v = model.evaluate(alpha)
        if i >= 2 and np.abs(pose.apply(v) - before).max() < STOP_M:
            break
    return alpha, pose, match(model, v, pose.to_template(pts), nrm @ pose.rot, Schedule.last(pose.s))


def refine_nonrigid(model: FitModel, v: np.ndarray, pose: Pose, pts: np.ndarray, nrm: np.ndarray,
                    iterations: int = NONRIGID_ITERATIONS) -> tuple[np.ndarray, Matches]:
    """Offsets h along the vertex normals minimising Σ w_v (h_v − r_v)² over matched vertices + smoothness
    ‖L h‖² + damping ‖h‖² (a sparse solve per iteration): detail the linear model cannot express."""
    q, qn, sched = pose.to_template(pts), nrm @ pose.rot, Schedule.last(pose.s)
    lap = model.laplacian
    smooth = NONRIGID_SMOOTHNESS * (lap.T @ lap) + NONRIGID_DAMPING * sp.identity(len(v))
    for _ in range(iterations):
        m = match(model, v, q, qn, sched)
        total, mean_r = m.per_vertex(len(v))
        w = total * (np.count_nonzero(total) / max(total.sum(), 1e-300))
        h = splu((sp.diags(w) + smooth).tocsc()).solve(w * mean_r)
        v = v + h[:, None] * m.normals
    return v, match(model, v, q, qn, sched)
