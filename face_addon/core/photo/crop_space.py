"""Crop space: where Pixel2Mesh-face predicts, and how it maps to metric camera space and back.

A point at OpenCV camera position (x, y, z) (metres) seen by a camera with focal f (photo pixels) through a
crop (origin o, scale s: crop pixel = (photo pixel − o)·s) has crop-space coordinates

    X = (u_c − c)/h,  Y = (v_c − c)/h,  Z = (z − z_ref) · f·s / (z_ref · h)

with (u_c, v_c) its perspective projection in crop pixels, h = CROP/2 and c = CROP/2 − 0.5: X, Y are
grid_sample's normalised coordinates (align_corners=False), so feature pooling is exact, and Z has the
same units as X, Y at the reference depth z_ref (the mean depth of the face), so shapes stay isotropic.
The map is invertible given f and z_ref: the truth's for evaluation, an assumed camera for user photos.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import CROP, Crop

HALF = CROP / 2
CENTER = CROP / 2 - 0.5


@dataclass(frozen=True)
class CropCamera:
    """The photo camera K (3, 3), the crop and the reference depth z_ref (metres) of one face."""

    K: np.ndarray
    crop: Crop
    z_ref: float

    @property
    def unit_m(self) -> float:
        """Metres per crop-space unit at the reference depth."""
        return self.z_ref * HALF / (self.K[0, 0] * self.crop.scale)

    def to_crop_space(self, p: np.ndarray) -> np.ndarray:
        """OpenCV camera points (..., 3) metres -> crop space (..., 3)."""
        p = np.asarray(p, np.float64)
        z = p[..., 2:3]
        uv = p[..., :2] / z * np.diag(self.K)[:2] + self.K[:2, 2]
        xy = (self.crop.to_crop(uv) - CENTER) / HALF
        return np.concatenate([xy, (z - self.z_ref) / self.unit_m], -1)

    def to_camera(self, q: np.ndarray) -> np.ndarray:
        """Crop space (..., 3) -> OpenCV camera points (..., 3) metres (inverse of `to_crop_space`)."""
        q = np.asarray(q, np.float64)
        z = self.z_ref + q[..., 2:3] * self.unit_m
        uv = self.crop.to_image(q[..., :2] * HALF + CENTER)
        return np.concatenate([(uv - self.K[:2, 2]) / np.diag(self.K)[:2] * z, z], -1)


def assumed_camera(crop: Crop, points: np.ndarray, face_size_m: float) -> CropCamera:
    """The camera of a user photo, whose focal and distance are unknown: the fixed fitting camera of
    `core.photo.camera` (FOCAL_PX in the crop) at the depth where the predicted face (crop-space points)
    has the training faces' mean RMS radius `face_size_m`."""
    from .camera import FOCAL_PX

    k = crop.image_intrinsics()
    radius = float(np.sqrt(((points[:, :2] - points[:, :2].mean(0)) ** 2).sum(1).mean()))
    unit_m = face_size_m / max(radius, 1e-6)
    return CropCamera(k, crop, unit_m * FOCAL_PX / HALF)
