"""Per-vertex colours of a UV-textured scan: the texture sampled at each vertex's texture coordinates.

Photogrammetry tools (RealityCapture, Metashape, Polycam) write a mesh with UVs and an image texture rather
than vertex colours; the skin networks take one colour per vertex. Each triangle corner's UV is sampled
bilinearly (in linear light, after decoding the texture's sRGB bytes, so mixing two texels mixes light, as
Cycles does) and a vertex gets the mean over its corners — corners of one vertex differ only at UV seams, where
both sides show the same surface. UVs follow OBJ/Blender: u to the right, v up, (0, 0) the bottom-left
corner of the image; outside [0, 1] they wrap (repeat), the default of OBJ, glTF and Blender.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .color import srgb_to_linear
from .mesh import Mesh


def sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(n, 3) linear float32 colours of an (h, w, 3) sRGB-encoded texture (floats in [0, 1], `Mesh.texture`,
    or bytes) at texture coordinates uv (n, 2), bilinear between texel centres, wrapping at the borders."""
    tex = np.asarray(texture)
    h, w = tex.shape[:2]
    uv = np.asarray(uv, np.float64).reshape(-1, 2)
    x = np.mod(uv[:, 0], 1.0) * w - 0.5           # texel centres sit at (i + 0.5) / w
    y = (1.0 - np.mod(uv[:, 1], 1.0)) * h - 0.5    # image row 0 is the top, v = 1
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    ix0, iy0 = x0.astype(np.int64) % w, y0.astype(np.int64) % h
    ix1, iy1 = (ix0 + 1) % w, (iy0 + 1) % h

    def texel(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
        return srgb_to_linear(tex[iy, ix, :3]).astype(np.float64)

    top = texel(iy0, ix0) * (1 - fx) + texel(iy0, ix1) * fx
    bottom = texel(iy1, ix0) * (1 - fx) + texel(iy1, ix1) * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def vertex_colors_from_texture(n_vertices: int, faces: np.ndarray, uv: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """(n, 3) linear float32 colour per vertex: the texture at each of its triangle corners (uv (m, 3, 2)),
    averaged. Vertices in no triangle get the mean colour of the others."""
    f = np.asarray(faces, np.int64).reshape(-1)
    samples = sample_texture(texture, np.asarray(uv).reshape(-1, 2)).astype(np.float64)
    count = np.bincount(f, minlength=n_vertices).astype(np.float64)
    total = np.stack([np.bincount(f, samples[:, c], minlength=n_vertices) for c in range(3)], axis=1)
    used = count > 0
    out = np.empty((n_vertices, 3))
    out[used] = total[used] / count[used, None]
    out[~used] = samples.mean(0) if len(samples) else 0.5
    return out.astype(np.float32)


def has_texture(mesh: Mesh) -> bool:
    return mesh.texture is not None and mesh.uv is not None and mesh.n_faces > 0


def with_surface_colors(mesh: Mesh) -> Mesh:
    """The mesh with `colors` taken from its texture when it has one (UVs + image), else unchanged (its vertex
    colours or none). The texture wins over vertex colours: it is the scan's appearance at full resolution,
    and the views of the image branch are rendered with it, so colours and views then agree."""
    if not has_texture(mesh):
        return mesh
    return replace(mesh, colors=vertex_colors_from_texture(mesh.n_vertices, mesh.faces, mesh.uv, mesh.texture))
