"""Set up the Face Edit sliders on the active face: one linearised shape key per NEO-3DF controller."""
from __future__ import annotations

import bpy

from ..edit_mesh import basis_positions, mesh_faces
from ..edit_props import SLIDER_RANGE
from ..operator_base import PipelineOperator, poll_active_mesh
from ..step_runner import Offload
from ..writers import write_shape_keys


class FACE_OT_edit_face(PipelineOperator, bpy.types.Operator):
    """Add one slider (and shape key) per face-part controller, computed at the current face"""

    bl_idname = "face.edit_face"
    bl_label = "Face Edit"

    @classmethod
    def poll(cls, context):
        return poll_active_mesh(cls, context)

    def steps(self, context):
        from ...core.pipelines.edit_face import MODEL_FILE, controller_keys
        from ..model_files import model_file

        obj = context.active_object
        basis, faces, model = basis_positions(obj), mesh_faces(obj), str(model_file(context, MODEL_FILE))
        result = yield Offload(lambda progress, cancel: controller_keys(basis, faces, model), stage="computing the "
                               "controllers' shape keys")
        settings = obj.face_edit
        old = {c.name: c.value for c in settings.controllers}
        labels = {c.name: c.label for c in result.controllers}
        write_shape_keys(obj, {labels[k]: v for k, v in result.offsets.items()},
                         {labels[k]: old.get(k, 0.0) for k in result.offsets}, slider_range=SLIDER_RANGE)
        settings.controllers.clear()
        for c in result.controllers:
            item = settings.controllers.add()
            item.name, item.label, item.segment = c.name, c.label, c.segment
            item.value = old.get(c.name, 0.0)
        self.report({"INFO"}, f"{len(result.controllers)} face edit sliders in {result.timings['keys_s']:.1f} s")
        return {"FINISHED"}
