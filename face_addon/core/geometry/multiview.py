"""Multi-view lifting of per-pixel features onto a mesh (Pixels2Points §2.1, fusion as in TEMPEH).

Each vertex is projected into every view, the view's feature map is sampled bilinearly at the projection, and
the samples are fused with normalised per-view weights w_n: mean μ̄ = Σ w_n f_n and variance
σ̄² = Σ w_n (f_n − μ̄)². "Visibility-aware" weights are 1/(number of views that see the vertex) where a z-buffer
of the mesh says the vertex is not occluded, 0 elsewhere; the plain variant (the paper's μ, σ² ablation rows)
weights every view the vertex projects into equally, occluded or not.

Cameras are OpenCV pinholes (x_cam = R·x + t, +y down, +z forward; pixel (0, 0) = centre of the top-left
pixel), the convention of the dataset's cameras.json. The default rig (`scan_rig`) is the dataset's 13-view
face rig placed around any scan: it assumes Blender's orientation (+Z up, the face looking along −Y), so
scans imported in another orientation must be rotated first (the docs say so).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .camera import RIG, RIG_FOCAL, intrinsics, look_at_world_to_camera, view_direction
from .raster import rasterize

#: relative depth slack of the visibility test (≈ 5 mm at the rig's distance)
VISIBILITY_TOLERANCE = 0.006


@dataclass
class ViewCamera:
    """One view: intrinsics K (3, 3), OpenCV world→camera (4, 4), image size."""

    K: np.ndarray
    world_to_camera: np.ndarray
    width: int
    height: int

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pixel coordinates (n, 2), depth (n,)) of world points (n, 3)."""
        m = np.asarray(self.world_to_camera, np.float64)
        pc = np.asarray(points, np.float64) @ m[:3, :3].T + m[:3, 3]
        z = pc[:, 2]
        zs = np.where(np.abs(z) > 1e-12, z, 1e-12)
        k = np.asarray(self.K, np.float64)
        uv = np.stack([k[0, 0] * pc[:, 0] / zs + k[0, 1] * pc[:, 1] / zs + k[0, 2], k[1, 1] * pc[:, 1] / zs + k[1, 2]], 1)
        return uv, z

    @property
    def center(self) -> np.ndarray:
        m = np.asarray(self.world_to_camera, np.float64)
        return -m[:3, :3].T @ m[:3, 3]

    def resized(self, width: int, height: int) -> "ViewCamera":
        """The same camera for an image resampled to width × height (pixel centres stay consistent)."""
        sx, sy = width / self.width, height / self.height
        k = np.asarray(self.K, np.float64).copy()
        k[0, 0] *= sx
        k[0, 1] *= sx
        k[0, 2] = (k[0, 2] + 0.5) * sx - 0.5
        k[1, 1] *= sy
        k[1, 2] = (k[1, 2] + 0.5) * sy - 0.5
        return ViewCamera(k, np.asarray(self.world_to_camera, np.float64), int(width), int(height))

    def to_json(self) -> dict:
        return {"K": np.asarray(self.K).tolist(), "world_to_camera": np.asarray(self.world_to_camera).tolist(),
                "width": int(self.width), "height": int(self.height)}

    @classmethod
    def from_json(cls, d: dict) -> "ViewCamera":
        k, m = np.asarray(d["K"], np.float64), np.asarray(d["world_to_camera"], np.float64)
        if k.shape != (3, 3) or m.shape != (4, 4) or not (np.isfinite(k).all() and np.isfinite(m).all()):
            raise ValueError("a camera needs a finite 3×3 'K' and 4×4 'world_to_camera'")
        return cls(k, m, int(d["width"]), int(d["height"]))


