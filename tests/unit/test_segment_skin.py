"""Segment Skin core: decimation + label transfer, the pipeline (units, point clouds, bad input, model choice),
the PLY writer and the trainer's CI preset."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import trimesh

from face_addon.core.capabilities import capability
from face_addon.core.geometry.decimate import decimate, weld
from face_addon.core import models as face_models
from face_addon.core.mesh import MeshError
from face_addon.core.pipelines import segment_skin as ss

torch.set_num_threads(1)
needs_facekit = pytest.mark.skipif(not capability("facekit").ready(), reason="FaceKit asset not built")
K_EIG = 24
MAX_V = 1200


def _sphere(subdivisions: int = 4) -> tuple[np.ndarray, np.ndarray]:
    m = trimesh.creation.icosphere(subdivisions)
    return np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64)


def _model_file(path, features: tuple[str, ...]):
    """A tiny randomly initialised skin model with identity input standardisation."""
    from face_addon.train.skin import Settings, export, make_network

    torch.manual_seed(0)
    s = Settings(features=features, width=8, n_blocks=1, k_eig=K_EIG)
    net, arch = make_network(s)
    n = arch["in_channels"]
    return export(net, arch, s, {"mean": [0.0] * n, "std": [1.0] * n}, {"steps": 0}, path)


@pytest.fixture(scope="module")
def head():
    from face_addon.core.facekit import load_facekit

    fk = load_facekit()
    v = np.asarray(fk.template, np.float64)
    rng = np.random.default_rng(0)
    return v, fk.faces, rng.uniform(0.2, 0.8, (len(v), 3))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("skin_models")
    return {"color": _model_file(d / "skin_3d.pt", ("sigma30", "hks", "color")),
            "geom": _model_file(d / "skin_geom.pt", ("sigma30", "hks"))}


# ------------------------------------------------------------------------------------------------ decimation

def test_decimate_mesh_bounds_vertices_and_transfers_labels():
    v, f = _sphere(4)  # 2562 vertices
    d = decimate(v, f, 500)
    assert d.n_vertices <= 500 and d.faces.max() < d.n_vertices and len(np.unique(d.faces)) == d.n_vertices
    assert d.nearest.shape == (len(v),) and d.source.shape == (d.n_vertices,)
    label = v[:, 2] > 0.2
    back = d.to_original(d.from_original(label.astype(float)) >= 0.5)
    assert (back == label).mean() > 0.97  # only the boundary band can flip
    assert np.allclose(np.linalg.norm(d.vertices, axis=1), 1.0, atol=0.03)  # the shape survives
    assert d.cluster_sizes().sum() == len(v)


def test_decimate_cleans_duplicates_degenerate_faces_loose_vertices_and_parts():
    v, f = _sphere(3)
    unwelded = v[f].reshape(-1, 3)  # every triangle with its own three corners (an unwelded export)
    faces = np.arange(len(unwelded)).reshape(-1, 3)
    wv, wf, inverse = weld(unwelded, faces)
    assert len(wv) == len(v) and len(wf) == len(f) and inverse.shape == (len(unwelded),)
    extra = np.vstack([unwelded, unwelded[:50] + [3.0, 0, 0], [[9.0, 9.0, 9.0]]])  # a 2nd part + a loose vertex
    more = np.vstack([faces, faces[:10] + len(unwelded), [[0, 0, 1]]])  # + a degenerate face
    d = decimate(extra, more, 10_000)
    assert d.n_vertices == len(v) + len(np.unique(unwelded[:30], axis=0))  # loose vertex and unused corners dropped
    assert d.nearest.shape == (len(extra),)
    with pytest.raises(ValueError, match="degenerate"):
        decimate(v[:3], np.array([[0, 0, 1], [1, 1, 2]]), 100)


def test_decimate_point_cloud_subsamples_evenly():
    v, _ = _sphere(4)
    d = decimate(v, None, 300)
    assert d.faces is None and d.n_vertices == 300
    assert np.array_equal(np.unique(d.to_original(np.arange(300))), np.arange(300))


# ------------------------------------------------------------------------------------------------ pipeline

@needs_facekit
def test_pipeline_shapes_units_and_model_choice(head, models, monkeypatch):
    v, f, c = head
    model = ss.load_skin_model(models["color"])
    r = ss.segment_skin(v, f, c, model=model, max_vertices=MAX_V)
    assert r.probability.shape == (len(v),) and r.skin.shape == (len(v),)
    assert np.all((r.probability >= 0) & (r.probability <= 1)) and r.variant == "skin_3d"
    assert r.n_network_vertices <= MAX_V and r.unit_scale == 1.0
    assert {"decimate_s", "operators_s", "features_s", "network_s", "transfer_s", "total_s"} <= set(r.timings)
    mm = ss.segment_skin(v * 1000, f, c, model=model, max_vertices=MAX_V)
    np.testing.assert_allclose(mm.probability, r.probability, atol=1e-4)
    assert mm.unit_scale == 0.001 and any("millimetres" in w for w in mm.warnings)

    monkeypatch.setattr(face_models, "MODELS_DIR", models["color"].parent)  # the default choice reads these
    plain = ss.segment_skin(v, f, None, max_vertices=MAX_V)
    assert plain.variant == "skin_geom" and any("no vertex colours" in w for w in plain.warnings)
    flat = ss.segment_skin(v, f, np.ones_like(c), max_vertices=MAX_V)
    assert flat.variant == "skin_geom" and any("all the same" in w for w in flat.warnings)
    assert ss.segment_skin(v, f, (c * 255).astype(np.uint8), max_vertices=MAX_V).variant == "skin_3d"
    with pytest.raises(MeshError, match="needs vertex colours"):
        ss.segment_skin(v, f, None, model=model, max_vertices=MAX_V)


@needs_facekit
def test_pipeline_point_cloud_and_bad_input(head, models):
    v, f, c = head
    model = ss.load_skin_model(models["geom"])
    r = ss.segment_skin(v, None, None, model=model, max_vertices=MAX_V)
    assert r.probability.shape == (len(v),) and np.isfinite(r.probability).all()
    bad = v.copy()
    bad[3] = np.nan
    with pytest.raises(MeshError, match="NaN"):
        ss.segment_skin(bad, f, None, model=model)
    with pytest.raises(MeshError, match="no vertices"):
        ss.segment_skin(np.zeros((0, 3)), None, None, model=model)
    with pytest.raises(MeshError, match="too few"):
        ss.segment_skin(v[:50], None, None, model=model)
    with pytest.raises(MeshError, match="colours must be"):
        ss.segment_skin(v, f, c[:10], model=model)


def test_sigma_neighbourhood_follows_resolution():
    assert ss.sigma_neighbours(ss.SIGMA_REFERENCE_SPACING_M) == ss.SIGMA_K
    assert ss.sigma_neighbours(ss.SIGMA_REFERENCE_SPACING_M / 2) == 4 * ss.SIGMA_K
    assert ss.sigma_neighbours(1e-6) == ss.SIGMA_MAX_K


def test_sigma_does_not_depend_on_the_tessellation():
    """A head-sized sphere, one half finely tessellated (~1.5 mm edges) and the other coarsely (~12 mm): how real
    scans are decimated (dense eyes and ears, centimetre triangles on the scalp). σ at the same surface points
    stays within a small factor between the halves; measured on the vertices with k from the median spacing (the
    earlier method) the coarse half read 65 times rougher — as rough as hair on the training scans."""
    fine = trimesh.creation.icosphere(subdivisions=6, radius=0.1)
    coarse = trimesh.creation.icosphere(subdivisions=3, radius=0.1)

    def half(m, sign):
        t = trimesh.Trimesh(m.vertices, m.faces[m.vertices[m.faces][:, :, 2].mean(1) * sign > 0], process=False)
        t.remove_unreferenced_vertices()
        return t

    mixed = trimesh.util.concatenate([half(fine, 1), half(coarse, -1)])
    queries = coarse.vertices * 0.999
    points, k = ss.sigma_points(mixed.vertices, mixed.faces)
    sigma = ss.surface_variation(points, k, queries=queries)
    upper, lower = np.median(sigma[queries[:, 2] > 0.01]), np.median(sigma[queries[:, 2] < -0.01])
    assert 25 <= k <= 40                 # the density of the resampled set ≈ the reference spacing's
    assert lower < 10 * upper            # the earlier method: 65x
    assert lower < 2e-3                  # a smooth sphere stays smooth (training scans: mean log σ = log 2.5e-3)


def test_out_of_range_sigma_hands_the_decision_to_the_images():
    """σ inputs within SIGMA_TRUSTED training standard deviations keep the network's decision (weight 0), σ beyond
    SIGMA_TRUSTED + SIGMA_BLEND on either side takes the image branch's (weight 1), linear between; the σ column is
    found wherever the model's feature list puts it."""
    mean, std = -6.0, 1.5
    z = np.array([0.0, 1.0, -1.4, ss.SIGMA_TRUSTED + ss.SIGMA_BLEND / 2, 4.0, -4.0])
    sigma = np.exp(mean + z * std) - 1e-6
    hks = np.ones((len(z), ss.N_HKS))
    shape = ss.SkinShape(decimation=None, ops=None, sigma=sigma, hks=hks, color=None, sigma_k=30)
    for names in (("sigma30", "hks"), ("hks", "sigma30")):
        cols = {"sigma30": [mean], "hks": [0.0] * ss.N_HKS}
        meta = {"features": list(names), "feature_mean": np.concatenate([cols[n] for n in names]),
                "feature_std": np.concatenate([[std] if n == "sigma30" else [1.0] * ss.N_HKS for n in names])}
        np.testing.assert_allclose(ss.sigma_outside_training(shape, meta), [0, 0, 0, 0.5, 1, 1], atol=1e-5)


