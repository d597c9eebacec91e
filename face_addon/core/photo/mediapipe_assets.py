"""mediapipe_face.npz: MediaPipe's face detector and face meshes, converted at build time for our torch executor.

The mediapipe wheel is fetched with the ordinary pip client (`pip download`, pinned version and sha256), the
three .tflite flatbuffers (detector, 468-point mesh, attention mesh) and face_mesh_connections.py are read
straight out of the zip, and our own code turns
them into plain arrays + a JSON op list per model (`mp_tflite_reader`) and index pairs (parsed with `ast`,
never imported). Nothing from mediapipe is imported, shipped or downloaded at run time. Weights keep the
dtype they have in the flatbuffer (float16 here, exact); the op list's DEQUANTIZE turns them into float32.

The attention mesh also gets a `refinement` list in its graph spec (`refinement_of`): which 468-mesh points
each of its lips/eye/iris outputs replaces, read from the model itself.

The .tflite/.py files are platform-independent, so the manylinux wheel serves every target platform.
"""
from __future__ import annotations

import ast
import hashlib
import json
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..capabilities import ASSETS_DIR
from ..pinned_wheels import default_cache_dir, fetch_pinned_wheel, write_npz
from .mp_tflite_reader import read_tflite

MEDIAPIPE_VERSION = "0.10.14"
MEDIAPIPE_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
WHEEL_NAME = f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
CONVERTER_VERSION = 2  # 2: the attention mesh

MODELS = {
    "detector": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "mesh": "mediapipe/modules/face_landmark/face_landmark.tflite",
    "attention": "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
}
CONNECTIONS_FILE = "mediapipe/python/solutions/face_mesh_connections.py"
#: FACEMESH_<NAME> sets that are kept (lower-cased); the iris sets index points the 468-point model lacks
CONNECTIONS = ("lips", "left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "face_oval", "nose",
               "tesselation")
N_POINTS = 468


def default_asset_path() -> Path:
    """<package>/assets/mediapipe_face.npz (a build output, not committed)."""
    return ASSETS_DIR / "mediapipe_face.npz"


def is_current(path: Path) -> bool:
    """True when `path` exists and was converted from the pinned wheel by this converter version."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return (str(z["wheel_sha256"]) == MEDIAPIPE_SHA256
                    and int(z["converter_version"]) == CONVERTER_VERSION)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


def ensure_mediapipe_face(cache_dir: Path | None = None, out_path: Path | None = None) -> Path:
    """Return a current mediapipe_face.npz, downloading (pip) and converting the mediapipe wheel when needed."""
    out_path = Path(out_path) if out_path else default_asset_path()
    if not is_current(out_path):
        wheel = fetch_mediapipe_wheel(Path(cache_dir) if cache_dir else default_cache_dir())
        convert(wheel, out_path)
    return out_path


def fetch_mediapipe_wheel(cache_dir: Path) -> Path:
    """The pinned wheel in `cache_dir`, downloaded with pip if absent; raises if its checksum differs."""
    return fetch_pinned_wheel("mediapipe", MEDIAPIPE_VERSION, MEDIAPIPE_SHA256, WHEEL_NAME, cache_dir,
                              ("--python-version", "3.11", "--platform", "manylinux2014_x86_64"))


def convert(wheel: Path, out_path: Path) -> None:
    """Write the npz (deterministic bytes) from the wheel's model and connection files."""
    arrays: dict[str, np.ndarray] = {}
    sources = {}
    with zipfile.ZipFile(wheel) as zf:
        for key, member in MODELS.items():
            data = zf.read(member)
            sources[member] = hashlib.sha256(data).hexdigest()
            graph = read_tflite(data)
            spec = {"inputs": list(graph.inputs), "outputs": list(graph.outputs),
                    "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": np.dtype(t.dtype).name}
                                for t in graph.tensors],
                    "ops": [{"op": o.name, "inputs": list(o.inputs), "outputs": list(o.outputs),
                             "options": o.options} for o in graph.ops]}
            if key == "attention":
                spec["refinement"] = refinement_of(spec)
            arrays[f"{key}_graph"] = np.array(json.dumps(spec, sort_keys=True))
            for i, t in enumerate(graph.tensors):
                if t.data is not None:
                    arrays[f"{key}_t{i}"] = t.data
        text = zf.read(CONNECTIONS_FILE)
        sources[CONNECTIONS_FILE] = hashlib.sha256(text).hexdigest()
    for name, pairs in parse_connections(text.decode()).items():
        arrays[f"connections_{name}"] = pairs
    arrays["wheel_sha256"] = np.array(MEDIAPIPE_SHA256)
    arrays["converter_version"] = np.array(CONVERTER_VERSION)
    arrays["source"] = np.array(json.dumps({"wheel": WHEEL_NAME, "files": sources}, sort_keys=True))
    write_npz(out_path, arrays)


