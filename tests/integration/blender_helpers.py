"""Helpers for tests that build Blender objects."""
from __future__ import annotations

import bpy
import numpy as np


def make_object(name: str, verts, faces, select: bool = True) -> "bpy.types.Object":
    """A mesh object from python lists/arrays (faces may be n-gons), linked to the scene and made active."""
    me = bpy.data.meshes.new(name)
    me.from_pydata(np.asarray(verts, float).tolist(), [], [list(f) for f in faces])
    me.update()
    obj = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(obj)
    if select:
        bpy.context.view_layer.objects.active = obj
        obj.select_set(True)
    return obj


def group_weights(obj, name: str) -> np.ndarray:
    """Per-vertex weights of a vertex group."""
    from face_addon.blender.mesh_io import read_vertex_group

    return read_vertex_group(obj, name)


def skimage_photo(name: str):
    """Path of one of scikit-image's sample photos (a dev dependency); skips the test when it is missing."""
    from pathlib import Path

    import pytest

    skimage_data = pytest.importorskip("skimage.data")
    path = Path(skimage_data.__file__).parent / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the installed scikit-image")
    return path
