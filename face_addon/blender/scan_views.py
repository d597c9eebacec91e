"""Cycles renders of a scan from given cameras: the default views of Segment Skin's image branch.

    views = scan_views(upright_mesh)   # SkinViews: the scan from skin_image.skin_rig (four turned 13-view rigs)

The scan is rendered alone, in a temporary scene (the user's scene, objects and render settings are not
touched), with an emission shader of its own colour (the UV texture when it has one, else vertex colours) darkened
towards grazing angles (Layer Weight "Facing"; an untextured scan in segment_skin's neutral skin tone), so shapes
read in the image without lights and the result is noise-free at 2 samples. Background: flat dark grey (linear 0.05), as in the training views. Images come back as float sRGB (V, H, W, 3) in [0, 1].
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import bpy
import numpy as np

from ..core.dataset import read_png
from ..core.color import as_linear
from ..core.geometry.multiview import ViewCamera
from ..core.mesh import Mesh
from ..core.pipelines.segment_skin import NEUTRAL_SKIN_ALBEDO
from ..core.pipelines.skin_image import RIG_TURNS, SkinViews, skin_rig
from .mesh_io import new_mesh_object
from .photo_camera import apply_camera, blender_camera
from .render import stdout_to_stderr

BACKGROUND = (0.05, 0.05, 0.05)  # linear: the grey of the training renders (sRGB 63)


def _material(mesh: Mesh) -> bpy.types.Material:
    mat = bpy.data.materials.new("FaceAddon Scan View")
    if mat.node_tree is None:
        mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    if mesh.texture is not None and mesh.uv is not None:
        src = nt.nodes.new("ShaderNodeTexImage")
        tex = np.asarray(mesh.texture, np.float32)
        h, w = tex.shape[:2]
        # a byte image in sRGB: Mesh.texture holds the file's bytes / 255, which Cycles decodes like any texture
        img = bpy.data.images.new("FaceAddon Scan View Texture", w, h, alpha=True, float_buffer=False)
        img.colorspace_settings.name = "sRGB"
        rgba = np.concatenate([tex[..., :3], np.ones((h, w, 1), np.float32)], axis=2)[::-1]  # Blender: bottom row first
        img.pixels.foreach_set(rgba.ravel())
        src.image = img
        color = src.outputs["Color"]
    elif mesh.colors is not None:
        src = nt.nodes.new("ShaderNodeAttribute")
        src.attribute_name = "Col"
        color = src.outputs["Color"]
    else:
        src = nt.nodes.new("ShaderNodeRGB")
        src.outputs[0].default_value = (*NEUTRAL_SKIN_ALBEDO, 1.0)  # what segment_skin feeds as its colour
        color = src.outputs[0]
    facing = nt.nodes.new("ShaderNodeLayerWeight")
    facing.inputs["Blend"].default_value = 0.5
    shade = nt.nodes.new("ShaderNodeMath")
    shade.operation = "MULTIPLY_ADD"
    shade.inputs[1].default_value = -0.6
    shade.inputs[2].default_value = 1.0
    nt.links.new(facing.outputs["Facing"], shade.inputs[0])
    emit = nt.nodes.new("ShaderNodeEmission")
    nt.links.new(color, emit.inputs["Color"])
    nt.links.new(shade.outputs[0], emit.inputs["Strength"])
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    nt.links.new(emit.outputs[0], out.inputs["Surface"])
    return mat


def _set_uv(obj: bpy.types.Object, uv: np.ndarray) -> None:
    layer = obj.data.uv_layers.new(name="UVMap")
    layer.uv.foreach_set("vector", np.asarray(uv, np.float32).reshape(-1).ravel())


def render_views(mesh: Mesh, cameras: list[ViewCamera], samples: int = 2) -> np.ndarray:
    """(V, H, W, 3) float sRGB renders of `mesh` (world space, any unit; colours linear floats or sRGB bytes,
    or UVs + texture, which win) through `cameras` (all the same size)."""
    if not cameras:
        raise ValueError("no cameras to render from")
    w, h = cameras[0].width, cameras[0].height
    if any((c.width, c.height) != (w, h) for c in cameras):
        raise ValueError("all views must have the same image size")
    scene = bpy.data.scenes.new("FaceAddon Scan Views")
    created: list = []
    try:
        r = scene.render
        r.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = samples
        scene.cycles.use_adaptive_sampling = False
        scene.cycles.use_denoising = False
        scene.cycles.max_bounces = 0
        r.resolution_x, r.resolution_y, r.resolution_percentage = w, h, 100
        r.film_transparent = False
        r.use_persistent_data = True  # only the camera moves between views: keep the scene's BVH
        r.image_settings.file_format = "PNG"
        r.image_settings.color_mode = "RGB"
        r.image_settings.color_depth = "8"
        r.dither_intensity = 0.0
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        world = bpy.data.worlds.new("FaceAddon Scan Views")
        created.append(world)
        world.color = BACKGROUND
        background = world.node_tree.nodes.get("Background") if world.node_tree is not None else None
        if background is not None:  # Blender 5 worlds come with nodes
            background.inputs["Color"].default_value = (*BACKGROUND, 1.0)
        scene.world = world
        obj = new_mesh_object("FaceAddon Scan View",
                              Mesh(mesh.vertices, mesh.faces, colors=as_linear(mesh.colors)),
                              scene.collection)
        created.append(obj)
        if mesh.texture is not None and mesh.uv is not None:
            _set_uv(obj, mesh.uv)
        mat = _material(mesh)
        created.append(mat)
        obj.data.materials.append(mat)
        cam_obj = bpy.data.objects.new("FaceAddon Scan View Camera", bpy.data.cameras.new("FaceAddon Scan View"))
        scene.collection.objects.link(cam_obj)
        created.append(cam_obj)
        scene.camera = cam_obj
        out = np.empty((len(cameras), h, w, 3), np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "view.png"
            for i, cam in enumerate(cameras):
                m = np.asarray(cam.world_to_camera, np.float64)
                apply_camera(cam_obj, blender_camera(m[:3, :3], m[:3, 3], cam.K, w, h))
                dist = float(np.linalg.norm(cam.center - mesh.vertices.mean(0)))  # scans come in any unit
                cam_obj.data.clip_start, cam_obj.data.clip_end = 0.01 * dist, 100.0 * dist
                # write_still, not render_still's save_render, and Blender's 'Render Result' image is left alone:
                # with either change, a later bpy.ops call crashed bpy 5.3.0 once in CI (a segfault in
                # attribute_convert after these renders); this is the path that ran clean on 5.0.1 and 5.3.0
                scene.render.filepath = str(path)
                with stdout_to_stderr():
                    bpy.ops.render.render(write_still=True, scene=scene.name)
                out[i] = read_png(path)[..., :3].astype(np.float32) / 255.0
        return out
    finally:
        for item in reversed(created):
            data = getattr(item, "data", None)
            if isinstance(item, bpy.types.Object):
                bpy.data.objects.remove(item, do_unlink=True)
                if data is not None and data.users == 0:
                    (bpy.data.meshes if isinstance(data, bpy.types.Mesh) else bpy.data.cameras).remove(data)
            elif isinstance(item, bpy.types.Material):
                for node in item.node_tree.nodes if item.node_tree else []:
                    if node.type == "TEX_IMAGE" and node.image is not None:
                        bpy.data.images.remove(node.image)
                bpy.data.materials.remove(item)
            elif isinstance(item, bpy.types.World):
                bpy.data.worlds.remove(item)
        bpy.data.scenes.remove(scene)


def scan_views(mesh: Mesh) -> SkinViews:
    """Segment Skin's rendered views of an upright scan (`upright_scan.face_upright`): the rigs of
    `skin_image.skin_rig`, lifted rig by rig."""
    cams = skin_rig(mesh.vertices)
    return SkinViews(render_views(mesh, cams), cams, rigs=len(RIG_TURNS))


def camera_photo_views(scene: bpy.types.Scene) -> tuple[np.ndarray, list[ViewCamera]] | None:
    """The user's calibrated photos: every scene camera with a background image (the photo taken from it), as
    (images (V, H, W, 3) float sRGB, cameras). Photos of different sizes are resampled to the first one's size
    (nearest pixel; the cameras are rescaled to match). None when no camera carries a photo."""
    from .photo_camera import opencv_camera, read_camera

    images, cams = [], []
    for obj in scene.objects:
        if obj.type != "CAMERA":
            continue
        photo = next((b.image for b in obj.data.background_images if b.image is not None), None)
        if photo is None or photo.size[0] == 0:
            continue
        w, h = photo.size
        px = np.empty(w * h * 4, np.float32)
        photo.pixels.foreach_get(px)
        img = px.reshape(h, w, 4)[::-1, :, :3]  # Blender stores the bottom row first
        k, m = opencv_camera(read_camera(obj, w, h))
        cam = ViewCamera(k, m, w, h)
        if images and img.shape[:2] != images[0].shape[:2]:
            th, tw = images[0].shape[:2]
            img = img[(np.arange(th) * h // th)[:, None], (np.arange(tw) * w // tw)[None, :]]
            cam = cam.resized(tw, th)
        images.append(img)
        cams.append(cam)
    if not images:
        return None
    return np.stack(images), cams
