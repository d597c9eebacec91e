"""Idempotent register/unregister of every class, the CLI command and the add-on's properties."""
from __future__ import annotations

from typing import Callable

import bpy

from . import edit_panel, edit_props, facekit_props, operators, panels, preferences

_CLASSES = (*preferences.CLASSES, *facekit_props.CLASSES, *edit_props.CLASSES, *operators.CLASSES, *panels.CLASSES,
            *edit_panel.CLASSES)
_state: dict[str, object] = {"registered": False, "cli": None}


def register(cli_entry: Callable[[list[str]], int] | None = None) -> None:
    """Register everything once; a second call is a no-op. `cli_entry` becomes Blender's `face` command: the
    add-on's entry point (face_addon/__init__.py) passes it, so this adapter never imports the CLI layer."""
    if _state["registered"]:
        return
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    facekit_props.register_properties()
    edit_props.register_properties()
    bpy.types.VIEW3D_MT_mesh_add.append(panels.menu_add_face_model)
    bpy.types.TOPBAR_MT_file_import.append(operators.reconstruct_photo.menu_import_photo)
    if cli_entry is not None:
        _state["cli"] = bpy.utils.register_cli_command("face", cli_entry)
    _state["registered"] = True


def unregister() -> None:
    """Remove everything register() added, in reverse order; calling it again is a no-op."""
    if not _state["registered"]:
        return
    if _state["cli"] is not None:
        bpy.utils.unregister_cli_command(_state["cli"])
        _state["cli"] = None
    bpy.types.TOPBAR_MT_file_import.remove(operators.reconstruct_photo.menu_import_photo)
    bpy.types.VIEW3D_MT_mesh_add.remove(panels.menu_add_face_model)
    edit_props.unregister_properties()
    facekit_props.unregister_properties()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
    _state["registered"] = False
