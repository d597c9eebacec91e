"""The dataset format (core/dataset.py) and the numpy helpers of the synth package; no bpy."""
from __future__ import annotations

import json

import numpy as np
import pytest

from face_addon.core import dataset as ds


def test_png_roundtrip_gray_and_rgb(tmp_path):
    rng = np.random.default_rng(0)
    for img in (rng.integers(0, 256, (7, 5), dtype=np.uint8), rng.integers(0, 256, (4, 9, 3), dtype=np.uint8)):
        ds.write_png(tmp_path / "a.png", img)
        np.testing.assert_array_equal(ds.read_png(tmp_path / "a.png"), img)


def test_png_reader_handles_filtered_rows(tmp_path):
    """Blender writes filtered PNGs; check Sub/Up/Average/Paeth decoding against a hand-filtered image."""
    import struct
    import zlib

    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8).astype(np.int32)
    rows, prev = [], np.zeros(18, np.int32)
    for y, ft in enumerate([1, 2, 3, 4, 0]):
        cur = img[y].ravel()
        a = np.concatenate([np.zeros(3, np.int32), cur[:-3]])
        c = np.concatenate([np.zeros(3, np.int32), prev[:-3]])
        if ft == 0:
            enc = cur
        elif ft == 1:
            enc = cur - a
        elif ft == 2:
            enc = cur - prev
        elif ft == 3:
            enc = cur - ((a + prev) >> 1)
        else:
            p = a + prev - c
            pa, pb, pc = np.abs(p - a), np.abs(p - prev), np.abs(p - c)
            enc = cur - np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, prev, c))
        rows.append(bytes([ft]) + (enc & 255).astype(np.uint8).tobytes())
        prev = cur

    def chunk(tag, payload):
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 6, 5, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")
    (tmp_path / "f.png").write_bytes(data)
    np.testing.assert_array_equal(ds.read_png(tmp_path / "f.png"), img.astype(np.uint8))


def test_ply_roundtrip_and_trimesh_reads_it(tmp_path):
    import trimesh

    v = np.random.default_rng(0).random((10, 3)).astype(np.float32)
    f = np.array([[0, 1, 2], [2, 3, 4], [5, 6, 7]])
    c = np.random.default_rng(1).integers(0, 256, (10, 3), dtype=np.uint8)
    ds.write_ply(tmp_path / "m.ply", v, f, c)
    v2, f2, c2 = ds.read_ply(tmp_path / "m.ply")
    np.testing.assert_array_equal(v, v2)
    np.testing.assert_array_equal(f, f2)
    np.testing.assert_array_equal(c, c2)
    m = trimesh.load(tmp_path / "m.ply", process=False)
    np.testing.assert_allclose(m.vertices, v, atol=1e-6)


def test_splits_never_overlap():
    (a0, a1), (b0, b1) = ds.SPLITS["train"], ds.SPLITS["test"]
    assert a1 <= b0 or b1 <= a0
    assert ds.split_of(0) == "train" and ds.split_of(999_999) == "train" and ds.split_of(1_000_000) == "test"
    with pytest.raises(ValueError):
        ds.split_of(-1)


def _fake_sample(root, seed, n=6):
    d = ds.sample_dir(root, seed)
    d.mkdir(parents=True)
    v = np.random.default_rng(seed).random((n, 3))
    ds.write_ply(d / "scan.ply", v, np.array([[0, 1, 2], [3, 4, 5]]), np.zeros((n, 3), np.uint8))
    ds.write_ply(d / "head.ply", v, np.array([[0, 1, 2]]))
    dist = np.linspace(0, 0.004, n).astype(np.float32)
    np.savez(d / "labels.npz", distance=dist, skin=dist < ds.SKIN_DISTANCE_M, class_id=np.ones(n, np.uint8),
             landmarks=np.zeros((68, 3), np.float32), landmarks_true=np.zeros((68, 3), np.float32),
             landmark_snap=np.zeros(68, np.float32))
    (d / "meta.json").write_text(json.dumps({"seed": seed, "profile": "scan"}))


def test_index_lists_only_complete_folders_and_loader(tmp_path):
    _fake_sample(tmp_path, 3)
    _fake_sample(tmp_path, 1_000_001)
    (tmp_path / ".tmp-0000004-123").mkdir()  # a half-written sample is invisible
    assert ds.write_index(tmp_path) == [3, 1_000_001]
    assert ds.read_index(tmp_path) == [3, 1_000_001]
    s = ds.load_sample(tmp_path, 3)
    assert s.scan_vertices.shape == (6, 3) and s.skin.dtype == bool and s.landmarks.shape == (68, 3)
    assert [x.seed for x in ds.iter_samples(tmp_path, split="test")] == [1_000_001]


def test_point_to_mesh_distance_matches_brute_force():
    from face_addon.core.geometry.surface_distance import SurfaceQuery, closest_on_triangles
    from face_addon.synth.shapes import uv_sphere

    v, f = uv_sphere((0, 0, 0), 0.1, 24, 36)
    rng = np.random.default_rng(0)
    p = rng.normal(size=(400, 3)) * 0.06
    _, d, _ = SurfaceQuery(v, f, k=3).nearest(p)
    q = closest_on_triangles(p[:, None], v[f[:, 0]][None], v[f[:, 1]][None], v[f[:, 2]][None])
    brute = np.sqrt(((q - p[:, None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(d, brute, atol=2e-4)


def test_shapes_are_watertight():
    import trimesh

    from face_addon.synth.clothing import closed_band
    from face_addon.synth.shapes import loft, tubes, uv_sphere

    paths = np.cumsum(np.random.default_rng(0).random((4, 8, 3)) * 0.01, axis=1)
    phi = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    rings = np.stack([np.stack([np.cos(phi), np.sin(phi), np.full(16, z)], 1) for z in (0.0, 1.0, 2.0)])
    for v, f in (tubes(paths, 0.002), uv_sphere((0, 0, 0), 0.01), loft(rings), closed_band(rings, rings * 0.8)):
        m = trimesh.Trimesh(v, f, process=True)
        assert m.is_watertight and m.is_winding_consistent and m.volume > 0


def test_closed_eyes_shut_both_eyes_and_change_nothing_else():
    from face_addon.core.capabilities import capability

    if not capability("facekit").ready():
        pytest.skip("FaceKit asset not built")
    from face_addon.synth.generate import _models
    from face_addon.synth.subject import make_subject

    fk, fk_sub = _models()
    blink = [fk.exp_names.index(n) for n in ("eyeBlinkLeft", "eyeBlinkRight")]
    for seed in (3, 4):
        plain, shut = make_subject(fk, fk_sub, seed), make_subject(fk, fk_sub, seed, closed_eyes=1.0)
        assert (shut.alpha_exp[blink] >= 0.85).all()
        rest = np.setdiff1d(np.arange(len(fk.exp_names)), blink)
        assert np.array_equal(plain.alpha_id, shut.alpha_id) and np.array_equal(plain.alpha_exp[rest], shut.alpha_exp[rest])
        assert plain.skin == shut.skin
        gap = [np.linalg.norm(lm[[37, 38, 43, 44]] - lm[[41, 40, 47, 46]], axis=1).mean()
               for lm in (fk.landmarks(plain.head_template_v), fk.landmarks(shut.head_template_v))]
        assert gap[1] < 0.6 * gap[0]  # the lids close (7.3 -> 3.9 mm and 8.5 -> 3.6 mm on these two)
