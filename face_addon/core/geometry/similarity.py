"""Similarity transforms (scale, rotation, translation) and small rotations: the one copy of Umeyama's
least-squares alignment that registration, the face-orientation search and the landmark consensus share, and
Rodrigues' formula with the cross-product matrices a linearised rotation needs."""
from __future__ import annotations

import numpy as np


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
            ) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (s, R, t) with dst ≈ s·R·src + t (Umeyama 1991; reflections excluded), each
    point pair counted with its `weights` (equal weights when None)."""
    w = np.full(len(src), 1.0 / len(src)) if weights is None else weights / max(weights.sum(), 1e-300)
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd((b * w[:, None]).T @ a)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = (u * d) @ vt
    scale = float((sig * d).sum() / max(w @ (a ** 2).sum(axis=1), 1e-300))  # all points in one place: scale 0
    return scale, rot, mu_d - scale * rot @ mu_s


def rotation_vector(omega: np.ndarray) -> np.ndarray:
    """Rotation matrix of a rotation vector (Rodrigues)."""
    angle = float(np.linalg.norm(omega))
    if angle < 1e-12:
        return np.eye(3)
    k = omega / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def skew(v: np.ndarray) -> np.ndarray:
    """(n, 3, 3) cross-product matrices [v]× of (n, 3) vectors: [v]× u = v × u."""
    z = np.zeros(len(v))
    return np.stack([np.stack([z, -v[:, 2], v[:, 1]], 1), np.stack([v[:, 2], z, -v[:, 0]], 1),
                     np.stack([-v[:, 1], v[:, 0], z], 1)], axis=1)
