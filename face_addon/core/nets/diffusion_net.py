"""DiffusionNet (Sharp, Attaiki, Crane, Ovsjanikov, TOG 2022): the per-vertex segmenter of Pixels2Points.

Each block diffuses every channel over the surface for a learned time (spectrally, in the truncated
Laplace–Beltrami eigenbasis), takes tangent gradients of the diffused channels and turns them into
rotation-invariant scalars, then mixes [x, diffused x, gradient features] with a per-vertex MLP:

    x_{d+1} = x_d + MLP([x_d, h_d, tanh(Re(conj(∇h_d) ⊙ A ∇h_d))])     h_d = Φ exp(−λ t) Φᵀ M x_d

Nothing depends on the mesh connectivity beyond the precomputed operators, so the same weights run on
scans of any resolution, and on point clouds. One shape per call (operators differ per shape).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..geometry.spectral import Operators


def _sparse_torch(m: sp.csr_matrix, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
    m = sp.csr_matrix(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)),
                                       torch.from_numpy(m.indices.astype(np.int64)),
                                       torch.from_numpy(m.data).to(dtype), m.shape, device=device)


@dataclass(frozen=True)
class DiffusionOperators:
    """The operators of one shape as torch tensors: mass (n,), evals (k,), evecs (n, k), grad_x/grad_y
    sparse CSR (n, n)."""

    mass: torch.Tensor
    evals: torch.Tensor
    evecs: torch.Tensor
    grad_x: torch.Tensor
    grad_y: torch.Tensor

    @classmethod
    def from_operators(cls, ops: Operators, device: torch.device | str = "cpu",
                       dtype: torch.dtype = torch.float32) -> DiffusionOperators:
        def dense(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(a), dtype=dtype, device=device)

        return cls(dense(ops.mass), dense(ops.evals), dense(ops.evecs),
                   _sparse_torch(ops.grad_x, device, dtype), _sparse_torch(ops.grad_y, device, dtype))

    @property
    def n_vertices(self) -> int:
        return self.mass.shape[0]


class LearnedTimeDiffusion(nn.Module):
    """Heat diffusion of each channel for its own learned time t_c ≥ 0, in the spectral basis:
    h = Φ (exp(−λ t) ⊙ Φᵀ M x). Initialised at t = 0 (no smoothing beyond the basis truncation)."""

    def __init__(self, channels: int):
        super().__init__()
        self.time = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, ops: DiffusionOperators) -> torch.Tensor:
        with torch.no_grad():  # projected gradient: a negative time would amplify high frequencies
            self.time.clamp_(min=0.0)
        spectral = ops.evecs.T @ (ops.mass[:, None] * x)  # (k, C)
        decay = torch.exp(-ops.evals[:, None] * self.time[None, :])
        return ops.evecs @ (decay * spectral)


class SpatialGradientFeatures(nn.Module):
    """Scalars from tangent gradients: tanh(Re(conj(g_c) · (A g)_c)) per channel c, g = ∇h as a complex
    number per vertex. With rotations A is complex-linear (it may rotate gradients, e.g. to sense
    curl-like patterns), else real; either way the result does not depend on the tangent frames."""

    def __init__(self, channels: int, with_rotations: bool = True):
        super().__init__()
        self.with_rotations = with_rotations
        self.a_re = nn.Linear(channels, channels, bias=False)
        self.a_im = nn.Linear(channels, channels, bias=False) if with_rotations else None

    def forward(self, gx: torch.Tensor, gy: torch.Tensor) -> torch.Tensor:
        if self.a_im is None:
            bx, by = self.a_re(gx), self.a_re(gy)
        else:
            bx, by = self.a_re(gx) - self.a_im(gy), self.a_re(gy) + self.a_im(gx)
        return torch.tanh(gx * bx + gy * by)


class MiniMLP(nn.Sequential):
    """Per-vertex MLP: Linear (→ ReLU → Dropout → Linear)*, no activation after the last layer."""

    def __init__(self, sizes: list[int], dropout: float):
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                layers += [nn.ReLU(), nn.Dropout(dropout)] if dropout > 0 else [nn.ReLU()]
            layers.append(nn.Linear(a, b))
        super().__init__(*layers)


class DiffusionNetBlock(nn.Module):
    """Diffusion → gradient features → MLP on [x, h, gradient features], added to x."""

    def __init__(self, width: int, mlp_hidden: int, dropout: float, with_gradient_features: bool,
                 with_gradient_rotations: bool):
        super().__init__()
        self.diffusion = LearnedTimeDiffusion(width)
        self.gradient = (SpatialGradientFeatures(width, with_gradient_rotations)
                         if with_gradient_features else None)
        c_in = width * (3 if with_gradient_features else 2)
        self.mlp = MiniMLP([c_in, mlp_hidden, mlp_hidden, width], dropout)

    def forward(self, x: torch.Tensor, ops: DiffusionOperators) -> torch.Tensor:
        h = self.diffusion(x, ops)
        parts = [x, h]
        if self.gradient is not None:
            parts.append(self.gradient(ops.grad_x @ h, ops.grad_y @ h))
        return x + self.mlp(torch.cat(parts, dim=-1))


class DiffusionNet(nn.Module):
    """(features (n, C_in), operators of the shape) → per-vertex logits (n, C_out).

    Defaults follow the paper's segmentation setup: width 128, 4 blocks, block MLPs [128, 128] with
    dropout 0.5, gradient features with rotations.
    """

    def __init__(self, in_channels: int, out_channels: int = 2, width: int = 128, n_blocks: int = 4,
                 dropout: float = 0.5, with_gradient_features: bool = True, with_gradient_rotations: bool = True):
        super().__init__()
        self.config = dict(in_channels=in_channels, out_channels=out_channels, width=width, n_blocks=n_blocks,
                           dropout=dropout, with_gradient_features=with_gradient_features,
                           with_gradient_rotations=with_gradient_rotations)
        self.first = nn.Linear(in_channels, width)
        self.blocks = nn.ModuleList([DiffusionNetBlock(width, width, dropout, with_gradient_features,
                                                       with_gradient_rotations) for _ in range(n_blocks)])
        self.last = nn.Linear(width, out_channels)

    def forward(self, features: torch.Tensor, ops: DiffusionOperators) -> torch.Tensor:
        if features.dim() != 2 or features.shape[1] != self.config["in_channels"]:
            raise ValueError(f"features must be (n, {self.config['in_channels']}), got {tuple(features.shape)}")
        if features.shape[0] != ops.n_vertices:
            raise ValueError(f"features have {features.shape[0]} rows, the operators {ops.n_vertices} vertices")
        x = self.first(features)
        for block in self.blocks:
            x = block(x, ops)
        return self.last(x)
