"""Face Edit in Blender: controller sliders as shape keys, Bake (key / object), Reset, errors, `face edit` CLI."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from face_addon.core.capabilities import capability  # noqa: E402

pytestmark = pytest.mark.skipif(not capability("edit").ready(), reason="neo3df.pt / FaceKit not available")


def _key_co(obj, name: str) -> np.ndarray:
    key = obj.data.shape_keys.key_blocks[name]
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    key.data.foreach_get("co", co)
    return co.reshape(-1, 3)


def test_sliders_drive_shape_keys_and_bake(scene):
    assert bpy.ops.face.add_face_model(randomize=True, seed=3) == {"FINISHED"}
    head = bpy.context.active_object
    assert bpy.ops.face.edit_face() == {"FINISHED"}
    ctl = {c.name: c for c in head.face_edit.controllers}
    assert {"nose_height", "eye_width", "jaw_width"} <= set(ctl)
    nose = ctl["nose_height"]
    assert nose.label == "Nose Height" and nose.segment == "nose"
    keys = head.data.shape_keys.key_blocks
    assert keys["Nose Height"].slider_min == -3.0 and keys["Nose Height"].slider_max == 3.0
    nose.value = 2.0
    assert keys["Nose Height"].value == pytest.approx(2.0)  # the slider only sets a key value: instant
    assert np.abs(_key_co(head, "Nose Height") - _key_co(head, "Basis")).max() > 1e-5

    assert bpy.ops.face.bake_face_edit() == {"FINISHED"}
    assert "Face Edit" in keys and keys["Face Edit"].value == pytest.approx(1.0)
    assert nose.value == 0.0 and keys["Nose Height"].value == 0.0
    baked = _key_co(head, "Face Edit") - _key_co(head, "Basis")
    linear = 2.0 * (_key_co(head, "Nose Height") - _key_co(head, "Basis"))
    assert np.linalg.norm(baked - linear, axis=1).max() < 0.5 * np.linalg.norm(linear, axis=1).max()

    ctl["eye_width"].value = -1.5
    head.face_edit.bake_target = "OBJECT"
    n_objects = len(bpy.data.objects)
    assert bpy.ops.face.bake_face_edit() == {"FINISHED"}
    assert len(bpy.data.objects) == n_objects + 1
    new = bpy.data.objects[f"{head.name} Edited"]
    assert new.data.shape_keys is None and len(new.data.vertices) == len(head.data.vertices)

    ctl["jaw_width"].value = 1.0
    assert bpy.ops.face.reset_face_edit() == {"FINISHED"}
    assert all(c.value == 0.0 for c in head.face_edit.controllers)


def test_face_edit_refuses_other_meshes(scene):
    bpy.ops.mesh.primitive_cube_add()
    with pytest.raises(RuntimeError, match="4350-vertex FaceKit topology"):  # an ERROR report, no traceback
        bpy.ops.face.edit_face()
    assert not len(bpy.context.active_object.face_edit.controllers)


def test_cli_edit_round_trip(tmp_path, capsys):
    from face_addon.cli.main import main
    from face_addon.core.facekit import load_facekit
    from face_addon.core.mesh import Mesh
    from face_addon.core.mesh_files import load_mesh, save_mesh

    fk = load_facekit()
    src, dst = tmp_path / "in.obj", tmp_path / "out.obj"
    save_mesh(Mesh(fk.template, fk.faces), src)
    assert main(["edit", str(src), "--set", "nose_height=1.5", "--set", "lower_lip_thickness=-1", "--out", str(dst)]) == 0
    out = load_mesh(dst)
    moved = np.linalg.norm(out.vertices - fk.template, axis=1)
    assert moved.max() > 1e-4 and np.array_equal(out.faces, fk.faces)
    assert main(["edit", str(src), "--set", "nose_lenght=1", "--out", str(dst)]) == 2  # usage error, before the work
    assert "unknown controller; did you mean nose_" in capsys.readouterr().err
    assert main(["edit", str(src), "--set", "nose_height", "--out", str(dst)]) == 2  # usage error
    assert main(["edit", "--list"]) == 0
