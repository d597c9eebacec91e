"""Synthetic data generator (face_addon.synth) on the bpy module: determinism, resume, failure isolation, label
sanity, the full profile's renders and the CLI. Tiny samples (~20k scan vertices, 64 px renders) keep it CI-fast."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from face_addon.core import dataset as ds  # noqa: E402
from face_addon.core.capabilities import capability  # noqa: E402

pytestmark = pytest.mark.skipif(not capability("facekit").ready(), reason="FaceKit asset not built")

SEED = 1_000_007  # a test-split seed; its subject has hair, so the scan has non-skin
TINY = dict(profile="scan", target_vertices=20_000)


def _cfg(**kw):
    from face_addon.synth.generate import SynthConfig

    return SynthConfig(**{**TINY, **kw})


def _digest(path) -> str:
    s = ds.load_sample(path, SEED, head=False, cameras=False)
    h = hashlib.sha256()
    for a in (s.scan_vertices, s.scan_faces, s.scan_colors, s.distance, s.skin, s.class_id, s.landmarks):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory):
    from face_addon.synth.generate import generate_sample

    root = tmp_path_factory.mktemp("synth_a")
    generate_sample(SEED, root, _cfg())
    return root


def test_same_seed_gives_identical_scan_and_labels(sample_root, tmp_path):
    from face_addon.synth.generate import generate_sample

    generate_sample(SEED, tmp_path, _cfg())
    assert _digest(sample_root) == _digest(tmp_path)
    meta = json.loads((ds.sample_dir(tmp_path, SEED) / "meta.json").read_text())
    assert meta["seed"] == SEED and meta["generator_version"]


def test_label_sanity(sample_root):
    s = ds.load_sample(sample_root, SEED)
    n = len(s.scan_vertices)
    assert n > 5000 and s.distance.shape == s.skin.shape == s.class_id.shape == (n,)
    np.testing.assert_array_equal(s.skin, s.distance < ds.SKIN_DISTANCE_M)
    assert 0.05 < s.skin.mean() < 0.85
    # landmarks: on the scan surface, and close to the true head landmarks
    assert s.landmarks.shape == (68, 3) and np.median(s.landmark_snap) < 0.005
    assert (s.landmark_snap < 0.005).mean() > 0.8
    np.testing.assert_allclose(np.linalg.norm(s.landmarks - s.landmarks_true, axis=1), s.landmark_snap, atol=1e-5)
    # skin vertices carry head classes; hair / cloth vertices are not skin
    skin_cls = np.isin(s.class_id, ds.HEAD_CLASSES)
    assert skin_cls[s.skin].mean() > 0.95
    cloth = s.class_id == ds.CLASS_IDS["cloth"]
    assert cloth.any() and s.skin[cloth].mean() < 0.2
    assert s.head_vertices.shape == (4350, 3)


def test_resume_after_interrupted_shard_and_failure_isolation(tmp_path, monkeypatch):
    from face_addon.synth import generate as gen

    seeds = gen.shard_seeds(SEED, 3)
    real = gen.generate_sample
    calls = []

    def interrupted(seed, root, cfg):  # the 2nd sample dies mid-write, like a killed process
        calls.append(seed)
        if seed == seeds[1]:
            (root / f".tmp-{seed:07d}-99999999").mkdir()
            (root / f".tmp-{seed:07d}-99999999" / "scan.ply").write_text("half")
            raise KeyboardInterrupt
        return real(seed, root, cfg)

    monkeypatch.setattr(gen, "generate_sample", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gen.run_shard(tmp_path, SEED, 3, _cfg(), log=lambda *_: None)
    assert ds.complete_seeds(tmp_path) == seeds[:1]
    # rerun: the complete sample is skipped, the stale temp folder removed, a failing seed is logged and skipped
    calls.clear()

    def failing(seed, root, cfg):
        calls.append(seed)
        if seed == seeds[2]:
            raise ValueError("boom")
        return real(seed, root, cfg)

    monkeypatch.setattr(gen, "generate_sample", failing)
    result = gen.run_shard(tmp_path, SEED, 3, _cfg(), log=lambda *_: None)
    assert calls == seeds[1:] and result["failed"] == [seeds[2]]
    assert ds.complete_seeds(tmp_path) == seeds[:2] == ds.read_index(tmp_path)
    assert not list(tmp_path.glob(".tmp-*"))
    failure = json.loads((tmp_path / "failures.jsonl").read_text().splitlines()[-1])
    assert failure["seed"] == seeds[2] and "boom" in failure["error"]


def test_shards_partition_the_seeds():
    from face_addon.synth.generate import shard_seeds

    parts = [shard_seeds(10, 11, (k, 3)) for k in range(3)]
    assert sorted(sum(parts, [])) == list(range(10, 21))


def test_full_profile_views_labels_and_cameras(tmp_path):
    from face_addon.synth.generate import generate_sample

    generate_sample(SEED, tmp_path, _cfg(profile="full", views=7, resolution=64, samples=2, strand_children=1))
    s = ds.load_sample(tmp_path, SEED)
    assert s.n_views == 7
    rgb, parts = s.view(6)  # the frontal camera
    assert rgb.shape == (64, 64, 3) and parts.shape == (64, 64)
    assert parts.max() < len(ds.CLASS_NAMES) and parts[0, 0] == 0  # corner = background
    cam = s.cameras[6]
    k, m = np.array(cam["K"]), np.array(cam["world_to_camera"])
    p = s.landmarks_true @ m[:3, :3].T + m[:3, 3]
    assert (p[:, 2] > 0).all()  # OpenCV: in front of the camera is +z
    uv = np.round(p[:, :2] / p[:, 2:] * [k[0, 0], k[1, 1]] + k[:2, 2]).astype(int)
    assert ((uv >= 0) & (uv < 64)).all()
    # the nose tip (iBUG 30) projects onto a face-part pixel, not background / hair / cloth
    assert parts[uv[30, 1], uv[30, 0]] in ds.HEAD_CLASSES
    # the same seed again: every view file the same bytes (denoised RGB included, no render-time metadata)
    generate_sample(SEED, tmp_path / "again", _cfg(profile="full", views=2, resolution=64, samples=2,
                                                    strand_children=1))
    for p in sorted((tmp_path / "again" / f"{SEED:07d}" / "views").glob("*.png")):
        assert p.read_bytes() == (tmp_path / f"{SEED:07d}" / "views" / p.name).read_bytes(), p.name


def test_cli_verify_and_preview(sample_root, tmp_path, capsys):
    from face_addon.cli.main import main

    assert main(["synth", "verify", str(sample_root)]) == 0
    assert "0 problems" in capsys.readouterr().out
    assert main(["synth", "preview", str(sample_root), "--png", str(tmp_path / "p.png")]) == 0
    assert ds.read_png(tmp_path / "p.png").ndim == 3
    assert main(["synth", "verify", str(tmp_path / "missing")]) == 1
