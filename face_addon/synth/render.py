"""Cycles renders of the rig views: RGB (`VV.png`) and class-label images (`VV_parts.png`, 8-bit ids).

The label pass re-renders each view with 1 sample, a ~zero-width pixel filter, no bounces, emission-only
per-class materials of value id/255, a black world, no dithering and the 'Raw' view transform, so every
pixel holds exactly one class id. Then scan vertex colours are baked from the RGB views (visibility-aware
mean over the views that see a vertex, weighted by the viewing angle's cosine).
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..blender.photo_camera import apply_camera, blender_camera
from ..core.color import srgb_to_linear
from ..core.dataset import read_png, write_png
from ..core.geometry.normals import vertex_normals
from .cameras import Camera
from .scan import visible_mask
from .scene import _STATE, use_label_materials


def _camera_object(cam: Camera) -> bpy.types.Object:
    """A Blender camera that sees what `cam` (OpenCV K, world→camera) sees: blender/photo_camera's conversion."""
    obj = bpy.data.objects.new("synth camera", bpy.data.cameras.new("synth camera"))
    bpy.context.scene.collection.objects.link(obj)
    m = cam.world_to_camera
    apply_camera(obj, blender_camera(m[:3, :3], m[:3, 3], cam.K, cam.width, cam.height))
    obj.data.clip_start, obj.data.clip_end = 0.05, 20.0
    return obj


def _settings(resolution: int, samples: int, seed: int, labels: bool, denoise: bool = False) -> None:
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    # keep Cycles' scene (BVH of the hair curves, images) between the 2 x views renders: only the camera and,
    # once, the materials change; pixel-identical and ~25 % less render time (docs/scale.md)
    scene.render.use_persistent_data = True
    scene.cycles.samples = 1 if labels else samples
    scene.cycles.use_adaptive_sampling = False
    # RGB: OpenImageDenoise (shipped with Blender, CPU) on albedo + normal without their own prefilter pass
    # ('FAST': ~1 s a view; 'ACCURATE' denoises the guides too, ~3x that); never on the label pass (exact ids)
    scene.cycles.use_denoising = denoise and not labels
    scene.cycles.denoiser = "OPENIMAGEDENOISE"
    scene.cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"
    scene.cycles.denoising_prefilter = "FAST"
    scene.cycles.seed = seed % (2 ** 31)
    scene.cycles.max_bounces = 0 if labels else 4
    scene.cycles.pixel_filter_type = "BOX"
    scene.cycles.filter_width = 0.01 if labels else 1.0
    scene.render.resolution_x = scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.render.dither_intensity = 0.0 if labels else 1.0
    scene.view_settings.view_transform = "Raw" if labels else "Standard"
    scene.view_settings.look = "None"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_depth = "8"
    scene.render.image_settings.color_mode = "BW" if labels else "RGB"
    world = scene.world
    if world is not None and world.node_tree is not None:
        bgn = world.node_tree.nodes.get("Background")
        if bgn is not None:
            bgn.inputs["Color"].default_value = (0, 0, 0, 1) if labels else _STATE["background"]
    if world is not None:
        world.color = (0, 0, 0) if labels else _STATE["background"][:3]


def render_views(cams: list[Camera], out_dir: Path, samples: int, seed: int, denoise: bool = False) -> None:
    """Write VV.png (`samples` per pixel, denoised if `denoise`) and VV_parts.png for every camera into out_dir."""
    scene = bpy.context.scene
    out_dir.mkdir(parents=True, exist_ok=True)
    cam_objs = [_camera_object(c) for c in cams]
    res = cams[0].width
    for labels in (False, True):
        _settings(res, samples, seed, labels, denoise)
        use_label_materials(labels)
        for i, obj in enumerate(cam_objs):
            scene.camera = obj
            path = out_dir / (f"{i:02d}_parts.png" if labels else f"{i:02d}.png")
            scene.render.filepath = str(path)
            bpy.ops.render.render(write_still=True)
            # re-encode through our writer: no Cycles metadata (render times) in the file, so a sample is the same
            # bytes on every run (~15 % smaller too); labels as one channel, exactly the class ids
            img = read_png(path)
            write_png(path, img[..., 0] if labels and img.ndim == 3 else img)
    use_label_materials(False)


def bake_colors(v: np.ndarray, f: np.ndarray, cams: list[Camera], view_dir: Path, pixel_m: float,
                fallback: np.ndarray) -> np.ndarray:
    """Linear RGB per scan vertex from the RGB views; vertices no view sees keep `fallback`."""
    n = vertex_normals(v, f)
    acc = np.zeros((len(v), 3))
    wsum = np.zeros(len(v))
    for i, cam in enumerate(cams):
        lin = srgb_to_linear(read_png(view_dir / f"{i:02d}.png")[..., :3])
        vis = visible_mask(v, n, cam, pixel_m)
        uv, _ = cam.project(v[vis])
        iu = np.clip(np.round(uv[:, 0]).astype(int), 0, cam.width - 1)
        iv = np.clip(np.round(uv[:, 1]).astype(int), 0, cam.height - 1)
        to_cam = cam.center - v[vis]
        w = np.clip((to_cam * n[vis]).sum(1) / np.linalg.norm(to_cam, axis=1), 0, 1) ** 2
        acc[vis] += lin[iv, iu] * w[:, None]
        wsum[vis] += w
    out = fallback.astype(np.float64).copy()
    ok = wsum > 1e-6
    out[ok] = acc[ok] / wsum[ok, None]
    return out.astype(np.float32)
