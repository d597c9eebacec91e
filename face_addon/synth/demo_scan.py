"""A synthetic scan as a Blender object: the embedded default subject of `face demo` (scan profile, seconds).

The object gets the scan's vertex colours, its ground-truth skin label as the vertex group
`Synthetic Skin (ground truth)` (so Segment Skin results can be compared against it) and its 68 true landmarks
as custom properties; everything comes from one seed, like a dataset sample.

A small scan is simulated at SIMULATED_VERTICES and quadric-decimated to the size asked for, as a scanner's
export or a user's decimation would make it, not remeshed with coarse voxels: at 20k vertices the simulator's
3.9 mm voxels fuse glasses and hair strands into the face (seed 1,000,000: eyes gone, the face mesh model's
presence 0.03-0.12 even in the true frame), and no face was found on it in any unit; decimated from 60k it is
found in m, cm and mm (docs/landmarks.md, "Face search sweep").
"""
from __future__ import annotations

import bpy
import numpy as np

from ..blender.mesh_io import new_mesh_object
from ..blender.writers import write_vertex_group
from ..core.geometry.decimate import decimate
from ..core.mesh import Mesh
from .cameras import rig_cameras
from .generate import build_parts
from .labels import skin_labels
from .scan import ScanConfig, simulate_scan
from .subject import stream

GT_GROUP = "Synthetic Skin (ground truth)"
SIMULATED_VERTICES = 60_000  # smaller scans are simulated at this size and decimated (module doc)


def add_synthetic_scan(seed: int = 1_000_000, target_vertices: int = 60_000,
                       location=(0.0, 0.0, 0.0)) -> bpy.types.Object:
    """Simulate the scan of sample `seed` and add it to the scene as 'Synthetic Scan <seed>'."""
    parts, _, choices, s = build_parts(seed)
    cams = rig_cameras(512, stream(seed, "cameras"))
    scan = simulate_scan(parts, cams, stream(seed, "scan"),
                         ScanConfig(target_vertices=max(target_vertices, SIMULATED_VERTICES)))
    v, f, colors = scan.vertices, scan.faces, scan.colors
    if target_vertices < SIMULATED_VERTICES:
        small = decimate(v, f, target_vertices)
        v, f, colors = small.vertices, small.faces, colors[small.source]
    _, skin = skin_labels(v, s.head_v, s.head_f)
    obj = new_mesh_object(f"Synthetic Scan {seed}", Mesh(v, f, colors=colors))
    obj.location = location
    write_vertex_group(obj, GT_GROUP, skin.astype(np.float64))
    obj["face_addon_synth_seed"] = seed
    obj["face_addon_synth_hair"] = choices["hair"]["style"]
    obj["face_addon_synth_landmarks"] = s.landmarks.astype(np.float32).ravel().tolist()
    return obj
