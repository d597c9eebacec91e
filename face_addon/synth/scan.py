"""Scan simulation: turn the clean scene geometry into what multi-view stereo + Poisson reconstruction gives.

1. join every part that a camera could reconstruct (not glass) into one mesh, then Blender's voxel remesher
   (Remesh modifier, VOXEL) at a random voxel size: hair clumps fuse into one bumpy cap welded to the scalp,
   gaps smaller than a voxel or two (hair/ear, hair/neck, collar/neck) close into webbing, thin things
   (glasses temples, lashes) thin out or vanish, and the result is one dense, uniform mesh like a Poisson surface;
2. visibility from the rig's cameras (numpy z-buffer splatting at ~1.5 voxels per pixel, grazing angles
   rejected): vertices seen by fewer than `min_views` cameras are dropped -> holes under the chin, behind
   the ears, at the back of the head, inside the mouth; small floating pieces are removed;
3. surface noise: a smooth random displacement along the normal (MVS "orange peel"), stronger on hair
   (bumpy hair caps), plus white noise, then a little Laplacian smoothing (Poisson's low-pass).

Only step 1 touches bpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.ndimage import minimum_filter
from scipy.sparse.csgraph import connected_components

from ..core.dataset import CLASS_IDS
from ..core.geometry.normals import vertex_normals
from ..core.geometry.surface_distance import SurfaceQuery
from .cameras import Camera
from .parts import ScenePart
from .shapes import concat


VISIBLE_AREA_M2 = 0.3


@dataclass
class ScanConfig:
    target_vertices: int = 150_000
    min_views: int = 2
    noise_mm: tuple[float, float] = (0.08, 0.3)
    hair_noise_gain: tuple[float, float] = (2.0, 5.0)
    smooth_iterations: int = 2


@dataclass
class Scan:
    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray       # (n, 3) linear RGB
    class_id: np.ndarray     # (n,) uint8
    info: dict


def source_mesh(parts: list[ScenePart]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vertices, faces, face class, face colour) of the parts that go into the scan."""
    use = [p for p in parts if p.in_scan and len(p.f)]
    v, f = concat([(p.v, p.f) for p in use])
    return v, f, np.concatenate([p.face_class for p in use]), np.concatenate([p.face_color for p in use])


def surface_area(v: np.ndarray, f: np.ndarray) -> float:
    return float(0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum())


def voxel_remesh(v: np.ndarray, f: np.ndarray, voxel: float) -> tuple[np.ndarray, np.ndarray]:
    """Blender's OpenVDB voxel remesher on a temporary object; returns triangles."""
    import bpy

    from ..blender.mesh_io import new_mesh_object, read_mesh
    from ..core.mesh import Mesh

    obj = new_mesh_object("synth remesh", Mesh(v, f))
    try:
        mod = obj.modifiers.new("remesh", "REMESH")
        mod.mode = "VOXEL"
        mod.voxel_size = float(voxel)
        mod.adaptivity = 0.0
        mesh, _ = read_mesh(obj, space="LOCAL", evaluated=True)
    finally:
        me = obj.data
        bpy.data.objects.remove(obj, do_unlink=True)
        bpy.data.meshes.remove(me)
    return mesh.vertices, mesh.faces


def visible_mask(v: np.ndarray, n: np.ndarray, cam: Camera, pixel_m: float, max_angle_deg: float = 75.0
                 ) -> np.ndarray:
    """Which vertices `cam` sees: z-buffer of splatted vertices at `pixel_m` per pixel (at the median depth), a
    3x3 min filter closing splat gaps, depth tolerance of 3 pixels, facing angle below max_angle_deg."""
    uv, z = cam.project(v)
    scale = (np.median(z) / pixel_m) / cam.K[0, 0]
    w, h = int(cam.width * scale) + 2, int(cam.height * scale) + 2
    iu = np.floor((uv[:, 0] + 0.5) * scale).astype(np.int64)
    iv = np.floor((uv[:, 1] + 0.5) * scale).astype(np.int64)
    inside = (iu >= 0) & (iu < w) & (iv >= 0) & (iv < h) & (z > 0)
    idx = np.where(inside, iv * w + iu, 0)
    zbuf = np.full(w * h, np.inf)
    np.minimum.at(zbuf, idx[inside], z[inside])
    zbuf = minimum_filter(zbuf.reshape(h, w), size=3, mode="nearest").ravel()
    seen = np.flatnonzero(inside & (z <= zbuf[idx] + 3 * pixel_m))  # the angle test only where the depth passes
    to_cam = cam.center - v[seen]
    out = np.zeros(len(v), bool)
    out[seen] = (to_cam * n[seen]).sum(1) / np.linalg.norm(to_cam, axis=1) > np.cos(np.deg2rad(max_angle_deg))
    return out


