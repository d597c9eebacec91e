"""FaceKit in Blender: Add Face Model, expression keys equal the core model, identity sliders, extras follow."""
import numpy as np
import pytest

import bpy
from blender_helpers import evaluated_vertices  # noqa: E402


@pytest.fixture(scope="module")
def fk():
    from face_addon.core.facekit import ensure_facekit, load_facekit

    return load_facekit(ensure_facekit())


def _exp(fk, **values) -> np.ndarray:
    e = np.zeros(fk.n_expression, np.float32)
    for name, v in values.items():
        e[fk.exp_names.index(name)] = v
    return e


def test_add_face_model_matches_core_evaluation(scene, fk):
    from face_addon.blender.facekit_object import identity_of

    assert bpy.ops.face.add_face_model(randomize=True, seed=11, add_landmarks=True) == {"FINISHED"}
    head = bpy.context.active_object
    alpha = identity_of(head)
    assert np.abs(alpha).max() > 0.05  # a random identity, not the mean face
    keys = head.data.shape_keys.key_blocks
    assert [k.name for k in keys][1:] == fk.exp_names and len(fk.exp_names) == 52
    np.testing.assert_allclose(evaluated_vertices(head), fk.evaluate(alpha), atol=1e-6)
    for name in ("jawOpen", "mouthSmileLeft", "eyeBlinkRight", "browInnerUp"):
        keys[name].value = 1.0
        np.testing.assert_allclose(evaluated_vertices(head), fk.evaluate(alpha, _exp(fk, **{name: 1.0})), atol=1e-6)
        keys[name].value = 0.0
    # landmarks are vertex-parented to each surface landmark's nearest vertex (`landmark_indices`), so they
    # follow an expression exactly; FaceKit's landmarks proper are surface points a few mm from those vertices
    keys["jawOpen"].value = 1.0
    bpy.context.view_layer.update()
    lms = bpy.data.collections[f"{head.name} Landmarks"].objects
    got = np.array([lms[n].matrix_world.translation for n in sorted(lms.keys())])
    open_jaw = fk.evaluate(alpha, _exp(fk, jawOpen=1.0))
    np.testing.assert_allclose(got, open_jaw[fk.landmark_indices], atol=1e-6)
    assert np.linalg.norm(got - fk.landmarks(open_jaw), axis=1).max() < 0.005


def test_part_groups_and_extras(scene, fk):
    bpy.ops.face.add_face_model()
    head = bpy.context.active_object
    for part, idx in fk.parts.items():
        g = head.vertex_groups[f"part.{part}"]
        members = [v.index for v in head.data.vertices if any(e.group == g.index for e in v.groups)]
        assert sorted(members) == sorted(idx.tolist())
    teeth = next(c for c in head.children if c.get("face_addon_extra") == "teeth")
    before = evaluated_vertices(teeth)
    head.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    after = evaluated_vertices(teeth)
    # the lower teeth follow the head's jaw through drivers; the upper teeth stay put
    drop = before[:, 2] - after[:, 2]
    assert drop.max() > 0.003 and np.quantile(drop, 0.2) < 1e-4


def test_identity_sliders_rebake_and_keep_expressions(scene, fk):
    from face_addon.blender.facekit_object import identity_of

    bpy.ops.face.add_face_model()
    head = bpy.context.active_object
    head.data.shape_keys.key_blocks["jawOpen"].value = 0.5
    coeffs = head.face_kit.coefficients
    coeffs["nose-scale-vert-decr-incr"].value = 0.8
    coeffs["macro-gender"].value = -0.7
    alpha = identity_of(head)
    assert alpha[fk.id_names.index("nose-scale-vert-decr-incr")] == pytest.approx(0.8)
    np.testing.assert_allclose(evaluated_vertices(head), fk.evaluate(alpha, _exp(fk, jawOpen=0.5)), atol=1e-6)
    assert bpy.ops.face.randomize_face(seed=5) == {"FINISHED"}
    alpha2 = identity_of(head)
    assert not np.allclose(alpha2, alpha)
    np.testing.assert_allclose(evaluated_vertices(head), fk.evaluate(alpha2, _exp(fk, jawOpen=0.5)), atol=1e-6)
    assert bpy.ops.face.reset_face() == {"FINISHED"}
    np.testing.assert_allclose(evaluated_vertices(head), fk.evaluate(None, _exp(fk, jawOpen=0.5)), atol=1e-6)


def test_identity_operators_need_a_facekit_head(scene):
    bpy.ops.mesh.primitive_cube_add()
    with pytest.raises(RuntimeError, match="FaceKit head"):
        bpy.ops.face.randomize_face()


def test_subdivided_head(scene, fk):
    bpy.ops.face.add_face_model(subdivide=True, add_extras=False)
    head = bpy.context.active_object
    sub = fk.subdivided()
    assert len(head.data.vertices) == sub.n_vertices
    head.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    np.testing.assert_allclose(evaluated_vertices(head), sub.evaluate(None, _exp(fk, jawOpen=1.0)), atol=1e-6)


def test_demo_runs_and_writes_outputs(tmp_path, fk):
    import face_addon
    from face_addon.cli.demo import run_demo

    face_addon.register()
    try:
        log = run_demo(tmp_path, samples=1, resolution=64)
    finally:
        face_addon.unregister()
    assert (tmp_path / "demo.blend").stat().st_size > 10_000
    assert (tmp_path / "demo.png").stat().st_size > 1_000
    assert any("68 landmark empties" in line for line in log)
    from face_addon.core.capabilities import capability

    if capability("skin").ready() and capability("synth").ready():  # Segment Skin checked against the truth
        miou = [float(line.split("mIoU ")[1].split()[0]) for line in log if "vs. the scan's true skin" in line]
        assert len(miou) == 1 and miou[0] > 0.6
        if capability("register").ready():
            assert any(line.startswith("Register Head to the skin") for line in log)
    if capability("pixel2mesh").ready():
        assert (tmp_path / "demo_pixel2mesh.png").stat().st_size > 1_000
        assert any("Pixel2Mesh step" in line for line in log)
