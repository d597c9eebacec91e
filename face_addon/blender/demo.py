"""`face demo`: run every capability that is ready on an embedded default head, save a .blend and a PNG.

The default subject is a FaceKit head when the FaceKit asset is built, else a primitive (a UV sphere), so
the demo runs at every stage of the project. Each capability issue adds its step here.
"""
from __future__ import annotations

import time
from pathlib import Path

import bpy
import numpy as np

from ..core.capabilities import capability
from .operator_base import FaceAddonError
from .render import render_sheet


def _run(op, log: list[str], label: str, **kwargs) -> None:
    """Call an operator, record how it went; a CANCELLED operator stops the demo with its reason."""
    t0 = time.perf_counter()
    result = op(**kwargs)
    if "FINISHED" not in result:
        raise FaceAddonError(f"demo step '{label}' did not finish: {result}")
    log.append(f"{label}: done in {time.perf_counter() - t0:.2f} s")


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
    if capability("landmarks").ready():  # 2S-SGCN on the active object: the synthetic scan, else the head
        target = bpy.context.view_layer.objects.active
        _run(bpy.ops.face.detect_landmarks, log, f"Detect Landmarks on '{target.name}'")
        log.append(f"  {target.get('face_addon_landmarks', '')}")
        truth = target.get("face_addon_synth_landmarks")
        if truth is not None:  # the scan's true landmarks (object-local) vs the empties
            coll = bpy.data.collections[f"{target.name} Landmarks"]
            pred = {o["landmark_index"]: np.array(o.location) for o in coll.objects if "landmark_index" in o}
            err = np.linalg.norm(np.array([pred[i] for i in range(68)]) - np.reshape(truth, (68, 3)), axis=1)
            log.append(f"  mean error vs. the scan's true landmarks: {err.mean() * 1000:.1f} mm")

    blend = out_dir / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend.resolve()))
    log.append(f"saved {blend}")
    t0 = time.perf_counter()
    bpy.context.view_layer.update()
    markers = np.array([o.matrix_world.translation for c in bpy.data.collections if c.name.endswith(" Landmarks")
                        for o in c.objects if o.get("face_addon")]).reshape(-1, 3)
    views = ("front", "three_quarter") if len(subjects) > 1 else ("front", "three_quarter", "side")
    png = render_sheet(subjects, (out_dir / "demo.png").resolve(), views=views, markers=markers,
                       resolution=resolution, samples=samples)
    log.append(f"rendered {png} in {time.perf_counter() - t0:.1f} s (Cycles, {samples} spp)")
    for line in log:
        print(line)
    return log
