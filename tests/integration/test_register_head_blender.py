"""Register Head in Blender: a new FaceKit object over a moved/rotated scan with a Skin group, the scan untouched,
re-run replaces, a clear error without Segment Skin; and the `face register` CLI round trip."""
from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_helpers import evaluated_vertices, group_weights, make_object  # noqa: E402


@pytest.fixture(scope="module")
def fk():
    from face_addon.core.facekit import ensure_facekit, load_facekit

    return load_facekit(ensure_facekit())


@pytest.fixture(scope="module")
def head_scan(fk):
    """(vertices, faces, skin, landmarks, true head): a subdivided random FaceKit head, scalp not skin."""
    rng = np.random.default_rng(5)
    sub = fk.subdivided()
    a_id, a_exp = fk.sample_prior(rng, 1)
    verts = sub.evaluate(a_id[0], a_exp[0]) + rng.normal(0, 0.0002, (sub.n_vertices, 3))
    skin = ~((sub.template[:, 2] > 0.07) | ((sub.template[:, 1] > 0.0) & (sub.template[:, 2] > 0.0)))
    landmarks = fk.landmarks(verts) + rng.normal(0, 0.002, (68, 3))
    return verts, sub.faces, skin, landmarks, fk.evaluate(a_id[0], a_exp[0])


def _scan_object(head_scan):
    """The scan as an object whose transform is not the identity (moved, turned, scaled ×1.05)."""
    from mathutils import Euler, Matrix, Vector

    from face_addon.blender.writers import write_empties, write_vertex_group
    from face_addon.core import ibug68

    verts, faces, skin, landmarks, _ = head_scan
    obj = make_object("Scan", verts, faces)
    obj.matrix_world = Matrix.LocRotScale(Vector((0.3, -0.1, 1.2)), Euler((0.1, -0.2, 0.3)), Vector((1.05,) * 3))
    write_vertex_group(obj, "Skin", np.where(skin, 0.9, 0.0))
    write_empties(obj, "Scan Landmarks", ibug68.empty_names(), landmarks, size=0.002)  # as Detect Landmarks does
    bpy.context.view_layer.update()
    return obj


def test_operator_creates_a_registered_facekit_head(scene, fk, head_scan):
    from face_addon.core.pipelines.register_head import ITERATIONS
    from face_addon.core.registration.metric import d_surface_mm

    assert bpy.ops.face.register_head.get_rna_type().properties["iterations"].default == ITERATIONS
    scan = _scan_object(head_scan)
    before = np.array([v.co for v in scan.data.vertices])
    groups = [g.name for g in scan.vertex_groups]
    assert bpy.ops.face.register_head() == {"FINISHED"}
    head = bpy.data.objects["Scan Registered Head"]
    assert bpy.context.active_object == head and head.face_kit.is_facekit
    info = head["face_addon_registration"]
    assert info["scan"] == "Scan" and info["landmarks"] == "landmarks from 'Scan Landmarks'"
    assert info["residual_mm"] < 1.0
    world = np.array(scan.matrix_world)
    model = (evaluated_vertices(head, world=True) - world[:3, 3]) @ np.linalg.inv(world[:3, :3]).T  # scan space
    assert d_surface_mm(model, head_scan[4], fk.faces, fk.spa) < 0.6
    np.testing.assert_array_equal(np.array([v.co for v in scan.data.vertices]), before)  # the scan is untouched
    assert [g.name for g in scan.vertex_groups] == groups
    np.testing.assert_array_equal(group_weights(scan, "Skin") > 0, head_scan[2])

    n_objects = len(bpy.data.objects)
    scan.select_set(True)
    bpy.context.view_layer.objects.active = scan
    assert bpy.ops.face.register_head(nonrigid=True) == {"FINISHED"}
    assert len(bpy.data.objects) == n_objects  # replaced (with its eyes, teeth ...), not added
    head = bpy.data.objects["Scan Registered Head"]
    assert head.data.shape_keys.key_blocks["Registration Detail"].value == 1.0
    model = (evaluated_vertices(head, world=True) - world[:3, 3]) @ np.linalg.inv(world[:3, :3]).T
    assert d_surface_mm(model, head_scan[4], fk.faces, fk.spa) < 0.6

    for empty in list(bpy.data.collections["Scan Landmarks"].objects):  # no landmarks: the model finds them
        bpy.data.objects.remove(empty)
    bpy.context.view_layer.objects.active = scan
    assert bpy.ops.face.register_head(extras=False) == {"FINISHED"}
    head = bpy.data.objects["Scan Registered Head"]
    assert head["face_addon_registration"]["landmarks"] == "no landmark empties: the landmark model ran"
    assert not head.children and len(bpy.data.objects) == n_objects - 4 - 68


def test_without_skin_group_asks_for_segment_skin(scene, head_scan):
    verts, faces = head_scan[:2]
    make_object("Bare", verts, faces)
    with pytest.raises(RuntimeError, match="run Segment Skin first"):
        bpy.ops.face.register_head()
    assert "Bare Registered Head" not in bpy.data.objects


def test_cli_round_trip(tmp_path, fk, head_scan, capsys):
    from face_addon.cli.main import main
    from face_addon.core.dataset import read_ply, write_ply
    from face_addon.core.landmark_export import write_landmarks
    from face_addon.core.registration.metric import d_surface_mm
    from face_addon.core.skin_export import write_skin_ply

    verts, faces, skin, landmarks, true_head = head_scan
    write_ply(tmp_path / "scan.ply", verts * 1000, faces)  # millimetres
    np.save(tmp_path / "skin.npy", skin)
    write_landmarks(tmp_path / "lm.json", landmarks * 1000, units="input")
    args = ["register", str(tmp_path / "scan.ply"), "--out", str(tmp_path / "head.ply"), "--skin",
            str(tmp_path / "skin.npy"), "--landmarks", str(tmp_path / "lm.json"), "--json", str(tmp_path / "r.json")]
    assert main(args) == 0
    out, out_faces, _ = read_ply(tmp_path / "head.ply")
    assert out.shape == (fk.n_vertices, 3) and np.array_equal(out_faces, fk.faces)
    assert d_surface_mm(out / 1000, true_head, fk.faces, fk.spa) < 0.6
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["unit_scale_to_m"] == 0.001 and summary["scale"] == pytest.approx(1000, rel=0.05)
    # this head's strong expression (jaw open) hides its face from the frame search: the size decides here;
    # the face-frame unit itself is tested in tests/unit/test_register_head.py
    assert summary["input_unit"] == "mm" and summary["unit_source"] in ("face frame", "bounding box")
    assert f"(units mm, from the {summary['unit_source']})" in capsys.readouterr().out
    assert list(summary["alpha_id"]) == fk.id_names and summary["residual_mm"] < 1.0

    write_skin_ply(tmp_path / "seg.ply", verts * 1000, faces, np.where(skin, 0.8, 0.2))  # `face segment`'s output
    assert main([*args[:4], "--skin", str(tmp_path / "seg.ply"), "--landmarks", str(tmp_path / "lm.json")]) == 0
    np.testing.assert_allclose(read_ply(tmp_path / "head.ply")[0], out, atol=1e-3)
    np.save(tmp_path / "short.npy", skin[:-1])
    assert main([*args[:4], "--skin", str(tmp_path / "short.npy")]) == 1
    assert main(args[:4]) == 2  # neither --skin nor --segment: argparse's usage error
