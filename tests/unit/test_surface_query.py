"""SurfaceQuery.nearest tests each candidate face once (flat, de-duplicated fans); it must give exactly what the
padded argmin over all k fans gives (the synthetic labels depend on it bit for bit)."""
from __future__ import annotations

import numpy as np
import pytest

from face_addon.core.geometry.surface_distance import SurfaceQuery, closest_on_triangles
from face_addon.synth.shapes import uv_sphere


def _padded_argmin(q: SurfaceQuery, points: np.ndarray, exact_within: float):
    """The straightforward form: every (k x valence) fan slot, padding as +inf, first minimum wins."""
    dv, iv = q.tree.query(points)
    out_p, out_d, out_f = q.v[iv].copy(), dv.copy(), np.maximum(q.vf[iv, 0], 0)
    sel = np.flatnonzero(dv < exact_within)
    _, idx = q.tree.query(points[sel], k=q.k)
    cand = q.vf[idx.reshape(len(sel), -1)].reshape(len(sel), -1)
    tri = q.f[np.maximum(cand, 0)]
    c = closest_on_triangles(points[sel][:, None], q.v[tri[..., 0]], q.v[tri[..., 1]], q.v[tri[..., 2]])
    d2 = ((c - points[sel][:, None]) ** 2).sum(-1)
    d2[cand < 0] = np.inf
    best = d2.argmin(1)
    rows = np.arange(len(sel))
    out_p[sel], out_d[sel], out_f[sel] = c[rows, best], np.sqrt(d2[rows, best]), np.maximum(cand, 0)[rows, best]
    return out_p, out_d, out_f


@pytest.mark.parametrize("k, exact_within", [(1, np.inf), (2, 0.01), (3, np.inf), (8, np.inf)])
def test_nearest_equals_padded_argmin_over_fans(k, exact_within):
    v, f = uv_sphere((0, 0, 0), 0.1, 12, 40)  # poles with 40 faces: fans truncated to 10
    rng = np.random.default_rng(k)
    p = rng.normal(size=(3000, 3))
    p = p / np.linalg.norm(p, axis=1, keepdims=True) * rng.uniform(0.07, 0.13, (len(p), 1))
    p[:5] = v[:5]  # on vertices: ties between the faces of a fan
    q = SurfaceQuery(v, f, k=k)
    for got, want in zip(q.nearest(p, chunk=700, exact_within=exact_within), _padded_argmin(q, p, exact_within)):
        np.testing.assert_array_equal(got, want)


def test_vertex_without_faces_answers_itself():
    v, f = uv_sphere((0, 0, 0), 0.1, 8, 12)
    v = np.vstack([v, [[1.0, 0.0, 0.0]]])  # a loose vertex far from the sphere
    p, d, _ = SurfaceQuery(v, f, k=1).nearest(np.array([[1.01, 0.0, 0.0]]))
    np.testing.assert_allclose(p[0], [1.0, 0.0, 0.0])
    assert d[0] == pytest.approx(0.01)


@pytest.mark.parametrize("k", [1, 2])
def test_no_points_give_empty_answers(k):
    v, f = uv_sphere((0, 0, 0), 0.1, 8, 12)
    p, d, fi = SurfaceQuery(v, f, k=k).nearest(np.zeros((0, 3)))
    assert p.shape == (0, 3) and d.shape == (0,) and fi.shape == (0,)
