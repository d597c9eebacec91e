"""Learned per-point offsets of the view landmarks (core/pipelines/landmarks_offsets.py)."""
import numpy as np
import pytest

from face_addon.core.geometry.surface_distance import SurfaceQuery
from face_addon.core.pipelines import landmarks_offsets as lo
from face_addon.core.pipelines.face_orientation import FaceFrame

#: a face frame turned 90° about +Z, in millimetres, away from the origin
ROTATION = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
FRAME = FaceFrame(ROTATION, np.array([10.0, 20.0, 30.0]), 1000.0, 1.0, 0.0, 1.0)


def plane(z: float = 30.0, half: float = 200.0) -> SurfaceQuery:
    """Two triangles: the plane z = `z` of the scan, |x|, |y| <= half."""
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    return SurfaceQuery(v, np.array([[0, 1, 2], [0, 2, 3]]))


def test_apply_turns_and_scales_the_offset_into_the_scan_and_snaps():
    rows = np.zeros(68, bool)
    rows[40] = True
    offsets = np.zeros((68, 3))
    offsets[40] = [0.002, 0.0, 0.001]  # 2 mm along the face frame's x, 1 mm up (off the plane)
    offsets[41] = [0.005, 0.0, 0.0]    # not a moved row
    pts = np.full((68, 3), [10.0, 20.0, 30.0])
    snapped, moved = lo.apply_offsets(pts, FRAME, lo.Offsets(offsets, rows), plane())
    np.testing.assert_allclose(moved[40], [10.0, 22.0, 31.0])  # canonical x is the scan's +y here
    np.testing.assert_allclose(snapped[40], [10.0, 22.0, 30.0], atol=1e-9)
    np.testing.assert_array_equal(snapped[41], pts[41])


def test_residuals_are_in_the_face_frame():
    labels = np.full((68, 3), [10.0, 23.0, 30.0])
    pts = np.full((68, 3), [10.0, 20.0, 30.0])
    np.testing.assert_allclose(lo.residuals(pts, labels, FRAME)[0], [0.003, 0.0, 0.0])


def test_learn_moves_consistent_rows_in_the_allowed_regions_only():
    rng = np.random.default_rng(0)
    res = rng.normal(0.0, 0.002, (40, 68, 3))  # 2 mm noise per axis, no offset
    res[:, 37] += [0.0, 0.0, 0.004]            # an eye lid read 4 mm low on every scan
    res[:, 20] += [0.0, 0.0, 0.004]            # a brow: not an allowed row
    learned = lo.learn(res)
    assert learned.rows[37] and not learned.rows[20]
    assert learned.rows.sum() == 1             # noise alone does not carry over between folds
    np.testing.assert_allclose(learned.offsets[37], [0.0, 0.0, 0.004], atol=0.0008)


def test_cross_validated_gain_is_negative_for_noise():
    res = np.random.default_rng(1).normal(0.0, 0.002, (40, 68, 3))
    assert (lo.cross_validated_gain(res) < 0.05).all()


@pytest.mark.parametrize("coloured", [False, True])
def test_shipped_offsets_load(coloured):
    learned = lo.load_offsets(coloured)
    if learned is None:  # nothing learned for this appearance: the readings stay as they are
        return
    assert learned.offsets.shape == (68, 3) and learned.rows.shape == (68,)
    assert not learned.rows[list(set(range(68)) - set(lo.APPLIED))].any()
    assert np.abs(learned.offsets[learned.rows]).max() < 0.01  # offsets are millimetres, not centimetres
