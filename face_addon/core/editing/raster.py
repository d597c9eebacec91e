"""A small z-buffer rasteriser and a fixed perspective camera, for part masks and heatmap pictures.

The 2D alignment benchmark needs part masks of faces; until "Reconstruct from Photo" provides masks from
photos, they are rendered here from FaceKit faces with one fixed frontal camera (documented in
docs/editing.md). Rasterisation itself is `core.geometry.raster` (vectorised numpy).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..geometry import raster


@dataclass(frozen=True)
class Camera:
    """Pinhole camera on the -Y axis looking at +Y (the face looks to -Y), +Z up in the image."""

    size: int = 192
    distance: float = 0.6  # metres from the head origin
    height: float = -0.012  # camera z (metres): between the eyes and the chin, the face's centre
    focal: float = 440.0  # pixels at size 192: the whole head is in frame

    def project(self, verts: np.ndarray | torch.Tensor):
        """(…, n, 3) metres -> (…, n, 2) pixel (column, row) and (…, n) depth; numpy or torch."""
        depth = verts[..., 1] + self.distance
        col = self.focal * verts[..., 0] / depth + self.size / 2
        row = -self.focal * (verts[..., 2] - self.height) / depth + self.size / 2
        stack = torch.stack if isinstance(verts, torch.Tensor) else np.stack
        return stack([col, row], -1), depth


def rasterize(verts: np.ndarray, faces: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: visible front-facing triangle id (-1 = background) and barycentric weights (h, w, 3)."""
    uv, depth = camera.project(np.asarray(verts, np.float64))
    # this camera puts pixel centres at +0.5; the shared rasteriser at integers
    r = raster.rasterize(uv - 0.5, depth, faces, camera.size, camera.size, cull_back=True)
    return r.tri, r.bary


def label_image(verts: np.ndarray, faces: np.ndarray, face_labels: np.ndarray, camera: Camera) -> np.ndarray:
    """(h, w) int image: face_labels of the visible triangle, -1 for background."""
    ids, _ = rasterize(verts, faces, camera)
    return np.where(ids >= 0, face_labels[np.maximum(ids, 0)], -1)


def shaded_image(verts: np.ndarray, faces: np.ndarray, colors: np.ndarray, camera: Camera,
                 background: float = 1.0) -> np.ndarray:
    """(h, w, 3) float image: per-vertex colours (n, 3) interpolated, times a headlight Lambert term."""
    ids, bary = rasterize(verts, faces, camera)
    f = faces[np.maximum(ids, 0)]
    col = (bary[..., None] * colors[f]).sum(-2)
    v = np.asarray(verts)
    n = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    shade = 0.35 + 0.65 * np.clip(-n[:, 1], 0, 1)[np.maximum(ids, 0)]
    img = col * shade[..., None]
    img[ids < 0] = background
    return img
