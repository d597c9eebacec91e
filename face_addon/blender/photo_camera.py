"""An OpenCV pinhole camera (K, R, t, W×H) as a Blender camera object, and back to photo pixels.

Conventions (`core.geometry.camera`): model space = Blender object/world space (metres, +Z up); the OpenCV
camera has +x right, +y down, +z forward, x_cam = R·x + t; pixel centres are integers, (0, 0) is the centre
of the top-left pixel. A Blender camera looks along its local −Z with +Y up, so its local axes are the
OpenCV ones times diag(1, −1, −1):

    cam_to_world = [Rᵀ | −Rᵀt] · diag(1, −1, −1, 1)

Intrinsics: the sensor is fitted to the photo's larger side (`sensor_fit` HORIZONTAL for landscape/square,
VERTICAL for portrait, both sensor sizes 36 mm), so lens = f_px / max(W, H) · 36 mm. Blender's shift is in
units of that same side and moves the *view*: a principal point right of the image centre (W/2 − 0.5 in
OpenCV pixels) needs a negative shift_x; one below the centre (OpenCV y down) a positive shift_y. The mapping
only holds when the scene's render resolution is W×H (pixel aspect 1), which the operator sets on request.

Only the conversion lives here; the reconstruction itself is `core.pipelines.reconstruct_photo`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.geometry.camera import blender_camera_to_world, opencv_world_to_camera

SENSOR_MM = 36.0


@dataclass(frozen=True)
class BlenderCamera:
    """What a Blender camera needs to reproduce an OpenCV camera."""

    matrix_world: np.ndarray  # (4, 4) camera -> world
    lens: float  # mm
    sensor_fit: str  # 'HORIZONTAL' | 'VERTICAL'
    sensor_size: float  # mm, used for sensor_width and sensor_height
    shift_x: float
    shift_y: float
    width: int
    height: int


def blender_camera(rotation: np.ndarray, translation: np.ndarray, K: np.ndarray, width: int, height: int,
                   sensor: float = SENSOR_MM) -> BlenderCamera:
    """The Blender camera of an OpenCV camera x_cam = R·x_world + t with intrinsics K for a W×H photo."""
    R = np.asarray(rotation, np.float64)
    t = np.asarray(translation, np.float64)
    K = np.asarray(K, np.float64)
    if abs(K[0, 0] - K[1, 1]) > 1e-6 * K[0, 0] or abs(K[0, 1]) > 1e-9:
        raise ValueError("only square pixels without skew are supported (fx == fy, K[0, 1] == 0)")
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = R, t
    side = float(max(width, height))
    return BlenderCamera(
        matrix_world=blender_camera_to_world(w2c), lens=float(K[0, 0] / side * sensor),
        sensor_fit="HORIZONTAL" if width >= height else "VERTICAL", sensor_size=sensor,
        shift_x=float(-(K[0, 2] - (width / 2 - 0.5)) / side), shift_y=float((K[1, 2] - (height / 2 - 0.5)) / side),
        width=int(width), height=int(height))


def opencv_camera(cam: BlenderCamera) -> tuple[np.ndarray, np.ndarray]:
    """(K (3, 3), world→camera (4, 4)) of a Blender camera: the inverse of `blender_camera`."""
    side = float(max(cam.width, cam.height) if cam.sensor_fit == "AUTO" else
                 (cam.width if cam.sensor_fit == "HORIZONTAL" else cam.height))
    f = cam.lens / cam.sensor_size * side
    cx = cam.width / 2 - 0.5 - cam.shift_x * side
    cy = cam.height / 2 - 0.5 + cam.shift_y * side
    c2w = np.array(cam.matrix_world, np.float64)
    c2w[:3, :3] /= np.linalg.norm(c2w[:3, :3], axis=0)  # drop any object scale
    return np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]]), opencv_world_to_camera(c2w)


def read_camera(cam_obj, width: int, height: int) -> BlenderCamera:
    """A Blender camera object as seen by an image of width × height."""
    d = cam_obj.data
    return BlenderCamera(matrix_world=np.array(cam_obj.matrix_world), lens=float(d.lens), sensor_fit=d.sensor_fit,
                         sensor_size=float(d.sensor_width if d.sensor_fit != "VERTICAL" else d.sensor_height),
                         shift_x=float(d.shift_x), shift_y=float(d.shift_y), width=int(width), height=int(height))


def apply_camera(cam_obj, cam: BlenderCamera) -> None:
    """Set a Blender camera object's world matrix (it must have no parent) and its camera data."""
    from mathutils import Matrix

    cam_obj.matrix_world = Matrix(cam.matrix_world.tolist())
    data = cam_obj.data
    data.type = "PERSP"
    data.sensor_fit = cam.sensor_fit
    data.sensor_width = data.sensor_height = cam.sensor_size
    data.lens_unit = "MILLIMETERS"
    data.lens = cam.lens
    data.shift_x, data.shift_y = cam.shift_x, cam.shift_y
    data.clip_start = 0.01  # metres: a face is ~0.3–1 m from a portrait camera


def project(points: np.ndarray, rotation: np.ndarray, translation: np.ndarray, K: np.ndarray) -> np.ndarray:
    """World points (n, 3) -> OpenCV photo pixels (n, 2) and depths (n,), as (n, 3) [u, v, z]."""
    pc = np.asarray(points, np.float64) @ np.asarray(rotation, np.float64).T + np.asarray(translation, np.float64)
    uv = pc @ np.asarray(K, np.float64).T
    return np.concatenate([uv[:, :2] / uv[:, 2:3], pc[:, 2:3]], axis=1)


def pixels_to_uv(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """OpenCV pixel coordinates (n, 2) -> Blender UV (n, 2): (0, 0) bottom-left corner, (1, 1) top-right."""
    p = np.asarray(pixels, np.float64)
    return np.stack([(p[:, 0] + 0.5) / width, 1.0 - (p[:, 1] + 0.5) / height], axis=1)


def uv_to_pixels(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of `pixels_to_uv` (also turns `world_to_camera_view`'s (x, y) into OpenCV pixels)."""
    q = np.asarray(uv, np.float64)
    return np.stack([q[:, 0] * width - 0.5, (1.0 - q[:, 1]) * height - 0.5], axis=1)
