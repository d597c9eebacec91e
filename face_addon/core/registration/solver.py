"""The linear step of registration: normal equations for the coefficients and a linearised similarity update
(point-to-plane rows accumulated per matched vertex, landmark rows, the coefficient prior, a prior on the
scale), solved inside the coefficient bounds by a small active-set loop."""
from __future__ import annotations

import numpy as np

from ..geometry.similarity import skew
from .correspondence import Matches
from .fit_model import FitModel

NOISE_SIGMA_M = 0.001            # expected point-to-plane residual of a good fit: weight of the data term
PRIOR_WEIGHT = 1.0               # multiplies the Tikhonov prior (1 = the prior's own scales)
SCALE_SIGMA = 0.03               # prior on the similarity's scale around metric: head sizes vary ~3 % (1 SD)


def solve_bounded(a: np.ndarray, b: np.ndarray, lower: np.ndarray, upper: np.ndarray, rounds: int = 6
                  ) -> np.ndarray:
    """argmin ½xᵀAx − bᵀx within [lower, upper] (A symmetric positive definite, ±inf for free variables):
    an active-set loop that pins violated variables to their bound and re-solves the rest."""
    x = np.clip(np.linalg.solve(a, b), lower, upper)
    pinned = (x <= lower) | (x >= upper)
    for _ in range(rounds):
        if not pinned.any():
            break
        free = ~pinned
        x_free = np.linalg.solve(a[np.ix_(free, free)], b[free] - a[np.ix_(free, pinned)] @ x[pinned])
        x[free] = np.clip(x_free, lower[free], upper[free])
        grad = a @ x - b  # release pinned variables whose gradient points into the box
        release = pinned & (((x <= lower) & (grad < 0)) | ((x >= upper) & (grad > 0)))
        newly = free & ((x <= lower) | (x >= upper))
        if not release.any() and not newly.any():
            break
        pinned = (pinned & ~release) | newly
    return x


def normal_equations(model: FitModel, alpha: np.ndarray, v: np.ndarray, m: Matches, lm_target: np.ndarray,
                     lm_weight: np.ndarray, scale_prior: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) of the step x = [δα (K), σ, ω (3), τ (3)]: the model moves by B·δα + σ·v + ω × v + τ; point-to-plane
    rows per matched vertex (points matched to one vertex give identical rows, so they are summed per vertex:
    O(template vertices × coefficients²) whatever the number of points), 3 rows per landmark, the coefficient
    prior, and a prior on the scale (s_now·(1 + σ) near s_ref)."""
    k = model.basis.shape[2]
    a_mat = np.zeros((k + 7, k + 7))
    rhs = np.zeros(k + 7)
    if len(m.vertex):
        total, mean_r = m.per_vertex(len(v))
        hit = np.flatnonzero(total)
        w = total[hit] * (len(hit) / total.sum()) / NOISE_SIGMA_M ** 2  # a matched vertex weighs 1/σ² on average
        n, x = m.normals[hit], v[hit]
        rows = np.concatenate([np.einsum("vc,vck->vk", n, model.basis[hit]), (n * x).sum(1, keepdims=True),
                               np.cross(x, n), n], axis=1)
        a_mat += (rows * w[:, None]).T @ rows
        rhs += rows.T @ (w * mean_r[hit])
    x = model.fk.landmarks(v)  # surface points (barycentric), linear in the basis like the vertices
    basis_lm = np.moveaxis(model.fk.landmarks(np.moveaxis(model.basis, 2, 0)), 0, 2)
    jac = np.concatenate([basis_lm, x[:, :, None], -skew(x),
                          np.broadcast_to(np.eye(3), (len(x), 3, 3))], axis=2).reshape(-1, k + 7)
    w = np.repeat(lm_weight, 3)
    a_mat += (jac * w[:, None]).T @ jac
    rhs += jac.T @ (w * (lm_target - x).ravel())
    prior = PRIOR_WEIGHT / model.sigma ** 2
    a_mat[np.arange(k), np.arange(k)] += prior
    rhs[:k] -= prior * alpha
    s_now, s_ref = scale_prior
    c = (s_now / (s_ref * SCALE_SIGMA)) ** 2
    a_mat[k, k] += c
    rhs[k] += c * (s_ref / s_now - 1)
    a_mat[np.arange(k + 1, k + 7), np.arange(k + 1, k + 7)] += 1e-6 * a_mat.diagonal().max()  # keeps it regular
    return a_mat, rhs


def bounded_step(model: FitModel, alpha: np.ndarray, a_mat: np.ndarray, rhs: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(new α, similarity update [σ, ω, τ]) with α + δα kept inside the coefficient bounds."""
    k = len(alpha)
    lower = np.concatenate([model.lower - alpha, np.full(7, -np.inf)])
    upper = np.concatenate([model.upper - alpha, np.full(7, np.inf)])
    x = solve_bounded(a_mat, rhs, lower, upper)
    return alpha + x[:k], x[k:]