def visible_counts(v: np.ndarray, n: np.ndarray, cams: list[Camera], pixel_m: float) -> np.ndarray:
    """How many of `cams` see each vertex (see `visible_mask`)."""
    return np.sum([visible_mask(v, n, cam, pixel_m) for cam in cams], axis=0).astype(np.int32)


def _submesh(v: np.ndarray, f: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices in keep and the faces fully inside; returns (v, f, old index of each kept vertex)."""
    f = f[keep[f].all(1)]
    used = np.flatnonzero(np.bincount(f.ravel(), minlength=len(v)))  # = np.unique(f), without its sort
    remap = -np.ones(len(v), np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[f], used


def _adjacency(n: int, f: np.ndarray) -> sp.csr_matrix:
    i = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    j = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    a = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64)
    return a


def _noise_field(v: np.ndarray, rng: np.random.Generator, k: int = 10) -> np.ndarray:
    """Smooth random scalar field in [-1, 1]-ish: a sum of k plane waves with wavelengths 5-40 mm."""
    d = rng.normal(size=(k, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    lam = rng.uniform(0.005, 0.04, k)
    ph = rng.uniform(0, 2 * np.pi, k)
    return np.sin(v @ (d.T * (2 * np.pi / lam)) + ph).sum(1) / np.sqrt(k / 2)


def simulate_scan(parts: list[ScenePart], cams: list[Camera], rng: np.random.Generator,
                  cfg: ScanConfig | None = None) -> Scan:
    """The simulated scan of `parts` as seen by `cams` (see the module docstring)."""
    cfg = cfg or ScanConfig()
    sv, sf, sclass, scolor = source_mesh(parts)
    area = surface_area(sv, sf)
    # the kept (visible) surface of a head + shoulders scan is ~0.3 m^2; a voxel remesh has ~1 vertex per voxel^2
    voxel = float(np.clip(np.sqrt(VISIBLE_AREA_M2 / cfg.target_vertices) * rng.uniform(0.85, 1.15), 0.0005, 0.004))
    rv, rf = voxel_remesh(sv, sf, voxel)
    n_remeshed = len(rv)
    rn = vertex_normals(rv, rf)
    seen = visible_counts(rv, rn, cams, pixel_m=1.5 * voxel)
    v, f, _ = _submesh(rv, rf, seen >= cfg.min_views)
    # drop floating specks: keep components with at least 0.5 % of the vertices
    ncomp, comp = connected_components(_adjacency(len(v), f), directed=False)
    sizes = np.bincount(comp, minlength=ncomp)
    v, f, _ = _submesh(v, f, sizes[comp] >= max(200, 0.005 * len(v)))
    # class and base colour from the nearest source triangle
    _, _, fi = SurfaceQuery(sv, sf, k=2).nearest(v, exact_within=2 * voxel)
    cls = sclass[fi]
    colors = scolor[fi].astype(np.float32)
    # surface noise along the normal, stronger on hair, then Laplacian smoothing
    n = vertex_normals(v, f)
    amp = rng.uniform(*cfg.noise_mm) * 1e-3
    gain = np.where(np.isin(cls, [CLASS_IDS["hair"], CLASS_IDS["facial_hair"]]), rng.uniform(*cfg.hair_noise_gain),
                    1.0)
    disp = amp * gain * _noise_field(v, rng) + rng.normal(0, amp * 0.4, len(v))
    v = v + disp[:, None] * n
    a = _adjacency(len(v), f)
    deg = np.asarray(a.sum(1)).ravel()
    lam = 0.5
    for _ in range(cfg.smooth_iterations):
        v = v + lam * ((a @ v) / np.maximum(deg, 1)[:, None] - v)
    colors = np.clip(colors * (1 + rng.normal(0, 0.03, (len(v), 1))), 0, 1).astype(np.float32)
    info = {"voxel_mm": round(voxel * 1000, 3), "source_area_m2": round(area, 4), "remeshed_vertices": n_remeshed,
            "vertices": int(len(v)), "faces": int(len(f)), "noise_mm": round(amp * 1000, 3),
            "min_views": cfg.min_views}
    return Scan(v, f, colors, cls.astype(np.uint8), info)
