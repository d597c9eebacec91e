"""A long operator run modal and cancelled mid-run leaves the scene exactly as it was (operator_base.PipelineOperator).

The bpy module has no window and no event loop: it never calls invoke() (INVOKE_DEFAULT runs execute()) and
never sends a modal operator events. The test runs the real operator through `bpy.ops.face.segment_skin()` with
the base's window seams replaced: `can_run_modal` says yes, `_modal_requested` is set as invoke() sets it, and
`attach` (timer + modal handler) only hands the test the operator instance. The test then plays Blender's
part, calling `modal()` with timer ticks and an Esc press, while the pipeline really runs in the worker thread.
Covered: the modal start, the worker thread, progress, Esc, the Cancelled path through the steps, the cleanup.
Not covered: invoke() itself (two lines), Blender delivering the events (timer, keyboard) and the modal handler,
which need a window.
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_helpers import colored_sphere  # noqa: E402

DATA_KINDS = ("objects", "meshes", "materials", "images", "collections", "cameras", "textures", "node_groups",
              "worlds", "scenes")
TIMER = SimpleNamespace(type="TIMER", value="NOTHING")
ESC = SimpleNamespace(type="ESC", value="PRESS")


def scene_state() -> dict:
    """Everything Segment Skin could leave behind: data-block counts, and per object its custom properties,
    vertex groups, attributes (with the active colour), shape keys and vertex positions."""
    # Blender's own 'Render Result' image (never saved with the file) appears after any render and is left alone
    state = {kind: sorted(x.name for x in getattr(bpy.data, kind) if getattr(x, "type", "") != "RENDER_RESULT")
             for kind in DATA_KINDS}
    for obj in bpy.data.objects:
        entry = {"props": sorted(obj.keys()), "groups": [g.name for g in obj.vertex_groups]}
        me = obj.data
        if isinstance(me, bpy.types.Mesh):
            co = np.empty(len(me.vertices) * 3, np.float32)
            me.vertices.foreach_get("co", co)
            active = me.color_attributes.active_color
            entry.update(attributes=sorted(a.name for a in me.attributes), active_color=active and active.name,
                         shape_keys=me.shape_keys and [k.name for k in me.shape_keys.key_blocks],
                         vertices=co.tobytes(), n_polygons=len(me.polygons))
        state[f"object {obj.name}"] = entry
    return state


@pytest.fixture
def modal_operator(monkeypatch):
    """Run PipelineOperators modal under the bpy module; yields the list the started operators are put in."""
    from face_addon.blender import operator_base

    started = []
    monkeypatch.setattr(operator_base, "can_run_modal", lambda context: True)
    monkeypatch.setattr(operator_base.PipelineOperator, "_modal_requested", True, raising=False)
    monkeypatch.setattr(operator_base.PipelineOperator, "attach", lambda self, context: started.append(self))
    return started


@pytest.fixture
def skin_weights():
    from face_addon.core.models import SKIN_COLOR_MODEL, available, resolve

    if not available(SKIN_COLOR_MODEL):
        pytest.skip("the shipped colour skin model is missing")
    return str(resolve(SKIN_COLOR_MODEL))


def _wait_for_stage(op, stage: str, timeout_s: float = 120.0) -> None:
    """Tick like Blender's timer until the worker reports `stage`."""
    end = time.monotonic() + timeout_s
    while op._runner.status[1] != stage:
        assert op.modal(bpy.context, TIMER) == {"RUNNING_MODAL"}, f"finished before '{stage}'"
        assert time.monotonic() < end, f"no '{stage}' after {timeout_s} s (at {op._runner.status})"
        time.sleep(0.005)


def _tick_to_end(op, timeout_s: float = 120.0) -> set[str]:
    end = time.monotonic() + timeout_s
    while (status := op.modal(bpy.context, TIMER)) == {"RUNNING_MODAL"}:
        assert time.monotonic() < end, f"still running after {timeout_s} s"
        time.sleep(0.01)
    return status


