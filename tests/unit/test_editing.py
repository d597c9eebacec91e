"""NEO-3DF editing: Laplacians, differentiable ARAP, segment layout, controllers, edits, weights (no bpy)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from face_addon.core.editing.controllers import Rule, local_pairs, measure
from face_addon.core.geometry.arap import ARAP
from face_addon.core.geometry.laplacian import combinatorial_laplacian, cotangent_laplacian, submesh_faces


def grid(n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """A flat n x n vertex grid in the xz plane, triangulated."""
    x, z = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float))
    v = np.stack([x.ravel(), np.zeros(n * n), z.ravel()], 1)
    f = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, i * n + j + 1, (i + 1) * n + j, (i + 1) * n + j + 1
            f += [(a, b, d), (a, d, c)]
    return v, np.array(f)


def test_laplacians_annihilate_constants_and_cotangent_linear_functions():
    v, f = grid()
    for lap in (combinatorial_laplacian(len(v), f), cotangent_laplacian(v, f)):
        assert np.allclose(lap @ np.ones(len(v)), 0)
        assert abs(lap - lap.T).max() < 1e-12
    interior = [i for i in range(len(v)) if 0 < v[i, 0] < 5 and 0 < v[i, 2] < 5]
    lin = 2 * v[:, 0] - 3 * v[:, 2]
    assert np.allclose((cotangent_laplacian(v, f) @ lin)[interior], 0, atol=1e-9)
    sub, keep = submesh_faces(f, np.arange(12))
    assert sub.max() < len(keep) and len(sub) > 0


def test_arap_keeps_the_rest_shape_and_moves_rigidly():
    v, f = grid()
    v[:, 1] = 0.1 * np.sin(v[:, 0])  # a little curvature
    handles = np.array([0, 5, 30, 35, 14])
    arap = ARAP(len(v), f, handles)
    rest = torch.as_tensor(v)
    assert torch.allclose(arap(rest, rest[arap.constrained]), rest, atol=1e-9)
    shift = torch.tensor([0.3, -0.2, 1.0], dtype=torch.float64)
    assert torch.allclose(arap(rest, rest[arap.constrained] + shift), rest + shift, atol=1e-8)


def test_arap_is_differentiable_through_rotations_and_solves():
    v, f = grid(4)
    v[:, 1] = 0.2 * np.cos(v[:, 2])
    arap = ARAP(len(v), f, np.array([0, 3, 12, 15]), iterations=3)
    rest = torch.as_tensor(v)
    h = (rest[arap.constrained] + torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64)).clone().requires_grad_(True)
    h.data[0, 0] += 0.4
    assert torch.autograd.gradcheck(lambda x: arap(rest, x), (h,), eps=1e-6, atol=1e-5)


def test_measure_rules_axes_and_padding():
    shape = torch.tensor([[[0.0, 0, 0], [2.0, 1, 3], [-2.0, 1, 3]]])
    rules = [Rule("w", "s", ((1, 2),), "x"), Rule("d", "s", ((1, 0), (2, 0)), "norm")]
    pairs, axes = local_pairs(rules, np.arange(3))
    out = measure(shape, pairs, axes)
    assert out.shape == (1, 2)
    assert torch.allclose(out[0], torch.tensor([4.0, float(np.sqrt(14))]))


@pytest.fixture(scope="module")
def facekit():
    from face_addon.core.facekit import load_facekit

    try:
        return load_facekit()
    except FileNotFoundError:
        pytest.skip("FaceKit asset not built")


def test_layout_parts_are_islands_with_one_ring_overlap(facekit):
    from face_addon.core.editing.layout import PART_NAMES, build_layout
    from face_addon.core.geometry.laplacian import adjacency

    lay = build_layout(facekit.template, facekit.faces, facekit.segments)
    adj = adjacency(lay.n_vertices, facekit.faces)
    rest = lay.mask(lay.segments["rest"])
    for i, k in enumerate(PART_NAMES):
        part = lay.mask(lay.segments[k])
        assert np.array_equal(np.flatnonzero(part & rest), lay.boundary[k])
        for o in PART_NAMES[i + 1:]:  # parts never touch each other
            assert not (part & lay.mask(lay.segments[o])).any()
            assert adj[part][:, lay.mask(lay.segments[o])].nnz == 0
    union = np.zeros(lay.n_vertices, bool)
    for idx in lay.segments.values():
        union |= lay.mask(idx)
    assert union.all()
    trans = lay.mask(lay.transition)
    assert trans[lay.outer_boundary].all() and (rest | ~trans).all()


@pytest.fixture(scope="module")
def smoke_model(tmp_path_factory, facekit):
    """The CI training preset end to end: train, calibrate, export, reload with weights_only=True."""
    from face_addon.core.editing.model import load_model
    from face_addon.train.editing import main

    out = tmp_path_factory.mktemp("neo3df")
    assert main(["--out", str(out), "--smoke"]) == 0
    assert (out / "neo3df.json").is_file()
    return load_model(out / "neo3df.pt")


def test_edit_is_identity_at_zero_and_local(smoke_model, facekit):
    from face_addon.core.editing.edit import FaceEditor

    editor = FaceEditor(smoke_model)
    face = facekit.evaluate(facekit.sample_prior(np.random.default_rng(99), 1)[0][0])
    assert np.allclose(editor.edit(face, {}), face, atol=1e-6)
    nose = next(name for seg, name in editor.names if seg == "nose")
    edited = editor.edit(face, {nose: 3.0})
    moved = np.linalg.norm(edited - face, axis=1)
    affected = smoke_model.layout.affected("nose")
    assert moved[~affected].max() < 1e-6
    assert moved[affected].max() > 1e-5
    keys = editor.linear_keys(face)
    assert set(keys) == {name for _, name in editor.names} and keys[nose].shape == face.shape


def test_edit_rejects_other_topologies_and_unknown_controllers(smoke_model):
    from face_addon.core.editing.edit import FaceEditor

    editor = FaceEditor(smoke_model)
    with pytest.raises(ValueError, match="topology"):
        editor.encode(np.zeros((10, 3)))
    with pytest.raises(KeyError, match="unknown controller"):
        editor.values_tensor({"nose_lenght": 1.0})


def test_shipped_weights_load_safely_and_are_small():
    from face_addon.core.capabilities import MODELS_DIR, capability

    path = MODELS_DIR / "neo3df.pt"
    if not path.is_file():
        pytest.skip("neo3df.pt not trained yet")
    assert capability("edit").ready()
    assert path.stat().st_size < 10 * 2**20
    d = torch.load(path, weights_only=True)
    assert d["format"] == "neo3df" and sum(len(v) for v in d["controllers"]["names"].values()) >= 15


def test_part_masks_iou_and_alignment_steps(smoke_model, facekit):
    from face_addon.core.editing.alignment import align_to_masks, mean_iou, part_masks
    from face_addon.core.editing.edit import FaceEditor
    from face_addon.core.editing.raster import Camera

    editor, cam = FaceEditor(smoke_model), Camera(size=96)
    face = facekit.evaluate(facekit.sample_prior(np.random.default_rng(5), 1)[0][0])
    masks = part_masks(editor, face, cam)
    assert masks.shape == (5, 96, 96) and all(m.any() for m in masks)
    assert mean_iou(masks, masks)[0] == 1.0
    res = align_to_masks(editor, editor.encode(face * 1.02), masks, cam, steps=2)
    assert len(res.losses) == 3 and np.isfinite(res.vertices).all()
    assert min(res.losses) <= res.losses[0]
