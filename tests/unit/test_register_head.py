"""Register Head on synthetic scans built from FaceKit itself (known identity, expression and similarity), and the
exact point-to-mesh distance behind d_surface. A generated scan (hair, clothes) is registered in
tests/integration/test_register_head_synth.py, which makes it with the bpy-based generator."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from face_addon.core.facekit import FaceKit, ensure_facekit, load_facekit
from face_addon.core.geometry.surface_distance import closest_on_triangles, point_mesh_distance
from face_addon.core.mesh import Mesh, MeshError, guess_unit_scale
from face_addon.core.geometry.normals import vertex_normals
from face_addon.core.geometry.similarity import rotation_vector, umeyama
from face_addon.core.pipelines.face_orientation import find_face_frame
from face_addon.core.pipelines.register_head import UNIT_FROM_FRAME, UNIT_FROM_SIZE, register_head
from face_addon.core.registration.metric import d_surface_mm
from face_addon.core.registration.solver import solve_bounded


@pytest.fixture(scope="module")
def fk() -> FaceKit:
    return load_facekit(ensure_facekit())


@dataclass
class Scan:
    vertices: np.ndarray      # scan vertices (head + hair cap), world frame
    faces: np.ndarray
    skin: np.ndarray          # (n,) bool
    landmarks: np.ndarray     # (68, 3) perturbed, world frame
    true_head: np.ndarray     # (4350, 3) true FaceKit head in model space (metres)
    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def to_model(self, world: np.ndarray) -> np.ndarray:
        return (world - self.translation) @ self.rotation / self.scale


@pytest.fixture(scope="module")
def scan(fk) -> Scan:
    """A subdivided FaceKit head (17k vertices) with a random prior identity and expression, scaled ×1.1, rotated
    by up to 20° and moved; 0.3 mm noise; the scalp is covered by a hair cap 12 mm out (non-skin, plus 150
    hair points wrongly marked skin at the hairline); no skin on the scalp; landmarks off by 3 mm."""
    rng = np.random.default_rng(3)
    sub = fk.subdivided()
    a_id, a_exp = fk.sample_prior(rng, 1)
    head = sub.evaluate(a_id[0], a_exp[0])
    rot, scale, shift = rotation_vector(np.radians([15.0, -20.0, 10.0])), 1.1, np.array([0.3, -0.2, 1.0])
    world = lambda x: scale * x @ rot.T + shift  # noqa: E731
    scalp = (sub.template[:, 2] > 0.07) | ((sub.template[:, 1] > 0.0) & (sub.template[:, 2] > 0.0))
    cap = head[scalp] + 0.012 * vertex_normals(head, sub.faces)[scalp] + rng.normal(0, 0.002, (scalp.sum(), 3))
    verts = np.concatenate([world(head) + rng.normal(0, 0.0003, head.shape), world(cap)])
    skin = np.concatenate([~scalp, np.zeros(len(cap), bool)])
    skin[len(head) + np.flatnonzero(cap[:, 2] < 0.09)[:150]] = True
    landmarks = world(fk.landmarks(head)) + rng.normal(0, 0.003, (68, 3))
    return Scan(verts, sub.faces, skin, landmarks, fk.evaluate(a_id[0], a_exp[0]),
                scale, rot, shift)


def test_recovers_a_known_head_through_hair_and_noise(fk, scan):
    reg = register_head(scan.vertices, scan.faces, scan.skin, landmarks=scan.landmarks, facekit=fk)
    err = d_surface_mm(scan.to_model(reg.vertices), scan.true_head, fk.faces, fk.spa)
    s0, r0, t0 = umeyama(fk.landmarks(fk.template)[17:], scan.landmarks[17:])  # landmarks-only alignment
    err_landmarks_only = d_surface_mm(scan.to_model(s0 * fk.template @ r0.T + t0), scan.true_head, fk.faces, fk.spa)
    assert err < 0.5 and err < err_landmarks_only / 4, (err, err_landmarks_only)
    assert reg.vertices.shape == (fk.n_vertices, 3) and np.array_equal(reg.faces, fk.faces)
    assert isinstance(reg.scale, float) and reg.alpha_id.shape == (fk.n_identity,)
    model = fk.evaluate(reg.alpha_id, reg.alpha_exp)
    np.testing.assert_allclose(reg.scale * model @ reg.rotation.T + reg.translation, reg.vertices, atol=1e-6)
    assert abs(np.linalg.det(reg.rotation) - 1) < 1e-9 and abs(reg.scale / scan.scale - 1) < 0.05
    assert reg.residual_mm < 1.0 and reg.warnings == [] and reg.n_skin_points == scan.skin.sum()
    assert ((reg.alpha_exp >= 0) & (reg.alpha_exp <= 1)).all()


def test_millimetre_scan_gives_millimetres(fk, scan):
    metres = register_head(scan.vertices, scan.faces, scan.skin, landmarks=scan.landmarks, facekit=fk)
    mm = register_head(scan.vertices * 1000, scan.faces, scan.skin, landmarks=scan.landmarks * 1000, facekit=fk)
    assert (mm.unit_scale, mm.unit_name, mm.unit_source) == (0.001, "mm", UNIT_FROM_FRAME) and mm.warnings == []
    assert (metres.unit_scale, metres.unit_source) == (1.0, UNIT_FROM_FRAME)
    np.testing.assert_allclose(mm.vertices / 1000, metres.vertices, atol=1e-6)
    assert mm.scale == pytest.approx(1000 * metres.scale) and mm.residual_mm == pytest.approx(metres.residual_mm)


def test_arbitrary_unit_comes_from_the_face_frame(fk, scan):
    """1 unit = 4.9 cm (like the Lee Perry-Smith head): the bounding box would say decimetres; the unit is the
    face frame's, the one Detect Landmarks reports, and the head lands on the scan as well as in metres."""
    k = 1 / 0.049
    scaled = register_head(scan.vertices * k, scan.faces, scan.skin, landmarks=scan.landmarks * k, facekit=fk)
    frame = find_face_frame(scan.vertices * k, scan.faces)
    assert guess_unit_scale(Mesh(scan.vertices * k, scan.faces)) == 0.1  # what the size alone would claim
    assert scaled.unit_source == UNIT_FROM_FRAME and scaled.unit_scale == pytest.approx(frame.unit_scale)
    assert scaled.unit_name == frame.to_dict()["units"] and scaled.warnings == []
    err = d_surface_mm(scan.to_model(scaled.vertices / k), scan.true_head, fk.faces, fk.spa)
    assert err < 0.6, err
    metres = register_head(scan.vertices, scan.faces, scan.skin, landmarks=scan.landmarks, facekit=fk)
    # residual_mm is in the frame's millimetres (scan units × unit_scale), not in a bounding-box guess's
    assert scaled.residual_mm == pytest.approx(metres.residual_mm * scaled.unit_scale * k, rel=0.3)


