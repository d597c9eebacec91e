"""FaceKit fitted to the scan around the view landmarks: the jaw contour (iBUG 0-16) and a sensible place for the
points no view agrees on.

    head = fit_head(vertices, faces, landmarks, confidence, frame)   # landmarks (68, 3), confidence (68,)
    head.points[CONTOUR]                                             # the fitted jaw contour on the scan

Why: a photo model's face-oval points follow the silhouette of each rendered view (and a beard, a collar or a
face crop's border), not the 3D jawline people click on a scan (synthetic test scans: contour 29.8 mm from the
views, docs/landmarks.md round 4). The inner points the views agree on are good, so they place the head model,
and the fitted head then also stands in for an inner point whose views disagree (a lower lid read 16-50 mm off
on some real scans, docs/landmarks.md round 5):

1. The scan's face region (vertices within REGION_M of the inner landmarks' centre, at most MAX_POINTS) is the
   data of Register Head's fit (core/registration/icp.fit: similarity + FaceKit identity and expression,
   regularised by the coefficient prior, inner landmarks 17-67 as a term that fades while the surface takes
   over, each weighted by its view confidence relative to their mean, so a point no view agrees on does not
   pull the head; synthetic test scans: the same as 0/1 weights below/above 0.1 or plain confidences),
   ITERATIONS rounds instead of Register Head's 15: the jaw's shape is needed, not sub-mm skin.
2. FaceKit's own 68 landmarks (barycentric surface points in the human convention, docs/facekit.md) on the
   fitted head are snapped onto the scan (closest surface point).
3. The two signs of the contour points' error for their confidence (`landmarks_confidence`, calibrated on
   synthetic train scans): the mean point-to-plane residual of the face region (how well the head model fits
   this scan: hair or a beard over the face, a face the model cannot express) and each point's distance from
   the fitted head to the scan surface (a jaw beyond a face crop's border is the prior's guess, centimetres off).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.surface_distance import SurfaceQuery
from ..registration.fit_model import fit_model
from ..registration.icp import fit
from ..registration.skin_points import skin_samples
from .face_orientation import FaceFrame

CONTOUR = np.arange(17)       # iBUG jaw contour, 8 = chin
ITERATIONS = 6
REGION_M = 0.12               # scan points this near the inner landmarks' centre are the fit's data
MAX_POINTS = 4000             # a random subset of larger regions (the normal equations are per model vertex)
MIN_POINTS = 500              # fewer face-region vertices than this: no fit (Register Head's least skin)


@dataclass
class HeadFit:
    """FaceKit's 68 landmarks on the head fitted to the scan: points (68, 3) on the scan surface, raw (68, 3) on
    the fitted head (scan units), the face region's mean fit residual (mm; inf when nothing matched) and each
    point's distance from the fitted head to the scan, snap_mm (68,) (module doc step 3)."""

    points: np.ndarray
    raw: np.ndarray
    residual_mm: float
    snap_mm: np.ndarray


def fit_head(vertices: np.ndarray, faces: np.ndarray, landmarks: np.ndarray, confidence: np.ndarray | None,
             frame: FaceFrame, query: SurfaceQuery | None = None, iterations: int = ITERATIONS, seed: int = 0
             ) -> HeadFit | None:
    """The 68 landmarks of FaceKit fitted to the scan's face region with the inner `landmarks` (68, 3; the
    contour rows are not read), each trusted by its `confidence` (68,; None: all fully), as initialisation, in
    the scan's units (module doc); None when fewer than MIN_POINTS scan vertices lie in the face region (nothing
    to fit to)."""
    from .register_head import default_facekit

    unit = 1.0 / frame.scale  # metres per scan unit, the face's own size (not snapped to a named unit)
    v_m, lm_m = np.asarray(vertices, np.float64) * unit, np.asarray(landmarks, np.float64) * unit
    inner = slice(CONTOUR[-1] + 1, None)
    trust = None if confidence is None else np.clip(np.asarray(confidence, np.float64), 0.0, 1.0)
    centre = np.average(lm_m[inner], axis=0, weights=None if trust is None else trust[inner] + 1e-9)
    region = ((v_m - centre) ** 2).sum(axis=1) <= REGION_M ** 2
    if region.sum() < MIN_POINTS:
        return None
    pts, nrm = skin_samples(v_m, faces, region, MAX_POINTS, np.random.default_rng(seed))
    model = fit_model(default_facekit())
    if trust is not None:  # relative trust: the landmark term keeps its overall weight
        trust = trust / max(trust[inner].mean(), 1e-9)
    alpha, pose, matches = fit(model, pts, nrm, lm_m, iterations, lambda *_: None, trust)
    raw = pose.apply(model.fk.landmarks(model.evaluate(alpha))) / unit
    query = query or SurfaceQuery(vertices, faces)
    snapped, dist, _ = query.nearest(raw)
    residual_mm = np.abs(matches.residual).mean() * pose.s * 1e3 if len(matches.vertex) else np.inf
    return HeadFit(snapped, raw, float(residual_mm), dist * unit * 1e3)
