"""core.geometry.camera (the shared pinhole conventions) and core.geometry.similarity (the one Umeyama)."""
from __future__ import annotations

import numpy as np
import pytest

from face_addon.core.geometry.camera import (
    RIG, blender_camera_to_world, intrinsics, look_at_world_to_camera, opencv_world_to_camera, view_direction)
from face_addon.core.geometry.similarity import rotation_vector, umeyama


def test_intrinsics_put_the_principal_point_at_the_image_centre():
    k = intrinsics(100.0, 64, 48)
    # the corners' pixel centres are (0, 0) and (63, 47): the centre lies half-way between them
    assert k[0, 2] == pytest.approx(31.5) and k[1, 2] == pytest.approx(23.5)
    assert k[0, 0] == k[1, 1] == 100.0 and k[0, 1] == 0.0


def test_look_at_sees_the_target_ahead_with_up_above():
    eye, target = np.array([0.3, -0.8, 0.2]), np.array([0.0, 0.0, 0.1])
    m = look_at_world_to_camera(eye, target)
    assert np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3)) and np.linalg.det(m[:3, :3]) == pytest.approx(1.0)
    t_cam = m[:3, :3] @ target + m[:3, 3]
    assert np.allclose(t_cam[:2], 0.0) and t_cam[2] == pytest.approx(np.linalg.norm(target - eye))
    above = m[:3, :3] @ (target + [0, 0, 0.1]) + m[:3, 3]
    assert above[1] < 0  # OpenCV +y is down: a point above the target is above the image centre


def test_blender_and_opencv_camera_matrices_are_inverse_and_flip_two_axes():
    w2c = look_at_world_to_camera(np.array([0.5, -0.6, 0.3]), np.zeros(3))
    c2w = blender_camera_to_world(w2c)
    assert np.allclose(opencv_world_to_camera(c2w), w2c)
    assert np.allclose(c2w[:3, 3], [0.5, -0.6, 0.3])  # the camera sits at the eye
    view = -c2w[:3, 2]  # a Blender camera looks along its local -Z
    assert np.allclose(view, w2c[2, :3])  # ... which is OpenCV's +z (forward)
    assert np.allclose(c2w[:3, 1], -w2c[1, :3])  # Blender +Y up = OpenCV -y


def test_rig_directions_are_units_around_the_face():
    d = np.array([view_direction(e, a) for e, a in RIG])
    assert len(RIG) == 13 and np.allclose(np.linalg.norm(d, axis=1), 1.0)
    az = np.array([a for _, a in RIG])
    assert np.array_equal(np.sign(d[:, 0]), np.sign(az))  # positive azimuth: towards the subject's left (+x)
    assert np.allclose(view_direction(0, 0), [0, -1, 0]) and view_direction(0, 90)[0] == pytest.approx(1.0)


def test_umeyama_weights_select_the_points_that_count():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(30, 3))
    rot = rotation_vector(np.array([0.3, -0.2, 0.5]))
    dst = 1.7 * src @ rot.T + [0.1, 0.2, -0.3]
    s, r, t = umeyama(src, dst, np.ones(30))  # equal weights: the unweighted solution
    assert s == pytest.approx(1.7) and np.allclose(r, rot) and np.allclose(t, [0.1, 0.2, -0.3])
    outliers = dst.copy()
    outliers[:5] += 10.0
    w = np.r_[np.zeros(5), np.ones(25)]
    s, r, t = umeyama(src, outliers, w)
    assert s == pytest.approx(1.7) and np.allclose(r, rot)
    s, _, t = umeyama(np.zeros((4, 3)), dst[:4])  # all points in one place: no scale, no NaN
    assert s == 0.0 and np.allclose(t, dst[:4].mean(0))
