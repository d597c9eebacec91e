"""A small z-buffer rasteriser and a fixed perspective camera, for part masks and heatmap pictures.

The 2D alignment benchmark needs part masks of faces; until "Reconstruct from Photo" provides masks from
photos, they are rendered here from FaceKit faces with one fixed frontal camera (documented in
docs/editing.md). Pure numpy; one loop over front-facing triangles, each filling its pixel bounding box.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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
    """Per pixel: visible triangle id (-1 = background) and barycentric weights (h, w, 3)."""
    uv, depth = camera.project(np.asarray(verts, np.float64))
    s = camera.size
    tri = uv[faces]
    area = ((tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1])
            - (tri[:, 2, 0] - tri[:, 0, 0]) * (tri[:, 1, 1] - tri[:, 0, 1]))
    zbuf = np.full((s, s), np.inf)
    ids = np.full((s, s), -1, np.int64)
    bary = np.zeros((s, s, 3))
    for f in np.flatnonzero(area < -1e-9):  # front-facing in image space (row axis points down)
        t = tri[f]
        c0, r0 = np.maximum(np.floor(t.min(0)).astype(int), 0)
        c1, r1 = np.minimum(np.ceil(t.max(0)).astype(int), s - 1)
        if c0 > c1 or r0 > r1:
            continue
        cc, rr = np.meshgrid(np.arange(c0, c1 + 1) + 0.5, np.arange(r0, r1 + 1) + 0.5)
        w1 = ((cc - t[0, 0]) * (t[2, 1] - t[0, 1]) - (t[2, 0] - t[0, 0]) * (rr - t[0, 1])) / area[f]
        w2 = ((t[1, 0] - t[0, 0]) * (rr - t[0, 1]) - (cc - t[0, 0]) * (t[1, 1] - t[0, 1])) / area[f]
        w0 = 1 - w1 - w2
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        z = w0 * depth[faces[f, 0]] + w1 * depth[faces[f, 1]] + w2 * depth[faces[f, 2]]
        sub = zbuf[r0:r1 + 1, c0:c1 + 1]
        win = inside & (z < sub)
        sub[win] = z[win]
        ids[r0:r1 + 1, c0:c1 + 1][win] = f
        bary[r0:r1 + 1, c0:c1 + 1][win] = np.stack([w0, w1, w2], -1)[win]
    return ids, bary


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
