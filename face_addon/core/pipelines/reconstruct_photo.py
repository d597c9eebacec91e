"""Photo -> FaceKit (3DDFA-V3 with PRDL): detect, crop, regress, fit.

    rec = reconstruct_photo("me.jpg")                    # or an (H, W, 3) float image
    rec.alpha_id, rec.alpha_exp, rec.vertices            # FaceKit coefficients, model-space template vertices
    rec.rotation, rec.translation, rec.K, rec.width, rec.height   # the photo's camera (OpenCV)

Stages: MediaPipe-derived face detector + 468-point mesh (`core.photo.face_mesh`: the plain mesh finds the faces,
the attention model `MESH_MODEL` draws their points, mapped to the 68 by its own calibrated map) -> square crop
around the landmarks (224²), turned upright with the face when the photo shows it rolled (`core.photo.upright_crop`; the
pose goes back into the photo's camera at the end) -> the learned network (`models/photo_regressor.pt`): FaceKit parameters (the fit's
initialiser) and part masks from its parser head, used when the parser sees a photo like its renders, else
the MediaPipe contour polygons, as on real photos (`masks="combined"`, `parts2d.combine_masks`) -> per-photo fitting of the pose, the
regressor's identity and expression kept (`core.photo.fit`, `joint_config`: landmarks + PRDL + photometric) -> the
ARKit units the detected mesh's geometry shows (`core.photo.expressions`) -> a landmark correction (`core.photo.detail`, in
`vertices` and `detail`); the last three follow the detections as far as the head's pose lets them be trusted
(`core.photo.trust`). `method="regressor"` stops after the network. `masks="parser"` / `"landmarks"` take one
source alone (the polygons are also the fallback without weights).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..capabilities import MODELS_DIR
from ..photo.camera import CROP, MODEL_TO_CAMERA
from ..photo.detail import landmark_detail
from ..photo.fit import FitConfig, FitParams, FitResult, Fitter, FitTarget
from ..photo.upright_crop import UprightCrop
from ..progress import Cancel, Progress, reporter
from ..weights import cached_per_file_version

REGRESSOR_FILE = MODELS_DIR / "photo_regressor.pt"
METHODS = ("fit", "regressor")
MASK_SOURCES = ("combined", "parser", "landmarks")
#: λ_lmk of the pose fit (10× the paper's, a tenth of the landmark-led fit's 0.16: the pinned landmark correction,
#: not the fit, now puts the landmarks on the detections; on the validation views this and dropping the pose refit
#: (`with_read_expression`) raised Part IoU 0.545 -> 0.574 at 2.23 -> 2.25 mm)
LANDMARK_LAMBDA = 0.016
#: the face mesh that draws the photo methods' points (`face_mesh.detect_drawn_by`; the plain mesh still decides
#: what is a face). The attention model redraws lips and eyes; with the iBUG map refitted on its points
#: (`ibug_map.WEIGHTS_FILES`) it put the 44 London iBUG points 1.76 % of the eye distance off against the plain
#: mesh's 2.07 % (5-fold over people, same run, docs/photo.md). The scan pipelines keep the plain mesh (worse on
#: the Artec scans with attention: tests/bench/results/attention_mesh.md)
MESH_MODEL = "attention"


#: no fitting steps: the result of the parameters as they are
EVALUATE_ONLY = FitConfig(use_prdl=False, use_photo=False, coarse_iters=0, mid_iters=0, fine_iters=0)


def joint_config(use_prdl: bool = True, from_regressor: bool = True) -> FitConfig:
    """The per-photo fit after the regressor: pose, lighting and albedo only; the regressor's identity and
    expression are kept (the expression read-out and the landmark correction follow the detections later).
    Measured on synthetic validation portraits (seeds 900,000-900,031, docs/photo.md round 3): fitting identity
    to the 468 detected points made the shape worse than the regressor's (the detector's errors on a face go
    into identity and expression: depth is ambiguous from 2D points), and no shrinkage of the regressor's
    identity towards the prior mean helped by more than 0.03 mm. Without a regressor (mean-face start) identity and
    expression are fitted as in 3DDFA-V3."""
    if not from_regressor:
        return FitConfig(use_prdl=use_prdl)
    return FitConfig(use_prdl=use_prdl, free_id=False, free_exp=False, landmark_lambda=LANDMARK_LAMBDA)


@dataclass
class PhotoReconstruction:
    alpha_id: np.ndarray
    alpha_exp: np.ndarray
    vertices: np.ndarray  # (n, 3) FaceKit template topology, model space (Blender axes, metres)
    rotation: np.ndarray  # (3, 3) model -> OpenCV camera
    translation: np.ndarray  # (3,) metres
    K: np.ndarray  # (3, 3) in photo pixels
    width: int
    height: int
    landmarks: np.ndarray  # (468, 3) photo pixels
    crop: UprightCrop  # the face crop the network and the fit saw, turned upright with the face
    score: float
    n_faces: int
    method: str
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # the target part masks, crop pixels
    part_labels: np.ndarray | None = None  # (CROP, CROP) class ids of the reconstruction's parts in the crop
    detail: np.ndarray | None = None  # (n, 3) model-space offsets already in `vertices` (`photo.detail`)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    models: dict[str, str | None] = field(default_factory=dict)  # the weights files that ran (None: not used)
    mask_source: str = "polygons"  # where the part masks the fit aligned to came from: "parser" | "polygons"

    @property
    def world_to_camera(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = self.rotation, self.translation
        return m


_FITTER: dict[str, Fitter] = {}


def fitter(mesh_model: str = MESH_MODEL) -> Fitter:
    """One Fitter per process and face mesh model (building it evaluates the prior and subdivides FaceKit: ~1 s),
    its FaceKit holding that model's embedding of the 468 points (`facekit_photo.EMBEDDING_FILES`)."""
    if mesh_model not in _FITTER:
        from ..photo.facekit_photo import load_photo_facekit

        _FITTER[mesh_model] = Fitter(load_photo_facekit(mesh_model=mesh_model))
    return _FITTER[mesh_model]


