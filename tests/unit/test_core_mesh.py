"""The Mesh value type, its validation and the mesh health report (no bpy)."""
import numpy as np
import pytest

from face_addon.core.geometry.mesh_report import inspect_mesh
from face_addon.core.mesh import Mesh, MeshError, guess_unit_scale

TET_V = np.array([[0, 0, 0], [0.2, 0, 0], [0, 0.2, 0], [0, 0, 0.2]], float)
TET_F = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])


@pytest.mark.parametrize(
    "verts, faces, match",
    [
        (np.zeros((0, 3)), np.zeros((0, 3)), "no vertices"),
        (np.array([[0, 0, 0], [np.nan, 0, 0], [1, 0, 0]]), [[0, 1, 2]], "NaN"),
        (np.array([[0, 0, 0], [np.inf, 0, 0], [1, 0, 0]]), [[0, 1, 2]], "NaN or infinite"),
        (TET_V, [[0, 1, 7]], "outside"),
        (np.ones((4, 3)), TET_F, "single point"),
        (TET_V, np.zeros((0, 3)), "point cloud"),
    ],
)
def test_validate_rejects_bad_input(verts, faces, match):
    with pytest.raises(MeshError, match=match):
        Mesh(verts, faces, name="bad").validate()


def test_validate_accepts_point_cloud_when_allowed():
    Mesh(TET_V).validate(allow_point_cloud=True)


def test_colors_shape_checked():
    with pytest.raises(MeshError, match="colors"):
        Mesh(TET_V, TET_F, colors=np.zeros((3, 3), np.float32)).validate()


@pytest.mark.parametrize("scale, expected", [(1.0, 1.0), (1000.0, 0.001), (100.0, 0.01), (10.0, 0.1)])
def test_unit_guess(scale, expected):
    assert guess_unit_scale(Mesh(TET_V * 1.2 * scale, TET_F)) == expected


def test_report_closed_tetrahedron():
    r = inspect_mesh(Mesh(TET_V, TET_F))
    assert (r.n_components, r.boundary_edges, r.non_manifold_edges, r.degenerate_faces) == (1, 0, 0, 0)
    assert r.unit_name == "metres"


def test_report_finds_problems():
    # two loose parts, one of them an open triangle, a fin making a non-manifold edge, a zero-area face,
    # an unreferenced vertex, millimetre scale
    v = np.concatenate([TET_V, TET_V + [1, 0, 0], [[0.1, 0.1, -0.2], [5, 5, 5]]]) * 1000
    f = np.concatenate([TET_F, [[4, 5, 6]], [[0, 1, 8]], [[0, 0, 1]]])
    r = inspect_mesh(Mesh(v, f))
    assert r.n_components == 2
    assert r.non_manifold_edges == 1
    assert r.boundary_edges >= 3
    assert r.degenerate_faces == 1
    assert r.unreferenced_vertices == 2
    text = "\n".join(r.lines())
    assert "loose parts" in text and "millimetres" in text
