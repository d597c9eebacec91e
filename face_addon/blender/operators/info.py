"""Info: versions, compute device and which capabilities are ready (same text as `face info`)."""
from __future__ import annotations

import bpy

from ..operator_base import FaceOperator
from ..status import info_lines


class FACE_OT_info(FaceOperator, bpy.types.Operator):
    """Show versions, compute device and the readiness of each capability"""

    bl_idname = "face.info"
    bl_label = "Face Addon Info"
    bl_options = {"REGISTER"}

    def run(self, context):
        for line in info_lines(with_torch=False):
            self.report({"INFO"}, line)
        return {"FINISHED"}