def _build_regressor(path: str):
    """The regressor in eval mode (WeightsError when missing or foreign); loaded once per file version, so
    reconstructing many photos does not re-read the weights each time."""
    from ..nets.photo_regressor import PhotoRegressor
    from ..weights import load_weights

    state, meta = load_weights(path, "photo_regressor", (1,))
    net = PhotoRegressor(int(meta["n_id"]), int(meta["n_exp"]))
    net.load_state_dict(state)
    return net.eval()


load_regressor = cached_per_file_version(_build_regressor)


def crop_face(img: np.ndarray, points: np.ndarray) -> tuple[UprightCrop, np.ndarray, np.ndarray]:
    """(the face crop turned upright with the face, its (CROP, CROP, 3) image, the (468, 2) detected points in
    crop pixels) of one face's detected `points`: what the regressor, its parser, the polygons and the fit see
    (benchmarks take the same)."""
    crop = UprightCrop.for_landmarks(points)
    return crop, crop.sample(img), crop.to_crop(points[:, :2])


def regress(net, crop_img: np.ndarray) -> tuple[FitParams, dict[str, np.ndarray]]:
    """(initial parameters, parser part masks {part: (CROP, CROP) bool}) of one crop."""
    import torch

    from ..nets.photo_regressor import parse
    from ..photo.facekit_photo import PARTS
    from ..photo.parts2d import largest_components

    with torch.no_grad():
        out = net(torch.as_tensor(crop_img, dtype=torch.float32).permute(2, 0, 1)[None])
        labels = parse(out["parts"], CROP)[0].numpy()
    masks = largest_components({p: labels == k for k, p in enumerate(PARTS, start=1)})
    return FitParams(out["id_n"][0], out["exp_n"][0], out["r"][0], out["t"][0]), masks


def _rotation(res: FitResult) -> np.ndarray:
    """The fit's model -> OpenCV camera rotation."""
    from ..photo.camera import rotation_matrix

    return rotation_matrix(res.params.r.double()).numpy() @ MODEL_TO_CAMERA


def with_read_expression(f: Fitter, target: FitTarget, res: FitResult, K: np.ndarray, points: np.ndarray,
                         trust: float = 1.0) -> FitResult:
    """The fit with its ARKit units replaced by those read from the detected mesh's geometry
    (`photo.expressions`, blended with the fit's by `trust`); identity and pose stay. A pose refit to the
    landmarks after this (rounds 1-2) pulled the parts off the photo's on validation renders (Part IoU 0.574 ->
    0.545) for no gain in shape; the landmark correction that follows closes the remaining 2D gap."""
    import torch

    from ..photo.expressions import photo_expression

    exp = photo_expression(f.model, res.alpha_exp, res.vertices, _rotation(res), res.params.t.double().numpy(), K,
                           points, weight=trust)
    p = res.params.detach()
    p.exp_n = torch.as_tensor((exp - f.model.exp_mean) / f.model.exp_std, dtype=torch.float32)
    return f.fit(target, init=p, cfg=EVALUATE_ONLY)


def follow_detections(f: Fitter, target: FitTarget, res: FitResult, K: np.ndarray, points: np.ndarray,
                      mesh_model: str = MESH_MODEL) -> tuple[FitResult, np.ndarray, float]:
    """The stages that follow the detected points beyond FaceKit's prior — the expression read from the mesh,
    the landmark correction — scaled by how far the detections are trusted at
    the joint fit's pose (`photo.trust`; 0: the joint fit is kept as it is). `K` and `points` in the same
    pixels (photo or crop), drawn by the face mesh `mesh_model`. Returns (result, (n, 3) model-space detail
    offsets, trust)."""
    from ..photo.ibug_map import load_weights
    from ..photo.trust import pose_trust

    trust = pose_trust(_rotation(res), res.params.t.double().numpy())
    if trust == 0.0:
        return res, np.zeros_like(res.vertices), trust
    res = with_read_expression(f, target, res, K, points, trust)
    detail = landmark_detail(f.model, res.vertices, _rotation(res), res.params.t.double().numpy(), K, points,
                             strength=trust, ibug_weights=load_weights(mesh_model=mesh_model))
    return res, detail, trust


