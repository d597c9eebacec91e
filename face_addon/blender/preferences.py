"""Add-on preferences: compute device, threads and optional model-file overrides.

There is no DINOv2 setting: which image backbone Segment Skin runs is recorded in its image-encoder weights file
(a DINOv2 encoder, trained with `face train skin_image --backbone dinov2 --dinov2-checkpoint FILE`, names its
checkpoint there) and is chosen with the Model Overrides folder like every other model; a checkpoint path on
its own could not be used, since no shipped head is trained on DINOv2 features (issue 20)."""
from __future__ import annotations

from dataclasses import dataclass

import bpy

ADDON_ID = __package__.rsplit(".", 1)[0]  # 'face_addon', or 'bl_ext.<repo>.face_addon' when installed


def _device_items(self, context):
    """CPU, and CUDA when torch sees a GPU (core/device.py: why not MPS)."""
    items = [("cpu", "CPU", "Run networks on the CPU")]
    import sys

    torch = sys.modules.get("torch")  # never import torch just to draw a menu
    if torch is not None and torch.cuda.is_available():
        items.append(("cuda", "CUDA", "Run Segment Skin's and Detect Landmarks' networks on the NVIDIA GPU"))
    return items


class FACE_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    device: bpy.props.EnumProperty(name="Compute Device", items=_device_items)
    threads: bpy.props.IntProperty(
        name="Threads", default=0, min=0, max=256, description="CPU threads for torch (0 = automatic)")
    models_dir: bpy.props.StringProperty(
        name="Model Overrides", subtype="DIR_PATH",
        description="Folder with weight files that replace the shipped ones (same file names)")

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "device")
        col.prop(self, "threads")
        col.prop(self, "models_dir")


@dataclass(frozen=True)
class Settings:
    """Preferences as plain values, with defaults when the add-on is registered without being 'enabled'
    (e.g. `python -m face_addon` on the bpy module)."""

    device: str = "cpu"
    threads: int = 0
    models_dir: str = ""


def settings(context: bpy.types.Context | None = None) -> Settings:
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is None or addon.preferences is None:
        return Settings()
    p = addon.preferences
    return Settings(device=p.device, threads=p.threads, models_dir=bpy.path.abspath(p.models_dir))


CLASSES = (FACE_AP_preferences,)
