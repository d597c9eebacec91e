"""Pictures of a scan for image models (face detector, face mesh) and the way back from pixels to the surface.

A scan has no photo, so we make one: a z-buffer render (`raster.rasterize`; for the coarse orientation search of
a dense mesh, of a vertex-clustered copy, `coarse_copy`) shaded so a model trained on photos reads it. Shadings (measured on real scans in docs/landmarks.md):

- ``lambert``: one light from the viewer's upper left plus ambient, the look of a studio photo; brings out the
  eye sockets, lids and lips that a head-on light flattens;
- ``normal_z``: |n · view| grey, a head-on light (the first prototype's shading);
- ``mixed``: their mean;
- ``cavity``: ``lambert`` darkened where the surface is concave (mean curvature from the umbrella operator), a
  stand-in for the ambient occlusion that darkens eye corners, nostrils and the mouth line in photos.

Texture (per-corner uv + image) or vertex colours, when the scan has them, are multiplied with the shading
(the texture carries what geometry cannot show: eyebrows, iris, lip colour).

Cameras are `multiview.ViewCamera` (OpenCV pinhole). `back_project` intersects the pixel's ray with the
triangle the z-buffer holds there, so 2D model outputs become surface points at sub-pixel precision.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..color import as_linear
from .camera import intrinsics, look_at_world_to_camera
from .multiview import ViewCamera
from .normals import vertex_normals
from .raster import Raster, rasterize

SHADINGS = ("lambert", "normal_z", "mixed", "cavity")
#: towards the light in camera coordinates (x right, y down, z forward): from the viewer's upper left
LIGHT = np.array([-1.0, -1.0, -1.5]) / np.linalg.norm([-1.0, -1.0, -1.5])
AMBIENT = 0.12
BACKGROUND = 0.0
CAVITY_STRENGTH = 4.0   # darkening per unit of (curvature × mean edge length)


@dataclass
class ScanSurface:
    """What rendering needs of a scan, computed once: vertices, faces, unit vertex normals, optional per-vertex
    colour (n, 3) or per-corner uv (m, 3, 2) + texture (h, w, 3), and the concavity per vertex (cavity)."""

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    concavity: np.ndarray | None = None
    outward: float = 1.0

    @classmethod
    def of(cls, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None = None,
           uv: np.ndarray | None = None, texture: np.ndarray | None = None, cavity: bool = False) -> "ScanSurface":
        v = np.asarray(vertices, np.float64)
        f = np.asarray(faces, np.int64).reshape(-1, 3)
        n = vertex_normals(v, f)
        has_tex = uv is not None and texture is not None and len(uv) == len(f)
        return cls(v, f, n, as_linear(colors),  # PLY bytes too: as floats they wash the face out
                   np.asarray(uv, np.float32) if has_tex else None,
                   np.asarray(texture, np.float32)[..., :3] if has_tex else None,
                   concavity(v, f, n) if cavity else None, outward_sign(v, n))

    @property
    def has_appearance(self) -> bool:
        return self.colors is not None or self.texture is not None


@dataclass
class ScanView:
    """One rendered view: `image` (H, W, 3) float32 in [0, 1], the z-buffer `raster`, `depth` (H, W) camera z
    (inf where empty) and the camera."""

    image: np.ndarray
    depth: np.ndarray
    camera: ViewCamera
    raster: Raster


def outward_sign(vertices: np.ndarray, normals: np.ndarray) -> float:
    """+1 when the normals point mostly away from the centroid (outwards, for a head or a face shell, whose
    centroid lies behind the face), -1 when the file has them inwards (e.g. some Cyberware exports)."""
    return 1.0 if float(((vertices - vertices.mean(0)) * normals).sum()) >= 0 else -1.0


def concavity(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(n,) ≥ 0: how far the mean of a vertex's neighbours lies in front of it along the normal, over the mean
    edge length (umbrella operator; 0 on flat or convex surface). Normal orientation does not matter for the
    picture, so the sign is taken against the local outward guess (normals as given)."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.concatenate([e, e[:, ::-1]])
    n = len(vertices)
    cnt = np.maximum(np.bincount(e[:, 0], minlength=n), 1)
    mean_nb = np.stack([np.bincount(e[:, 0], vertices[e[:, 1], c], minlength=n) for c in range(3)], 1) / cnt[:, None]
    lap = mean_nb - vertices
    edge = np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1)
    h = float(np.median(edge)) if len(edge) else 1.0
    return np.clip((lap * normals).sum(1) / max(h, 1e-300), 0.0, None)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray, focal_px: float, size: int) -> ViewCamera:
    """A square pinhole camera at `eye` looking at `target` with `up` pointing up in the picture."""
    w2c = look_at_world_to_camera(np.asarray(eye, np.float64), target, up)
    return ViewCamera(intrinsics(focal_px, size, size), w2c, size, size)


def _shade(normal_cam: np.ndarray, shading: str) -> np.ndarray:
    """Grey level per pixel from camera-space unit normals already turned towards the camera (n_z ≤ 0)."""
    head_on = np.abs(normal_cam[..., 2])
    lam = AMBIENT + (1 - AMBIENT) * np.clip(normal_cam @ LIGHT, 0.0, 1.0)
    if shading == "normal_z":
        return head_on
    if shading == "mixed":
        return 0.5 * (head_on + lam)
    return lam  # lambert; cavity darkens it afterwards


def _towards_camera(n_world: np.ndarray, cam: ViewCamera) -> np.ndarray:
    """World normals rotated into the camera and flipped to face it (scans come with either orientation)."""
    rot = np.asarray(cam.world_to_camera, np.float64)[:3, :3]
    n = n_world @ rot.T
    return n * np.where(n[..., 2:3] > 0, -1.0, 1.0)


def render(surface: ScanSurface, cam: ViewCamera, shading: str = "lambert", use_appearance: bool = True,
           dark_back: bool = False) -> ScanView:
    """Rasterise the scan into `cam` and shade it (see the module doc). `dark_back` renders surface seen from
    behind (against the outward normals, `outward_sign`) black instead of lit: a face crop seen from behind is
    a hollow mask, which a face detector reads as a (mirrored) face."""
    if shading not in SHADINGS:
        raise ValueError(f"unknown shading {shading!r}: use one of {', '.join(SHADINGS)}")
    uv, z = cam.project(surface.vertices)
    r = rasterize(uv, z, surface.faces, cam.height, cam.width)
    mask = r.mask
    tri = surface.faces[r.tri[mask]]
    w = r.bary[mask]
    n = (surface.normals[tri] * w[:, :, None]).sum(1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    grey = _shade(_towards_camera(n, cam), shading)
    if dark_back:
        view_dir = np.asarray(cam.world_to_camera, np.float64)[2, :3]  # camera forward in world coordinates
        grey = np.where(surface.outward * (n @ view_dir) > 0, 0.0, grey)
    if shading == "cavity" and surface.concavity is not None:
        grey = grey * np.exp(-CAVITY_STRENGTH * (surface.concavity[tri] * w).sum(1))
    img = np.full((cam.height, cam.width, 3), BACKGROUND, np.float32)
    albedo = _albedo(surface, r, mask, tri, w) if use_appearance and surface.has_appearance else None
    img[mask] = (grey[:, None] if albedo is None else albedo * (0.35 + 0.65 * grey[:, None])).astype(np.float32)
    return ScanView(np.clip(img, 0, 1), r.depth, cam, r)


def _albedo(surface: ScanSurface, r: Raster, mask: np.ndarray, tri: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(k, 3) sRGB colour of the covered pixels from the texture (`Mesh.texture` is sRGB-encoded; nearest texel)
    or the vertex colours (linear, encoded here)."""
    if surface.texture is not None:
        uv = (surface.uv[r.tri[mask]] * w[:, :, None]).sum(1)
        h, wd = surface.texture.shape[:2]
        x = np.clip(np.round(uv[:, 0] * (wd - 1)), 0, wd - 1).astype(np.int64)
        y = np.clip(np.round((1 - uv[:, 1]) * (h - 1)), 0, h - 1).astype(np.int64)
        return surface.texture[y, x]
    from ..color import linear_to_srgb

    return linear_to_srgb(np.clip((surface.colors[tri] * w[:, :, None]).sum(1), 0, 1))  # the models saw sRGB photos


