"""Per-pixel image features for Segment Skin's image branch (Pixels2Points §2.1), with a pluggable backbone.

The paper lifts frozen DINOv2 features upsampled to image resolution by a trained head. DINOv2 weights cannot
be fetched offline, so the shipped backbone is `UNet`: a small U-Net trained from scratch on our synthetic
renders (per-pixel classes: skin parts, hair, cloth, accessory, background). A user-supplied DINOv2 checkpoint
plugs in through `nets.dinov2.DinoV2Backbone` (frozen); either way

    backbone (B, 3, H, W) sRGB [0, 1] → (B, C_b, H, W)  →  neck (1×1 conv when C_b ≠ F) → features (B, F, H, W)
                                                              → classifier (1×1 conv) → class logits

and the features F are what is lifted onto the scan's vertices; the logits train it (and give the 2D-only
baseline its skin masks). An encoder may carry a second segmenter, its *decider* (issue 19): then the features
still come from the first (what the 3D skin network was trained on) and the logits from the decider (fine-tuned on
real photos), so real appearance can improve the 2D skin decision without moving the lifted features.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _block(c_in: int, c_out: int) -> nn.Sequential:
    groups = 4 if c_out % 4 == 0 else 1
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.GroupNorm(groups, c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.GroupNorm(groups, c_out), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """A 4-level U-Net: full-resolution features with a receptive field of about a face's width at 160 px."""

    name = "unet"

    def __init__(self, width: int = 16, levels: int = 4, out_channels: int = 16) -> None:
        super().__init__()
        chans = [width * 2 ** i for i in range(levels)]
        self.down = nn.ModuleList([_block(3 if i == 0 else chans[i - 1], c) for i, c in enumerate(chans)])
        self.up = nn.ModuleList([_block(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(levels - 1))])
        self.out = nn.Conv2d(chans[0], out_channels, 1)
        self.out_channels = out_channels
        self.config = {"width": width, "levels": levels, "out_channels": out_channels}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2, ceil_mode=True))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], 1))
        return self.out(x)


class ImageSegmenter(nn.Module):
    """backbone → features (lifted) → per-pixel class logits (trained with cross-entropy); with a `decider`, the
    logits are the decider's."""

    def __init__(self, backbone: nn.Module, n_classes: int, feature_channels: int = 16,
                 decider: ImageSegmenter | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        c = int(backbone.out_channels)
        self.neck = nn.Identity() if c == feature_channels else nn.Conv2d(c, feature_channels, 1)
        self.classifier = nn.Conv2d(feature_channels, n_classes, 1)
        self.feature_channels = feature_channels
        self.n_classes = n_classes
        self.decider = decider

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.neck(self.backbone(images))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (B, F, H, W), logits (B, n_classes, H, W))."""
        f = self.features(images)
        if self.decider is not None:
            return f, self.decider(images)[1]
        return f, self.classifier(F.relu(f))


def build_segmenter(meta: dict) -> ImageSegmenter:
    """An untrained ImageSegmenter shaped as a weights file's meta says (backbone, n_classes, feature_channels and
    an optional "decider" entry with the same three keys)."""
    decider = build_segmenter(meta["decider"]) if meta.get("decider") else None
    return ImageSegmenter(build_backbone(meta["backbone"]), int(meta["n_classes"]), int(meta["feature_channels"]),
                          decider)


def build_backbone(spec: dict) -> nn.Module:
    """A backbone from a weights file's meta["backbone"]: {"type": "unet", **config} or
    {"type": "dinov2", "checkpoint": path, "n_layers": k} (the user's own DINOv2 file)."""
    kind = spec.get("type")
    if kind == "unet":
        return UNet(**{k: v for k, v in spec.items() if k != "type"})
    if kind == "dinov2":
        from .dinov2 import DinoV2Backbone

        return DinoV2Backbone.from_checkpoint(spec["checkpoint"], n_layers=int(spec.get("n_layers", 4)))
    raise ValueError(f"unknown image backbone {kind!r} (known: unet, dinov2)")


def backbone_spec(backbone: nn.Module, checkpoint: str | None = None) -> dict:
    """The meta["backbone"] entry that `build_backbone` rebuilds `backbone` from."""
    if isinstance(backbone, UNet):
        return {"type": "unet", **backbone.config}
    return {"type": "dinov2", "checkpoint": str(checkpoint), "n_layers": int(getattr(backbone, "n_layers", 4))}
