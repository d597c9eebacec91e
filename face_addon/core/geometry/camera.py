"""Pinhole cameras: the one statement of the conventions every part of the add-on shares, and the few
constructions built on them (intrinsics, look-at, the Blender camera axes, the 13-view face rig).

OpenCV convention (cameras.json, the photo fit, the renderers): x_cam = R·x_world + t as a 4×4 world→camera
matrix; camera +x right, +y down, +z forward; pixel (u, v) = (fx·x/z + cx, fy·y/z + cy) with (0, 0) the centre of
the top-left pixel, so the image centre of a W×H image is (W/2 − 0.5, H/2 − 0.5). World = Blender world
(metres, +Z up, a face looks along −Y). A Blender camera looks along its local −Z with +Y up: its local axes
are the OpenCV ones times diag(1, −1, −1) (`CV_TO_BLENDER_CAMERA`, its own inverse).
"""
from __future__ import annotations

import numpy as np

#: OpenCV camera axes -> Blender camera axes (and back: it is its own inverse)
CV_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])
#: the 13-view face rig as (elevation, azimuth) in degrees: azimuth 0 in front of the face, positive towards
#: the subject's left (+x); rows at +30, +5 and −25 degrees (synth/cameras.py describes the capture booth)
RIG = [(30, a) for a in (-50, 0, 50)] + [(5, a) for a in (-100, -60, -30, 0, 30, 60, 100)] + \
      [(-25, a) for a in (-40, 0, 40)]
#: the rig's focal length in units of the image width (a 50 mm lens on a 36 mm sensor)
RIG_FOCAL = 50.0 / 36.0


def intrinsics(focal_px: float, width: int, height: int) -> np.ndarray:
    """K (3, 3) of square pixels with the principal point at the image centre."""
    return np.array([[focal_px, 0, width / 2 - 0.5], [0, focal_px, height / 2 - 0.5], [0, 0, 1.0]])


def view_direction(elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Unit vector from a face (looking along −Y, +Z up) towards a camera at that elevation and azimuth."""
    e, a = np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)
    return np.array([np.sin(a) * np.cos(e), -np.cos(a) * np.cos(e), np.sin(e)])


def look_at_world_to_camera(eye: np.ndarray, target: np.ndarray, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """OpenCV world→camera matrix of a camera at `eye` looking at `target` with `up` (default world +Z) up."""
    fwd = np.asarray(target, np.float64) - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, np.asarray(up, np.float64))
    right /= max(np.linalg.norm(right), 1e-12)
    down = np.cross(fwd, right)
    r = np.stack([right, down, fwd])
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = -r @ eye
    return m


def blender_camera_to_world(world_to_camera: np.ndarray) -> np.ndarray:
    """The Blender camera object's matrix (camera→world, looking along −Z) of an OpenCV world→camera matrix
    (rotation and translation only)."""
    w2c = np.asarray(world_to_camera, np.float64)
    m = np.eye(4)
    m[:3, :3] = w2c[:3, :3].T @ CV_TO_BLENDER_CAMERA
    m[:3, 3] = -w2c[:3, :3].T @ w2c[:3, 3]
    return m


def opencv_world_to_camera(camera_to_world: np.ndarray) -> np.ndarray:
    """The OpenCV world→camera matrix of a Blender camera's matrix (rotation and translation; the inverse of
    `blender_camera_to_world`)."""
    c2w = np.asarray(camera_to_world, np.float64)
    r = (c2w[:3, :3] @ CV_TO_BLENDER_CAMERA).T
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = -r @ c2w[:3, 3]
    return m
