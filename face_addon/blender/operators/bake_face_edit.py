"""Bake the Face Edit sliders: the exact nonlinear edit with ARAP blending, as a shape key or a new object."""
from __future__ import annotations

import bpy
import numpy as np

from ..edit_mesh import basis_positions, mesh_faces
from ..operator_base import FaceAddonError, FaceOperator, poll_active_mesh
from ..writers import write_shape_keys

BAKED_KEY = "Face Edit"


class FACE_OT_bake_face_edit(FaceOperator, bpy.types.Operator):
    """Decode the current slider values exactly (part VAEs + ARAP blending) and keep the result"""

    bl_idname = "face.bake_face_edit"
    bl_label = "Bake"

    @classmethod
    def poll(cls, context):
        if not poll_active_mesh(cls, context):
            return False
        if not len(context.active_object.face_edit.controllers):
            cls.poll_message_set("Set up the Face Edit sliders first")
            return False
        return True

    def run(self, context):
        from ...core.pipelines.edit_face import MODEL_FILE, edit_face
        from ..model_files import model_file

        obj = context.active_object
        settings = obj.face_edit
        values = {c.name: c.value for c in settings.controllers if c.value != 0.0}
        if not values:
            raise FaceAddonError("All sliders are at 0: nothing to bake")
        base = basis_positions(obj)
        result = edit_face(base, mesh_faces(obj), values, str(model_file(context, MODEL_FILE)))
        if settings.bake_target == "OBJECT":
            new = obj.copy()  # same topology, materials, UVs; the edited face becomes its plain mesh
            new.data = obj.data.copy()
            new.name = f"{obj.name} Edited"
            new.shape_key_clear()
            new.data.vertices.foreach_set("co", result.vertices.astype(np.float32).ravel())
            new.data.update()
            new.face_edit.controllers.clear()
            (context.collection or context.scene.collection).objects.link(new)
            target = new.name
        else:
            write_shape_keys(obj, {BAKED_KEY: result.vertices - base}, {BAKED_KEY: 1.0})
            target = f"shape key '{BAKED_KEY}'"
        for c in settings.controllers:
            c.value = 0.0
        self.report({"INFO"}, f"Baked {len(values)} controller(s) into {target} in {result.timings['edit_s']:.2f} s")
        return {"FINISHED"}
