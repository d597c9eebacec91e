"""Segment Skin in Blender: vertex groups + colour attribute, re-run replaces only ours, split leaves the scan
untouched, colours are read from the scan (never from our visualisation), CLI round trip. Tiny random models
(weights override), so the test does not depend on the shipped weights."""
from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_helpers import colored_sphere, group_weights  # noqa: E402


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    import torch

    from face_addon.train.skin import Settings, export, make_network

    out = {}
    d = tmp_path_factory.mktemp("skin_models")
    for key, features in (("color", ("sigma30", "hks", "color")), ("geom", ("sigma30", "hks"))):
        torch.manual_seed(1)
        s = Settings(features=features, width=8, n_blocks=1, k_eig=24)
        net, arch = make_network(s)
        n = arch["in_channels"]
        stats = {"mean": ([-4.0] + [0.0] * 16 + [0.5] * 3)[:n], "std": [1.0] * n}
        out[key] = export(net, arch, s, stats, {"steps": 0}, d / f"tiny_{key}.pt")
    return out


def _sphere_with_colors(name: str = "Scan"):
    """The coloured test sphere with a user vertex group 'Mine' that re-runs must keep."""
    obj = colored_sphere(name)
    obj.vertex_groups.new(name="Mine")
    return obj


def test_groups_attribute_rerun_and_split(scene, model_files):
    from face_addon.core.pipelines.segment_skin import MAX_VERTICES

    assert bpy.ops.face.segment_skin.get_rna_type().properties["max_vertices"].default == MAX_VERTICES
    obj = _sphere_with_colors()
    n = len(obj.data.vertices)
    assert bpy.ops.face.segment_skin(weights=str(model_files["color"])) == {"FINISHED"}
    skin, non = group_weights(obj, "Skin"), group_weights(obj, "Non-Skin")
    assert ((skin > 0) ^ (non > 0)).all()  # every vertex in exactly one group
    assert np.all(skin[skin > 0] >= 0.5 - 1e-3) and np.all(non[non > 0] >= 0.5 - 1e-3)
    prob = np.where(skin > 0, skin, 1 - non)
    assert obj.data.color_attributes.active_color.name == "Skin Probability"
    groups, attrs = len(obj.vertex_groups), len(obj.data.color_attributes)

    assert bpy.ops.face.segment_skin(weights=str(model_files["color"]), split=True) == {"FINISHED"}
    assert len(obj.vertex_groups) == groups and len(obj.data.color_attributes) == attrs
    assert "Mine" in obj.vertex_groups and "Col" in obj.data.color_attributes
    again = np.where(group_weights(obj, "Skin") > 0, group_weights(obj, "Skin"), 1 - group_weights(obj, "Non-Skin"))
    np.testing.assert_allclose(again, prob, atol=2e-3)  # colours came from 'Col', not from ours
    split = bpy.data.objects["Scan Skin"]
    assert len(obj.data.vertices) == n  # the scan is untouched
    assert 0 < len(split.data.vertices) <= (prob >= 0.5).sum() and "Col" in split.data.color_attributes
    assert bpy.ops.face.segment_skin(weights=str(model_files["color"]), split=True) == {"FINISHED"}
    assert sum(o.name.startswith("Scan Skin") for o in bpy.data.objects) == 1  # replaced, not duplicated


def test_no_colors_uses_geometry_model_and_non_mesh_is_refused(scene, model_files):
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=4, radius=100.0)  # millimetres
    obj = bpy.context.active_object
    assert bpy.ops.face.segment_skin(weights=str(model_files["geom"])) == {"FINISHED"}
    assert "millimetres" in obj["face_addon_skin_warnings"]
    with pytest.raises(RuntimeError, match="needs vertex colours"):
        bpy.ops.face.segment_skin(weights=str(model_files["color"]))
    bpy.ops.object.empty_add()
    with pytest.raises(RuntimeError, match="not a mesh"):
        bpy.ops.face.segment_skin()


def test_too_few_vertices_fail_before_the_face_search_and_renders(scene, monkeypatch):
    import face_addon.core.pipelines.upright_scan as upright

    def no_search(*args, **kwargs):
        raise AssertionError("the face search ran on a mesh too small to segment")

    monkeypatch.setattr(upright, "face_upright_frame", no_search)
    bpy.ops.mesh.primitive_cube_add(size=0.1)  # 8 vertices
    with pytest.raises(RuntimeError, match="too few"):
        bpy.ops.face.segment_skin()


def test_cli_round_trip(tmp_path, model_files):
    import trimesh

    from face_addon.cli.main import main

    mesh = trimesh.creation.icosphere(4, radius=0.1)
    colors = np.where(mesh.vertices[:, 2:] > 0, [200, 60, 60, 255], [90, 90, 90, 255]).astype(np.uint8)
    trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colors, process=False).export(tmp_path / "scan.ply")
    args = ["segment", str(tmp_path / "scan.ply"), "--out", str(tmp_path / "out.ply"), "--json",
            str(tmp_path / "out.json"), "--weights", str(model_files["color"])]
    assert main(args) == 0
    out = trimesh.load(tmp_path / "out.ply", process=False)
    quality = np.asarray(out.metadata["_ply_raw"]["vertex"]["data"]["quality"])
    assert len(out.vertices) == len(mesh.vertices) and len(out.faces) == len(mesh.faces)
    assert ((quality >= 0) & (quality <= 1)).all()
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["model"] == "tiny_color" and summary["n_vertices"] == len(mesh.vertices)
    assert abs(summary["skin_fraction"] - (quality >= 0.5).mean()) < 1e-6
    assert main(["segment", str(tmp_path / "missing.obj"), "--out", str(tmp_path / "x.ply")]) == 1
    assert main(["segment", str(tmp_path / "scan.ply"), "--out", str(tmp_path / "x.json")]) == 2  # usage error


def test_network_vertices_default_is_the_pipelines(scene):
    """The operator's Network Vertices default is the pipeline's MAX_VERTICES (one number, not a second literal)."""
    from face_addon.core.pipelines.segment_skin import MAX_VERTICES

    assert bpy.ops.face.segment_skin.get_rna_type().properties["max_vertices"].default == MAX_VERTICES