def test_vertices_no_view_sees_take_the_seen_surface_around_them():
    """A head-sized sphere whose network output is skin (1) except a 4 cm cap read as non-skin (0): where the views
    see the cap it stays non-skin after smoothing; where no view sees it (a fold inside a closed lid) it is filled
    from the skin around it."""
    v, f = _sphere(5)
    v = v * 0.1
    ops = ss.compute_operators(v, f, K_EIG)
    cap = v[:, 2] > 0.1 * np.cos(np.arcsin(0.2))
    prob = np.where(cap, 0.0, 1.0)
    shape = ss.SkinShape(decimation=None, ops=ops, sigma=None, hks=None, color=None, sigma_k=30,
                         img_seen=np.full(len(v), 2))
    assert ss.smooth_over_surface(shape, prob)[cap].max() < 0.5
    shape.img_seen = np.where(cap, 0, 2)
    filled = ss.smooth_over_surface(shape, prob)
    assert filled[cap].min() > 0.5 and filled[~cap].min() > 0.95


def test_skin_ply_carries_probability(tmp_path):
    from face_addon.core.mesh_files import load_mesh
    from face_addon.core.skin_export import write_skin_ply

    v, f = _sphere(1)
    p = np.linspace(0, 1, len(v))
    write_skin_ply(tmp_path / "s.ply", v, f, p)
    loaded = trimesh.load(tmp_path / "s.ply", process=False)
    np.testing.assert_allclose(loaded.metadata["_ply_raw"]["vertex"]["data"]["quality"], p, atol=1e-6)
    assert load_mesh(tmp_path / "s.ply").n_faces == len(f)


