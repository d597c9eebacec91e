"""The fixed perspective camera of photo fitting and the crop that maps a photo into it.

3DDFA-V3 (like Deep3D) fits in a 224×224 face crop seen by one fixed pinhole camera: the crop's scale stands in
for the unknown focal length and the translation's depth for the distance. FOCAL_PX = 600 (a 21° field of
view) matches the spread of our synthetic portraits (35–85 mm lenses, head filling 35–70 % of the frame).

Frames: FaceKit model space is Blender's (metres, +Z up, the face looks along −Y). Camera space is OpenCV's
(+x right, +y down, +z forward). `MODEL_TO_CAMERA` turns a face that looks at the camera into camera axes, so
the fitted rotation is the head's pose relative to a frontal view.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CROP = 224
FOCAL_PX = 600.0
CENTER_PX = CROP / 2 - 0.5
LANDMARK_CROP_EXPAND = 1.3
MODEL_TO_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Crop:
    """An axis-aligned square crop: crop pixel = (image pixel − origin) · scale (OpenCV pixel centres)."""

    origin: tuple[float, float]
    scale: float

    @classmethod
    def around(cls, box: tuple[float, float, float, float], expand: float = 1.25) -> "Crop":
        """Square crop centred on box (x0, y0, x1, y1), continuous pixel edges, side expand·max(w, h)."""
        x0, y0, x1, y1 = box
        side = expand * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        edge = 0.5 * side / CROP  # crop pixel 0's centre lies half a crop pixel inside the box edge
        return cls((cx - side / 2 + edge, cy - side / 2 + edge), CROP / side)

    @classmethod
    def for_landmarks(cls, points: np.ndarray) -> "Crop":
        """The face crop used everywhere (training, fitting, evaluation): the landmarks' box × 1.3."""
        p = np.asarray(points)[:, :2]
        return cls.around((*p.min(0), *p.max(0)), LANDMARK_CROP_EXPAND)

    def to_crop(self, xy: np.ndarray) -> np.ndarray:
        return (np.asarray(xy, np.float64)[..., :2] - np.asarray(self.origin)) * self.scale

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        return np.asarray(xy, np.float64) / self.scale + np.asarray(self.origin)

    def image_intrinsics(self) -> np.ndarray:
        """K (3, 3) of the fitted camera in the full photo's pixels."""
        f = FOCAL_PX / self.scale
        c = np.asarray(self.origin) + CENTER_PX / self.scale
        return np.array([[f, 0, c[0]], [0, f, c[1]], [0, 0, 1.0]])

    def sample(self, img: np.ndarray) -> np.ndarray:
        """(CROP, CROP, C) bilinear resample of img (H, W, C) float; outside the photo is edge-padded."""
        g = np.arange(CROP, dtype=np.float64)
        xs = self.to_image(np.stack([g, np.zeros_like(g)], 1))[:, 0]
        ys = self.to_image(np.stack([np.zeros_like(g), g], 1))[:, 1]
        gx, gy = np.meshgrid(xs, ys)
        return bilinear(img, gx, gy)


def bilinear(img: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """img (H, W, C) sampled bilinearly at photo pixels (xs, ys) of one shape S -> (*S, C) float32; points
    outside the photo take the nearest edge pixel."""
    h, w = img.shape[:2]
    xs, ys = np.clip(xs, 0, w - 1), np.clip(ys, 0, h - 1)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)


def rotation_matrix(r):
    """Rodrigues: axis-angle (..., 3) torch tensor -> (..., 3, 3), smooth at zero."""
    import torch

    theta = torch.sqrt((r * r).sum(-1, keepdim=True) + 1e-12)
    k = r / theta
    kx, ky, kz = k.unbind(-1)
    z = torch.zeros_like(kx)
    kmat = torch.stack([z, -kz, ky, kz, z, -kx, -ky, kx, z], -1).reshape(*r.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=r.dtype, device=r.device).expand_as(kmat)
    s, c = torch.sin(theta)[..., None], torch.cos(theta)[..., None]
    return eye + s * kmat + (1 - c) * (kmat @ kmat)


def to_camera(vertices, r, t):
    """Model-space vertices (..., n, 3) -> camera space with pose r (..., 3) axis-angle and t (..., 3) metres."""
    import torch

    m = torch.as_tensor(MODEL_TO_CAMERA, dtype=vertices.dtype, device=vertices.device)
    rot = rotation_matrix(r) @ m
    return vertices @ rot.transpose(-1, -2) + t[..., None, :]


def project(points):
    """Camera-space points (..., 3) -> crop pixels (..., 2) of the fixed camera."""
    z = points[..., 2:3].clamp(min=1e-4)
    return FOCAL_PX * points[..., :2] / z + CENTER_PX
