"""Shared test set-up. Unit tests (tests/unit) never import bpy; integration tests (tests/integration) use the
bpy module and get a fresh empty scene with the add-on registered."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("FACE_ADDON_RAISE", "1")  # unexpected errors fail tests instead of becoming reports
# Blender's user folders go to a throw-away dir before anything imports bpy: tests never touch ~/.config/blender
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="face_addon_blender_user_")


@pytest.fixture(scope="session")
def real_data() -> Path:
    """`../shared/real` (tests/bench/real_data.py finds it); the test skips where it is absent, as in a user's clone."""
    sys.path.insert(0, str(REPO / "tests" / "bench"))
    from real_data import real_root

    root = real_root()
    if root is None:
        pytest.skip("real data (../shared/real) not present")
    return root