# ------------------------------------------------------------------------------------------------ training

@needs_facekit
def test_smoke_training_writes_loadable_weights(tmp_path, head):
    from face_addon.train.skin import main

    t0 = time.process_time()  # CPU time: the CI budget, robust to a busy shared machine
    assert main(["--out", str(tmp_path), "--smoke"]) == 0
    assert time.process_time() - t0 < 20
    net, meta = ss.load_skin_model(tmp_path / "skin_3d.pt")
    assert meta["training"]["steps"] == 3 and meta["features"] == ["sigma30", "hks", "color"]
    v, f, c = head
    r = ss.segment_skin(v, f, c, model=(net, meta), max_vertices=MAX_V)
    assert np.isfinite(r.probability).all()


@needs_facekit
def test_fine_tuning_starts_from_the_given_weights_and_keeps_their_standardisation(tmp_path, head):
    from face_addon.train.skin import main

    first, tuned = tmp_path / "first", tmp_path / "tuned"
    assert main(["--out", str(first), "--smoke"]) == 0
    assert main(["--out", str(tuned), "--smoke", "--init", str(first / "skin_3d.pt"), "--lr", "0"]) == 0
    (state0, meta0), (state1, meta1) = (ss.load_weights(p / "skin_3d.pt", ss.WEIGHTS_KIND, ss.WEIGHTS_VERSIONS)
                                        for p in (first, tuned))
    assert meta1["feature_mean"] == meta0["feature_mean"] and meta1["settings"]["init"] == str(first / "skin_3d.pt")
    # lr 0: the given weights come out unchanged (diffusion times are clamped to ≥ 0 in every forward pass)
    assert all(torch.equal(state0[k].clamp(min=0) if k.endswith(".time") else state0[k], state1[k]) for k in state0)
    with pytest.raises(SystemExit) as exc:  # other inputs than the weights file: a usage error, exit 2
        main(["--out", str(tmp_path / "bad"), "--smoke", "--features", "sigma30,hks", "--init", str(first / "skin_3d.pt")])
    assert exc.value.code == 2
