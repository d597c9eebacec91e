"""Accessories placed from the head's landmarks and shape: glasses, caps/hats/beanies, headbands, earrings.
Closed numpy meshes (no bpy). Glass lenses are rendered but kept out of the scan (MVS does not reconstruct
transparent surfaces)."""
from __future__ import annotations

import numpy as np

from ..core.dataset import CLASS_IDS
from .parts import ScenePart
from .shapes import loft, torus, tubes, uv_sphere
from .subject import Subject, stream

ACC = CLASS_IDS["accessory"]
FRAME_COLORS = np.array([(0.01, 0.01, 0.01), (0.3, 0.15, 0.05), (0.6, 0.55, 0.4), (0.4, 0.4, 0.42),
                         (0.5, 0.05, 0.05)])
FABRIC_COLORS = np.array([(0.02, 0.02, 0.02), (0.6, 0.05, 0.05), (0.05, 0.1, 0.35), (0.7, 0.7, 0.65),
                          (0.1, 0.3, 0.1), (0.6, 0.45, 0.1)])


def _glasses(s: Subject, rng: np.random.Generator) -> list[ScenePart]:
    lm = s.landmarks
    eyes = [lm[36:42].mean(0), lm[42:48].mean(0)]
    front = min(e[1] for e in eyes) - rng.uniform(0.01, 0.016)
    w = rng.uniform(0.022, 0.028)
    h = w * rng.uniform(0.6, 0.85)
    r = rng.uniform(0.0012, 0.0025)
    color = FRAME_COLORS[rng.integers(len(FRAME_COLORS))]
    metal = rng.random() < 0.35
    mat = {"kind": "metal" if metal else "plastic", "color": color.tolist()}
    pieces = []
    centers = []
    for e in eyes:
        c = np.array([e[0] * 1.05, front, e[2] - 0.002])
        centers.append(c)
        pieces.append(torus(c, (0, -1, 0.08), 1.0, r, 40, 6, scale=(w, h)))
    xmax = np.abs(s.head_v[:, 0]).max()
    bridge = np.stack([np.linspace(centers[0][0] + w * 0.95, centers[1][0] - w * 0.95, 8),
                       np.full(8, front) - 0.002 * np.sin(np.linspace(0, np.pi, 8)),
                       np.full(8, centers[0][2] + h * 0.3)], 1)
    pieces.append(tubes(bridge[None], r, 6))
    ear_y = 0.005
    for sign, c in zip((-1, 1), centers):
        x0 = c[0] + sign * w
        pts = np.stack([np.linspace(x0, sign * (xmax + 0.004), 12), np.linspace(front, ear_y, 12),
                        np.full(12, c[2] + h * 0.35)], 1)
        pts[:, 0] = np.where(np.abs(pts[:, 0]) > xmax + 0.004, sign * (xmax + 0.004), pts[:, 0])
        pieces.append(tubes(pts[None], r * 0.8, 6))
    out = [ScenePart.uniform(f"glasses frame {i}", v, f, ACC, color, mat) for i, (v, f) in enumerate(pieces)]
    for i, c in enumerate(centers):
        v, f = uv_sphere(c, (w * 0.95, 0.0008, h * 0.95), 8, 20)
        # the ellipsoid's z axis is the lens' height: uv_sphere radii are (x, y, z)
        out.append(ScenePart.uniform(f"glasses lens {i}", v, f, ACC, (0.9, 0.9, 0.9),
                                     {"kind": "glass", "tint": float(rng.uniform(0, 0.6))}, in_scan=False))
    return out


def _head_section(s: Subject, z: float, margin: float) -> tuple[float, float, float]:
    band = s.head_v[np.abs(s.head_v[:, 2] - z) < 0.005]
    cy = 0.5 * (band[:, 1].min() + band[:, 1].max())
    return float(np.abs(band[:, 0]).max() + margin), float(0.5 * (band[:, 1].max() - band[:, 1].min()) + margin), cy


