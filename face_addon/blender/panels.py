"""The sidebar tab "Face" in the 3D viewport. Panels only draw; operators do the work."""
from __future__ import annotations

import bpy

from ..core.capabilities import CAPABILITIES


class FacePanel:
    """Where every panel of the add-on lives: the 3D viewport sidebar, tab "Face"."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Face"


class FACE_PT_main(FacePanel, bpy.types.Panel):
    bl_idname = "FACE_PT_main"
    bl_label = "Face"

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
                if cap.key == "landmarks":
                    row.operator("face.export_landmarks", text="", icon="EXPORT")
                if cap.caveat:
                    col.label(text=cap.caveat, icon="ERROR")
            else:
                row.label(text=f"{cap.label}: {status}", icon="INFO")
        layout.operator("face.info", icon="QUESTION")




class FACE_PT_facekit(FacePanel, bpy.types.Panel):
    """Identity sliders of the active FaceKit head, grouped by face part."""

    bl_idname = "FACE_PT_facekit"
    bl_label = "Face Model"

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.face_kit.is_facekit

    def draw(self, context):
        settings = context.active_object.face_kit
        layout = self.layout
        row = layout.row(align=True)
        row.operator("face.randomize_face", icon="FILE_REFRESH")
        row.operator("face.reset_face", icon="LOOP_BACK")
        layout.prop(settings, "group")
        col = layout.column(align=True)
        for item in settings.coefficients:
            if item.group == settings.group:
                col.prop(item, "value", text=item.name, slider=True)


def menu_add_face_model(self, context):
    self.layout.operator("face.add_face_model", icon="USER")


CLASSES = (FACE_PT_main, FACE_PT_facekit)
