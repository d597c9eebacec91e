"""Face detection with MediaPipe's BlazeFace short-range model (face_detection_short_range.tflite), in torch.

The post-processing follows MediaPipe's face_detection_short_range graph: the photo is letterboxed (black bars)
into 128×128, scaled to [-1, 1]; 896 SSD anchors (strides 8, 16, 16, 16, two anchors per layer, fixed size, so
16×16×2 + 8×8×6 centres); box (x, y, w, h) and 6 keypoints decoded relative to the anchor centre in units of
1/128; scores are sigmoids of the clipped logits (±100); weighted non-max suppression at IoU 0.3 averages
overlapping detections by score. The model is trained on faces that fill a good part of a selfie-like frame
(within ~2 m of the camera). For smaller faces: when the whole photo yields nothing, it is searched again in
overlapping square tiles of half its long side (3×3 on a square photo), i.e. at twice the resolution.
Faces on their side or upside down (the model sees roughly upright faces, ±45°) are found by running it on the
photo turned by quarter turns (`quarter_turns`); detections are mapped back into the photo's own pixels.

Coordinates: image pixels, x right, y down, pixel centres at integers (OpenCV; (0, 0) is the centre of the
top-left pixel). Keypoint sides are the subject's: `right_eye` is on the image's left in a frontal photo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from .mediapipe_assets import load_model
from .mp_crop import MAX_PLAIN_SHRINK, as_image_tensor, crop_square, crop_to_image
from .tflite_torch import TFLiteGraph

INPUT = 128
MIN_SCORE = 0.5
NMS_IOU = 0.3
SCORE_CLIP = 100.0
#: (stride, anchors per cell): MediaPipe's SsdAnchorsCalculator with strides [8, 16, 16, 16], aspect ratio 1
#: plus one interpolated scale per layer, layers of equal stride merged into one feature map
ANCHOR_LAYOUT = ((8, 2), (16, 6))
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")


@dataclass(frozen=True)
class FaceBox:
    """One detected face: `box` (4,) x_min, y_min, x_max, y_max; `keypoints` (6, 2) in KEYPOINTS order;
    `score` the detector's confidence in [0, 1]. Pixel-centre coordinates (see the module doc)."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return float(self.box[0] + self.box[2]) / 2, float(self.box[1] + self.box[3]) / 2


def ssd_anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1] of the 128×128 input, in the order of the model's outputs."""
    out = []
    for stride, per_cell in ANCHOR_LAYOUT:
        n = INPUT // stride
        c = (np.arange(n) + 0.5) / n
        yy, xx = np.meshgrid(c, c, indexing="ij")
        out.append(np.repeat(np.stack([xx.ravel(), yy.ravel()], 1), per_cell, axis=0))
    return np.concatenate(out)


def detect_faces(img: np.ndarray | torch.Tensor, *, min_score: float = MIN_SCORE,
                 search: Literal["auto", "whole", "tiles", "fine_tiles"] = "auto",
                 quarter_turns: tuple[int, ...] = (0,)) -> list[FaceBox]:
    """Faces in an (H, W, 3) [0, 1] image (uint8 accepted; or an `as_image_tensor` tensor), best score first.

    `search`: "whole" runs the model once on the letterboxed photo; "tiles" on tiles of half the long side
    (faces down to ~7 % of it), "fine_tiles" on tiles of a quarter (~4 %); "auto" on the tiles when the whole
    photo has none. `quarter_turns`: for each k the model sees the photo turned by k × 90° clockwise, so a face
    lying with its top towards the photo's left (k = 1), bottom (2) or right (3) is upright for it. A face seen
    by several turns is returned once per turn (each turn's detections are merged by MediaPipe's weighted NMS
    on their own): the best-scoring is usually the turn that sees it upright, with the right keypoints, and
    `face_mesh.detect` tries the others when its mesh fails. Boxes and keypoints are in the photo's pixels."""
    if search not in ("auto", "whole", "tiles", "fine_tiles"):
        raise ValueError(f"search must be 'auto', 'whole', 'tiles' or 'fine_tiles', not {search!r}")
    t = img if isinstance(img, torch.Tensor) else as_image_tensor(img)
    side = max(t.shape[2:])
    small = _shrink(t, side) if search in ("auto", "whole") else t
    found = []
    for k in quarter_turns:
        angle = -math.pi / 2 * (k % 4)
        if search == "fine_tiles":
            turn = _search_tiles(t, side / 4, min_score, angle)
        elif search == "tiles":
            turn = _search_tiles(t, side / 2, min_score, angle)
        else:
            turn = _run_whole(small, t.shape[2:], min_score, angle)
            if search == "auto" and not len(turn[2]):
                turn = _search_tiles(t, side / 2, min_score, angle)
        found += weighted_nms(*turn)
    found.sort(key=lambda d: -d[2])
    return [FaceBox(box - 0.5, kps - 0.5, float(score)) for box, kps, score in found]


