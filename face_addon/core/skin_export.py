"""Skin segmentation file for the command line: a binary PLY of the scan carrying the result (the JSON summary
is cli/summary.py's). Plain numpy, no bpy.

PLY: the input's vertices (its own units) and triangles; per vertex `red green blue` (uchar, blue = non-skin …
orange = skin, so any viewer shows the result) and `quality` (float32 skin probability: MeshLab's per-vertex
quality, so Filters ▸ Selection ▸ "Select by Vertex Quality" picks the skin).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import write_ply

SKIN_SRGB = np.array([255, 173, 110], np.float64)     # p = 1
NON_SKIN_SRGB = np.array([60, 118, 203], np.float64)  # p = 0


def probability_colors(probability: np.ndarray) -> np.ndarray:
    """(n, 3) uint8 sRGB display colours of skin probabilities."""
    p = np.clip(np.asarray(probability, np.float64), 0, 1)[:, None]
    return np.rint(NON_SKIN_SRGB + p * (SKIN_SRGB - NON_SKIN_SRGB)).astype(np.uint8)


def write_skin_ply(path: Path | str, vertices: np.ndarray, faces: np.ndarray | None, probability: np.ndarray) -> Path:
    """Binary little-endian PLY with colours and `quality` = skin probability (see the module doc)."""
    p = np.asarray(probability, np.float32).ravel()
    return write_ply(path, vertices, faces, probability_colors(p), {"quality": p},
                     comment="face_addon skin segmentation: quality = skin probability")
