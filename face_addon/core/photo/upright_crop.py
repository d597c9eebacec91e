"""The face crop turned with the face: a photo rotated in the image plane gives the same crop as an upright one.

The regressor was trained, and the fit's priors were tuned, on crops of upright faces (the synthetic portraits'
camera roll is ±10°). A face turned further in the photo, say on its side, went into the network sideways: the
network answered with a yawed head and the fit started from it (a London photo rotated 90° came back 42° yawed,
placed off the face, NME 26 % instead of 2 %). So the crop is taken in the face's *upright frame*: the photo
turned by −roll about the face's centre, roll being the detected eye line's angle (MediaPipe's landmarks-to-ROI
rotation, `face_mesh.landmarks_roi`). Everything downstream (regressor, masks, fit) sees an upright face.

Turning the image plane about a point is, for a pinhole camera whose principal point is that point, turning the
camera about its optical axis. So the head fitted in the upright frame's camera goes back into the photo's camera
exactly: R_photo = R_z(roll)·R, t_photo = R_z(roll)·t, and the photo's K has the same focal with the principal
point at the crop centre mapped back into the photo (`image_intrinsics`). The 3D head comes out tilted like
the photo.

Rolls within ROLL_KEPT (the training renders' ±10°) are left in the crop, as before this module: a level photo's
crop, and so its reconstruction, is bit-identical to the axis-aligned crop's (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .camera import CENTER_PX, CROP, Crop, bilinear

#: rolls up to this (radians) stay in the crop: the regressor's training crops carry ±10° of camera roll
ROLL_KEPT = math.radians(10.0)


def turn(xy: np.ndarray, angle: float, pivot: tuple[float, float]) -> np.ndarray:
    """(..., 2) pixel points turned by `angle` (radians, clockwise on screen since y is down) about `pivot`;
    the points themselves (as float64) when the angle is 0, so an unturned crop is the old one bit for bit."""
    xy = np.asarray(xy, np.float64)[..., :2]
    if angle == 0.0:
        return xy
    c, s = math.cos(angle), math.sin(angle)
    d = xy - np.asarray(pivot)
    return np.stack([c * d[..., 0] - s * d[..., 1], s * d[..., 0] + c * d[..., 1]], -1) + np.asarray(pivot)


def _upright_frame(points: np.ndarray) -> tuple[float, tuple[float, float]]:
    """(roll, pivot) of the face's upright frame from its (n, 2+) landmarks: the eye line's angle when it exceeds
    ROLL_KEPT (else 0), about the centre of the landmarks' box in the face's own frame."""
    from .face_mesh import landmarks_roi

    roi = landmarks_roi(np.asarray(points, np.float64))
    return (roi.angle if abs(roi.angle) > ROLL_KEPT else 0.0), roi.center


@dataclass(frozen=True)
class UprightCrop:
    """A square crop in the face's upright frame: the photo turned by −`roll` (radians, clockwise on screen, the
    eye line's angle) about `pivot` (photo pixels), then cut by the axis-aligned `crop`. Photo and crop pixels
    are OpenCV pixel centres, like `camera.Crop`, whose interface this shares."""

    crop: Crop
    roll: float = 0.0
    pivot: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def for_landmarks(cls, points: np.ndarray) -> "UprightCrop":
        """The face crop of `Crop.for_landmarks`, taken upright: turned by the eye line's roll when it exceeds
        ROLL_KEPT, about the centre of the landmarks' box in the face's own frame."""
        roll, pivot = _upright_frame(points)
        return cls(Crop.for_landmarks(turn(np.asarray(points)[:, :2], -roll, pivot)), roll, pivot)

    @classmethod
    def around_box(cls, points: np.ndarray, box: tuple[float, float, float, float], expand: float) -> "UprightCrop":
        """`Crop.around(box, expand)` taken upright (Pixel2Mesh's detector-box crop): the face's frame from its
        landmarks `points` as in `for_landmarks`, the square of the same side about the box centre turned into
        that frame. The detector finds a face on its side in the photo turned by a quarter turn, so its box is the
        upright face's box turned; the square's side does not change with that turn."""
        roll, pivot = _upright_frame(points)
        if roll == 0.0:
            return cls(Crop.around(tuple(box), expand))
        x0, y0, x1, y1 = box
        cx, cy = turn(np.array([(x0 + x1) / 2, (y0 + y1) / 2]), -roll, pivot)
        hw, hh = (x1 - x0) / 2, (y1 - y0) / 2
        return cls(Crop.around((cx - hw, cy - hh, cx + hw, cy + hh), expand), roll, pivot)

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel."""
        return self.crop.scale

    def to_upright(self, xy: np.ndarray) -> np.ndarray:
        """Photo pixels (..., 2) -> the upright frame's pixels."""
        return turn(xy, -self.roll, self.pivot)

    def to_crop(self, xy: np.ndarray) -> np.ndarray:
        """Photo pixels (..., 2) -> crop pixels."""
        return self.crop.to_crop(self.to_upright(xy))

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        """Crop pixels (..., 2) -> photo pixels."""
        return turn(self.crop.to_image(xy), self.roll, self.pivot)

    def upright_points(self, points: np.ndarray) -> np.ndarray:
        """(n, 3) detected points (photo pixels, relative depth) in the upright frame (depth unchanged)."""
        p = np.array(points, np.float64)
        p[:, :2] = self.to_upright(p[:, :2])
        return p

    def upright_intrinsics(self) -> np.ndarray:
        """K (3, 3) of the fitted camera in the upright frame's pixels (the fit's camera before `to_photo`)."""
        return self.crop.image_intrinsics()

    def image_intrinsics(self) -> np.ndarray:
        """K (3, 3) of the fitted camera in the photo's pixels: the same focal, the principal point at the crop
        centre; with `to_photo`'s pose it projects a head exactly where the upright frame's camera did."""
        k = self.crop.image_intrinsics()
        k[:2, 2] = self.to_image(np.array([CENTER_PX, CENTER_PX]))
        return k

    def camera_roll(self) -> np.ndarray:
        """(3, 3) R_z(roll): OpenCV camera axes of the upright frame -> the photo's."""
        c, s = math.cos(self.roll), math.sin(self.roll)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def to_photo(self, rotation: np.ndarray, translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A pose (model -> camera, rotation (3, 3) and translation (3,)) in the upright frame's camera -> the
        photo's camera (unchanged when the crop is not turned)."""
        if self.roll == 0.0:
            return rotation, translation
        rz = self.camera_roll()
        return rz @ rotation, rz @ translation

    def sample(self, img: np.ndarray) -> np.ndarray:
        """(CROP, CROP, C) bilinear resample of img (H, W, C) float; outside the photo is edge-padded (as
        `Crop.sample`, which this is when the crop is not turned)."""
        if self.roll == 0.0:
            return self.crop.sample(img)
        g = np.arange(CROP, dtype=np.float64)
        xy = self.to_image(np.stack(np.meshgrid(g, g), -1))  # [row, column] -> photo (x, y)
        return bilinear(img, xy[..., 0], xy[..., 1])
