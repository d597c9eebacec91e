"""The true front-face surface as a point cloud (Pixel2Mesh-face's ground truth and evaluation surface).

The surface is FaceKit's facial-skin region (`FaceKit.spa`: forehead to chin, cheek to cheek, with eyelids,
nose and lips; 3476 triangles), the analogue of the BFM face region behind AFLW2000-3D's point clouds.
Landmark-weighted sampling (paper §3.2, §4.4.2): every surface point gets a region by its distance d to the
nearest of the 68 landmarks (key region d < 10 mm, sub-priority 10–17 mm, face boundaries beyond) and each
region contributes a fixed count of points: [11000, 4000, 3000] for boundaries, sub-priority, key region.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

REGION_RADII_MM = (10.0, 17.0)  # key region below the first, sub-priority below the second
REGION_COUNTS = (11000, 4000, 3000)  # weight 0 (boundaries), weight 1 (sub-priority), weight 2 (key region)
CANDIDATES = 60000  # uniform candidates per draw; each region's points are picked from these


@lru_cache(maxsize=1)
def front_face_triangles() -> np.ndarray:
    """(m, 3) template triangles whose three vertices are facial skin (FaceKit topology)."""
    from ..facekit import load_facekit

    fk = load_facekit()
    mask = np.zeros(fk.n_vertices, bool)
    mask[fk.spa] = True
    return fk.faces[mask[fk.faces].all(1)]


def sample_surface(vertices: np.ndarray, faces: np.ndarray, count: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(triangle index (count,), barycentric coordinates (count, 3)) of area-uniform surface samples."""
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    _, tri, bary = trimesh.sample.sample_surface(mesh, count, return_barycentric=True, seed=rng)
    return tri, bary


def interpolate(vertices: np.ndarray, faces: np.ndarray, tri: np.ndarray, bary: np.ndarray) -> np.ndarray:
    return np.einsum("nk,nkd->nd", bary, vertices[faces[tri]])


def region_of(points_m: np.ndarray, landmarks_m: np.ndarray) -> np.ndarray:
    """(n,) region per point: 2 key (< 10 mm from a landmark), 1 sub-priority (< 17 mm), 0 boundaries."""
    from scipy.spatial import cKDTree

    d, _ = cKDTree(landmarks_m).query(points_m)
    d_mm = d * 1e3
    return np.where(d_mm < REGION_RADII_MM[0], 2, np.where(d_mm <= REGION_RADII_MM[1], 1, 0))


def ground_truth_points(metric: np.ndarray, space: np.ndarray, landmarks_m: np.ndarray,
                        rng: np.random.Generator, weighted: bool = True,
                        counts: tuple[int, int, int] = REGION_COUNTS) -> tuple[np.ndarray, np.ndarray]:
    """(points (Σcounts, 3), unit normals) on the front face, in the coordinates of `space` (the template
    vertices in crop space), picked by landmark region (`weighted`) or uniformly; regions are measured on
    `metric` (the same vertices in metres) against `landmarks_m`."""
    faces = front_face_triangles()
    total = int(sum(counts))
    tri, bary = sample_surface(metric, faces, CANDIDATES if weighted else total, rng)
    if weighted:
        region = region_of(interpolate(metric, faces, tri, bary), landmarks_m)
        pick = []
        for r, n in enumerate(counts):
            pool = np.flatnonzero(region == r)
            if len(pool) == 0:
                pool = np.arange(len(tri))
            pick.append(rng.choice(pool, n, replace=len(pool) < n))
        pick = np.concatenate(pick)
        tri, bary = tri[pick], bary[pick]
    tv = space[faces[tri]]
    normals = np.cross(tv[:, 1] - tv[:, 0], tv[:, 2] - tv[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    return np.einsum("nk,nkd->nd", bary, tv), normals
