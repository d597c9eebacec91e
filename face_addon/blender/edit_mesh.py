"""The mesh Face Edit works on, read from Blender: shared by the Face Edit and Bake Face Edit operators (an
operator never imports another operator, docs/architecture.md)."""
from __future__ import annotations

import bpy
import numpy as np


def basis_positions(obj: bpy.types.Object) -> np.ndarray:
    """The face being edited: the Basis key when there are shape keys (expressions stay keys), else the mesh."""
    me = obj.data
    co = np.empty(len(me.vertices) * 3, np.float32)
    src = me.shape_keys.reference_key.data if me.shape_keys is not None else me.vertices
    src.foreach_get("co", co)
    return co.reshape(-1, 3).astype(np.float64)


def mesh_faces(obj: bpy.types.Object) -> np.ndarray | None:
    """Triangle indices (m, 3) of a triangulated mesh, None when any polygon is not a triangle."""
    me = obj.data
    if any(p.loop_total != 3 for p in me.polygons):
        return None  # not triangulated like FaceKit; the vertex-count check still applies
    idx = np.empty(len(me.polygons) * 3, np.int32)
    me.polygons.foreach_get("vertices", idx)
    return idx.reshape(-1, 3).astype(np.int64)