def coarse_copy(surface: ScanSurface, cells: int = 100, cell_size: float | None = None) -> ScanSurface:
    """The scan reduced by vertex clustering on a grid of `cells` along its longest side, or of `cell_size`
    (vertices of a cell merge into their mean, vertex colours too; collapsed and repeated triangles are
    dropped): linear time, watertight where the scan is, and as good as the full scan for pictures whose pixels
    are larger than a cell. A texture cannot be clustered: textured scans are returned as they are."""
    v, f = surface.vertices, surface.faces
    lo, hi = v.min(0), v.max(0)
    step = cell_size if cell_size is not None else float((hi - lo).max()) / cells
    cells = int(np.ceil(float((hi - lo).max()) / step)) if step > 0 else 0
    if step <= 0 or surface.texture is not None or cells > 2 ** 20:
        return surface
    key = np.floor((v - lo) / step).astype(np.int64)
    key = (key[:, 0] * (cells + 1) + key[:, 1]) * (cells + 1) + key[:, 2]
    uniq, cell = np.unique(key, return_inverse=True)
    cv = np.stack([np.bincount(cell, v[:, c], minlength=len(uniq)) for c in range(3)], 1)
    cv /= np.bincount(cell, minlength=len(uniq))[:, None]
    cf = cell[f]
    keep = (cf[:, 0] != cf[:, 1]) & (cf[:, 1] != cf[:, 2]) & (cf[:, 0] != cf[:, 2])
    cf = np.unique(cf[keep], axis=0)
    colors = None
    if surface.colors is not None:
        colors = np.stack([np.bincount(cell, surface.colors[:, c], minlength=len(uniq)) for c in range(3)], 1)
        colors = (colors / np.bincount(cell, minlength=len(uniq))[:, None]).astype(np.float32)
    out = ScanSurface.of(cv, cf, colors, cavity=surface.concavity is not None)
    out.outward = surface.outward  # decided on the full scan
    return out


