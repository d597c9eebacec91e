"""468-point face mesh with MediaPipe's face_landmark.tflite, in torch, and the photo front end `detect`.

Two mesh models (`MESH_MODELS`, chosen per call with `model=`): "mesh", the plain 468-point model, and
"attention", face_landmark_with_attention.tflite, whose lips, eyes and irises are drawn again by sub-networks in
crops around them (`mp_custom_ops`): its 80 lip and 2 × 71 eye points replace the mesh's (x, y; z stays the
mesh's) and its 2 × 5 iris points come as `FaceMesh.iris`, their z the mean of the eye contour's, as MediaPipe's
LandmarksRefinementCalculator does (docs/photo.md: which is the default and why).

Detection → region of interest as in MediaPipe's face_detection_front_detection_to_roi graph: the detection box
centre, the long side × 1.5 as a square, rotated so the line from the right eye keypoint to the left one is
horizontal. That square is sampled into 192×192 (edge pixels replicated), fed to the model in [0, 1]; its 468
(x, y, z) outputs in crop pixels are rotated and scaled back into the photo. z is MediaPipe's relative depth
(smaller = closer to the camera, origin near the face's centre plane) in the same pixel units as x and y.
The second output is the face-presence logit; its sigmoid is `FaceMesh.score`.

Two additions make it hold up on real photos (measured on the London portraits and transformed copies, see
docs/photo.md): (1) orientation: the detector's eye keypoints set the crop's rotation, and on a face it sees
upside down they point the wrong way while the mesh model still reports a face (presence logit ~5 against ~23
upright). So the crop is tried at all four quarter turns and the turn with the highest presence logit wins;
then the ROI is rebuilt from the mesh's own landmarks (MediaPipe's landmarks-to-ROI: eye corners 33 → 263 set
the roll) and the mesh is run once more, which also corrects a roll the keypoints got slightly wrong.
(2) search: when no face survives the presence check, the detector is run again on tiles (small faces), then on
the photo turned by quarter turns (faces on their side or upside down), see SEARCH.

Coordinates are pixel-centre image coordinates like `face_detect`: x right, y down, (0, 0) the centre of the
top-left pixel. "Left"/"right" landmark sets are the subject's (MediaPipe's FACEMESH_LEFT_EYE lies on the
image's right in a frontal photo).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
import torch

from . import PhotoError
from .face_detect import FaceBox, detect_faces
from .mediapipe_assets import N_POINTS, load_model
from .mp_crop import as_image_tensor, crop_square, crop_to_image
from .tflite_torch import TFLiteGraph

INPUT = 192
MESH_MODELS = ("mesh", "attention")
#: the model a call without `model=` runs (read at call time)
DEFAULT_MODEL = "mesh"
#: an iris's depth is the mean depth of its eye's contour, the first 16 points of the eye crop's subset (lower
#: contour 9, upper 7: MediaPipe's tensors_to_face_landmarks_with_attention graph)
EYE_CONTOUR = 16
ROI_SCALE = 1.5
#: a mesh's presence (after the orientation search and the landmark ROI) must reach this to count as a face.
#: MediaPipe's tracker keeps faces above 0.5 (logit 0); searching four turns and refining gives a non-face more
#: chances, so we ask for logit 3.9. Measured: real faces 16–30 on the London portraits and every transformed
#: copy, 6.2 on camera.png's near profile; non-faces at most 3.5 (chelsea.png's cat), 1.3 (rocket.jpg).
MIN_PRESENCE = 0.98
#: a mesh at least this sure (presence logit) is taken as is; below it, smaller ROIs are tried as well
#: (`face_landmarks`). Real London faces reach 16-30, so their meshes never take the extra runs
CONFIDENT_LOGIT = 12.0
#: ROI sizes tried, relative to the detection's, when its mesh is not confident
SMALLER_ROIS = (0.6,)
#: landmark-ROI refinements of a smaller ROI's mesh (a crop far from the face's scale needs three to settle:
#: London 006 at a tenth of the frame was 0.32 eye distances off after two, 0.04 after three)
SETTLE_REFINEMENTS = 3
#: MediaPipe's landmarks-to-ROI rotation points: the subject's right and left outer eye corners
ROLL_POINTS = (33, 263)
#: detector passes, in order, until one yields a face: (search, quarter turns), see `detect_faces`. The whole
#: photo is always searched at all four turns (faces at any roll; +3 detector runs, ~15 ms each)
ALL_TURNS = (0, 1, 2, 3)
SEARCH = (("whole", ALL_TURNS), ("tiles", ALL_TURNS), ("fine_tiles", (0,)))
#: two results are one face when this much of the smaller one's landmark box lies inside the other's: several
#: detections of one face converge on it once the orientation search and the landmark ROI have corrected their
#: crops, and a detection of part of a face that fills the photo (an eye and a brow) yields a mesh inside it
SAME_FACE_OVERLAP = 0.5


@dataclass(frozen=True)
class Roi:
    """The square the mesh model saw: centre (pixel-centre coordinates), side in pixels, and the rotation in
    radians of its x axis towards +y (clockwise on screen)."""

    center: tuple[float, float]
    size: float
    angle: float


@dataclass(frozen=True)
class FaceMesh:
    """`points` (468, 3) float64 image pixels (x, y, relative depth z); `score` face presence in [0, 1];
    `iris` (10, 3) the right then left iris (centre, then four edge points) from the attention model, else None."""

    points: np.ndarray
    score: float
    detection: FaceBox
    roi: Roi
    iris: np.ndarray | None = None


def face_roi(box: FaceBox) -> Roi:
    """MediaPipe's detection → landmark ROI (rotation from keypoints 0 → 1, square long side × 1.5)."""
    (rx, ry), (lx, ly) = box.keypoints[0], box.keypoints[1]
    return Roi(box.center, max(box.width, box.height) * ROI_SCALE, _roll((rx, ry), (lx, ly)))


