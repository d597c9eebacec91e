"""Register Head: fit FaceKit to the skin region of a head scan (Pixels2Points, Chen et al. 2025, Fig. 1 and
the d_surface metric of §3).

    reg = register_head(vertices, faces, skin, landmarks=lms)   # arrays in (any unit), dataclass out
    reg.vertices (4350, 3) the fitted FaceKit head in the scan's frame and units, reg.alpha_id/alpha_exp,
    reg.scale/rotation/translation (template -> scan similarity), reg.residual_mm, reg.timings
    d_surface_mm(reg_vertices_m, true_vertices_m, true_faces, fk.spa)   # core/registration/metric.py

Method: (1) similarity (Umeyama with scale) from FaceKit's landmark vertices to the scan's landmarks, without
the jaw contour (0-16: the least reliable landmarks, ~12 mm detector error); (2) ICP-style alternation: every
scan skin point is matched to its nearest FaceKit vertex (rejected when farther than a shrinking threshold,
when the normals disagree or when the vertex lies on the template's open border), and one linear least-squares
step solves jointly for (α_id, α_exp) and a linearised similarity update, point-to-plane along the model's
normals, with a Tikhonov prior scaled per coefficient like the sampling prior (facekit/prior.py), bounds on the
coefficients (expressions in [0, 1] ...) and the non-jaw landmarks as an extra term that fades over the
iterations (they place the head, the skin decides the end); (3) optionally (`nonrigid=True`) per-vertex offsets
along the normals with Laplacian smoothness, for shape the model lacks. Settings and results: docs/registration.md.

The data term runs from skin to model (every skin point should lie on the head), not from model to skin: where
hair, clothes or a beard cover the head there is no skin, and the prior, not the nearest stray point, decides
the shape there.

Units: the scan's unit is the face frame's (core/pipelines/face_orientation.py: the size of the face itself), the
same unit Detect Landmarks and Segment Skin use, so one file gets one unit answer (a head-and-shoulders bust in
arbitrary units is not "centimetres" because of its bounding box); the frame comes from the landmark model when
it runs, else the caller's (`frame_unit`: e.g. from the landmark file `face landmarks` wrote), else from a
search on the mesh (~1 s; never a second search after the landmark model's found none: one that finds nothing
costs 5-10 s). Only when no face frame is found (point clouds, no face seen) is the unit guessed from the
bounding box, with a warning.

This module orchestrates (input checks, units, landmarks, timings, warnings); the algorithm is the library
core/registration/: fit_model (FaceKit arranged for fitting), skin_points, correspondence, solver, icp, metric.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..facekit import FaceKit, load_facekit
from ..mesh import Mesh, MeshError, guess_unit_scale
from ..progress import Cancel, Progress, reporter, within
from .face_orientation import UNITS, FaceFrame, find_face_frame
from ..registration.fit_model import fit_model
from ..registration.icp import fit, refine_nonrigid
from ..registration.skin_points import skin_mask, skin_samples

ITERATIONS = 15
MIN_SKIN_POINTS = 500
MAX_SKIN_POINTS = 20_000         # skin points used per fit (a random subset of larger scans)
LARGE_RESIDUAL_MM = 2.5          # a final residual above this gets a "not a face?" warning

UNIT_NAMES = {0.1: "decimetres", 0.01: "centimetres", 0.001: "millimetres"}
UNIT_FROM_FRAME, UNIT_FROM_SIZE = "face frame", "bounding box"  # Registration.unit_source


@dataclass
class Registration:
    vertices: np.ndarray      # (n_template, 3) registered FaceKit head, in the scan's units and frame
    faces: np.ndarray         # (m, 3) FaceKit template faces
    alpha_id: np.ndarray      # (K_id,) identity coefficients
    alpha_exp: np.ndarray     # (K_exp,) expression coefficients (ARKit units, [0, 1])
    scale: float              # similarity template (metres) -> scan units: x_scan = scale · R · x + t
    rotation: np.ndarray      # (3, 3)
    translation: np.ndarray   # (3,) scan units
    residual_mm: float        # mean |point-to-plane| residual of the skin correspondences, last iteration
    n_skin_points: int        # skin points the fit used (after subsampling)
    unit_scale: float = 1.0   # factor from scan units to metres: the face frame's, else guessed from the size
    unit_source: str = UNIT_FROM_SIZE  # where unit_scale came from: UNIT_FROM_FRAME or UNIT_FROM_SIZE
    inlier_fraction: float = 0.0  # share of those skin points matched in the last iteration
    warnings: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # landmarks_s, prepare_s, fit_s, [nonrigid_s], total_s

    @property
    def unit_name(self) -> str:
        """The unit for people: 'mm', 'cm', 'm' or '0.04897 m' (as Detect Landmarks reports it)."""
        return UNITS.get(self.unit_scale, f"{self.unit_scale:.4g} m")

    def model_vertices(self) -> np.ndarray:
        """The head in FaceKit's model space (metres): `vertices` with the similarity undone."""
        return (self.vertices - self.translation) @ self.rotation / self.scale


