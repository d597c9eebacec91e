"""The sidebar tab "Face" in the 3D viewport. Panels only draw; operators do the work."""
from __future__ import annotations

import bpy

from ..core.capabilities import CAPABILITIES


class FACE_PT_main(bpy.types.Panel):
    bl_idname = "FACE_PT_main"
    bl_label = "Face"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Face"

    def draw(self, context):
        layout = self.layout
        obj = context.active_object
        layout.label(text=f"Active: {obj.name}" if obj else "No active object", icon="OBJECT_DATA")
        col = layout.column(align=True)
        for cap in CAPABILITIES:
            status = cap.status()
            row = col.row(align=True)
            if cap.operator and status == "ready":
                row.operator(cap.operator, text=cap.label)
            else:
                row.label(text=f"{cap.label}: {status}", icon="INFO")
        layout.operator("face.info", icon="QUESTION")


CLASSES = (FACE_PT_main,)