def test_segment_skin_cancelled_mid_run_leaves_the_scene_unchanged(scene, modal_operator, skin_weights):
    obj = colored_sphere("Scan")
    obj.vertex_groups.new(name="Mine")
    before = scene_state()

    assert bpy.ops.face.segment_skin(weights=skin_weights, views="NONE") == {"RUNNING_MODAL"}
    (op,) = modal_operator
    _wait_for_stage(op, "surface operators")  # the worker is inside the pipeline (segment_skin.prepare_shape)
    assert op._runner.working
    assert op.modal(bpy.context, ESC) == {"RUNNING_MODAL"}  # the operator waits for the pipeline to stop
    assert _tick_to_end(op) == {"CANCELLED"}
    assert op._runner.status[1] == "surface operators"  # it stopped there: no later stage was reached
    assert scene_state() == before
    assert "face_addon_skin" not in obj and obj.vertex_groups.get("Skin") is None


def test_segment_skin_modal_run_to_the_end_writes_its_results(scene, modal_operator, skin_weights):
    obj = colored_sphere("Scan")
    assert bpy.ops.face.segment_skin(weights=skin_weights, views="NONE") == {"RUNNING_MODAL"}
    (op,) = modal_operator
    assert op.modal(bpy.context, SimpleNamespace(type="MIDDLEMOUSE", value="PRESS")) == {"PASS_THROUGH"}
    assert op.modal(bpy.context, SimpleNamespace(type="A", value="PRESS")) == {"RUNNING_MODAL"}  # held back
    assert _tick_to_end(op) == {"FINISHED"}
    assert op._runner.status == (1.0, "done")
    assert obj.vertex_groups.get("Skin") is not None and "face_addon_skin" in obj
    assert obj.data.color_attributes.active_color.name == "Skin Probability"
    assert obj["face_addon_skin_source_colors"] == "Col"


def test_executed_operators_stay_synchronous(scene, skin_weights):
    """Scripts and `blender -b`: INVOKE_DEFAULT without a window runs to the end before returning."""
    obj = colored_sphere("Scan")
    assert bpy.ops.face.segment_skin("INVOKE_DEFAULT", weights=skin_weights, views="NONE") == {"FINISHED"}
    assert obj.vertex_groups.get("Skin") is not None


def _cancel_at(op, stage: str) -> set[str]:
    """Tick until the worker reports `stage`, press Esc, tick to the end; the operator's status."""
    _wait_for_stage(op, stage)
    op.modal(bpy.context, ESC)
    return _tick_to_end(op)


def test_detect_landmarks_cancelled_leaves_no_empties(scene, modal_operator):
    from face_addon.core.capabilities import capability

    if not capability("landmarks").ready():
        pytest.skip(f"landmarks: {capability('landmarks').status()}")
    bpy.ops.mesh.primitive_uv_sphere_add(segments=64, ring_count=32, radius=0.1)
    before = scene_state()
    assert bpy.ops.face.detect_landmarks(method="sgcn") == {"RUNNING_MODAL"}
    assert _cancel_at(modal_operator[0], "finding the face") == {"CANCELLED"}
    assert scene_state() == before


def test_reconstruct_photo_cancelled_adds_nothing(scene, modal_operator):
    from blender_helpers import skimage_photo

    photo = skimage_photo("astronaut.png")
    before = scene_state()
    assert bpy.ops.face.reconstruct_photo(filepath=str(photo), method="FIT") == {"RUNNING_MODAL"}
    assert _cancel_at(modal_operator[0], "detecting faces") == {"CANCELLED"}
    assert scene_state() == before  # no head, camera, material or image of the photo


@pytest.mark.parametrize("stage", ["rendering views", "surface operators"])  # before / after the renders
def test_segment_skin_cancelled_around_its_rendered_views_leaves_no_render_data(scene, modal_operator, stage):
    """The rendered views path adds a temporary scene, world, material and texture."""
    from face_addon.core.models import SKIN_IMAGE_MODEL, available

    if not available(SKIN_IMAGE_MODEL):
        pytest.skip("the shipped image skin model is missing")
    colored_sphere("Scan")
    before = scene_state()
    assert bpy.ops.face.segment_skin(views="RENDER") == {"RUNNING_MODAL"}
    assert _cancel_at(modal_operator[0], stage) == {"CANCELLED"}
    assert scene_state() == before
