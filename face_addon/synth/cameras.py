"""The fixed 13-view capture rig, per-sample jitter, and OpenCV camera parameters. No bpy.

Rig (azimuth 0 = in front of the face, positive towards the subject's left (+x); elevation up; all cameras
at RIG_DISTANCE from RIG_TARGET, 50 mm lens on a 36 mm wide sensor, square images):

    row      elevation   azimuths (deg)
    upper      +30       -50, 0, 50
    middle      +5       -100, -60, -30, 0, 30, 60, 100
    lower      -25       -40, 0, 40

This is a face rig: the back of the head is seen by no camera (as in most photogrammetry booths), so scans
have holes there. Jitter per sample: position +-1 cm, look-at point +-1 cm, roll +-1 deg, focal length +-2 %.

Conventions written to cameras.json: OpenCV, as core/geometry/camera.py states them (x_cam = R·x_world + t,
+y down, +z forward, pixel (0, 0) = centre of the top-left pixel; world = Blender world).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.geometry.camera import (RIG, blender_camera_to_world, intrinsics, look_at_world_to_camera,
                                    opencv_world_to_camera, view_direction)
from ..core.geometry.multiview import ViewCamera

RIG_DISTANCE = 0.75
RIG_TARGET = np.array([0.0, -0.01, -0.03])
LENS_MM, SENSOR_MM = 50.0, 36.0


@dataclass
class Camera:
    """One view: camera-to-world (Blender convention: looks down -Z, +Y up) and pinhole intrinsics."""

    cam_to_world_blender: np.ndarray  # (4, 4)
    lens_mm: float
    width: int
    height: int

    @property
    def K(self) -> np.ndarray:
        return intrinsics(self.lens_mm / SENSOR_MM * self.width, self.width, self.height)

    @property
    def world_to_camera(self) -> np.ndarray:
        """OpenCV extrinsics: flip Blender's camera (+y up, looking -z) to (+y down, looking +z)."""
        return opencv_world_to_camera(self.cam_to_world_blender)

    @property
    def center(self) -> np.ndarray:
        return self.cam_to_world_blender[:3, 3]

    def view(self) -> ViewCamera:
        """This camera as the core's OpenCV pinhole."""
        return ViewCamera(self.K, self.world_to_camera, self.width, self.height)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pixel coordinates (n, 2) OpenCV, depth (n,)) of world points: the core pinhole's projection."""
        return self.view().project(points)

    def to_json(self) -> dict:
        """The cameras.json entry (core `ViewCamera.to_json`: K, world_to_camera, width, height)."""
        return self.view().to_json()


def look_at(eye: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """Blender camera-to-world matrix looking from eye at target with world +Z up, rolled about the view axis."""
    m = blender_camera_to_world(look_at_world_to_camera(eye, target))
    c, s = np.cos(np.deg2rad(roll_deg)), np.sin(np.deg2rad(roll_deg))
    m[:3, :2] = m[:3, :2] @ np.array([[c, -s], [s, c]])  # right, up turned about the view axis
    return m


def photo_cameras(resolution: int, rng: np.random.Generator, n_views: int = 1) -> list[Camera]:
    """Portrait-photo viewpoints (the photo profile): azimuth +-40 deg, elevation -15..+20 deg, roll +-10 deg,
    35-85 mm lenses at a distance that makes the head fill 35-70 % of the frame, off-centre by up to 12 %."""
    cams = []
    for _ in range(n_views):
        d = view_direction(rng.uniform(-15, 20), rng.uniform(-40, 40))
        lens = rng.uniform(35, 85)
        fill = rng.uniform(0.35, 0.7)  # head height (~0.25 m) as a fraction of the frame
        dist = 0.25 / fill * lens / SENSOR_MM
        face_centre = RIG_TARGET + np.array([0.0, -0.04, 0.0])
        eye = face_centre + d * dist
        # aim beside the face so it lands off-centre in the frame
        side = np.cross(d, [0, 0, 1.0])
        side /= np.linalg.norm(side)
        shift = rng.uniform(-0.12, 0.12, 2) * dist * SENSOR_MM / lens
        target = face_centre + side * shift[0] + np.array([0, 0, 1.0]) * shift[1]
        cams.append(Camera(look_at(eye, target, rng.uniform(-10, 10)), lens, resolution, resolution))
    return cams


def rig_cameras(resolution: int, rng: np.random.Generator | None = None, n_views: int = 13) -> list[Camera]:
    """The rig's first n_views cameras (all 13 by default), jittered with `rng` when given."""
    cams = []
    for elev, az in RIG[:n_views]:
        eye = RIG_TARGET + view_direction(elev, az) * RIG_DISTANCE
        target = RIG_TARGET.copy()
        roll, lens = 0.0, LENS_MM
        if rng is not None:
            eye = eye + rng.uniform(-0.01, 0.01, 3)
            target = target + rng.uniform(-0.01, 0.01, 3)
            roll = rng.uniform(-1, 1)
            lens = LENS_MM * rng.uniform(0.98, 1.02)
        cams.append(Camera(look_at(eye, target, roll), lens, resolution, resolution))
    return cams
