"""DiffusionNet and its operators: spectrum, mass, gradients, σ_k, HKS, the operator cache, the network."""
import numpy as np
import pytest
import torch
import trimesh

from face_addon.core.geometry.spectral import Operators, cached_operators, compute_operators
from face_addon.core.geometry.surface_features import heat_kernel_signature, stack_features, surface_variation
from face_addon.core.nets.diffusion_net import DiffusionNet, DiffusionOperators

torch.set_num_threads(1)


def _sphere(subdivisions: int = 3) -> tuple[np.ndarray, np.ndarray]:
    m = trimesh.creation.icosphere(subdivisions)
    return np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64)


def _bumpy(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An ellipsoid with random radial bumps: no symmetry, so no degenerate eigenspaces for k to split."""
    v, f = _sphere(2)
    r = 1 + 0.05 * np.random.default_rng(seed).standard_normal(len(v))
    return v * r[:, None] * [1.0, 0.8, 0.6], f


def _grid(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An n×n planar patch in z = 0.3 with jittered vertices, triangulated."""
    u, w = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float), indexing="ij")
    v = np.stack([u.ravel(), w.ravel(), np.full(n * n, 0.3)], 1) / n
    v[:, :2] += np.random.default_rng(seed).uniform(-0.2, 0.2, (n * n, 2)) / n
    i = np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]
    i = i.ravel()
    f = np.concatenate([np.stack([i, i + n, i + 1], 1), np.stack([i + 1, i + n, i + n + 1], 1)])
    return v, f


def _rigid(v: np.ndarray, seed: int = 1) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((3, 3)))
    q *= np.sign(np.linalg.det(q))  # a rotation, not a reflection
    return v @ q.T + [0.4, -1.2, 2.5]


@pytest.fixture(scope="module")
def sphere_ops() -> tuple[np.ndarray, np.ndarray, Operators]:
    v, f = _sphere(3)
    return v, f, compute_operators(v, f, k_eig=16)


def test_unit_sphere_spectrum_mass_and_orthonormal_basis(sphere_ops):
    v, f, ops = sphere_ops
    assert ops.evals.shape == (16,) and ops.evecs.shape == (len(v), 16)
    assert abs(ops.evals[0]) < 1e-8
    np.testing.assert_allclose(ops.evals[1:4], 2.0, rtol=0.02)  # l(l+1): l = 1
    np.testing.assert_allclose(ops.evals[4:9], 6.0, rtol=0.02)  # l = 2
    np.testing.assert_allclose(ops.mass.sum(), trimesh.Trimesh(v, f).area, rtol=1e-4)
    gram = ops.evecs.T @ (ops.mass[:, None] * ops.evecs)
    np.testing.assert_allclose(gram, np.eye(16), atol=1e-8)
    np.testing.assert_allclose((ops.normals * v).sum(1), 1.0, atol=1e-2)  # outward unit normals


def test_point_cloud_operators_see_the_sphere():
    v, _ = _sphere(3)
    ops = compute_operators(v, None, k_eig=9)
    np.testing.assert_allclose(ops.evals[1:4], 2.0, rtol=0.1)
    np.testing.assert_allclose(ops.mass.sum(), 4 * np.pi, rtol=0.1)
    assert np.abs((ops.normals * v).sum(1)).min() > 0.99


def test_tiny_shape_gets_its_whole_spectrum():
    ico = trimesh.creation.icosahedron()
    ops = compute_operators(np.asarray(ico.vertices), np.asarray(ico.faces), k_eig=128)
    assert ops.evals.shape == (12,) and ops.evecs.shape == (12, 12)
    assert np.all(np.diff(ops.evals) >= -1e-9)


@pytest.mark.parametrize("cloud", [False, True])
def test_gradient_of_a_linear_function_on_a_plane_is_exact(cloud):
    v, f = _grid()
    ops = compute_operators(v, None if cloud else f, k_eig=8)
    fx = 2.0 * v[:, 0] - 0.5 * v[:, 1]
    gx, gy = ops.grad_x @ fx, ops.grad_y @ fx
    g3 = gx[:, None] * ops.frames[:, 0] + gy[:, None] * ops.frames[:, 1]
    np.testing.assert_allclose(g3, np.broadcast_to([2.0, -0.5, 0.0], g3.shape), atol=1e-6)
    np.testing.assert_allclose(np.hypot(gx, gy), np.hypot(2.0, 0.5), atol=1e-6)  # |∇f| in every frame
    np.testing.assert_allclose(np.abs(ops.normals[:, 2]), 1.0, atol=1e-9)


