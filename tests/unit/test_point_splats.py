"""Point clouds as splats (core/geometry/point_splats.py): one outward square per point, sized by the spacing,
colours carried, the same splats turned with the cloud, dense clouds thinned."""
from __future__ import annotations

import numpy as np

from face_addon.core.geometry import point_splats as ps
from face_addon.core.geometry.similarity import rotation_vector


def _sphere_cloud(n: int, seed: int = 0) -> np.ndarray:
    d = np.random.default_rng(seed).normal(size=(n, 3))
    return 0.1 * d / np.linalg.norm(d, axis=1, keepdims=True)


def test_one_outward_square_per_point_sized_by_the_spacing():
    p = _sphere_cloud(3000)
    s = ps.splat_surface(p, colors=np.tile([[0.2, 0.4, 0.6]], (len(p), 1)))
    assert s.vertices.shape == (4 * len(p), 3) and s.faces.shape == (2 * len(p), 3)
    corners = s.vertices.reshape(-1, 4, 3)
    assert np.allclose(corners.mean(1), p, atol=1e-12)  # centred on their points
    outward = (s.normals.reshape(-1, 4, 3)[:, 0] * p).sum(1) > 0
    assert outward.mean() > 0.99  # wound so the shading and the dark back see the outside
    side = np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1)
    spacing = np.sqrt(4 * np.pi * 0.1 ** 2 / len(p))  # mean distance between neighbours on the sphere, roughly
    assert 1.0 < np.median(side) / spacing < 4.0
    assert np.allclose(s.colors, [0.2, 0.4, 0.6], atol=1e-6) and len(s.colors) == len(s.vertices)


def test_turned_cloud_gives_the_turned_splats():
    p = _sphere_cloud(2000, seed=1)
    rot = rotation_vector(np.array([0.4, -1.2, 2.0]))
    a, b = ps.splat_surface(p), ps.splat_surface(p @ rot.T)
    assert np.abs(a.vertices @ rot.T - b.vertices).max() < 1e-9


def test_dense_clouds_are_thinned_to_an_even_subset(monkeypatch):
    monkeypatch.setattr(ps, "MAX_POINTS", 500)
    p = _sphere_cloud(2000, seed=2)
    s = ps.splat_surface(p, seed=3)
    centres = s.vertices.reshape(-1, 4, 3).mean(1)
    assert len(centres) == 500 and np.allclose(ps.splat_surface(p, seed=3).vertices, s.vertices)
    assert np.isin(centres.round(9), p.round(9)).all(1).all()  # kept points, not new ones
