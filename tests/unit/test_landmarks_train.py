"""The training script's CI preset (--smoke): FaceKit heads, a tiny net, 3 steps, loadable weights, < 30 s."""
from __future__ import annotations

import time

import numpy as np
import pytest

from face_addon.core.capabilities import capability

pytestmark = pytest.mark.skipif(not capability("facekit").ready(), reason="FaceKit asset not built")


def test_smoke_training_writes_loadable_weights(tmp_path):
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks, load_landmark_model
    from face_addon.train.landmarks import main

    t0 = time.process_time()  # CPU time: the CI budget, robust to a busy shared machine
    assert main(["--out", str(tmp_path), "--smoke"]) == 0
    assert time.process_time() - t0 < 30
    net, meta = load_landmark_model(tmp_path / "landmarks.pt")
    assert meta["training"]["steps"] == 3 and meta["sigma"] == 0.03 and meta["arch"]["stratified"]
    assert np.abs(net.prototype.numpy()).max() <= 1.0 + 1e-6  # standardised prototype (Eq. 4)
    from face_addon.core.facekit import load_facekit

    fk = load_facekit()
    r = detect_landmarks(fk.template, fk.faces, tmp_path / "landmarks.pt", method="sgcn")
    assert r.landmarks.shape == (68, 3) and np.isfinite(r.landmarks).all()


def test_learning_rate_drops_once_at_the_given_step():
    from face_addon.train.landmarks import LR_DROP, Settings, current_lr

    s = Settings(lr=1e-3, lr_drop_step=900)
    assert current_lr(s, 899) == 1e-3
    assert current_lr(s, 900) == pytest.approx(1e-3 * LR_DROP) == current_lr(s, 5000)
    assert current_lr(Settings(lr=1e-3), 10 ** 6) == 1e-3  # 0: never