def test_point_cloud_input(fk, scan):
    """Without faces the skin normals come from PCA of the neighbourhoods: still well under a millimetre."""
    reg = register_head(scan.vertices, None, scan.skin, landmarks=scan.landmarks, facekit=fk)
    assert d_surface_mm(scan.to_model(reg.vertices), scan.true_head, fk.faces, fk.spa) < 0.6
    assert reg.unit_source == UNIT_FROM_SIZE  # no triangles to render: no face frame, the size decides


def test_nonrigid_refinement_does_not_hurt(fk, scan):
    rigid = register_head(scan.vertices, scan.faces, scan.skin, landmarks=scan.landmarks, facekit=fk)
    free = register_head(scan.vertices, scan.faces, scan.skin, landmarks=scan.landmarks, facekit=fk, nonrigid=True)
    err = [d_surface_mm(scan.to_model(r.vertices), scan.true_head, fk.faces, fk.spa) for r in (rigid, free)]
    assert err[1] <= err[0] + 0.05 and free.residual_mm <= rigid.residual_mm + 0.02
    assert free.timings["nonrigid_s"] > 0 and "nonrigid_s" not in rigid.timings


def test_skin_probabilities_and_bad_input(fk, scan):
    prob = np.where(scan.skin, 0.9, 0.1)
    reg = register_head(scan.vertices, scan.faces, prob, landmarks=scan.landmarks, facekit=fk)
    assert reg.n_skin_points == scan.skin.sum()
    few = np.zeros(len(scan.vertices), bool)
    few[:300] = True
    with pytest.raises(MeshError, match="too few"):
        register_head(scan.vertices, scan.faces, few, landmarks=scan.landmarks, facekit=fk)
    bad = scan.vertices.copy()
    bad[5] = np.nan
    with pytest.raises(MeshError, match="NaN"):
        register_head(bad, scan.faces, scan.skin, landmarks=scan.landmarks, facekit=fk)
    with pytest.raises(MeshError, match="one value per scan vertex"):
        register_head(scan.vertices, scan.faces, scan.skin[:-1], landmarks=scan.landmarks, facekit=fk)
    with pytest.raises(MeshError, match="68, 3"):
        register_head(scan.vertices, scan.faces, scan.skin, landmarks=scan.landmarks[:10], facekit=fk)
    with pytest.raises(MeshError, match="degenerate"):
        register_head(scan.vertices, scan.faces, scan.skin, landmarks=np.zeros((68, 3)), facekit=fk)