def read_cameras_json(path: Path | str) -> list[ViewCamera]:
    """Cameras from a dataset-style cameras.json ({"views": [{K, world_to_camera, width, height}, ...]})."""
    try:
        data = json.loads(Path(path).read_text())
        return [ViewCamera.from_json(v) for v in data["views"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a readable cameras.json ({exc})") from None


def scan_rig(vertices: np.ndarray, resolution: int = 160, margin: float = 1.05) -> list[ViewCamera]:
    """The 13-view rig around a scan: aimed at the centre of its bounding box, at the distance where a sphere
    of half the box's largest side (× margin) just fits the square image (the box's corners, usually
    shoulders or hair ends, may be cut; the face then covers more pixels)."""
    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(0), v.max(0)
    centre = (lo + hi) / 2
    radius = float((hi - lo).max()) / 2 * margin
    half_fov = np.arctan(0.5 / RIG_FOCAL)
    dist = radius / np.sin(half_fov)
    k = intrinsics(RIG_FOCAL * resolution, resolution, resolution)
    return [ViewCamera(k.copy(), look_at_world_to_camera(centre + view_direction(*ev) * dist, centre), resolution,
                       resolution) for ev in RIG]


def visibility(vertices: np.ndarray, faces: np.ndarray, cam: ViewCamera,
               tolerance: float = VISIBILITY_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """(pixel coordinates (n, 2), visible (n,) bool): inside the image and not behind the z-buffer of `faces`.
    Point clouds (no faces) count every vertex in front of the camera and inside the image as visible."""
    uv, z = cam.project(vertices)
    inside = (z > 0) & (uv[:, 0] >= -0.5) & (uv[:, 0] <= cam.width - 0.5) & (uv[:, 1] >= -0.5) & \
             (uv[:, 1] <= cam.height - 0.5)
    if faces is None or len(faces) == 0:
        return uv, inside
    r = rasterize(uv, z, faces, cam.height, cam.width)
    iu = np.clip(np.round(uv[:, 0]).astype(np.int64), 0, cam.width - 1)
    iv = np.clip(np.round(uv[:, 1]).astype(np.int64), 0, cam.height - 1)
    surf = r.depth[iv, iu]
    # at sub-pixel triangle sizes the z-buffer can have a gap at a vertex's own pixel: use its 3×3 neighbourhood
    gap = ~np.isfinite(surf)
    for du in (-1, 0, 1):
        for dv in (-1, 0, 1):
            surf[gap] = np.minimum(surf[gap], r.depth[np.clip(iv[gap] + dv, 0, cam.height - 1),
                                                      np.clip(iu[gap] + du, 0, cam.width - 1)])
    # slack: the relative tolerance, or 1.5 pixel footprints (a sloped surface changes depth within a pixel)
    slack = np.maximum(tolerance * z, 1.5 * np.abs(z) / float(cam.K[0, 0]))
    return uv, inside & (z <= surf + slack)


def sample_bilinear(feature_map: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(n, C) samples of a (C, H, W) map at pixel coordinates uv (n, 2), clamped at the border."""
    c, h, w = feature_map.shape
    x = np.clip(uv[:, 0], 0, w - 1)
    y = np.clip(uv[:, 1], 0, h - 1)
    x0 = np.clip(np.floor(x).astype(np.int64), 0, max(w - 2, 0))
    y0 = np.clip(np.floor(y).astype(np.int64), 0, max(h - 2, 0))
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    f = feature_map
    top = f[:, y0, x0].T * (1 - fx) + f[:, y0, x1].T * fx
    bottom = f[:, y1, x0].T * (1 - fx) + f[:, y1, x1].T * fx
    return top * (1 - fy) + bottom * fy


@dataclass
class Lifted:
    """Fused per-vertex features: mean (n, C), variance (n, C), number of views used per vertex (n,)."""

    mean: np.ndarray
    var: np.ndarray
    n_views: np.ndarray


def lift_features(vertices: np.ndarray, faces: np.ndarray | None, feature_maps: list[np.ndarray],
                  cameras: list[ViewCamera], visibility_aware: bool = True,
                  tolerance: float = VISIBILITY_TOLERANCE) -> Lifted:
    """Fuse per-view feature maps (each (C, H, W), in the camera's pixel grid) onto the vertices.
    Vertices no view sees get mean 0 and variance 0."""
    if len(feature_maps) != len(cameras):
        raise ValueError(f"{len(feature_maps)} feature maps for {len(cameras)} cameras")
    v = np.asarray(vertices, np.float64)
    c = feature_maps[0].shape[0]
    s1 = np.zeros((len(v), c))
    s2 = np.zeros((len(v), c))
    count = np.zeros(len(v))
    for fmap, cam in zip(feature_maps, cameras):
        if fmap.shape[1:] != (cam.height, cam.width):
            raise ValueError(f"feature map {fmap.shape[1:]} does not match its camera ({cam.height}, {cam.width})")
        uv, vis = visibility(v, faces if visibility_aware else None, cam, tolerance)
        idx = np.flatnonzero(vis)
        f = sample_bilinear(np.asarray(fmap, np.float64), uv[idx])
        s1[idx] += f
        s2[idx] += f * f
        count[idx] += 1
    seen = count > 0
    mean = np.zeros_like(s1)
    var = np.zeros_like(s2)
    mean[seen] = s1[seen] / count[seen, None]
    var[seen] = np.maximum(s2[seen] / count[seen, None] - mean[seen] ** 2, 0.0)
    return Lifted(mean.astype(np.float32), var.astype(np.float32), count.astype(np.int32))


def label_image(vertices: np.ndarray, faces: np.ndarray, vertex_labels: np.ndarray, cam: ViewCamera,
                background: int = 0) -> np.ndarray:
    """(H, W) per-pixel label of the visible surface: the label of the hit triangle's nearest corner
    (training targets for the image encoder, aligned with renders through the same camera)."""
    uv, z = cam.project(vertices)
    r = rasterize(uv, z, np.asarray(faces, np.int64), cam.height, cam.width)
    out = np.full((cam.height, cam.width), background, np.asarray(vertex_labels).dtype)
    hit = r.tri >= 0
    corner = np.asarray(faces)[r.tri[hit], np.argmax(r.bary[hit], axis=1)]
    out[hit] = np.asarray(vertex_labels)[corner]
    return out
