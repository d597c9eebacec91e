"""The one place colours change encoding: the exact sRGB transfer curve (IEC 61966-2-1).

Convention everywhere else: `Mesh.colors` and Blender colour attributes hold *linear* float RGB in [0, 1];
files and images hold *sRGB-encoded* bytes (PLY vertex colours, PNG/JPEG textures, renders). The skin
networks were trained on the synthetic scans' PLY bytes / 255, i.e. sRGB-encoded values, so a colour read from
a file must reach them unchanged: bytes → `srgb_to_linear` → `linear_to_srgb` is the identity (to float
precision) only because both directions use the same exact curve here. An approximate gamma (x ** 2.2) in one
direction and the exact curve in the other crushed dark values (byte 10 arrived as 2.7).
"""
from __future__ import annotations

import numpy as np

_LINEAR_KNEE = 0.0031308  # linear value where the curve switches from the linear toe to the power law
_ENCODED_KNEE = 0.04045   # the same point, sRGB-encoded


def srgb_to_linear(encoded: np.ndarray) -> np.ndarray:
    """Linear float32 RGB from sRGB-encoded values: floats in [0, 1], or integers (bytes, 0-255)."""
    a = np.asarray(encoded)
    s = a.astype(np.float64) / 255.0 if np.issubdtype(a.dtype, np.integer) else a.astype(np.float64)
    s = np.clip(s, 0.0, 1.0)
    return np.where(s <= _ENCODED_KNEE, s / 12.92, ((s + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """sRGB-encoded float64 values in [0, 1] from linear RGB (clipped to [0, 1] first)."""
    lin = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    return np.where(lin <= _LINEAR_KNEE, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def linear_to_srgb_bytes(linear: np.ndarray) -> np.ndarray:
    """uint8 sRGB bytes (what PLY colours and image files store) from linear RGB."""
    return np.round(linear_to_srgb(linear) * 255.0).astype(np.uint8)


def as_linear(colors: np.ndarray | None) -> np.ndarray | None:
    """(n, 3) linear float32 RGB from per-vertex colours given either way callers hold them: linear floats
    (kept, clipped to [0, 1]) or sRGB bytes (integers, decoded); an alpha column is dropped."""
    if colors is None:
        return None
    c = np.asarray(colors)[:, :3]
    if np.issubdtype(c.dtype, np.integer):
        return srgb_to_linear(c)
    return np.clip(c, 0.0, 1.0).astype(np.float32)
