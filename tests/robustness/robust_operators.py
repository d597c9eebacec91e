"""The operator cases of the robustness suite: each builds a scene, runs one `bpy.ops.face.*` call and judges
it like a command-line case: a failure is one line (Blender raises it as RuntimeError in background mode),
never a traceback or an "internal error"; the watched objects (the user's data) are unchanged; a failure adds
no data-block (no partial output); a success may change only the active object (shared meshes included).
Unexpected errors are not re-raised here (FACE_ADDON_RAISE unset), so the operator base itself is tested.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from blender_helpers import make_object
from robust_runner import Outcome, judge_leftovers, judge_success

#: data-block collections whose sizes tell whether an operator left something behind
DATA = ("objects", "meshes", "collections", "images", "cameras", "materials")


@dataclass(frozen=True)
class OperatorCase:
    id: str
    build: Callable[[Path], list]          # corpus -> the watched objects (the active one first); sets up the scene
    call: Callable[[Path], None]           # corpus -> runs the operator
    error: str | None                      # regex of the one-line error, None when it must succeed
    check: Callable[[list], str | None] | None = None  # watched -> what is wrong with a success
    changes_active: bool = False           # a success may change the active (first watched) object


def _sphere(radius: float = 0.1):
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    return np.asarray(m.vertices), np.asarray(m.faces)


def _state(obj) -> str:
    """Hash of what the user owns on an object: positions, groups, keys, attributes, custom properties (the
    add-on's own bookkeeping properties `face_addon*`, e.g. which colour attribute was the scan's, excluded)."""
    me = obj.data
    co = np.empty(len(me.vertices) * 3, np.float64)
    me.vertices.foreach_get("co", co)
    parts = [co.tobytes(), repr([g.name for g in obj.vertex_groups]),
             repr([k.name for k in me.shape_keys.key_blocks] if me.shape_keys else []),
             repr(sorted(a.name for a in me.attributes)), repr(sorted(k for k in obj.keys() if not k.startswith("face_addon")))]
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _counts() -> dict[str, int]:
    return {name: len(getattr(bpy.data, name)) for name in DATA}


def clear_scene() -> None:
    for name in DATA:
        coll = getattr(bpy.data, name)
        for item in list(coll):
            coll.remove(item)


def run_operator_case(case: OperatorCase, corpus: Path) -> Outcome:
    clear_scene()
    watched = case.build(corpus)
    before = [_state(o) for o in watched]
    counts = _counts()
    out, err = io.StringIO(), io.StringIO()
    message, t0 = "", time.perf_counter()
    old_raise = os.environ.pop("FACE_ADDON_RAISE", None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                case.call(corpus)
            except RuntimeError as exc:  # Blender's form of an ERROR report in background mode
                message = str(exc).strip()
    finally:
        if old_raise is not None:
            os.environ["FACE_ADDON_RAISE"] = old_raise
    r = Outcome(None, 1 if message else 0, out.getvalue(), err.getvalue() + message, time.perf_counter() - t0)
    r.traceback = "Traceback (most recent call last)" in r.stdout + r.stderr
    after = [_state(o) for o in watched]
    first = 1 if (case.changes_active and not message) else 0
    r.inputs_modified = [o.name for o, a, b in zip(watched[first:], before[first:], after[first:]) if a != b]
    if message:
        r.partial_outputs = [f"{k}: {counts[k]} -> {v}" for k, v in _counts().items() if v != counts[k]]
        lines = [ln for ln in message.splitlines() if ln.strip()]
        if len(lines) != 1:
            r.problems.append(f"{len(lines)} lines instead of one: {lines[:3]}")
        if "internal error" in message.lower():
            r.problems.append(f"an internal error instead of a user message: {message}")
        if case.error is None:
            r.problems.append(f"failed although it should succeed: {message}")
        elif not re.search(case.error, message, re.IGNORECASE):
            r.problems.append(f"message {message!r} does not match {case.error!r}")
    elif case.error is not None:
        r.silent_wrong = True
        r.problems.append(f"succeeded although it should fail with {case.error!r}")
    elif case.check is not None:
        judge_success(r, case.check(watched))
    return judge_leftovers(r)


# ----------------------------------------------------------------------------------------------- the cases

def _nan_sphere(corpus):
    v, f = _sphere()
    v[7] = np.nan
    return [make_object("NaN Scan", v, f)]


def _empty_mesh(corpus):
    return [make_object("Empty", np.zeros((0, 3)), [])]


def _sphere_scan(corpus):
    return [make_object("Scan", *_sphere())]


def _facekit_head(corpus):
    from face_addon.core.facekit import load_facekit

    fk = load_facekit()
    return [make_object("Head", fk.template, fk.faces)]


def _shared_pair(make):
    """The active object and an Alt+D duplicate that shares its mesh (watched: active first, then the twin)."""
    def build(corpus):
        obj = make(corpus)[0]
        twin = bpy.data.objects.new(obj.name + " Twin", obj.data)
        bpy.context.scene.collection.objects.link(twin)
        return [obj, twin]
    return build


def _twin_untouched(kind: str) -> Callable[[list], str | None]:
    def check(watched):
        active, twin = watched
        if active.data == twin.data:
            return "the two objects still share one mesh: the output is on both"
        if kind == "keys" and (active.data.shape_keys is None or twin.data.shape_keys is not None):
            return "shape keys are not (only) on the active object"
        if kind == "groups" and (not active.vertex_groups or twin.vertex_groups):
            return "vertex groups are not (only) on the active object"
        return None
    return check


def _nan_slider_head(corpus):
    watched = _facekit_head(corpus)
    bpy.ops.face.edit_face()
    item = watched[0].face_edit.controllers[0]
    item.value = float("nan")  # what a driver or a script can do to the slider
    return watched


def _slider_value_is_finite(corpus):
    """Blender's property clamp turns NaN into a number or the bake refuses it: never a baked NaN head."""
    bpy.ops.face.bake_face_edit()


