"""The NEO-3DF shape model: six part VAEs, the offset regressor, the segment layout and the controller maps.

Everything needed to edit a face lives in one weights file (see `save`/`load_model`), including the segment
index sets and the mean face it was trained on, so a model keeps working when FaceKit's annotations are later
refined; a topology check refuses meshes it was not trained for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..nets.part_vae import OffsetRegressor, PartVAE
from .layout import PART_NAMES, SEGMENT_NAMES, SegmentLayout

FORMAT, VERSION = "neo3df", 1
LATENT = {"rest": 30, **{k: 10 for k in PART_NAMES}}
MM = 1000.0  # the networks work in millimetres, meshes are in metres


@dataclass
class Controllers:
    """Per segment: controller names, the map M (m, d_z), Σ (m,), mean-face latent z̄ and measurements x̄."""

    names: dict[str, list[str]] = field(default_factory=dict)
    M: dict[str, torch.Tensor] = field(default_factory=dict)
    sigma: dict[str, torch.Tensor] = field(default_factory=dict)
    z_mean: dict[str, torch.Tensor] = field(default_factory=dict)
    x_mean: dict[str, torch.Tensor] = field(default_factory=dict)
    pairs: dict[str, torch.Tensor] = field(default_factory=dict)
    axes: dict[str, torch.Tensor] = field(default_factory=dict)

    def flat(self) -> list[tuple[str, str]]:
        """[(segment, controller name)] in a stable order (segments as in SEGMENT_NAMES)."""
        return [(s, c) for s in SEGMENT_NAMES for c in self.names.get(s, [])]


class Neo3DF(nn.Module):
    """Segment VAEs + offset regressor on a fixed topology. Shapes in/out are millimetres, full-mesh indexed."""

    def __init__(self, layout: SegmentLayout, mean_face: np.ndarray, faces: np.ndarray,
                 hidden: tuple[int, int] = (96, 64)) -> None:
        super().__init__()
        self.layout, self.faces = layout, np.asarray(faces, np.int64)
        self.hidden = tuple(hidden)
        self.vaes = nn.ModuleDict({k: PartVAE(len(layout.segments[k]), LATENT[k], hidden) for k in SEGMENT_NAMES})
        self.offsets = OffsetRegressor(LATENT["rest"], len(PART_NAMES))
        self.register_buffer("mean_face", torch.as_tensor(mean_face * MM, dtype=torch.float32))
        mean = self.mean_face
        self.register_buffer("centres", torch.stack([bbox_centre(mean[layout.segments[k]]) for k in PART_NAMES]))
        self.controllers = Controllers()

    # -- shape <-> segments -------------------------------------------------------------------------------------
    def split(self, verts_mm: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(B, n, 3) -> ({segment: re-centred part / absolute rest}, offsets (B, parts, 3) relative to the mean)."""
        shapes, offs = {"rest": verts_mm[:, self.layout.segments["rest"]]}, []
        for i, k in enumerate(PART_NAMES):
            p = verts_mm[:, self.layout.segments[k]]
            c = bbox_centre(p)
            shapes[k] = p - c[:, None]
            offs.append(c - self.centres[i])
        return shapes, torch.stack(offs, 1)

    def place(self, shapes: dict[str, torch.Tensor], offsets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Re-centred part shapes -> absolute positions with the (0, Δy, Δz) offsets (x stays at the mean's)."""
        out = {"rest": shapes["rest"]}
        for i, k in enumerate(PART_NAMES):
            o = offsets[:, i] * offsets.new_tensor([0.0, 1.0, 1.0])
            out[k] = shapes[k] + (self.centres[i] + o)[:, None]
        return out

    def encode(self, verts_mm: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(B, n, 3) mm -> ({segment: mu (B, d_z)}, measured offsets (B, parts, 3))."""
        shapes, offs = self.split(verts_mm)
        return {k: self.vaes[k].encode(shapes[k])[0] for k in SEGMENT_NAMES}, offs

    def decode(self, z: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{segment: latent} -> {segment: decoded shape (parts re-centred, rest absolute)}."""
        return {k: self.vaes[k].decode(z[k]) for k in SEGMENT_NAMES}

    def check_topology(self, n_vertices: int, faces: np.ndarray | None = None) -> None:
        if n_vertices != self.layout.n_vertices or (faces is not None and (
                faces.shape != self.faces.shape or not np.array_equal(np.asarray(faces), self.faces))):
            raise ValueError(f"the editing model was trained on the {self.layout.n_vertices}-vertex FaceKit topology; "
                             f"this mesh has {n_vertices} vertices (or a different triangulation)")

    # -- persistence -------------------------------------------------------------------------------------------
    def save(self, path: Path, meta: dict, half: bool = True) -> None:
        """Write the weights file: fp16 weights (fp32 buffers), layout, mean face, faces, controllers, meta."""
        state = {k: (v.half() if half and v.is_floating_point() and "vaes" in k and ("weight" in k or "bias" in k)
                     else v.clone()) for k, v in self.state_dict().items()}
        lay = self.layout
        c = self.controllers
        torch.save({
            "format": FORMAT, "version": VERSION, "hidden": list(self.hidden), "meta": meta, "state_dict": state,
            "faces": torch.as_tensor(self.faces, dtype=torch.int32),
            "layout": {"segments": {k: torch.as_tensor(v) for k, v in lay.segments.items()},
                       "boundary": {k: torch.as_tensor(v) for k, v in lay.boundary.items()},
                       "transition": torch.as_tensor(lay.transition), "outer_boundary": torch.as_tensor(lay.outer_boundary),
                       "radius": lay.radius, "n_vertices": lay.n_vertices},
            "controllers": {"names": c.names, "M": c.M, "sigma": c.sigma, "z_mean": c.z_mean, "x_mean": c.x_mean,
                            "pairs": c.pairs, "axes": c.axes},
        }, path)


def bbox_centre(points: torch.Tensor) -> torch.Tensor:
    """Centre of the axis-aligned bounding box of (..., k, 3) points -> (..., 3)."""
    return 0.5 * (points.amax(-2) + points.amin(-2))


def load_model(path: Path | str) -> Neo3DF:
    """Load a weights file written by `Neo3DF.save` (no pickle: weights_only=True), in eval mode, float32."""
    from ..weights import WeightsError, read_tensor_file

    d = read_tensor_file(path)
    if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
        raise WeightsError(f"{path}: not a {FORMAT} v{VERSION} weights file")
    lay = d["layout"]
    layout = SegmentLayout(int(lay["n_vertices"]), {k: v.numpy().astype(np.int64) for k, v in lay["segments"].items()},
                           {k: v.numpy().astype(np.int64) for k, v in lay["boundary"].items()},
                           lay["transition"].numpy().astype(np.int64), lay["outer_boundary"].numpy().astype(np.int64),
                           float(lay["radius"]))
    state = {k: v.float() if v.is_floating_point() else v for k, v in d["state_dict"].items()}
    model = Neo3DF(layout, state["mean_face"].numpy() / MM, d["faces"].numpy().astype(np.int64), tuple(d["hidden"]))
    model.load_state_dict(state)
    c = d["controllers"]
    model.controllers = Controllers(**c)
    model.meta = d["meta"]
    return model.eval()
