"""Sampling a rotated square of a photo into a network input, the way MediaPipe's ImageToTensor does it.

Coordinates here are continuous "edge" pixels: (0, 0) is the top-left corner of the image, pixel i covers
[i, i + 1) (MediaPipe's normalised coordinate × image size). The public API converts to pixel centres.
A square of side `size` centred at `center`, rotated by `angle` (radians, clockwise on screen since y is down),
is the region of interest; the model's outputs in [0, out] map back by `crop_to_image`,
center + size · R(angle) · (u/out − ½, v/out − ½), exactly as MediaPipe projects them.

The sampling grid is MediaPipe's too: its CPU path warps with OpenCV (corners of the square → corners of the
output, pixel centres at integers), so output pixel j reads the source at pixel-centre coordinate
center + size · R · (j/out − ½). With the same grid our crops, and so detections and meshes, equal MediaPipe's
(measured: 0.03 px). One deliberate difference: a crop that would shrink the photo more than MAX_PLAIN_SHRINK
times is first resized with an antialiasing filter to MAX_PLAIN_SHRINK × the output resolution. Up to that
factor (e.g. a 512-pixel photo into the 128-pixel detector) nothing changes; beyond it a 4000-pixel phone photo
is never sampled more sparsely than MediaPipe samples a 512-pixel frame (plain bilinear would read 4 of every
~1000 source pixels there, and fine hair or noise would alias into the detector input).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MAX_PLAIN_SHRINK = 4.0


def as_image_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float [0, 1] or uint8 array -> (1, 3, H, W) float32 tensor; anything else raises ValueError."""
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W, 3) image, got shape {arr.shape}")
    arr = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None]


def crop_square(img: torch.Tensor, center: tuple[float, float], size: float, angle: float, out: int,
                border: str) -> torch.Tensor:
    """(1, out, out, 3) NHWC crop of the (1, 3, H, W) image; `border` is 'zeros' (letterbox) or 'border'
    (replicate the edge pixels, MediaPipe's default for landmark crops)."""
    _, _, h, w = img.shape
    cos, sin = math.cos(angle), math.sin(angle)
    scale = min(1.0, MAX_PLAIN_SHRINK * out / size)  # resized pixels per source pixel
    # the rotated square's bounding box plus two resized pixels, so filters at its edge see real pixels
    half = 0.5 * size * (abs(cos) + abs(sin)) + 2 / scale
    x0, x1 = max(math.floor(center[0] - half), 0), min(math.ceil(center[0] + half), w)
    y0, y1 = max(math.floor(center[1] - half), 0), min(math.ceil(center[1] + half), h)
    x0, y0 = min(x0, w - 1), min(y0, h - 1)
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    sub = img[:, :, y0:y1, x0:x1]
    sh, sw = max(round((y1 - y0) * scale), 1), max(round((x1 - x0) * scale), 1)
    if (sh, sw) != (y1 - y0, x1 - x0):
        sub = F.interpolate(sub, size=(sh, sw), mode="bilinear", antialias=True, align_corners=False)
    t = torch.arange(out, dtype=torch.float64) / out - 0.5
    v, u = torch.meshgrid(t, t, indexing="ij")
    sx = center[0] + size * (cos * u - sin * v) + 0.5  # MediaPipe's pixel-centre reading, as edge coordinates
    sy = center[1] + size * (sin * u + cos * v) + 0.5
    gx = 2 * (sx - x0) / (x1 - x0) - 1  # grid_sample, align_corners=False: -1/+1 are the outer edges
    gy = 2 * (sy - y0) / (y1 - y0) - 1
    grid = torch.stack([gx, gy], -1)[None].float()
    crop = F.grid_sample(sub, grid, mode="bilinear", padding_mode=border, align_corners=False)
    return crop.permute(0, 2, 3, 1).contiguous()


def crop_to_image(points: np.ndarray, center: tuple[float, float], size: float, angle: float,
                  out: int) -> np.ndarray:
    """Map (n, 2) crop coordinates in [0, out] (edge convention) back to image edge coordinates."""
    cos, sin = math.cos(angle), math.sin(angle)
    u = points[:, 0] / out - 0.5
    v = points[:, 1] / out - 0.5
    return np.stack([center[0] + size * (cos * u - sin * v), center[1] + size * (sin * u + cos * v)], 1)