@lru_cache(maxsize=1)
def default_facekit() -> FaceKit:
    """The shipped FaceKit, loaded once per process."""
    return load_facekit()


def _scan_landmarks(landmarks: np.ndarray | None, vertices: np.ndarray, faces: np.ndarray,
                    landmark_weights: Path | str | None, colors: np.ndarray | None, warnings: list[str]
                    ) -> tuple[np.ndarray, FaceFrame | None, bool]:
    """(scan landmarks in scan units, the face frame the landmark model found or None, whether it searched
    for one): the given landmarks (no search), or the landmark model's (`landmark_weights`) on the scan, which
    sees the colours as `face landmarks` does (one file, one frame)."""
    frame, searched = None, False
    if landmarks is None:
        from .detect_landmarks import detect_landmarks

        result = detect_landmarks(vertices, faces if len(faces) else None, landmark_weights, colors=colors,
                                  fallback=True)  # as before: 2S-SGCN where no face is seen, with its warning
        warnings += _without_unit_notes(result.warnings)
        landmarks, frame, searched = result.landmarks, result.frame, len(faces) > 0
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (68, 3):
        raise MeshError(f"landmarks must be (68, 3) in iBUG order, got shape {lm.shape}")
    if not np.isfinite(lm).all():
        raise MeshError("the landmarks contain NaN or infinite values")
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    size, spread = (hi - lo).max(), np.ptp(lm, axis=0).max()  # spread 0: the degenerate case, refused later
    outside = (lm.mean(axis=0) < lo - 0.5 * size) | (lm.mean(axis=0) > hi + 0.5 * size)
    if spread > 0 and (outside.any() or not 0.01 < spread / size < 10):
        raise MeshError("the landmarks lie far outside the scan: are they in the scan's units and frame? "
                        "(`face landmarks` writes them in the input's units)")
    return lm, frame, searched


def _scan_unit(mesh: Mesh, frame: FaceFrame | None, frame_unit: float | None, searched: bool,
               colors: np.ndarray | None, report: Progress, warnings: list[str]) -> tuple[float, str]:
    """(scan units -> metres, where it came from): the face frame's unit (`frame`, else the caller's
    `frame_unit`, else a frame searched for on a triangle mesh unless the landmark model's search already found
    none: a search that finds nothing costs 5-10 s, and a second one on the same mesh finds nothing again),
    else the bounding-box guess with a warning."""
    if frame is None and frame_unit is None and mesh.n_faces and not searched:
        frame = find_face_frame(mesh.vertices, mesh.faces, colors, progress=report)
        warnings += [frame.warning] if frame is not None and frame.warning else []
    if frame is not None or frame_unit is not None:
        return (frame.unit_scale if frame is not None else frame_unit), UNIT_FROM_FRAME
    unit = guess_unit_scale(mesh)
    if unit != 1.0:
        warnings.append(f"no face frame found: the scan looks like it is in {UNIT_NAMES[unit]} (size "
                        f"{mesh.extent():.4g}); the head is returned in the same units")
    return unit, UNIT_FROM_SIZE


def _without_unit_notes(warnings: list[str]) -> list[str]:
    """Warnings of a sub-pipeline minus its unit note: this pipeline reports the unit once itself."""
    return [w for w in warnings if "looks like it is in" not in w]


