"""Clothing around the neck and shoulders: a double-walled lofted garment (crew neck, turtleneck, v-neck,
hoodie-like thick collar), closed so the voxel remesher can use it. No bpy."""
from __future__ import annotations

import numpy as np

from ..core.dataset import CLASS_IDS
from .parts import ScenePart
from .shapes import _grid_faces, loft
from .subject import Subject, stream

KINDS = ("crew", "turtleneck", "vneck", "hoodie")
CLOTH_COLORS = np.array([(0.02, 0.02, 0.025), (0.6, 0.6, 0.62), (0.05, 0.08, 0.2), (0.3, 0.02, 0.03),
                         (0.02, 0.15, 0.05), (0.5, 0.4, 0.25), (0.8, 0.8, 0.78), (0.15, 0.25, 0.45)])


def closed_band(outer: np.ndarray, inner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Watertight solid between two ring stacks (R, C, 3): outer rows top->bottom, inner rows bottom->top, the
    row direction wrapping too (a torus-topology grid)."""
    rows = np.concatenate([outer, inner[::-1]])
    r, c, _ = rows.shape
    f = _grid_faces(r + 1, c)  # one extra row of quads joining the last row back to the first
    f = np.where(f >= r * c, f - r * c, f)
    return rows.reshape(-1, 3), f.astype(np.int64)


def _neck_radius(s: Subject, z: float) -> tuple[float, float, float]:
    """(half width, half depth, centre y) of the head/neck section near height z."""
    band = s.head_v[np.abs(s.head_v[:, 2] - z) < 0.006]
    if len(band) < 8:
        band = s.head_v[s.head_v[:, 2] < s.head_v[:, 2].min() + 0.02]
    cy = 0.5 * (band[:, 1].min() + band[:, 1].max())
    return float(np.abs(band[:, 0]).max()), float(0.5 * (band[:, 1].max() - band[:, 1].min())), float(cy)


def build_clothing(s: Subject) -> tuple[list[ScenePart], dict]:
    rng = stream(s.seed, "clothing")
    kind = str(rng.choice(KINDS, p=[0.45, 0.15, 0.25, 0.15]))
    color = np.clip(CLOTH_COLORS[rng.integers(len(CLOTH_COLORS))] * rng.uniform(0.7, 1.3, 3), 0, 1)
    zmin = s.head_v[:, 2].min()
    collar_z = {"crew": zmin + 0.035, "turtleneck": zmin + 0.085, "vneck": zmin + 0.03, "hoodie": zmin + 0.05}[kind]
    collar_z += rng.uniform(-0.01, 0.01)
    nw, nd, cy = _neck_radius(s, collar_z)
    gap = {"turtleneck": 0.002, "hoodie": 0.018}.get(kind, 0.008) + rng.uniform(0, 0.006)
    shoulder_w = rng.uniform(0.17, 0.22)
    chest_d = rng.uniform(0.09, 0.12)
    rows, cols = 18, 48
    t = np.linspace(0, 1, rows)
    z = collar_z - t * (collar_z - (zmin - 0.16))
    a = nw + gap + (shoulder_w - nw - gap) * np.clip((t - 0.08) / 0.5, 0, 1) ** 0.6
    b = nd + gap + (chest_d - nd - gap) * np.clip((t - 0.08) / 0.5, 0, 1) ** 0.8
    phi = np.linspace(0, 2 * np.pi, cols, endpoint=False)
    x = a[:, None] * np.cos(phi)[None]
    y = cy + 0.01 * t[:, None] + b[:, None] * np.sin(phi)[None]
    slope = rng.uniform(0.25, 0.45)
    zz = z[:, None] - slope * np.maximum(np.abs(x) - nw - gap - 0.02, 0)
    if kind == "vneck":  # the front (-y) of the top rows drops into a V
        front = np.clip(-np.sin(phi), 0, 1) ** 6
        zz = zz - (0.06 * front)[None] * (1 - t[:, None]) ** 2
    outer = np.stack([x, y, zz], -1)
    folds = rng.normal(0, 0.0015, (rows, cols, 1)) * np.array([1, 1, 0.3])
    # a solid (not a double wall): its top cap lies inside the neck except for the collar gap, which becomes
    # the web between collar and neck a scan shows; the remesher never has to build an unseen inner wall
    v, f = loft(outer + folds)
    mat = {"kind": "cloth", "color": color.tolist(), "roughness": float(rng.uniform(0.6, 0.95)),
           "pattern": str(rng.choice(["plain", "stripes", "knit"]))}
    return [ScenePart.uniform(f"cloth {kind}", v, f, CLASS_IDS["cloth"], color, mat)], \
        {"clothing": kind, "cloth_color": color.tolist(), "cloth_pattern": mat["pattern"]}
