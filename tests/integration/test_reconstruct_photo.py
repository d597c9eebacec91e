"""Reconstruct from Photo in Blender: head + keys, the camera's projection vs. K·(R·x + t), background image,
texture projection, user data untouched, user errors (no face, corrupt file), and the `face reconstruct` CLI.

The fit's quality is not under test here (the core's tests and benchmark do that): when the regressor weights
are missing the tests fit with few iterations, so the file stays well under a minute.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_helpers import skimage_photo  # noqa: E402
from face_addon.core.capabilities import capability  # noqa: E402

pytestmark = pytest.mark.skipif(not capability("photo").ready(), reason=f"photo: {capability('photo').status()}")


def _method() -> str:
    from face_addon.core.pipelines.reconstruct_photo import REGRESSOR_FILE

    return "regressor" if REGRESSOR_FILE.is_file() else "fit"


@pytest.fixture
def quick_fit(monkeypatch):
    """Few fitting iterations (the plumbing is under test, not the fit) and a spy on the pipeline's results."""
    import face_addon.core.pipelines.reconstruct_photo as rp
    from face_addon.core.photo.fit import FitConfig

    short = {k: v for k, v in {"coarse_iters": 20, "mid_iters": 5, "fine_iters": 5}.items()
             if k in FitConfig.__dataclass_fields__}
    monkeypatch.setattr(rp, "FitConfig", functools.partial(FitConfig, **short))
    results = []
    real = rp.reconstruct_photo

    def spy(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(rp, "reconstruct_photo", spy)
    return results


def _user_object():
    me = bpy.data.meshes.new("My Mesh")
    me.from_pydata([(0, 0, 0), (0.1, 0, 0), (0, 0.1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new("My Object", me)
    bpy.context.scene.collection.objects.link(obj)
    obj.location = (0.5, 0.2, 0.1)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    return obj


def _evaluated_vertices(obj) -> np.ndarray:
    """World-space vertices with shape keys applied."""
    deps = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(deps)
    me = ev.to_mesh()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    co = co.reshape(-1, 3).astype(np.float64)
    m = np.array(obj.matrix_world)
    return co @ m[:3, :3].T + m[:3, 3]


def test_operator_head_camera_background_and_user_data(scene, quick_fit, capfd):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from face_addon.blender.facekit_store import facekit

    photo = skimage_photo("astronaut.png")
    user = _user_object()
    user_co = np.array([v.co[:] for v in user.data.vertices])
    before = set(bpy.data.objects)

    from face_addon.blender.operators.reconstruct_photo import menu_import_photo

    assert menu_import_photo in bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize()  # File > Import entry
    assert bpy.ops.face.reconstruct_photo(filepath=str(photo), method=_method().upper()) == {"FINISHED"}
    rec = quick_fit[-1]
    info = capfd.readouterr().out
    assert "Reconstructed face 1 of 1 in" in info and f"masks from {rec.mask_source}" in info
    assert all(f"{role} {name}" in info for role, name in rec.models.items() if name)  # the weights that ran
    head = bpy.data.objects["Face astronaut"]
    cam = bpy.data.objects["Face astronaut Camera"]
    assert head in set(bpy.data.objects) - before and bpy.context.view_layer.objects.active == head
    assert cam.type == "CAMERA" and bpy.context.scene.camera == cam

    fk = facekit()
    keys = head.data.shape_keys.key_blocks
    assert [k.name for k in keys][1:] == fk.exp_names and len(fk.exp_names) == 52
    values = np.array([keys[n].value for n in fk.exp_names])
    assert np.allclose(values, np.clip(rec.alpha_exp, 0.0, 1.0), atol=1e-6)
    assert np.allclose(values, rec.alpha_exp, atol=1e-6)  # the fit stays inside the sliders' range
    world = _evaluated_vertices(head)
    assert np.abs(world - rec.vertices).max() < 1e-4  # identity + keys reproduce the fitted mesh
    assert np.allclose(np.array(head.matrix_world), np.eye(4))

    # the Blender camera sees the landmark vertices where K·(R·x + t) puts them in the photo
    render = bpy.context.scene.render
    assert (render.resolution_x, render.resolution_y) == (rec.width, rec.height) == (512, 512)
    pts = world[fk.landmark_indices]
    cv = pts @ rec.rotation.T + rec.translation
    expected = (cv @ rec.K.T)[:, :2] / cv[:, 2:3]
    ndc = np.array([world_to_camera_view(bpy.context.scene, cam, Vector(p))[:] for p in pts])
    got = np.stack([ndc[:, 0] * rec.width - 0.5, (1.0 - ndc[:, 1]) * rec.height - 0.5], 1)
    assert np.all(ndc[:, 2] > 0)
    diff = np.abs(got - expected).max()
    assert diff < 0.05, f"Blender camera is {diff:.3f} px off K·(R·x+t)"
    # ... and that is on the detected face (loose: the fit here is a short one)
    lo, hi = rec.landmarks[:, :2].min(0), rec.landmarks[:, :2].max(0)
    nose = expected[30]
    assert np.all(nose > lo) and np.all(nose < hi), (nose, lo, hi)

    bg = cam.data.background_images
    assert cam.data.show_background_images and len(bg) == 1
    assert Path(bpy.path.abspath(bg[0].image.filepath)).resolve() == photo.resolve()
    props = head["face_addon_photo"]
    assert props["method"] == _method() and props["n_faces"] == 1 and "fit" in props["timings_s"]
    assert props["models"].to_dict() == {k: v or "" for k, v in rec.models.items()}
    assert props["masks"] == rec.mask_source

    # re-running makes a second head (and camera); texture projection adds the UV map and photo material
    assert bpy.ops.face.reconstruct_photo(filepath=str(photo), method=_method().upper(), project_texture=True,
                                          use_scene_camera=False) == {"FINISHED"}
    head2 = bpy.data.objects["Face astronaut.001"]
    assert bpy.data.objects["Face astronaut.001 Camera"] != bpy.context.scene.camera == cam
    rec2 = quick_fit[-1]
    uv_layer = head2.data.uv_layers["PhotoProjection"]
    loops = np.empty(len(head2.data.loops), np.int32)
    head2.data.loops.foreach_get("vertex_index", loops)
    uv = np.empty(len(loops) * 2, np.float32)
    uv_layer.data.foreach_get("uv", uv)
    per_vertex = np.zeros((len(head2.data.vertices), 2))
    per_vertex[loops] = uv.reshape(-1, 2)
    cv2 = rec2.vertices[fk.landmark_indices] @ rec2.rotation.T + rec2.translation
    px2 = (cv2 @ rec2.K.T)[:, :2] / cv2[:, 2:3]
    want = np.stack([(px2[:, 0] + 0.5) / rec2.width, 1 - (px2[:, 1] + 0.5) / rec2.height], 1)
    assert np.abs(per_vertex[fk.landmark_indices] - want).max() < 1e-4
    mat = head2.data.materials[0]
    assert any(n.type == "TEX_IMAGE" and n.image == bg[0].image for n in mat.node_tree.nodes)
    seen = np.empty(len(head2.data.vertices), np.float32)
    head2.data.attributes["PhotoVisible"].data.foreach_get("value", seen)
    assert seen[fk.landmark_indices[27:31]].all() and 0.2 < seen.mean() < 0.8  # nose bridge seen, back not
    assert head.data.materials[0] != mat and np.abs(_evaluated_vertices(head) - world).max() == 0

    # the user's object and its data were never touched
    assert user.name == "My Object" and tuple(user.location) == pytest.approx((0.5, 0.2, 0.1))
    assert np.array_equal(np.array([v.co[:] for v in user.data.vertices]), user_co)
    assert user.data.shape_keys is None and len(user.data.materials) == 0 and len(user.data.uv_layers) == 0


def test_fit_keeps_its_landmark_correction_under_the_arkit_keys(scene, quick_fit):
    """The fit's detail (`core.photo.detail`) is a 'PhotoDetail' shape key at 1 after the 52 ARKit keys: the
    evaluated head is the reconstruction's mesh, and an ARKit key still moves it as on FaceKit."""
    from face_addon.blender.facekit_store import facekit
    from face_addon.blender.operators.reconstruct_photo import DETAIL_KEY

    assert bpy.ops.face.reconstruct_photo(filepath=str(skimage_photo("astronaut.png")), method="FIT") == {"FINISHED"}
    rec, head, fk = quick_fit[-1], bpy.context.view_layer.objects.active, facekit()
    keys = head.data.shape_keys.key_blocks
    assert rec.detail is not None and [k.name for k in keys][1:] == [*fk.exp_names, DETAIL_KEY]
    assert keys[DETAIL_KEY].value == 1.0 and np.abs(rec.detail).max() > 0
    assert np.abs(_evaluated_vertices(head) - rec.vertices).max() < 1e-4
    jaw = fk.exp_names.index("jawOpen")
    keys["jawOpen"].value = min(1.0, rec.alpha_exp[jaw] + 0.5)
    moved = rec.vertices + (keys["jawOpen"].value - rec.alpha_exp[jaw]) * fk.exp_basis[:, :, jaw]
    assert np.abs(_evaluated_vertices(head) - moved).max() < 1e-4


def test_no_face_corrupt_and_missing_files_cancel(scene, quick_fit, tmp_path):
    cat = skimage_photo("chelsea.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(skimage_photo("astronaut.png").read_bytes()[:3000])
    n_objects, n_images = len(bpy.data.objects), len(bpy.data.images)
    for path, message in ((cat, "no face"), (broken, "damaged"), (tmp_path / "missing.jpg", "no such photo"),
                          (tmp_path, "a folder, not a photo")):
        with pytest.raises(RuntimeError, match=message):  # bpy.ops turns the ERROR report into RuntimeError
            bpy.ops.face.reconstruct_photo(filepath=str(path))
        assert len(bpy.data.objects) == n_objects and len(bpy.data.images) == n_images


def test_cli_reconstruct_writes_obj_and_json(scene, quick_fit, tmp_path, capsys):
    import trimesh

    from face_addon.cli.main import main

    photo = skimage_photo("astronaut.png")
    out, js = tmp_path / "x.obj", tmp_path / "x.json"
    assert main(["reconstruct", str(photo), "--out", str(out), "--method", _method(), "--json", str(js)]) == 0
    mesh = trimesh.load(out, process=False)
    assert len(mesh.vertices) == 4350 and np.allclose(mesh.vertices, quick_fit[-1].vertices, atol=1e-5)
    doc = json.loads(js.read_text())
    assert {"alpha_id", "alpha_exp", "camera", "score", "timings_s", "warnings", "width", "height"} <= set(doc)
    assert doc["units"] == "m"  # the mesh and the camera's t: a user must not have to read --help for it
    assert len(doc["alpha_exp"]) == 52 and set(doc["camera"]) >= {"K", "R", "t"}
    assert np.allclose(doc["camera"]["K"], quick_fit[-1].K)
    shipped = "photo_regressor.pt" if _method() == "regressor" else None  # the regressor and its parser head
    # the parser is named only when its masks went into the fit
    assert doc["masks"] == quick_fit[-1].mask_source in ("parser", "polygons")
    assert doc["models"] == {"detector": "mediapipe_face.npz", "face_mesh": "mediapipe_face.npz:attention",
                             "ibug_map": "ibug_map_attention.npz",
                             "embedding": "mediapipe_facekit_attention.npz", "regressor": shipped,
                             "parser": shipped if doc["masks"] == "parser" else None}
    capsys.readouterr()
    (tmp_path / "001_03.tem").write_text("189\n0 0\n")  # a landmark template picked by mistake
    assert main(["reconstruct", str(tmp_path / "001_03.tem"), "--out", str(tmp_path / "t.obj"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.count("001_03.tem") == 1 and "not an image" in err
    assert "Pillow" not in err
    assert main(["reconstruct", str(skimage_photo("chelsea.png")), "--out", str(tmp_path / "cat.obj"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("face reconstruct: error:") and "no face" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "cat.obj").exists()
    assert main(["reconstruct", str(tmp_path / "nope.png"), "--out", str(tmp_path / "n.obj")]) == 1


@pytest.mark.parametrize("size", [(640, 400), (300, 500)])
def test_camera_conversion_landscape_portrait_off_centre(scene, size):
    """photo_camera alone: an off-centre principal point on landscape and portrait photos."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from face_addon.blender.photo_camera import apply_camera, blender_camera, uv_to_pixels

    w, h = size
    rng = np.random.default_rng(w)
    a = rng.normal(size=3) * 0.3
    K_ = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    R = np.eye(3) + np.sin(0.4) * K_ / np.linalg.norm(a) + (1 - np.cos(0.4)) * (K_ @ K_) / np.linalg.norm(a) ** 2
    t = np.array([0.02, -0.03, 0.7])
    K = np.array([[900.0, 0, w * 0.3], [0, 900.0, h * 0.7], [0, 0, 1]])
    cam = bpy.data.objects.new("C", bpy.data.cameras.new("C"))
    bpy.context.scene.collection.objects.link(cam)
    apply_camera(cam, blender_camera(R, t, K, w, h))
    bpy.context.scene.render.resolution_x, bpy.context.scene.render.resolution_y = w, h
    bpy.context.view_layer.update()
    pts = rng.uniform(-0.1, 0.1, (50, 3))
    cv = pts @ R.T + t
    expected = (cv @ K.T)[:, :2] / cv[:, 2:3]
    got = uv_to_pixels(np.array([world_to_camera_view(bpy.context.scene, cam, Vector(p))[:2] for p in pts]), w, h)
    assert np.abs(got - expected).max() < 0.01
