"""Add Face Model: a new FaceKit head with identity baked, 52 ARKit shape keys, part groups, landmarks."""
from __future__ import annotations

import bpy
import numpy as np

from ..facekit_object import create_head
from ..facekit_props import AGE_ITEMS
from ..facekit_store import facekit
from ..operator_base import FaceOperator, poll_object_mode


class FACE_OT_add_face_model(FaceOperator, bpy.types.Operator):
    """Add a FaceKit head: an open parametric head with ARKit expression shape keys and face-part vertex groups"""

    bl_idname = "face.add_face_model"
    bl_label = "Add Face Model"

    randomize: bpy.props.BoolProperty(name="Random Identity", default=False,
                                      description="Sample a face from the prior instead of the mean face")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)
    ages: bpy.props.EnumProperty(name="Ages", items=AGE_ITEMS, default="adult")
    subdivide: bpy.props.BoolProperty(name="Subdivide", default=False,
                                      description="One level of subdivision (about 4x the faces) for scan-resolution work")
    add_extras: bpy.props.BoolProperty(name="Eyes, Teeth, Tongue, Lashes", default=True)
    add_groups: bpy.props.BoolProperty(name="Part Vertex Groups", default=True)
    add_landmarks: bpy.props.BoolProperty(name="Landmark Empties", default=False)

    @classmethod
    def poll(cls, context):
        return poll_object_mode(cls, context)

    def run(self, context):
        fk = facekit()
        if self.randomize:
            alpha_id, _ = fk.sample_prior(np.random.default_rng(self.seed), 1, ages=self.ages)
            alpha_id = alpha_id[0]
        else:
            alpha_id = np.zeros(fk.n_identity, np.float32)
        for obj in context.selected_objects:
            obj.select_set(False)
        head = create_head(context, alpha_id, subdivide=self.subdivide, extras=self.add_extras,
                           groups=self.add_groups, landmarks=self.add_landmarks)
        head.select_set(True)
        context.view_layer.objects.active = head
        self.report({"INFO"}, f"Added '{head.name}': {len(head.data.vertices):,} vertices, "
                              f"{fk.n_expression} expression keys")
        return {"FINISHED"}
