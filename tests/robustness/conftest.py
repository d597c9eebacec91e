"""Fixtures of the robustness suite: the corpus (built once per session, never committed) and face_addon
registered on the bpy module, as `python -m face_addon` does (module_entry) but once for all cases."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "integration")]  # robust_* (also used by the benchmark), blender_helpers

bpy = pytest.importorskip("bpy")


@pytest.fixture(scope="session")
def registered():
    import face_addon

    face_addon.register()
    yield
    face_addon.unregister()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    from robust_corpus import build_corpus

    return build_corpus(tmp_path_factory.mktemp("corpus"))
