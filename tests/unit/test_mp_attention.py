"""MediaPipe's attention face mesh in our executor: the FlexBuffers options, the three custom ops against plain
numpy references written from MediaPipe's op definitions (mediapipe/util/tflite/operations/*.cc, 0.10.14), and
the whole model against MediaPipe's own solution (no bpy).

The astronaut reference was produced once, outside the tests, with mediapipe 0.10.14's python
FaceMesh(static_image_mode=True, refine_landmarks=True), shifted to pixel-centre coordinates; all 478 points of
our run agree with it within 0.03 px (x, y) and 0.06 (z).
"""
from __future__ import annotations

import math
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from face_addon.core.photo import image_io, mp_flexbuffer
from face_addon.core.photo.face_mesh import detect, face_roi, meshes_in_rois
from face_addon.core.photo.mediapipe_assets import ensure_mediapipe_face, load_model
from face_addon.core.photo.mp_crop import as_image_tensor
from face_addon.core.photo.tflite_torch import TFLiteGraph

torch = pytest.importorskip("torch")
from face_addon.core.photo import mp_custom_ops  # noqa: E402

SKIMAGE_DATA = Path(find_spec("skimage").submodule_search_locations[0]) / "data"


# ---------------------------------------------------------------------------------------------- flexbuffers

def test_flexbuffer_reads_the_models_options_and_rejects_unknown_kinds():
    # the 40 custom_options bytes of the model's TransformTensorBilinear ops, as stored in the .tflite
    raw = bytes.fromhex("6f75747075745f686569676874006f75747075745f776964746800021c0f02010210100404042401")
    assert mp_flexbuffer.loads(raw) == {"output_height": 16, "output_width": 16}
    assert mp_flexbuffer.loads(b"\x02\x03\xff\x02\x2c\x01") == [3, -1]  # typed int8 vector, root width 1
    with pytest.raises(ValueError, match="kind 25"):
        mp_flexbuffer.loads(b"\x00\x00\x64\x01")  # a blob
    with pytest.raises(ValueError, match="too short"):
        mp_flexbuffer.loads(b"\x00")


# ---------------------------------------------------------------------------------------------- custom ops

