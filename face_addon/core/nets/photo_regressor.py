"""The fast initialiser of photo fitting and its face parser, one small CNN on the 224×224 face crop.

Regression head (3DDFA-V3 uses a ResNet-50 regressor): prior-normalised FaceKit identity and expression, head
pose (axis-angle) and translation in the fixed camera of `core.photo.camera`. Parser head: per-pixel classes
background + the 8 parts of P in FaceKit's part convention (what PRDL compares against), from a light
decoder over the stride-4/8/16 features. The paper takes its masks from a separate parser (DML-CSR); sharing
the backbone keeps the model small (≈2.3 M parameters) enough to train on the CPU from our renders.
"""
from __future__ import annotations

import torch
from torch import nn

T_BIAS = (0.0, 0.0, 0.6)  # metres: a face at the crop centre, 0.6 m away
N_PARSER_CLASSES = 9  # background + core.photo.facekit_photo.PARTS in order


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if cin == cout and stride == 1 else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class PhotoRegressor(nn.Module):
    """(B, 3, 224, 224) sRGB in [0, 1] -> dict(id_n (B, K_id), exp_n (B, K_exp), r (B, 3), t (B, 3),
    parts (B, 9, 56, 56) logits at stride 4; `parse` upsamples them)."""

    def __init__(self, n_id: int, n_exp: int, widths: tuple[int, ...] = (32, 64, 128, 192, 256)) -> None:
        super().__init__()
        self.n_id, self.n_exp = n_id, n_exp
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 5, 2, 2, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(2))
        blocks = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            blocks.append(_Block(cin, cout, 2))
        self.blocks = nn.Sequential(*blocks)
        self.up16 = nn.Sequential(nn.Conv2d(widths[2] + widths[1], 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(inplace=True))
        self.up8 = nn.Sequential(nn.Conv2d(64 + widths[0], 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32),
                                 nn.ReLU(inplace=True), nn.Conv2d(32, N_PARSER_CLASSES, 1))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1], 256), nn.ReLU(inplace=True),
                                  nn.Linear(256, n_id + n_exp + 6))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f4 = self.stem((x - self.mean) / self.std)
        f8 = self.blocks[0](f4)
        f16 = self.blocks[1](f8)
        h = self.blocks[3](self.blocks[2](f16))
        up = nn.functional.interpolate
        d8 = self.up16(torch.cat([up(f16, size=f8.shape[-2:], mode="bilinear", align_corners=False), f8], 1))
        parts = self.up8(torch.cat([up(d8, size=f4.shape[-2:], mode="bilinear", align_corners=False), f4], 1))
        out = self.head(h.mean((2, 3)))
        i, e = self.n_id, self.n_id + self.n_exp
        t = out[:, e + 3:e + 6] * torch.tensor([0.05, 0.05, 0.2]) + torch.tensor(T_BIAS)
        return {"id_n": out[:, :i], "exp_n": out[:, i:e], "r": out[:, e:e + 3] * 0.5, "t": t, "parts": parts}


def parse(parts_logits: torch.Tensor, size: int) -> torch.Tensor:
    """(B, size, size) class ids from the stride-4 parser logits (bilinear upsampling, then arg-max)."""
    up = nn.functional.interpolate(parts_logits, size=(size, size), mode="bilinear", align_corners=False)
    return up.argmax(1)
