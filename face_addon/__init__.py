"""face_addon: 3D face research tools for Blender (skin segmentation, landmarks, photo reconstruction, editing).

This file only registers; it must not import bpy at module level so that `face_addon.core` stays importable
without Blender.
"""
__version__ = "0.1.0"


def register() -> None:
    from .blender import registration

    registration.register()


def unregister() -> None:
    from .blender import registration

    registration.unregister()
