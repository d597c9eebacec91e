"""Fixtures for tests that run inside the bpy module."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")


@pytest.fixture
def scene():
    """A fresh empty file with face_addon registered; unregistered again afterwards."""
    import face_addon

    bpy.ops.wm.read_factory_settings(use_empty=True)
    face_addon.register()
    yield bpy.context.scene
    face_addon.unregister()