def _dome(s: Subject, z0: float, margin: float, tilt: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """A closed solid dome over the head from height z0 (front) up to the top, following the head."""
    top = s.head_v[:, 2].max() + margin
    rows, cols = 12, 48
    t = np.linspace(0, 1, rows) ** 0.8
    phi = np.linspace(0, 2 * np.pi, cols, endpoint=False)
    outer = []
    for ti in t:
        z = z0 + (top - z0) * ti
        zs = min(z, top - 0.012)
        a, b, cy = _head_section(s, zs, margin)
        k = np.sqrt(max(1 - ti ** 2, 0.0)) if ti > 0.6 else 1.0
        k = max(k, 0.05)
        ring = np.stack([a * k * np.cos(phi), cy + b * k * np.sin(phi), np.full(cols, z) + tilt * np.sin(phi)], 1)
        outer.append(ring)
    return loft(np.array(outer))  # solid: its union with the head has no inner wall


def _cap(s: Subject, rng) -> tuple[list[ScenePart], str]:
    kind = str(rng.choice(["baseball", "beanie", "hat"]))
    color = FABRIC_COLORS[rng.integers(len(FABRIC_COLORS))] * rng.uniform(0.8, 1.2)
    brow_z = s.landmarks[17:27, 2].mean()
    margin = rng.uniform(0.008, 0.016)
    z0 = brow_z + {"baseball": 0.028, "beanie": 0.02, "hat": 0.03}[kind]
    tilt = {"baseball": 0.012, "beanie": 0.02, "hat": 0.005}[kind]  # back edge lower than the front (-y)
    v, f = _dome(s, z0, margin, tilt, rng)
    mat = {"kind": "cloth", "color": np.clip(color, 0, 1).tolist(), "roughness": 0.85, "pattern": "knit"
           if kind == "beanie" else "plain"}
    parts = [ScenePart.uniform(f"cap {kind}", v, f, ACC, np.clip(color, 0, 1), mat)]
    a, b, cy = _head_section(s, z0, margin)
    if kind == "baseball":
        bv, bf = uv_sphere((0, cy - b * 0.95, z0 - 0.004), (a * 0.85, b * 0.75, 0.003), 6, 24)
        keep = bv[:, 1] < cy - b * 0.55  # only the front half of the flattened ellipsoid is the visor
        bv[~keep, 1] = cy - b * 0.55 + (bv[~keep, 1] - (cy - b * 0.55)) * 0.1
        parts.append(ScenePart.uniform("cap visor", bv, bf, ACC, np.clip(color, 0, 1), mat))
    elif kind == "hat":
        bv, bf = uv_sphere((0, cy, z0 + 0.003), (a + 0.05, b + 0.05, 0.003), 6, 40)
        parts.append(ScenePart.uniform("hat brim", bv, bf, ACC, np.clip(color, 0, 1), mat))
    return parts, kind


def _headband(s: Subject, rng) -> list[ScenePart]:
    brow_z = s.landmarks[17:27, 2].mean()
    z = brow_z + rng.uniform(0.035, 0.06)
    a, b, cy = _head_section(s, z, 0.003)
    color = FABRIC_COLORS[rng.integers(len(FABRIC_COLORS))]
    width = rng.uniform(0.004, 0.012)
    phi = np.linspace(0, 2 * np.pi, 49)
    ring = np.stack([a * np.cos(phi), cy + b * np.sin(phi), z + 0.02 * (np.sin(phi) + 1) / 2], 1)
    v, f = tubes(ring[None], np.full((1, 49), width), 6)
    v[:, 2] = ring[:, 2].mean() + (v[:, 2] - ring[:, 2].mean()) * 1.0
    return [ScenePart.uniform("headband", v, f, ACC, color, {"kind": "cloth", "color": color.tolist(),
                                                                 "roughness": 0.8, "pattern": "plain"})]


def _earrings(s: Subject, rng) -> list[ScenePart]:
    ears = s.regions["ears"]
    out = []
    color = np.array([(0.8, 0.6, 0.2), (0.75, 0.75, 0.75)][rng.integers(2)])
    hoop = rng.random() < 0.5
    size = rng.uniform(0.005, 0.014)
    for sign in (-1, 1):
        side = ears & (np.sign(s.head_v[:, 0]) == sign)
        if not side.any():
            continue
        lobe = s.head_v[side][np.argmin(s.head_v[side][:, 2])]
        if hoop:
            v, f = torus(lobe + [sign * 0.002, 0, -size * 0.9], (1, 0, 0), size, 0.0008, 24, 5)
        else:
            v, f = uv_sphere(lobe + [sign * 0.003, 0, -0.004], 0.0025 + size * 0.15, 6, 10)
        out.append(ScenePart.uniform("earring", v, f, ACC, color, {"kind": "metal", "color": color.tolist()}))
    return out


def build_accessories(s: Subject) -> tuple[list[ScenePart], dict]:
    rng = stream(s.seed, "accessories")
    parts: list[ScenePart] = []
    choice: dict = {}
    if rng.random() < 0.3:
        parts += _glasses(s, rng)
        choice["glasses"] = True
    r = rng.random()
    if r < 0.15:
        cap, kind = _cap(s, rng)
        parts += cap
        choice["cap"] = kind
    elif r < 0.25:
        parts += _headband(s, rng)
        choice["headband"] = True
    if rng.random() < (0.35 if not s.skin.get("male") else 0.1):
        parts += _earrings(s, rng)
        choice["earrings"] = True
    return parts, choice