def front_end_models() -> dict[str, str | None]:
    """The assets of the photo front end, by role, for `PhotoReconstruction.models`: MediaPipe's detector, the face
    mesh model that draws the points (`MESH_MODEL`), the iBUG map calibrated on that model's points and the
    embedding that places them on FaceKit, so a result says which mesh, map and embedding it came from (the plain
    and the attention mesh have one of each)."""
    from ..photo.facekit_photo import EMBEDDING_FILES
    from ..photo.ibug_map import WEIGHTS_FILES
    from ..photo.mediapipe_assets import default_asset_path

    asset = default_asset_path().name
    return {"detector": asset, "face_mesh": f"{asset}:{MESH_MODEL}", "ibug_map": WEIGHTS_FILES[MESH_MODEL],
            "embedding": EMBEDDING_FILES[MESH_MODEL]}


def reconstruct_photo(photo: str | Path | np.ndarray, *, method: str = "fit", use_prdl: bool = True,
                      masks: str = "combined", face_index: int = 0,
                      regressor_path: Path | str | None = REGRESSOR_FILE,
                      progress: Progress | None = None, cancel: Cancel | None = None) -> PhotoReconstruction:
    """Reconstruct the face `face_index` (0 = largest) of a photo; see the module doc. Raises Cancelled at the
    next stage once `cancel()` is true (core/progress.py)."""
    from ..photo import PhotoError
    from ..photo.face_mesh import detect_drawn_by
    from ..photo.image_io import load_photo
    from ..photo.mediapipe_assets import load_connections
    from ..photo.parts2d import combine_masks, part_masks

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if masks not in MASK_SOURCES:
        raise ValueError(f"masks must be one of {MASK_SOURCES}")
    step = reporter(progress, cancel)
    times: dict[str, float] = {}
    t = time.perf_counter()
    img = load_photo(photo) if not isinstance(photo, np.ndarray) else np.asarray(photo, np.float32)
    times["load"] = time.perf_counter() - t
    step(0.1, "detecting faces")
    t = time.perf_counter()
    faces = detect_drawn_by(img, MESH_MODEL, which="all")
    if face_index >= len(faces):
        raise PhotoError(f"the photo has {len(faces)} face(s), numbered 0-{len(faces) - 1} from the largest; "
                         f"there is no face {face_index}")
    face = faces[face_index]
    times["detect"] = time.perf_counter() - t
    crop, crop_img, lm = crop_face(img, face.points)
    warnings = []
    if CROP / crop.scale < 64:
        warnings.append(f"the face is small ({CROP / crop.scale:.0f} px): expect a coarse result")
    step(0.3, "regressing")
    t = time.perf_counter()
    f = fitter(MESH_MODEL)
    init, part = None, None
    models = front_end_models() | {"regressor": None, "parser": None}
    if regressor_path is not None and Path(regressor_path).is_file():
        init, part = regress(load_regressor(regressor_path), crop_img)
        models |= {"regressor": Path(regressor_path).name, "parser": Path(regressor_path).name}
    elif method == "regressor":
        from ..weights import WeightsError

        raise WeightsError(f"the photo regressor is missing ({regressor_path})")
    else:
        warnings.append("no regressor weights: fitting starts from the mean face, masks from the landmarks")
    mask_source = "parser"
    if masks != "parser" or part is None:
        polygons = part_masks(lm, load_connections(), CROP, CROP)
        part, mask_source = (combine_masks(part, polygons) if masks == "combined" and part is not None
                             else (polygons, "polygons"))
    if mask_source == "polygons":
        models["parser"] = None  # the parser ran but its masks were not used (out of its domain, or not asked)
    times["regressor"] = time.perf_counter() - t
    step(0.4, "fitting")
    t = time.perf_counter()
    target = FitTarget(landmarks=lm, masks=part, image=crop_img)
    cfg = joint_config(use_prdl, from_regressor=init is not None)
    if method == "regressor":
        cfg = EVALUATE_ONLY
    res = f.fit(target, init=init, cfg=cfg)
    detail = None
    if method == "fit" and f.model.embedding:
        step(0.8, "reading the expression")
        res, detail, trust = follow_detections(f, target, res, crop.upright_intrinsics(),
                                               crop.upright_points(face.points))
        if trust < 1.0:
            warnings.append(f"the head is turned: the expression and landmark correction follow the detector at "
                            f"{100 * trust:.0f} %")
    times["fit"] = time.perf_counter() - t
    step(1.0, "done")
    h, w = img.shape[:2]
    rotation, translation = crop.to_photo(_rotation(res), res.params.t.double().numpy())
    return PhotoReconstruction(
        alpha_id=res.alpha_id, alpha_exp=res.alpha_exp,
        vertices=res.vertices if detail is None else res.vertices + detail, rotation=rotation,
        translation=translation, K=crop.image_intrinsics(), width=w, height=h, detail=detail,
        landmarks=np.asarray(face.points), crop=crop, score=float(face.score), n_faces=len(faces), method=method,
        masks=part, part_labels=f.label_image(res.params), timings={k: round(v, 3) for k, v in times.items()}, warnings=warnings,
        models=models, mask_source=mask_source)
