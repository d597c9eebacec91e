"""Check Mesh: a health report of the active mesh (units, loose parts, holes, non-manifold edges, n-gons)."""
from __future__ import annotations

import bpy
import numpy as np

from ...core.geometry.mesh_report import inspect_mesh
from ..mesh_io import read_mesh
from ..operator_base import FaceOperator, poll_active_mesh


class FACE_OT_check_mesh(FaceOperator, bpy.types.Operator):
    """Report the active mesh's size, units, loose parts, holes and other problems before running a pipeline"""

    bl_idname = "face.check_mesh"
    bl_label = "Check Mesh"
    bl_options = {"REGISTER"}  # reads only

    @classmethod
    def poll(cls, context):
        return poll_active_mesh(cls, context)

    def run(self, context):
        obj = context.active_object
        mesh, warnings = read_mesh(obj, space="WORLD")
        report = inspect_mesh(mesh)
        sizes = np.empty(len(obj.data.polygons), np.int32)
        obj.data.polygons.foreach_get("loop_total", sizes)
        lines = report.lines()
        ngons = int((sizes > 4).sum())
        if ngons:
            lines.append(f"{ngons} n-gons (triangulated on the fly)")
        if mesh.is_point_cloud:
            lines.append("no faces: point cloud")
        for line in lines + warnings:
            self.report({"INFO"}, line)
        obj["face_addon_check"] = "; ".join(lines)
        return {"FINISHED"}