def _shrink(img: torch.Tensor, side: float) -> torch.Tensor:
    """The photo resized once as `crop_square` would resize it for a whole-photo crop (antialiased, to at
    most MAX_PLAIN_SHRINK × the input), so several quarter turns do not each resize the full photo."""
    scale = MAX_PLAIN_SHRINK * INPUT / side
    if scale >= 1:
        return img
    h, w = img.shape[2:]
    size = (max(round(h * scale), 1), max(round(w * scale), 1))
    return F.interpolate(img, size=size, mode="bilinear", antialias=True, align_corners=False)


def _run_whole(small: torch.Tensor, shape: tuple[int, int], min_score: float, angle: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_run` on the whole (shrunk) photo, in the edge coordinates of the photo of `shape` (H, W)."""
    sh, sw = small.shape[2:]
    boxes, kps, scores = _run(small, (sw / 2, sh / 2), max(sh, sw), min_score, angle)
    sx, sy = shape[1] / sw, shape[0] / sh
    return boxes * [sx, sy, sx, sy], kps * [sx, sy], scores


def _search_tiles(img: torch.Tensor, size: float, min_score: float, angle: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detections in square tiles of `size` overlapping by half a tile. A tile keeps only detections centred
    nearer to it than to any other tile centre, so a face cut by one tile's edge is taken from the tile that
    holds it whole (faces up to half a tile)."""
    h, w = img.shape[2:]
    xs, ys = _tile_centres(w, size), _tile_centres(h, size)
    found = []
    for j, cy in enumerate(ys):
        for i, cx in enumerate(xs):
            boxes, kps, scores = _run(img, (cx, cy), size, min_score, angle)
            mid = (boxes[:, :2] + boxes[:, 2:]) / 2
            own = (np.abs(mid[:, :1] - xs).argmin(1) == i) & (np.abs(mid[:, 1:] - ys).argmin(1) == j)
            found.append((boxes[own], kps[own], scores[own]))
    return tuple(np.concatenate(p) for p in zip(*found))


def _tile_centres(length: int, size: float) -> np.ndarray:
    """Centres of tiles of `size` along an axis, at most half a tile apart."""
    if length <= size:
        return np.array([length / 2])
    n = math.ceil((length - size) / (size / 2)) + 1
    return np.linspace(size / 2, length - size / 2, n)


def _run(img: torch.Tensor, center: tuple[float, float], size: float, min_score: float, angle: float = 0.0
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detections in the square crop rotated by `angle` (a multiple of 90°; edge coordinates): boxes (n, 4),
    keypoints (n, 6, 2), scores (n,)."""
    x = crop_square(img, center, size, angle, INPUT, "zeros") * 2 - 1
    raw, logits = (y[0].numpy().astype(np.float64) for y in _detector()(x))
    scores = 1 / (1 + np.exp(-np.clip(logits[:, 0], -SCORE_CLIP, SCORE_CLIP)))
    keep = scores >= min_score
    raw, scores, anchors = raw[keep], scores[keep], ssd_anchors()[keep] * INPUT
    ctr = crop_to_image(raw[:, :2] + anchors, center, size, angle, INPUT)
    wh = raw[:, 2:4] * size / INPUT
    if round(angle / (math.pi / 2)) % 2:
        wh = wh[:, ::-1]
    boxes = np.concatenate([ctr - wh / 2, ctr + wh / 2], 1)
    kps = crop_to_image((raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None]).reshape(-1, 2), center, size, angle,
                        INPUT).reshape(-1, 6, 2)
    return boxes, kps, scores


def weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU
                 ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted NMS: the best remaining detection absorbs every one overlapping it by more than
    `iou`; the result keeps its score and takes the score-weighted mean box and keypoints."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while len(order):
        top = boxes[order[0]]
        others = boxes[order]
        ix = np.clip(np.minimum(top[2], others[:, 2]) - np.maximum(top[0], others[:, 0]), 0, None)
        iy = np.clip(np.minimum(top[3], others[:, 3]) - np.maximum(top[1], others[:, 1]), 0, None)
        inter = ix * iy
        area = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
        union = area[0] + area - inter
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        overlap[0] = 1.0  # the top detection is in its own group even when its box is empty
        group = order[overlap > iou]
        wts = scores[group] / scores[group].sum()
        out.append(((boxes[group] * wts[:, None]).sum(0), (kps[group] * wts[:, None, None]).sum(0),
                    float(scores[order[0]])))
        order = order[overlap <= iou]
    return out


@lru_cache(maxsize=1)
def _detector() -> TFLiteGraph:
    return TFLiteGraph(*load_model("detector"))
