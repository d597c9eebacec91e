"""Photo -> free-form face mesh with Pixel2Mesh-face (seeds/002), the second photo reconstruction method.

    rec = reconstruct_pixel2mesh("me.jpg")
    rec.vertices, rec.faces          # 8569-vertex mesh, model space (Blender axes, metres), like FaceKit's
    rec.stages                       # the 4 coarse-to-fine meshes (141, 547, 2157, 8569 vertices)
    rec.rotation, rec.translation, rec.K, rec.width, rec.height   # a camera that sees it as the photo does

Pre-processing as in the paper (§3.1.1): the face detector's box (`core.photo.face_detect`, MediaPipe's
detector in place of MTCNN) expanded ×1.1 into a square 224² crop, turned upright with the face when the photo
shows it rolled (`core.photo.upright_crop`, as for the FaceKit method: the network learnt upright faces; the roll
goes back into the camera's pose at the end, so the mesh sits upright in model space and the camera is rolled
like the photo); when no face is detected, the average crop of the training photos (relative to the photo's
size) with a warning. The network predicts in crop
space (`core.photo.crop_space`); a photo's focal length and distance are unknown, so the mesh is placed for
the fixed fitting camera at the depth where the face has the training faces' mean size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..capabilities import MODELS_DIR
from ..photo.camera import CROP, MODEL_TO_CAMERA, Crop
from ..photo.upright_crop import UprightCrop
from ..progress import Cancel, Progress, reporter
from ..weights import cached_per_file_version

WEIGHTS_FILE = MODELS_DIR / "pixel2mesh_face.pt"
WEIGHTS_KIND = "pixel2mesh_face"
DETECTOR_EXPAND = 1.1
CROP_MIN_PX = 64  # below this face size (photo pixels) the result is coarse


@dataclass
class MeshReconstruction:
    vertices: np.ndarray  # (n, 3) model space (Blender axes, metres): x_cam = rotation @ v + translation
    faces: np.ndarray  # (m, 3)
    stages: list[np.ndarray]  # the four block outputs, model space
    crop_points: np.ndarray  # (n, 3) the network's output in crop space
    rotation: np.ndarray  # (3, 3) model -> OpenCV camera of the photo (carries the photo's roll)
    translation: np.ndarray
    K: np.ndarray  # (3, 3) in photo pixels
    width: int
    height: int
    crop: UprightCrop  # the crop the network saw, turned upright with the face
    score: float
    n_faces: int
    method: str = "pixel2mesh"
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    models: dict[str, str | None] = field(default_factory=dict)  # the weights file that ran


def face_crop(img: np.ndarray, face_index: int, average: dict) -> tuple[UprightCrop, float, int, list[str]]:
    """(crop, detection score (0 for the fallback), number of faces, warnings) for face `face_index`
    (0 = the largest): the detector box ×1.1 taken upright with the face's landmarks, or the training set's
    average crop when no face is found."""
    from ..photo import PhotoError
    from ..photo.face_mesh import detect_drawn_by
    from .reconstruct_photo import MESH_MODEL

    try:  # detector boxes whose face mesh is present (the detector alone fires on e.g. cat faces)
        meshes = detect_drawn_by(img, MESH_MODEL, which="all")  # the FaceKit method's faces and mesh
    except PhotoError:
        meshes = []
    h, w = img.shape[:2]
    if meshes:
        if face_index >= len(meshes):
            raise PhotoError(f"the photo has {len(meshes)} face(s), numbered 0-{len(meshes) - 1} from the largest; "
                             f"there is no face {face_index}")
        face = meshes[face_index]
        crop = UprightCrop.around_box(face.points, tuple(face.detection.box), DETECTOR_EXPAND)
        return crop, face.detection.score, len(meshes), []
    if face_index > 0:
        raise PhotoError("no face found in the photo, so there is no face "
                         f"{face_index + 1}; face 1 falls back to the average crop")
    cx, cy, side = average["cx"] * w, average["cy"] * h, average["side"] * min(w, h)
    crop = Crop.around((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), DETECTOR_EXPAND)
    return UprightCrop(crop), 0.0, 0, ["no face detected: used the average face crop of the training photos; "
                                       "the result is only meaningful if a face fills that part of the photo"]


def _build_model(path: str):
    """(network in eval mode, meta); WeightsError when missing or foreign. Cached per file version."""
    from ..nets.pixel2mesh import Pixel2MeshFace
    from ..weights import load_weights

    state, meta = load_weights(path, WEIGHTS_KIND, (1,))
    net = Pixel2MeshFace(int(meta["hidden"]), int(meta["n_res"]), bool(meta["adaptive_unpool"]))
    net.load_state_dict(state)
    return net.eval(), meta


_load = cached_per_file_version(_build_model)


def load_model(path: Path | str = WEIGHTS_FILE):
    """(network in eval mode, meta) of a weights file, read once per file version."""
    return _load(path)


def predict_crop_space(net, crop_img: np.ndarray) -> list[np.ndarray]:
    """The four stage meshes (crop space) of one 224² crop (H, W, 3) float in [0, 1]."""
    import torch

    with torch.no_grad():
        out = net(torch.as_tensor(crop_img, dtype=torch.float32).permute(2, 0, 1)[None])
    return [s[0].double().numpy() for s in out["stages"]]


def reconstruct_pixel2mesh(photo: str | Path | np.ndarray, *, face_index: int = 0,
                           weights_path: Path | str = WEIGHTS_FILE,
                           progress: Progress | None = None, cancel: Cancel | None = None) -> MeshReconstruction:
    """Reconstruct face `face_index` (0 = largest) of a photo as a free-form mesh; see the module doc. Raises
    Cancelled at the next stage once `cancel()` is true (core/progress.py)."""
    from ..photo.crop_space import assumed_camera
    from ..photo.image_io import load_photo

    step = reporter(progress, cancel)
    times: dict[str, float] = {}
    t = time.perf_counter()
    net, meta = load_model(weights_path)
    img = load_photo(photo) if not isinstance(photo, np.ndarray) else np.asarray(photo, np.float32)
    times["load"] = time.perf_counter() - t
    step(0.2, "detecting faces")
    t = time.perf_counter()
    crop, score, n_faces, warnings = face_crop(img, face_index, meta["average_crop"])
    times["detect"] = time.perf_counter() - t
    step(0.4, "deforming the hemisphere")
    t = time.perf_counter()
    stages = predict_crop_space(net, crop.sample(img))
    times["network"] = time.perf_counter() - t
    cam = assumed_camera(crop.crop, stages[-1], float(meta["face_size_m"]))  # the upright frame's camera
    # model space: the camera looks at the face from the front (MODEL_TO_CAMERA), the face centred at z_ref
    translation = np.array([0.0, 0.0, cam.z_ref])
    to_model = [(cam.to_camera(s) - translation) @ MODEL_TO_CAMERA for s in stages]
    rotation, translation = crop.to_photo(MODEL_TO_CAMERA.copy(), translation)
    h, w = img.shape[:2]
    if CROP / crop.scale < CROP_MIN_PX:
        warnings.append(f"the face is small ({CROP / crop.scale:.0f} px): expect a coarse result")
    step(1.0, "done")
    return MeshReconstruction(
        vertices=to_model[-1], faces=net.levels[-1].faces, stages=to_model, crop_points=stages[-1],
        rotation=rotation, translation=translation, K=crop.image_intrinsics(), width=w, height=h, crop=crop,
        score=float(score), n_faces=n_faces, timings={k: round(v, 3) for k, v in times.items()}, warnings=warnings,
        models={"pixel2mesh": Path(weights_path).name})

