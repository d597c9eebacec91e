"""One colour convention (core/color.py): the exact sRGB curve both ways, and a PLY's colour bytes reaching
the skin network exactly as the training data stored them (bytes / 255)."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from face_addon.core.color import as_linear, linear_to_srgb, linear_to_srgb_bytes, srgb_to_linear
from face_addon.core.dataset import read_ply, write_ply
from face_addon.core.mesh_files import load_mesh, save_mesh
from face_addon.core.pipelines import segment_skin as ss

ALL_BYTES = np.arange(256, dtype=np.uint8)


def test_curve_known_values_and_exact_round_trip():
    np.testing.assert_allclose(srgb_to_linear(np.array([0, 10, 128, 255], np.uint8)),
                               [0.0, 10 / 255 / 12.92, 0.2158605, 1.0], atol=1e-6)
    np.testing.assert_allclose(linear_to_srgb(np.array([0.0031308, 0.2158605, 1.0])),
                               [0.0031308 * 12.92, 128 / 255, 1.0], atol=1e-6)
    back = linear_to_srgb(srgb_to_linear(ALL_BYTES)) * 255
    assert np.abs(back - ALL_BYTES).max() < 1e-3            # every byte comes back, the dark ones included
    np.testing.assert_array_equal(linear_to_srgb_bytes(srgb_to_linear(ALL_BYTES)), ALL_BYTES)
    np.testing.assert_allclose(srgb_to_linear(ALL_BYTES / 255.0), srgb_to_linear(ALL_BYTES), atol=1e-7)


def test_as_linear_takes_bytes_or_linear_floats():
    rgba = np.array([[10, 128, 255, 7]], np.uint8)
    np.testing.assert_allclose(as_linear(rgba), srgb_to_linear(rgba[:, :3]))
    lin = np.array([[0.2, 1.5, -0.1]], np.float64)
    np.testing.assert_allclose(as_linear(lin), [[0.2, 1.0, 0.0]])
    assert as_linear(None) is None


@pytest.fixture()
def ply_scan(tmp_path):
    """A dataset-format PLY (the synthetic training scans' writer) whose colours span every byte value."""
    m = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    v = np.asarray(m.vertices)
    rng = np.random.default_rng(0)
    colors = rng.integers(0, 256, (len(v), 3)).astype(np.uint8)
    colors[:256, 0] = ALL_BYTES
    path = tmp_path / "scan.ply"
    write_ply(path, v, np.asarray(m.faces), colors)
    return path


def test_ply_bytes_reach_the_network_as_in_training(ply_scan, monkeypatch):
    vertices, _, stored = read_ply(ply_scan)
    training = ss.normalize_colors(stored, len(vertices))   # train/skin.py's path: bytes / 255
    mesh = load_mesh(ply_scan)                                                         # the `face segment` path
    assert mesh.colors.dtype == np.float32                                             # Mesh.colors: linear floats
    seen = {}

    def capture(vertices_m, faces, colors01, *args, **kwargs):
        seen["colors"] = colors01
        raise RuntimeError("captured")

    monkeypatch.setattr(ss, "prepare_shape", capture)
    net_meta = (None, {"features": ["sigma30", "hks", "color"], "name": "probe"})
    with pytest.raises(RuntimeError, match="captured"):
        ss.segment_skin(mesh.vertices, mesh.faces, mesh.colors, model=net_meta)
    np.testing.assert_allclose(seen["colors"], training, atol=1e-6)
    # byte 10 used to arrive as 2.7 through an approximate gamma
    assert abs(seen["colors"][10, 0] * 255 - 10) < 1e-3


def test_save_then_load_keeps_the_bytes(ply_scan, tmp_path):
    mesh = load_mesh(ply_scan)
    save_mesh(mesh, tmp_path / "again.ply")
    np.testing.assert_array_equal(linear_to_srgb_bytes(load_mesh(tmp_path / "again.ply").colors),
                                  read_ply(ply_scan)[2])
