"""3D facial landmarks on any mesh or point cloud, in any orientation and unit.

    result = detect_landmarks(vertices, faces)        # arrays in, dataclass out; method="views" by default
    result.landmarks (68, 3) in the input's frame and units, result.confidence (68,), result.orientation

Methods (docs/landmarks.md compares them on real scans):
- "views" (default): the face frame is found from renders (`face_orientation`), then the MediaPipe face mesh
  reads a rig of rendered views and the points are back-projected and fused (`landmarks_views`). Point clouds
  are drawn as splats (`point_splats`) for both. An input on which no face is seen is an error (NoFaceError),
  unless `fallback=True` asks for 2S-SGCN's answer there (with a warning): on a mesh that is not a face that
  answer is 68 points somewhere on it.
- "sgcn": 2S-SGCN (Burger et al., CVIU 2025, below), run in the face frame when one is found (it was trained
  on upright synthetic heads), else on the input as it is (assumed roughly upright, +Z up).
- "fusion": both; per landmark the confidence-weighted mean of the two, snapped to the surface.

2S-SGCN. Stage 0 (§3.2): Poisson-disk resampling to |V| = 8000 points carrying the normals of their source
triangles (point clouds: PCA normals), then standardisation (centre, PCA-align, scale into [-1, 1]; see
geometry/pca_align.py for the sign convention). Stage 1 (§4.1): the SGCN predicts a heatmap per landmark on
the fine kNN graph (k = 16) + the coarse graph of the points nearest the training-mean prototype. Stage 2
(§4.2, MSE-over-mesh): per landmark, the softmax-weighted mean m of its top-t points (Eq. 6; the weights sum
to one), the ball of radius gamma * r_m around m on the ORIGINAL vertices (Eq. 7), and the vertex whose
Gaussian (Eq. 1, sigma) best explains the top-t heatmap values (Eq. 8). The 1-stage estimate m is kept too
(the 1S ablation). Confidence = heatmap peak per landmark.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..capabilities import MODELS_DIR
from ..geometry.knn_graph import estimate_normals, knn_graph
from ..geometry.pca_align import Standardization, standardize
from ..geometry.poisson_disk import poisson_disk_mesh, poisson_disk_subset
from ..geometry.similarity import umeyama
from ..mesh import Mesh, MeshError, guess_unit_scale
from ..progress import Cancel, Progress, reporter, within
from . import sgcn_frame
from .sgcn_frame import REFITS, FrameCrop, crop_mesh, frame_from_landmarks, guessed_frames

WEIGHTS_KIND = "landmarks_2s_sgcn"
WEIGHTS_VERSIONS = (1,)
DEFAULT_WEIGHTS = MODELS_DIR / "landmarks.pt"

N_POINTS = 8000     # |V| (§5.2)
K_NEIGHBOURS = 16   # fine graph k (§5.2)
SIGMA = 0.03        # heatmap spread in standardised units (Eq. 1)
TOP_T = 12          # t of Eqs. 6-8 (§5.2)
GAMMA = 5.0         # ball radius factor of Eq. 7 (§5.2)
MAX_BALL = 20000    # at most this many candidate vertices per landmark in stage 2 (only hit by flat heatmaps)
#: below these 2S-SGCN's result gets a warning (the paper-input weights: calibrated on held-out scans vs. non-face
#: meshes, docs/landmarks.md; face-frame weights: sgcn_frame's; the view method's points: landmarks_confidence.LOW)
LOW_CONFIDENCE = 0.25
METHODS = ("views", "sgcn", "fusion")
NOT_A_FACE_MEAN_CONFIDENCE = 0.38
NOT_A_FACE_SHAPE_RESIDUAL = 0.15


class NoFaceError(MeshError):
    """The views method found no face on a mesh (and no fallback to 2S-SGCN was asked for)."""


@dataclass
class PreparedInput:
    """Stage-0 output: standardised resampled points, features and graphs for the network."""

    points: np.ndarray        # (N, 3) standardised positions
    normals: np.ndarray       # (N, 3) unit normals (standardised frame)
    neighbours: np.ndarray    # (N, k+1) fine graph, self first
    coarse: np.ndarray        # (|L|,) indices of the coarse nodes
    standardization: Standardization

    @property
    def features(self) -> np.ndarray:
        return np.concatenate([self.points, self.normals], axis=1).astype(np.float32)


@dataclass
class LandmarkResult:
    landmarks: np.ndarray          # (68, 3) 2S-SGCN estimate (vertices of the input), input frame and units
    landmarks_1s: np.ndarray       # (68, 3) stage-1 weighted mean m (Eq. 6), input frame and units
    confidence: np.ndarray         # (68,) heatmap peak in [0, 1]
    vertex_index: np.ndarray       # (68,) index of the chosen input vertex (-1: fell back to m)
    unit_scale: float              # factor to metres guessed from the size (1, 0.01 or 0.001)
    warnings: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # resample_s, network_s, stage2_s, total_s
    n_points: int = 0
    shape_residual: float = 0.0    # similarity-aligned RMS distance to the prototype (standardised units)
    method: str = "sgcn"           # the method that produced `landmarks` ("views", "sgcn", "fusion")
    frame: object | None = None    # face_orientation.FaceFrame used, None when none was found
    models: dict = field(default_factory=dict)  # role -> weights/asset file that ran, None: not run (`_models`)

    @property
    def orientation(self) -> dict | None:
        """The face frame as a JSON-ready dict (up, forward, units, confidence), None when none was found."""
        return None if self.frame is None else self.frame.to_dict()


def nearest_to(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the point nearest each target (Eq. 5)."""
    return np.asarray(cKDTree(points).query(targets)[1], np.int64)


