"""MLP variational autoencoders for one face segment each, and the offset regressor (NEO-3DF §3).

A segment shape (k vertices, millimetres) is flattened and whitened by the training mean and one scalar
scale (stored as buffers), so every VAE sees inputs of unit size whatever its segment's extent. Encoder and
decoder are MLPs plus a linear skip layer; `init_from_data` sets the skip layers to the segment's PCA (latent
= whitened PCA coefficients) and zeroes the MLP output layers, so training starts from the best linear
model and the MLP learns the nonlinear remainder: on two CPU cores this converges in one epoch, where a
randomly initialised MLP needs many. Training gives the skip layers a much smaller learning rate
(`SKIP_LR_FACTOR`) so the first Adam steps cannot undo the PCA start.
"""
from __future__ import annotations

import torch
from torch import nn

SKIP_LR_FACTOR = 0.01
INIT_LOGVAR = -6.0  # narrow initial posterior: unit noise would drown the decoder while λ_KL is small


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ELU())
    return nn.Sequential(*layers)


class PartVAE(nn.Module):
    """Encoder E: (B, k, 3) -> (mu, logvar) each (B, z); decoder D: (B, z) -> (B, k, 3), in millimetres."""

    def __init__(self, n_vertices: int, latent: int, hidden: tuple[int, int] = (96, 64)) -> None:
        super().__init__()
        self.n_vertices, self.latent = n_vertices, latent
        self.encoder = _mlp([3 * n_vertices, hidden[0], hidden[1], 2 * latent])
        self.encoder_skip = nn.Linear(3 * n_vertices, 2 * latent)
        self.decoder = _mlp([latent, hidden[1], hidden[0], 3 * n_vertices])
        self.decoder_skip = nn.Linear(latent, 3 * n_vertices)
        self.register_buffer("mean", torch.zeros(n_vertices, 3))
        self.register_buffer("scale", torch.ones(()))

    @torch.no_grad()
    def init_from_data(self, shapes: torch.Tensor) -> None:
        """Whitening buffers and PCA skip layers from (N, k, 3) training shapes (N >= latent)."""
        self.mean.copy_(shapes.mean(0))
        x = (shapes - self.mean).flatten(1).double()
        self.scale.copy_(x.std().clamp_min(1e-3))
        x = x / self.scale
        _, s, v = torch.svd_lowrank(x, q=self.latent + 10, niter=4, M=torch.zeros_like(x[:1]))  # x is centred
        basis = v[:, : self.latent].T  # (z, 3k) orthonormal principal directions
        std = (s[: self.latent] / (len(x) - 1) ** 0.5).clamp_min(1e-6)
        self.encoder_skip.weight.zero_()
        self.encoder_skip.weight[: self.latent] = (basis / std[:, None]).float()
        self.encoder_skip.bias.zero_()
        self.encoder_skip.bias[self.latent:] = INIT_LOGVAR
        self.decoder_skip.weight.copy_((basis.T * std).float())
        self.decoder_skip.bias.zero_()
        for last in (self.encoder[-1], self.decoder[-1]):
            last.weight.zero_()
            last.bias.zero_()

    def encode(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if shape.shape[-2:] != (self.n_vertices, 3):
            raise ValueError(f"expected (B, {self.n_vertices}, 3) segment vertices, got {tuple(shape.shape)}")
        x = ((shape - self.mean) / self.scale).flatten(-2)
        mu, logvar = (self.encoder(x) + self.encoder_skip(x)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = (self.decoder(z) + self.decoder_skip(z)).unflatten(-1, (self.n_vertices, 3))
        return self.mean + self.scale * out

    def forward(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reparameterised reconstruction (training); returns (recon, mu, logvar)."""
        mu, logvar = self.encode(shape)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decode(z), mu, logvar


class OffsetRegressor(nn.Module):
    """z_rest (B, 30) -> per-part offsets (B, parts, 3) = (0, Δy, Δz) in millimetres (no x: faces are
    bilaterally symmetric, as in the paper)."""

    def __init__(self, latent: int, n_parts: int, hidden: int = 64) -> None:
        super().__init__()
        self.n_parts = n_parts
        self.net = _mlp([latent, hidden, hidden, 2 * n_parts])

    def forward(self, z_rest: torch.Tensor) -> torch.Tensor:
        yz = self.net(z_rest).unflatten(-1, (self.n_parts, 2))
        return torch.cat([torch.zeros_like(yz[..., :1]), yz], dim=-1)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, per sample (B,)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)
