"""Photo transforms that make hard detection cases out of easy portraits, with the matching point transform.

Used by the real-data detection benchmark (London portraits, `real_photo_detect.py`) and by the detector's unit
tests (skimage's astronaut). Each transform takes an (H, W, 3) float32 image in [0, 1] and (n, 2) pixel-centre
points (x right, y down; typically the two pupils) and returns the transformed image and points, so a detection
on the result can be checked against where the face really is. Deterministic: the random parts use fixed seeds.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def resize(img: np.ndarray, pts: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Antialiased resize by `scale` (Pillow's Lanczos on 8-bit data, as a photo editor would)."""
    h, w = img.shape[:2]
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    pil = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).resize(size, Image.LANCZOS)
    sx, sy = size[0] / w, size[1] / h
    return np.asarray(pil, np.float32) / 255, (pts + 0.5) * [sx, sy] - 0.5


def grey(img: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luminance (Rec. 601) in all three channels."""
    y = img @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(y[..., None], 3, 2), pts


def old_photo(img: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An archive print: greyscale, sepia, low contrast, soft (a third of the resolution) and grainy."""
    g, _ = grey(img, pts)
    h, w = g.shape[:2]
    small, _ = resize(g, pts, 1 / 3)
    soft = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR),
                      np.float32) / 255
    grain = np.random.default_rng(3).normal(0, 0.06, (h, w, 1)).astype(np.float32)
    y = 0.25 + 0.5 * soft[..., :1] + grain
    return np.clip(y * np.array([1.0, 0.9, 0.72], np.float32), 0, 1), pts


def rot90(k: int) -> Transform:
    """Rotation by k × 90° counter-clockwise on screen (np.rot90)."""
    def f(img: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, p = img, pts.astype(np.float64)
        for _ in range(k % 4):
            w = out.shape[1]
            out, p = np.rot90(out), np.stack([p[:, 1], w - 1 - p[:, 0]], 1)
        return np.ascontiguousarray(out), p
    return f


def rotate(degrees: float, fill: float = 0.5) -> Transform:
    """Rotation by `degrees` counter-clockwise on screen about the image centre, canvas grown to hold it all."""
    def f(img: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = img.shape[:2]
        a = math.radians(degrees)
        c, s = math.cos(a), math.sin(a)
        rot = np.array([[c, s], [-s, c]])  # (x, y) with y down: counter-clockwise on screen
        ow, oh = math.ceil(abs(c) * w + abs(s) * h), math.ceil(abs(s) * w + abs(c) * h)
        src_c, dst_c = np.array([(w - 1) / 2, (h - 1) / 2]), np.array([(ow - 1) / 2, (oh - 1) / 2])
        yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float64)
        d = np.stack([xx.ravel(), yy.ravel()], 1) - dst_c
        src = d @ rot + src_c  # rot is orthogonal: inverse = transpose
        out = np.stack([ndimage.map_coordinates(img[..., ch], [src[:, 1], src[:, 0]], order=1, cval=fill)
                        for ch in range(3)], 1).reshape(oh, ow, 3)
        return out.astype(np.float32), (pts - src_c) @ rot.T + dst_c
    return f


def square_crop(pts_box: np.ndarray, scale: float) -> Transform:
    """A square crop of side `scale` × the larger extent of `pts_box` (e.g. the face outline), centred on it:
    scale 1 makes the face fill the frame."""
    (x0, y0), (x1, y1) = pts_box.min(0), pts_box.max(0)
    side = scale * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def f(img: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = img.shape[:2]
        a, b = max(round(cx - side / 2), 0), max(round(cy - side / 2), 0)
        c, d = min(round(cx + side / 2), w), min(round(cy + side / 2), h)
        return np.ascontiguousarray(img[b:d, a:c]), pts - [a, b]
    return f


def background(height: int, width: int, seed: int = 7) -> np.ndarray:
    """A smooth, mildly textured backdrop (low-frequency colour noise plus fine grain) for padded canvases."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(0.25, 0.75, (max(height // 64, 2), max(width // 64, 2), 3)).astype(np.float32)
    up = np.asarray(Image.fromarray((low * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC),
                    np.float32) / 255
    return np.clip(up + rng.normal(0, 0.02, (height, width, 1)).astype(np.float32), 0, 1)


def paste(canvas: np.ndarray, img: np.ndarray, pts: np.ndarray, at: tuple[int, int]
          ) -> tuple[np.ndarray, np.ndarray]:
    """`img` pasted into a copy of `canvas` with its top-left pixel at `at` = (x, y)."""
    out = canvas.copy()
    x, y = at
    h, w = img.shape[:2]
    out[y:y + h, x:x + w] = img
    return out, pts + [x, y]


def small_face(face_width: float, fraction: float, canvas: tuple[int, int] = (1200, 1600),
               at: tuple[float, float] = (0.3, 0.35)) -> Transform:
    """The photo shrunk so that a face `face_width` pixels wide spans `fraction` of the canvas's long side, pasted
    at relative position `at` into a textured canvas (height, width)."""
    def f(img: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small, p = resize(img, pts, fraction * max(canvas) / face_width)
        h, w = small.shape[:2]
        x, y = round(at[0] * (canvas[1] - w)), round(at[1] * (canvas[0] - h))
        return paste(background(*canvas), small, p, (x, y))
    return f


def compose(*fs: Transform) -> Transform:
    """The transforms applied left to right."""
    def f(img: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for g in fs:
            img, pts = g(img, pts)
        return img, pts
    return f
