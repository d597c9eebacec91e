"""The weights file an operator runs: its own file property when the user set one, else the file of that name in
the preferences' model folder, else the shipped one (`core.models.resolve`: the rule lives in the core, this only
reads the two Blender settings it needs)."""
from __future__ import annotations

from pathlib import Path

import bpy

from ..core.models import resolve
from . import preferences


def models_dir(context: bpy.types.Context) -> str:
    """The preferences' model folder ("" when unset)."""
    return preferences.settings(context).models_dir


def model_file(context: bpy.types.Context, name: str, explicit: str = "") -> Path:
    """`explicit` (an operator's Weights property, Blender-relative paths allowed) when set, else
    `resolve(name, <model folder>)`; WeightsError when the file is found nowhere."""
    if explicit:
        return Path(bpy.path.abspath(explicit))
    return resolve(name, models_dir(context))
