"""View-based 3D landmarks (MVLM's idea, Paulsen et al., ACCV 2018) with the MediaPipe face mesh we ship.

    found = landmarks_from_views(surface, frame)      # surface: scan_render.ScanSurface, frame: FaceFrame

1. A camera rig around the face's forward direction (`face_orientation`): frontal, ±pitch and yaws out to
   ±75° on each side, as a scanner's cameras would stand, each a calibrated pinhole render (`scan_render.render`) in the texture or
   vertex colours when the scan has them, else in a shading that brings out geometry (Lambert light from the
   upper left, darkened in concavities; measured against the alternatives in docs/landmarks.md).
2. The 468-point face mesh per view. Its region of interest comes from the face frame (FaceKit's mean face
   projected into the view, MediaPipe's landmarks-to-ROI tracking step) rather than from the detector, so
   oblique views that the detector misses still count. The 68 iBUG points are mapped in each picture from the
   468 with `photo.ibug_map.mediapipe_to_ibug68` and `scan_weights`: the map calibrated on people's clicks in
   photos, except for the nose and eyes, which keep the index table (TABLE_ROWS). (Combining the fused 3D 468
   points instead, per view or after fusion, was measured too: no better, docs/landmarks.md.)
3. Every 2D point is back-projected through the view's z-buffer onto the scan (`scan_render.back_project`).
4. Per point, a robust consensus over the views: observations on grazing surface (cos < COS_MIN), occluded in
   that view (the first consensus lies behind the view's depth buffer, unless fewer than MIN_VIEWS views see
   it: a concave corner) or far from the per-coordinate median are dropped; the rest are averaged (weighted
   by cos², the eye points by a high power of cos around a weighted median: HEAD_ON_POINTS) and the result is
   snapped to the surface.
5. The nose tip (30) is moved to the most prominent surface point along the face's forward direction within
   NOSE_TIP_RADIUS_MM: the tip is a geometric point a photo model can only place up to the nose's length.
6. Agreement per point of the views: exp(-½ (rms spread / SPREAD_MM)²), lowered when fewer than MIN_VIEWS
   views remain; 0 for points no view placed on the scan. It decides which points the head fit trusts (step 7).
7. FaceKit is fitted to the scan around the inner points, each weighted by its agreement (`landmarks_contour`).
   The jaw contour (iBUG 0-16 but the chin 8) is the fitted head's. A point that no view placed, or whose
   views disagree (agreement < TRUST_MIN) and which lies more than WILD_MM from the fitted head's point, takes
   the fitted head's point (it is the model's guess). Without a fit (too little scan around the face)
   FaceKit's mean face, similarity-fitted to the trusted points, stands in for the fitted head.
8. The confidence reported per point is its predicted error on a common scale (`landmarks_confidence`,
   calibrated per point type on synthetic train scans) from the signs of its error (`error_signs`): the views'
   spread; for the nose tip its shift from the views' tip; for the contour the fit's residual and the point's
   distance from the fitted head to the scan. A point replaced in step 7 is a guess: predicted error
   REPLACED_MM, below the warning level (`replaced`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..geometry.scan_render import ScanSurface, ScanView, back_project, coarse_copy, concavity
from ..geometry.similarity import umeyama
from ..geometry.surface_distance import SurfaceQuery
from ..progress import Progress
from .face_orientation import FACE_FILL, FACE_SIZE_M, FaceFrame, frontal_view
from .landmarks_confidence import confidence as point_confidence

#: (yaw, pitch) degrees of the rig: yaw towards the subject's left, pitch from above. The side views (±45-75°)
#: see the outer eye corners and the jaw nearly head-on, and the consensus weights each point's views by cos²
#: of their angle to its surface: Artec selection scans 6.44 -> 5.66 mm (outer eye corners 13.9 -> 10.7 mm)
RIG = ((0.0, 0.0), (-25.0, 0.0), (25.0, 0.0), (0.0, 20.0), (0.0, -15.0),
       (-45.0, 0.0), (45.0, 0.0), (-60.0, 0.0), (60.0, 0.0), (-75.0, 0.0), (75.0, 0.0))
VIEW_SIZE = 224
SHADING = "cavity"         # Lambert darkened in concavities (docs/landmarks.md: selection 5.03 -> 4.84 mm)
MESH_MODEL = "mesh"        # the face mesh read in each view (photo.face_mesh.MESH_MODELS; docs/landmarks.md)
COS_MIN = 0.25             # drop observations on surface seen more obliquely than ~75°
OCCLUSION_MM = 3.0         # a consensus point more than this behind a view's depth buffer is hidden there
OUTLIER_MM = 4.0           # observations farther than max(this, 3 × median deviation) from the median are dropped
#: points read from the views that see them most head-on: weights cos^HEAD_ON_POWER (others cos², the inverse
#: variance of a pixel error stretched by 1/cos on the surface) and a weighted median as the robust centre. The
#: eye corners sit in the orbit's slope: frontal views read the outer corner ~12 mm off, the side views on its
#: side ~5 mm (per-view errors, docs/landmarks.md), and the frontal majority outvoted them in the plain median
HEAD_ON_POINTS = tuple(range(36, 48))
HEAD_ON_POWER = 16.0
#: an eye is not read in views yawed more than this towards the other side: there the nose hides it, and the
#: face mesh still draws it, back-projected onto the nose or cheek it does see, head-on, so the weighted median
#: took it (p17_neutral's right lower lid, 40/41: 35-47 mm off with confidence 0; docs/landmarks.md round 5)
FAR_EYE_YAW = 30.0
RIGHT_EYE, LEFT_EYE = np.arange(36, 42), np.arange(42, 48)  # the subject's right eye is on the -yaw side
#: iBUG rows the scan map takes from the index table, not the photo calibration (`scan_weights`): the nose
#: base, whose calibrated 2D blend straddles the depth step between nose and lip, and the eyes, calibrated on
#: open eyes in photos (scans: closed or untextured eyes); all 15 Artec scans 5.86 -> 5.17 mm (lambert)
TABLE_ROWS = tuple(range(27, 48))
SPREAD_MM = 2.5            # spread at which the agreement is exp(-1/2) (step 6; not the reported confidence)
MIN_VIEWS = 3
MIN_PRESENCE = 0.5
RENDER_CELL_PX = 0.5       # views render a vertex-clustered copy with cells of half a pixel (cost independent
#                            of the scan's density; points are snapped back onto the full scan)
NOSE_TIP = 30
NOSE_TIP_RADIUS_MM = 8.0  # the nose tip is the most prominent surface point (along the face's forward) this near
#: the jaw contour (0-16) from FaceKit fitted to the scan (`landmarks_contour`), not from the views' face ovals,
#: which follow each view's silhouette, beard and collar: synthetic test scans with a face frame, contour 36.2 ->
#: 2.6 mm; the chin 8 stays the views' (Artec selection scans: 5.9 mm from the views, 10.3 from the fit, whose
#: chin lies ~10 mm below and behind the clicked one; docs/landmarks.md round 4)
CONTOUR = "fit"
KEEP_VIEW_CONTOUR = (8,)
#: a point whose views disagree (confidence below TRUST_MIN: weighted rms spread > 5.4 mm) and that lies more
#: than WILD_MM from the fitted head's point is the fitted head's (module doc, step 7): a safety net for gross
#: misreads, not a refinement. Synthetic test scans (the fit's home ground: labels are FaceKit's): such points
#: 17.8 -> 10.0 mm; on the Artec scans the fit's eye corners and subnasale are worse than even unsure views
#: (p05_smile's outer corners, 13.5 mm from the fit: views 6.9 / 3.5 mm, fit 20.2 / 15.3), hence the margin
TRUST_MIN = 0.1
WILD_MM = 15.0


@dataclass
class ViewLandmarks:
    """points (68, 3) on the surface, raw (68, 3) consensus before snapping, confidence (68,), views_used
    (number of views whose face mesh counted), the face frame, the rendered views (for pictures), whether
    FaceKit was fitted to the scan (step 7), the signs (68, 2) in mm the confidence was predicted from
    (step 8, `landmarks_confidence.confidence`; what tests/bench/fit_landmark_confidence.py calibrates on) and
    which points the fitted head replaced (68,) bool (step 7; their confidence is a guess's, step 8)."""

    points: np.ndarray
    raw: np.ndarray
    confidence: np.ndarray
    views_used: int
    frame: FaceFrame
    views: list[ScanView]
    head_fitted: bool = False
    error_signs: np.ndarray | None = None
    replaced: np.ndarray | None = None


def read_view(surface: ScanSurface, frame: FaceFrame, yaw: float, pitch: float, shading: str = SHADING,
              size: int = VIEW_SIZE, mesh_model: str = MESH_MODEL) -> tuple[ScanView, np.ndarray | None]:
    """Render one rig view and read the face mesh in it -> (view, 468 (x, y) pixels or None when the mesh
    model does not see a face). The settled frame predicts the face's ROI, roll included, so the mesh runs as in
    MediaPipe's tracking: in that ROI, then once more in the ROI of its own landmarks (not the quarter turns and
    smaller ROIs `face_landmarks` tries around a detector's guess: 2 runs per view instead of 5-8; the frame
    search keeps them, its candidates can be far enough off to lose the face)."""
    from ..photo.face_mesh import face_roi, landmarks_roi, meshes_in_rois
    from ..photo.mp_crop import as_image_tensor

    view, box = frontal_view(surface, frame, size, yaw, pitch, shading)
    img = as_image_tensor(view.image)
    first = meshes_in_rois(img, [face_roi(box)], box, mesh_model)[0][0]
    mesh = meshes_in_rois(img, [landmarks_roi(first.points)], box, mesh_model)[0][0]
    return view, (mesh.points[:, :2] if mesh.score >= MIN_PRESENCE else None)


def consensus(obs: np.ndarray, cos: np.ndarray, views: list[ScanView], scale: float,
              head_on: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust per-point fusion of observations (V, K, 3) with ray cosines (V, K) -> (points (K, 3), weighted rms
    spread (K,) in scan units, views used (K,)). See the module doc, step 4; `head_on` (K,) bool marks points
    read from their most head-on views (HEAD_ON_POWER). The spread is weighted as the points are, so it
    measures the agreement of the views that place the point (an eye corner's frontal views, ~12 mm off and
    outweighed, made it look unsure)."""
    valid = np.isfinite(obs).all(-1) & (cos >= COS_MIN)
    power = np.where(head_on, HEAD_ON_POWER, 2.0) if head_on is not None else np.full(obs.shape[1], 2.0)
    weights = np.where(valid, cos ** power, 0.0)
    med = _median(obs, valid)
    if head_on is not None and head_on.any():
        med[head_on] = _weighted_median(obs[:, head_on], weights[:, head_on])
    seen = valid.copy()
    for i, view in enumerate(views):  # occlusion: the median must not lie behind this view's surface
        uv, z = view.camera.project(np.nan_to_num(med))
        h, w = view.depth.shape
        ix = np.clip(np.round(uv[:, 0]).astype(np.int64), 0, w - 1)
        iy = np.clip(np.round(uv[:, 1]).astype(np.int64), 0, h - 1)
        seen[i] &= z <= view.depth[iy, ix] + OCCLUSION_MM * 1e-3 * scale
    # a median hidden from (nearly) every view lies inside a concave corner (the subnasale between columella and
    # lip): the test says little there, and with it the point would rest on whichever view or two survived
    valid = np.where(seen.sum(0) < MIN_VIEWS, valid, seen)
    dev = np.linalg.norm(obs - med, axis=-1)
    dev_med = _median(dev[..., None], valid)[:, 0]
    limit = np.maximum(OUTLIER_MM * 1e-3 * scale, 3.0 * np.nan_to_num(dev_med))
    valid &= dev <= limit
    wts = np.where(valid, weights, 0.0)
    total = wts.sum(0)
    ok = total > 0
    fused = np.where(ok[:, None], (np.nan_to_num(obs) * wts[..., None]).sum(0) / np.maximum(total, 1e-12)[:, None],
                     med)
    sq = np.where(valid, np.linalg.norm(np.nan_to_num(obs) - fused, axis=-1), 0.0) ** 2
    spread = np.sqrt((wts * sq).sum(0) / np.maximum(total, 1e-300))
    return fused, np.where(ok, spread, np.inf), valid.sum(0)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-point, per-coordinate weighted median of (V, K, D) values with weights (V, K) (0: not valid) -> (K, D),
    NaN where no weight is positive."""
    out = np.full(values.shape[1:], np.nan)
    for d in range(values.shape[2]):
        x = np.where(weights > 0, np.nan_to_num(values[..., d]), np.inf)
        order = np.argsort(x, axis=0)
        xs, ws = np.take_along_axis(x, order, 0), np.take_along_axis(weights, order, 0)
        cum = np.cumsum(ws, 0)
        pick = np.argmax(cum >= 0.5 * cum[-1], axis=0)
        out[:, d] = np.take_along_axis(xs, pick[None], 0)[0]
    out[~(weights > 0).any(0)] = np.nan
    return out


def _median(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-point median over the valid views of (V, K, D) values -> (K, D), NaN where no view is valid."""
    out = np.full(values.shape[1:], np.nan)
    any_ok = valid.any(0)
    if any_ok.any():
        with np.errstate(all="ignore"):
            out[any_ok] = np.nanmedian(np.where(valid[:, any_ok, None], values[:, any_ok], np.nan), axis=0)
    return out


def confidence_from_spread(spread_mm: np.ndarray, n_views: np.ndarray) -> np.ndarray:
    """Agreement between views -> [0, 1] (module doc, step 6)."""
    return np.exp(-0.5 * (spread_mm / SPREAD_MM) ** 2) * np.minimum(1.0, n_views / MIN_VIEWS)


def mean_face_guess(points: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """FaceKit's mean face landmarks (68, 3) similarity-fitted to the `points` the views agree on (confidence >=
    TRUST_MIN, weighted by it): where the points no view placed, or no view agrees on, go without a head fit."""
    from ..facekit import load_facekit

    fk = load_facekit()
    mean = fk.landmarks(fk.template)
    trusted = np.isfinite(points).all(1) & (confidence >= TRUST_MIN)
    if trusted.sum() < 3:
        trusted = np.isfinite(points).all(1)
    s, rot, t = umeyama(mean[trusted], points[trusted], np.maximum(confidence[trusted], 1e-6))
    return s * mean @ rot.T + t


def wild_points(points: np.ndarray, conf: np.ndarray, found: np.ndarray, guess: np.ndarray, limit: float
                ) -> np.ndarray:
    """(68,) bool: the points to take from the fitted head (`guess`, module doc step 7): placed by no view, or
    unsure (conf < TRUST_MIN) and farther than `limit` (scan units) from the head's point."""
    return ~found | (conf < TRUST_MIN) & (np.linalg.norm(points - guess, axis=1) > limit)


def most_prominent(vertices: np.ndarray, centre: np.ndarray, forward: np.ndarray, radius: float) -> np.ndarray:
    """The vertex within `radius` of `centre` that lies furthest along `forward` (centre itself if none)."""
    near = np.flatnonzero(((vertices - centre) ** 2).sum(1) <= radius ** 2)
    return vertices[near[np.argmax(vertices[near] @ forward)]] if len(near) else centre


def scan_weights(mesh_model: str = MESH_MODEL) -> np.ndarray:
    """The 468 -> 68 map for rendered scans: the photo-calibrated map of `mesh_model`'s points
    (`ibug_map.load_weights`) with the TABLE_ROWS of the index table."""
    from ..photo.ibug_map import load_weights, table_weights

    w = load_weights(mesh_model=mesh_model).copy()
    w[list(TABLE_ROWS)] = table_weights()[list(TABLE_ROWS)]
    return w


def with_cavity(surface: ScanSurface) -> ScanSurface:
    """`surface` with its concavity, which the cavity shading needs (computed once, when missing)."""
    if surface.concavity is not None:
        return surface
    return replace(surface, concavity=concavity(surface.vertices, surface.faces, surface.normals))


def landmarks_from_views(surface: ScanSurface, frame: FaceFrame, rig=RIG, shading: str = SHADING,
                         size: int = VIEW_SIZE, query: SurfaceQuery | None = None,
                         ibug_weights: np.ndarray | None = None, progress: Progress | None = None,
                         contour: str = CONTOUR, mesh_model: str = MESH_MODEL) -> ViewLandmarks | None:
    """68 iBUG landmarks of the scan from the view rig; None when no view reads a face.
    `ibug_weights`: the 468 -> 68 map (default: `scan_weights(mesh_model)`, the map of that mesh's points);
    `contour`: "fit" (jaw contour from FaceKit fitted to the scan, step 7) or "views"; `mesh_model`: the face mesh
    per view ("mesh" or "attention").
    `progress(fraction, stage)` is called before each view (core/progress.py: where a run can be cancelled)."""
    from ..photo.ibug_map import mediapipe_to_ibug68

    pixel = FACE_SIZE_M * frame.scale / (FACE_FILL * size)  # size of a pixel on the face, scan units
    shown = coarse_copy(surface, cell_size=RENDER_CELL_PX * pixel)
    if shading == "cavity":
        shown = with_cavity(shown)
    weights = scan_weights(mesh_model) if ibug_weights is None else ibug_weights
    views, obs68, cos68 = [], [], []
    for i, (yaw, pitch) in enumerate(rig):
        if progress is not None:
            progress(i / len(rig), f"reading view {i + 1}/{len(rig)}")
        view, xy = read_view(shown, frame, yaw, pitch, shading, size, mesh_model)
        if xy is None:
            continue
        p68, c68 = back_project(view, shown, mediapipe_to_ibug68(xy, weights))
        c68[RIGHT_EYE if yaw > FAR_EYE_YAW else LEFT_EYE if yaw < -FAR_EYE_YAW else []] = 0.0  # the far eye
        views.append(view)
        obs68.append(p68)
        cos68.append(c68)
    if not views:
        return None
    head_on = np.isin(np.arange(len(weights)), HEAD_ON_POINTS)
    raw, spread, used = consensus(np.stack(obs68), np.stack(cos68), views, frame.scale, head_on)
    found = np.isfinite(raw).all(1)
    if found.sum() < 20:
        return None
    spread_mm = spread / frame.scale * 1e3
    conf = np.where(found, confidence_from_spread(spread_mm, used), 0.0)
    mean_face = mean_face_guess(raw, conf)
    raw = np.where(found[:, None], raw, mean_face)
    query = query or SurfaceQuery(surface.vertices, surface.faces)
    snapped, _, _ = query.nearest(raw)
    head = _head_fit(surface, frame, query, snapped, conf) if contour == "fit" else None
    if head is not None:
        contour_rows = np.setdiff1d(np.arange(17), KEEP_VIEW_CONTOUR)
        raw[contour_rows], snapped[contour_rows] = head.raw[contour_rows], head.points[contour_rows]
    guess_raw, guess = (head.raw, head.points) if head is not None else (mean_face, query.nearest(mean_face)[0])
    signs = np.stack([spread_mm, np.zeros(len(spread_mm))], 1)
    n_views = np.where(found, used, 0).astype(np.float64)  # a point no view placed gets confidence 0
    if head is not None:
        signs[contour_rows] = np.stack([np.full(len(contour_rows), head.residual_mm), head.snap_mm[contour_rows]], 1)
        n_views[contour_rows] = np.inf  # the fit's points: no views to count
    wild = wild_points(snapped, conf, found, guess, WILD_MM * 1e-3 * frame.scale)
    raw[wild], snapped[wild] = guess_raw[wild], guess[wild]  # the model's guess
    replaced = wild & ~np.isinf(n_views)  # a fitted contour point is the head's in any case
    if NOSE_TIP_RADIUS_MM:
        read = snapped[NOSE_TIP].copy()
        snapped[NOSE_TIP] = most_prominent(surface.vertices, read, frame.forward,
                                           NOSE_TIP_RADIUS_MM * 1e-3 * frame.scale)
        signs[NOSE_TIP, 0] = np.linalg.norm(snapped[NOSE_TIP] - read) / frame.scale * 1e3
    conf = point_confidence(signs[:, 0], signs[:, 1], n_views, replaced=replaced)
    return ViewLandmarks(snapped, raw, conf, len(views), frame, views, head is not None, signs, replaced)


def _head_fit(surface: ScanSurface, frame: FaceFrame, query: SurfaceQuery, points: np.ndarray, conf: np.ndarray):
    """FaceKit fitted to the scan around the points, each trusted by its confidence (`landmarks_contour`, module
    doc step 7); None when the scan has too few points around the face."""
    from .landmarks_contour import fit_head

    return fit_head(surface.vertices, surface.faces, points, conf, frame, query)