def _matrix_reference(lm: np.ndarray, opt: dict) -> np.ndarray:
    """Landmarks2TransformMatrix v2 for one (K, 3) landmark set, as the 4×4 product MediaPipe builds."""
    (lx, ly), (rx, ry) = lm[opt["left_rotation_idx"], :2], lm[opt["right_rotation_idx"], :2]
    r = opt["target_rotation_radians"] - math.atan2(ry - ly, rx - lx)

    def rot(a):
        m = np.eye(4)
        m[:2, :2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
        return m

    def shift(x, y):
        m = np.eye(4)
        m[:2, 3] = x, y
        return m

    pts = np.array([rot(r)[:2, :2] @ lm[i, :2] for i in opt["subset_idxs"]])
    lo, hi = pts.min(0), pts.max(0)
    cx, cy = rot(-r)[:2, :2] @ ((lo + hi) / 2)
    scale = np.diag([opt["scale_x"] * (hi[0] - lo[0]) / opt["output_width"],
                     opt["scale_y"] * (hi[1] - lo[1]) / opt["output_height"], 1.0, 1.0])
    return shift(cx, cy) @ rot(-r) @ scale @ shift(-opt["output_width"] / 2, -opt["output_height"] / 2)


def _bilinear_reference(x: np.ndarray, m: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """TransformTensorBilinear v2 for one NHWC (H, W, C) map, pixel by pixel."""
    h, w, c = x.shape
    tx = m[0].copy()
    ty = m[1].copy()
    tx[3] += 0.5 * tx[0] + 0.5 * tx[1] - 0.5  # the align-corners correction
    ty[3] += 0.5 * ty[0] + 0.5 * ty[1] - 0.5
    out = np.zeros((oh, ow, c))
    read = lambda i, j: x[i, j] if 0 <= i < h and 0 <= j < w else np.zeros(c)  # noqa: E731
    for v in range(oh):
        for u in range(ow):
            px, py = tx @ [u, v, 0, 1], ty @ [u, v, 0, 1]
            if px < 0 or px > w - 1 or py < 0 or py > h - 1:
                continue
            fx, fy = math.floor(px), math.floor(py)
            ax, ay = px - fx, py - fy
            upper = (1 - ax) * read(fy, fx) + ax * read(fy, fx + 1)
            lower = (1 - ax) * read(fy + 1, fx) + ax * read(fy + 1, fx + 1)
            out[v, u] = ay * lower + (1 - ay) * upper
    return out


OPTIONS = {"left_rotation_idx": 1, "right_rotation_idx": 4, "target_rotation_radians": 0.0, "output_height": 4,
           "output_width": 6, "scale_x": 1.5, "scale_y": 1.25, "subset_idxs": [0, 2, 3, 5, 6]}


def test_landmarks_to_transform_matrix_matches_reference():
    rng = np.random.default_rng(3)
    lm = rng.uniform(0, 50, (3, 8, 3)).astype(np.float32)
    got = mp_custom_ops.landmarks_to_transform_matrix(torch.from_numpy(lm), OPTIONS).numpy()
    for k in range(3):
        np.testing.assert_allclose(got[k], _matrix_reference(lm[k].astype(np.float64), OPTIONS), atol=1e-3)


def test_transform_matrix_of_a_level_box_maps_the_window_onto_the_enlarged_box():
    """Level eye line, a 10 × 4 box centred at (20, 30): window centre -> box centre, window corner -> the
    corner of the box grown by scale_x / scale_y about its centre."""
    lm = np.zeros((1, 8, 3), np.float32)
    lm[0, :, :2] = [[15, 28], [10, 30], [25, 32], [20, 30], [30, 30], [20, 30], [20, 30], [0, 0]]
    m = mp_custom_ops.landmarks_to_transform_matrix(torch.from_numpy(lm), OPTIONS)[0].numpy()
    np.testing.assert_allclose(m @ [3, 2, 0, 1], [20, 30, 0, 1], atol=1e-5)
    np.testing.assert_allclose(m @ [0, 0, 0, 1], [20 - 7.5, 30 - 2.5, 0, 1], atol=1e-5)


def test_transform_tensor_bilinear_matches_reference():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 7, 9, 3)).astype(np.float32)  # NHWC
    a = 0.4
    m = np.tile(np.eye(4, dtype=np.float32), (2, 1, 1))
    m[0, :2, :2] = [[1.3 * math.cos(a), -1.1 * math.sin(a)], [1.3 * math.sin(a), 1.1 * math.cos(a)]]
    m[0, :2, 3] = [1.2, -0.7]  # the window partly outside the map: hard zeros there
    m[1, :2, :2] = [[0.6, 0.0], [0.0, 0.8]]
    m[1, :2, 3] = [2.3, 1.9]
    opt = {"output_height": 5, "output_width": 6}
    got = mp_custom_ops.transform_tensor_bilinear(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(m), opt)
    got = got.permute(0, 2, 3, 1).numpy()
    for k in range(2):
        want = _bilinear_reference(x[k].astype(np.float64), m[k].astype(np.float64), 5, 6)
        np.testing.assert_allclose(got[k], want, atol=1e-5)
    assert (got[0] == 0).all(-1).any() and not (got[1] == 0).all(-1).any()


def test_transform_landmarks_matches_reference():
    rng = np.random.default_rng(7)
    pts = rng.normal(size=(2, 5, 2)).astype(np.float32)
    m = rng.normal(size=(2, 4, 4)).astype(np.float32)
    got = mp_custom_ops.transform_landmarks(torch.from_numpy(pts), torch.from_numpy(m)).numpy()
    for k in range(2):
        h = np.column_stack([pts[k], np.zeros(5), np.ones(5)])  # (x, y, 0, 1)
        np.testing.assert_allclose(got[k], (h @ m[k].T)[:, :2], atol=1e-5)


