"""Per-vertex geometric input features of Pixels2Points (Chen et al. 2024, §2.1): surface variation σ_k
(Pauly et al. 2002) and the heat kernel signature (Sun et al. 2009), plus vertex colour.

σ_30 flags rough reconstruction artefacts (hair, noise) that images cannot see; HKS describes the shape
at several scales; both are invariant to rigid motion, so the network need not learn pose.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .poisson_disk import sample_surface, triangle_normals
from .spectral import Operators

FEATURE_SETS = ("sigma30", "hks", "color")
_CHUNK = 65536  # vertices per batch of neighbourhood covariances: bounds memory on 250k-vertex scans


def surface_variation(points: np.ndarray, k: int = 30, queries: np.ndarray | None = None) -> np.ndarray:
    """(n,) σ_k = λ_min / (λ_1 + λ_2 + λ_3) of the covariance of each point's k nearest neighbours (itself
    included): 0 on a plane, at most 1/3 for isotropic scatter. With `queries` (q, 3): σ_k of the k points
    nearest each query instead, (q,) (e.g. a reduced mesh's vertices looking at the full-resolution scan)."""
    pts = np.asarray(points, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 3:
        raise ValueError(f"points must be (n ≥ 3, 3), got {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("points contain NaN or infinite coordinates")
    kk = min(k, len(pts))
    _, idx = cKDTree(pts).query(pts if queries is None else np.asarray(queries, np.float64), k=kk)
    out = np.empty(len(idx))
    for s in range(0, len(idx), _CHUNK):
        nb = pts[idx[s:s + _CHUNK]]
        nb = nb - nb.mean(axis=1, keepdims=True)
        lam = np.linalg.eigvalsh(np.einsum("nki,nkj->nij", nb, nb))  # ascending
        total = lam.sum(axis=1)
        out[s:s + _CHUNK] = np.where(total > 0, lam[:, 0] / np.where(total > 0, total, 1.0), 0.0)
    return np.clip(out, 0.0, None)


def even_surface_points(vertices: np.ndarray, faces: np.ndarray | None, spacing: float, seed: int = 0,
                        max_samples: int = 2_000_000) -> tuple[np.ndarray, float | None]:
    """(an evenly spaced point set of the surface (p, 3), the surface area or None for a point cloud): the
    vertices plus points sampled on the triangles (area-uniform, 4 per spacing², a fixed seed), thinned to one
    point per cube of side `spacing` (vertices first, so a dense scan keeps its own vertices — with their
    noise — and only the gaps of a coarse mesh are filled from its triangles).

    Why: σ_k measures roughness inside the area its k neighbours cover, so it depends on where a mesh puts its
    vertices. Real scans are decimated unevenly (dense at the eyes and ears, 1-2 cm triangles on the scalp),
    where k set from the median spacing reaches over far more surface than on the evenly remeshed training
    scans and reads smooth skin as rough. On this point set a k set from its density covers the same area
    everywhere. Without faces (a point cloud) the vertices are only thinned."""
    v = np.asarray(vertices, np.float64)
    pts, area = v, None
    if faces is not None and len(faces):
        normals, tri_area = triangle_normals(v, faces)
        area = float(tri_area.sum())
        n = int(min(4 * area / spacing ** 2, max_samples))
        if n > 0:
            samples, _, _ = sample_surface(v, faces, n, np.random.default_rng(seed), (normals, tri_area))
            pts = np.concatenate([v, samples])
    cells = np.floor((pts - pts.min(axis=0)) / spacing).astype(np.int64)
    _, first = np.unique(cells, axis=0, return_index=True)
    return pts[np.sort(first)], area


def heat_kernel_signature(evals: np.ndarray, evecs: np.ndarray, mass: np.ndarray, n_times: int = 16
                          ) -> np.ndarray:
    """(n, n_times) HKS(x, t) = Σ_i exp(−λ_i t) φ_i(x)², scaled to be dimensionless.

    Times are log-spaced over [4 ln10 / λ_max, 4 ln10 / λ_1] (Sun et al.: from the finest scale the basis
    resolves to the first non-zero mode), so they follow the shape's size. Each column is divided by its
    M-weighted mean (the heat trace over the area): the unit of length and the overall size then drop out.
    """
    evals, evecs, mass = np.asarray(evals, np.float64), np.asarray(evecs, np.float64), np.asarray(mass, np.float64)
    positive = evals[evals > 1e-8 * max(evals.max(), 1e-300)]
    if len(positive) < 1:
        raise ValueError("the heat kernel signature needs at least one non-zero eigenvalue")
    times = np.geomspace(4 * np.log(10) / positive.max(), 4 * np.log(10) / positive.min(), n_times)
    heat = np.exp(-np.outer(evals, times))  # (k, T)
    hks = (evecs ** 2) @ heat
    return hks * (mass.sum() / heat.sum(axis=0))


def _colors01(colors: np.ndarray, n: int) -> np.ndarray:
    c = np.asarray(colors)
    if c.shape[0] != n or c.ndim != 2 or c.shape[1] not in (3, 4):
        raise ValueError(f"colors must be (n={n}, 3 or 4), got {c.shape}")
    c = c[:, :3].astype(np.float64)
    return c / 255.0 if np.issubdtype(np.asarray(colors).dtype, np.integer) else c


def stack_features(vertices: np.ndarray, ops: Operators, colors: np.ndarray | None = None,
                   features: tuple[str, ...] = FEATURE_SETS, n_hks: int = 16, k_sigma: int = 30) -> np.ndarray:
    """(n, C) float32 per-vertex inputs in the order of `features` (a subset of FEATURE_SETS):
    sigma30 → 1 column, hks → n_hks columns, color → RGB in [0, 1] (integer colours are read as 0..255)."""
    unknown = set(features) - set(FEATURE_SETS)
    if unknown or not features:
        raise ValueError(f"features must be a non-empty subset of {FEATURE_SETS}, got {features}")
    n = len(vertices)
    if len(ops.mass) != n:
        raise ValueError(f"operators are for {len(ops.mass)} vertices, the shape has {n}")
    cols = []
    for name in features:
        if name == "sigma30":
            cols.append(surface_variation(vertices, k_sigma)[:, None])
        elif name == "hks":
            cols.append(heat_kernel_signature(ops.evals, ops.evecs, ops.mass, n_hks))
        else:
            if colors is None:
                raise ValueError("the 'color' feature needs vertex colours")
            cols.append(_colors01(colors, n))
    return np.concatenate(cols, axis=1).astype(np.float32)