def register_head(vertices: np.ndarray, faces: np.ndarray | None, skin: np.ndarray | None, *,
                  landmarks: np.ndarray | None = None, colors: np.ndarray | None = None,
                  iterations: int = ITERATIONS, nonrigid: bool = False, progress: Progress | None = None,
                  facekit: FaceKit | None = None, max_points: int = MAX_SKIN_POINTS, seed: int = 0,
                  cancel: Cancel | None = None, landmark_weights: Path | str | None = None,
                  frame_unit: float | None = None) -> Registration:
    """Fit FaceKit to the skin of a head scan (mesh or point cloud, any unit and pose).

    skin: (n,) bool or skin probability per vertex (≥ 0.5 = skin), e.g. `segment_skin(...).probability`; None
    runs `segment_skin(vertices, faces, colors)` first. landmarks: (68, 3) iBUG landmarks on the scan in its
    units; None runs the landmark model (`landmark_weights`: its file, None for the shipped one). frame_unit: the
    scan's face-frame unit (metres per scan unit) when the caller already knows it, used with given landmarks
    instead of searching the frame again (module doc: Units). Raises MeshError
    for unusable input (NaN, too little skin, bad shapes), and Cancelled at the next stage or fitting round once
    `cancel()` is true (core/progress.py).
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    if frame_unit is not None and not (np.isfinite(frame_unit) and frame_unit > 0):
        raise MeshError(f"the scan's unit must be a positive number of metres, got {frame_unit}")
    t0 = time.perf_counter()
    report = reporter(progress, cancel)
    report(0.0, "checking the input")
    mesh = Mesh(vertices, faces if faces is not None else np.zeros((0, 3), np.int64))
    mesh.validate(allow_point_cloud=True)
    warnings: list[str] = []
    if skin is None:
        from .segment_skin import segment_skin

        report(0.0, "segmenting the skin")
        seg = segment_skin(mesh.vertices, faces, colors, progress=within(report, 0.0, 0.02))
        warnings += _without_unit_notes(seg.warnings)
        skin = seg.probability
    mask = skin_mask(skin, mesh.n_vertices)
    if mask.sum() < MIN_SKIN_POINTS:
        raise MeshError(f"only {int(mask.sum())} skin vertices: too few to register a head (need at least "
                        f"{MIN_SKIN_POINTS}); check the skin segmentation")
    t1 = time.perf_counter()
    report(0.02, "landmarks")
    lm, frame, searched = _scan_landmarks(landmarks, mesh.vertices, mesh.faces, landmark_weights, colors, warnings)
    t2 = time.perf_counter()
    unit, unit_source = _scan_unit(mesh, frame, frame_unit, searched, colors, within(report, 0.02, 0.1), warnings)
    v_m, lm_m = mesh.vertices * unit, lm * unit
    model = fit_model(facekit or default_facekit())
    pts, nrm = skin_samples(v_m, mesh.faces, mask, max_points, np.random.default_rng(seed))
    t3 = time.perf_counter()
    alpha, pose, m = fit(model, pts, nrm, lm_m, iterations, report)
    v = model.evaluate(alpha)
    t4 = time.perf_counter()
    timings = {"landmarks_s": t2 - t1, "prepare_s": (t1 - t0) + (t3 - t2), "fit_s": t4 - t3}
    if nonrigid:
        report(0.9, "non-rigid refinement")
        v, m = refine_nonrigid(model, v, pose, pts, nrm)
        timings["nonrigid_s"] = time.perf_counter() - t4
    residual_mm = float(np.abs(m.residual).mean() * pose.s * 1000) if len(m.vertex) else float("inf")
    inliers = len(m.vertex) / max(m.n_points, 1)
    if not np.isfinite(residual_mm) or inliers == 0.0:  # an impossible result must not look like a fit
        raise MeshError("registration failed: no skin point matched the fitted head; are the skin mask and the "
                        "landmarks those of this scan, in its units?")
    if residual_mm > LARGE_RESIDUAL_MM or inliers < 0.3:
        warnings.append(f"the head fits the skin poorly (mean residual {residual_mm:.1f} mm, {100 * inliers:.0f} % "
                        "of the skin matched): are the skin mask and the landmarks those of a face?")
    report(1.0, "done")
    return Registration(
        vertices=pose.apply(v) / unit, faces=model.fk.faces, alpha_id=alpha[:model.n_id].astype(np.float32),
        alpha_exp=alpha[model.n_id:].astype(np.float32), scale=pose.s / unit, rotation=pose.rot,
        translation=pose.t / unit, residual_mm=residual_mm, n_skin_points=len(pts), unit_scale=unit,
        unit_source=unit_source,
        inlier_fraction=inliers, warnings=warnings, timings={**timings, "total_s": time.perf_counter() - t0})
