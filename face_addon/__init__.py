"""face_addon: 3D face research tools for Blender (skin segmentation, landmarks, photo reconstruction, editing).

This file only registers; it must not import bpy at module level so that `face_addon.core` stays importable
without Blender. It is the composition root: it hands the CLI entry to the Blender layer (docs/architecture.md).
"""
__version__ = "0.1.0"


def register() -> None:
    from .blender import registration
    from .cli.main import blender_cli_entry

    registration.register(cli_entry=blender_cli_entry)


def unregister() -> None:
    from .blender import registration

    registration.unregister()
