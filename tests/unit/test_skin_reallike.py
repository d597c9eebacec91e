"""The geometry of the real-like scan variants (synth/skin_reallike.py; the rendering part needs bpy and is
exercised by the generator itself)."""
from __future__ import annotations

import numpy as np

from face_addon.synth.skin_reallike import crop_mask, subdivided, submesh, taubin


def grid(n: int = 20, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A flat n×n vertex grid in the x-z plane (1 cm spacing), triangulated, with optional y noise."""
    x, z = np.meshgrid(np.arange(n) * 0.01, np.arange(n) * 0.01)
    v = np.stack([x.ravel(), np.random.default_rng(seed).normal(0, noise, n * n), z.ravel()], 1)
    i = np.arange(n * n).reshape(n, n)
    a, b, c, d = i[:-1, :-1].ravel(), i[:-1, 1:].ravel(), i[1:, :-1].ravel(), i[1:, 1:].ravel()
    return v, np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])


def test_subdivision_splits_every_triangle_in_four_and_keeps_the_surface():
    v, f = grid(4)
    sv, sf, parent = subdivided(v, f)
    n_edges = len({tuple(sorted(e)) for t in f for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))})
    assert len(sf) == 4 * len(f) and len(sv) == len(v) + n_edges
    area = lambda vv, ff: np.linalg.norm(np.cross(vv[ff[:, 1]] - vv[ff[:, 0]], vv[ff[:, 2]] - vv[ff[:, 0]]), axis=1).sum()  # noqa: E731
    assert np.isclose(area(sv, sf), area(v, f))
    assert (parent[:len(v)] == np.arange(len(v))).all()
    # every midpoint lies halfway along an edge that starts at its parent
    mids = sv[len(v):]
    assert (np.linalg.norm(mids - v[parent[len(v):]], axis=1) <= 0.0071 + 1e-9).all()


def test_submesh_keeps_the_largest_connected_piece_of_the_kept_vertices():
    v, f = grid(10)
    keep = np.ones(len(v), bool)
    keep[v[:, 0] == 0.03] = False  # a cut column: a 3-column piece and a 6-column piece
    index, faces = submesh(v, f, keep)
    assert (v[index, 0] > 0.03).all() and len(index) == 6 * 10
    assert len(faces) == 2 * 5 * 9 and faces.max() == len(index) - 1  # its 5 × 9 grid squares, renumbered


def test_taubin_smoothing_removes_noise_without_shrinking():
    v, f = grid(20, noise=0.002)
    s = taubin(v, f, 8)
    inner = (v[:, 0] > 0.02) & (v[:, 0] < 0.17) & (v[:, 2] > 0.02) & (v[:, 2] < 0.17)
    assert s[inner, 1].std() < 0.5 * v[inner, 1].std()
    assert np.ptp(s[:, 0]) > 0.97 * np.ptp(v[:, 0])  # Taubin's μ step keeps the size


def test_crop_keeps_the_face_and_drops_what_lies_behind_or_far_away():
    rng = np.random.default_rng(0)
    lm = np.zeros((68, 3))
    lm[0], lm[16], lm[8], lm[30] = (-0.07, 0, 0), (0.07, 0, 0), (0, -0.02, -0.06), (0, -0.1, 0)
    lm[17:27] = (0, -0.08, 0.04)
    points = np.array([[0, -0.09, 0.0], [0, -0.08, 0.03], [0, 0.1, 0.0], [0.3, -0.08, 0.0], [0, -0.08, 0.25]])
    for _ in range(10):
        keep = crop_mask(points, lm, rng)
        assert keep[:2].all() and not keep[2:].any()  # face kept; behind the head, far right, far above dropped
