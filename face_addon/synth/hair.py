"""Scalp hair styles and facial hair, grown procedurally in numpy. No bpy.

Styles: bald, buzz, short, long, bun, ponytail, curly. Strand styles are grown as guide polylines from roots
sampled on the scalp (area-weighted): each step bends the direction towards the style's combing flow and gravity
and pushes the point back outside the head (nearest-vertex signed offset). The same strands give

* the render geometry: Blender hair curves (guides plus jittered children), see scene.py, and
* the scan geometry: thick closed tubes (a few mm: clumps), which the voxel remesher fuses into the bumpy,
  skin-welded hair cap a multi-view-stereo + Poisson scan produces.

Buzz cuts, beards, moustaches and eyebrows are closed shells over head regions (shapes.region_shell), whose
thickness decides the ground truth: a 1 mm buzz cut is within the 1.5 mm skin band, a beard is not.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..core.dataset import CLASS_IDS
from .parts import ScenePart, Strands
from .shapes import region_shell, tubes, uv_sphere
from .subject import Subject, stream

STYLES = ("bald", "buzz", "short", "long", "bun", "ponytail", "curly")
STYLE_WEIGHTS = (0.1, 0.12, 0.26, 0.2, 0.08, 0.1, 0.14)
HAIR_COLORS = np.array([  # linear RGB: black, dark brown, brown, light brown, blond, auburn, grey
    (0.015, 0.01, 0.008), (0.04, 0.022, 0.012), (0.09, 0.05, 0.025), (0.18, 0.11, 0.06), (0.45, 0.32, 0.16),
    (0.25, 0.07, 0.03), (0.45, 0.44, 0.42)])


def _sample_roots(s: Subject, mask: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n area-weighted random points (and normals) on head faces whose vertices are all in mask."""
    f = s.head_f[mask[s.head_f].all(1)]
    if len(f) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    a, b, c = (s.head_v[f[:, k]] for k in range(3))
    area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    pick = rng.choice(len(f), n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    flip = r1 + r2 > 1
    r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
    p = a[pick] + (b - a)[pick] * r1[:, None] + (c - a)[pick] * r2[:, None]
    nrm = (s.normals[f[pick, 0]] + s.normals[f[pick, 1]] + s.normals[f[pick, 2]])
    return p, nrm / np.linalg.norm(nrm, axis=1, keepdims=True)


def _grow(s: Subject, roots: np.ndarray, normals: np.ndarray, length: np.ndarray, flow: np.ndarray,
          gravity: float, lift: float, clearance: float, n_pts: int = 14) -> np.ndarray:
    """Grow strands (S, n_pts, 3): direction blends towards flow (S, 3) and gravity, kept `clearance` outside."""
    tree = cKDTree(s.head_v)
    step = (length / (n_pts - 1))[:, None]
    d = normals * lift + flow
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    p = roots + normals * 0.001
    out = [p]
    for k in range(1, n_pts):
        d = d + flow * 0.25 + np.array([0, 0, -gravity]) * (k / n_pts)
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        p = p + d * step
        _, i = tree.query(p)
        off = ((p - s.head_v[i]) * s.normals[i]).sum(1)
        push = np.maximum(clearance - off, 0)[:, None]
        p = p + push * s.normals[i]
        d = d + push * s.normals[i] / np.maximum(step, 1e-6) * 0.5
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        out.append(p)
    return np.stack(out, 1)


def _flow(roots: np.ndarray, part_x: float, back: float, down: float) -> np.ndarray:
    """Combing direction: away from a side parting at x = part_x, backwards, downwards."""
    side = np.sign(roots[:, 0] - part_x + 1e-4)[:, None] * np.array([1.0, 0, 0])
    f = side * 0.6 + np.array([0, back, -down])
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def _curl(paths: np.ndarray, radius: np.ndarray, turns: float, rng: np.random.Generator) -> np.ndarray:
    """Add a helix of growing radius around each strand (curly hair)."""
    s, p, _ = paths.shape
    t = np.gradient(paths, axis=1)
    t /= np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), 1e-9)
    u = np.cross(t, np.array([0, 0, 1.0]))
    u /= np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-9)
    w = np.cross(t, u)
    k = np.linspace(0, 1, p)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (s, 1, 1)) + k * turns * 2 * np.pi
    r = radius[:, None, None] * np.minimum(k * 4, 1)
    return paths + r * (np.cos(phase) * u + np.sin(phase) * w)


