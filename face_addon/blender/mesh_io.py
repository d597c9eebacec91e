"""Blender object <-> `core.Mesh`, moved in bulk with foreach_get/foreach_set (no per-vertex Python).

Reading triangulates n-gons through loop triangles, so face indices always refer to the object's own vertices
and per-vertex results can be written straight back to it.
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core.color import linear_to_srgb
from ..core.mesh import Mesh, MeshError


def _world_matrix(obj: bpy.types.Object) -> np.ndarray:
    return np.array(obj.matrix_world, dtype=np.float64)


def _int_attribute(me: bpy.types.Mesh, name: str, size: int) -> np.ndarray:
    out = np.empty(size, np.int32)
    if size:
        me.attributes[name].data.foreach_get("value", out)
    return out


def _polygon_starts(me: bpy.types.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """(loop_start, corner count) per polygon. Counted from the loop-triangle -> polygon map (a polygon of k
    corners has k - 2 triangles), a raw int array that reads ~30x faster than RNA's polygons.foreach_get
    ('loop_start'); that path is kept for invalid polygons (< 3 corners) the count cannot see."""
    n_poly, n_loops = len(me.polygons), len(me.loops)
    me.calc_loop_triangles()
    tri_poly = np.empty(len(me.loop_triangles), np.int32)
    me.loop_triangle_polygons.foreach_get("value", tri_poly)
    total = np.bincount(tri_poly, minlength=n_poly).astype(np.int32) + 2
    if int(total.sum()) != n_loops:
        start = np.empty(n_poly, np.int32)
        me.polygons.foreach_get("loop_start", start)
        return start, np.diff(np.append(start, np.int32(n_loops)))
    start = np.zeros(n_poly, np.int32)
    np.cumsum(total[:-1], out=start[1:])
    return start, total


def _triangle_loops(me: bpy.types.Mesh) -> np.ndarray:
    """(m, 3) int32 loop indices of a triangulation. Triangles and quads are fanned in numpy (exact for
    triangles, a valid split for quads) because RNA's loop_triangles.foreach_get is ~20x slower than the
    attribute path; meshes with n-gons (> 4 corners, possibly concave) use Blender's own loop triangles."""
    if len(me.polygons) == 0:
        return np.zeros((0, 3), np.int32)
    start, total = _polygon_starts(me)
    if total.max() > 4:
        loops = np.empty(len(me.loop_triangles) * 3, np.int32)
        me.loop_triangles.foreach_get("loops", loops)
        return loops.reshape(-1, 3)
    if total.min() == 3 and total.max() == 3:  # all triangles: the loops in order, no gather needed
        return np.arange(len(me.loops), dtype=np.int32).reshape(-1, 3)
    quads = start[total == 4]
    out = np.empty((len(start) + len(quads), 3), np.int32)
    out[: len(start)] = start[:, None] + np.arange(3, dtype=np.int32)
    out[len(start):] = quads[:, None] + np.array([0, 2, 3], np.int32)
    return out


def _read_colors(me: bpy.types.Mesh, n: int, corner_verts: np.ndarray | None) -> np.ndarray | None:
    """Active color attribute as per-vertex linear RGB (corner colors are averaged per vertex)."""
    attr = me.color_attributes.active_color
    if attr is None:
        return None
    buf = np.empty(len(attr.data) * 4, np.float32)
    attr.data.foreach_get("color", buf)
    rgba = buf.reshape(-1, 4)
    if attr.domain == "POINT":
        return rgba[:, :3].copy()
    if attr.domain == "CORNER" and corner_verts is not None:
        counts = np.bincount(corner_verts, minlength=n).astype(np.float32)
        out = np.stack([np.bincount(corner_verts, rgba[:, c], minlength=n) for c in range(3)], axis=1)
        return (out / np.maximum(counts, 1)[:, None]).astype(np.float32)
    return None


def _base_color_image(mat: bpy.types.Material) -> bpy.types.Image | None:
    """The image of the material's Image Texture node that feeds a shader's Base Color (or Color) input, else
    of its first Image Texture node with an image."""
    nodes = [n for n in mat.node_tree.nodes if n.type == "TEX_IMAGE" and n.image is not None]
    for link in mat.node_tree.links:
        if link.from_node in nodes and link.to_socket.name in ("Base Color", "Color"):
            return link.from_node.image
    return nodes[0].image if nodes else None


