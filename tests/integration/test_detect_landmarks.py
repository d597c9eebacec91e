"""Detect Landmarks in Blender: empties, replacement, units, point clouds, n-gons + loose parts, exports, CLI."""
from __future__ import annotations

import functools

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from face_addon.core import ibug68  # noqa: E402
from face_addon.core.capabilities import capability  # noqa: E402

pytestmark = pytest.mark.skipif(not (capability("landmarks").ready() and capability("synth").ready()),
                                reason="landmarks.pt / FaceKit (for the synthetic test scan) not available")


def _tolerance_m() -> float:
    """Median error allowed on the synthetic scan: 10 mm, or twice the shipped model's benchmark mean error
    when that is worse (the model card's number), so a broken frame/unit path fails whatever the weights."""
    import json

    from face_addon.core.capabilities import MODELS_DIR

    card = json.loads((MODELS_DIR / "landmarks.json").read_text())
    bench = (card.get("metrics", {}).get("mean_mm") or {}).get("2S-SGCN") or 5.0
    return max(0.010, 2.0 * bench / 1000.0)


@functools.lru_cache(maxsize=1)
def _scan_arrays():
    """A small synthetic scan (hair, clothes, holes, noise; test seed) with its true landmarks, made once."""
    from face_addon.synth.demo_scan import add_synthetic_scan

    obj = add_synthetic_scan(seed=1_000_000, target_vertices=20_000)
    me = obj.data
    v = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", v)
    f = np.empty(len(me.polygons) * 3, np.int32)
    me.polygons.foreach_get("vertices", f)
    truth = np.reshape(obj["face_addon_synth_landmarks"], (68, 3)).astype(np.float64)
    bpy.data.objects.remove(obj)
    return v.reshape(-1, 3).astype(np.float64), f.reshape(-1, 3), truth


def _head_arrays():
    """The scan as the tests use it, untextured. Most tests ask for the 2S-SGCN fallback (`fallback_sgcn`) so
    that they test what they name whatever the face search does; the millimetre test asks for the face."""
    return _scan_arrays()


def _object(name, verts, faces=(), extra_polys=()):
    me = bpy.data.meshes.new(name)
    me.from_pydata([tuple(v) for v in verts], [], [tuple(f) for f in faces] + list(extra_polys))
    me.update()
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj


def _empties(obj):
    coll = bpy.data.collections[f"{obj.name} Landmarks"]
    return coll, sorted((o for o in coll.objects if o.get("face_addon")), key=lambda o: o["landmark_index"])


def test_detect_writes_68_named_parented_empties_and_replaces_them(scene):
    v, f, truth = _head_arrays()
    obj = _object("Head", v, f)
    assert bpy.ops.face.detect_landmarks(fallback_sgcn=True) == {"FINISHED"}
    coll, empties = _empties(obj)
    assert [e.name for e in empties] == ibug68.empty_names()
    assert [e["landmark_index"] for e in empties] == list(range(68))
    assert all(e.parent == obj and 0.0 <= e["confidence"] <= 1.0 for e in empties)
    assert 0.0005 < empties[0].empty_display_size < 0.01  # sized to the head
    pred = np.array([e.matrix_world.translation for e in empties])
    err = np.linalg.norm(pred - truth, axis=1)
    assert np.median(err) < _tolerance_m(), f"median error {np.median(err) * 1000:.1f} mm on a synthetic scan"
    from scipy.spatial import cKDTree

    on_mesh = [e["vertex_index"] for e in empties if e["vertex_index"] >= 0]
    located = np.array([e.location for e in empties if e["vertex_index"] >= 0])
    nearest = cKDTree(v).query(located)[0]  # the face is found here: views' points lie on the surface, and
    assert len(on_mesh) > 60 and np.allclose(np.linalg.norm(located - v[on_mesh], axis=1), nearest, atol=1e-6)
    assert nearest.max() < 0.01  # vertex_index names the nearest vertex
    mine = bpy.data.objects.new("my note", None)
    coll.objects.link(mine)
    assert bpy.ops.face.detect_landmarks(fallback_sgcn=True) == {"FINISHED"}
    coll, again = _empties(obj)
    assert len(again) == 68 and "my note" in coll.objects  # ours replaced, the user's object kept


