"""Point-to-triangle-mesh distances: closest points on triangles (Ericson's Voronoi regions), a fast
k-nearest-vertex query, and an exact query.

`SurfaceQuery.nearest` looks only at the triangles around the k vertices nearest a point: exact whenever the
closest triangle touches one of them, which holds for points near a fairly uniform mesh (labels of synthetic
scans, landmark snapping) and costs a fraction of a BVH query. `point_mesh_distance` is exact for any mesh and
point: that first answer d is an upper bound, and only triangles whose bounding sphere (centroid, farthest
corner) meets the ball of radius d around the point can hold a closer point.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def vertex_faces(n: int, faces: np.ndarray, max_valence: int = 10) -> np.ndarray:
    """(n, valence) incident faces per vertex, padded with -1; poles of fans (sphere caps, tube ends) keep only
    their first `max_valence` faces, which bounds the work per query (their other faces are still reached
    through the neighbouring vertices)."""
    vid = faces.ravel()
    fid = np.repeat(np.arange(len(faces)), 3)
    order = np.argsort(vid, kind="stable")
    vid, fid = vid[order], fid[order]
    counts = np.bincount(vid, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    width = max(min(int(counts.max()), max_valence), 1)
    out = -np.ones((n, width), np.int64)
    col = np.arange(len(vid)) - starts[vid]
    ok = col < width
    out[vid[ok], col[ok]] = fid[ok]
    return out


def closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Closest points on triangles (a, b, c) to points p, all (..., 3) broadcastable (Ericson's regions)."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = p - b
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = p - c
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    denom = np.where(np.abs(va + vb + vc) < 1e-30, 1e-30, va + vb + vc)
    v, w = vb / denom, vc / denom
    res = a + ab * v[..., None] + ac * w[..., None]  # interior
    eps = 1e-30
    # edges
    t_ab = d1 / np.where(np.abs(d1 - d3) < eps, eps, d1 - d3)
    on_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    t_ac = d2 / np.where(np.abs(d2 - d6) < eps, eps, d2 - d6)
    on_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    t_bc = (d4 - d3) / np.where(np.abs((d4 - d3) + (d5 - d6)) < eps, eps, (d4 - d3) + (d5 - d6))
    on_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    res = np.where(on_bc[..., None], b + (c - b) * t_bc[..., None], res)
    res = np.where(on_ac[..., None], a + ac * t_ac[..., None], res)
    res = np.where(on_ab[..., None], a + ab * t_ab[..., None], res)
    # vertices
    res = np.where(((d6 >= 0) & (d5 <= d6))[..., None], c, res)
    res = np.where(((d3 >= 0) & (d4 <= d3))[..., None], b, res)
    res = np.where(((d1 <= 0) & (d2 <= 0))[..., None], a, res)
    return res


def barycentric(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(n, 3) barycentric weights of points p (n, 3) on triangles (a, b, c), clipped into the triangle."""
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = np.where(np.abs(d00 * d11 - d01 * d01) > 1e-20, d00 * d11 - d01 * d01, 1.0)
    w1 = (d11 * d20 - d01 * d21) / den
    w2 = (d00 * d21 - d01 * d20) / den
    w = np.clip(np.stack([1 - w1 - w2, w1, w2], 1), 0, 1)
    return w / w.sum(1, keepdims=True)


