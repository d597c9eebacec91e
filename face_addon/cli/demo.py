"""`face demo`: run every capability that is ready on an embedded default head, save a .blend and a PNG.

The default subject is a FaceKit head when the FaceKit asset is built, else a primitive (a UV sphere), so
the demo runs at every stage of the project. Each capability issue adds its step here.
"""
from __future__ import annotations

import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

from ..core.capabilities import capability
from ..blender.operator_base import FaceAddonError
from ..blender.render import render_sheet, render_still, save_rgba, use_cycles_png


def _run(op, log: list[str], label: str, **kwargs) -> None:
    """Call an operator, record how it went; a CANCELLED operator stops the demo with its reason."""
    t0 = time.perf_counter()
    result = op(**kwargs)
    if "FINISHED" not in result:
        raise FaceAddonError(f"demo step '{label}' did not finish: {result}")
    log.append(f"{label}: done in {time.perf_counter() - t0:.2f} s")


def detail_line(*parts: str | None) -> str:
    """An indented log line of the parts that are present, joined by '; ' (the 2S-SGCN fallback finds no face
    frame: its orientation summary is missing, and a dangling '; ' would look like a lost value)."""
    return "  " + "; ".join(p for p in parts if p)


def run_demo(out_dir: Path, samples: int = 16, resolution: int = 384) -> list[str]:
    """Build the demo scene in a fresh file; returns (and prints) the log of what ran."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # a clean scene, but keep the preferences (read_factory_settings would disable installed add-ons)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    log: list[str] = []
    subjects = []
    if capability("facekit").ready():
        _run(bpy.ops.face.add_face_model, log, "Add Face Model (random identity, landmarks)",
             seed=7, randomize=True, add_landmarks=True)
        head = bpy.context.active_object
        lm_coll = bpy.data.collections.get(f"{head.name} Landmarks")
        if lm_coll is not None:
            log.append(f"  {len(lm_coll.objects)} landmark empties in '{lm_coll.name}'")
        keys = head.data.shape_keys
        if keys is not None and "jawOpen" in keys.key_blocks:
            keys.key_blocks["jawOpen"].value = 0.3
            keys.key_blocks["mouthSmileLeft"].value = keys.key_blocks["mouthSmileRight"].value = 0.5
            log.append("  set expression shape keys jawOpen=0.3, mouthSmile*=0.5")
    else:
        bpy.ops.mesh.primitive_uv_sphere_add(radius=0.1, segments=48, ring_count=24)
        head = bpy.context.active_object
        head.name = "Head"
        log.append(f"FaceKit not built ({capability('facekit').status()}): using a sphere")
    subjects.append(head)
    _run(bpy.ops.face.check_mesh, log, "Check Mesh")
    log.append(f"  {head.get('face_addon_check', '')}")
    if capability("edit").ready() and head.face_kit.is_facekit:  # NEO-3DF sliders, then the exact bake
        _run(bpy.ops.face.edit_face, log, "Face Edit (one shape key per controller)")
        demo_edit = {"nose_height": 1.5, "eye_width": 1.0, "upper_lip_thickness": 1.5, "jaw_width": -1.0}
        for item in head.face_edit.controllers:
            item.value = demo_edit.get(item.name, 0.0)
        log.append("  set sliders " + ", ".join(f"{k}={v:+g}σ" for k, v in demo_edit.items()))
        _run(bpy.ops.face.bake_face_edit, log, "Bake Face Edit (exact decode + ARAP) into shape key 'Face Edit'")
    if capability("synth").ready():  # the embedded default subject: a synthetic scan (scan profile, seconds)
        from ..synth.demo_scan import add_synthetic_scan

        t0 = time.perf_counter()
        scan = add_synthetic_scan(location=(0.3, 0.0, 0.0))
        bpy.context.view_layer.objects.active = scan
        subjects.append(scan)
        log.append(f"Synthetic scan (seed {scan['face_addon_synth_seed']}, hair "
                   f"{scan['face_addon_synth_hair']}): {len(scan.data.vertices)} vertices in "
                   f"{time.perf_counter() - t0:.1f} s, active object")
    if capability("landmarks").ready():  # default (view-based) method on the active object: the scan, else the head
        target = bpy.context.view_layer.objects.active
        _run(bpy.ops.face.detect_landmarks, log, f"Detect Landmarks on '{target.name}'",
             fallback_sgcn=True)  # the demo goes on where the views find no face (the log says which method ran)
        log.append(detail_line(target.get("face_addon_landmarks"), target.get("face_addon_landmarks_orientation")))
        truth = target.get("face_addon_synth_landmarks")
        if truth is not None:  # the scan's true landmarks (object-local) vs the empties
            coll = bpy.data.collections[f"{target.name} Landmarks"]
            pred = {o["landmark_index"]: np.array(o.location) for o in coll.objects if "landmark_index" in o}
            err = np.linalg.norm(np.array([pred[i] for i in range(68)]) - np.reshape(truth, (68, 3)), axis=1)
            log.append(f"  mean error vs. the scan's true landmarks: {err.mean() * 1000:.1f} mm")

    if capability("skin").ready() and "face_addon_synth_seed" in bpy.context.view_layer.objects.active:
        _skin_step(bpy.context.view_layer.objects.active, subjects, log)

    t0 = time.perf_counter()
    bpy.context.view_layer.update()
    markers = np.array([o.matrix_world.translation for c in bpy.data.collections if c.name.endswith(" Landmarks")
                        for o in c.objects if o.get("face_addon")]).reshape(-1, 3)
    views = ("front", "three_quarter") if len(subjects) > 1 else ("front", "three_quarter", "side")
    png = render_sheet(subjects, (out_dir / "demo.png").resolve(), views=views, markers=markers,
                       resolution=resolution, samples=samples)
    log.append(f"rendered {png} in {time.perf_counter() - t0:.1f} s (Cycles, {samples} spp)")
    if capability("photo").ready() and head.face_kit.is_facekit:
        _photo_step(head, out_dir, log, samples)
    blend = out_dir / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend.resolve()))
    log.append(f"saved {blend}")
    for line in log:
        print(line)
    return log


def _skin_step(scan: bpy.types.Object, subjects: list, log: list[str]) -> None:
    """Segment Skin on the synthetic scan (checked against its ground-truth group), then Register Head."""
    from ..synth.demo_scan import GT_GROUP
    from ..blender.mesh_io import read_vertex_group

    _run(bpy.ops.face.segment_skin, log, f"Segment Skin on '{scan.name}'")
    log.append(f"  {scan.get('face_addon_skin', '')}")
    for w in str(scan.get("face_addon_skin_warnings", "")).split("; "):
        if w:
            log.append(f"  warning: {w}")
    pred, truth = read_vertex_group(scan, "Skin") > 0, read_vertex_group(scan, GT_GROUP) > 0.5
    ious = [(pred & truth).sum() / max((pred | truth).sum(), 1), (~pred & ~truth).sum() / max((~pred | ~truth).sum(), 1)]
    log.append(f"  vs. the scan's true skin: mIoU {np.mean(ious):.3f} (skin IoU {ious[0]:.3f})")
    if capability("register").ready():
        _run(bpy.ops.face.register_head, log, f"Register Head to the skin of '{scan.name}'")
        registered = bpy.context.view_layer.objects.active
        info = registered.get("face_addon_registration") or {}
        log.append(f"  '{registered.name}': residual {info.get('residual_mm', float('nan')):.2f} mm on "
                   f"{info.get('n_skin_points', 0)} skin points, {100 * info.get('inlier_fraction', 0):.0f} % matched")
        if registered is not scan:
            subjects.append(registered)


# -- Reconstruct from Photo: the demo head's own portrait -> a new head + camera -> side-by-side PNG -------------
PORTRAIT_PX = 256
CLAY = (0.08, 0.3, 0.85)  # linear RGB: a blue that no skin tone has, so the overlay shows where the head is


def _render_rgba(width: int, height: int, samples: int, transparent: bool, tmp: Path) -> np.ndarray:
    """Render the scene camera with Cycles; (height, width, 4) display-referred RGBA, top row first."""
    scene = bpy.context.scene
    use_cycles_png(scene, width, height, samples, transparent=transparent)
    scene.render.image_settings.color_mode = "RGBA"
    try:
        render_still(scene, tmp)
        return image_rgba(tmp)
    finally:
        tmp.unlink(missing_ok=True)


def image_rgba(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """An image file (scaled to size = (width, height) when given) as (height, width, 4) floats in its stored
    (display) values, top row first."""
    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        if size is not None and tuple(img.size) != tuple(size):
            img.scale(*size)
        w, h = img.size
        px = np.empty(w * h * 4, np.float32)
        img.pixels.foreach_get(px)
    finally:
        bpy.data.images.remove(img)
    return px.reshape(h, w, 4)[::-1]


def render_objects_through(cam: bpy.types.Object, keep: list[bpy.types.Object], width: int, height: int,
                           samples: int, tmp: Path, clay: bool = False) -> np.ndarray:
    """Only `keep` rendered (transparent film) through `cam`, lit by a sun from the camera's side; `clay`
    renders every object in one plain blue-grey material, so the shape stands out from a photo."""
    from ..blender.materials import plain_material

    scene = bpy.context.scene
    layer = bpy.context.view_layer
    old_override = layer.material_override
    if clay:
        layer.material_override = plain_material("FaceAddon Clay", CLAY, roughness=0.6)
    if scene.world is None:
        scene.world = bpy.data.worlds.new("FaceAddon World")
    scene.world.color = (0.35, 0.37, 0.4)
    hidden = {o.name: o.hide_render for o in scene.objects}
    sun = bpy.data.objects.new("FaceAddon Photo Key", bpy.data.lights.new("FaceAddon Photo Key", "SUN"))
    sun.data.energy = 3.0
    scene.collection.objects.link(sun)
    keep_set = set(keep) | {sun}
    old_camera = scene.camera
    from mathutils import Euler

    bpy.context.view_layer.update()  # a camera placed just now has no matrix_world yet
    sun.rotation_euler = (cam.matrix_world.to_3x3() @ Euler((-0.35, 0.25, 0.0)).to_matrix()).to_euler()
    try:
        for o in scene.objects:
            o.hide_render = o not in keep_set
        scene.camera = cam
        return _render_rgba(width, height, samples, True, tmp)
    finally:
        for o in scene.objects:
            if o.name in hidden:
                o.hide_render = hidden[o.name]
        scene.camera = old_camera
        layer.material_override = old_override
        light = sun.data
        bpy.data.objects.remove(sun, do_unlink=True)
        bpy.data.lights.remove(light)


def photo_comparison(photo: Path, head: bpy.types.Object, cam: bpy.types.Object, samples: int,
                     width: int, height: int, tmp: Path, opacity: float = 0.6,
                     clay: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(reconstruction alone on grey, reconstruction over the photo) rendered through the fitted camera at
    width×height (the photo's aspect), both (height, width, 3)."""
    rgba = render_objects_through(cam, [head, *head.children], width, height, samples, tmp, clay=clay)
    img = image_rgba(photo, (width, height))
    a = rgba[..., 3:4]
    alone = rgba[..., :3] * a + 0.35 * (1 - a)
    overlay = rgba[..., :3] * a * opacity + img[..., :3] * (1 - a * opacity)
    return alone, overlay


