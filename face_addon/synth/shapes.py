"""Closed triangle meshes built in numpy: tubes along many polylines at once, spheres, tori, lofts, region shells.

Everything the scan simulation voxel-remeshes must be closed, so every builder here returns a watertight
(vertices (n, 3) float64, faces (m, 3) int64) pair. No bpy.
"""
from __future__ import annotations

import numpy as np

Part = tuple[np.ndarray, np.ndarray]


def concat(parts: list[Part]) -> Part:
    """Concatenate meshes (face indices shifted)."""
    vs, fs, off = [], [], 0
    for v, f in parts:
        vs.append(v)
        fs.append(f + off)
        off += len(v)
    if not vs:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return np.concatenate(vs), np.concatenate(fs).astype(np.int64)


def _grid_faces(rows: int, cols: int, wrap: bool = True, offset: int = 0) -> np.ndarray:
    """Quads (as 2 triangles) of a rows x cols vertex grid, wrapping in the column direction."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols if wrap else cols - 1), indexing="ij")
    a = r * cols + c
    b = r * cols + (c + 1) % cols
    d = (r + 1) * cols + c
    e = (r + 1) * cols + (c + 1) % cols
    return np.concatenate([np.stack([a, b, e], -1).reshape(-1, 3), np.stack([a, e, d], -1).reshape(-1, 3)]) + offset


def tubes(paths: np.ndarray, radius: np.ndarray | float, sides: int = 6) -> Part:
    """Closed tubes along S polylines of equal length: paths (S, P, 3), radius scalar, (S,) or (S, P).

    Frames are parallel-transported (rotation-minimising enough for hair), ends capped with a fan."""
    paths = np.asarray(paths, np.float64)
    s, p, _ = paths.shape
    rad = np.broadcast_to(np.asarray(radius, np.float64).reshape((-1, 1) if np.ndim(radius) == 1 else
                                                                   np.shape(radius) or (1, 1)), (s, p))
    t = np.gradient(paths, axis=1)
    t /= np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), 1e-12)
    ref = np.where(np.abs(t[:, :1, 2:3]) < 0.9, np.array([0, 0, 1.0]), np.array([1.0, 0, 0]))
    n = np.zeros_like(paths)
    cur = np.cross(t[:, 0], ref[:, 0])
    for k in range(p):
        cur = cur - (cur * t[:, k]).sum(-1, keepdims=True) * t[:, k]
        cur /= np.maximum(np.linalg.norm(cur, axis=-1, keepdims=True), 1e-12)
        n[:, k] = cur
    b = np.cross(t, n)
    ang = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = (np.cos(ang)[None, None, :, None] * n[:, :, None] + np.sin(ang)[None, None, :, None] * b[:, :, None])
    verts = paths[:, :, None] + rad[:, :, None, None] * ring  # (S, P, sides, 3)
    body = _grid_faces(p, sides)
    per = p * sides
    caps_v = np.concatenate([paths[:, :1], paths[:, -1:]], axis=1)  # (S, 2, 3)
    k = np.arange(sides)
    start = np.stack([np.full(sides, per), (k + 1) % sides, k], 1)
    end = np.stack([np.full(sides, per + 1), (p - 1) * sides + k, (p - 1) * sides + (k + 1) % sides], 1)
    one = np.concatenate([body, start, end])
    stride = per + 2
    v = np.concatenate([verts.reshape(s, per, 3), caps_v], axis=1).reshape(-1, 3)
    f = (one[None] + stride * np.arange(s)[:, None, None]).reshape(-1, 3)
    return v, f.astype(np.int64)


def uv_sphere(center, radii, rings: int = 12, segments: int = 18) -> Part:
    """Closed ellipsoid with semi-axes `radii` (scalar or (3,))."""
    th = np.linspace(0, np.pi, rings + 1)[1:-1]
    ph = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    tt, pp = np.meshgrid(th, ph, indexing="ij")
    unit = np.stack([np.sin(tt) * np.cos(pp), np.sin(tt) * np.sin(pp), np.cos(tt)], -1).reshape(-1, 3)
    v = np.concatenate([unit, [[0, 0, 1.0], [0, 0, -1.0]]]) * np.asarray(radii, float) + np.asarray(center, float)
    body = _grid_faces(rings - 1, segments)[:, ::-1]
    n = len(unit)
    k = np.arange(segments)
    top = np.stack([np.full(segments, n), k, (k + 1) % segments], 1)
    last = (rings - 2) * segments
    bot = np.stack([np.full(segments, n + 1), last + (k + 1) % segments, last + k], 1)
    return v, np.concatenate([body, top, bot]).astype(np.int64)


def torus(center, axis, major: float, minor: float, segments: int = 32, sides: int = 8,
          scale=(1.0, 1.0)) -> Part:
    """Closed torus around `axis` through `center`; `scale` stretches the ring into an ellipse."""
    ang = np.linspace(0, 2 * np.pi, segments + 1)
    ring = np.stack([np.cos(ang) * major * scale[0], np.sin(ang) * major * scale[1], np.zeros_like(ang)], 1)
    v, f = tubes(ring[None], minor, sides)
    return _orient(v, axis, center), f


def _orient(v: np.ndarray, axis, center) -> np.ndarray:
    """Rotate local +Z onto `axis` and translate to `center`."""
    z = np.asarray(axis, float) / np.linalg.norm(axis)
    x = np.cross([0, 1.0, 0] if abs(z[1]) < 0.9 else [1.0, 0, 0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return v @ np.stack([x, y, z]) + np.asarray(center, float)


def loft(rings: np.ndarray) -> Part:
    """Closed surface through R closed rings (R, C, 3): the side grid plus fan caps at both ends."""
    r, c, _ = rings.shape
    v = np.concatenate([rings.reshape(-1, 3), rings[0].mean(0, keepdims=True), rings[-1].mean(0, keepdims=True)])
    k = np.arange(c)
    n = r * c
    start = np.stack([np.full(c, n), (k + 1) % c, k], 1)
    end = np.stack([np.full(c, n + 1), (r - 1) * c + k, (r - 1) * c + (k + 1) % c], 1)
    return v, np.concatenate([_grid_faces(r, c), start, end]).astype(np.int64)


def region_shell(v: np.ndarray, f: np.ndarray, normals: np.ndarray, mask: np.ndarray, outer: np.ndarray,
                 inner: float = 0.0005) -> Part:
    """A closed shell over the faces whose vertices are all in `mask`: outer surface = v + outer·n (outer per
    vertex), inner = v - inner·n, side walls along the region's boundary edges. Used for buzz cuts, beards,
    eyebrows (hair that sits on the skin)."""
    faces = f[mask[f].all(1)]
    if len(faces) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    used = np.unique(faces)
    remap = -np.ones(len(v), np.int64)
    remap[used] = np.arange(len(used))
    lf = remap[faces]
    k = len(used)
    out_v = v[used] + np.asarray(outer)[used, None] * normals[used] if np.ndim(outer) else \
        v[used] + outer * normals[used]
    in_v = v[used] - inner * normals[used]
    edges = np.concatenate([lf[:, [0, 1]], lf[:, [1, 2]], lf[:, [2, 0]]])
    key = np.sort(edges, 1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    border = edges[cnt[inv.ravel()] == 1]  # directed as in their face: wall faces keep the orientation
    a, b = border[:, 0], border[:, 1]
    walls = np.concatenate([np.stack([b, a, a + k], 1), np.stack([b, a + k, b + k], 1)])
    faces_out = np.concatenate([lf, lf[:, ::-1] + k, walls])
    return np.concatenate([out_v, in_v]), faces_out.astype(np.int64)


def cap_boundary(v: np.ndarray, f: np.ndarray) -> Part:
    """Close every boundary loop of an oriented mesh with a fan to the loop's centroid (adds one vertex per
    loop). Used to make the FaceKit head (open at the neck) watertight for the voxel remesher."""
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(edges, 1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    border = edges[cnt[inv.ravel()] == 1]
    if len(border) == 0:
        return v, f
    nxt = dict(zip(border[:, 1].tolist(), border[:, 0].tolist()))  # reversed direction closes the hole
    new_v, new_f, seen = [v], [f], set()
    n = len(v)
    for start in list(nxt):
        if start in seen:
            continue
        loop, cur = [], start
        while cur not in seen:
            seen.add(cur)
            loop.append(cur)
            cur = nxt[cur]
        loop = np.array(loop)
        new_v.append(v[loop].mean(0, keepdims=True))
        new_f.append(np.stack([np.full(len(loop), n), loop, np.roll(loop, -1)], 1))
        n += 1
    return np.concatenate(new_v), np.concatenate(new_f).astype(np.int64)
