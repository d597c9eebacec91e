"""Part Re-projection Distance Loss (3DDFA-V3 §3.3).

For each part p the target point set C_p (pixels of the part's 2D mask) and the predicted set V_2d^p (the
re-projected FaceKit part vertices) are described by the same fixed anchors A: Γ(i, ·) = (f_min, f_max, f_ave)
of the distances from anchor a_i to the set (Eqn. 4, F = {f_min, f_max, f_ave}). The loss is
Σ_p w_p ‖Γ_p − Γ*_p‖²₂ (Eqn. 5), averaged over the anchors (the paper normalises by H×W, the full grid).
A part missing from the photo gets w_p = 0. The paper allows thinning A, C_p and V_2d^p by farthest point
sampling; we use a stride-8 anchor grid (28×28 on the 224 crop) and FPS to 3000 points for skin.
"""
from __future__ import annotations

import numpy as np
import torch

from .camera import CROP

ANCHOR_STRIDE = 8
SKIN_POINTS = 3000


def grid_anchors(size: int = CROP, stride: int = ANCHOR_STRIDE) -> torch.Tensor:
    """(A, 2) pixel-centre anchors of a regular grid over the crop."""
    g = torch.arange(stride / 2 - 0.5, size, stride, dtype=torch.float32)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    return torch.stack([xx.ravel(), yy.ravel()], 1)


def thin_pixels(points: np.ndarray, k: int) -> np.ndarray:
    """Indices of at most ~k of the (N, 2) pixel points on a regular sub-grid. For a dense pixel mask this is
    what farthest point sampling converges to (uniform coverage), at a fraction of its cost (FPS over a 20k-pixel
    skin mask takes ~1-2 s in numpy/torch on our CPUs)."""
    if len(points) <= k:
        return np.arange(len(points))
    stride = int(np.ceil(np.sqrt(len(points) / k)))
    keep = (points[:, 0].astype(np.int64) % stride == 0) & (points[:, 1].astype(np.int64) % stride == 0)
    return np.flatnonzero(keep)


class _Descriptors(torch.autograd.Function):
    """Γ with a hand-written backward: autograd through `cdist` + min/max/mean costs ~0.5 s per step for 3000
    points × 3136 anchors, while the exact gradient needs only the arg-min/arg-max pairs and two matmuls."""

    @staticmethod
    def forward(ctx, points: torch.Tensor, anchors: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(anchors, points).clamp_min(1e-6)
        dmin, imin = d.min(1)
        dmax, imax = d.max(1)
        w = weights / weights.sum()
        ctx.save_for_backward(points, anchors, d, imin, imax, w)
        return torch.stack([dmin, dmax, d @ w], 1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        points, anchors, d, imin, imax, w = ctx.saved_tensors
        out = torch.zeros_like(points)
        for col, idx in ((0, imin), (1, imax)):
            diff = points[idx] - anchors
            out.index_add_(0, idx, grad[:, col:col + 1] * diff / d.gather(1, idx[:, None]))
        g = grad[:, 2:3] * w[None] / d  # (A, N): d f_ave_i / d p_j = w_j (p_j − a_i) / d_ij
        out += g.sum(0)[:, None] * points - g.T @ anchors
        return out, None, None


def descriptors(points: torch.Tensor, anchors: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Γ (A, 3): nearest, furthest and (weighted) average distance from every anchor to the point set (N, 2).
    Weights (N,) let a point stand for the image area it covers (uniform when None)."""
    if weights is None:
        weights = torch.ones(len(points), dtype=points.dtype)
    return _Descriptors.apply(points, anchors, weights.to(points.dtype))


def prdl(pred: dict[str, tuple[torch.Tensor, torch.Tensor | None]], target_desc: dict[str, torch.Tensor],
         anchors: torch.Tensor, weights: dict[str, float]) -> torch.Tensor:
    """Σ_p w_p mean_i ‖Γ_p(i) − Γ*_p(i)‖² over the parts present in both; pred[p] = (points, point weights)."""
    total = anchors.new_zeros(())
    for p, tgt in target_desc.items():
        w = weights.get(p, 1.0)
        pts, pw = pred.get(p, (None, None))
        if w == 0 or pts is None or len(pts) == 0:
            continue
        total = total + w * ((descriptors(pts, anchors, pw) - tgt) ** 2).sum(1).mean()
    return total


def target_descriptors(masks: dict[str, np.ndarray], anchors: torch.Tensor) -> dict[str, torch.Tensor]:
    """Γ*_p of the 2D part masks (CROP, CROP) bool; empty masks are left out (their weight is 0)."""
    out = {}
    for p, m in masks.items():
        ys, xs = np.nonzero(m)
        if len(xs) == 0:
            continue
        pts = np.stack([xs, ys], 1).astype(np.float32)
        if p == "skin":
            pts = pts[thin_pixels(pts, SKIN_POINTS)]
        out[p] = descriptors(torch.as_tensor(pts), anchors)
    return out
