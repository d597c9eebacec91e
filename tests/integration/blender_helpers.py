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


def colored_sphere(name: str = "Scan"):
    """A UV sphere (quads + triangle fans) with an active point colour attribute 'Col' (red top, grey bottom)."""
    bpy.ops.mesh.primitive_uv_sphere_add(segments=48, ring_count=24, radius=0.1)
    obj = bpy.context.active_object
    obj.name = name
    me = obj.data
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    z = co.reshape(-1, 3)[:, 2]
    rgba = np.where((z > 0)[:, None], [0.8, 0.2, 0.2, 1.0], [0.3, 0.3, 0.3, 1.0]).astype(np.float32)
    attr = me.color_attributes.new("Col", "FLOAT_COLOR", "POINT")
    attr.data.foreach_set("color", rgba.ravel())
    me.color_attributes.active_color = attr
    return obj


def evaluated_vertices(obj, world: bool = False) -> np.ndarray:
    """(n, 3) vertex positions after modifiers and shape keys, object-local or in world space."""
    dg = bpy.context.evaluated_depsgraph_get()
    me = obj.evaluated_get(dg).to_mesh()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    obj.evaluated_get(dg).to_mesh_clear()
    v = co.reshape(-1, 3).astype(np.float64)
    if world:
        m = np.array(obj.matrix_world)
        v = v @ m[:3, :3].T + m[:3, 3]
    return v