class SurfaceQuery:
    """Nearest points on a triangle mesh for many query points (vectorised, chunked)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, k: int = 3) -> None:
        self.v = np.asarray(vertices, np.float64)
        self.f = np.asarray(faces, np.int64)
        self.tree = cKDTree(self.v)
        self.vf = vertex_faces(len(self.v), self.f)
        self.k = min(k, len(self.v))

    def nearest(self, points: np.ndarray, chunk: int = 20000, exact_within: float = np.inf
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(closest points (n, 3), distances (n,), face index (n,)).

        Points farther than `exact_within` from every mesh vertex get the nearest vertex (and one of its faces)
        instead of the exact surface point: an upper bound within one edge length, at a fraction of the cost.
        One KD-tree query gives both the nearest vertex and the k fans; each point's candidate faces are tested
        once (a face shared by two fans and the -1 padding are dropped before the exact test, about half the
        work at k=2), in the fans' order, so ties resolve as a padded argmin over the fans would."""
        points = np.asarray(points, np.float64)
        dk, ik = self.tree.query(points, k=self.k)
        dk, ik = dk.reshape(len(points), self.k), ik.reshape(len(points), self.k)
        out_p = self.v[ik[:, 0]].copy()
        out_d = dk[:, 0].copy()
        out_f = np.maximum(self.vf[ik[:, 0], 0], 0)
        todo = np.flatnonzero(dk[:, 0] < exact_within)
        for s in range(0, len(todo), chunk):
            sel = todo[s:s + chunk]
            row, face = self._candidates(self.vf[ik[sel]])
            if not len(row):  # only vertices no face uses nearby: keep the nearest vertex
                continue
            p = points[sel][row]
            tri = self.f[face]
            q = closest_on_triangles(p, self.v[tri[:, 0]], self.v[tri[:, 1]], self.v[tri[:, 2]])
            d2 = ((q - p) ** 2).sum(-1)
            start = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
            low = np.flatnonzero(d2 == np.repeat(np.minimum.reduceat(d2, start), np.diff(np.r_[start, len(row)])))
            best = low[np.r_[True, row[low][1:] != row[low][:-1]]]  # first minimum of each point
            rows = sel[row[best]]
            out_p[rows] = q[best]
            out_d[rows] = np.sqrt(d2[best])
            out_f[rows] = face[best]
        return out_p, out_d, out_f

    @staticmethod
    def _candidates(fans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat (point row, face) pairs from (n, k, valence) fans: padding and repeats of a face already in an
        earlier fan of the same point removed, order kept (rows ascending)."""
        keep = fans >= 0
        for j in range(1, fans.shape[1]):
            keep[:, j] &= ~(fans[:, j, :, None] == fans[:, :j].reshape(len(fans), 1, -1)).any(-1)
        row, j, c = np.nonzero(keep)
        return row, fans[row, j, c]


def point_mesh_distance(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 2000
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact (closest points (n, 3), distances (n,), face index (n,)) from points to a triangle mesh.

    Only vertices used by `faces` count, so a sub-mesh can be given as the full vertex array and a face subset.
    """
    points = np.asarray(points, np.float64).reshape(-1, 3)
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    if len(f) == 0:
        raise ValueError("point_mesh_distance needs at least one triangle")
    used = np.unique(f)
    _, bound, _ = SurfaceQuery(v[used], np.searchsorted(used, f), k=3).nearest(points)
    corners = v[f]
    centre = corners.mean(axis=1)
    radius = np.sqrt(((corners - centre[:, None]) ** 2).sum(-1).max(axis=1))
    centres = cKDTree(centre)
    out_p, out_d, out_f = np.empty_like(points), np.empty(len(points)), np.empty(len(points), np.int64)
    order = np.argsort(bound)  # similar bounds per chunk keep the search radius tight
    for s in range(0, len(points), chunk):
        sel = order[s:s + chunk]
        reach = bound[sel] * (1 + 1e-9) + 1e-12
        pairs = cKDTree(points[sel]).sparse_distance_matrix(centres, reach.max() + radius.max(),
                                                            output_type="ndarray")
        i, j = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
        keep = pairs["v"] <= reach[i] + radius[j]  # the triangle's bounding sphere meets the ball
        i, j = i[keep], j[keep]
        q = closest_on_triangles(points[sel[i]], corners[j, 0], corners[j, 1], corners[j, 2])
        d2 = ((q - points[sel[i]]) ** 2).sum(-1)
        best = np.lexsort((d2, i))
        best = best[np.r_[True, i[best][1:] != i[best][:-1]]]
        out_p[sel[i[best]]] = q[best]
        out_d[sel[i[best]]] = np.sqrt(d2[best])
        out_f[sel[i[best]]] = j[best]
    return out_p, out_d, out_f
