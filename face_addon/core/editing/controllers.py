"""Editing controllers: automatic measurement rules per segment, and the NEO-3DF map to latent space.

Each controller measures one feature of its segment's shape with a fixed rule: the mean (over bilateral
pairs) of a signed coordinate difference or a distance between two vertices. The vertices are picked once, on
the mean face, from FaceKit's landmarks and simple extremes (the most forward nose vertex...), and stored with
the model. Part shapes are re-centred, so part features are intrinsic (widths, heights, depths); where a part
sits (e.g. brow height) is the part's offset, not a shape feature.

Calibration follows the paper: X (N, m) measurements and Z (N, d_z) latents of the training faces, minus those
of the mean face; M = ΔX⁺ΔZ, Σ = std of ΔX's columns; an edit is z̃ = z + (c∘Σ)M with c in σ units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .layout import SEGMENT_NAMES

AXES = {"x": 0, "y": 1, "z": 2, "norm": 3}


@dataclass(frozen=True)
class Rule:
    """A feature = mean over `pairs` of (p_a − p_b)[axis] (or ‖p_a − p_b‖ for 'norm'); full-mesh vertex ids."""

    name: str
    segment: str
    pairs: tuple[tuple[int, int], ...]
    axis: str


def _label(name: str) -> str:
    return name.replace("_", " ").title()


def controller_label(name: str) -> str:
    """The name users see ('nose_height' -> 'Nose Height')."""
    return _label(name)


def define_rules(mean: np.ndarray, segments: dict[str, np.ndarray], landmarks: np.ndarray,
                 mirror: np.ndarray) -> list[Rule]:
    """Measurement rules on the mean face (n, 3), Blender axes (+X subject's left, −Y forward, +Z up)."""
    v = mean
    lm = lambda i: int(landmarks[i])  # noqa: E731

    parts = np.concatenate([segments[k] for k in segments if k != "rest"])
    own = {k: np.setdiff1d(segments[k], parts) if k == "rest" else segments[k] for k in segments}

    def inside(seg: str, i: int) -> int:
        """Vertex i if it is in the segment, else the segment vertex nearest to it (for rest: a vertex not
        shared with a part, since shared vertices follow the part when the face is assembled)."""
        idx = own[seg]
        return i if i in set(idx.tolist()) else int(idx[np.argmin(np.linalg.norm(v[idx] - v[i], axis=1))])

    def pick(seg: str, score: np.ndarray, where: np.ndarray | None = None) -> int:
        idx = own[seg] if where is None else np.intersect1d(own[seg], np.flatnonzero(where))
        return int(idx[np.argmax(score[idx])])

    mid = np.abs(v[:, 0]) < 1.5e-3
    rules: list[Rule] = []
    # Nose: top-to-subnasale height, alar width (iBUG 31-35), bridge width, tip projection, tip height.
    top, bottom = pick("nose", v[:, 2], mid), pick("nose", -v[:, 2], mid)
    tip = pick("nose", -v[:, 1], mid)
    ala_r = inside("nose", lm(31))
    bridge_z = v[top, 2] + (v[tip, 2] - v[top, 2]) / 3
    bridge_r = pick("nose", -v[:, 0], np.abs(v[:, 2] - bridge_z) < 2.5e-3)
    rules += [Rule("nose_height", "nose", ((top, bottom),), "z"),
              Rule("nose_width", "nose", ((mirror[ala_r], ala_r),), "x"),
              Rule("nose_bridge_width", "nose", ((mirror[bridge_r], bridge_r),), "x"),
              Rule("nose_tip_projection", "nose", ((ala_r, tip), (mirror[ala_r], tip)), "y"),
              Rule("nose_tip_height", "nose", ((tip, bottom),), "z")]
    # Eyes: corner-to-corner width, lid-to-lid height, inner-corner spacing (iBUG 36-47).
    e = {i: inside("eyes", lm(i)) for i in range(36, 48)}
    rules += [Rule("eye_width", "eyes", ((e[39], e[36]), (e[45], e[42])), "x"),
              Rule("eye_height", "eyes", ((e[37], e[41]), (e[38], e[40]), (e[43], e[47]), (e[44], e[46])), "z"),
              Rule("eye_spacing", "eyes", ((e[42], e[39]),), "x")]
    # Brows: thickness at the middle, angle (outer end above inner end), length (iBUG 17-26).
    b = {i: inside("eyebrows", lm(i)) for i in range(17, 27)}
    near = np.abs(v[:, 0] - v[b[19], 0]) < 3e-3
    b_top, b_bot = pick("eyebrows", v[:, 2], near), pick("eyebrows", -v[:, 2], near)
    rules += [Rule("brow_thickness", "eyebrows", ((b_top, b_bot), (mirror[b_top], mirror[b_bot])), "z"),
              Rule("brow_angle", "eyebrows", ((b[17], b[21]), (b[26], b[22])), "z"),
              Rule("brow_length", "eyebrows", ((b[21], b[17]), (b[26], b[22])), "x")]
    # Lips: midline thickness, width (corner to corner), projection (most forward vs. the corners).
    for seg, name in (("upper_lip", "upper_lip"), ("lower_lip", "lower_lip")):
        hi, lo = pick(seg, v[:, 2], mid), pick(seg, -v[:, 2], mid)
        corner_r = pick(seg, -v[:, 0])
        front = pick(seg, -v[:, 1], mid)
        rules += [Rule(f"{name}_thickness", seg, ((hi, lo),), "z"),
                  Rule(f"{name}_width", seg, ((mirror[corner_r], corner_r),), "x"),
                  Rule(f"{name}_projection", seg, ((corner_r, front), (mirror[corner_r], front)), "y")]
    # Rest (jaw and chin): jaw width, chin height, chin projection, face width, face height.
    r = {i: inside("rest", lm(i)) for i in (1, 4, 8, 12, 15, 27, 57)}
    chin = pick("rest", -v[:, 1], mid & (v[:, 2] < v[r[57], 2]) & (v[:, 2] > v[r[8], 2]))
    rules += [Rule("jaw_width", "rest", ((r[12], r[4]),), "x"),
              Rule("chin_height", "rest", ((r[57], r[8]),), "z"),
              Rule("chin_projection", "rest", ((r[27], chin),), "y"),
              Rule("face_width", "rest", ((r[15], r[1]),), "x"),
              Rule("face_height", "rest", ((r[27], r[8]),), "z")]
    return rules


def measure(shape: torch.Tensor, pairs: torch.Tensor, axes: torch.Tensor) -> torch.Tensor:
    """Features of (B, k, 3) shapes. pairs (m, P, 2) segment-local ids (rows padded by repeating a pair),
    axes (m,) in 0..3 (3 = Euclidean distance). Returns (B, m)."""
    d = shape[:, pairs[..., 0]] - shape[:, pairs[..., 1]]  # (B, m, P, 3)
    comp = torch.cat([d, d.norm(dim=-1, keepdim=True)], -1)
    idx = axes.view(1, -1, 1, 1).expand(d.shape[0], -1, d.shape[2], 1)
    return comp.gather(-1, idx)[..., 0].mean(-1)


def local_pairs(rules: list[Rule], segment_index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Pack rules of one segment as (pairs (m, P, 2) local ids, axes (m,)); fewer pairs are cycled to P."""
    width = max(len(r.pairs) for r in rules)
    pos = {int(g): i for i, g in enumerate(segment_index)}
    rows = []
    for r in rules:
        p = [(pos[a], pos[b]) for a, b in r.pairs]
        if width % len(p):
            raise ValueError(f"rule {r.name}: {len(p)} pairs cannot be padded to {width} without changing the mean")
        rows.append([p[i % len(p)] for i in range(width)])  # cycling keeps the mean exact
    return torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor([AXES[r.axis] for r in rules])


def calibrate(model, sampler, alphas: np.ndarray, batch: int = 2048) -> None:
    """Fill model.controllers from the training faces (paper §3, 'Intuitive Face Editing')."""
    from ..facekit import load_facekit
    from .model import MM

    fk = load_facekit()
    mean = model.mean_face.numpy() / MM
    rules = define_rules(mean, model.layout.segments, fk.landmark_indices, fk.mirror)
    c = model.controllers
    packed = {}
    for seg in SEGMENT_NAMES:
        mine = [r for r in rules if r.segment == seg]
        packed[seg] = local_pairs(mine, model.layout.segments[seg])
        c.names[seg] = [r.name for r in mine]
    xs: dict[str, list] = {k: [] for k in SEGMENT_NAMES}
    zs: dict[str, list] = {k: [] for k in SEGMENT_NAMES}
    with torch.no_grad():
        for i in range(0, len(alphas), batch):
            verts = sampler(alphas[i:i + batch])
            shapes, _ = model.split(verts)
            z, _ = model.encode(verts)
            for seg in SEGMENT_NAMES:
                xs[seg].append(measure(shapes[seg], *packed[seg]))
                zs[seg].append(z[seg])
        mshapes, _ = model.split(model.mean_face[None])
        zbar, _ = model.encode(model.mean_face[None])
        for seg in SEGMENT_NAMES:
            x_bar = measure(mshapes[seg], *packed[seg])[0]
            dx = torch.cat(xs[seg]).double() - x_bar.double()
            dz = torch.cat(zs[seg]).double() - zbar[seg][0].double()
            c.M[seg] = (torch.linalg.pinv(dx) @ dz).float()
            c.sigma[seg] = dx.std(0).float()
            c.z_mean[seg] = zbar[seg][0].clone()
            c.x_mean[seg] = x_bar.clone()
            c.pairs[seg], c.axes[seg] = packed[seg]