def _read_texture(obj: bpy.types.Object) -> tuple[np.ndarray | None, str | None]:
    """The active material's base colour image as `Mesh.texture` ((h, w, 3) float32 sRGB-encoded, row 0 at the
    top), or (None, reason) when it is named but cannot be loaded; (None, None) without one."""
    mat = obj.active_material
    if mat is None or mat.node_tree is None:
        return None, None
    img = _base_color_image(mat)
    if img is None:
        return None, None
    if not img.has_data:
        try:
            img.pixels[0]  # forces a load attempt
        except (IndexError, RuntimeError):
            pass
    w, h = img.size
    if w == 0 or h == 0:
        return None, (f"'{obj.name}': texture '{img.name}' could not be loaded (missing file {img.filepath!r}): "
                      "using the geometry only")
    px = np.empty(w * h * img.channels, np.float32)
    img.pixels.foreach_get(px)
    px = px.reshape(h, w, img.channels)[::-1]  # Blender stores the bottom row first
    rgb = px[..., :3] if img.channels >= 3 else np.repeat(px[..., :1], 3, axis=2)
    # byte images hand out their stored (sRGB) bytes / 255; float images hold linear light
    if img.is_float or img.colorspace_settings.name not in ("sRGB", "sRGB EOTF"):
        rgb = linear_to_srgb(rgb).astype(np.float32)
    return np.ascontiguousarray(rgb), None


def read_mesh(
    obj: bpy.types.Object,
    *,
    space: str = "WORLD",
    evaluated: bool = False,
    with_texture: bool = False,
) -> tuple[Mesh, list[str]]:
    """Read `obj` as a Mesh (vertex positions in WORLD or LOCAL space). Returns (mesh, warnings).

    `evaluated=True` reads the mesh after modifiers (vertex indices then no longer match the object's data, so
    writers must not be used with it). Raises MeshError for non-mesh objects and meshes without vertices (named
    here: the pipelines that get the arrays would call it 'mesh').
    """
    if obj is None:
        raise MeshError("No active object: select a mesh first.")
    if obj.type != "MESH":
        raise MeshError(f"'{obj.name}' is a {obj.type.lower()}, not a mesh.")
    warnings: list[str] = []
    eval_obj = None
    if evaluated:
        eval_obj = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        me = eval_obj.to_mesh()
    else:
        me = obj.data
    try:
        n = len(me.vertices)
        co = np.empty(n * 3, np.float32)
        if n:
            me.attributes["position"].data.foreach_get("vector", co)
        verts = co.reshape(-1, 3).astype(np.float64)
        corner_verts = _int_attribute(me, ".corner_vert", len(me.loops))
        tri_loops = _triangle_loops(me)
        tris = np.take(corner_verts.astype(np.int64), tri_loops)
        colors = _read_colors(me, n, corner_verts)
        uv = None
        if me.uv_layers.active is not None and len(tri_loops):
            loop_uv = np.empty(len(me.loops) * 2, np.float32)
            me.uv_layers.active.uv.foreach_get("vector", loop_uv)
            uv = np.take(loop_uv.reshape(-1, 2), tri_loops, axis=0)
    finally:
        if eval_obj is not None:
            eval_obj.to_mesh_clear()
    if space not in ("WORLD", "LOCAL"):
        raise ValueError(f"space must be 'WORLD' or 'LOCAL', not {space!r}")
    if space == "WORLD":
        m = _world_matrix(obj)
        if not np.array_equal(m, np.eye(4)):  # most objects sit unmoved: skip 1M-row products then
            verts = verts @ m[:3, :3].T
            verts += m[:3, 3]
    texture = None
    if with_texture:
        texture, reason = _read_texture(obj)
        if reason:
            warnings.append(reason)
    mesh = Mesh(verts, tris, colors=colors, uv=uv, texture=texture, name=obj.name)
    if not mesh.n_vertices:
        mesh.validate()  # "'<object>' has no vertices."
    return mesh, warnings


def new_mesh_object(
    name: str,
    mesh: Mesh,
    collection: bpy.types.Collection | None = None,
) -> bpy.types.Object:
    """Create a new object from a Mesh (positions taken as object-local), linked to `collection` or the scene's."""
    me = bpy.data.meshes.new(name)
    n, m = mesh.n_vertices, mesh.n_faces
    me.vertices.add(n)
    me.vertices.foreach_set("co", mesh.vertices.astype(np.float32).ravel())
    if m:
        me.loops.add(m * 3)
        me.loops.foreach_set("vertex_index", mesh.faces.astype(np.int32).ravel())
        me.polygons.add(m)
        me.polygons.foreach_set("loop_start", np.arange(0, m * 3, 3, dtype=np.int32))
    me.update(calc_edges=True)
    me.validate(clean_customdata=False)
    if mesh.colors is not None:
        attr = me.color_attributes.new("Col", "FLOAT_COLOR", "POINT")
        rgba = np.concatenate([mesh.colors, np.ones((n, 1), np.float32)], axis=1)
        attr.data.foreach_set("color", rgba.astype(np.float32).ravel())
    obj = bpy.data.objects.new(name, me)
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def read_vertex_group(obj: bpy.types.Object, name: str) -> np.ndarray:
    """(n,) weights of vertex group `name` (0 where a vertex is not in it). Blender has no bulk getter for
    group membership, so this loops in Python: fine up to a few hundred thousand vertices."""
    gi = obj.vertex_groups[name].index
    out = np.zeros(len(obj.data.vertices))
    for v in obj.data.vertices:
        for g in v.groups:
            if g.group == gi:
                out[v.index] = g.weight
    return out
