"""`face synth preview DIR`: a contact sheet PNG of samples (views, label images, the scan coloured and by
skin label), drawn in numpy (the scan by z-buffered point splatting with Lambert shading). No bpy."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.dataset import CLASS_COLORS, complete_seeds, load_sample, write_png
from ..core.geometry.normals import vertex_normals
from .cameras import rig_cameras

TILE = 160
FRONT, THREE_QUARTER, SIDE = 6, 4, 3  # rig indices: (5, 0), (5, -60), (5, -100) degrees


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    ys = (np.arange(size) * h / size).astype(int)
    xs = (np.arange(size) * w / size).astype(int)
    return img[ys][:, xs]


def splat(v: np.ndarray, f: np.ndarray, colors: np.ndarray, view: int = 6, size: int = TILE) -> np.ndarray:
    """Shaded render (uint8 RGB) of a mesh with per-vertex sRGB-byte colours from rig view `view`."""
    cam = rig_cameras(size * 3, None)[view]
    n = vertex_normals(v.astype(np.float64), f)
    uv, z = cam.project(v.astype(np.float64))
    iu, iv = (uv[:, 0] / 3).astype(int), (uv[:, 1] / 3).astype(int)
    ok = (iu >= 0) & (iu < size) & (iv >= 0) & (iv < size)
    idx = iv[ok] * size + iu[ok]
    order = np.argsort(-z[ok])  # far first, near last: the last write wins
    img = np.full((size * size, 3), 235, np.uint8)
    light = np.array([0.3, -0.8, 0.5])
    shade = np.clip((n[ok] @ (light / np.linalg.norm(light))) * 0.7 + 0.35, 0.15, 1.0)
    col = np.clip(colors[ok].astype(np.float32) * shade[:, None], 0, 255).astype(np.uint8)
    img[idx[order]] = col[order]
    return img.reshape(size, size, 3)


def sample_tiles(root: Path, seed: int, size: int = TILE) -> np.ndarray:
    """One sample's strip: [front RGB, front parts, 3/4 RGB] (full profile) + [scan colour, scan skin label
    front, scan skin label side]."""
    s = load_sample(root, seed)
    tiles = []
    if (s.path / "views" / f"{FRONT:02d}.png").is_file():
        rgb, parts = s.view(FRONT)
        tiles += [_resize(rgb, size), _resize(CLASS_COLORS[parts], size), _resize(s.view(THREE_QUARTER)[0], size)]
    col = s.scan_colors if s.scan_colors is not None else np.full((len(s.scan_vertices), 3), 180, np.uint8)
    skin_col = np.where(s.skin[:, None], np.array([240, 130, 40]), np.array([120, 130, 150])).astype(np.uint8)
    v, f = s.scan_vertices, s.scan_faces
    tiles += [splat(v, f, col, FRONT, size), splat(v, f, skin_col, FRONT, size), splat(v, f, skin_col, SIDE, size)]
    return np.concatenate(tiles, axis=1)


def contact_sheet(root: Path, out: Path, n: int = 16, per_row: int = 2, size: int = TILE, levels: int = 256) -> Path:
    """Tile the first n complete samples (per_row strips per row) into one PNG; `levels` < 256 posterises the
    colours (smaller files for the docs)."""
    seeds = complete_seeds(root)[:n]
    if not seeds:
        raise FileNotFoundError(f"no complete samples in {root}")
    strips = [sample_tiles(root, s, size) for s in seeds]
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 4), (0, width - s.shape[1] + 4), (0, 0)), constant_values=255) for s in strips]
    while len(strips) % per_row:
        strips.append(np.full_like(strips[0], 255))
    rows = [np.concatenate(strips[i:i + per_row], axis=1) for i in range(0, len(strips), per_row)]
    sheet = np.concatenate(rows, axis=0)
    if levels < 256:
        step = 256 // levels
        sheet = (sheet // step * step + step // 2).astype(np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_png(out, sheet)
    return out
