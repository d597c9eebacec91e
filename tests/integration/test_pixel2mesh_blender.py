"""Reconstruct from Photo with the Pixel2Mesh method in Blender and on the CLI: a new mesh object that the
new camera sees where K·(R·x + t) puts it, on the detected face; the no-face fallback warns."""
from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_helpers import skimage_photo  # noqa: E402
from face_addon.core.capabilities import capability  # noqa: E402

pytestmark = pytest.mark.skipif(not capability("pixel2mesh").ready(),
                                reason=f"pixel2mesh: {capability('pixel2mesh').status()}")


def test_operator_creates_a_mesh_the_camera_sees_on_the_face(scene, capfd):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from face_addon.core.photo.face_detect import detect_faces
    from face_addon.core.photo.image_io import load_photo

    photo = skimage_photo("astronaut.png")
    before = set(bpy.data.objects)
    assert bpy.ops.face.reconstruct_photo(filepath=str(photo), method="PIXEL2MESH", project_texture=True) == {"FINISHED"}
    obj = bpy.data.objects["Face astronaut Pixel2Mesh"]
    cam = bpy.data.objects["Face astronaut Pixel2Mesh Camera"]
    assert {obj, cam} <= set(bpy.data.objects) - before and bpy.context.scene.camera == cam
    assert len(obj.data.vertices) == 8569 and obj.data.shape_keys is None
    props = obj["face_addon_photo"]
    assert props["method"] == "pixel2mesh" and "network" in props["timings_s"]
    assert props["models"].to_dict() == {"pixel2mesh": "pixel2mesh_face.pt"} and props["masks"] == ""
    assert "; weights: pixel2mesh pixel2mesh_face.pt\n" in capfd.readouterr().out  # the info line names the weights
    co = np.array([v.co[:] for v in obj.data.vertices])
    r, t, k = (np.array(props["rotation"]).reshape(3, 3), np.array(props["translation"]),
               np.array(props["K"]).reshape(3, 3))
    cv = co @ r.T + t
    px = (cv @ k.T)[:, :2] / cv[:, 2:3]
    sel = np.arange(0, len(co), 400)
    ndc = np.array([world_to_camera_view(bpy.context.scene, cam, Vector(p))[:] for p in co[sel]])
    got = np.stack([ndc[:, 0] * props["width"] - 0.5, (1.0 - ndc[:, 1]) * props["height"] - 0.5], 1)
    assert np.abs(got - px[sel]).max() < 0.05
    box = detect_faces(load_photo(photo))[0].box
    centre = px.mean(0)
    assert box[0] < centre[0] < box[2] and box[1] < centre[1] < box[3]  # the mesh sits on the face
    assert "PhotoProjection" in obj.data.uv_layers and obj.data.materials[0].node_tree is not None


def test_no_face_falls_back_to_the_average_crop_with_a_warning(scene, capfd):
    n = len(bpy.data.objects)
    assert bpy.ops.face.reconstruct_photo(filepath=str(skimage_photo("chelsea.png")), method="PIXEL2MESH",
                                          add_camera=False) == {"FINISHED"}
    assert len(bpy.data.objects) == n + 1
    obj = bpy.context.view_layer.objects.active
    assert "no face detected" in obj["face_addon_photo"]["warnings"]


def test_cli_pixel2mesh_writes_mesh_and_json(scene, tmp_path, capsys):
    import trimesh

    from face_addon.cli.main import main

    out, js = tmp_path / "p.obj", tmp_path / "p.json"
    assert main(["reconstruct", str(skimage_photo("astronaut.png")), "--method", "pixel2mesh", "--out", str(out),
                 "--json", str(js)]) == 0
    assert len(trimesh.load(out, process=False).vertices) == 8569
    doc = json.loads(js.read_text())
    assert doc["method"] == "pixel2mesh" and "alpha_id" not in doc and set(doc["camera"]) >= {"K", "R", "t"}
    assert doc["models"] == {"pixel2mesh": "pixel2mesh_face.pt"} and "masks" not in doc
    assert "reconstructed with pixel2mesh" in capsys.readouterr().out
