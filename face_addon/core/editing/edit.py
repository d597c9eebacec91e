"""Apply controller edits to a face: latent edit per segment, re-assembly with offsets, ARAP blending.

Edits are applied as differences so a face is kept exactly where nothing is edited: each part becomes
original + D(z̃) − D(z) + Δoffset, the rest original + D₀(z̃₀) − D₀(z₀), and ARAP re-solves the transition
area between the five parts' boundaries and its outer boundary. The VAE's reconstruction error therefore never
shows on an edited face (a reconstruction or a scan-fitted head keeps its detail); with all controllers at 0
the output equals the input. Everything is torch and differentiable in the controllers and offsets.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from ..geometry.arap import ARAP
from ..geometry.laplacian import submesh_faces
from .layout import PART_NAMES, SEGMENT_NAMES
from .model import MM, Neo3DF


@dataclass
class Encoded:
    """A face as the model sees it: vertices (n, 3) mm, latents per segment (1, d_z), offsets (1, parts, 3)."""

    verts: torch.Tensor
    z: dict[str, torch.Tensor]
    offsets: torch.Tensor


class FaceEditor:
    """Controller editing with one model; the ARAP system is built and factorised once per editor."""

    def __init__(self, model: Neo3DF, iterations: int = 3) -> None:
        self.model, self.iterations = model, iterations
        self.names = model.controllers.flat()  # [(segment, controller)]

    @cached_property
    def blender(self) -> tuple[ARAP, np.ndarray, np.ndarray]:
        """(ARAP on the transition area, domain vertex ids, ids of its handles in ARAP order)."""
        lay = self.model.layout
        domain = lay.transition
        faces, _ = submesh_faces(self.model.faces, domain)
        handles = np.concatenate([*lay.boundary.values(), lay.outer_boundary])
        arap = ARAP(len(domain), faces, np.searchsorted(domain, handles), self.iterations)
        return arap, domain, domain[arap.constrained]

    def encode(self, vertices_m: np.ndarray) -> Encoded:
        """Encode a FaceKit-topology face (n, 3) metres."""
        self.model.check_topology(len(vertices_m))
        verts = torch.as_tensor(np.asarray(vertices_m) * MM, dtype=torch.float32)
        with torch.no_grad():
            z, offs = self.model.encode(verts[None])
        return Encoded(verts, z, offs)

    def values_tensor(self, values: dict[str, float]) -> torch.Tensor:
        """{controller name: σ units} -> (m,) in `self.names` order; unknown names raise KeyError."""
        known = [c for _, c in self.names]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise KeyError(f"unknown controller(s) {unknown}; known: {known}")
        return torch.tensor([float(values.get(c, 0.0)) for c in known])

    def latent_edit(self, enc: Encoded, c: torch.Tensor) -> dict[str, torch.Tensor]:
        """z̃ = z + (c∘Σ)M per segment, for controller values c (B, m) in σ units -> {segment: (B or 1, d_z)}."""
        ctl, out, i = self.model.controllers, {}, 0
        for seg in SEGMENT_NAMES:
            m = len(ctl.names.get(seg, []))
            out[seg] = enc.z[seg] + (c[:, i:i + m] * ctl.sigma[seg]) @ ctl.M[seg] if m else enc.z[seg]
            i += m
        return out

    def apply(self, enc: Encoded, c: torch.Tensor, offset_delta: torch.Tensor | None = None,
              blend: bool = True) -> torch.Tensor:
        """Edited vertices (n, 3) mm for controller values c (m,), or (B, n, 3) for a batch c (B, m).
        offset_delta: optional extra (Δy, Δz) per part in mm, (parts, 2) or (B, parts, 2) (2D alignment)."""
        model, lay = self.model, self.model.layout
        single = c.dim() == 1
        c = c[None] if single else c
        if offset_delta is not None and offset_delta.dim() == 2:
            offset_delta = offset_delta[None]
        z_new = self.latent_edit(enc, c)
        changed = [k for k in SEGMENT_NAMES if z_new[k] is not enc.z[k]]
        dec_old = model.decode({k: enc.z[k] for k in changed}) if changed else {}
        dec_new = model.decode({k: z_new[k] for k in changed}) if changed else {}
        shift = torch.zeros(1, len(PART_NAMES), 3)
        if "rest" in changed:
            shift = model.offsets(z_new["rest"]) - model.offsets(enc.z["rest"])
        if offset_delta is not None:
            shift = shift + torch.cat([torch.zeros_like(offset_delta[..., :1]), offset_delta], -1)
        out = enc.verts.expand(len(c), -1, -1)
        rest_idx = torch.as_tensor(lay.segments["rest"])
        rest = enc.verts[rest_idx] + (dec_new["rest"] - dec_old["rest"] if "rest" in changed else 0.0)
        out = out.index_copy(1, rest_idx, rest.expand(len(c), -1, -1))
        rest_positions = out  # the unblended S'_rest, whose local detail ARAP keeps
        for i, k in enumerate(PART_NAMES):
            idx = torch.as_tensor(lay.segments[k])
            part = enc.verts[idx] + shift[:, i, None] + (dec_new[k] - dec_old[k] if k in changed else 0.0)
            out = out.index_copy(1, idx, part.expand(len(c), -1, -1))
        if blend:
            arap, domain, handles = self.blender
            dom = torch.as_tensor(domain)
            solved = arap(rest_positions[:, dom], out[:, torch.as_tensor(handles)])
            out = out.index_copy(1, dom, solved.to(out.dtype))
        return out[0] if single else out

    def edit(self, vertices_m: np.ndarray, values: dict[str, float]) -> np.ndarray:
        """Convenience: metres in, edited metres out (float64)."""
        enc = self.encode(vertices_m)
        with torch.no_grad():
            out = self.apply(enc, self.values_tensor(values))
        return out.double().numpy() / MM

    def linear_keys(self, vertices_m: np.ndarray, step: float = 1.0) -> dict[str, np.ndarray]:
        """Per controller, the edit's central difference per σ at this face: (n, 3) metres offsets, so a shape
        key at value c approximates the exact edit at c (used for instant viewport sliders)."""
        enc = self.encode(vertices_m)
        eye = torch.eye(len(self.names)) * step
        with torch.no_grad():  # one batch: every controller at +step and at -step
            both = self.apply(enc, torch.cat([eye, -eye]))
        diff = ((both[: len(eye)] - both[len(eye):]) / (2 * step)).double().numpy() / MM
        return {name: diff[j] for j, (_, name) in enumerate(self.names)}
