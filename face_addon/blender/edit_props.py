"""Per-object Face Edit state (`Object.face_edit`): one slider per NEO-3DF controller, in σ units.

Each slider drives the shape key of the same label ("Nose Height"), computed at the face when the sliders
were set up, so dragging it only changes a key value and the viewport follows instantly. "Bake" replaces the
linear keys' sum by the exact nonlinear, ARAP-blended edit.
"""
from __future__ import annotations

import math

import bpy

from ..core.pipelines.edit_face import SIGMA_RANGE as SLIDER_RANGE  # one documented range for CLI and UI


def _on_value(self, context):
    if not math.isfinite(self.value):  # min/max do not stop NaN from a script or driver: back to neutral
        self.value = 0.0  # re-enters this callback once with a finite value
        return
    obj = self.id_data
    keys = obj.data.shape_keys if obj.type == "MESH" else None
    if keys is not None and self.label in keys.key_blocks:
        keys.key_blocks[self.label].value = self.value


class FaceEditController(bpy.types.PropertyGroup):
    name: bpy.props.StringProperty()  # controller id, e.g. nose_height
    label: bpy.props.StringProperty()  # shape key / UI name, e.g. Nose Height
    segment: bpy.props.StringProperty()
    value: bpy.props.FloatProperty(name="Value", description="Strength in standard deviations of the training faces",
                                   min=SLIDER_RANGE[0], max=SLIDER_RANGE[1], update=_on_value)


class FaceEditSettings(bpy.types.PropertyGroup):
    controllers: bpy.props.CollectionProperty(type=FaceEditController)
    bake_target: bpy.props.EnumProperty(
        name="Bake To", default="KEY",
        items=[("KEY", "Shape Key", "Add the exact edit as shape key 'Face Edit' on this object"),
               ("OBJECT", "New Object", "Create a new object with the edited face")])


CLASSES = (FaceEditController, FaceEditSettings)


def register_properties() -> None:
    bpy.types.Object.face_edit = bpy.props.PointerProperty(type=FaceEditSettings)


def unregister_properties() -> None:
    del bpy.types.Object.face_edit