def build_hair(s: Subject, scan_tube_scale: float = 1.0) -> tuple[list[ScenePart], list[Strands], dict]:
    """Scalp hair for subject `s` -> (closed parts for the scan, strands for rendering, choices for meta.json)."""
    rng = stream(s.seed, "hair")
    style = str(rng.choice(STYLES, p=STYLE_WEIGHTS))
    older = s.skin.get("male", False)
    ci = rng.choice(len(HAIR_COLORS), p=[0.3, 0.25, 0.15, 0.1, 0.08, 0.05, 0.07])
    color = np.clip(HAIR_COLORS[ci] * rng.uniform(0.8, 1.2, 3), 0, 1)
    choice = {"style": style, "color": color.tolist()}
    parts: list[ScenePart] = []
    strands: list[Strands] = []
    scalp = s.regions["scalp"]
    hair_mat = {"kind": "hair", "color": color.tolist()}
    if style == "bald":
        return parts, strands, choice
    if style == "buzz":
        thick = rng.uniform(0.0008, 0.004)
        noise = rng.normal(0, thick * 0.15, len(s.head_v))
        v, f = region_shell(s.head_v, s.head_f, s.normals, scalp, np.maximum(thick + noise, 0.0004))
        parts.append(ScenePart.uniform("hair buzz", v, f, CLASS_IDS["hair"], color, hair_mat))
        choice["thickness_mm"] = round(thick * 1000, 2)
        return parts, strands, choice
    n = int(rng.integers(500, 900))
    roots, nrm = _sample_roots(s, scalp, n, rng)
    part_x = rng.uniform(-0.03, 0.03) if rng.random() < 0.7 else 0.0
    if style == "short":
        length = rng.uniform(0.03, 0.08) * rng.uniform(0.8, 1.2, n)
        paths = _grow(s, roots, nrm, length, _flow(roots, part_x, 0.5, 0.4), 0.15, 0.5, rng.uniform(0.003, 0.008))
    elif style == "curly":
        length = rng.uniform(0.05, 0.14) * rng.uniform(0.8, 1.2, n)
        paths = _grow(s, roots, nrm, length, _flow(roots, part_x, 0.2, 0.2), 0.1, 1.5, 0.01)
        paths = _curl(paths, rng.uniform(0.006, 0.015, n), rng.uniform(2, 4), rng)
    elif style == "long":
        length = rng.uniform(0.15, 0.32) * rng.uniform(0.85, 1.15, n)
        paths = _grow(s, roots, nrm, length, _flow(roots, part_x, 0.3, 0.9), 0.6, 0.3, rng.uniform(0.003, 0.008))
    else:  # bun / ponytail: combed towards a gathering point at the back of the head
        top = s.head_v[:, 2].max()
        back_y = s.head_v[:, 1].max()
        gather = np.array([0.0, back_y + 0.005, top - (0.03 if style == "bun" else 0.06) - rng.uniform(0, 0.03)])
        to_g = gather - roots
        dist = np.linalg.norm(to_g, axis=1)
        paths = _grow(s, roots, nrm, dist * 1.05, to_g / dist[:, None], 0.0, 0.2, 0.004)
        if style == "bun":
            r = rng.uniform(0.03, 0.045)
            bv, bf = uv_sphere(gather + [0, r * 0.6, 0], (r, r * 0.8, r * 0.9), 10, 16)
            bv = bv + rng.normal(0, r * 0.04, bv.shape)
            parts.append(ScenePart.uniform("hair bun", bv, bf, CLASS_IDS["hair"], color, hair_mat))
            ang = rng.uniform(0, 2 * np.pi, 300)
            rr = rng.uniform(0.3, 1.0, 300) * r
            ring = gather + [0, r * 0.6, 0] + np.stack([np.cos(ang) * rr, np.zeros(300), np.sin(ang) * rr], 1)
            tail = np.linspace(0, 1, 14)[None, :, None]
            spin = np.stack([-np.sin(ang), np.zeros(300), np.cos(ang)], 1)[:, None] * r * 0.9 * tail
            strands.append(Strands("hair bun strands", ring[:, None] + spin, 0.00008, color, hair_mat))
        else:
            m = 120
            tail_len = rng.uniform(0.12, 0.3)
            sway = rng.uniform(-0.03, 0.03)
            t = np.linspace(0, 1, 14)[None, :, None]
            off = rng.normal(0, 0.008, (m, 1, 3)) * (1 + 1.5 * t)
            path = gather + np.concatenate([np.full_like(t, sway) * t, 0.03 * np.sin(t * 2) + 0.01,
                                            -tail_len * t], -1)
            tail_paths = path + off
            strands.append(Strands("hair ponytail", tail_paths, 0.00008, color, hair_mat))
            tv, tf = tubes(tail_paths[::4], 0.006 * scan_tube_scale, 5)
            parts.append(ScenePart.uniform("hair ponytail scan", tv, tf, CLASS_IDS["hair"], color, hair_mat,
                                           in_render=False))
    choice.update(n_guides=int(n), part_x=round(float(part_x), 4))
    strands.insert(0, Strands("hair", paths, 0.00008, color, hair_mat))
    # scan geometry: a third of the guides as thick clumps, tapering towards the tips (fewer, fatter tubes
    # fuse into one cap instead of enclosing many cavities the remesher would have to build; tried: every guide
    # at 6-9 mm fuses the tips only a little more and costs 2.5x the remeshed vertices)
    clump = rng.uniform(0.004, 0.007) * scan_tube_scale
    sub = paths[:: 3]
    taper = np.linspace(1.0, 0.5, paths.shape[1])[None] * np.ones((len(sub), 1)) * clump
    tv, tf = tubes(sub, taper, 5)
    parts.append(ScenePart.uniform("hair scan", tv, tf, CLASS_IDS["hair"], color, hair_mat, in_render=False))
    # the scalp under the strands: a thin dark shell, so renders look dense and the scan has a hair cap
    v, f = region_shell(s.head_v, s.head_f, s.normals, scalp, 0.0015)
    parts.append(ScenePart.uniform("hair cap", v, f, CLASS_IDS["hair"], color, hair_mat))
    choice["clump_mm"] = round(clump * 1000, 2)
    return parts, strands, choice


