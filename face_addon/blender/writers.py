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
WEIGHT_LEVELS = 1000  # vertex-group weights are quantised to 1/1000: one VertexGroup.add call per level


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
    weights, so weights are quantised and added one level at a time (<= 1001 calls, independent of n).
    """
    weights = np.asarray(weights, np.float64).ravel()
    own_mesh(obj)
    n = len(obj.data.vertices)
    if weights.shape != (n,):
        raise ValueError(f"{len(weights)} weights for {n} vertices of '{obj.name}'")
    if not np.isfinite(weights).all():
        raise ValueError("vertex-group weights contain NaN or infinity")
    old = obj.vertex_groups.get(name)
    if old is not None:
        obj.vertex_groups.remove(old)
    group = obj.vertex_groups.new(name=name)
    levels = np.rint(np.clip(weights, 0.0, 1.0) * WEIGHT_LEVELS).astype(np.int64)
    keep = np.flatnonzero(weights > min_weight)
    if len(keep) == 0:
        return group
    order = keep[np.argsort(levels[keep], kind="stable")]
    lv = levels[order]
    starts = np.flatnonzero(np.r_[True, lv[1:] != lv[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends):
        group.add(order[s:e].tolist(), float(lv[s]) / WEIGHT_LEVELS, "REPLACE")
    return group


def _basis_coords(obj: bpy.types.Object) -> np.ndarray:
    me = obj.data
    if me.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
    basis = me.shape_keys.reference_key
    co = np.empty(len(me.vertices) * 3, np.float32)
    basis.data.foreach_get("co", co)
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
        key.data.foreach_set("co", (basis + off).ravel())
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
