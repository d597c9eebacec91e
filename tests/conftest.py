"""Shared test set-up. Unit tests (tests/unit) never import bpy; integration tests (tests/integration) use the
bpy module and get a fresh empty scene with the add-on registered."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("FACE_ADDON_RAISE", "1")  # unexpected errors fail tests instead of becoming reports
# Blender's user folders go to a throw-away dir before anything imports bpy: tests never touch ~/.config/blender
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="face_addon_blender_user_")
