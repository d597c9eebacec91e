"""Register Head: fit FaceKit to the `Skin` vertex group of the active scan (written by Segment Skin) -> a new
FaceKit head "<scan> Registered Head" over the scan.

The head is an ordinary FaceKit object (identity sliders, ARKit keys set to the fitted expression, eyes and
teeth); the fitted similarity is its object transform, so object space is FaceKit's model space and editing
the identity keeps it on the scan. With "Non-Rigid Detail" the per-vertex refinement is the shape key
"Registration Detail", which survives identity edits. The scan itself is never changed.
"""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from ..facekit_object import create_head, set_expression_keys
from ..facekit_store import facekit
from ..mesh_io import read_mesh, read_vertex_group
from ..operator_base import FaceAddonError, PipelineOperator, poll_active_mesh
from ..scan_outputs import SKIN_GROUP, landmark_collection_name, read_landmark_empties
from ..step_runner import Offload
from ..writers import OWNER_PROP, write_shape_keys

RESULT_PROP = "face_addon_registration"
DETAIL_KEY = "Registration Detail"


def result_name(obj: bpy.types.Object) -> str:
    return f"{obj.name} Registered Head"


def _scan_landmarks(obj: bpy.types.Object) -> tuple[np.ndarray | None, str]:
    """World positions of the scan's landmark empties (Detect Landmarks), or (None, why not)."""
    coll = bpy.data.collections.get(landmark_collection_name(obj))
    if coll is None or not any(o.get(OWNER_PROP) for o in coll.objects):
        return None, "no landmark empties: the landmark model ran"
    try:
        return read_landmark_empties(coll)[0], f"landmarks from '{coll.name}'"
    except FaceAddonError as exc:
        return None, f"{exc} The landmark model ran instead."


def _remove_previous(name: str) -> None:
    """Delete our earlier result of that name with its children (eyes, teeth ...) and their meshes."""
    old = bpy.data.objects.get(name)
    if old is None or not old.get(RESULT_PROP):
        return
    for o in [*old.children_recursive, old]:
        data = o.data
        bpy.data.objects.remove(o, do_unlink=True)
        if data is not None and data.users == 0:
            bpy.data.meshes.remove(data)


def similarity_matrix(scale: float, rotation: np.ndarray, translation: np.ndarray) -> Matrix:
    m = np.eye(4)
    m[:3, :3] = scale * rotation
    m[:3, 3] = translation
    return Matrix(m.tolist())


class FACE_OT_register_head(PipelineOperator, bpy.types.Operator):
    """Fit the FaceKit head to the skin of the active scan (run Segment Skin first): a new editable FaceKit
    head over the scan with the fitted identity, expression and pose; the scan is not changed"""

    bl_idname = "face.register_head"
    bl_label = "Register Head"

    iterations: bpy.props.IntProperty(name="Iterations", default=15, min=1, max=100,
                                      description="Alternations of matching the skin and solving the model")
    nonrigid: bpy.props.BoolProperty(name="Non-Rigid Detail", default=False,
                                     description="Also move each vertex along its normal towards the skin for "
                                                 "detail the model cannot express (shape key 'Registration Detail')")
    extras: bpy.props.BoolProperty(name="Eyes, Teeth, Tongue, Lashes", default=True)

    @classmethod
    def poll(cls, context):
        return poll_active_mesh(cls, context)

    def steps(self, context):
        from ...core.capabilities import capability
        from ...core.pipelines.detect_landmarks import DEFAULT_WEIGHTS
        from ...core.pipelines.register_head import register_head
        from ..model_files import model_file

        obj = context.active_object
        if obj.vertex_groups.get(SKIN_GROUP) is None:
            raise FaceAddonError(f"'{obj.name}' has no '{SKIN_GROUP}' vertex group: run Segment Skin first.")
        fk = facekit()
        landmarks, source = _scan_landmarks(obj)
        if landmarks is None and not capability("landmarks").ready():
            raise FaceAddonError(f"No landmarks on '{obj.name}' and Detect Landmarks is not available: "
                                 f"{capability('landmarks').status()}")
        # the landmark model runs only without landmark empties: the model folder's file when it has one
        lm_weights = None if landmarks is not None else model_file(context, DEFAULT_WEIGHTS.name)
        mesh, warnings = read_mesh(obj, space="WORLD")
        skin = read_vertex_group(obj, SKIN_GROUP) > 0  # Segment Skin puts only vertices above its threshold in
        iterations, nonrigid = self.iterations, self.nonrigid
        reg = yield Offload(lambda progress, cancel: register_head(
            mesh.vertices, mesh.faces if mesh.n_faces else None, skin, landmarks=landmarks, iterations=iterations,
            nonrigid=nonrigid, progress=progress, cancel=cancel, facekit=fk, landmark_weights=lm_weights))

        name = result_name(obj)
        _remove_previous(name)
        for o in context.selected_objects:
            o.select_set(False)
        head = create_head(context, reg.alpha_id, name=name, extras=self.extras, landmarks=False)
        head.matrix_world = similarity_matrix(reg.scale, reg.rotation, reg.translation)
        set_expression_keys(head, fk.exp_names, reg.alpha_exp)
        if self.nonrigid:
            detail = reg.model_vertices() - fk.evaluate(reg.alpha_id, reg.alpha_exp)
            write_shape_keys(head, {DETAIL_KEY: detail}, values={DETAIL_KEY: 1.0})
        head[OWNER_PROP] = True
        head[RESULT_PROP] = {
            "scan": obj.name, "landmarks": source, "residual_mm": reg.residual_mm,
            "inlier_fraction": reg.inlier_fraction, "n_skin_points": reg.n_skin_points, "scale": reg.scale,
            "unit_scale_to_m": reg.unit_scale, "unit_source": reg.unit_source,
            "rotation": reg.rotation.ravel().tolist(), "translation": reg.translation.tolist(),
            "alpha_exp": reg.alpha_exp.tolist(), "nonrigid": bool(self.nonrigid),
            "timings_s": {k: float(v) for k, v in reg.timings.items()}, "warnings": "; ".join(warnings + reg.warnings)}
        head.select_set(True)
        context.view_layer.objects.active = head
        for w in warnings + reg.warnings:
            self.report({"WARNING"}, w)
        self.report({"INFO"}, f"'{head.name}': residual {reg.residual_mm:.2f} mm on {reg.n_skin_points} skin points "
                              f"({source}; units {reg.unit_name} from the {reg.unit_source}), "
                              f"{reg.timings['total_s']:.1f} s")
        return {"FINISHED"}
