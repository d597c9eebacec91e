"""A smooth per-photo correction ("detail") that puts the fitted head's landmarks on the detector's points.

The parametric fit (`fit.py`) cannot reach every detected point: FaceKit's identity and ARKit spaces do not
span every real face, and their prior pulls towards the mean, so its reprojected landmarks stay about 1 % of the
eye distance off the 468 points it was fitted to (London photos). 3DDFA-V3 stops there: its result is the
parametric face, so its reprojection error is bounded by what the basis can express. Here a last, non-parametric
step closes that gap, like a detail layer: a vertex offset field D on FaceKit's template, found by

    min_D  Σ_i w_i ‖B_i D − δ_i‖² + λ ‖L D‖² + μ ‖D‖²

where B_i interpolates a surface point (a MediaPipe point's embedding, or one of FaceKit's 68 human-convention
landmarks), δ_i is the shift in the camera's image plane that makes that point project onto its target (its
detection, or the detector's points mapped to the 68 by `ibug_map`) at its own depth, L the mesh's graph
Laplacian (so the field is smooth, a thin-plate-like membrane) and μ keeps regions without points still.
Depth is kept: D has no component along the camera's axis, so the 3D shape's depth stays the model's. The
system depends only on the topology and the point set, so it is factorised once. D is returned in model space;
the Blender operator stores it as a separate shape key, so the ARKit keys still act on top.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .facekit_photo import PhotoFaceKit, per_model

SMOOTHNESS = 1e-4  # λ relative to a point weight of 1 (London 001-024: 0.02 % of the eye distance left to the targets)
STILLNESS = 1e-3  # μ: without it the field grows linearly away from the points (10 mm at the hairline)
LANDMARK_WEIGHT = 20.0  # a human-convention landmark counts as this many MediaPipe points
HUMAN_LANDMARKS = np.arange(17, 68)  # jaw outline points are silhouettes: they slide, so they are not pinned


@dataclass(frozen=True)
class DetailSystem:
    """The factorised normal equations for one model and point set."""

    interp: sp.csr_matrix  # (m, n) surface points from template vertices
    weight: np.ndarray  # (m,)
    solve: object  # factorised (n, n) system


@per_model
def detail_system(model: PhotoFaceKit) -> DetailSystem:
    """Rows: the MediaPipe points with a non-zero embedding weight, then FaceKit's landmarks 17-67."""
    from ..geometry.laplacian import combinatorial_laplacian

    fk = model.fk
    n = fk.n_vertices
    w_emb = np.asarray(model.embedding["weight"], np.float64)
    rows_tri = [fk.faces[model.embedding["triangle"]], fk.landmark_triangle[HUMAN_LANDMARKS]]
    rows_bary = [model.embedding["bary"], fk.landmark_bary[HUMAN_LANDMARKS]]
    tri, bary = np.concatenate(rows_tri), np.concatenate(rows_bary)
    m = len(tri)
    interp = sp.csr_matrix((bary.ravel(), (np.repeat(np.arange(m), 3), tri.ravel())), shape=(m, n))
    weight = np.concatenate([w_emb / max(w_emb.max(), 1e-12), np.full(len(HUMAN_LANDMARKS), LANDMARK_WEIGHT)])
    lap = combinatorial_laplacian(n, fk.faces)
    a = interp.T @ sp.diags(weight) @ interp + SMOOTHNESS * (lap.T @ lap) + STILLNESS * sp.eye(n)
    return DetailSystem(interp, weight, spla.factorized(a.tocsc()))


def detail_targets(model: PhotoFaceKit, points_2d: np.ndarray) -> np.ndarray:
    """(m, 2) image targets of the system's rows: the 468 detected points, then their human-convention 68."""
    from .ibug_map import mediapipe_to_ibug68

    pts = np.asarray(points_2d, np.float64)[:, :2]
    return np.concatenate([pts, mediapipe_to_ibug68(pts)[HUMAN_LANDMARKS]])


def landmark_detail(model: PhotoFaceKit, vertices: np.ndarray, rotation: np.ndarray, translation: np.ndarray,
                    K: np.ndarray, points_2d: np.ndarray) -> np.ndarray:
    """(n, 3) model-space offsets that move `vertices` (model space; camera = rotation @ v + translation, pixels
    = K @ camera) so their embedded points project onto `points_2d` (468, 2+) in the same pixels."""
    system = detail_system(model)
    cam = np.asarray(vertices, np.float64) @ rotation.T + translation
    surf = system.interp @ cam
    z = surf[:, 2]
    proj = surf[:, :2] / z[:, None] * K[[0, 1], [0, 1]] + K[:2, 2]
    delta = (detail_targets(model, points_2d) - proj) * z[:, None] / K[[0, 1], [0, 1]]  # metres at the depth
    rhs = system.interp.T @ (system.weight[:, None] * delta)
    d_cam = np.zeros_like(cam)
    d_cam[:, 0], d_cam[:, 1] = system.solve(rhs[:, 0]), system.solve(rhs[:, 1])
    return d_cam @ rotation  # camera -> model: the inverse rotation