def _photo_step(head: bpy.types.Object, out_dir: Path, log: list[str], samples: int) -> None:
    """Render a frontal portrait of the demo head, reconstruct it with face.reconstruct_photo, and write
    demo_photo.png: [portrait | reconstruction through the fitted camera | overlay]."""
    t_step = time.perf_counter()
    scene = bpy.context.scene
    coll = bpy.data.collections.get(f"{head.name} Landmarks")
    pts = np.array([o.matrix_world.translation for o in coll.objects]) if coll is not None else \
        np.array([head.matrix_world @ Vector(c) for c in head.bound_box])
    centre = pts.mean(0)
    cam = bpy.data.objects.new("Demo Portrait Camera", bpy.data.cameras.new("Demo Portrait Camera"))
    scene.collection.objects.link(cam)
    cam.data.lens = 50.0
    cam.location = (centre[0], centre[1] - 0.55, centre[2])
    cam.rotation_euler = (np.pi / 2, 0.0, 0.0)  # looks along +Y at the face, +Z up
    portrait = (out_dir / "demo_portrait.png").resolve()
    t0 = time.perf_counter()
    rgba = render_objects_through(cam, [head, *head.children], PORTRAIT_PX, PORTRAIT_PX, samples,
                                  out_dir / "demo_portrait.tmp.png")
    a = rgba[..., 3:4]
    save_rgba(rgba[..., :3] * a + 0.35 * (1 - a), portrait)
    log.append(f"Portrait of '{head.name}' ({PORTRAIT_PX}², frontal, 50 mm): {time.perf_counter() - t0:.1f} s")
    before = set(bpy.data.objects)
    _run(bpy.ops.face.reconstruct_photo, log, "Reconstruct from Photo (the portrait)", filepath=str(portrait))
    recon = bpy.context.view_layer.objects.active
    fitted = next(o for o in set(bpy.data.objects) - before if o.type == "CAMERA")
    info = recon["face_addon_photo"]
    log.append(f"  '{recon.name}' + '{fitted.name}', method {info['method']}, "
               f"timings {dict(info['timings_s'])}" + (f"; {info['warnings']}" if info["warnings"] else ""))
    keys, fitted_keys = head.data.shape_keys.key_blocks, recon.data.shape_keys.key_blocks
    log.append("  expression keys, portrait -> fitted: " + ", ".join(
        f"{n} {keys[n].value:.2f} -> {fitted_keys[n].value:.2f}" for n in ("jawOpen", "mouthSmileLeft", "mouthSmileRight")
        if n in keys and n in fitted_keys))
    alone, overlay = photo_comparison(portrait, recon, fitted, samples, PORTRAIT_PX, PORTRAIT_PX,
                                      out_dir / "demo_photo.tmp.png")
    photo = image_rgba(portrait)[..., :3]
    png = save_rgba(np.concatenate([photo, alone, overlay], axis=1), (out_dir / "demo_photo.png").resolve())
    for o in (recon, fitted):  # keep the pair together, beside the demo head, in demo.blend
        o.location.x -= 0.35
    if capability("pixel2mesh").ready():
        _pixel2mesh_step(portrait, out_dir, log, samples)
    cam_data = cam.data
    bpy.data.objects.remove(cam, do_unlink=True)
    bpy.data.cameras.remove(cam_data)
    log.append(f"  rendered {png} (portrait | reconstruction through the fitted camera | overlay); "
               f"photo step {time.perf_counter() - t_step:.1f} s")