def heatmaps(points: np.ndarray, landmarks: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """Eq. 1: H = exp(-d^2 / 2 sigma^2), (N, |L|)."""
    d2 = ((points[:, None, :] - landmarks[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * sigma ** 2)).astype(np.float32)


def resample(vertices: np.ndarray, faces: np.ndarray | None, n_points: int, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Stage 0 resampling: Poisson-disk points + source-triangle normals (point clouds: PCA normals)."""
    if faces is not None and len(faces):
        return poisson_disk_mesh(vertices, faces, n_points, rng)
    keep = poisson_disk_subset(vertices, n_points, rng)
    pts = np.asarray(vertices, np.float64)[keep]
    return pts, estimate_normals(pts, K_NEIGHBOURS)


def prepare(points: np.ndarray, normals: np.ndarray, prototype: np.ndarray, k: int = K_NEIGHBOURS,
            standardization: Standardization | None = None) -> PreparedInput:
    """Standardise resampled points (the paper's PCA standardisation unless one is given) and build the fine
    and coarse graphs."""
    st = standardization if standardization is not None else standardize(points, normals)
    p = st.apply(points)
    nrm = st.apply_vectors(normals)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    return PreparedInput(p, nrm, knn_graph(p, k), nearest_to(p, prototype), st)


def weighted_mean(points: np.ndarray, heat: np.ndarray, top: int = TOP_T) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 6 for all landmarks: (m (L, 3), top indices (L, t)). heat (N, L) -> softmax over each top-t."""
    t = min(top, len(points))
    idx = np.argpartition(-heat, t - 1, axis=0)[:t].T  # (L, t)
    h = np.take_along_axis(heat.T, idx, axis=1)
    w = np.exp(h - h.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return (w[:, :, None] * points[idx]).sum(axis=1), idx


def mse_over_mesh(original_std: np.ndarray, points: np.ndarray, heat: np.ndarray, top: int = TOP_T,
                  gamma: float = GAMMA, sigma: float = SIGMA, tree: cKDTree | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage 2 (Eqs. 6-8) on standardised original vertices -> (landmarks (L,3), vertex index (L,) or -1, m (L,3))."""
    m, idx = weighted_mean(points, heat, top)
    r = np.linalg.norm(points[idx] - m[:, None, :], axis=2).max(axis=1)  # r_m
    radius = gamma * np.maximum(r, 1e-9)
    if len(original_std) * len(m) <= 3e7 and tree is None:  # numpy beats building Python lists for big balls
        balls = [np.flatnonzero(((original_std - c) ** 2).sum(1) <= rad ** 2) for c, rad in zip(m, radius)]
    else:
        tree = tree if tree is not None else cKDTree(original_std)
        balls = [np.asarray(b, np.int64) for b in tree.query_ball_point(m, radius)]
    out, chosen = m.copy(), np.full(len(m), -1, np.int64)
    for l, ball in enumerate(balls):
        if len(ball) == 0:
            continue
        if len(ball) > MAX_BALL:  # a flat heatmap on a huge mesh: bound the work (a spread-out subset)
            ball = ball[:: -(-len(ball) // MAX_BALL)]
        cand = original_std[ball]                       # (b, 3)
        q = points[idx[l]]                              # (t, 3)
        d2 = ((cand[:, None, :] - q[None, :, :]) ** 2).sum(-1)
        cost = ((heat[idx[l], l][None, :] - np.exp(-d2 / (2 * sigma ** 2))) ** 2).mean(axis=1)
        best = int(np.argmin(cost))
        chosen[l] = ball[best]
        out[l] = cand[best]
    return out, chosen, m


def shape_residual(landmarks_std: np.ndarray, prototype: np.ndarray) -> float:
    """RMS distance after the best similarity transform of the landmarks onto the prototype (standardised units,
    prototype scale): a 'does this look like a face' measure independent of the heatmap values."""
    s, rot, t = umeyama(landmarks_std, prototype)
    return float(np.sqrt(((s * landmarks_std @ rot.T + t - prototype) ** 2).sum(1).mean()))


_MODEL_CACHE: dict = {}


def load_landmark_model(path: Path | str | None = None):
    """(network in eval mode, meta) from a weights file (default: the shipped models/landmarks.pt), cached."""
    import torch

    from ..nets.sgcn import SGCN
    from ..weights import load_weights

    path = Path(path) if path else DEFAULT_WEIGHTS
    key = (str(path.resolve()), path.stat().st_mtime if path.is_file() else None)
    if key not in _MODEL_CACHE:
        state, meta = load_weights(path, WEIGHTS_KIND, WEIGHTS_VERSIONS)
        net = SGCN(**meta["arch"])
        net.load_state_dict(state)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = (net, meta)
    return _MODEL_CACHE[key]


def predict_heatmaps(net, prepared: PreparedInput) -> np.ndarray:
    """(N, 68) heat maps of the prepared points, the network on the configured device (core/device.py)."""
    import torch

    from ..device import place

    device = place(net)
    with torch.inference_mode():
        feats = torch.from_numpy(prepared.features)[None].to(device)
        nbr = torch.from_numpy(prepared.neighbours)[None].to(device)
        coarse = torch.from_numpy(prepared.coarse)[None].to(device)
        return net(feats, nbr, coarse)[0].cpu().numpy().astype(np.float64)


def refine(vertices: np.ndarray, prepared: PreparedInput, heat: np.ndarray, top: int = TOP_T, gamma: float = GAMMA,
           sigma: float = SIGMA) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stage 2 on the input's own vertices -> (2S landmarks, 1S landmarks (input frame), vertex index, m (std)).

    Only the vertices inside the box around all balls are standardised (fast on 2M-vertex meshes)."""
    st = prepared.standardization
    m, idx = weighted_mean(prepared.points, heat, top)
    r = np.linalg.norm(prepared.points[idx] - m[:, None, :], axis=2).max(axis=1)
    reach = (gamma * r.max() + 1e-9) / st.scale
    centres = st.invert(m)
    lo, hi = centres.min(0) - reach, centres.max(0) + reach
    near = np.flatnonzero(((vertices >= lo) & (vertices <= hi)).all(axis=1))
    sub = st.apply(vertices[near])
    lm_std, chosen, _ = mse_over_mesh(sub, prepared.points, heat, top, gamma, sigma)
    vertex_index = np.where(chosen >= 0, near[np.maximum(chosen, 0)], -1)
    return st.invert(lm_std), st.invert(m), vertex_index, m


def detect_landmarks_sgcn(mesh: Mesh, weights: Path | str | None = None, *, model=None, seed: int = 0,
                          top: int | None = None, gamma: float | None = None, frame=None) -> LandmarkResult:
    """2S-SGCN's 68 iBUG landmarks on a validated mesh or point cloud in any unit.

    Weights trained in the face frame (meta "frame_crop", `sgcn_frame`) read the scan turned into `frame` and
    cut to the face mask; without a frame, guessed frames are read and the most confident reading re-fitted
    (`sgcn_frame.guessed_frames`, REFITS). The paper's weights (PCA standardisation) ignore `frame` and read
    the input as it lies, which should then be roughly upright (+Z up, face towards -Y, within ~±30°; a face
    looking +Y is turned around automatically). `model` = (net, meta) from `load_landmark_model` overrides
    `weights`.
    """
    t0 = time.perf_counter()
    net, meta = model if model is not None else load_landmark_model(weights)
    faces = mesh.faces if not mesh.is_point_cloud else None
    unit = guess_unit_scale(mesh)
    if "frame_crop" not in meta:
        run = _run_sgcn(mesh.vertices, faces, net, meta, seed, top, gamma, None)
        index = np.arange(mesh.n_vertices)
    else:
        crop = FrameCrop.from_meta(meta["frame_crop"])
        mean_landmarks = net.prototype.cpu().numpy().astype(np.float64) * crop.radius + crop.centre
        candidates = [frame] if frame is not None else guessed_frames(mesh.vertices, unit, mean_landmarks)
        best = None
        for f in candidates:  # no frame: the guess read most confidently, then re-fitted to its own reading
            reading = _sgcn_face_mask(mesh, f, faces, crop, net, meta, seed, top, gamma)
            if reading is not None and (best is None or reading[0].confidence.mean() > best[0].confidence.mean()):
                best = reading
        if best is None:
            raise MeshError("2S-SGCN found no surface where the face should be (the face frame may be wrong)")
        for _ in range(REFITS if frame is None else 0):
            refit = _sgcn_face_mask(mesh, frame_from_landmarks(best[0].landmarks, mean_landmarks), faces, crop, net,
                                    meta, seed, top, gamma)
            if refit is None:  # the reading was too far off to place the face: keep it
                break
            best = refit
        run, index = best
    warnings = []
    if unit != 1.0 and frame is None:
        warnings.append(f"the mesh looks like it is in {'millimetres' if unit == 0.001 else 'centimetres' if unit == 0.01 else 'decimetres'} "
                        f"(size {mesh.extent():.4g}); landmarks are returned in the same units")
    conf = run.confidence
    low_mean, high_residual = ((NOT_A_FACE_MEAN_CONFIDENCE, NOT_A_FACE_SHAPE_RESIDUAL) if "frame_crop" not in meta
                               else (sgcn_frame.NOT_A_FACE_MEAN_CONFIDENCE, sgcn_frame.NOT_A_FACE_SHAPE_RESIDUAL))
    if conf.mean() < low_mean or run.shape_residual > high_residual:
        warnings.append(f"this does not look like a face (mean confidence {conf.mean():.2f}, landmark layout "
                        f"residual {run.shape_residual:.3f}): the landmarks are probably wrong")
    low = np.flatnonzero(conf < LOW_CONFIDENCE)
    if len(low):
        warnings.append(f"{len(low)} landmark(s) with very low confidence (< {LOW_CONFIDENCE}): "
                        + ", ".join(str(i) for i in low[:12]) + (" ..." if len(low) > 12 else ""))
    vertex_index = np.where(run.vertex_index >= 0, index[np.maximum(run.vertex_index, 0)], -1)
    return LandmarkResult(
        landmarks=run.landmarks, landmarks_1s=run.landmarks_1s, confidence=conf, vertex_index=vertex_index,
        unit_scale=frame.unit_scale if frame is not None else unit, warnings=warnings, n_points=run.n_points,
        shape_residual=run.shape_residual, timings={**run.timings, "total_s": time.perf_counter() - t0})


def _sgcn_face_mask(mesh: Mesh, frame, faces, crop: FrameCrop, net, meta: dict, seed: int, top, gamma
                    ) -> tuple["_SgcnRun", np.ndarray] | None:
    """One face-frame reading in `frame` (landmarks back in the input's frame) and the input indices of the mask's
    vertices; None when the mask holds no surface."""
    canonical = frame.to_canonical(mesh.vertices)
    index, cropped_faces = crop_mesh(canonical, faces, crop)
    if len(index) < K_NEIGHBOURS + 1 or (cropped_faces is not None and not len(cropped_faces)):
        return None
    run = _run_sgcn(canonical[index], cropped_faces, net, meta, seed, top, gamma, crop.standardization())
    run.landmarks, run.landmarks_1s = frame.from_canonical(run.landmarks), frame.from_canonical(run.landmarks_1s)
    return run, index


@dataclass
class _SgcnRun:
    """One reading of 2S-SGCN, in the coordinates it was given."""

    landmarks: np.ndarray
    landmarks_1s: np.ndarray
    vertex_index: np.ndarray
    confidence: np.ndarray
    shape_residual: float
    n_points: int
    timings: dict


def _run_sgcn(vertices: np.ndarray, faces: np.ndarray | None, net, meta: dict, seed: int, top: int | None,
              gamma: float | None, standardization: Standardization | None) -> _SgcnRun:
    """Stages 0-2 on vertices (+ faces, None for a point cloud); `standardization` None: the paper's (PCA)."""
    t0 = time.perf_counter()
    n_points = int(meta.get("n_points", N_POINTS))
    sigma = float(meta.get("sigma", SIGMA))
    top = int(top if top is not None else meta.get("top", TOP_T))
    gamma = float(gamma if gamma is not None else meta.get("gamma", GAMMA))
    prototype = net.prototype.cpu().numpy().astype(np.float64)  # the net may sit on a GPU (core/device.py)
    pts, nrm = resample(vertices, faces, n_points, np.random.default_rng(seed))
    prepared = prepare(pts, nrm, prototype, int(meta.get("k", K_NEIGHBOURS)), standardization)
    t1 = time.perf_counter()
    heat = predict_heatmaps(net, prepared)
    t2 = time.perf_counter()
    landmarks, landmarks_1s, vertex_index, m = refine(vertices, prepared, heat, top, gamma, sigma)
    t3 = time.perf_counter()
    return _SgcnRun(landmarks, landmarks_1s, vertex_index, np.clip(heat.max(axis=0), 0.0, 1.0),
                    shape_residual(m, prototype), len(pts),
                    {"resample_s": t1 - t0, "network_s": t2 - t1, "stage2_s": t3 - t2})


def _sgcn_in_frame(mesh: Mesh, frame, weights, model, seed: int) -> LandmarkResult:
    """2S-SGCN in the face frame: face-frame weights read the face mask (`sgcn_frame`); the paper's weights read
    the scan turned upright (metres, +Z up), the landmarks turned back."""
    net, meta = model if model is not None else load_landmark_model(weights)
    if frame is None or "frame_crop" in meta:
        return detect_landmarks_sgcn(mesh, model=(net, meta), seed=seed, frame=frame)
    upright = mesh.with_vertices(frame.to_canonical(mesh.vertices))
    r = detect_landmarks_sgcn(upright, model=(net, meta), seed=seed)
    r.landmarks, r.landmarks_1s = frame.from_canonical(r.landmarks), frame.from_canonical(r.landmarks_1s)
    r.unit_scale = frame.unit_scale
    r.warnings = [w for w in r.warnings if "looks like it is in" not in w]  # the unit is in `orientation`
    return r


def detect_landmarks(vertices: np.ndarray, faces: np.ndarray | None = None, weights: Path | str | None = None,
                     *, method: str = "views", model=None, seed: int = 0, colors: np.ndarray | None = None,
                     uv: np.ndarray | None = None, texture: np.ndarray | None = None, fallback: bool = False,
                     progress: Progress | None = None, cancel: Cancel | None = None) -> LandmarkResult:
    """68 iBUG landmarks on a mesh (faces (m, 3)) or point cloud (faces None/empty) in any orientation and
    unit, by `method` (module doc). colors (n, 3) linear, or uv (m, 3, 2) + texture (h, w, 3): appearance for
    the rendered views. `weights`/`model` select the 2S-SGCN network. `fallback`: 2S-SGCN's landmarks (with a
    warning) where the views find no face (mesh or point cloud), instead of NoFaceError. Raises MeshError for unusable
    input (empty, NaN, too few points), NoFaceError (a MeshError) for an input without a face seen ("views" and
    "fusion" without `fallback`), ValueError for an unknown method, and Cancelled at the next stage or view once
    `cancel()` is true (core/progress.py)."""
    from ..geometry.point_splats import splat_surface
    from ..geometry.scan_render import ScanSurface
    from .face_orientation import find_face_frame, shape_only

    if method not in METHODS:
        raise ValueError(f"unknown landmark method {method!r}: use one of {', '.join(METHODS)}")
    report = reporter(progress, cancel)
    t0 = time.perf_counter()
    report(0.0, "checking the input")
    mesh = Mesh(vertices, faces if faces is not None else np.zeros((0, 3), np.int64), colors=colors)
    mesh.validate(allow_point_cloud=True)
    if mesh.n_vertices < 100:
        raise MeshError(f"{mesh.n_vertices} points are too few to find a face (need at least 100).")
    report(0.05, "finding the face")
    surface = (splat_surface(mesh.vertices, mesh.colors, seed) if mesh.is_point_cloud
               else ScanSurface.of(mesh.vertices, mesh.faces, colors, uv, texture))
    frame = find_face_frame(surface.vertices, surface.faces, surface=surface, progress=within(report, 0.05, 0.4))
    t1 = time.perf_counter()
    found = None
    if frame is not None and method in ("views", "fusion"):
        from .landmarks_views import landmarks_from_views

        shown = shape_only(surface) if frame.colours_ignored else surface  # the appearance the face read in
        found = landmarks_from_views(shown, frame, progress=within(report, 0.4, 0.85))
        frame = found.frame if found is not None else frame
    t2 = time.perf_counter()
    what = "point cloud" if mesh.is_point_cloud else "mesh"
    why = f"no view of the {what} shows a face" if frame is None else "the face mesh read none of the views"
    if found is None and method != "sgcn" and not fallback:
        raise NoFaceError(f"no face found on the {what} ({why}); method 'sgcn' (or the fallback option) gives "
                          "2S-SGCN's landmarks anyway, which are meaningless where there is no face")
    if found is None or method == "fusion":
        report(0.85, "2S-SGCN")
        result = _sgcn_in_frame(mesh, frame, weights, model, seed)
        if method != "sgcn" and found is None:
            result.warnings.insert(0, f"view-based landmarks are not possible ({why}): these come from 2S-SGCN"
                                   + (", read without a face frame (a head lying on its side may be misread)"
                                      if frame is None else ""))
    if found is not None:
        views_result = _views_result(mesh, found, frame)
        result = views_result if method == "views" else _fuse(mesh, views_result, result)
    result.frame = frame
    result.models = _models(found, result.method != "views", weights, model)
    if frame is not None and frame.warning:  # a weak face read: the frame, the unit and the views may be off
        result.warnings.append(frame.warning)
    result.timings = {**result.timings, "orientation_s": t1 - t0, "views_s": t2 - t1,
                      "total_s": time.perf_counter() - t0}
    report(1.0, "done")
    return result


def _models(found, sgcn_ran: bool, weights, model) -> dict[str, str | None]:
    """Which weights and assets ran, by role (None: not run), like the photo results' `models`: MediaPipe's
    detector and face mesh in the face search and the views, the face frame's mean-face fit, the 468 -> 68 map
    and FaceKit fitted to the scan (views), 2S-SGCN's weights."""
    from ..photo.ibug_map import WEIGHTS_FILES
    from ..photo.mediapipe_assets import default_asset_path
    from .landmarks_views import MESH_MODEL

    mediapipe = default_asset_path().name
    sgcn = Path(weights).name if weights else DEFAULT_WEIGHTS.name if model is None else "(model given in the call)"
    return {"detector": mediapipe,
            "face_mesh": f"{mediapipe}:{MESH_MODEL}",
            "face_frame": "mediapipe_facekit.npz",
            "ibug_map": WEIGHTS_FILES[MESH_MODEL] if found is not None else None,
            "facekit": "facekit.npz" if found is not None and found.head_fitted else None,
            "sgcn": sgcn if sgcn_ran else None}


def _views_result(mesh: Mesh, found, frame) -> LandmarkResult:
    """LandmarkResult of the view-based landmarks (vertex_index: the nearest input vertex)."""
    from .landmarks_confidence import LOW, WARN_MM

    vertex_index = nearest_to(mesh.vertices, found.points)
    warnings = []
    low = np.flatnonzero(found.confidence < LOW)
    if len(low):
        warnings.append(f"{len(low)} landmark(s) with low confidence (< {LOW:.2f}: predicted error over {WARN_MM:g} mm; "
                        "the views disagree, do not see them, or the fitted head stood in for them): "
                        + ", ".join(str(i) for i in low[:12]) + (" ..." if len(low) > 12 else ""))
    return LandmarkResult(landmarks=found.points, landmarks_1s=found.raw, confidence=found.confidence,
                          vertex_index=vertex_index, unit_scale=frame.unit_scale, warnings=warnings,
                          n_points=found.views_used, method="views")


def _fuse(mesh: Mesh, views: LandmarkResult, sgcn: LandmarkResult) -> LandmarkResult:
    """Per landmark the confidence-weighted mean of the view-based and 2S-SGCN landmarks, on the surface."""
    from ..geometry.surface_distance import SurfaceQuery

    wv = views.confidence + 1e-6
    ws = sgcn.confidence * (1.0 - views.confidence) + 1e-6
    mixed = (wv[:, None] * views.landmarks + ws[:, None] * sgcn.landmarks) / (wv + ws)[:, None]
    snapped = SurfaceQuery(mesh.vertices, mesh.faces).nearest(mixed)[0] if not mesh.is_point_cloud else mixed
    conf = np.maximum(views.confidence, sgcn.confidence * (1.0 - views.confidence))
    return LandmarkResult(landmarks=snapped, landmarks_1s=mixed, confidence=conf,
                          vertex_index=nearest_to(mesh.vertices, snapped), unit_scale=views.unit_scale,
                          warnings=views.warnings, n_points=views.n_points, method="fusion")
