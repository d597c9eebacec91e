"""FaceKit heads as Blender objects: identity baked into the Basis, ARKit expressions as shape keys.

The object stores its identity coefficients (`Object.face_kit`) so the sidebar sliders can re-bake the Basis;
because the model is linear, each expression key is Basis + its (identity-independent) expression offset, so
an identity change rewrites the Basis and shifts every key by the same amount. Extras (eyes, teeth, tongue,
lashes) are child objects whose keys are driven by the head's keys, so any ARKit driver moves them too.
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core import ibug68
from ..core.facekit import FaceKit
from ..core.facekit.model import LinearMesh
from ..core.mesh import Mesh
from .facekit_store import facekit, identity_group
from .materials import plain_material, skin_material
from .mesh_io import new_mesh_object
from .writers import write_empties, write_shape_keys, write_vertex_group

EXTRA_PROP = "face_addon_extra"
EXTRA_COLORS = {"eyeballs": (0.9, 0.9, 0.88), "teeth": (0.85, 0.82, 0.72), "tongue": (0.6, 0.2, 0.2),
                "eyelashes": (0.03, 0.02, 0.02)}


def _set_positions(obj: bpy.types.Object, positions: np.ndarray) -> None:
    """Move the mesh and its Basis key (when present) to `positions`, keeping the other keys' offsets."""
    me = obj.data
    flat = positions.astype(np.float32).ravel()
    if me.shape_keys is not None:
        basis = me.shape_keys.reference_key
        old = np.empty(len(flat), np.float32)
        basis.data.foreach_get("co", old)
        delta = flat - old
        for key in me.shape_keys.key_blocks:
            co = np.empty(len(flat), np.float32)
            key.data.foreach_get("co", co)
            key.data.foreach_set("co", co + delta)
    me.vertices.foreach_set("co", flat)
    me.update()


def _expression_keys(obj: bpy.types.Object, model: LinearMesh, names: list[str], every: bool) -> list[str]:
    """One shape key per expression (`every`: all 52, so any ARKit rig finds its keys; else only those that
    move this mesh); returns the names written."""
    keep = [k for k in range(len(names)) if every or np.abs(model.exp_basis[:, :, k]).max() > 1e-7]
    write_shape_keys(obj, {names[k]: model.exp_basis[:, :, k] for k in keep})
    return [names[k] for k in keep]


def _drive_from(head_keys: bpy.types.Key, extra: bpy.types.Object, names: list[str]) -> None:
    for name in names:
        fcurve = extra.data.shape_keys.key_blocks[name].driver_add("value")
        drv = fcurve.driver
        drv.type = "AVERAGE"
        var = drv.variables.new()
        var.type = "SINGLE_PROP"
        var.targets[0].id_type = "KEY"
        var.targets[0].id = head_keys
        var.targets[0].data_path = f'key_blocks["{name}"].value'


def store_identity(obj: bpy.types.Object, fk: FaceKit, alpha_id: np.ndarray) -> None:
    """Fill the object's coefficient collection (names, UI groups, values) without triggering re-bakes."""
    settings = obj.face_kit
    settings.is_facekit = True
    settings.mute_updates = True
    try:
        settings.coefficients.clear()
        for name, value in zip(fk.id_names, alpha_id):
            item = settings.coefficients.add()
            item.name, item.group, item.value = name, identity_group(name), float(value)
    finally:
        settings.mute_updates = False


def identity_of(obj: bpy.types.Object) -> np.ndarray:
    """The identity coefficients stored on a FaceKit object, in FaceKit order."""
    coeffs = obj.face_kit.coefficients
    values = np.empty(len(coeffs), np.float32)
    coeffs.foreach_get("value", values)
    return values


def apply_identity(obj: bpy.types.Object, alpha_id: np.ndarray | None = None) -> None:
    """Re-bake the head (and its extras) for `alpha_id` (default: the stored coefficients)."""
    fk = facekit()
    if alpha_id is None:
        alpha_id = identity_of(obj)
    else:
        store_identity(obj, fk, alpha_id)
    model = fk.subdivided() if obj.face_kit.subdivided else fk
    _set_positions(obj, model.evaluate(alpha_id))
    for child in obj.children:
        name = child.get(EXTRA_PROP)
        if name in fk.extras:
            _set_positions(child, fk.extras[name].evaluate(alpha_id))


def create_head(
    context: bpy.types.Context,
    alpha_id: np.ndarray,
    *,
    name: str = "FaceKit Head",
    subdivide: bool = False,
    extras: bool = True,
    groups: bool = True,
    landmarks: bool = True,
    tone: tuple[float, float, float] = (0.8, 0.56, 0.45),
) -> bpy.types.Object:
    """Create a FaceKit head object at the 3D cursor with the given identity. Returns the head object."""
    fk = facekit()
    model = fk.subdivided() if subdivide else fk
    coll = context.collection or context.scene.collection
    head = new_mesh_object(name, Mesh(model.evaluate(alpha_id), model.faces), coll)
    head.location = context.scene.cursor.location
    head.data.polygons.foreach_set("use_smooth", np.ones(len(head.data.polygons), bool))
    head.data.materials.append(skin_material(tone=tone))
    head.face_kit.subdivided = subdivide
    store_identity(head, fk, alpha_id)
    _expression_keys(head, model, fk.exp_names, every=True)
    if groups:
        n = model.n_vertices
        sets = {**{f"part.{k}": v for k, v in model.parts.items()},
                **{f"segment.{k}": v for k, v in model.segments.items()}, "spa": model.spa}
        for group_name, idx in sets.items():
            w = np.zeros(n)
            w[idx] = 1.0
            write_vertex_group(head, group_name, w)
    if extras:
        for extra_name, extra_model in fk.extras.items():
            child = new_mesh_object(f"{name} {extra_name}", Mesh(extra_model.evaluate(alpha_id), extra_model.faces),
                                    coll)
            child.parent = head
            child[EXTRA_PROP] = extra_name
            child.data.polygons.foreach_set("use_smooth", np.ones(len(child.data.polygons), bool))
            child.data.materials.append(plain_material(f"FaceKit {extra_name}",
                                                       EXTRA_COLORS.get(extra_name, (0.5, 0.5, 0.5))))
            driven = _expression_keys(child, extra_model, fk.exp_names, every=False)
            _drive_from(head.data.shape_keys, child, driven)
    if landmarks:
        write_landmark_empties(head, model.landmark_indices)
    return head


def write_landmark_empties(head: bpy.types.Object, vertex_indices: np.ndarray) -> bpy.types.Collection:
    """68 named empties vertex-parented to the head, so they follow expression shape keys."""
    return write_empties(head, f"{head.name} Landmarks", ibug68.empty_names(), np.zeros((len(vertex_indices), 3)),
                         size=0.003, parent_vertices=vertex_indices)


def set_expression_keys(head: bpy.types.Object, names: list[str], values: np.ndarray) -> np.ndarray:
    """Set the head's ARKit keys to `values`, clamped to each key's slider range; returns what was set."""
    blocks = head.data.shape_keys.key_blocks
    out = np.empty(len(names))
    for k, name in enumerate(names):
        kb = blocks[name]
        kb.value = float(np.clip(values[k], kb.slider_min, kb.slider_max))
        out[k] = kb.value
    return out
