"""Skin segmentation file for the command line: a binary PLY of the scan carrying the result (the JSON summary
is cli/summary.py's). Plain numpy, no bpy.

PLY: the input's vertices (its own units) and triangles; per vertex `red green blue` (uchar, blue = non-skin …
orange = skin, so any viewer shows the result) and `quality` (float32 skin probability: MeshLab's per-vertex
quality, so Filters ▸ Selection ▸ "Select by Vertex Quality" picks the skin).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic_write import write_bytes_atomic

SKIN_SRGB = np.array([255, 173, 110], np.float64)     # p = 1
NON_SKIN_SRGB = np.array([60, 118, 203], np.float64)  # p = 0


def probability_colors(probability: np.ndarray) -> np.ndarray:
    """(n, 3) uint8 sRGB display colours of skin probabilities."""
    p = np.clip(np.asarray(probability, np.float64), 0, 1)[:, None]
    return np.rint(NON_SKIN_SRGB + p * (SKIN_SRGB - NON_SKIN_SRGB)).astype(np.uint8)


def write_skin_ply(path: Path | str, vertices: np.ndarray, faces: np.ndarray | None, probability: np.ndarray) -> Path:
    """Binary little-endian PLY with colours and `quality` = skin probability (see the module doc)."""
    path = Path(path)
    v = np.asarray(vertices, np.float32).reshape(-1, 3)
    p = np.asarray(probability, np.float32).ravel()
    if len(p) != len(v):
        raise ValueError(f"{len(p)} probabilities for {len(v)} vertices")
    vert = np.empty(len(v), [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"),
                             ("blue", "u1"), ("quality", "<f4")])
    vert["x"], vert["y"], vert["z"] = v.T
    vert["red"], vert["green"], vert["blue"] = probability_colors(p).T
    vert["quality"] = p
    f = np.zeros((0, 3), np.int32) if faces is None else np.asarray(faces, np.int32).reshape(-1, 3)
    face = np.empty(len(f), [("n", "u1"), ("i", "<i4", (3,))])
    face["n"], face["i"] = 3, f
    header = ("ply\nformat binary_little_endian 1.0\ncomment face_addon skin segmentation: quality = skin "
              f"probability\nelement vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty float quality\n"
              f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
    return write_bytes_atomic(path, header.encode("ascii") + vert.tobytes() + face.tobytes())
