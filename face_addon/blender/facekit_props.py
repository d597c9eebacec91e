"""Per-object FaceKit state (`Object.face_kit`): identity coefficients whose sliders re-bake the head."""
from __future__ import annotations

import bpy

#: the age ranges of the identity prior offered by Add Face Model and Randomize Face
AGE_ITEMS = [("adult", "Adult", "18-70 years"), ("teen", "Teen", "13-19 years"),
             ("elder", "Elder", "60-90 years"), ("all", "Any", "12-90 years")]


def _on_coefficient(self, context):
    obj = self.id_data
    if obj.face_kit.mute_updates:
        return
    from .facekit_object import apply_identity

    apply_identity(obj)


_GROUP_ITEMS: list[tuple[str, str, str]] = []  # Blender needs Python to keep dynamic enum items alive


def _group_items(self, context):
    groups = sorted({c.group for c in self.coefficients}, key=lambda g: (g != "Macro", g))
    _GROUP_ITEMS[:] = [(g, g, f"{g} identity sliders") for g in groups] or [("NONE", "None", "")]
    return _GROUP_ITEMS


class FaceKitCoefficient(bpy.types.PropertyGroup):
    name: bpy.props.StringProperty()
    group: bpy.props.StringProperty()
    value: bpy.props.FloatProperty(name="Value", soft_min=-1.0, soft_max=1.0, min=-2.0, max=2.0,
                                   update=_on_coefficient)


class FaceKitSettings(bpy.types.PropertyGroup):
    is_facekit: bpy.props.BoolProperty(default=False)
    subdivided: bpy.props.BoolProperty(default=False)
    mute_updates: bpy.props.BoolProperty(default=False, options={"SKIP_SAVE"})
    coefficients: bpy.props.CollectionProperty(type=FaceKitCoefficient)
    group: bpy.props.EnumProperty(name="Group", items=_group_items, description="Which identity sliders to show")


CLASSES = (FaceKitCoefficient, FaceKitSettings)


def register_properties() -> None:
    bpy.types.Object.face_kit = bpy.props.PointerProperty(type=FaceKitSettings)


def unregister_properties() -> None:
    del bpy.types.Object.face_kit
