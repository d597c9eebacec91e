"""Mesh file reading/writing and its errors on bad files (no bpy)."""
import numpy as np
import pytest

from face_addon.core.mesh import Mesh, MeshError
from face_addon.core.mesh_files import load_mesh, save_mesh

V = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], float)
F = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])


@pytest.mark.parametrize("suffix", [".ply", ".obj"])
def test_round_trip_keeps_vertex_order(tmp_path, suffix):
    colors = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5]], np.float32)
    path = tmp_path / f"m{suffix}"
    save_mesh(Mesh(V, F, colors=colors), path)
    back = load_mesh(path)
    np.testing.assert_allclose(back.vertices, V, atol=1e-6)
    np.testing.assert_array_equal(back.faces, F)
    if suffix == ".ply":
        np.testing.assert_allclose(back.colors, colors, atol=0.02)


def test_missing_file(tmp_path):
    with pytest.raises(MeshError, match="no such file"):
        load_mesh(tmp_path / "nope.ply")
    with pytest.raises(MeshError, match="a folder, not a file"):  # it exists: "no such file" misled
        load_mesh(tmp_path)


def test_unsupported_suffix(tmp_path):
    p = tmp_path / "scan.xyz123"
    p.write_text("1 2 3")
    with pytest.raises(MeshError, match="unsupported"):
        load_mesh(p)


@pytest.mark.parametrize("content", [b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n", b"\x00\xff" * 50, b""])
def test_corrupt_or_empty_files(tmp_path, content):
    p = tmp_path / "bad.ply"
    p.write_bytes(content)
    with pytest.raises(MeshError):
        load_mesh(p)