def refinement_of(spec: dict) -> list[dict]:
    """For each attention-mesh output drawn in a sub-crop (lips, eyes, irises): {"output": its position among
    the graph's outputs, "subset": the mesh indices of the Landmarks2TransformMatrix that cut its crop}. The
    crop's subset is, in order, the list of mesh points that output refines (MediaPipe's LandmarksRefinement
    maps the 80 lip and 71 eye points onto exactly these indices); an output with fewer points (an iris, 5)
    adds new points. Found by walking back from the output through RESHAPE/MUL to the crop's matrix; the
    first output must be the 468·3 mesh and the last the 1-value presence flag."""
    producer = {o["outputs"][0]: o for o in spec["ops"]}
    sizes = [int(np.prod(spec["tensors"][i]["shape"])) for i in spec["outputs"]]
    if sizes[0] != 3 * N_POINTS or sizes[-1] != 1:
        raise ValueError(f"attention mesh outputs have sizes {sizes}: expected the mesh first, the flag last")
    found = []
    for pos, idx in enumerate(spec["outputs"][1:-1], 1):
        op = producer.get(idx)
        while op is not None and op["op"] != "TransformLandmarks":
            op = producer.get(op["inputs"][0])
        crop = producer.get(op["inputs"][1]) if op else None
        while crop is not None and crop["op"] != "Landmarks2TransformMatrix":
            crop = producer.get(crop["inputs"][0])
        if crop is None:
            raise ValueError(f"attention mesh output {pos} does not come from a landmark crop")
        found.append({"output": pos, "subset": list(crop["options"]["subset_idxs"])})
    return found


def parse_connections(source: str) -> dict[str, np.ndarray]:
    """`FACEMESH_X = frozenset([(a, b), ...])` literals as sorted (n, 2) int32 arrays, keyed 'x'."""
    found = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id.removeprefix("FACEMESH_").lower()
        call = node.value
        if (name in CONNECTIONS and isinstance(call, ast.Call) and getattr(call.func, "id", "") == "frozenset"
                and len(call.args) == 1):
            pairs = np.array(sorted(ast.literal_eval(call.args[0])), np.int32).reshape(-1, 2)
            if pairs.max() >= N_POINTS:
                raise ValueError(f"FACEMESH_{name.upper()} indexes point {pairs.max()} of a {N_POINTS}-point mesh")
            found[name] = pairs
    missing = set(CONNECTIONS) - set(found)
    if missing:
        raise ValueError(f"{CONNECTIONS_FILE} lacks FACEMESH sets {sorted(missing)}")
    return found


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, np.ndarray]:
    if not is_current(path):
        raise FileNotFoundError(f"{path} is missing or stale; run `python build.py --assets-only`")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_model(key: str, path: Path | None = None) -> tuple[dict, dict[int, np.ndarray]]:
    """(graph spec, {tensor index: constant array}) of 'detector', 'mesh' or 'attention'."""
    arrays = _load(Path(path) if path else default_asset_path())
    prefix = f"{key}_t"
    consts = {int(k[len(prefix):]): v for k, v in arrays.items() if k.startswith(prefix)}
    return json.loads(str(arrays[f"{key}_graph"])), consts


def load_connections(path: Path | None = None) -> dict[str, np.ndarray]:
    """MediaPipe's FACEMESH_* landmark index pairs {'lips', 'left_eye', ..., 'tesselation'}: (n, 2) int32.
    'left' is the subject's left (the right side of a frontal photo)."""
    arrays = _load(Path(path) if path else default_asset_path())
    return {k.removeprefix("connections_"): v for k, v in arrays.items() if k.startswith("connections_")}
