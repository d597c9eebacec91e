"""Per-vertex MLP: the "MLP vs DiffusionNet" ablation of Pixels2Points (Tab. 2). Same inputs and outputs as
DiffusionNet but no communication between vertices, so it measures what surface diffusion adds."""
from __future__ import annotations

import torch
from torch import nn

from .diffusion_net import DiffusionOperators, MiniMLP


class VertexMLP(nn.Module):
    """(features (n, C_in), operators — ignored) → logits (n, C_out); n_layers hidden layers of `width`."""

    def __init__(self, in_channels: int, out_channels: int = 2, width: int = 128, n_layers: int = 4,
                 dropout: float = 0.5):
        super().__init__()
        self.config = dict(in_channels=in_channels, out_channels=out_channels, width=width, n_layers=n_layers,
                           dropout=dropout)
        self.mlp = MiniMLP([in_channels] + [width] * n_layers + [out_channels], dropout)

    def forward(self, features: torch.Tensor, ops: DiffusionOperators | None = None) -> torch.Tensor:
        if features.dim() != 2 or features.shape[1] != self.config["in_channels"]:
            raise ValueError(f"features must be (n, {self.config['in_channels']}), got {tuple(features.shape)}")
        return self.mlp(features)
