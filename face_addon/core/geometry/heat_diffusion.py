"""Smoothing a per-vertex field over a surface by one implicit heat-diffusion step.

    smoothed = heat_diffuse(ops.laplacian, ops.mass, values, length_m=0.006)

Solves (M + t L) x = M v with t = length²: the field after heat has flowed for time t, i.e. averaged over a
geodesic neighbourhood of about `length` (metres when the mesh is in metres). Unlike n rounds of neighbour
averaging, the reach does not depend on how finely or evenly the surface is tessellated, only on its geometry.
Constants stay constant, and the mean over the surface (weighted by area) is kept.

With a per-vertex `confidence` c the step solves (C M + t L) x = C M v: a vertex with c ≈ 0 brings no value of
its own and takes its neighbours' (the harmonic fill of a gap in the evidence, however far it reaches), one with
c = 1 is smoothed as before (Segment Skin: vertices no view sees, docs/skin.md).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu


def heat_diffuse(laplacian: sp.spmatrix, mass: np.ndarray, values: np.ndarray, length_m: float,
                 confidence: np.ndarray | None = None) -> np.ndarray:
    """(n,) or (n, c) `values` diffused over a geodesic length `length_m` (same units as the mesh): `laplacian`
    (n, n) the positive semi-definite cotangent Laplacian, `mass` (n,) lumped vertex areas > 0, `confidence` (n,)
    in (0, 1] how much each vertex's own value counts (default 1 everywhere)."""
    if length_m <= 0:
        return np.asarray(values, np.float64)
    m = np.asarray(mass, np.float64) * (1.0 if confidence is None else np.asarray(confidence, np.float64))
    system = (sp.diags(m) + length_m ** 2 * sp.csc_matrix(laplacian)).tocsc()
    v = np.asarray(values, np.float64)
    rhs = m[:, None] * v.reshape(len(v), -1)
    return splu(system).solve(rhs).reshape(v.shape)
