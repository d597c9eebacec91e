"""Photo data path end to end on the bpy module, tiny: `synth --profile photo` renders -> detector crop cache ->
landmark embedding -> a few regressor/parser training steps -> the exported weights load and run."""
from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from face_addon.core.capabilities import capability  # noqa: E402

pytestmark = pytest.mark.skipif(not capability("photo").ready(), reason="FaceKit / MediaPipe assets not built")


@pytest.fixture(scope="module")
def photo_cache(tmp_path_factory):
    from face_addon.synth.generate import SynthConfig, run_shard
    from face_addon.train.photo_data import cache_split

    root = tmp_path_factory.mktemp("photo")
    # 256 px / 8 spp: at 160 px / 4 spp the detector misses most of these small, noisy faces (see docs/photo.md)
    result = run_shard(root / "data", 11, 2, SynthConfig(profile="photo", views=2, resolution=256, samples=8))
    assert result["done"] == 2 and not result["failed"]
    records = cache_split(root / "data", root / "cache")
    return root, records


def test_photo_samples_have_views_labels_and_cameras(photo_cache):
    from face_addon.core.dataset import read_png

    root, _ = photo_cache
    sample = root / "data" / "0000011"
    meta = json.loads((sample / "meta.json").read_text())
    assert meta["profile"] == "photo" and len(meta["facekit"]["alpha_exp"]) == 52
    cams = json.loads((sample / "cameras.json").read_text())["views"]
    assert len(cams) == 2 and not (sample / "scan.ply").exists()
    labels = read_png(sample / "views" / "01_parts.png")
    assert labels.shape == (256, 256) and (labels == 1).any()  # face skin is visible


def test_cached_records_put_the_true_head_under_the_detected_landmarks(photo_cache):
    _, records = photo_cache
    assert len(records) >= 2, "the detector should find most synthetic faces"
    with np.load(records[0]) as r:
        lm, uv = r["landmarks"], r["uv_true"]
        assert r["crop"].shape == (224, 224, 3)
    # the detected landmarks and the true projected head overlap in the crop
    lo, hi = uv.min(0), uv.max(0)
    inside = ((lm >= lo) & (lm <= hi)).all(1).mean()
    assert inside > 0.9


def test_embedding_training_and_export_run(photo_cache, tmp_path):
    import torch

    from face_addon.core.photo.mediapipe_assets import load_connections
    from face_addon.core.pipelines.reconstruct_photo import load_regressor, regress
    from face_addon.train.photo import Settings, train
    from face_addon.train.photo_embedding import embed

    root, records = photo_cache
    emb = embed(records, np.unique(load_connections()["face_oval"]))
    assert emb["triangle"].shape == (468,) and np.allclose(emb["bary"].sum(1), 1)
    path = train(root / "cache", tmp_path / "run", Settings(batch=2, epochs=1, threads=1), max_steps=2)
    net = load_regressor(path)
    params, masks = regress(net, np.zeros((224, 224, 3), np.float32))
    assert torch.isfinite(params.t).all() and set(masks) >= {"skin", "nose"}


def test_pixel2mesh_cache_training_and_export_run(photo_cache, tmp_path):
    from face_addon.core.pipelines.pixel2mesh_photo import load_model, predict_crop_space
    from face_addon.train.pixel2mesh import Settings, train
    from face_addon.train.pixel2mesh_data import cache_split

    root, _ = photo_cache
    records = cache_split(root / "data", tmp_path / "p2m_cache")
    assert len(records) >= 2
    with np.load(records[0]) as r:
        assert r["crop"].shape == (224, 224, 3) and r["cam_vertices"].shape[1] == 3
        assert 0 < r["box_rel"][2] < 1  # the detector box is a fraction of the photo
    s = Settings(batch=1, steps=2, hidden=8, n_res=1, threads=1)
    path = train(tmp_path / "p2m_cache", tmp_path / "p2m_run", s, max_steps=2)
    net, meta = load_model(path)
    assert meta["training"]["steps"] == 2 and meta["face_size_m"] > 0 and 0 < meta["average_crop"]["side"] < 1
    stages = predict_crop_space(net, np.zeros((224, 224, 3), np.float32))
    assert [len(s) for s in stages] == [141, 547, 2157, 8569] and np.isfinite(stages[-1]).all()
