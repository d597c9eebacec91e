"""Face detector + 468-point mesh (MediaPipe 0.10.14 models run by our torch executor) and photo loading (no bpy).

Reference numbers were produced once, outside the tests, with the real TFLite interpreter (ai-edge-litert 2.3.0)
and MediaPipe 0.10.14's own python FaceMesh / FaceDetection solutions on skimage's astronaut.png.
"""
from __future__ import annotations

import json
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from face_addon.core.photo import PhotoError, image_io
from face_addon.core.photo.face_detect import detect_faces, ssd_anchors
from face_addon.core.photo.face_mesh import detect, face_landmarks, face_roi, meshes_in_rois
from face_addon.core.photo.mp_crop import as_image_tensor
from face_addon.core.photo.mediapipe_assets import (
    MEDIAPIPE_SHA256, convert, default_cache_dir, ensure_mediapipe_face, fetch_mediapipe_wheel, is_current,
    load_connections, load_model, parse_connections)
from face_addon.core.photo.mp_tflite_reader import read_tflite
from face_addon.core.photo.tflite_torch import TFLiteGraph, same_padding

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import photo_transforms as T  # noqa: E402

SKIMAGE_DATA = Path(find_spec("skimage").submodule_search_locations[0]) / "data"


@pytest.fixture(scope="module")
def asset() -> Path:
    return ensure_mediapipe_face()


@pytest.fixture(scope="module")
def astronaut(asset) -> np.ndarray:
    return image_io.load_photo(SKIMAGE_DATA / "astronaut.png")


@pytest.fixture(scope="module")
def astro_mesh(astronaut):
    return detect(astronaut, which="all")


# ---------------------------------------------------------------------------------------------- asset

def test_asset_is_current_and_rebuilds_byte_identically(asset, tmp_path):
    assert is_current(asset)
    with np.load(asset) as z:
        assert str(z["wheel_sha256"]) == MEDIAPIPE_SHA256
        assert set(json.loads(str(z["source"]))["files"]) == {
            "mediapipe/modules/face_detection/face_detection_short_range.tflite",
            "mediapipe/modules/face_landmark/face_landmark.tflite",
            "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
            "mediapipe/python/solutions/face_mesh_connections.py"}
    again = tmp_path / "again.npz"
    convert(fetch_mediapipe_wheel(default_cache_dir()), again)
    assert again.read_bytes() == asset.read_bytes()
    stale = tmp_path / "stale.npz"
    with np.load(asset) as z:
        np.savez(stale, **{**{k: z[k] for k in z.files}, "converter_version": np.array(0)})
    assert not is_current(stale)


def test_models_and_connections_load(asset):
    det, det_consts = load_model("detector")
    mesh, _ = load_model("mesh")
    assert [det["tensors"][i]["shape"] for i in det["outputs"]] == [[1, 896, 16], [1, 896, 1]]
    assert [mesh["tensors"][i]["shape"] for i in mesh["outputs"]] == [[1, 1, 1, 1404], [1, 1, 1, 1]]
    assert any(v.dtype == np.float16 for v in det_consts.values())  # weights kept exact, DEQUANTIZE'd at load
    conn = load_connections()
    assert set(conn) == {"lips", "left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "face_oval", "nose",
                         "tesselation"}
    assert conn["lips"].shape == (40, 2) and conn["face_oval"].shape == (36, 2)
    assert all(v.dtype == np.int32 and v.max() < 468 for v in conn.values())
    assert len(ssd_anchors()) == 896