def test_mm_scale_point_cloud_ngons_and_loose_parts(scene):
    v, f, truth = _head_arrays()
    mm = _object("HeadMM", v * 1000, f)
    assert bpy.ops.face.detect_landmarks() == {"FINISHED"}  # the face is found: no fallback (session 10: before,
    assert "units mm" in mm["face_addon_landmarks_orientation"]  # the 20k demo scan's voxels hid it in any unit)
    assert "(views)" in mm["face_addon_landmarks"]
    pred_mm = np.array([e.matrix_world.translation for e in _empties(mm)[1]])
    assert np.median(np.linalg.norm(pred_mm / 1000 - truth, axis=1)) < _tolerance_m()

    cloud = _object("Cloud", v)
    assert bpy.ops.face.detect_landmarks(fallback_sgcn=True) == {"FINISHED"}
    pred = np.array([e.matrix_world.translation for e in _empties(cloud)[1]])
    # a point cloud is drawn as splats (point_splats), but this 20k cloud (vertices the decimation left where the
    # detail is, long hair over the face) shows no face the search finds, so the asked-for fallback answers:
    # 2S-SGCN in guessed frames, 13.9 mm (bpy 5.0.1) / 16.2 mm (bpy 5.3.0) median, as before session 13; a wrong
    # frame or unit puts the points 50+ mm off
    assert np.isfinite(pred).all() and np.median(np.linalg.norm(pred - truth, axis=1)) < 2 * _tolerance_m()

    n = len(v)  # a loose hexagon (an n-gon) behind the head
    hexagon = [tuple(n + i for i in range(6))]
    ring = [(0.05 * np.cos(a), 0.2, 0.05 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)]
    mixed = _object("Mixed", np.concatenate([v, ring]), f, hexagon)
    assert bpy.ops.face.detect_landmarks(fallback_sgcn=True) == {"FINISHED"}
    assert len(_empties(mixed)[1]) == 68


def test_no_face_is_an_error_unless_the_fallback_is_asked_for_and_non_mesh_is_refused(scene):
    bpy.ops.mesh.primitive_cube_add(size=0.2)
    tiny = bpy.context.active_object
    with pytest.raises(RuntimeError, match="too few"):
        bpy.ops.face.detect_landmarks()
    assert "Landmarks" not in " ".join(c.name for c in bpy.data.collections)
    bpy.data.objects.remove(tiny)
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=5, radius=0.1)
    ball = bpy.context.active_object
    with pytest.raises(RuntimeError, match="no face found on the mesh"):  # no view shows a face: an error ...
        bpy.ops.face.detect_landmarks()
    assert "Landmarks" not in " ".join(c.name for c in bpy.data.collections)
    assert bpy.ops.face.detect_landmarks(fallback_sgcn=True) == {"FINISHED"}  # ... unless 2S-SGCN is asked for
    assert "does not look like a face" in ball["face_addon_landmarks_warnings"]
    assert "sgcn landmarks.pt" in ball["face_addon_landmarks"]  # the summary names the weights that ran
    bpy.ops.object.camera_add()
    with pytest.raises(RuntimeError, match="not a mesh"):
        bpy.ops.face.detect_landmarks()


def test_export_json_csv_pp_and_cli(scene, tmp_path):
    from face_addon.cli.main import main
    from face_addon.core.landmark_export import read_landmarks
    from face_addon.core.mesh import Mesh
    from face_addon.core.mesh_files import save_mesh

    v, f, truth = _head_arrays()
    obj = _object("Head", v, f)
    with pytest.raises(RuntimeError, match="Detect Landmarks first"):
        bpy.ops.face.export_landmarks(filepath=str(tmp_path / "none.json"))
    assert bpy.ops.face.detect_landmarks(fallback_sgcn=True) == {"FINISHED"}
    obj.location = (1.0, 0.0, 0.0)
    bpy.context.view_layer.update()
    world = np.array([e.matrix_world.translation for e in _empties(obj)[1]])
    for ext in ("json", "csv", "pp"):
        path = tmp_path / f"lm.{ext}"
        assert bpy.ops.face.export_landmarks(filepath=str(path), file_format=ext) == {"FINISHED"}
        assert np.allclose(read_landmarks(path)[0], world, atol=1e-6)

    save_mesh(Mesh(v, f), tmp_path / "head.obj")
    assert main(["landmarks", str(tmp_path / "head.obj"), "--out", str(tmp_path / "cli.json"), "--fallback-sgcn"]) == 0
    pts, conf = read_landmarks(tmp_path / "cli.json")
    assert np.median(np.linalg.norm(pts - truth, axis=1)) < _tolerance_m() and np.isfinite(conf).all()
    assert main(["landmarks", str(tmp_path / "missing.obj"), "--out", str(tmp_path / "x.json")]) == 1
