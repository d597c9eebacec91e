"""Small Cycles renders of an object from a few directions, tiled into one contact sheet PNG.

Used by `face demo` and the docs scripts so that results can be looked at, not only asserted. Landmark
positions are shown as small emissive spheres that exist only during the render.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

VIEWS = {"front": (0.0, -1.0, 0.0), "three_quarter": (0.7, -0.7, 0.0), "side": (1.0, 0.0, 0.0)}


def _bbox_world(objects: Sequence[bpy.types.Object]) -> tuple[np.ndarray, float]:
    """Centre and diagonal of the world-space bounding box around all `objects`."""
    corners = np.array([o.matrix_world @ Vector(c) for o in objects for c in o.bound_box])
    lo, hi = corners.min(0), corners.max(0)
    return (lo + hi) / 2, float(np.linalg.norm(hi - lo))


RED = (1.0, 0.05, 0.02)


def _marker_material(color: tuple[float, float, float]) -> bpy.types.Material:
    name = "FaceAddon Marker {:.2f} {:.2f} {:.2f}".format(*color)
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    if mat.node_tree is None:  # Blender 4.x creates materials without nodes
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    nodes.clear()
    emit = nodes.new("ShaderNodeEmission")
    emit.inputs["Color"].default_value = (*color, 1.0)
    emit.inputs["Strength"].default_value = 4.0
    out = nodes.new("ShaderNodeOutputMaterial")
    mat.node_tree.links.new(emit.outputs[0], out.inputs[0])
    return mat


def add_markers(points: np.ndarray, radius: float, color: tuple[float, float, float] = RED) -> list[bpy.types.Object]:
    """Small emissive spheres at world `points` (k, 3); the caller removes them (render_sheet does for its own)."""
    mat = _marker_material(color)
    me = bpy.data.meshes.new("FaceAddon Marker")
    import bmesh

    bm = bmesh.new()
    bmesh.ops.create_icosphere(bm, subdivisions=2, radius=radius)
    bm.to_mesh(me)
    bm.free()
    me.materials.append(mat)
    out = []
    for p in points:
        o = bpy.data.objects.new("FaceAddon Marker", me)
        o.location = p
        bpy.context.scene.collection.objects.link(o)
        out.append(o)
    return out


def use_cycles_png(scene: bpy.types.Scene, width: int, height: int, samples: int, *, denoise: bool = False,
                   transparent: bool = False) -> None:
    """Set `scene` to render PNG stills with Cycles on the CPU at width x height, 100 %: the set-up the contact
    sheets, the demo's portrait and the docs figures share (each adds its own lights, world and colour mode)."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = denoise
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.film_transparent = transparent


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what Blender's C code prints to stdout (file descriptor 1: "Saved: '<path>'" per written render) to
    stderr while the block runs. The `face` commands promise one result line on stdout, and scripts parse it;
    renders that must keep `write_still` (blender/scan_views.py says why) would otherwise add a line per view."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def render_still(scene: bpy.types.Scene, path: Path) -> None:
    """Render `scene` and save the image to `path` with the scene's output settings.

    Not `render.render(write_still=True)`: that logs "Saved: '<path>'" for every image, and our renders go to
    temp files a user has no use for (`face demo` printed 5 such lines). Same pixels. Segment Skin's scan views
    keep write_still (blender/scan_views.py says why)."""
    bpy.ops.render.render(scene=scene.name)
    result = next(im for im in bpy.data.images if im.type == "RENDER_RESULT")
    result.save_render(str(path), scene=scene)


def render_sheet(
    obj: bpy.types.Object | Sequence[bpy.types.Object],
    path: Path,
    *,
    views: Sequence[str] = ("front", "three_quarter", "side"),
    markers: np.ndarray | None = None,
    resolution: int = 384,
    samples: int = 16,
) -> Path:
    """Render `obj` (or several objects, framed together) from `views` with Cycles (CPU) and save the tiles
    side by side as one PNG at `path`."""
    scene = bpy.context.scene
    use_cycles_png(scene, resolution, resolution, samples)
    if scene.world is None:
        scene.world = bpy.data.worlds.new("FaceAddon World")
    scene.world.color = (0.35, 0.37, 0.4)

    center, diag = _bbox_world([obj] if isinstance(obj, bpy.types.Object) else list(obj))
    created: list[bpy.types.Object] = []
    cam_data = bpy.data.cameras.new("FaceAddon Render Camera")
    cam_data.lens = 85
    cam = bpy.data.objects.new("FaceAddon Render Camera", cam_data)
    sun_data = bpy.data.lights.new("FaceAddon Render Key", "SUN")
    sun_data.energy = 3.0
    sun = bpy.data.objects.new("FaceAddon Render Key", sun_data)
    for o in (cam, sun):
        scene.collection.objects.link(o)
        created.append(o)
    scene.camera = cam
    if markers is not None and len(markers):
        created += add_markers(np.asarray(markers), radius=0.0018)  # metres: landmark-sized on a head
    tiles = []
    tmp = path.with_suffix(".tile.png")
    try:
        for name in views:
            d = Vector(VIEWS[name]).normalized()
            cam.location = Vector(center) + d * diag * 2.6
            cam.rotation_euler = (-d).to_track_quat("-Z", "Y").to_euler()
            sun.rotation_euler = (-(d + Vector((0.3, 0.0, 0.8)))).to_track_quat("-Z", "Y").to_euler()
            render_still(scene, tmp)
            img = bpy.data.images.load(str(tmp), check_existing=False)
            px = np.empty(resolution * resolution * 4, np.float32)
            img.pixels.foreach_get(px)
            bpy.data.images.remove(img)
            tiles.append(px.reshape(resolution, resolution, 4))
    finally:
        tmp.unlink(missing_ok=True)
        for o in created:
            data = o.data
            bpy.data.objects.remove(o, do_unlink=True)
            if data is not None and data.users == 0:
                getattr(bpy.data, {"CAMERA": "cameras", "LIGHT": "lights", "MESH": "meshes"}[data.id_type])\
                    .remove(data)
    return save_rgba(np.concatenate(tiles, axis=1)[::-1], path)  # Blender's pixel rows run bottom-up


def save_rgba(pixels: np.ndarray, path: Path) -> Path:
    """Write (height, width, 3|4) floats in [0, 1], top row first, as a PNG, atomically (a failed save leaves
    no truncated file)."""
    from ..core.atomic_write import atomic_path

    h, w = pixels.shape[:2]
    rgba = np.concatenate([pixels[..., :3], np.ones((h, w, 1), np.float32)], 2) if pixels.shape[2] == 3 else pixels
    out = bpy.data.images.new("FaceAddon Picture", w, h, alpha=True)
    try:
        out.pixels.foreach_set(np.ascontiguousarray(rgba[::-1], np.float32).ravel())
        out.file_format = "PNG"
        with atomic_path(path) as tmp:
            out.filepath_raw = str(tmp)
            out.save()
    finally:
        bpy.data.images.remove(out)
    return Path(path)
