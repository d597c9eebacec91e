"""A point cloud as a surface that renders: one small square (two triangles) per point, facing its normal.

The face search and the view-based landmarks render triangles and back-project through the depth buffer, so a
point cloud (photogrammetry or scanner exports without faces) had only 2S-SGCN, read in frames guessed from
the points' principal axes. On real face-only clouds those guesses fail: the 15 Artec scans' vertices as clouds
read 99 mm off. The same clouds drawn as splats are found by the face search and read by the views about as
well as their meshes (tests/bench/results/real.md, "Point clouds"). Surface reconstruction (Poisson, ball
pivoting) would need a library the extension does not ship; splats need only the normals and the spacing, and
the face search's vertex-clustered copy merges neighbouring splats into one surface.

SIDE 2.0, not 1.5: smaller squares leave gaps where a cloud is uneven, and the speckled face was not found on
every fifth point of 4 Artec scans (0 of 4; 4 of 4 with 2.0, all points 4.4 vs 4.3 mm). Welding the squares
(clustering their corners at the median spacing) cracked the surface and lost faces: not done. Clouds far
sparser than the face's detail (a 20k-vertex decimated bust with hair: vertices left where the decimation
kept detail, few on the cheeks) show a blotchy face that the views may not read: no face, the fallback decides.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .knn_graph import estimate_normals
from .scan_render import ScanSurface

NORMAL_NEIGHBOURS = 16  # PCA neighbourhood of a point's normal (knn_graph.estimate_normals)
SPACING_NEIGHBOURS = 8  # a splat's size follows the mean distance to this many nearest points ...
SIDE = 2.0              # ... times this (side of the square): neighbouring splats overlap, no holes show through
MAX_POINTS = 250_000    # denser clouds are splatted from an even subset (the views draw ~0.7 mm cells anyway)


def splat_surface(points: np.ndarray, colors: np.ndarray | None = None, seed: int = 0) -> ScanSurface:
    """The cloud (n, 3) as a ScanSurface of squares centred on its points (at most MAX_POINTS of them, an even
    random subset), each in the plane of its PCA normal (pointing away from the centroid, like a head's or a face
    shell's outside) and SIDE times its mean neighbour spacing wide; `colors` (n, 3) go to the corners."""
    pts = np.asarray(points, np.float64)
    keep = np.arange(len(pts))
    if len(pts) > MAX_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(len(pts), MAX_POINTS, replace=False))
    p = pts[keep]
    normal = estimate_normals(p, NORMAL_NEIGHBOURS)
    dist, nearest = cKDTree(p).query(p, SPACING_NEIGHBOURS + 1)
    spacing = dist[:, 1:].mean(1)
    half = 0.5 * SIDE * np.maximum(spacing, 0.5 * np.median(spacing))  # duplicates get a typical size
    u = _tangent_towards(p[nearest[:, -1]] - p, normal)  # turns with the cloud: a turned cloud, the same splats
    w = np.cross(normal, u)  # (u, w, normal) right-handed: corners counter-clockwise seen from the normal's side
    u, w = u * half[:, None], w * half[:, None]
    corners = np.stack([p - u - w, p + u - w, p + u + w, p - u + w], 1).reshape(-1, 3)
    base = 4 * np.arange(len(p))[:, None]
    faces = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]])
    corner_colors = None if colors is None else np.repeat(np.asarray(colors)[keep], 4, axis=0)
    return ScanSurface.of(corners, faces, corner_colors)


def _tangent_towards(d: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Unit vectors in each point's tangent plane towards d (n, 3), or along a world axis where d is (nearly)
    along the normal."""
    t = d - (d * normal).sum(1, keepdims=True) * normal
    axis = np.where(np.abs(normal[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    short = np.linalg.norm(t, axis=1) < 1e-6 * np.linalg.norm(d, axis=1) + 1e-300
    t[short] = np.cross(normal[short], axis[short])
    return t / np.linalg.norm(t, axis=1, keepdims=True)
