"""FaceKit fitted to a scan around the view landmarks (core/pipelines/landmarks_contour.py): on a FaceKit-built
head turned into millimetres the fitted contour lies on the surface and follows the head's own jaw (better than
FaceKit's mean jaw placed by the inner points would), a crop without the jaw gets low confidence there
(`landmarks_confidence` on the fit's residual and snap distances), and a wild landmark with confidence 0 does not
pull the fit."""
from __future__ import annotations

import numpy as np
import pytest

from face_addon.core.facekit import ensure_facekit, load_facekit
from face_addon.core.geometry.similarity import rotation_vector, umeyama
from face_addon.core.geometry.surface_distance import point_mesh_distance
from face_addon.core.pipelines.face_orientation import FaceFrame
from face_addon.core.pipelines.landmarks_confidence import confidence
from face_addon.core.pipelines.landmarks_contour import CONTOUR, fit_head
from face_addon.core.pipelines.register_head import default_facekit
from face_addon.core.registration.fit_model import fit_model
from face_addon.core.registration.icp import initial_pose

ROTATION = rotation_vector(np.array([0.4, -1.1, 2.0]))
CENTRE = np.array([12.0, -40.0, 300.0])
SCALE = 1000.0  # millimetres


@pytest.fixture(scope="module")
def scan() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, FaceFrame]:
    """A subdivided FaceKit head with a broad-jawed identity and an open mouth, turned and in mm: (vertices,
    faces, true 68 landmarks, FaceKit's mean landmarks placed by the inner points, frame)."""
    fk = load_facekit(ensure_facekit())
    a_id, a_exp = fk.sample_prior(np.random.default_rng(11), 1)
    a_id, a_exp = a_id[0], a_exp[0] * 0
    for name, value in (("macro-weight", 0.8), ("macro-gender", 1.0)):
        a_id[fk.id_names.index(name)] = value
    a_exp[fk.exp_names.index("jawOpen")] = 0.35
    sub = fk.subdivided()
    place = lambda x: SCALE * x @ ROTATION.T + CENTRE  # noqa: E731
    truth = place(fk.landmarks(fk.evaluate(a_id, a_exp)))
    mean = fk.landmarks(fk.template)
    s, rot, t = umeyama(mean[17:], truth[17:])
    frame = FaceFrame(ROTATION, CENTRE, SCALE, 1.0, 0.0, 1.0)
    return place(sub.evaluate(a_id, a_exp)), sub.faces, truth, s * mean @ rot.T + t, frame


def contour_confidence(head) -> np.ndarray:
    """The reported confidence of the fitted contour's 16 points (0-16 but the chin), as landmarks_views gives it."""
    rows = np.setdiff1d(CONTOUR, [8])
    return confidence(np.full(68, head.residual_mm), head.snap_mm, np.full(68, np.inf))[rows]


def test_contour_lies_on_the_surface_and_follows_the_jaw(scan):
    v, f, truth, mean_placed, frame = scan
    noisy = truth + np.random.default_rng(0).normal(0.0, 1.0, truth.shape)  # detected inner points: ~1.7 mm off
    out = fit_head(v, f, noisy, None, frame)
    assert out.points.shape == (68, 3) and out.raw.shape == (68, 3) and out.snap_mm.shape == (68,)
    _, d, _ = point_mesh_distance(out.points, v, f)
    assert d.max() < 1e-6  # on the scan surface (mm)
    err = np.linalg.norm(out.points[CONTOUR] - truth[CONTOUR], axis=1)
    prior_err = np.linalg.norm(mean_placed[CONTOUR] - truth[CONTOUR], axis=1)
    assert err.mean() < 2.0 and err.max() < 5.0, err  # the head's own jaw, within a couple of mm
    assert err.mean() < 0.3 * prior_err.mean()  # the fit, not FaceKit's mean jaw, decides the contour
    assert (contour_confidence(out) > 0.5).all()


def test_a_landmark_of_confidence_zero_does_not_pull_the_fit(scan):
    v, f, truth, _, frame = scan
    wild = truth.copy()
    wild[40:42] += 45.0 * frame.rotation[:, 2]  # the lower lid read 45 mm above the head (QA: 16-46 mm off)
    conf = np.ones(68)
    conf[40:42] = 0.0
    trusted = fit_head(v, f, wild, conf, frame)
    assert np.linalg.norm(trusted.points[40:42] - truth[40:42], axis=1).max() < 3.0  # the head's own lid
    assert np.linalg.norm(trusted.points[17:] - truth[17:], axis=1).mean() < 1.0
    # the fit's start: the similarity from the landmarks leaves the untrusted ones out
    model = fit_model(default_facekit())
    clean, weighted, plain = (initial_pose(model, x / SCALE, w) for x, w in ((truth, conf), (wild, conf), (wild, None)))
    assert np.allclose(weighted.t, clean.t) and np.linalg.norm(plain.t - clean.t) > 1e-3


def test_crop_without_the_jaw_has_low_confidence_there(scan):
    v, f, truth, _, frame = scan
    up = frame.rotation[:, 2]
    keep = (v - truth[33]) @ up > 0.0  # everything below the subnasale is cut away: no jaw, no chin
    kept = keep[f].all(axis=1)
    index = np.cumsum(keep) - 1
    out = fit_head(v[keep], index[f[kept]], truth, None, frame)
    assert contour_confidence(out)[4:12].max() < 0.2  # the lower jaw (4-7, 9-12) is the prior's guess
    assert np.isfinite(out.points).all()
    assert fit_head(v[:100], np.zeros((0, 3), np.int64), truth, None, frame) is None  # nothing to fit to
