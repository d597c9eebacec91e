"""The geometry a sample is made of, as plain arrays: what the renderer turns into Blender objects and the
scan simulation voxel-remeshes. No bpy."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ScenePart:
    """A closed triangle mesh with its label class(es), base colour(s) and material description.

    face_class: (m,) uint8 class ids (core.dataset.CLASS_NAMES). face_color: (m, 3) linear RGB base colours
    (used for scan-profile vertex colours). material: {"kind": "skin"|"hair"|"cloth"|"plastic"|"metal"|"glass"|
    "plain", ...params} for the renderer. in_scan=False keeps a part out of the scan (e.g. glass lenses,
    which multi-view stereo does not reconstruct)."""

    name: str
    v: np.ndarray
    f: np.ndarray
    face_class: np.ndarray
    face_color: np.ndarray
    material: dict = field(default_factory=dict)
    in_scan: bool = True
    in_render: bool = True
    vertex_color: np.ndarray | None = None  # optional per-vertex RGB attribute for the render material

    @classmethod
    def uniform(cls, name: str, v: np.ndarray, f: np.ndarray, class_id: int, color, material: dict,
                **kw) -> "ScenePart":
        m = len(f)
        return cls(name, v, f, np.full(m, class_id, np.uint8), np.tile(np.asarray(color, np.float32), (m, 1)),
                   material, **kw)


@dataclass
class Strands:
    """Hair curves for rendering: paths (S, P, 3), root radius, linear RGB colour, melanin params."""

    name: str
    paths: np.ndarray
    radius: float
    color: np.ndarray
    material: dict = field(default_factory=dict)