def _pixel2mesh_step(portrait: Path, out_dir: Path, log: list[str], samples: int) -> None:
    """Reconstruct the same portrait with the Pixel2Mesh method and write demo_pixel2mesh.png:
    [portrait | mesh through its camera | overlay]."""
    t_step = time.perf_counter()
    before = set(bpy.data.objects)
    _run(bpy.ops.face.reconstruct_photo, log, "Reconstruct from Photo, Pixel2Mesh method (the portrait)",
         filepath=str(portrait), method="PIXEL2MESH", use_scene_camera=False)
    mesh = bpy.context.view_layer.objects.active
    cam = next(o for o in set(bpy.data.objects) - before if o.type == "CAMERA")
    info = mesh["face_addon_photo"]
    log.append(f"  '{mesh.name}' ({len(mesh.data.vertices)} vertices) + '{cam.name}', timings "
               f"{dict(info['timings_s'])}" + (f"; {info['warnings']}" if info["warnings"] else ""))
    alone, overlay = photo_comparison(portrait, mesh, cam, samples, PORTRAIT_PX, PORTRAIT_PX,
                                      out_dir / "demo_pixel2mesh.tmp.png")
    png = save_rgba(np.concatenate([image_rgba(portrait)[..., :3], alone, overlay], axis=1),
                    (out_dir / "demo_pixel2mesh.png").resolve())
    for o in (mesh, cam):
        o.location.x -= 0.7
    log.append(f"  rendered {png} (portrait | Pixel2Mesh through its camera | overlay); "
               f"Pixel2Mesh step {time.perf_counter() - t_step:.1f} s")
