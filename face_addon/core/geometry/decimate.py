"""Reduce a scan to at most N vertices for per-vertex networks, and carry values between the two vertex sets.

Surface operators cost far more than linearly in the vertex count (the eigen solve), while a skin mask does
not need 250k vertices to be placed: networks run on a reduced copy and their outputs go back to every
original vertex. Meshes are reduced by quadric edge collapse (`fast_simplification`, Garland-Heckbert
quadrics: the shape, and so the surface features, survive the reduction); point clouds by a Poisson-disk
subset (even spacing). Before that, exact duplicate vertices are welded (unwelded OBJ/STL exports would
otherwise fall apart into loose triangles) and faces with a repeated index are dropped. Loose parts are
kept; vertices in no face still get a value, from their nearest reduced vertex.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

_WELD_TOLERANCE = 1e-9  # relative to the bounding-box size: only exact (float-noise) duplicates are welded


@dataclass(frozen=True)
class Decimation:
    """A reduced copy of a shape and the map between the two vertex sets.

    vertices (k, 3) and faces (m, 3) (None for a point cloud) of the reduced shape; nearest (n,): for each
    original vertex, the reduced vertex it is represented by (the nearest one in space); source (k,): the
    original vertex nearest each reduced vertex.
    """

    vertices: np.ndarray
    faces: np.ndarray | None
    nearest: np.ndarray
    source: np.ndarray

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    def to_original(self, values: np.ndarray) -> np.ndarray:
        """Per-reduced-vertex values (k, ...) → per-original-vertex values (n, ...), nearest-vertex transfer."""
        return np.asarray(values)[self.nearest]

    def cluster_sizes(self) -> np.ndarray:
        """(k,) how many original vertices each reduced vertex represents (≥ 0)."""
        return np.bincount(self.nearest, minlength=self.n_vertices)

    def from_original(self, values: np.ndarray) -> np.ndarray:
        """Per-original-vertex values (n, ...) → per-reduced-vertex mean over the originals each one represents
        (a reduced vertex that represents none takes the value of its nearest original vertex)."""
        vals = np.asarray(values, np.float64)
        flat = vals.reshape(len(vals), -1)
        total = np.zeros((self.n_vertices, flat.shape[1]))
        np.add.at(total, self.nearest, flat)
        count = self.cluster_sizes()
        out = total / np.maximum(count, 1)[:, None]
        empty = count == 0
        out[empty] = flat[self.source[empty]]
        return out.reshape((self.n_vertices,) + vals.shape[1:])


def weld(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge vertices at identical positions → (vertices, faces, old → new index (n,)).
    Faces with a repeated index after welding are dropped."""
    v = np.asarray(vertices, np.float64)
    size = float(np.ptp(v, axis=0).max()) or 1.0
    key = np.round((v - v.min(axis=0)) / (size * _WELD_TOLERANCE)).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    f = inverse[np.asarray(faces, np.int64)]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    return v[first], f, inverse


def used_only(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertices that no face references (surface operators need every vertex on a face)."""
    used = np.unique(faces)
    remap = np.full(len(vertices), -1, np.int64)
    remap[used] = np.arange(len(used))
    return np.asarray(vertices)[used], remap[faces]


def _simplify(v: np.ndarray, f: np.ndarray, max_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric edge collapse until at most max_vertices vertices are left (the face target is set from the
    mesh's own face/vertex ratio, then tightened if open borders or loose parts left too many vertices)."""
    import fast_simplification

    ratio = len(f) / len(v)
    target = max(4, int(max_vertices * ratio))
    for _ in range(6):
        if target >= len(f):
            return v, f
        sv, sf = fast_simplification.simplify(v, f.astype(np.int32), target_count=target)
        sv, sf = used_only(np.asarray(sv, np.float64), np.asarray(sf, np.int64).reshape(-1, 3))
        if len(sv) <= max_vertices:
            return sv, sf
        target = max(4, int(target * max_vertices / len(sv) * 0.98))
        v, f = sv, sf
    return v, f


def decimate(vertices: np.ndarray, faces: np.ndarray | None, max_vertices: int,
             rng: np.random.Generator | None = None) -> Decimation:
    """A copy of the shape with at most `max_vertices` vertices (fewer is returned unchanged apart from the
    clean-up described in the module doc), and the original → reduced vertex map.

    faces None or empty: a point cloud, reduced to an evenly spread subset. Raises ValueError when the faces
    are all degenerate or max_vertices < 4.
    """
    if max_vertices < 4:
        raise ValueError(f"max_vertices must be ≥ 4, got {max_vertices}")
    v = np.asarray(vertices, np.float64)
    if faces is None or len(faces) == 0:
        keep = np.arange(len(v))
        if len(v) > max_vertices:
            from .poisson_disk import poisson_disk_subset

            keep = poisson_disk_subset(v, max_vertices, rng if rng is not None else np.random.default_rng(0))
        dv, df = v[keep], None
    else:
        wv, wf, _ = weld(v, faces)
        if len(wf) == 0:
            raise ValueError("every face is degenerate (repeated vertex indices); nothing to work on")
        dv, df = _simplify(*used_only(wv, wf), max_vertices)
    nearest = np.asarray(cKDTree(dv).query(v)[1], np.int64)
    source = np.asarray(cKDTree(v).query(dv)[1], np.int64)
    return Decimation(dv, df, nearest, source)
