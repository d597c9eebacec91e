"""Heat-diffusion smoothing of per-vertex fields (Segment Skin's last step): constants and the area-weighted mean
are kept, speckles vanish, and the reach is a length on the surface, not a number of neighbour rings."""
from __future__ import annotations

import numpy as np

from face_addon.core.geometry.heat_diffusion import heat_diffuse
from face_addon.core.geometry.laplacian import cotangent_laplacian


def grid(n: int, size: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat square of side `size` as an n × n vertex grid: vertices, faces, lumped vertex areas."""
    xs = np.linspace(0, size, n)
    xx, yy = np.meshgrid(xs, xs)
    v = np.stack([xx.ravel(), yy.ravel(), np.zeros(n * n)], 1)
    i = np.arange(n - 1)
    a = (i[:, None] * n + i[None, :]).ravel()
    f = np.concatenate([np.stack([a, a + 1, a + n + 1], 1), np.stack([a, a + n + 1, a + n], 1)])
    area = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1) / 2
    mass = np.bincount(f.ravel(), np.repeat(area / 3, 3), len(v))
    return v, f, mass


def test_constants_and_mean_are_kept_and_speckles_vanish():
    v, f, mass = grid(30)
    lap = cotangent_laplacian(v, f)
    assert np.allclose(heat_diffuse(lap, mass, np.full(len(v), 0.7), 0.004), 0.7)
    field = (v[:, 0] > 0.05).astype(float)
    speckled = field.copy()
    speckled[np.random.default_rng(0).choice(len(v), 40, replace=False)] = 1 - field[:40]
    out = heat_diffuse(lap, mass, speckled, 0.004)
    assert np.isclose((out * mass).sum(), (speckled * mass).sum())
    assert ((out >= 0.5) != field).sum() < ((speckled >= 0.5) != field).sum() / 4
    assert np.array_equal(heat_diffuse(lap, mass, speckled, 0.0), speckled)


def test_reach_does_not_depend_on_the_tessellation():
    profiles = []
    for n in (21, 61):
        v, f, mass = grid(n)
        bump = np.exp(-((v[:, :2] - 0.05) ** 2).sum(1) / (2 * 0.006 ** 2))  # resolved on both grids
        out = heat_diffuse(cotangent_laplacian(v, f), mass, bump, 0.006)
        row = np.abs(v[:, 1] - 0.05) < 1e-9
        profiles.append(np.interp(np.linspace(0.03, 0.07, 9), v[row, 0], out[row]))
    assert profiles[0].max() < 0.7  # it did spread
    assert np.abs(profiles[0] - profiles[1]).max() < 0.03


def test_a_gap_without_confidence_takes_its_surroundings_value():
    """A 30 mm patch with value 0 inside a field of 1s (a fold no view sees, read as non-skin): at confidence 0.01 it
    is filled from its rim, however far that is beyond the 4 mm length; at confidence 1 it stays 0 inside."""
    v, f, mass = grid(61)
    lap = cotangent_laplacian(v, f)
    gap = ((v[:, :2] - 0.05) ** 2).sum(1) < 0.015 ** 2
    values = np.where(gap, 0.0, 1.0)
    centre = np.argmin(((v[:, :2] - 0.05) ** 2).sum(1))
    assert heat_diffuse(lap, mass, values, 0.004)[centre] < 0.1
    filled = heat_diffuse(lap, mass, values, 0.004, np.where(gap, 0.01, 1.0))
    assert filled[gap].min() > 0.5 and np.allclose(filled[~gap & (np.abs(v[:, 0] - 0.05) > 0.03)], 1, atol=0.02)
