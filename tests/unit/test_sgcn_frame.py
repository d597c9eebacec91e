"""2S-SGCN in the face frame (core/pipelines/sgcn_frame.py): the mask, the frame fits, equivariance, training data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from face_addon.core.capabilities import capability
from face_addon.core.mesh import Mesh
from face_addon.core.nets.sgcn import SGCN
from face_addon.core.pipelines import detect_landmarks as dl
from face_addon.core.pipelines.face_orientation import FaceFrame
from face_addon.core.pipelines.sgcn_frame import FrameCrop, crop_mesh, frame_from_landmarks, guessed_frames

needs_facekit = pytest.mark.skipif(not capability("facekit").ready(), reason="FaceKit asset not built")
CROP = FrameCrop(np.array([0.0, -0.08, -0.02]), 0.125, -0.01)


def _rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def test_mask_keeps_the_face_and_drops_the_back_and_far_points():
    pts = np.array([[0.0, -0.10, 0.0],     # nose: in
                    [0.0, 0.05, 0.0],      # back of the head: behind the plane
                    [0.0, -0.08, 0.2],     # far above: outside the ball
                    [0.06, -0.02, -0.02]])  # cheek by the ear: in
    assert CROP.keep(pts).tolist() == [True, False, False, True]
    st = CROP.standardization()
    assert np.allclose(st.apply(CROP.centre[None]), 0) and np.allclose(st.rotation, np.eye(3))
    assert np.allclose(np.linalg.norm(st.apply(CROP.centre[None] + [[0, 0, 0.125]])), 1.0)
    assert FrameCrop.from_meta(CROP.to_meta()).to_meta() == CROP.to_meta()


def test_crop_mesh_renumbers_the_kept_triangles():
    v = np.array([[0, -0.1, 0], [0.01, -0.1, 0], [0, -0.1, 0.01], [0, 0.2, 0]], np.float64)
    f = np.array([[0, 1, 2], [0, 1, 3]])
    index, faces = crop_mesh(v, f, CROP)
    assert index.tolist() == [0, 1, 2] and faces.tolist() == [[0, 1, 2]]
    index, faces = crop_mesh(v, None, CROP)
    assert index.tolist() == [0, 1, 2] and faces is None


def test_frame_from_landmarks_recovers_a_similarity_and_a_guess_finds_the_nose():
    rng = np.random.default_rng(1)
    mean = rng.normal(0, 0.05, (68, 3))
    rot, scale, centre = _rotation(2), 1000.0, np.array([5.0, -3.0, 40.0])
    frame = frame_from_landmarks(scale * mean @ rot.T + centre, mean)
    assert np.allclose(frame.rotation, rot) and frame.scale == pytest.approx(scale) and np.allclose(frame.centre, centre)
    assert frame.residual_mm == pytest.approx(0.0, abs=1e-6)
    d = rng.normal(size=(3000, 3))
    d[:, 1] = -np.abs(d[:, 1])             # the front half of an ellipsoid shell: a face crop, looking along -y
    head = d / np.linalg.norm(d, axis=1, keepdims=True) * [0.08, 0.05, 0.25]
    head[7] = [0.0, -0.3, 0.17]            # a brim near the top, further forward than the nose
    head[8] = [0.0, -0.2, 0.12]            # the nose, 0.13 m below the top
    guesses = guessed_frames(head, 1.0, mean)
    noses = np.array([g.from_canonical(mean[30][None])[0] for g in guesses])
    assert np.isclose(noses, head[7]).all(axis=1).any() and np.isclose(noses, head[8]).all(axis=1).any()
    a, b = np.radians(20), np.radians(15)
    turn = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]]) @ \
        np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    turned = guessed_frames(head @ turn.T, 1.0, mean)  # the principal axes follow a turned input
    assert np.allclose([g.from_canonical(mean[30][None])[0] for g in turned], noses @ turn.T)


def _face_frame_model(seed: int = 0):
    torch.manual_seed(seed)
    net = SGCN(width=8, depth=2).eval()
    net.prototype.copy_(torch.from_numpy(np.random.default_rng(seed).uniform(-0.5, 0.5, (68, 3))).float())
    return net, {"arch": net.config, "n_points": 500, "k": 16, "sigma": 0.03, "top": 12, "gamma": 5.0,
                 "frame_crop": CROP.to_meta()}


def _face_like_mesh(n_lat: int = 40, n_lon: int = 60):
    """A half ellipsoid where a face would be in the canonical frame (metres)."""
    th, ph = np.meshgrid(np.linspace(0.1, np.pi - 0.1, n_lat), np.linspace(0, np.pi, n_lon), indexing="ij")
    v = np.stack([0.07 * np.sin(th) * np.cos(ph), -0.11 * np.sin(th) * np.sin(ph), 0.1 * np.cos(th) - 0.02], -1)
    i = np.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    a, b, c, d = i[:-1, :-1].ravel(), i[:-1, 1:].ravel(), i[1:, :-1].ravel(), i[1:, 1:].ravel()
    return v.reshape(-1, 3), np.concatenate([np.stack([a, c, d], 1), np.stack([a, d, b], 1)])


def test_face_frame_reading_turns_with_the_scan_and_reports_input_vertices():
    v, f = _face_like_mesh()
    model = _face_frame_model()
    upright = FaceFrame(np.eye(3), np.zeros(3), 1.0, 0.9, 1.0, 1.0)
    a = dl.detect_landmarks_sgcn(Mesh(v, f), model=model, frame=upright)
    rot, centre = _rotation(3), np.array([100.0, 20.0, -50.0])
    turned = FaceFrame(rot, centre, 1000.0, 0.9, 1.0, 1.0)          # the same face turned, moved, in mm
    b = dl.detect_landmarks_sgcn(Mesh(turned.from_canonical(v), f), model=model, frame=turned)
    assert np.allclose(turned.to_canonical(b.landmarks), a.landmarks, atol=1e-7)
    assert b.unit_scale == 0.001 and not any("looks like it is in" in w for w in b.warnings)
    ok = b.vertex_index >= 0
    assert ok.any() and np.allclose(turned.from_canonical(v)[b.vertex_index[ok]], b.landmarks[ok])
    far = FaceFrame(np.eye(3), np.array([0.0, 0.0, 5.0]), 1.0, 0.9, 1.0, 1.0)  # a frame that misses the scan
    with pytest.raises(dl.MeshError, match="no surface where the face should be"):
        dl.detect_landmarks_sgcn(Mesh(v, f), model=model, frame=far)


def test_face_frame_model_without_a_frame_reads_its_guesses_on_a_point_cloud():
    v, _ = _face_like_mesh()
    r = dl.detect_landmarks(v * 1000, None, model=_face_frame_model(), method="sgcn")
    assert r.method == "sgcn" and r.landmarks.shape == (68, 3) and np.isfinite(r.landmarks).all()
    assert r.unit_scale == 0.001 and any("millimetres" in w for w in r.warnings)


@needs_facekit
def test_face_frame_examples_are_masked_standardised_and_peak_at_the_landmarks(tmp_path):
    from face_addon.core.facekit import load_facekit
    from face_addon.train.landmarks import Settings
    from face_addon.train.landmarks_data import make_example, mean_face_landmarks, smoke_samples
    from face_addon.core.pipelines.sgcn_frame import default_crop

    crop = default_crop(mean_face_landmarks())
    s = Settings(n_points=800, frame_crop=crop.to_meta())
    files = smoke_samples(tmp_path)
    lms = np.asarray(load_facekit().landmarks(load_facekit().template))
    assert np.allclose(crop.centre, lms.mean(0))
    for augmented in (False, True):
        feats, nbr, coarse, heat, lm_std = make_example(files[0], None, s, np.random.default_rng(4), augmented)
        assert feats.shape == (800, 6) and np.abs(feats[:, :3]).max() <= 1.0 + 0.03  # in the mask (+ fringe)
        assert np.allclose(np.linalg.norm(feats[:, 3:], axis=1), 1, atol=1e-5)
        inner = list(range(17, 68))  # inner points: on the surface the mask keeps, the heat peaks near them
        peak = feats[heat[:, inner].argmax(0), :3]
        assert np.linalg.norm(peak - lm_std[inner], axis=1).max() < 0.07  # 800 points: ~7 mm apart


def test_shipped_face_frame_model_warns_on_a_box_not_on_a_head():
    import trimesh

    from face_addon.core.facekit import load_facekit

    if not capability("facekit").ready():
        pytest.skip("FaceKit asset not built")
    net, meta = dl.load_landmark_model()
    if "frame_crop" not in meta:
        pytest.skip("the shipped 2S-SGCN weights are not face-frame weights")
    box = trimesh.creation.box(extents=(0.2, 0.25, 0.3)).subdivide().subdivide().subdivide()
    r = dl.detect_landmarks_sgcn(Mesh(np.asarray(box.vertices), np.asarray(box.faces)))
    assert any("does not look like a face" in w for w in r.warnings)
    fk = load_facekit()
    head = fk.subdivided()
    r = dl.detect_landmarks(head.template, head.faces, method="sgcn")  # read in the face frame found on it
    assert r.orientation is not None and not any("does not look like a face" in w for w in r.warnings)
    assert np.median(np.linalg.norm(r.landmarks - fk.landmarks(fk.template), axis=1)) < 0.005
