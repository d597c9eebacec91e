"""Randomize / reset the identity of the active FaceKit head (the sidebar's buttons)."""
from __future__ import annotations

import bpy
import numpy as np

from ..facekit_object import apply_identity
from ..facekit_props import AGE_ITEMS
from ..facekit_store import facekit
from ..operator_base import FaceOperator


def _poll_facekit(cls, context) -> bool:
    obj = context.active_object
    if obj is None or not obj.face_kit.is_facekit:
        cls.poll_message_set("Select a FaceKit head (Add Face Model) first")
        return False
    return True


class FACE_OT_randomize_face(FaceOperator, bpy.types.Operator):
    """Give the active FaceKit head a new random identity from the prior"""

    bl_idname = "face.randomize_face"
    bl_label = "Randomize"

    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)
    ages: bpy.props.EnumProperty(name="Ages", items=AGE_ITEMS, default="adult")

    @classmethod
    def poll(cls, context):
        return _poll_facekit(cls, context)

    def invoke(self, context, event):
        self.seed = int(np.random.default_rng().integers(0, 2**31 - 1))  # a new face per click
        return self.execute(context)

    def run(self, context):
        alpha_id, _ = facekit().sample_prior(np.random.default_rng(self.seed), 1, ages=self.ages)
        apply_identity(context.active_object, alpha_id[0])
        return {"FINISHED"}


class FACE_OT_reset_face(FaceOperator, bpy.types.Operator):
    """Reset the active FaceKit head to the mean face"""

    bl_idname = "face.reset_face"
    bl_label = "Reset Identity"

    @classmethod
    def poll(cls, context):
        return _poll_facekit(cls, context)

    def run(self, context):
        apply_identity(context.active_object, np.zeros(facekit().n_identity, np.float32))
        return {"FINISHED"}