def test_reader_and_connection_parser_reject_what_they_do_not_know():
    with pytest.raises(ValueError, match="TFL3"):
        read_tflite(b"\x00" * 64)
    src = "FACEMESH_LIPS = frozenset([(1, 2), (0, 1)])\nFACEMESH_X = frozenset().union(*[FACEMESH_LIPS])\n"
    with pytest.raises(ValueError, match="lacks"):
        parse_connections(src)
    full = src + "".join(f"FACEMESH_{k.upper()} = frozenset([(3, 4)])\n" for k in
                         ("left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "face_oval", "nose", "tesselation"))
    assert parse_connections(full)["lips"].tolist() == [[0, 1], [1, 2]]


# ---------------------------------------------------------------------------------------------- executor

def _tensors(*shapes):
    return [{"name": f"t{i}", "shape": list(s), "dtype": "float32"} for i, s in enumerate(shapes)]


def test_same_padding_is_tf_asymmetric():
    assert same_padding(4, 3, 2) == (0, 1)  # the odd pixel goes after
    assert same_padding(5, 3, 1) == (1, 1)
    assert same_padding(128, 5, 2) == (1, 2)


def test_conv_and_depthwise_same_padding_by_hand():
    img = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1)
    opts = {"padding": "SAME", "stride": [2, 2], "activation": "NONE", "dilation": [1, 1]}
    spec = {"inputs": [0], "outputs": [4],
            "tensors": _tensors((1, 4, 4, 1), (1, 3, 3, 1), (1, 3, 3, 1), (1,), (1, 2, 2, 1)),
            "ops": [{"op": "DEQUANTIZE", "inputs": [1], "outputs": [2], "options": {}},
                    {"op": "CONV_2D", "inputs": [0, 2, 3], "outputs": [4], "options": opts}]}
    g = TFLiteGraph(spec, {1: np.ones((1, 3, 3, 1), np.float16), 3: np.zeros(1, np.float32)})
    out = g(torch.from_numpy(img))[0].numpy()
    # windows rows/cols {0,1,2}, {2,3}+pad: 1+2+3+5+6+7+9+10+11, 3+4+7+8+11+12, ...
    np.testing.assert_array_equal(out[0, :, :, 0], [[54, 45], [72, 54]])

    two = np.concatenate([img, np.ones_like(img)], axis=3)  # channel 1 counts the pixels inside each window
    weight = np.broadcast_to(np.arange(1, 5, dtype=np.float32), (1, 3, 3, 4)).copy()  # out channel k: weight k+1
    spec = {"inputs": [0], "outputs": [3], "tensors": _tensors((1, 4, 4, 2), (1, 3, 3, 4), (4,), (1, 2, 2, 4)),
            "ops": [{"op": "DEPTHWISE_CONV_2D", "inputs": [0, 1, 2], "outputs": [3],
                     "options": {**opts, "multiplier": 2}}]}
    g = TFLiteGraph(spec, {1: weight, 2: np.array([0, 0, 0, 0.5], np.float32)})
    out = g(torch.from_numpy(two))[0].numpy()[0]
    s0, s1 = np.array([[54, 45], [72, 54]]), np.array([[9, 6], [6, 4]])
    np.testing.assert_array_equal(out, np.stack([s0, 2 * s0, 3 * s1, 4 * s1 + 0.5], -1))


def test_max_pool_pad_prelu_reshape_concat_keep_nhwc_meaning():
    neg = -np.ones((1, 3, 3, 1), np.float32)
    spec = {"inputs": [0], "outputs": [1], "tensors": _tensors((1, 3, 3, 1), (1, 2, 2, 1)),
            "ops": [{"op": "MAX_POOL_2D", "inputs": [0], "outputs": [1], "options": {
                "padding": "SAME", "stride": [2, 2], "filter": [2, 2], "activation": "NONE"}}]}
    np.testing.assert_array_equal(TFLiteGraph(spec, {})(torch.from_numpy(neg))[0].numpy(), -1)  # pad never wins

    x = (np.arange(8, dtype=np.float32) - 4).reshape(1, 2, 2, 2)
    alpha = np.array([[[0.1, 0.2, 0.3]]], np.float32)
    none = {"activation": "NONE"}
    spec = {"inputs": [0], "outputs": [6, 7], "tensors": _tensors(
                (1, 2, 2, 2), (4, 2), (1, 2, 2, 3), (1, 1, 3), (1, 2, 2, 3), (1, 4, 3), (1, 8, 3), (1, 2, 2, 6)),
            "ops": [{"op": "PAD", "inputs": [0, 1], "outputs": [2], "options": {}},
                    {"op": "PRELU", "inputs": [2, 3], "outputs": [4], "options": {}},
                    {"op": "RESHAPE", "inputs": [4], "outputs": [5], "options": {"new_shape": [1, -1, 3]}},
                    {"op": "CONCATENATION", "inputs": [5, 5], "outputs": [6], "options": {"axis": 1, **none}},
                    {"op": "CONCATENATION", "inputs": [4, 2], "outputs": [7], "options": {"axis": 3, **none}}]}
    pads = np.array([[0, 0], [0, 0], [0, 0], [0, 1]], np.int32)
    flat, cat = (y.numpy() for y in TFLiteGraph(spec, {1: pads, 3: alpha})(torch.from_numpy(x)))
    padded = np.pad(x, pads)
    act = np.where(padded >= 0, padded, padded * alpha)
    np.testing.assert_allclose(flat, np.concatenate([act.reshape(1, -1, 3)] * 2, 1), rtol=1e-6)
    np.testing.assert_allclose(cat, np.concatenate([act, padded], 3), rtol=1e-6)


def test_models_match_tflite_interpreter_reference(asset):
    """Golden outputs of the real TFLite interpreter for fixed synthetic inputs."""
    i, j = np.meshgrid(np.arange(128), np.arange(128), indexing="ij")
    x = np.stack([np.sin(0.1 * i + 0.2 * j + c) for c in range(3)], -1)[None].astype(np.float32)
    reg, cls = (y.numpy() for y in TFLiteGraph(*load_model("detector"))(torch.from_numpy(x)))
    np.testing.assert_allclose(reg[0, 100, :6], [-1.37792, 0.32170, 25.21715, 25.21614, -2.69731, -0.53651], atol=2e-3)
    np.testing.assert_allclose(cls[0, ::128, 0], [-4.87436, -5.14777, -5.87953, -5.50958, -5.12549, -2.78615,
                                                 -3.94855], atol=2e-3)
    i, j = np.meshgrid(np.arange(192), np.arange(192), indexing="ij")
    x = np.stack([0.5 + 0.5 * np.sin(0.07 * i - 0.13 * j + c) for c in range(3)], -1)[None].astype(np.float32)
    lm, flag = (y.numpy() for y in TFLiteGraph(*load_model("mesh"))(torch.from_numpy(x)))
    np.testing.assert_allclose(lm.reshape(-1, 3)[[0, 1, 33, 263]], [
        [110.41605, 122.49672, -8.59103], [112.75835, 108.39214, -17.85003],
        [67.79925, 76.36584, -2.85965], [133.17934, 77.48150, 11.50160]], atol=2e-3)
    np.testing.assert_allclose(flag.ravel(), [-10.29104], atol=2e-3)


# ---------------------------------------------------------------------------------------------- photos

def test_astronaut_one_face_with_a_plausible_mesh(astronaut, astro_mesh):
    h, w = astronaut.shape[:2]
    assert len(astro_mesh) == 1
    face = astro_mesh[0]
    box = face.detection.box
    assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h and face.detection.score > 0.5
    assert face.points.shape == (468, 3) and face.score > 0.5
    margin = 0.25 * np.array([-face.detection.width, -face.detection.height])
    assert (face.points[:, :2] >= box[:2] + margin).all() and (face.points[:, :2] <= box[2:] - margin).all()
    conn = load_connections()
    centre = {k: face.points[np.unique(conn[k]), :2].mean(0) for k in ("left_eye", "right_eye", "lips", "nose")}
    assert centre["left_eye"][1] < centre["lips"][1] and centre["right_eye"][1] < centre["lips"][1]
    assert centre["right_eye"][0] < centre["nose"][0] < centre["left_eye"][0]  # subject's left = image right


MP_POINTS = [1, 33, 263, 13, 14, 152, 10]
MP_REFERENCE = [[223.6, 130.68, -23.31], [194.15, 100.44, 3.93], [256.21, 103.58, 4.48], [223.05, 142.24, -5.79],
                [222.63, 149.1, -3.44], [220.84, 174.99, 8.71], [227.0, 71.93, -11.2]]


def test_astronaut_matches_mediapipe_solution(astronaut, astro_mesh):
    """MediaPipe 0.10.14's own FaceDetection / FaceMesh(static_image_mode=True) on the same photo, shifted to
    pixel-centre coordinates: box, keypoints and landmarks 1 (nose tip), 33/263 (eye corners), 13/14 (lips),
    152 (chin), 10 (forehead). Its mesh is the one in the detection's ROI; `detect` refines the ROI from the
    landmarks (the roll of the eye corners), which moves these points by under a pixel on this upright face
    (inter-ocular distance 62 px), except the forehead point 10 on the vague upper face edge (2.6 px)."""
    face = astro_mesh[0]
    np.testing.assert_allclose(face.detection.box, [177.07, 82.37, 272.41, 177.72], atol=0.1)
    np.testing.assert_allclose(face.detection.keypoints[:4], [[201.0, 104.4], [245.35, 108.6], [219.93, 126.76],
                                                             [219.32, 148.11]], atol=0.1)
    assert face.detection.score == pytest.approx(0.92174, abs=1e-3)
    static, logit = meshes_in_rois(as_image_tensor(astronaut), [face_roi(face.detection)], face.detection)[0]
    np.testing.assert_allclose(static.points[MP_POINTS], MP_REFERENCE, atol=0.1)
    assert logit > 10
    moved = np.linalg.norm(face.points[MP_POINTS, :2] - np.asarray(MP_REFERENCE)[:, :2], axis=1)
    assert moved[:-1].max() < 1.2 and moved[-1] < 3.0


def test_exif_orientation_is_applied(astro_mesh, astronaut, tmp_path):
    upright = Image.fromarray((astronaut[:, 60:460] * 255).round().astype(np.uint8))  # 400 wide, 512 high
    upright.save(tmp_path / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the sensor stored the portrait lying on its side
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "tagged.jpg", quality=95, exif=exif)
    tagged = image_io.load_photo(tmp_path / "tagged.jpg")
    assert tagged.shape == (512, 400, 3)
    a = detect(image_io.load_photo(tmp_path / "upright.jpg"))[0].points
    b = detect(tagged)[0].points
    assert np.abs(a[:, :2] - b[:, :2]).max() < 3.0
    np.testing.assert_allclose(a[:, :2] + [60, 0], astro_mesh[0].points[:, :2], atol=3.0)


def test_grayscale_camera_man_is_found():
    img = image_io.load_photo(SKIMAGE_DATA / "camera.png")
    assert img.shape == (512, 512, 3) and np.array_equal(img[..., 0], img[..., 2])
    faces = detect(img, which="all")
    assert len(faces) == 1 and faces[0].score > 0.5  # a near-profile face; MediaPipe finds it too (0.77)


@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png"])
def test_photos_without_a_person_raise_no_face(name):
    img = image_io.load_photo(SKIMAGE_DATA / name)
    with pytest.raises(PhotoError, match="no face found in the photo"):
        detect(img)


def test_small_face_is_found_in_tiles(astronaut, astro_mesh):
    small = Image.fromarray((astronaut * 255).round().astype(np.uint8)).resize((377, 377), Image.LANCZOS)
    canvas = Image.new("RGB", (1024, 1024), (120, 120, 120))
    canvas.paste(small, (347, 418))  # a 70-pixel face, 7 % of the photo's side
    img = np.asarray(canvas, np.float32) / 255
    assert detect_faces(img, search="whole") == []
    face = detect(img)[0]
    expected = (astro_mesh[0].points[:, :2] + 0.5) * (377 / 512) + [347, 418] - 0.5
    assert np.linalg.norm(face.points[:, :2] - expected, axis=1).mean() < 2.0


def _eyes(points: np.ndarray) -> np.ndarray:
    conn = load_connections()
    return np.stack([points[np.unique(conn[k]), :2].mean(0) for k in ("right_eye", "left_eye")])


def _assert_found(img: np.ndarray, eyes: np.ndarray) -> list:
    """detect's first face has both eye centres within 0.15 inter-ocular distances of `eyes`."""
    faces = detect(img, which="all")
    err = np.linalg.norm(_eyes(faces[0].points) - eyes, axis=1).max() / np.linalg.norm(eyes[1] - eyes[0])
    assert err < 0.15, err
    return faces


@pytest.mark.parametrize("case", ["grey", "archive", "fills frame", "cut by frame", "half", "rot90", "rot180",
                                  "rot270", "tilt30", "rot135", "tenth of the frame"])
def test_transformed_astronaut_is_found(case, astronaut, astro_mesh):
    """The hard cases of the real-photo benchmark (tests/bench/real_photo_detect.py) on the astronaut: the face
    the pipeline would use sits where the face really is, with its eyes the right way round."""
    eyes = _eyes(astro_mesh[0].points)
    box = astro_mesh[0].points[:, :2]
    side = float(np.ptp(box, 0).max())
    f = {"grey": T.grey, "archive": T.old_photo, "fills frame": T.square_crop(box, 1.0),
         "cut by frame": T.square_crop(box, 0.75), "half": lambda i, p: T.resize(i, p, 0.5),
         "rot90": T.rot90(1), "rot180": T.rot90(2), "rot270": T.rot90(3), "tilt30": T.rotate(30),
         "rot135": T.rotate(135), "tenth of the frame": T.small_face(side, 0.1)}[case]
    _assert_found(*f(astronaut, eyes))


def test_upside_down_face_needs_the_orientation_search(astronaut, astro_mesh):
    """Upside down, the detector's keypoints point the wrong way and MediaPipe's mesh in that ROI still
    reports a face; the presence logit of the right turn is far higher, which is what `face_landmarks` uses."""
    img, eyes = T.rot90(2)(astronaut, _eyes(astro_mesh[0].points))
    t = as_image_tensor(img)
    box = detect_faces(t, search="whole")[0]  # the photo as it is: no quarter turns
    roi = face_roi(box)
    logits = [meshes_in_rois(t, [type(roi)(roi.center, roi.size, roi.angle + k * np.pi / 2)], box)[0][1]
              for k in range(4)]
    assert np.argmax(logits) == int(round(np.pi - (roi.angle % (2 * np.pi)) / (np.pi / 2))) % 4 or max(logits) > 10
    fixed = face_landmarks(t, box)
    err = np.linalg.norm(_eyes(fixed.points) - eyes, axis=1).max() / np.linalg.norm(eyes[1] - eyes[0])
    assert err < 0.15


def test_two_faces_largest_first_both_returned(astronaut, astro_mesh):
    eyes = _eyes(astro_mesh[0].points)
    small, _ = T.resize(astronaut, eyes, 0.75)
    canvas = T.background(512, 512 + 384)
    canvas, _ = T.paste(canvas, small, eyes, (0, 128))
    img, big = T.paste(canvas, astronaut, eyes, (384, 0))
    faces = _assert_found(img, big)
    assert len(faces) == 2
    assert detect(img)[0].points[0, 0] == faces[0].points[0, 0]  # which="largest" is the first of "all"


@pytest.fixture(scope="module")
def london_root(asset, real_data) -> Path:
    return real_data


def test_london_portraits_and_transformed_copies_have_no_misses(london_root):
    """Two London portraits (CC BY 4.0, read from ../shared/real, never copied) through every case of the
    real-photo benchmark; the benchmark runs all 102."""
    import real_photo_detect

    stats, _ = real_photo_detect.run_detection(london_root, every=51)
    assert {k: s["misses"] for k, s in stats.items()} == {k: 0 for k in stats}
    assert stats["two people"]["both"] == stats["two people"]["photos"]



def test_small_face_with_an_oversized_detection_box_is_found(london_root):
    """London 005 at a tenth of the frame: the whole-photo detector returns a weak box twice the face's size,
    whose mesh was confident but 1.5 eye distances off (the one miss of the benchmark); the smaller-ROI search
    of `face_landmarks` puts it on the face."""
    import real_photo_detect

    (pid, path, frl), = [it for it in real_photo_detect.london_items(london_root) if it[0] == "005"]
    pupils = frl[list(real_photo_detect.PUPILS)]
    img, eyes = real_photo_detect.transforms(frl)["face 1/10 of frame"](image_io.load_photo(path), pupils)
    assert real_photo_detect.check_photo(img, eyes)["hit"]

#: docs/photo.md "Speed": detect_faces 23 ms and face_landmarks 36 ms on the 512×512 astronaut (fastest of 15);
#: the test allows 10× that for a loaded shared machine, so it fails on a regression of an order of magnitude
#: (e.g. full-resolution tiling or a model reloaded per call), not on noise.
DOCUMENTED_MS = {"detect_faces": 23.0, "face_landmarks": 36.0}
TIMING_SLACK = 10.0


def test_timing_on_astronaut_within_ten_times_the_documented_speed(astronaut):
    detect_faces(astronaut)  # models load once per process: not part of the per-photo time
    times = []
    for _ in range(3):  # best of three: the machine is shared
        t0 = time.perf_counter()
        box = detect_faces(astronaut)[0]
        t1 = time.perf_counter()
        face_landmarks(astronaut, box)
        times.append((t1 - t0, time.perf_counter() - t1))
    best = dict(zip(DOCUMENTED_MS, np.min(times, axis=0) * 1e3))
    slow = {k: f"{ms:.0f} ms" for k, ms in best.items() if ms > TIMING_SLACK * DOCUMENTED_MS[k]}
    assert not slow, f"slower than {TIMING_SLACK:.0f}x docs/photo.md: {slow}"


# ---------------------------------------------------------------------------------------------- odd inputs

def test_odd_images_load_as_documented(tmp_path):
    rgba = np.zeros((6, 5, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:3, :, 3] = 255  # top half opaque red, bottom half fully transparent red
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    img = image_io.load_photo(tmp_path / "rgba.png")
    assert img.shape == (6, 5, 3) and img.dtype == np.float32
    np.testing.assert_allclose(img[0, 0], [1, 0, 0])
    np.testing.assert_allclose(img[5, 0], [1, 1, 1])  # composited over white

    Image.fromarray(np.full((4, 7), 40000, np.uint16)).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    np.testing.assert_allclose(image_io.load_photo(tmp_path / "g16.png"), 40000 / 65535, rtol=1e-6)

    Image.fromarray(np.full((8, 8, 3), 204, np.uint8)).convert("P").save(tmp_path / "p.gif")  # a web-palette grey
    np.testing.assert_allclose(image_io.load_photo(tmp_path / "p.gif"), 204 / 255, atol=1e-6)

    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(tmp_path / "tiny.png")
    tiny = image_io.load_photo(tmp_path / "tiny.png")
    with pytest.raises(PhotoError, match=r"no face found in the photo \(8×8 px\)"):
        detect(tiny)
    with pytest.raises(ValueError, match="expected an"):
        detect(tiny[..., 0])


def test_broken_files_raise_photo_error(tmp_path, monkeypatch):
    (tmp_path / "notes.jpg").write_text("not a photo")
    with pytest.raises(PhotoError, match="not an image") as err:
        image_io.load_photo(tmp_path / "notes.jpg")
    # one line for the user: no decoder jargon, no path (the operator and `face reconstruct` put the name first)
    assert "Pillow" not in str(err.value) and "notes.jpg" not in str(err.value) and "\n" not in str(err.value)
    noise = (np.random.default_rng(0).random((200, 200, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(PhotoError, match="truncated"):
        image_io.load_photo(tmp_path / "cut.jpg")
    with pytest.raises(PhotoError, match="not found"):
        image_io.load_photo(tmp_path / "missing.png")
    monkeypatch.setattr(image_io, "MAX_PIXELS", 200 * 199)
    with pytest.raises(PhotoError, match="MP are refused"):
        image_io.load_photo(tmp_path / "full.jpg")