def landmarks_roi(points: np.ndarray) -> Roi:
    """MediaPipe's landmarks → ROI: rotation from the outer eye corners, the square long side of the landmarks'
    box × 1.5. The box is taken in the face's own (rolled) frame, so a tilted face does not get a larger crop."""
    angle = _roll(points[ROLL_POINTS[0], :2], points[ROLL_POINTS[1], :2])
    c, s = math.cos(angle), math.sin(angle)
    axes = np.array([[c, s], [-s, c]])  # rows: the face's x and y axes in the image
    local = points[:, :2] @ axes.T
    lo, hi = local.min(0), local.max(0)
    center = ((lo + hi) / 2) @ axes
    return Roi((float(center[0]), float(center[1])), float((hi - lo).max()) * ROI_SCALE, angle)


def _roll(right: tuple[float, float], left: tuple[float, float]) -> float:
    """Clockwise on-screen angle of the line from the subject's right eye to the left one."""
    return math.atan2(left[1] - right[1], left[0] - right[0])


def face_landmarks(img: np.ndarray | torch.Tensor, box: FaceBox, model: str | None = None) -> FaceMesh:
    """The 468-point mesh of the face detected as `box` in the (H, W, 3) [0, 1] image (or its
    `as_image_tensor`): the best of the four quarter turns of the detection's ROI, refined once from its own
    landmarks (see the module doc). When that mesh is not CONFIDENT_LOGIT sure, the detector's box may be too
    large for the face (weak detections of small faces are: a face a tenth of a 1600-pixel photo came with a
    box twice its size, and the mesh model, seeing the face at a third of its crop, drew a confident-looking
    mesh 1.5 eye distances off): the ROI is also tried at SMALLER_ROIS of its size, refined until it settles,
    and the mesh with the highest presence wins."""
    t = img if isinstance(img, torch.Tensor) else as_image_tensor(img)
    roi = face_roi(box)
    mesh, logit = _settled_mesh(t, roi, box, 1, model)
    if logit < CONFIDENT_LOGIT:
        for scale in SMALLER_ROIS:
            smaller = _settled_mesh(t, Roi(roi.center, roi.size * scale, roi.angle), box, SETTLE_REFINEMENTS, model)
            if smaller[1] > logit:
                mesh, logit = smaller
    return mesh


def _settled_mesh(img: torch.Tensor, roi: Roi, box: FaceBox, refinements: int,
                  model: str | None) -> tuple[FaceMesh, float]:
    """(mesh, presence logit): the best quarter turn of `roi`, then `refinements` times re-run in the ROI of
    its own landmarks (the last run is returned: each run sees the face closer to how the model was trained)."""
    turns = [Roi(roi.center, roi.size, roi.angle + k * math.pi / 2) for k in range(4)]
    mesh, logit = max(meshes_in_rois(img, turns, box, model), key=lambda m: m[1])
    for _ in range(refinements):
        mesh, logit = meshes_in_rois(img, [landmarks_roi(mesh.points)], box, model)[0]
    return mesh, logit


def meshes_in_rois(img: torch.Tensor, rois: list[Roi], box: FaceBox,
                   model: str | None = None) -> list[tuple[FaceMesh, float]]:
    """(mesh, presence logit) for each ROI of the `as_image_tensor` image, the crops run as one batch. With
    [face_roi(box)] this is exactly MediaPipe's static-image face mesh (`model`: one of MESH_MODELS, None for
    DEFAULT_MODEL)."""
    model = model or DEFAULT_MODEL
    if model not in MESH_MODELS:
        raise ValueError(f"face mesh model must be one of {MESH_MODELS}, not {model!r}")
    centers = [(r.center[0] + 0.5, r.center[1] + 0.5) for r in rois]  # edge coordinates for the crop
    crops = torch.cat([crop_square(img, c, r.size, r.angle, INPUT, "border") for c, r in zip(centers, rois)])
    graph, refinement = _mesh(model)
    outputs = graph(crops)
    raw, iris = _refined(outputs, refinement)
    flag = outputs[-1].reshape(len(rois)).numpy().astype(np.float64)
    out = []
    for k, (r, c, logit) in enumerate(zip(rois, centers, flag)):
        score = float(1 / (1 + math.exp(-float(np.clip(logit, -100, 100)))))
        out.append((FaceMesh(_to_image(raw[k], c, r), score, box, r,
                             None if iris is None else _to_image(iris[k], c, r)), float(logit)))
    return out