def build_facial_hair(s: Subject, hair_color: np.ndarray) -> tuple[list[ScenePart], dict]:
    """Eyebrows (always), and by chance stubble (colour only), moustache, beard."""
    rng = stream(s.seed, "facial_hair")
    parts: list[ScenePart] = []
    male = s.skin.get("male", False)
    kind = str(rng.choice(["none", "stubble", "moustache", "beard", "goatee"],
                          p=[0.35, 0.25, 0.1, 0.2, 0.1] if male else [1, 0, 0, 0, 0]))
    color = np.clip(np.asarray(hair_color) * rng.uniform(0.7, 1.1), 0, 1)
    mat = {"kind": "hair", "color": color.tolist()}
    choice = {"facial_hair": kind}
    brow_color = np.clip(np.asarray(hair_color) * rng.uniform(0.5, 0.9), 0, 1)
    brow_t = rng.uniform(0.0008, 0.0025)
    for side in ("left_eyebrow", "right_eyebrow"):
        mask = s.regions.get(side)
        if mask is None or not mask.any():
            continue
        thick = np.full(len(s.head_v), brow_t) + rng.normal(0, brow_t * 0.2, len(s.head_v))
        v, f = region_shell(s.head_v, s.head_f, s.normals, mask, np.maximum(thick, 0.0004))
        parts.append(ScenePart.uniform(f"brow {side}", v, f, CLASS_IDS[side], brow_color,
                                       {"kind": "hair", "color": brow_color.tolist()}))
    choice["brow_mm"] = round(brow_t * 1000, 2)
    regions = []
    if kind == "beard":
        regions = [(s.regions["beard"] | s.regions["moustache"], rng.uniform(0.004, 0.016))]
    elif kind == "moustache":
        regions = [(s.regions["moustache"], rng.uniform(0.003, 0.007))]
    elif kind == "goatee":
        chin = s.regions["beard"] & (np.abs(s.head_v[:, 0]) < 0.025)
        regions = [(chin | s.regions["moustache"], rng.uniform(0.003, 0.01))]
    for mask, thick in regions:
        w = thick * (1 + rng.normal(0, 0.15, len(s.head_v)))
        v, f = region_shell(s.head_v, s.head_f, s.normals, mask, np.maximum(w, 0.0005))
        parts.append(ScenePart.uniform(f"facial hair {kind}", v, f, CLASS_IDS["facial_hair"], color, mat))
        choice["facial_hair_mm"] = round(float(thick) * 1000, 1)
    choice["stubble"] = kind == "stubble"
    return parts, choice

