"""2S-SGCN pieces without bpy: resampling, standardisation, graphs, network, loss, stage 2, exports, weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from face_addon.core.geometry.knn_graph import estimate_normals, knn_graph
from face_addon.core.geometry.pca_align import standardize
from face_addon.core.geometry.poisson_disk import poisson_disk_mesh, poisson_disk_subset
from face_addon.core.landmark_export import read_landmarks, write_landmarks
from face_addon.core.nets.sgcn import SGCN, coarse_aggregate, fine_adjacency, fine_aggregate
from face_addon.core.pipelines import detect_landmarks as dl
from face_addon.core.weights import WeightsError, load_weights, save_weights
from face_addon.train.landmarks import adaptive_wing_loss


def grid_mesh(n: int = 60, size: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.meshgrid(np.linspace(0, size, n), np.linspace(0, size, n))
    v = np.stack([x.ravel(), y.ravel(), np.zeros(n * n)], 1)
    i = np.arange(n * n).reshape(n, n)
    a, b, c, d = i[:-1, :-1].ravel(), i[:-1, 1:].ravel(), i[1:, :-1].ravel(), i[1:, 1:].ravel()
    return v, np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])


def sphere_mesh(n_lat: int = 40, n_lon: int = 80, r: float = 0.1):
    th = np.linspace(0.05, np.pi - 0.05, n_lat)
    ph = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    t, p = np.meshgrid(th, ph, indexing="ij")
    v = r * np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    i = np.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    j = np.roll(i, -1, axis=1)
    a, b, c, d = i[:-1].ravel(), j[:-1].ravel(), i[1:].ravel(), j[1:].ravel()
    return v, np.concatenate([np.stack([a, c, d], 1), np.stack([a, d, b], 1)])


def test_poisson_disk_count_spacing_and_normals():
    v, f = grid_mesh()
    rng = np.random.default_rng(0)
    pts, nrm = poisson_disk_mesh(v, f, 500, rng)
    assert pts.shape == (500, 3) and nrm.shape == (500, 3)
    assert np.allclose(np.abs(nrm[:, 2]), 1.0)
    d, _ = __import__("scipy.spatial", fromlist=["cKDTree"]).cKDTree(pts).query(pts, k=2)
    # blue noise: no two points much closer than the typical spacing (iid uniform would give ~0)
    assert d[:, 1].min() > 0.5 * np.median(d[:, 1])
    assert len(poisson_disk_subset(pts, 1000, rng)) == 500  # fewer candidates than asked: all of them


def test_standardize_undoes_rotation_and_scales_into_unit_cube():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(4000, 3)) * [0.06, 0.03, 0.1] + [1, 2, 3]
    ang = np.deg2rad(25)
    rot = np.array([[np.cos(ang), -np.sin(ang), 0], [np.sin(ang), np.cos(ang), 0], [0, 0, 1]])
    a = standardize(pts).apply(pts)
    b = standardize(pts @ rot.T * 1000).apply(pts @ rot.T * 1000)
    assert np.abs(a).max() == pytest.approx(1.0) and np.abs(b).max() == pytest.approx(1.0)
    assert np.abs(a - b).max() < 0.02  # same frame despite rotation, translation and unit
    st = standardize(pts)
    assert np.allclose(st.invert(st.apply(pts)), pts)


def test_standardize_turns_a_backward_face_around():
    rng = np.random.default_rng(2)
    pts = rng.normal(size=(2000, 3)) * [0.07, 0.03, 0.1]
    normals = np.tile([0.0, 1.0, 0.0], (2000, 1))  # the surface looks along +Y (backwards)
    st = standardize(pts, normals)
    assert (st.apply_vectors(normals)[:, 1] < 0).all()
    assert np.linalg.det(st.rotation) == pytest.approx(1.0)  # turned, never mirrored


def test_knn_graph_and_normals():
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(300, 3))
    nbr = knn_graph(pts, 16)
    assert nbr.shape == (300, 17) and (nbr[:, 0] == np.arange(300)).all()
    brute = np.argsort(((pts[:, None] - pts[None]) ** 2).sum(-1), axis=1)[:, 1:17]
    assert (np.sort(nbr[:, 1:], 1) == np.sort(brute, 1)).all()
    v, _ = sphere_mesh()
    n = estimate_normals(v, 16)
    assert (np.einsum("ij,ij->i", n, v / np.linalg.norm(v, axis=1, keepdims=True)) > 0.95).all()


def test_fine_and_coarse_aggregation():
    rng = np.random.default_rng(4)
    h = torch.from_numpy(rng.normal(size=(2, 50, 5)).astype(np.float32))
    nbr = torch.from_numpy(np.stack([knn_graph(rng.normal(size=(50, 3)), 4) for _ in range(2)]))
    out = fine_aggregate(h, fine_adjacency(nbr))
    expect = torch.stack([h[b][nbr[b]].mean(1) for b in range(2)])
    assert torch.allclose(out, expect, atol=1e-6)
    coarse = torch.tensor([[1, 7, 9], [0, 2, 3]])
    c = coarse_aggregate(h, coarse)
    assert torch.allclose(c[0, 7], h[0, [1, 7, 9]].mean(0), atol=1e-6)
    assert torch.equal(c[0, 5], h[0, 5])  # not a coarse node: only its self-loop


def test_stratified_network_passes_messages_across_the_face():
    """One layer of the fine graph reaches only neighbours; the coarse graph links far-apart coarse nodes."""
    torch.manual_seed(0)
    pts = np.linspace(0, 1, 200)[:, None] * [1.0, 0, 0]
    nbr = torch.from_numpy(knn_graph(pts, 4))[None]
    coarse = torch.tensor([[0, 199]])
    x = torch.zeros(1, 200, 6)
    for stratified, expect_change in ((True, True), (False, False)):
        net = SGCN(n_landmarks=3, width=8, depth=1, stratified=stratified).eval()
        base = net(x, nbr, coarse)[0, 199]
        x2 = x.clone()
        x2[0, 0] = 5.0
        changed = not torch.allclose(net(x2, nbr, coarse)[0, 199], base)
        assert changed == expect_change


def test_network_shape_size_and_input_checks():
    net = SGCN()
    size_mb = sum(p.numel() for p in net.parameters()) * 4 / 2 ** 20
    assert size_mb < 2.0
    x = torch.randn(2, 300, 6)
    nbr = torch.from_numpy(np.stack([knn_graph(np.random.default_rng(i).normal(size=(300, 3)), 16) for i in range(2)]))
    out = SGCN(width=16, depth=3)(x, nbr, torch.randint(0, 300, (2, 68)))
    assert out.shape == (2, 300, 68)
    with pytest.raises(ValueError, match="features"):
        net(torch.randn(2, 300, 5), nbr, None)
    with pytest.raises(ValueError, match="coarse"):
        net(x, nbr, None)


def test_adaptive_wing_loss_values():
    h = torch.tensor([0.0, 1.0, 0.5])
    assert adaptive_wing_loss(h, h).item() == pytest.approx(0.0, abs=1e-7)
    # small error: omega * ln(1 + |d|^(alpha - h)) * (1 + beta h)
    pred, tgt = torch.tensor([0.1]), torch.tensor([0.0])
    assert adaptive_wing_loss(pred, tgt).item() == pytest.approx(14 * np.log1p(0.1 ** 2.1), rel=1e-5)
    pred, tgt = torch.tensor([0.9]), torch.tensor([1.0])
    assert adaptive_wing_loss(pred, tgt).item() == pytest.approx(51 * 14 * np.log1p(0.1 ** 1.1), rel=1e-5)
    # continuous at theta = 0.5 and linear beyond
    for t in (0.0, 0.3, 1.0):
        lo = adaptive_wing_loss(torch.tensor([t + 0.5 - 1e-5]), torch.tensor([t])).item()
        hi = adaptive_wing_loss(torch.tensor([t + 0.5 + 1e-5]), torch.tensor([t])).item()
        assert lo == pytest.approx(hi, rel=1e-3)
    a = adaptive_wing_loss(torch.tensor([2.0]), torch.tensor([0.0])).item()
    b = adaptive_wing_loss(torch.tensor([3.0]), torch.tensor([0.0])).item()
    c = adaptive_wing_loss(torch.tensor([4.0]), torch.tensor([0.0])).item()
    assert b - a == pytest.approx(c - b, rel=1e-5)


def test_heatmap_and_stage2_recover_a_vertex():
    v, _ = grid_mesh(101, 1.0)              # original mesh: 1 cm spacing
    rng = np.random.default_rng(5)
    coarse_pts = v[rng.choice(len(v), 800, replace=False)]
    truth = np.array([[0.37, 0.52, 0.0], [0.8, 0.2, 0.0]])
    heat = dl.heatmaps(coarse_pts, truth, 0.03)
    assert heat.shape == (800, 2)
    assert dl.heatmaps(truth[:1] + [0.03, 0, 0], truth[:1], 0.03)[0, 0] == pytest.approx(np.exp(-0.5), rel=1e-5)
    lms, chosen, m = dl.mse_over_mesh(v, coarse_pts, heat.astype(np.float64), top=12, gamma=5, sigma=0.03)
    assert (chosen >= 0).all() and np.allclose(v[chosen], lms)  # the estimate is a vertex of the original mesh
    assert np.linalg.norm(lms - truth, axis=1).max() < 1e-9    # and exactly the true one here
    assert np.linalg.norm(m - truth, axis=1).max() < 0.03       # the 1S mean is near but off the vertex


def _tiny_model(width=8, depth=2):
    torch.manual_seed(0)
    net = SGCN(width=width, depth=depth).eval()
    net.prototype.copy_(torch.from_numpy(np.random.default_rng(0).uniform(-0.5, 0.5, (68, 3))).float())
    return net, {"arch": net.config, "n_points": 600, "k": 16, "sigma": 0.03, "top": 12, "gamma": 5.0}


def test_detect_landmarks_end_to_end_mesh_mm_and_point_cloud():
    v, f = sphere_mesh()
    model = _tiny_model()
    with pytest.raises(dl.NoFaceError, match="no face found on the mesh"):  # the default (views) on a sphere
        dl.detect_landmarks(v, f, model=model)
    r = dl.detect_landmarks(v, f, model=model, fallback=True)  # asked for: 2S-SGCN answers, with a warning
    assert r.landmarks.shape == (68, 3) and r.confidence.shape == (68,)
    assert r.method == "sgcn" and r.orientation is None and "view-based landmarks are not possible" in r.warnings[0]
    assert r.models["sgcn"] and r.models["detector"] and r.models["ibug_map"] is None and r.models["facekit"] is None
    assert {"resample_s", "network_s", "stage2_s", "total_s", "orientation_s"} <= set(r.timings)
    ok = r.vertex_index >= 0
    assert ok.any() and np.allclose(v[r.vertex_index[ok]], r.landmarks[ok])
    assert r.n_points == 600
    mm = dl.detect_landmarks(v * 1000, f, model=model, method="sgcn")  # standardisation makes the unit irrelevant
    assert np.allclose(mm.landmarks, r.landmarks * 1000, atol=1e-6)
    assert any("millimetres" in w for w in mm.warnings)
    with pytest.raises(dl.NoFaceError, match="no face found on the point cloud"):  # drawn as splats, searched
        dl.detect_landmarks(v, None, model=model, method="fusion")
    pc = dl.detect_landmarks(v, None, model=model, method="fusion", fallback=True)
    assert pc.landmarks.shape == (68, 3) and np.isfinite(pc.landmarks).all() and pc.method == "sgcn"
    assert any("does not look like a face" in w for w in r.warnings)  # an untrained net on a sphere
    with pytest.raises(dl.MeshError, match="too few"):
        dl.detect_landmarks(v[:50], None, model=model)
    with pytest.raises(ValueError, match="unknown landmark method"):
        dl.detect_landmarks(v, f, model=model, method="magic")


def test_exports_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    pts, conf = rng.normal(size=(68, 3)), rng.random(68)
    for ext in ("json", "csv", "pp"):
        path = write_landmarks(tmp_path / f"lm.{ext}", pts, conf, source="scan.ply")
        back, c = read_landmarks(path)
        assert np.allclose(back, pts, atol=1e-7)
        if ext != "pp":
            assert np.allclose(c, conf, atol=1e-4)
    assert 'name="LM_30_nose_tip"' in (tmp_path / "lm.pp").read_text()
    with pytest.raises(ValueError, match="unknown landmark format"):
        write_landmarks(tmp_path / "lm.txt", pts)
    with pytest.raises(ValueError, match="68"):
        write_landmarks(tmp_path / "lm.json", pts[:10])


def test_weights_round_trip_and_checks(tmp_path):
    net, meta = _tiny_model()
    path = save_weights(tmp_path / "w.pt", dl.WEIGHTS_KIND, 1, net.state_dict(), meta)
    state, back = load_weights(path, dl.WEIGHTS_KIND, (1,))
    assert back["arch"] == net.config and torch.equal(state["prototype"], net.prototype)
    loaded, _ = dl.load_landmark_model(path)
    assert torch.equal(loaded.prototype, net.prototype)
    with pytest.raises(WeightsError, match="expected 'other'"):
        load_weights(path, "other", (1,))
    with pytest.raises(WeightsError, match="version"):
        load_weights(path, dl.WEIGHTS_KIND, (2,))
    (tmp_path / "bad.pt").write_bytes(b"not a file")
    with pytest.raises(WeightsError, match="not a readable"):
        load_weights(tmp_path / "bad.pt", dl.WEIGHTS_KIND, (1,))