def test_executor_keeps_the_batch_through_reshape_mul_and_strided_slice():
    spec = {"inputs": [0], "outputs": [3, 4],
            "tensors": [{"name": n, "shape": s, "dtype": "float32"} for n, s in (
                ("x", [1, 1, 1, 6]), ("half", [1]), ("r", [1, 3, 2]), ("m", [1, 3, 2]), ("s", [1, 1, 1, 4]),
                ("b", [4]), ("e", [4]), ("st", [4]))],
            "ops": [{"op": "RESHAPE", "inputs": [0], "outputs": [2], "options": {"new_shape": [1, 3, 2]}},
                    {"op": "MUL", "inputs": [2, 1], "outputs": [3], "options": {"activation": "NONE"}},
                    {"op": "STRIDED_SLICE", "inputs": [0, 5, 6, 7], "outputs": [4], "options": {}}]}
    consts = {1: np.array([0.5], np.float32), 5: np.array([0, 0, 0, 1], np.int32),
              6: np.array([1, 1, 1, 6], np.int32), 7: np.array([1, 1, 1, 2], np.int32)}
    x = torch.arange(12, dtype=torch.float32).reshape(2, 1, 1, 6)
    halved, sliced = TFLiteGraph(spec, consts)(x)
    np.testing.assert_allclose(halved.numpy(), 0.5 * x.numpy().reshape(2, 3, 2))
    np.testing.assert_allclose(sliced.numpy(), x.numpy()[..., 1:6:2])


# ---------------------------------------------------------------------------------------------- the model

def test_asset_holds_the_attention_model_with_its_refinement():
    ensure_mediapipe_face()
    spec, _ = load_model("attention")
    names = [o["op"] for o in spec["ops"]]
    assert {names.count(k) for k in ("Landmarks2TransformMatrix", "TransformTensorBilinear")} == {3}
    assert names.count("TransformLandmarks") == 5
    sizes = [len(r["subset"]) for r in spec["refinement"]]
    assert sizes == [80, 71, 71, 71, 71]  # lips, two eyes, two irises (which read their eye's crop)
    eyes = [r["subset"] for r in spec["refinement"][1:3]]
    assert eyes[0][0] == 33 and eyes[1][0] == 263  # each eye crop starts at its outer corner


MP_POINTS = [1, 33, 263, 13, 14, 152, 10, 468, 473]
MP_REFINED = [[222.95, 129.52, -22.88], [194.71, 100.42, 4.53], [255.26, 103.78, 3.99], [222.98, 142.74, -5.73],
              [222.46, 149.58, -3.41], [220.77, 176.94, 7.54], [225.76, 71.19, -10.59], [202.98, 100.6, 0.91],
              [246.09, 102.97, 0.52]]


@pytest.fixture(scope="module")
def astronaut():
    ensure_mediapipe_face()
    return image_io.load_photo(SKIMAGE_DATA / "astronaut.png")


def test_attention_mesh_matches_mediapipe_refine_landmarks(astronaut):
    face = detect(astronaut)[0]
    plain, _ = meshes_in_rois(as_image_tensor(astronaut), [face_roi(face.detection)], face.detection)[0]
    att, logit = meshes_in_rois(as_image_tensor(astronaut), [face_roi(face.detection)], face.detection,
                                "attention")[0]
    assert att.points.shape == (468, 3) and att.iris.shape == (10, 3) and plain.iris is None and logit > 10
    np.testing.assert_allclose(np.vstack([att.points, att.iris])[MP_POINTS], MP_REFINED, atol=0.1)
    moved = np.linalg.norm(att.points[:, :2] - plain.points[:, :2], axis=1)
    assert np.median(moved) < 1.5 and moved.max() < 6  # the same face mesh (inter-ocular distance 62 px)
    with pytest.raises(ValueError, match="face mesh model"):
        meshes_in_rois(as_image_tensor(astronaut), [face_roi(face.detection)], face.detection, "iris")


def test_attention_mesh_on_a_london_portrait_agrees_with_the_plain_one(real_data):
    """London 001: the 468 points of both models within 1 % of the eye distance (median; measured 0.85 %, the
    refined points no more than the rest: the two networks' meshes differ as a whole), the irises between their
    eye corners."""
    from face_addon.train.london import photo_path

    img = image_io.load_photo(photo_path(real_data, "001"))
    plain, att = detect(img)[0], detect(img, model="attention")[0]
    eye = np.linalg.norm(plain.points[33, :2] - plain.points[263, :2])
    moved = np.linalg.norm(att.points[:, :2] - plain.points[:, :2], axis=1) / eye
    assert np.median(moved) < 0.01 and moved.max() < 0.05
    for centre, (outer, inner) in ((att.iris[0], (33, 133)), (att.iris[5], (263, 362))):
        a, b = att.points[outer, :2], att.points[inner, :2]
        t = np.dot(centre[:2] - a, b - a) / np.dot(b - a, b - a)
        assert 0.2 < t < 0.8
