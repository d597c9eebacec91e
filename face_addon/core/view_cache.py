"""The cached rendered views of one scan (`<seed>.npz`): written by synth/skin_views.py (renders with bpy),
read by the skin trainers (train/skin.py, train/skin_image.py) and the skin benchmark. The format lives in core
so that train reads it without importing synth (docs/architecture.md); no bpy.

Per file: images uint8 (V, H, W, 3), labels uint8 (V, H, W) (class of the visible surface, 0 = background),
K (V, 3, 3) and world_to_camera (V, 4, 4) in the scan's frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .geometry.multiview import ViewCamera


def save_views(path: Path, images: np.ndarray, labels: np.ndarray, cams: list[ViewCamera]) -> Path:
    """Write the views atomically (a temporary file renamed into place); images are floats in [0, 1]."""
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez_compressed(tmp, images=np.round(images * 255).astype(np.uint8), labels=labels,
                        K=np.stack([c.K for c in cams]), world_to_camera=np.stack([c.world_to_camera for c in cams]))
    tmp.replace(path)
    return path


def load_views(path: Path) -> tuple[np.ndarray, np.ndarray, list[ViewCamera]]:
    """(images uint8 (V, H, W, 3), labels uint8 (V, H, W), cameras) of a cached scan."""
    with np.load(path, allow_pickle=False) as z:
        images, labels, k, m = z["images"], z["labels"], z["K"], z["world_to_camera"]
    h, w = images.shape[1:3]
    return images, labels, [ViewCamera(k[i], m[i], w, h) for i in range(len(k))]