def test_gradient_on_a_curved_surface_is_the_tangent_projection(sphere_ops):
    v, _, ops = sphere_ops
    gx, gy = ops.grad_x @ v[:, 2], ops.grad_y @ v[:, 2]
    g3 = gx[:, None] * ops.frames[:, 0] + gy[:, None] * ops.frames[:, 1]
    expected = np.array([0.0, 0.0, 1.0]) - v[:, 2:3] * v
    assert np.abs(g3 - expected).max() < 0.05


def test_surface_variation_is_zero_on_a_plane_and_positive_on_rough_or_curved_surfaces():
    v, _ = _grid(10)
    assert surface_variation(v, 30).max() < 1e-12
    rough = v + [0, 0, 0.03] * np.random.default_rng(0).standard_normal((len(v), 1))  # spacing 0.1
    noisy = surface_variation(rough, 30)
    s, _ = _sphere(3)
    curved = surface_variation(s, 30)
    assert noisy.min() > 1e-4 and noisy.mean() > 5e-3 and noisy.max() <= 1 / 3 + 1e-12
    assert curved.min() > 1e-3  # a sphere of radius 10 × spacing, 30 neighbours


def test_hks_is_invariant_to_rigid_motion_and_scale():
    v, f = _bumpy()
    a = compute_operators(v, f, k_eig=16)
    b = compute_operators(_rigid(v), f, k_eig=16)
    c = compute_operators(250.0 * v, f, k_eig=16)  # the same head in mm instead of m
    ha = heat_kernel_signature(a.evals, a.evecs, a.mass, 8)
    assert ha.shape == (len(v), 8) and np.isfinite(ha).all()
    np.testing.assert_allclose(heat_kernel_signature(b.evals, b.evecs, b.mass, 8), ha, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(heat_kernel_signature(c.evals, c.evecs, c.mass, 8), ha, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose((a.mass[:, None] * ha).sum(0) / a.mass.sum(), 1.0)


def test_stack_features_orders_columns_and_checks_inputs(sphere_ops):
    v, _, ops = sphere_ops
    colors = np.random.default_rng(0).integers(0, 256, (len(v), 4), dtype=np.uint8)
    x = stack_features(v, ops, colors, n_hks=5)
    assert x.dtype == np.float32 and x.shape == (len(v), 1 + 5 + 3)
    np.testing.assert_allclose(x[:, 6:], colors[:, :3] / 255.0, atol=1e-6)
    assert stack_features(v, ops, features=("hks",), n_hks=4).shape == (len(v), 4)
    with pytest.raises(ValueError, match="colours"):
        stack_features(v, ops)
    with pytest.raises(ValueError, match="subset"):
        stack_features(v, ops, colors, features=("curvature",))
    with pytest.raises(ValueError, match="operators"):
        stack_features(v[:-1], ops, features=("sigma30",))


def test_operator_cache_round_trip_and_miss(tmp_path):
    v, f = _bumpy()
    first = cached_operators(v, f, tmp_path, k_eig=8)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = cached_operators(v.copy(), f.copy(), tmp_path, k_eig=8)
    for name in ("mass", "evals", "evecs", "frames"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    for name in ("laplacian", "grad_x", "grad_y"):
        assert (getattr(again, name) != getattr(first, name)).nnz == 0
    moved = v.copy()
    moved[0, 0] += 1e-6
    cached_operators(moved, f, tmp_path, k_eig=8)
    cached_operators(v, None, tmp_path, k_eig=8)  # the same points as a cloud
    cached_operators(v, f, tmp_path, k_eig=9)
    assert len(list(tmp_path.glob("*.npz"))) == 4 and not list(tmp_path.glob("*.tmp*"))


@pytest.mark.parametrize("vertices, faces, match", [
    (np.zeros((0, 3)), None, "at least 4"),
    (np.zeros((10, 2)), None, r"\(n, 3\)"),
    (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [np.nan, 0, 1.0]]), None, "NaN"),
    (np.eye(4, 3), np.array([[0, 1, 5]]), "indices"),
    (np.eye(4, 3), np.array([[0, 1, 2]]), "belong to no face"),
    (np.eye(4, 3), np.zeros((0, 3), int), "non-empty"),
])
def test_bad_inputs_raise(vertices, faces, match):
    with pytest.raises(ValueError, match=match):
        compute_operators(vertices, faces)


def test_bad_k_and_bad_feature_shapes_raise(sphere_ops):
    v, f, ops = sphere_ops
    with pytest.raises(ValueError, match="k_eig"):
        compute_operators(v, f, k_eig=0)
    net = DiffusionNet(in_channels=3, width=8, n_blocks=1)
    t_ops = DiffusionOperators.from_operators(ops)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        net(torch.zeros(len(v), 4), t_ops)
    with pytest.raises(ValueError, match="rows"):
        net(torch.zeros(len(v) - 1, 3), t_ops)


def test_forward_shape_config_and_gradient_reaches_diffusion_time(sphere_ops):
    v, _, ops = sphere_ops
    torch.manual_seed(0)
    net = DiffusionNet(in_channels=3, out_channels=2, width=16, n_blocks=2)
    assert net.config["width"] == 16 and net.config["n_blocks"] == 2 and net.config["dropout"] == 0.5
    assert DiffusionNet(in_channels=4).config["width"] == 128 and len(DiffusionNet(in_channels=4).blocks) == 4
    with torch.no_grad():
        net.blocks[0].diffusion.time.fill_(-1.0)  # as an optimiser step may leave it
    x, t_ops = torch.as_tensor(v, dtype=torch.float32), DiffusionOperators.from_operators(ops)
    out = net(x, t_ops)
    assert out.shape == (len(v), 2)
    (out.square().mean() + net(x, t_ops).mean()).backward()  # two shapes' losses in one graph
    for block in net.blocks:
        assert (block.diffusion.time >= 0).all()  # projected back onto t ≥ 0
        assert block.diffusion.time.grad is not None and block.diffusion.time.grad.abs().sum() > 0


@pytest.mark.parametrize("rotations", [True, False])
def test_output_is_invariant_to_rigid_motion_with_hks_input(rotations):
    v, f = _bumpy()
    torch.manual_seed(0)
    net = DiffusionNet(in_channels=8, width=16, n_blocks=2, with_gradient_rotations=rotations).eval()
    with torch.no_grad():
        for block in net.blocks:
            block.diffusion.time.fill_(0.05)  # real diffusion, so the gradient path carries signal
    outs, grads = [], []
    net.blocks[0].gradient.register_forward_hook(lambda module, args, out: grads.append(out))
    for verts in (v, _rigid(v)):  # the tangent frames differ (they follow the coordinate axes)
        ops = compute_operators(verts, f, k_eig=16)
        x = torch.as_tensor(stack_features(verts, ops, features=("hks",), n_hks=8))
        with torch.no_grad():
            outs.append(net(x, DiffusionOperators.from_operators(ops)))
    for a, b in ((outs[0], outs[1]), (grads[0], grads[1])):
        scale = float(a.abs().max())
        assert scale > 0 and torch.allclose(a, b, atol=1e-4 * scale)


def test_a_tiny_net_learns_to_separate_the_hemispheres(sphere_ops):
    v, _, ops = sphere_ops
    torch.manual_seed(0)
    x = torch.as_tensor(v, dtype=torch.float32)
    labels = torch.as_tensor(v[:, 2] > 0).long()
    t_ops = DiffusionOperators.from_operators(ops)
    net = DiffusionNet(in_channels=3, out_channels=2, width=16, n_blocks=2, dropout=0.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x, t_ops), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0]
    accuracy = (net(x, t_ops).argmax(1) == labels).float().mean()
    assert accuracy > 0.95
