"""A new object holding part of another object's mesh (e.g. only its skin), built in bulk with foreach_get/set.

The source object is never modified. Polygons (n-gons included) whose corners are all kept are copied with
every point, corner and face attribute Blender can hand over in bulk (UV maps, colours, material indices...).
"""
from __future__ import annotations

import bpy
import numpy as np

from .writers import OWNER_PROP

_FOREACH_PROP = {"FLOAT": ("value", 1, np.float32), "INT": ("value", 1, np.int32), "BOOLEAN": ("value", 1, bool),
                 "INT8": ("value", 1, np.int32), "FLOAT_VECTOR": ("vector", 3, np.float32),
                 "FLOAT2": ("vector", 2, np.float32), "FLOAT_COLOR": ("color", 4, np.float32),
                 "BYTE_COLOR": ("color", 4, np.float32)}


def _ints(seq, prop: str, size: int) -> np.ndarray:
    out = np.empty(size, np.int32)
    if size:
        seq.foreach_get(prop, out)
    return out


def _copy_attributes(src: bpy.types.Mesh, dst: bpy.types.Mesh, rows: dict[str, np.ndarray]) -> None:
    """Copy the bulk-copyable point/corner/face attributes, taking `rows[domain]` of each."""
    for attr in src.attributes:
        if attr.name.startswith(".") or attr.name == "position" or attr.domain not in rows:
            continue
        spec = _FOREACH_PROP.get(attr.data_type)
        if spec is None or dst.attributes.get(attr.name) is not None:
            continue
        prop, width, dtype = spec
        buf = np.empty(len(attr.data) * width, dtype)
        attr.data.foreach_get(prop, buf)
        new = dst.attributes.new(attr.name, attr.data_type, attr.domain)
        new.data.foreach_set(prop, buf.reshape(len(attr.data), width)[rows[attr.domain]].ravel())
    if src.color_attributes.active_color is not None:
        active = dst.color_attributes.get(src.color_attributes.active_color.name)
        if active is not None:
            dst.color_attributes.active_color = active


def split_object(obj: bpy.types.Object, keep_vertex: np.ndarray, name: str) -> bpy.types.Object:
    """Create (or replace our previous) object `name` with the polygons of `obj` whose vertices are all in
    `keep_vertex` (n,) bool; same transform, materials and collections as `obj`."""
    src = obj.data
    keep_vertex = np.asarray(keep_vertex, bool)
    corner_vert = _ints(src.attributes[".corner_vert"].data, "value", len(src.loops)) if len(src.loops) else \
        np.zeros(0, np.int32)
    start = _ints(src.polygons, "loop_start", len(src.polygons))
    total = _ints(src.polygons, "loop_total", len(src.polygons))
    if len(start):
        keep_poly = np.logical_and.reduceat(keep_vertex[corner_vert], start)
    else:
        keep_poly = np.zeros(0, bool)
    keep_loop = np.repeat(keep_poly, total)
    used = np.unique(corner_vert[keep_loop])
    remap = np.full(len(src.vertices), -1, np.int64)
    remap[used] = np.arange(len(used))

    old = bpy.data.objects.get(name)
    if old is not None and old.get(OWNER_PROP):
        old_mesh = old.data
        bpy.data.objects.remove(old, do_unlink=True)
        if old_mesh.users == 0:
            bpy.data.meshes.remove(old_mesh)
    me = bpy.data.meshes.new(name)
    co = np.empty(len(src.vertices) * 3, np.float32)
    src.vertices.foreach_get("co", co)
    me.vertices.add(len(used))
    me.vertices.foreach_set("co", co.reshape(-1, 3)[used].ravel())
    me.loops.add(int(keep_loop.sum()))
    me.loops.foreach_set("vertex_index", remap[corner_vert[keep_loop]].astype(np.int32))
    me.polygons.add(int(keep_poly.sum()))
    new_total = total[keep_poly]
    me.polygons.foreach_set("loop_start", (np.cumsum(new_total) - new_total).astype(np.int32))
    me.update(calc_edges=True)
    _copy_attributes(src, me, {"POINT": used, "CORNER": np.flatnonzero(keep_loop), "FACE": np.flatnonzero(keep_poly)})
    for mat in src.materials:
        me.materials.append(mat)
    me.validate(clean_customdata=False)
    new = bpy.data.objects.new(name, me)
    new.matrix_world = obj.matrix_world.copy()
    new[OWNER_PROP] = True
    for coll in obj.users_collection:
        coll.objects.link(new)
    return new
