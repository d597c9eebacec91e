"""The skin network's input range check: vertices whose inputs lie outside the training range take the image
branch's decision, those inside keep the network's; most of a scan outside hands over the whole scan."""
from __future__ import annotations

import json

import numpy as np

from face_addon.core.pipelines import input_range as ir
from face_addon.core.pipelines import segment_skin as ss

NAMES = ("sigma30", "hks", "color", "img_mu", "img_var")
F = 2  # image feature channels


def _shape(n: int, rng: np.random.Generator) -> ss.SkinShape:
    return ss.SkinShape(decimation=None, ops=None, sigma=np.exp(rng.normal(-6, 0.3, n)), sigma_k=30,
                        hks=np.exp(rng.normal(0, 0.3, (n, ss.N_HKS))), color=rng.uniform(0.3, 0.7, (n, 3)),
                        img_mu=rng.normal(0, 1, (n, F)), img_var=np.exp(rng.normal(-3, 0.3, (n, F))))


def _model(tmp_path, rng) -> dict:
    """A model's meta with its range measured on 20k training vertices; the σ rule's standard deviation is made
    wide so that only the range check hands over here (test_segment_skin tests the σ rule)."""
    train = _shape(20000, rng).features(NAMES)
    std = train.std(0)
    std[0] *= 100
    columns = ir.column_names(NAMES, [1, ss.N_HKS, 3, F, F])
    (tmp_path / "m_range.json").write_text(json.dumps(ir.measure_range(train, NAMES, columns).to_json()))
    return {"features": list(NAMES), "feature_mean": train.mean(0), "feature_std": std,
            "path": str(tmp_path / "m.pt")}


def test_inputs_outside_the_range_take_the_image_decision(tmp_path):
    rng = np.random.default_rng(0)
    meta = _model(tmp_path, rng)
    shape = _shape(400, rng)
    shape.img_var[:20] = 50.0   # far above any training variance (log 3.9 vs training -3 ± 0.3)
    shape.img_skin = np.full(400, 0.1)
    warnings: list[str] = []
    prob = ss.hand_to_images(np.full(400, 0.9), shape, meta, warnings)
    np.testing.assert_allclose(prob[:20], 0.1)
    assert np.mean(prob[20:] == 0.9) > 0.97   # inside: the network's (up to the 0.5 % tail of the training range)
    assert len(warnings) == 1 and "5.0 % of the scan" in warnings[0] and "img_var" in warnings[0]


def test_training_like_inputs_keep_the_network_and_most_outside_hands_over_the_scan(tmp_path):
    rng = np.random.default_rng(1)
    meta = _model(tmp_path, rng)
    rng_check = ir.load_range(meta["path"], NAMES)
    w, message = rng_check.handover(_shape(5000, rng).features(NAMES))
    assert (w > 0.5).mean() < 0.02 and message is None
    shape = _shape(400, rng)
    shape.img_var[:300] = 50.0
    shape.img_skin = np.full(400, 0.1)
    warnings: list[str] = []
    prob = ss.hand_to_images(np.full(400, 0.9), shape, meta, warnings)
    np.testing.assert_allclose(prob, 0.1)
    assert "whole scan" in warnings[0]


def test_range_missing_or_for_other_inputs_is_not_used(tmp_path):
    rng = np.random.default_rng(2)
    meta = _model(tmp_path, rng)
    assert ir.load_range(tmp_path / "other.pt", NAMES) is None
    assert ir.load_range(meta["path"], ("sigma30", "hks")) is None
    assert ir.range_path("models/skin_p2p.pt").name == "skin_p2p_range.json"
