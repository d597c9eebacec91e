"""Pose standardisation of a point set (2S-SGCN §3.2): centre, PCA-align, scale into [-1, 1].

PCA fixes the axes only up to order and sign. The convention here keeps a roughly upright input upright:
the eigenvector matrix is snapped to the proper signed permutation closest to identity (so +Z stays "up",
-Y stays "forward" for inputs within about ±45° of Blender's axes), and when normals are given the
forward sign is chosen so the mean normal points to -Y (a face scan looking backwards is turned around
the vertical instead of being mirrored: the frame stays right-handed, left/right are never swapped).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

_SIGNED_PERMUTATIONS = np.array([
    np.eye(3)[list(p)] * np.array(s)[:, None]
    for p in itertools.permutations(range(3)) for s in itertools.product((1, -1), repeat=3)
    if np.linalg.det(np.eye(3)[list(p)] * np.array(s)[:, None]) > 0])  # the 24 rotations of the cube


@dataclass(frozen=True)
class Standardization:
    """x_std = (x - center) @ rotation.T * scale; rotation is a proper rotation (det +1)."""

    center: np.ndarray    # (3,)
    rotation: np.ndarray  # (3, 3)
    scale: float

    def apply(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, np.float64) - self.center) @ self.rotation.T * self.scale

    def apply_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Rotate direction vectors (normals); no translation or scaling."""
        return np.asarray(vectors, np.float64) @ self.rotation.T

    def invert(self, points_std: np.ndarray) -> np.ndarray:
        return np.asarray(points_std, np.float64) / self.scale @ self.rotation + self.center


def pca_rotation(points: np.ndarray, normals: np.ndarray | None = None) -> np.ndarray:
    """Rotation R (rows = new axes in input coordinates) aligning the principal axes with x, y, z (see module doc)."""
    x = np.asarray(points, np.float64)
    x = x - x.mean(axis=0)
    _, vecs = np.linalg.eigh(x.T @ x / max(len(x), 1))
    basis = vecs.T  # rows: eigenvectors
    if np.linalg.det(basis) < 0:
        basis[0] *= -1
    # the cube rotation P that brings P @ basis closest to identity
    best = max(_SIGNED_PERMUTATIONS, key=lambda p: np.trace(p @ basis))
    rot = best @ basis
    if normals is not None and len(normals):
        forward = (np.asarray(normals, np.float64) @ rot.T)[:, 1].mean()
        if forward > 0:  # faces look along -Y: turn 180° about the vertical
            rot = np.diag([-1.0, -1.0, 1.0]) @ rot
    return rot


def standardize(points: np.ndarray, normals: np.ndarray | None = None, align: bool = True) -> Standardization:
    """Standardisation of `points` (n, 3): mean to the origin, PCA axes (optional), all points in [-1, 1]^3."""
    x = np.asarray(points, np.float64)
    if len(x) == 0:
        raise ValueError("standardize: no points")
    center = x.mean(axis=0)
    rot = pca_rotation(x, normals) if align else np.eye(3)
    extent = np.abs((x - center) @ rot.T).max()
    return Standardization(center, rot, 1.0 / extent if extent > 0 else 1.0)