def back_project(view: ScanView, surface: ScanSurface, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Surface points (n, 3) under pixel positions xy (n, 2) and the cosine between the surface normal and the
    viewing ray (n,) (0: grazing or nothing there; NaN points where the pixel is empty). The ray is intersected
    with the plane of the triangle the z-buffer holds at the nearest pixel (sub-pixel exact)."""
    cam = view.camera
    h, w = view.depth.shape
    xy = np.asarray(xy, np.float64)
    ix = np.clip(np.round(xy[:, 0]).astype(np.int64), 0, w - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(np.int64), 0, h - 1)
    inside = (xy[:, 0] > -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] > -0.5) & (xy[:, 1] < h - 0.5)
    k = np.asarray(cam.K, np.float64)
    m = np.asarray(cam.world_to_camera, np.float64)
    rays_c = np.stack([(xy[:, 0] - k[0, 2]) / k[0, 0], (xy[:, 1] - k[1, 2]) / k[1, 1], np.ones(len(xy))], 1)
    origin = cam.center
    rays = rays_c @ m[:3, :3]  # camera -> world directions (not unit: z_cam = 1)
    out = np.full((len(xy), 3), np.nan)
    cos = np.zeros(len(xy))
    tri_id = np.where(inside, view.raster.tri[iy, ix], -1)
    ok = tri_id >= 0
    t = surface.vertices[surface.faces[tri_id[ok]]]
    nrm = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-300)
    denom = (rays[ok] * nrm).sum(1)
    safe = np.abs(denom) > 1e-12
    lam = np.where(safe, ((t[:, 0] - origin) * nrm).sum(1) / np.where(safe, denom, 1.0), view.depth[iy[ok], ix[ok]])
    out[ok] = origin + lam[:, None] * rays[ok]
    cos[ok] = np.abs(denom) / np.linalg.norm(rays[ok], axis=1)
    return out, cos