def _with_landmark_empties(corpus):
    watched = _sphere_scan(corpus)
    bpy.ops.face.detect_landmarks(fallback_sgcn=True)  # a sphere shows no face: 2S-SGCN's empties, asked for
    return watched


def _internal_error(corpus):
    """A FaceOperator whose run() has a bug: "internal error" and a report file, not a traceback."""
    from face_addon.blender.operator_base import FaceOperator

    class Buggy(FaceOperator):
        bl_idname = "face.buggy"

        def __init__(self):
            self.reports = []

        def run(self, context):
            return {"FINISHED"} if 1 / 0 else set()

        def report(self, kind, message):
            self.reports.append(message)

    op = Buggy()
    op.execute(bpy.context)
    report = re.search(r"full report: (\S+)", op.reports[0])
    if len(op.reports) != 1 or "internal error" not in op.reports[0] or not report:
        raise AssertionError(f"unexpected reports {op.reports}")
    text = Path(report.group(1)).read_text()
    Path(report.group(1)).unlink()
    if "ZeroDivisionError" not in text:
        raise AssertionError("the report file lacks the traceback")


OPERATOR_CASES = [
    OperatorCase("op_check_mesh_nan", _nan_sphere, lambda c: bpy.ops.face.check_mesh(), "NaN"),
    OperatorCase("op_check_mesh_empty", _empty_mesh, lambda c: bpy.ops.face.check_mesh(), "no vertices"),
    OperatorCase("op_segment_skin_nan", _nan_sphere, lambda c: bpy.ops.face.segment_skin(views="NONE"), "NaN"),
    OperatorCase("op_segment_skin_empty", _empty_mesh, lambda c: bpy.ops.face.segment_skin(views="NONE"),
                 "no vertices|empty"),
    OperatorCase("op_segment_skin_corrupt_weights", _sphere_scan,
                 lambda c: bpy.ops.face.segment_skin(views="NONE", weights=str(c / "corrupt.pt")),
                 r"^(?!.*weights_only).*corrupt"),
    OperatorCase("op_detect_landmarks_nan", _nan_sphere, lambda c: bpy.ops.face.detect_landmarks(), "NaN"),
    OperatorCase("op_detect_landmarks_empty", _empty_mesh, lambda c: bpy.ops.face.detect_landmarks(),
                 "no vertices|empty"),
    OperatorCase("op_register_without_skin", _sphere_scan, lambda c: bpy.ops.face.register_head(),
                 "Segment Skin first"),
    OperatorCase("op_edit_face_not_facekit", _sphere_scan, lambda c: bpy.ops.face.edit_face(), "FaceKit"),
    OperatorCase("op_bake_nan_slider", _nan_slider_head, _slider_value_is_finite, "-3..3|nothing to bake"),
    OperatorCase("op_reconstruct_missing_photo", lambda c: [],
                 lambda c: bpy.ops.face.reconstruct_photo(filepath=str(c / "nope.png")), "no such photo"),
    OperatorCase("op_reconstruct_folder", lambda c: [],
                 lambda c: bpy.ops.face.reconstruct_photo(filepath=str(c) + "/"), "a folder, not a photo"),
    OperatorCase("op_reconstruct_garbage_photo", lambda c: [],
                 lambda c: bpy.ops.face.reconstruct_photo(filepath=str(c / "garbage.png")), "garbage.png"),
    OperatorCase("op_export_landmarks_unwritable", _with_landmark_empties,
                 lambda c: bpy.ops.face.export_landmarks(filepath="/proc/face_addon_lm.json"), "proc"),
    OperatorCase("op_edit_face_shared_mesh", _shared_pair(_facekit_head), lambda c: bpy.ops.face.edit_face(), None,
                 _twin_untouched("keys"), changes_active=True),
    OperatorCase("op_segment_skin_shared_mesh", _shared_pair(_sphere_scan),
                 lambda c: bpy.ops.face.segment_skin(views="NONE"), None, _twin_untouched("groups"),
                 changes_active=True),
    OperatorCase("op_internal_error_report", lambda c: [], _internal_error, None),
]

__all__ = ["OPERATOR_CASES", "OperatorCase", "clear_scene", "run_operator_case"]
