"""Write pipeline results back onto Blender objects: vertex groups, shape keys, named empties.

Every writer creates or replaces only outputs it owns (by name, and for empties by the `face_addon` custom
property), so re-running an operator never touches the user's own groups, keys or objects. Vertex groups and
shape keys live on the mesh data, which several objects may share (Alt+D duplicates): writing them would change
every such object, so the writers first give the active object its own copy of the mesh (`own_mesh`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import bpy
import numpy as np

OWNER_PROP = "face_addon"


def own_mesh(obj: bpy.types.Object) -> bool:
    """Make `obj`'s mesh single-user (a copy) when other objects share it, so outputs written on it stay on
    this object; returns True when a copy was made. The other objects keep the original mesh."""
    me = obj.data
    if me.users - int(me.use_fake_user) <= 1:
        return False
    obj.data = me.copy()
    return True


def write_vertex_group(obj: bpy.types.Object, name: str, weights: np.ndarray, min_weight: float = 0.0) -> bpy.types.VertexGroup:
    """Create or replace vertex group `name` with per-vertex `weights` in [0, 1] (n,).

    Vertices with weight <= min_weight are left out of the group. Blender has no bulk setter for vertex-group
    weights (VertexGroup.add takes index lists: ~10x a coordinate read for 1M vertices), so the weights go
    into a temporary float attribute in one foreach_set and Blender's own Convert Attribute (C, skips zero
    weights) turns it into the group.
    """
    weights = np.asarray(weights, np.float64).ravel()
    own_mesh(obj)
    me = obj.data
    n = len(me.vertices)
    if weights.shape != (n,):
        raise ValueError(f"{len(weights)} weights for {n} vertices of '{obj.name}'")
    if not np.isfinite(weights).all():
        raise ValueError("vertex-group weights contain NaN or infinity")
    old = obj.vertex_groups.get(name)
    if old is not None:
        obj.vertex_groups.remove(old)
    values = np.where(weights > min_weight, np.clip(weights, 0.0, 1.0), 0.0).astype(np.float32)
    if not values.any():
        return obj.vertex_groups.new(name=name)
    temp = _unused_name(obj)
    attr = me.attributes.new(temp, "FLOAT", "POINT")
    attr.data.foreach_set("value", values)
    me.attributes.active = attr
    with bpy.context.temp_override(object=obj, active_object=obj):
        bpy.ops.geometry.attribute_convert(mode="VERTEX_GROUP")
    group = obj.vertex_groups[temp]
    group.name = name
    return group


def _unused_name(obj: bpy.types.Object) -> str:
    """A name no attribute or vertex group of `obj` has: the temporary attribute must not replace one."""
    i = 0
    while f"face_addon_weights{i}" in obj.data.attributes or f"face_addon_weights{i}" in obj.vertex_groups:
        i += 1
    return f"face_addon_weights{i}"


def _basis_coords(obj: bpy.types.Object) -> np.ndarray:
    me = obj.data
    if me.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
    basis = me.shape_keys.reference_key
    co = np.empty(len(me.vertices) * 3, np.float32)
    basis.points.foreach_get("co", co)  # `points` is a raw array (~300x faster than `data` for 1M vertices)
    return co.reshape(-1, 3)


def write_shape_keys(
    obj: bpy.types.Object,
    offsets: Mapping[str, np.ndarray],
    values: Mapping[str, float] | None = None,
    slider_range: tuple[float, float] = (0.0, 1.0),
) -> list[bpy.types.ShapeKey]:
    """Create or replace one shape key per name with position Basis + offset (n, 3), object-local metres.

    A Basis key is added when the object has none; other existing keys are kept.
    """
    own_mesh(obj)
    basis = _basis_coords(obj)
    keys = obj.data.shape_keys.key_blocks
    out = []
    for name, off in offsets.items():
        off = np.asarray(off, np.float32)
        if off.shape != basis.shape:
            raise ValueError(f"shape key '{name}': offsets {off.shape} do not match vertices {basis.shape}")
        key = keys.get(name)
        if key is None:
            key = obj.shape_key_add(name=name, from_mix=False)
        key.slider_min, key.slider_max = slider_range
        key.points.foreach_set("co", (basis + off).ravel())
        key.value = float((values or {}).get(name, 0.0))
        out.append(key)
    obj.data.update()
    return out


def write_empties(
    obj: bpy.types.Object,
    collection_name: str,
    names: Sequence[str],
    positions: np.ndarray,
    size: float,
    properties: Mapping[str, Sequence[float]] | None = None,
    parent_vertices: Sequence[int] | None = None,
) -> bpy.types.Collection:
    """Replace our empties in collection `collection_name` with one empty per name at object-local `positions`
    (k, 3), parented to `obj` so they follow it. `properties` adds per-empty custom float properties
    (e.g. {'confidence': [...]}). With `parent_vertices` each empty is vertex-parented instead, so it also
    follows shape keys and deformation (positions are then ignored). Objects in that collection that we did
    not create are left alone.
    """
    positions = np.asarray(positions, np.float64).reshape(-1, 3)
    if len(names) != len(positions):
        raise ValueError(f"{len(names)} names for {len(positions)} positions")
    coll = bpy.data.collections.get(collection_name)
    if coll is None:
        coll = bpy.data.collections.new(collection_name)
        bpy.context.scene.collection.children.link(coll)
    for old in [o for o in coll.objects if o.get(OWNER_PROP)]:
        bpy.data.objects.remove(old, do_unlink=True)
    for i, (name, pos) in enumerate(zip(names, positions)):
        empty = bpy.data.objects.new(name, None)
        empty.empty_display_type = "SPHERE"
        empty.empty_display_size = size
        empty.parent = obj
        if parent_vertices is None:
            empty.location = pos
        else:
            empty.parent_type = "VERTEX"
            empty.parent_vertices[0] = int(parent_vertices[i])
        empty[OWNER_PROP] = True
        for key, vals in (properties or {}).items():
            empty[key] = float(vals[i])
        coll.objects.link(empty)
    return coll
