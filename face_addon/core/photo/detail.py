"""A smooth per-photo correction ("detail") that puts the fitted head's landmarks on the detector's points.

The parametric fit (`fit.py`) cannot reach every detected point: FaceKit's identity and ARKit spaces do not
span every real face, and their prior pulls towards the mean, so its reprojected landmarks stay about 1 % of the
eye distance off the 468 points it was fitted to (London photos). 3DDFA-V3 stops there: its result is the
parametric face, so its reprojection error is bounded by what the basis can express. Here a last, non-parametric
step closes that gap, like a detail layer: a vertex offset field D on FaceKit's template, found by

    min_D  Σ_i w_i ‖B_i D − δ_i‖² + λ ‖L D‖² + μ ‖D‖²     subject to  P_j D = δ_j  for the pinned landmarks j

where B_i interpolates a MediaPipe point's embedding on the surface, δ_i is the shift in the camera's image
plane that makes it project onto its detection at its own depth, L the mesh's graph Laplacian (so the field is
smooth, a thin-plate-like membrane) and μ keeps regions without points still. P_j interpolates one of FaceKit's
human-convention landmarks (the chin tip and the inner 51), held exactly on the detector's points mapped to the
68 by `ibug_map`. As a heavily weighted soft term (weight 20), the 468 points' own targets (a slightly different
convention) and the smoothness pulled them off their targets and the chin tip was not held at all: London NME
2.045 % against the mapped detections' 2.042 %. As constraints the reprojected 68 equal the mapped detections
(the detector's accuracy, no more, no less). Depth is kept: D has no component along the camera's axis, so the 3D shape's depth stays the
model's, and the projection of a shifted point is linear in D, so the constraints hold exactly. The system
depends only on the topology and the point set, so it is factorised once with the constraints' Schur
complement. D is returned in model space, scaled by the caller's trust in the detections (`trust.py`); the
Blender operator stores it as a separate shape key, so the ARKit keys still act on top.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .facekit_photo import PhotoFaceKit, per_model

SMOOTHNESS = 1e-4  # λ relative to a point weight of 1 (London 001-024: 0.02 % of the eye distance left to the targets)
STILLNESS = 1e-3  # μ: without it the field grows linearly away from the points (10 mm at the hairline)
#: FaceKit landmarks held exactly on the detector's mapped points: the chin tip and the inner 51. The other jaw
#: outline points are silhouettes: they slide over the surface with pose, so they are not pinned
PINNED_LANDMARKS = np.r_[8, 17:68]


@dataclass(frozen=True)
class DetailSystem:
    """The factorised normal equations for one model and point set, and the pinned landmarks' constraint
    (Lagrange multipliers: D = D₀ + R·G·(δ_pins − P·D₀) with R = A⁻¹Pᵀ and G = (P·A⁻¹·Pᵀ)⁻¹)."""

    interp: sp.csr_matrix  # (m, n) embedded MediaPipe points from template vertices
    weight: np.ndarray  # (m,)
    solve: object  # factorised (n, n) system A
    pins: sp.csr_matrix  # (k, n) the pinned FaceKit landmarks from template vertices
    response: np.ndarray  # (n, k) A⁻¹Pᵀ: the field each pin's multiplier adds
    gain: np.ndarray  # (k, k) (P A⁻¹ Pᵀ)⁻¹


def _interpolation(corners: np.ndarray, bary: np.ndarray, n: int) -> sp.csr_matrix:
    """(m, n) rows interpolating surface points (their triangles' (m, 3) vertex indices, barycentric weights)
    from n vertices."""
    m = len(corners)
    return sp.csr_matrix((bary.ravel(), (np.repeat(np.arange(m), 3), corners.ravel())), shape=(m, n))


@per_model
def detail_system(model: PhotoFaceKit) -> DetailSystem:
    """Soft rows: the MediaPipe points with a non-zero embedding weight; hard rows: PINNED_LANDMARKS."""
    from ..geometry.laplacian import combinatorial_laplacian

    fk = model.fk
    n = fk.n_vertices
    w_emb = np.asarray(model.embedding["weight"], np.float64)
    interp = _interpolation(fk.faces[model.embedding["triangle"]], model.embedding["bary"], n)
    pins = _interpolation(fk.landmark_triangle[PINNED_LANDMARKS], fk.landmark_bary[PINNED_LANDMARKS], n)
    weight = w_emb / max(w_emb.max(), 1e-12)
    lap = combinatorial_laplacian(n, fk.faces)
    a = interp.T @ sp.diags(weight) @ interp + SMOOTHNESS * (lap.T @ lap) + STILLNESS * sp.eye(n)
    solve = spla.factorized(a.tocsc())
    response = np.stack([solve(np.asarray(col, np.float64).ravel()) for col in pins.T.toarray().T], 1)
    return DetailSystem(interp, weight, solve, pins, response, np.linalg.inv(pins @ response))


def _image_shift(rows: sp.csr_matrix, cam: np.ndarray, K: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(m, 2) camera-plane shifts (metres, at each point's own depth) that put the surface points `rows @ cam`
    exactly on their image `targets`."""
    surf = rows @ cam
    z = surf[:, 2:]
    focal = K[[0, 1], [0, 1]]
    return (np.asarray(targets, np.float64) - K[:2, 2]) * z / focal - surf[:, :2]


def landmark_detail(model: PhotoFaceKit, vertices: np.ndarray, rotation: np.ndarray, translation: np.ndarray,
                    K: np.ndarray, points_2d: np.ndarray, strength: float = 1.0,
                    ibug_weights: np.ndarray | None = None) -> np.ndarray:
    """(n, 3) model-space offsets that move `vertices` (model space; camera = rotation @ v + translation, pixels
    = K @ camera) so their embedded points project onto `points_2d` (468, 2+) in the same pixels (least
    squares) and PINNED_LANDMARKS exactly onto the points mapped to the 68 by `ibug_map` — times `strength`
    (0..1, how far the detections are trusted; 1 puts the pinned landmarks on their targets). `ibug_weights`: the
    map of the face-mesh model that drew `points_2d` (`ibug_map.load_weights`; None: the plain mesh's)."""
    from .ibug_map import mediapipe_to_ibug68

    system = detail_system(model)
    pts = np.asarray(points_2d, np.float64)[:, :2]
    cam = np.asarray(vertices, np.float64) @ rotation.T + translation
    soft = _image_shift(system.interp, cam, K, pts)
    hard = _image_shift(system.pins, cam, K, mediapipe_to_ibug68(pts, ibug_weights)[PINNED_LANDMARKS])
    rhs = system.interp.T @ (system.weight[:, None] * soft)
    d_cam = np.zeros_like(cam)
    for axis in (0, 1):
        free = system.solve(rhs[:, axis])
        d_cam[:, axis] = free + system.response @ (system.gain @ (hard[:, axis] - system.pins @ free))
    return strength * (d_cam @ rotation)  # camera -> model: the inverse rotation
