"""The view landmarks' confidence (core/pipelines/landmarks_confidence.py): a predicted error on one scale for
every point type, and on FaceKit heads the least-confident tenth of the points is the worse-placed one (a
constant or a random confidence fails the same check)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from face_addon.core.facekit import ensure_facekit, load_facekit
from face_addon.core.pipelines import landmarks_confidence as lc
from face_addon.core.pipelines.detect_landmarks import detect_landmarks


def test_every_point_has_a_type_with_fitted_coefficients():
    rows = sorted(i for r in lc.GROUPS.values() for i in r)
    assert rows == list(range(68)) and set(lc.COEFFICIENTS) == set(lc.GROUPS)
    assert all(min(c) >= 0 for c in lc.COEFFICIENTS.values())


def test_half_at_the_half_error_and_falling_with_either_sign():
    zero = np.zeros(68)
    base = lc.predicted_error_mm(zero, zero)
    assert np.all(np.diff(lc.confidence(np.array([0.0, 2.0, 8.0])[:, None] * np.ones(68), zero, np.full(68, 9)),
                          axis=0) <= 0)
    assert np.all(np.diff([lc.confidence(zero, np.full(68, g), np.full(68, 9)) for g in (0, 3, 12)], axis=0) <= 0)
    table = {name: (lc.HALF_MM ** 2, 0.0, 0.0) for name in lc.GROUPS}
    assert lc.confidence(zero, zero, np.full(68, np.inf), table) == pytest.approx(np.full(68, 0.5))
    few = lc.confidence(zero, zero, np.full(68, 1.0))  # one view: a third of the confidence
    assert few == pytest.approx(lc.confidence(zero, zero, np.full(68, 3.0)) / 3)
    assert (lc.confidence(np.full(68, np.inf), zero, np.full(68, 9)) == 0).all()  # no view placed it
    assert np.isfinite(base).all()


def ranks_errors(conf: np.ndarray, err: np.ndarray) -> bool:
    """The issue's check, made strict: the least-confident tenth errs clearly more than the rest (x 1.3) and
    the confidence is rank-correlated with the error (Spearman < -0.2)."""
    low = conf <= np.quantile(conf, 0.1)
    if low.all():
        return False  # a constant confidence singles nothing out
    return err[low].mean() > 1.3 * err[~low].mean() and spearmanr(conf, err).correlation < -0.2


@pytest.fixture(scope="module")
def readings() -> tuple[np.ndarray, np.ndarray]:
    """(confidence, error mm) of all 68 points of the view landmarks on two FaceKit heads (prior identities, mm),
    against the heads' own landmarks."""
    fk = load_facekit(ensure_facekit())
    sub = fk.subdivided()
    confs, errs = [], []
    for seed in (3, 8):
        a_id, _ = fk.sample_prior(np.random.default_rng(seed), 1)
        r = detect_landmarks(sub.evaluate(a_id[0]) * 1000.0, sub.faces)
        confs.append(r.confidence)
        errs.append(np.linalg.norm(r.landmarks - fk.landmarks(fk.evaluate(a_id[0])) * 1000.0, axis=1))
    return np.concatenate(confs), np.concatenate(errs)


def test_least_confident_points_are_the_worse_placed(readings):
    conf, err = readings
    assert ranks_errors(conf, err), (np.sort(err[conf <= np.quantile(conf, 0.1)]), err.mean())
    assert not ranks_errors(np.full_like(conf, 0.7), err)
    assert not ranks_errors(np.random.default_rng(0).random(len(conf)), err)
