"""MediaPipe's three custom TFLite ops (version 2), the attention face mesh's crops, in batched torch.

The attention model (face_landmark_with_attention.tflite) reads its 468-point mesh, cuts a 16×16 window of an
early feature map around each eye and the lips, runs a small sub-network on each and maps the sub-network's
2-D points back into the 192×192 crop. The three ops, as MediaPipe 0.10.14 defines them
(mediapipe/util/tflite/operations/*.cc; options are the op's FlexBuffers map, see `mp_tflite_reader`):

- **Landmarks2TransformMatrix** (landmarks (N, K, 3) -> (N, 4, 4)): the roll r = target_rotation_radians −
  atan2(p[right].y − p[left].y, p[right].x − p[left].x); the subset's points rotated by r give a box (min/max);
  the matrix maps an output pixel (u, v) of an output_width × output_height window to the input:
  shift(box centre rotated back) · rotate(−r) · scale(scale_x · box width / output_width, same for y) ·
  shift(−output_width / 2, −output_height / 2). Rows 3 and 4 are the identity's; column 3 (z) is unused.
- **TransformTensorBilinear** (features NCHW, matrix -> N, C, output_height, output_width): each output
  pixel centre (u + ½, v + ½) goes through the matrix, −½ makes it an input pixel index; bilinear between the
  four neighbours, 0 for a position outside [0, W − 1] × [0, H − 1] (a hard zero, not a blend with padding).
- **TransformLandmarks** (points (N, K, 2), matrix -> (N, K, 2)): the matrix's upper 2×3 affine part applied
  to each point.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _rotation(angle: torch.Tensor) -> torch.Tensor:
    """(N,) radians -> (N, 2, 2) counter-clockwise rotations [[cos, −sin], [sin, cos]]."""
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def landmarks_to_transform_matrix(landmarks: torch.Tensor, options: dict) -> torch.Tensor:
    """(N, K, 3) points -> (N, 4, 4) window-to-input matrices (module doc)."""
    xy = landmarks[..., :2]
    left, right = xy[:, options["left_rotation_idx"]], xy[:, options["right_rotation_idx"]]
    d = right - left
    roll = options.get("target_rotation_radians", 0.0) - torch.atan2(d[:, 1], d[:, 0])
    subset = xy[:, list(options["subset_idxs"])]  # an odd count pairs its last index with itself: same box
    turned = subset @ _rotation(roll).transpose(1, 2)
    lo, hi = turned.min(1).values, turned.max(1).values
    back = _rotation(-roll)
    centre = (back @ ((lo + hi) / 2)[..., None])[..., 0]
    size = torch.tensor([options["output_width"], options["output_height"]], dtype=xy.dtype)
    scale = torch.tensor([options["scale_x"], options["scale_y"]], dtype=xy.dtype) * (hi - lo) / size
    linear = back * scale[:, None, :]  # rotate(−r) · diag(scale)
    shift = centre - linear @ (size / 2)
    out = torch.eye(4, dtype=xy.dtype).repeat(len(xy), 1, 1)
    out[:, :2, :2] = linear
    out[:, :2, 3] = shift
    return out


def transform_tensor_bilinear(features: torch.Tensor, matrix: torch.Tensor, options: dict) -> torch.Tensor:
    """(N, C, H, W) features sampled through (N, 4, 4) matrices -> (N, C, output_height, output_width)."""
    n, _, h, w = features.shape
    oh, ow = int(options["output_height"]), int(options["output_width"])
    v, u = torch.meshgrid(torch.arange(oh, dtype=features.dtype), torch.arange(ow, dtype=features.dtype),
                          indexing="ij")
    centres = torch.stack([u + 0.5, v + 0.5], -1).reshape(-1, 2)
    pos = centres @ matrix[:, :2, :2].transpose(1, 2) + matrix[:, None, :2, 3] - 0.5  # (N, oh·ow, 2)
    inside = (pos[..., 0] >= 0) & (pos[..., 0] <= w - 1) & (pos[..., 1] >= 0) & (pos[..., 1] <= h - 1)
    grid = pos / torch.tensor([max(w - 1, 1), max(h - 1, 1)], dtype=pos.dtype) * 2 - 1
    out = F.grid_sample(features, grid.reshape(n, oh, ow, 2), mode="bilinear", padding_mode="zeros",
                        align_corners=True)
    return out * inside.reshape(n, 1, oh, ow).to(out.dtype)


def transform_landmarks(points: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """(N, K, 2) points through the (N, 4, 4) matrices' 2-D affine part -> (N, K, 2)."""
    return points @ matrix[:, :2, :2].transpose(1, 2) + matrix[:, None, :2, 3]
