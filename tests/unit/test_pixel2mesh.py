"""Pixel2Mesh-face core: hemisphere and unpooling topology, crop space, ground-truth sampling, losses, metrics."""
import numpy as np
import pytest
import torch

from face_addon.core.geometry.point_metrics import chamfer, f_score
from face_addon.core.nets.pixel2mesh import (
    HEMISPHERE_DEPTH, Pixel2MeshFace, Unpool, hemisphere, mesh_levels, pool_features, subdivide, unique_edges)
from face_addon.core.photo.camera import Crop
from face_addon.core.photo.crop_space import CropCamera, assumed_camera
from face_addon.core.photo.face_surface import REGION_COUNTS, front_face_triangles, ground_truth_points, region_of
from face_addon.train.pixel2mesh import LAMBDA, laplace_coords, losses, total_loss


def _euler(faces: np.ndarray, n: int) -> int:
    return n - len(unique_edges(faces)) + len(faces)


def test_hemisphere_has_141_vertices_a_disc_topology_and_faces_the_camera():
    v, f = hemisphere()
    assert len(v) == 141
    assert _euler(f, len(v)) == 1  # a disc: one open rim
    assert v[0, 2] == pytest.approx(HEMISPHERE_DEPTH - 0.7) and v[:, 2].max() == pytest.approx(HEMISPHERE_DEPTH)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    c = v[f].mean(1) - [0, 0, HEMISPHERE_DEPTH]
    assert ((n * c).sum(1) > 0).all()  # consistently wound, normals outwards (towards the camera)


def test_unpooling_levels_split_every_edge_and_triangle():
    v, levels, unpool = mesh_levels()
    assert [lv.n_vertices for lv in levels] == [141, 547, 2157, 8569]
    for lv, nxt, e in zip(levels[:-1], levels[1:], unpool):
        assert len(e) == len(lv.edges) and len(nxt.faces) == 4 * len(lv.faces)
        assert _euler(nxt.faces, nxt.n_vertices) == 1
        assert np.bincount(nxt.faces.ravel(), minlength=nxt.n_vertices).min() > 0
    edges, faces = subdivide(np.array([[0, 1, 2]]), 3)
    assert edges.tolist() == [[0, 1], [0, 2], [1, 2]] and len(faces) == 4


def test_adaptive_unpooling_starts_at_midpoints_and_learns_positions():
    edges = np.array([[0, 1], [1, 2]])
    x = torch.tensor([[[0.0, 0, 0], [2.0, 0, 0], [2.0, 2, 0]]])
    plain, adaptive = Unpool(edges, False), Unpool(edges, True)
    assert torch.allclose(plain(x), adaptive(x))
    assert torch.allclose(plain(x)[0, 3:], torch.tensor([[1.0, 0, 0], [2.0, 1, 0]]))
    adaptive(x)[0, 3, 0].backward()
    assert adaptive.logit.grad[0] != 0 and adaptive.logit.grad[1] == 0
    assert not list(plain.parameters())


def test_pooling_reads_the_feature_at_each_vertex_projection():
    fmap = torch.zeros(1, 1, 8, 8)
    fmap[0, 0, 2, 5] = 1.0  # row 2, column 5
    x, y = (2 * 5 + 1) / 8 - 1, (2 * 2 + 1) / 8 - 1  # that pixel's centre in grid coordinates
    got = pool_features([fmap], torch.tensor([[[x, y, 0.3], [x + 0.25, y, 0.0], [5.0, 5.0, 0.0]]]))
    assert got[0, :, 0].tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_crop_space_is_the_exact_projection_and_inverts():
    k = np.array([[900.0, 0, 310], [0, 900, 250], [0, 0, 1]])
    crop = Crop.around((200.0, 150.0, 420.0, 380.0), 1.1)
    cam = CropCamera(k, crop, 0.55)
    p = np.random.default_rng(1).normal([0, 0, 0.55], [0.05, 0.05, 0.03], (50, 3))
    q = cam.to_crop_space(p)
    uv = (p @ k.T)[:, :2] / p[:, 2:]
    assert np.allclose(q[:, :2] * 112 + 111.5, crop.to_crop(uv))
    assert np.allclose(cam.to_camera(q), p)
    # units are isotropic at the reference depth: a 1 cm step in x or z is the same crop-space length
    a, b, c = cam.to_crop_space(np.array([[0, 0, 0.55], [0.01, 0, 0.55], [0, 0, 0.56]]))
    assert np.linalg.norm(b - a) == pytest.approx(np.linalg.norm(c - a), rel=0.02)
    guess = assumed_camera(crop, q, face_size_m=cam.unit_m * np.sqrt(((q[:, :2] - q[:, :2].mean(0)) ** 2).sum(1).mean()))
    assert guess.unit_m == pytest.approx(cam.unit_m)


