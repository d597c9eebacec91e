"""A small vectorised z-buffer rasteriser in numpy: triangle id, depth and barycentrics per pixel.

Used for visibility while fitting photos, for Part IoU (a reconstruction's part labels rendered into the
photo's frame, renderer-free), for mapping detected 2D landmarks onto a known mesh, and for the part masks and
pictures of face editing. Pixel centres are integer
coordinates (OpenCV convention, (0, 0) = centre of the top-left pixel). Every (triangle, pixel) candidate in a
triangle's bounding box is tested at once, so the cost is proportional to the covered area, not to a Python
loop over triangles.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Raster:
    """tri (H, W) int64 triangle id or -1; depth (H, W) float64 (inf where empty); bary (H, W, 3)."""

    tri: np.ndarray
    depth: np.ndarray
    bary: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        return self.tri >= 0


def rasterize(uv: np.ndarray, z: np.ndarray, faces: np.ndarray, height: int, width: int,
              chunk: int = 2_000_000, cull_back: bool = False) -> Raster:
    """Rasterise triangles with pixel coordinates `uv` (n, 2) and positive depths `z` (n,); nearest wins.
    `cull_back` drops triangles wound clockwise on screen (x right, y down), i.e. those facing away from a
    camera for outward-oriented meshes."""
    uv = np.asarray(uv, np.float64)
    z = np.asarray(z, np.float64)
    faces = np.asarray(faces, np.int64)
    ok = (z[faces] > 0).all(1) & np.isfinite(uv[faces]).all((1, 2))
    if cull_back:
        t = uv[faces]
        signed = ((t[:, 1, 0] - t[:, 0, 0]) * (t[:, 2, 1] - t[:, 0, 1])
                  - (t[:, 2, 0] - t[:, 0, 0]) * (t[:, 1, 1] - t[:, 0, 1]))
        ok &= signed < -1e-9
    fid = np.flatnonzero(ok)
    p = uv[faces[fid]]  # (m, 3, 2)
    lo = np.clip(np.ceil(p.min(1)), 0, [width, height]).astype(np.int64)
    hi = np.clip(np.floor(p.max(1)), -1, [width - 1, height - 1]).astype(np.int64)
    nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    keep = (nx > 0) & (ny > 0)
    fid, p, lo, nx, ny = fid[keep], p[keep], lo[keep], nx[keep], ny[keep]
    depth = np.full(height * width, np.inf)
    tri = np.full(height * width, -1, np.int64)
    bary = np.zeros((height * width, 3))
    counts = nx * ny
    starts = np.concatenate([[0], np.cumsum(counts)])
    # process the candidate pairs in chunks of whole triangles to bound memory on huge meshes
    t0 = 0
    while t0 < len(fid):
        t1 = int(np.searchsorted(starts, starts[t0] + chunk, side="right")) - 1
        t1 = max(t1, t0 + 1)
        sl = slice(t0, t1)
        c = counts[sl]
        owner = np.repeat(np.arange(t0, t1), c)
        local = np.arange(int(c.sum())) - np.repeat(starts[sl] - starts[t0], c)
        px = lo[owner, 0] + local % nx[owner]
        py = lo[owner, 1] + local // nx[owner]
        a, b, cc = p[owner, 0], p[owner, 1], p[owner, 2]
        den = (b[:, 1] - cc[:, 1]) * (a[:, 0] - cc[:, 0]) + (cc[:, 0] - b[:, 0]) * (a[:, 1] - cc[:, 1])
        good = np.abs(den) > 1e-12
        den = np.where(good, den, 1.0)
        w0 = ((b[:, 1] - cc[:, 1]) * (px - cc[:, 0]) + (cc[:, 0] - b[:, 0]) * (py - cc[:, 1])) / den
        w1 = ((cc[:, 1] - a[:, 1]) * (px - cc[:, 0]) + (a[:, 0] - cc[:, 0]) * (py - cc[:, 1])) / den
        w2 = 1.0 - w0 - w1
        inside = good & (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
        owner, px, py = owner[inside], px[inside], py[inside]
        w = np.stack([w0[inside], w1[inside], w2[inside]], 1)
        fz = z[faces[fid[owner]]]
        # perspective-correct depth: interpolate 1/z linearly in screen space
        d = 1.0 / (w / fz).sum(1)
        pix = py * width + px
        order = np.lexsort((d, pix))
        pix, d, owner, w = pix[order], d[order], owner[order], w[order]
        first = np.ones(len(pix), bool)
        first[1:] = pix[1:] != pix[:-1]
        pix, d, owner, w = pix[first], d[first], owner[first], w[first]
        closer = d < depth[pix]
        pix, d, owner, w = pix[closer], d[closer], owner[closer], w[closer]
        depth[pix] = d
        tri[pix] = fid[owner]
        bary[pix] = w
        t0 = t1
    return Raster(tri.reshape(height, width), depth.reshape(height, width), bary.reshape(height, width, 3))


def visible_vertices(uv: np.ndarray, z: np.ndarray, faces: np.ndarray, height: int, width: int,
                     tolerance: float = 0.01) -> np.ndarray:
    """(n,) bool: the vertex projects inside the image and is not behind the rendered surface by more than
    `tolerance` (relative depth)."""
    r = rasterize(uv, z, faces, height, width)
    iu = np.round(uv[:, 0]).astype(np.int64)
    iv = np.round(uv[:, 1]).astype(np.int64)
    inside = (iu >= 0) & (iu < width) & (iv >= 0) & (iv < height) & (z > 0)
    vis = np.zeros(len(uv), bool)
    idx = np.flatnonzero(inside)
    surf = r.depth[iv[idx], iu[idx]]
    vis[idx] = z[idx] <= surf * (1 + tolerance)
    return vis
