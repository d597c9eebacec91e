"""468-point face mesh with MediaPipe's face_landmark.tflite, in torch, and the photo front end `detect`.

Detection → region of interest as in MediaPipe's face_detection_front_detection_to_roi graph: the detection box
centre, the long side × 1.5 as a square, rotated so the line from the right eye keypoint to the left one is
horizontal. That square is sampled into 192×192 (edge pixels replicated), fed to the model in [0, 1]; its 468
(x, y, z) outputs in crop pixels are rotated and scaled back into the photo. z is MediaPipe's relative depth
(smaller = closer to the camera, origin near the face's centre plane) in the same pixel units as x and y.
The second output is the face-presence logit; its sigmoid is `FaceMesh.score`.

Coordinates are pixel-centre image coordinates like `face_detect`: x right, y down, (0, 0) the centre of the
top-left pixel. "Left"/"right" landmark sets are the subject's (MediaPipe's FACEMESH_LEFT_EYE lies on the
image's right in a frontal photo).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from . import PhotoError
from .face_detect import FaceBox, detect_faces
from .mediapipe_assets import N_POINTS, load_model
from .mp_crop import as_image_tensor, crop_square, crop_to_image
from .tflite_torch import TFLiteGraph

INPUT = 192
ROI_SCALE = 1.5
MIN_PRESENCE = 0.5


@dataclass(frozen=True)
class Roi:
    """The square the mesh model saw: centre (pixel-centre coordinates), side in pixels, and the rotation in
    radians of its x axis towards +y (clockwise on screen)."""

    center: tuple[float, float]
    size: float
    angle: float


@dataclass(frozen=True)
class FaceMesh:
    """`points` (468, 3) float64 image pixels (x, y, relative depth z); `score` face presence in [0, 1]."""

    points: np.ndarray
    score: float
    detection: FaceBox
    roi: Roi


def face_roi(box: FaceBox) -> Roi:
    """MediaPipe's detection → landmark ROI (rotation from keypoints 0 → 1, square long side × 1.5)."""
    (rx, ry), (lx, ly) = box.keypoints[0], box.keypoints[1]
    angle = -math.atan2(-(ly - ry), lx - rx)
    return Roi(box.center, max(box.width, box.height) * ROI_SCALE, angle)


def face_landmarks(img: np.ndarray, box: FaceBox) -> FaceMesh:
    """The 468-point mesh of the face detected as `box` in the (H, W, 3) [0, 1] image."""
    roi = face_roi(box)
    center = (roi.center[0] + 0.5, roi.center[1] + 0.5)  # edge coordinates for the crop
    crop = crop_square(as_image_tensor(img), center, roi.size, roi.angle, INPUT, "border")
    raw, flag = (y.reshape(-1).numpy().astype(np.float64) for y in _mesh()(crop))
    raw = raw.reshape(N_POINTS, 3)
    xy = crop_to_image(raw[:, :2], center, roi.size, roi.angle, INPUT) - 0.5
    z = raw[:, 2] / INPUT * roi.size
    score = float(1 / (1 + math.exp(-float(np.clip(flag[0], -100, 100)))))
    return FaceMesh(np.column_stack([xy, z]), score, box, roi)


def detect(img: np.ndarray, *, which: Literal["largest", "all"] = "largest") -> list[FaceMesh]:
    """Face meshes of the photo, largest detection first (one when `which="largest"`); faces whose mesh
    presence is below MIN_PRESENCE are dropped. Raises PhotoError when no face is found."""
    if which not in ("largest", "all"):
        raise ValueError(f"which must be 'largest' or 'all', not {which!r}")
    boxes = sorted(detect_faces(img), key=lambda b: -b.area)
    meshes = []
    for box in boxes:
        mesh = face_landmarks(img, box)
        if mesh.score >= MIN_PRESENCE:
            meshes.append(mesh)
            if which == "largest":
                break
    if not meshes:
        h, w = np.shape(img)[:2]
        raise PhotoError(f"no face found in the photo ({w}×{h} px): use a photo where the face is clearly "
                         "visible, roughly frontal and at least about 1/10 of the photo's long side")
    return meshes


@lru_cache(maxsize=1)
def _mesh() -> TFLiteGraph:
    return TFLiteGraph(*load_model("mesh"))
