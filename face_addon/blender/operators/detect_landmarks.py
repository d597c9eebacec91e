"""Detect Landmarks (view-based, 2S-SGCN or both) on the active mesh -> 68 named empties; Export Landmarks ->
.json/.csv/.pp."""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from bpy_extras.io_utils import ExportHelper

from ...core import ibug68
from ..mesh_io import read_mesh
from ..operator_base import FaceAddonError, FaceOperator, PipelineOperator, poll_active_mesh
from ..scan_outputs import landmark_collection_name, read_landmark_empties
from ..step_runner import Offload
from ..writers import OWNER_PROP, write_empties

RESULT_PROP = "face_addon_landmarks"


class FACE_OT_detect_landmarks(PipelineOperator, bpy.types.Operator):
    """Find the 68 iBUG facial landmarks on the active mesh or point cloud, in any orientation and unit, and add
    them as empties"""

    bl_idname = "face.detect_landmarks"
    bl_label = "Detect Landmarks"

    method: bpy.props.EnumProperty(
        name="Method", default="views",
        items=(("views", "Views", "Render the scan around its face, read each view with the MediaPipe face mesh and "
                "fuse the back-projected points (default; point clouds are drawn as splats; no face seen is an error "
                "unless Fall Back to 2S-SGCN is on)"),
               ("sgcn", "2S-SGCN", "The graph network on the 3D points (trained on synthetic heads)"),
               ("fusion", "Fusion", "Both, weighted by their confidences")))

    fallback_sgcn: bpy.props.BoolProperty(
        name="Fall Back to 2S-SGCN", default=False,
        description="Where no face is seen on the mesh, place 2S-SGCN's landmarks (with a warning) instead of failing")
    weights: bpy.props.StringProperty(name="Weights", subtype="FILE_PATH", default="",
                                      description="Optional landmarks.pt to use instead of the shipped model")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0, description="Seed of the resampling")

    @classmethod
    def poll(cls, context):
        return poll_active_mesh(cls, context)

    def steps(self, context):
        from ...core.capabilities import capability
        from ...core.pipelines.detect_landmarks import DEFAULT_WEIGHTS, detect_landmarks
        from ..model_files import model_file

        obj = context.active_object
        weights = model_file(context, DEFAULT_WEIGHTS.name, self.weights)
        if weights == DEFAULT_WEIGHTS and not capability("landmarks").ready():
            raise FaceAddonError(f"Detect Landmarks is not available: {capability('landmarks').status()}")
        mesh, warnings = read_mesh(obj, space="WORLD", with_texture=True)
        method, seed, fallback = self.method, self.seed, self.fallback_sgcn
        result = yield Offload(lambda progress, cancel: detect_landmarks(
            mesh.vertices, mesh.faces if mesh.n_faces else None, weights, method=method, seed=seed,
            colors=mesh.colors, uv=mesh.uv, texture=mesh.texture, fallback=fallback, progress=progress,
            cancel=cancel))
        world = np.array(obj.matrix_world, np.float64)
        local = (result.landmarks - world[:3, 3]) @ np.linalg.inv(world[:3, :3]).T
        spread = float(np.ptp(local, axis=0).max())
        coll = write_empties(obj, landmark_collection_name(obj), ibug68.empty_names(), local,
                             size=max(spread * 0.015, 1e-6), properties={"confidence": result.confidence})
        index = {n: i for i, n in enumerate(ibug68.empty_names())}
        for empty in coll.objects:  # names are global in Blender: another object's landmarks make 'LM_00_….001'
            i = index.get(empty.name.split(".")[0])
            if empty.get(OWNER_PROP) and i is not None:
                empty["landmark_index"] = i
                empty["vertex_index"] = int(result.vertex_index[i])
        obj[RESULT_PROP] = (f"68 landmarks ({result.method}), mean confidence {result.confidence.mean():.2f}, "
                            f"{result.timings['total_s']:.2f} s; models: "
                            + ", ".join(f"{k} {v}" for k, v in result.models.items() if v))
        if result.frame is not None:
            obj[RESULT_PROP + "_orientation"] = result.frame.describe()
            self.report({"INFO"}, f"'{obj.name}': {result.frame.describe()}")
        obj[RESULT_PROP + "_warnings"] = "; ".join(warnings + result.warnings)
        for w in warnings + result.warnings:
            self.report({"WARNING"}, w)
        self.report({"INFO"}, f"'{coll.name}': {obj[RESULT_PROP]}")
        return {"FINISHED"}


def _landmark_source(context) -> tuple[bpy.types.Object, bpy.types.Collection]:
    obj = context.active_object
    if obj is not None and obj.type == "EMPTY" and obj.get(OWNER_PROP) and obj.parent is not None:
        obj = obj.parent
    coll = bpy.data.collections.get(landmark_collection_name(obj)) if obj is not None else None
    if coll is None or not any(o.get(OWNER_PROP) for o in coll.objects):
        raise FaceAddonError("No landmarks on the active object: run Detect Landmarks first.")
    return obj, coll


class FACE_OT_export_landmarks(FaceOperator, ExportHelper, bpy.types.Operator):
    """Export the active object's landmarks (world space, metres) as JSON, CSV or MeshLab picked points (.pp)"""

    bl_idname = "face.export_landmarks"
    bl_label = "Export Landmarks"
    bl_options = {"REGISTER"}

    filename_ext = ".json"
    filter_glob: bpy.props.StringProperty(default="*.json;*.csv;*.pp", options={"HIDDEN"})
    file_format: bpy.props.EnumProperty(
        name="Format", items=(("json", "JSON", "face_addon JSON with confidences"),
                              ("csv", "CSV", "index,name,x,y,z,confidence"),
                              ("pp", "MeshLab .pp", "MeshLab PickedPoints")), default="json")

    @classmethod
    def poll(cls, context):
        try:
            _landmark_source(context)
        except FaceAddonError as exc:
            cls.poll_message_set(str(exc))
            return False
        return True

    def check(self, context):
        changed = False
        want = "." + self.file_format
        if self.filepath and not self.filepath.lower().endswith(want):
            self.filepath = bpy.path.ensure_ext(str(Path(self.filepath).with_suffix("")), want)
            changed = True
        return changed

    def run(self, context):
        from ...core.landmark_export import write_landmarks

        obj, coll = _landmark_source(context)
        pts, conf = read_landmark_empties(coll)
        path = Path(bpy.path.abspath(self.filepath))
        if path.suffix.lower() not in (".json", ".csv", ".pp"):
            path = path.with_suffix("." + self.file_format)
        write_landmarks(path, pts, conf, source=obj.name)
        self.report({"INFO"}, f"wrote 68 landmarks of '{obj.name}' to {path}")
        return {"FINISHED"}