def test_landmarks_of_something_else_warn(fk, scan):
    """Landmarks in the wrong place (turned to the back of the head) give a poor fit, which is reported."""
    centre = scan.vertices[np.unique(scan.faces)].mean(axis=0)  # of the head, without the cap
    wrong = (scan.landmarks - centre) @ rotation_vector(scan.rotation @ [0.0, 0.0, np.pi]).T + centre
    reg = register_head(scan.vertices, scan.faces, scan.skin, landmarks=wrong, facekit=fk)
    assert any("fits the skin poorly" in w for w in reg.warnings)


def test_d_surface_zero_for_identical_and_offset_for_shifted(fk):
    v = fk.template
    assert d_surface_mm(v, v, fk.faces, fk.spa) == pytest.approx(0.0, abs=1e-9)
    shifted = v + 0.0005 * vertex_normals(v, fk.faces)
    assert d_surface_mm(shifted, v, fk.faces, fk.spa) == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError, match="topology"):
        d_surface_mm(v[:-1], v, fk.faces, fk.spa)


def test_point_mesh_distance_is_exact():
    """Against brute force over every triangle, for points near and far from a bumpy grid with long thin
    triangles (where nearest-vertex shortcuts go wrong)."""
    rng = np.random.default_rng(0)
    x, y = np.meshgrid(np.linspace(0, 1, 12) ** 2, np.linspace(0, 1, 5))
    v = np.stack([x.ravel(), y.ravel(), 0.05 * np.sin(7 * x.ravel()) * np.cos(5 * y.ravel())], 1)
    idx = np.arange(60).reshape(5, 12)
    f = np.concatenate([np.stack([idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:]], -1).reshape(-1, 3),
                        np.stack([idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], -1).reshape(-1, 3)])
    p = rng.uniform(-0.2, 1.2, (400, 3)) * [1, 1, 0.3]
    q, d, fi = point_mesh_distance(p, v, f, chunk=64)
    brute = np.linalg.norm(closest_on_triangles(p[:, None], v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]) - p[:, None], axis=2)
    np.testing.assert_allclose(d, brute.min(axis=1), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(q - p, axis=1), d, atol=1e-12)
    np.testing.assert_allclose(brute[np.arange(len(p)), fi], d, atol=1e-12)


def test_umeyama_and_bounded_solve():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(30, 3))
    rot = rotation_vector(np.array([0.3, -0.2, 0.5]))
    s, r, t = umeyama(src, 2.5 * src @ rot.T + [1.0, 2.0, 3.0])
    assert s == pytest.approx(2.5) and np.allclose(r, rot) and np.allclose(t, [1, 2, 3])
    m = rng.normal(size=(8, 8))
    a = m @ m.T + np.eye(8)
    b = rng.normal(size=8) * 5
    lo, hi = np.full(8, -0.3), np.full(8, 0.3)
    x = solve_bounded(a, b, lo, hi)
    from scipy.optimize import minimize

    ref = minimize(lambda z: 0.5 * z @ a @ z - b @ z, np.zeros(8), jac=lambda z: a @ z - b, bounds=list(zip(lo, hi)),
                   method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12}).x
    np.testing.assert_allclose(x, ref, atol=1e-5)


def test_frame_unit_given_by_the_caller(fk, scan):
    """A unit the caller already has (the landmarks' face frame) is used as is, without a new search."""
    k = 1 / 0.049
    reg = register_head(scan.vertices * k, scan.faces, scan.skin, landmarks=scan.landmarks * k, facekit=fk,
                        frame_unit=0.045)
    assert (reg.unit_scale, reg.unit_source, reg.unit_name) == (0.045, UNIT_FROM_FRAME, "0.045 m")
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(MeshError, match="unit"):
            register_head(scan.vertices, scan.faces, scan.skin, landmarks=scan.landmarks, facekit=fk, frame_unit=bad)
