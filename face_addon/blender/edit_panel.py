"""The sidebar panel "Face Edit": NEO-3DF controller sliders grouped by face part, Bake and Reset."""
from __future__ import annotations

import bpy

from .panels import FacePanel

SEGMENT_TITLES = {"eyebrows": "Eyebrows", "eyes": "Eyes", "nose": "Nose", "upper_lip": "Upper Lip",
                  "lower_lip": "Lower Lip", "rest": "Jaw & Chin"}


class FACE_PT_face_edit(FacePanel, bpy.types.Panel):
    """Part-based face editing sliders of the active face (in standard deviations, -3 to +3)."""

    bl_idname = "FACE_PT_face_edit"
    bl_label = "Face Edit"

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "MESH" and (obj.face_kit.is_facekit or len(obj.face_edit.controllers))

    def draw(self, context):
        layout = self.layout
        settings = context.active_object.face_edit
        if not len(settings.controllers):
            layout.operator("face.edit_face", text="Set Up Sliders", icon="MODIFIER")
            return
        for seg, title in SEGMENT_TITLES.items():
            items = [c for c in settings.controllers if c.segment == seg]
            if not items:
                continue
            box = layout.box()
            box.label(text=title)
            col = box.column(align=True)
            for item in items:
                col.prop(item, "value", text=item.label, slider=True)
        row = layout.row(align=True)
        row.prop(settings, "bake_target", text="")
        row.operator("face.bake_face_edit", icon="CHECKMARK")
        row = layout.row(align=True)
        row.operator("face.reset_face_edit", icon="LOOP_BACK")
        row.operator("face.edit_face", text="Recompute", icon="FILE_REFRESH")


CLASSES = (FACE_PT_face_edit,)
