"""Lighting and albedo of the photometric term: 9 spherical-harmonic coefficients per colour channel (Deep3D /
3DDFA-V3 convention, initial ambient 0.8) and a low-dimensional albedo model.

FaceKit has no statistical albedo model, so the albedo is per-region RGB: one skin colour for the face plus
offsets for lips and eyebrows (the regions whose colour differs most), 9 parameters, regularised towards zero
offset. That is coarser than a PCA albedo; it is what lets lighting be fitted without over-explaining shading.
"""
from __future__ import annotations

import numpy as np
import torch

SH_INIT_AMBIENT = 0.8
_C = (np.pi * (1 / np.sqrt(4 * np.pi)), 2 * np.pi / 3 * np.sqrt(3 / (4 * np.pi)),
      np.pi / 4 * 0.5 * np.sqrt(5 / (4 * np.pi)), np.pi / 4 * 3 * np.sqrt(5 / (12 * np.pi)),
      np.pi / 4 * 1.5 * np.sqrt(5 / (12 * np.pi)))


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """(…, 9) irradiance SH basis of unit normals (…, 3) (Ramamoorthi & Hanrahan constants)."""
    x, y, z = normals.unbind(-1)
    c0, c1, c2, c3, c4 = _C
    one = torch.ones_like(x)
    return torch.stack([c0 * one, -c1 * y, c1 * z, -c1 * x, c3 * x * y, -c3 * y * z, c2 * (3 * z * z - 1),
                        -c3 * x * z, c4 * (x * x - y * y)], -1)


def init_sh() -> torch.Tensor:
    """(3, 9) coefficients: ambient light only."""
    sh = torch.zeros(3, 9)
    sh[:, 0] = SH_INIT_AMBIENT / _C[0]
    return sh


def shade(albedo: torch.Tensor, normals: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """Linear-light colour (n, 3) = albedo · (SH basis(normals) · sh_c) per channel."""
    return albedo * (sh_basis(normals) @ sh.T)


def vertex_normals(v: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals (n, 3), differentiable."""
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    fn = torch.cross(b - a, c - a, dim=1)
    n = torch.zeros_like(v).index_add(0, faces[:, 0], fn).index_add(0, faces[:, 1], fn).index_add(0, faces[:, 2], fn)
    return n / n.norm(dim=1, keepdim=True).clamp(min=1e-12)
