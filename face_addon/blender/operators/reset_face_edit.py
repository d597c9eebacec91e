"""Reset every Face Edit slider of the active object to 0."""
from __future__ import annotations

import bpy

from ..operator_base import FaceOperator


class FACE_OT_reset_face_edit(FaceOperator, bpy.types.Operator):
    """Set every Face Edit slider back to 0"""

    bl_idname = "face.reset_face_edit"
    bl_label = "Reset"

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        if obj is None or obj.type != "MESH" or not len(obj.face_edit.controllers):
            cls.poll_message_set("The active object has no Face Edit sliders")
            return False
        return True

    def run(self, context):
        for c in context.active_object.face_edit.controllers:
            c.value = 0.0
        return {"FINISHED"}
