"""MediaPipe 468 -> iBUG 68 map: shape handling, affine equivariance, and that it lands on the right face parts."""
from __future__ import annotations

import numpy as np
import pytest

from face_addon.core.ibug68 import MIRROR
from face_addon.core.photo.ibug_map import (
    TABLE, WEIGHTS_FILES, check_weights, load_weights, mediapipe_to_ibug68, table_weights)

SHIPPED = [load_weights(mesh_model=m) for m in WEIGHTS_FILES]
SHIPPED_IDS = [f"shipped_{m}" for m in WEIGHTS_FILES]


def test_table_is_68_distinct_mediapipe_points():
    assert len(TABLE) == 68 and len(set(TABLE)) == 68 and max(TABLE) < 468


@pytest.mark.parametrize("weights", [table_weights(), *SHIPPED], ids=["table", *SHIPPED_IDS])
def test_rows_sum_to_one_and_map_any_dimension(weights):
    check_weights(weights)
    rng = np.random.default_rng(0)
    for shape in [(468, 2), (468, 3), (5, 468, 3), (2, 4, 468, 1)]:
        pts = rng.normal(size=shape)
        out = mediapipe_to_ibug68(pts, weights)
        assert out.shape == shape[:-2] + (68, shape[-1])
    pts = rng.normal(size=(468, 2))
    np.testing.assert_allclose(mediapipe_to_ibug68(pts, table_weights()), pts[list(TABLE)])


def test_affine_equivariant():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(468, 3))
    a, t = rng.normal(size=(3, 3)), rng.normal(size=3)
    w = load_weights()
    np.testing.assert_allclose(mediapipe_to_ibug68(pts @ a.T + t, w), mediapipe_to_ibug68(pts, w) @ a.T + t,
                               atol=1e-9)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        mediapipe_to_ibug68(np.zeros((68, 2)))
    with pytest.raises(ValueError, match="face mesh model"):
        load_weights(mesh_model="iris")
    with pytest.raises(ValueError):
        check_weights(np.full((68, 468), 1.0))


@pytest.mark.parametrize("weights", [table_weights(), *SHIPPED], ids=["table", *SHIPPED_IDS])
def test_on_facekit_the_map_lands_on_its_parts(weights):
    """The 468 points embedded on FaceKit's template, mapped: subject's right (-X) before its mirror, eyes above
    the nose tip above the mouth, and the inner 51 points near FaceKit's own landmarks."""
    from face_addon.core.photo.facekit_photo import load_photo_facekit

    pfk = load_photo_facekit()
    if not pfk.embedding:
        pytest.skip("no MediaPipe embedding shipped")
    lm = mediapipe_to_ibug68(pfk.embedded_points(pfk.fk.template), weights)
    right = [*range(0, 8), *range(17, 22), 31, 32, *range(36, 42), 48, 49, 50, 58, 59, 60, 61, 67]
    assert (lm[right, 0] < lm[MIRROR[right], 0]).all()
    assert lm[36:48, 2].min() > lm[30, 2] > lm[48:68, 2].max() > lm[8, 2]
    err_mm = np.linalg.norm(lm[17:] - pfk.fk.landmarks(pfk.fk.template)[17:], axis=1) * 1000
    assert np.median(err_mm) < 10.0


def test_each_mesh_model_has_its_own_map_and_the_scans_keep_the_plain_one():
    """The attention model redraws lips and eyes, so its map differs there (calibrated on its own points); the
    points London does not annotate keep the index table in both; a call without a model gets the plain mesh's
    map (what the scan pipelines read)."""
    import json

    from face_addon.core.models import MODELS_DIR, available

    if not available(WEIGHTS_FILES["attention"]):
        pytest.skip("no attention map shipped")
    mesh, attention = (load_weights(mesh_model=m) for m in ("mesh", "attention"))
    assert np.array_equal(load_weights(), mesh)
    card = json.loads((MODELS_DIR / "ibug_map_attention.json").read_text())
    calibrated = np.array(card["calibrated_points"])
    assert card["face_mesh_model"] == "attention"
    uncovered = np.setdiff1d(np.arange(68), calibrated)
    np.testing.assert_array_equal(attention[uncovered], table_weights()[uncovered])
    lips_eyes = calibrated[calibrated >= 36]
    assert np.abs(attention[lips_eyes] - mesh[lips_eyes]).sum(1).min() > 0.0