def _to_image(points: np.ndarray, center: tuple[float, float], roi: Roi) -> np.ndarray:
    """(K, 3) crop pixels -> image pixels (pixel-centre x, y; z scaled like them)."""
    xy = crop_to_image(points[:, :2], center, roi.size, roi.angle, INPUT) - 0.5
    return np.column_stack([xy, points[:, 2] / INPUT * roi.size])


def _refined(outputs: list[torch.Tensor], refinement: list[dict]) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, 468, 3) mesh points in crop pixels with the refined lip/eye (x, y) put in, and (N, 10, 3) iris
    points (None for the plain mesh), float64. See the module doc."""
    n = len(outputs[0])
    points = outputs[0].reshape(n, N_POINTS, 3).numpy().astype(np.float64)
    iris = []
    for r in refinement:
        sub = outputs[r["output"]].reshape(n, -1, 2).numpy().astype(np.float64)
        subset = np.asarray(r["subset"])
        if sub.shape[1] == len(subset):
            points[:, subset, :2] = sub
        else:
            z = points[:, subset[:EYE_CONTOUR], 2].mean(1, keepdims=True)
            iris.append(np.concatenate([sub, np.repeat(z[..., None], sub.shape[1], 1)], -1))
    return points, (np.concatenate(iris, 1) if iris else None)


def detect(img: np.ndarray, *, which: Literal["largest", "all"] = "largest",
           model: str | None = None) -> list[FaceMesh]:
    """Face meshes of the photo, largest first (one when `which="largest"`): size is the mesh's own extent
    (the detector's boxes are too coarse to rank two faces of similar size). Faces whose mesh presence is below
    MIN_PRESENCE are dropped, and the detector passes of SEARCH run in turn until one yields a face. Raises
    PhotoError when no face is found."""
    if which not in ("largest", "all"):
        raise ValueError(f"which must be 'largest' or 'all', not {which!r}")
    t = as_image_tensor(img)
    for search, turns in SEARCH:
        meshes: list[FaceMesh] = []
        for box in detect_faces(t, search=search, quarter_turns=turns):  # best score first
            if any(_inside(box.center, m) for m in meshes):
                continue  # the same face seen at another turn (or a part of it): its mesh is already there
            mesh = face_landmarks(t, box, model)
            if mesh.score >= MIN_PRESENCE and not any(_same_face(mesh, m) for m in meshes):
                meshes.append(mesh)
        if meshes:
            meshes.sort(key=lambda m: -float(np.prod(np.ptp(m.points[:, :2], 0))))
            return meshes[:1] if which == "largest" else meshes
    h, w = np.shape(img)[:2]
    raise PhotoError(f"no face found in the photo ({w}×{h} px): use a photo where the face is clearly "
                     "visible, roughly frontal and at least about 1/12 of the photo's long side")


def detect_drawn_by(img: np.ndarray, model: str, *, which: Literal["largest", "all"] = "largest") -> list[FaceMesh]:
    """`detect`'s faces (found and checked by the plain mesh), each drawn again by `model` in the ROI of its
    landmarks (MediaPipe's landmarks → ROI, as its tracker does from frame to frame), keeping the plain mesh's
    presence score. The plain mesh decides what is a face because MIN_PRESENCE is calibrated on it; the attention
    model's presence separates faces from non-faces worse: logit 9.7 on rocket.jpg, 8.1 on coffee.png and 5.4 on
    chelsea.png's cat (the plain mesh: 1.4, -0.7, 3.5), against 19 on camera.png's near profile."""
    meshes = detect(img, which=which, model="mesh")
    if model == "mesh":
        return meshes
    t = as_image_tensor(img)
    return [replace(meshes_in_rois(t, [landmarks_roi(m.points)], m.detection, model)[0][0], score=m.score)
            for m in meshes]


def _inside(point: tuple[float, float], mesh: FaceMesh) -> bool:
    """True when `point` lies inside the mesh's landmark box."""
    lo, hi = mesh.points[:, :2].min(0), mesh.points[:, :2].max(0)
    return bool((np.asarray(point) >= lo).all() and (np.asarray(point) <= hi).all())


def _same_face(a: FaceMesh, b: FaceMesh) -> bool:
    """True when more than SAME_FACE_OVERLAP of the smaller landmark box lies inside the other."""
    (a0, a1), (b0, b1) = ((m.points[:, :2].min(0), m.points[:, :2].max(0)) for m in (a, b))
    inter = np.prod(np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None))
    return bool(inter > SAME_FACE_OVERLAP * min(np.prod(a1 - a0), np.prod(b1 - b0)))


@lru_cache(maxsize=len(MESH_MODELS))
def _mesh(model: str) -> tuple[TFLiteGraph, list[dict]]:
    """The executor and the refinement list (`mediapipe_assets.refinement_of`; empty for the plain mesh)."""
    spec, constants = load_model(model)
    return TFLiteGraph(spec, constants), spec.get("refinement", [])