@pytest.fixture(scope="module")
def true_face():
    from face_addon.core.facekit import load_facekit

    fk = load_facekit()
    rng = np.random.default_rng(3)
    a_id, a_exp = fk.sample_prior(rng)
    v = fk.evaluate(a_id[0], a_exp[0]) @ np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]).T + [0, 0, 0.6]
    return fk, v


def test_weighted_sampling_draws_the_papers_counts_per_landmark_region(true_face):
    fk, v = true_face
    lm = v[fk.landmark_indices]
    rng = np.random.default_rng(0)
    pts, nrm = ground_truth_points(v, v, lm, rng, weighted=True)
    assert len(pts) == sum(REGION_COUNTS) and np.allclose(np.linalg.norm(nrm, axis=1), 1, atol=1e-6)
    counts = np.bincount(region_of(pts, lm), minlength=3)
    assert counts.tolist() == list(REGION_COUNTS)
    uni, _ = ground_truth_points(v, v, lm, rng, weighted=False)
    # uniform sampling puts far fewer points within 10 mm of a landmark than the weighted draw's 3000
    assert np.bincount(region_of(uni, lm), minlength=3)[2] != REGION_COUNTS[2]
    assert len(front_face_triangles()) > 3000


def test_chamfer_and_f_score_match_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(200, 3))
    d = np.linalg.norm(a[:, None] - b[None], axis=2)
    assert chamfer(a, b) == pytest.approx(0.5 * (d.min(1).mean() + d.min(0).mean()))
    p, r = (d.min(1) < 0.3).mean(), (d.min(0) < 0.3).mean()
    assert f_score(a, b, 0.3) == pytest.approx(100 * 2 * p * r / (p + r))
    assert f_score(a, a, 1e-9) == pytest.approx(100.0) and chamfer(a, a) == 0.0


def test_losses_match_their_definition_and_train_a_tiny_network():
    torch.manual_seed(0)
    net = Pixel2MeshFace(hidden=8, n_res=1)
    x = torch.rand(1, 3, 224, 224)
    out = net(x)
    assert [s.shape[1] for s in out["stages"]] == [141, 547, 2157, 8569]
    adj = net._adj[2]
    assert torch.allclose(laplace_coords(out["before"][2], adj), laplace_coords(out["before"][2], adj))
    # the chamfer term equals the brute-force stage-weighted sum of squared nearest distances
    target = torch.rand(500, 3) - 0.5
    normals = torch.nn.functional.normalize(torch.randn_like(target), dim=1)
    terms = losses(out, [(target, normals)], net)
    assert set(terms) == {"chamfer", *LAMBDA}
    want = 0.0
    for w, stage in zip((0.5, 1, 1, 1), out["stages"]):
        d = torch.cdist(target, stage[0].detach()) ** 2
        want += w * float(d.min(1).values.mean() + d.min(0).values.mean())
    assert float(terms["chamfer"]) == pytest.approx(want, rel=1e-4)
    # a flat disc target: a few Adam steps reduce the total loss
    g = torch.rand(4000, 2) * 2 - 1
    disc = torch.cat([g[(g ** 2).sum(1) < 0.5], torch.zeros(1, 1).expand(int(((g ** 2).sum(1) < 0.5).sum()), 1)], 1)
    target = [(disc, torch.tensor([[0.0, 0, 1]]).expand_as(disc))]
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    first = None
    for _ in range(4):
        loss = total_loss(losses(net(x), target, net))
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first
