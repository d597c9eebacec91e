"""Confidence of the view landmarks as a predicted error: 2^-(E / HALF_MM)^2, 0.5 where a point's predicted rms
error E is HALF_MM, whatever the point's type.

    conf = confidence(spread_mm, snap_mm, n_views)      # (68,) each: the signs of each point's error, below

Why: the views' spread alone did not rank the points (docs/landmarks.md round 7: on the Artec scans the
least-confident tenth erred 4.61 mm against 4.60 for the rest): a type's error level differs more between types
than between scans (synthetic: outer eye corners ~9 mm, nose tips ~4), the chin and the subnasale spread widely
where they are fine, and the nose tip's place comes from a geometric rule, not from the views whose spread
judged it. So each point's squared error is predicted, with non-negative coefficients per point type (GROUPS,
COEFFICIENTS; a point and its mirror image share them), fitted by non-negative least squares on synthetic train
scans (tests/bench/fit_landmark_confidence.py prints the table):

    E^2 = base + spread_coef * s^2 + snap_coef * d^2      (mm^2)

- inner points: s the weighted rms spread of the views that place the point (`landmarks_views.consensus`);
- the nose tip (30, the most prominent point near the views' tip): s its shift from the views' tip (the rule
  and the views disagree);
- the fitted jaw contour (0-16 but the chin): s the fit's mean face residual (how well FaceKit fits this
  scan), d the point's distance from the fitted head to the scan surface (a jaw beyond a crop's border);
- d is 0 elsewhere. The distance to the fitted head's point, a second reading of every inner point, is not a
  sign: the synthetic labels are FaceKit's own landmarks, so there it nearly is the error (round 7).

Without a head fit (too little scan around the face) the contour is the views' and is judged by their spread
with the contour's coefficients. Training errors are clipped at CLIP_MM (a few gross misreads must not set a
type's level).

A point the fitted head replaced (landmarks_views step 7: no view placed it, or its views disagree and it lies
far from the head's point) is the model's guess, not a reading of the scan: its signs describe the views it
was taken from, and a type without a spread term (brows, lids, outer eye corners) would give it the same
confidence as a good point. It gets REPLACED_MM instead, a floor above WARN_MM, so it is always warned; not
fitted, because on synthetic scans the head is FaceKit fitted to FaceKit's own labels (docs/landmarks.md
round 8).
"""
from __future__ import annotations

import numpy as np

HALF_MM = 5.0     # predicted rms error at which the confidence is 1/2 (0.25 at 7.1 mm, 0.0625 at 10 mm)
CLIP_MM = 30.0    # training errors are clipped here before squaring (tests/bench/fit_landmark_confidence.py)
MIN_VIEWS = 3     # fewer views than this scale the confidence of a views' point down (n / MIN_VIEWS)

#: point types: a point and its mirror image share their coefficients
GROUPS: dict[str, tuple[int, ...]] = {
    "contour_upper": (0, 1, 2, 3, 13, 14, 15, 16), "contour_lower": (4, 5, 6, 7, 9, 10, 11, 12), "chin": (8,),
    "brows": tuple(range(17, 27)), "nose_bridge": (27, 28, 29), "nose_tip": (30,), "nose_base": (31, 32, 34, 35),
    "subnasale": (33,), "eye_outer": (36, 45), "eye_inner": (39, 42), "lids": (37, 38, 40, 41, 43, 44, 46, 47),
    "mouth_corners": (48, 54), "outer_lip": (49, 50, 51, 52, 53, 55, 56, 57, 58, 59), "inner_lip": tuple(range(60, 68))}
#: point type -> (base mm^2, spread coefficient, snap coefficient), fitted on synthetic train scans 600,000-600,029
#: read with and without colours, 48 readings of 26 scans with a face frame (tests/bench/fit_landmark_confidence.py;
#: the replaced points were still in that fit: the script now leaves them out, a refit was not kept, round 8)
COEFFICIENTS: dict[str, tuple[float, float, float]] = {
    "contour_upper": (0.0, 36.03, 0.4885), "contour_lower": (5.475, 44.47, 0.1229), "chin": (18.97, 0.2256, 0.0),
    "brows": (73.84, 0.0, 0.0), "nose_bridge": (20.77, 0.1049, 0.0), "nose_tip": (10.71, 0.1508, 0.0),
    "nose_base": (34.56, 0.0, 0.0), "subnasale": (12.50, 0.1593, 0.0), "eye_outer": (85.83, 0.0, 0.0),
    "eye_inner": (41.14, 2.748, 0.0), "lids": (51.47, 0.0361, 0.0), "mouth_corners": (17.60, 0.0754, 0.0),
    "outer_lip": (23.13, 0.0001, 0.0), "inner_lip": (49.85, 0.0, 0.0)}
#: a views' point predicted to err more than this gets a warning (detect_landmarks): confidence < LOW
WARN_MM = 10.0
LOW = 0.5 ** ((WARN_MM / HALF_MM) ** 2)
#: predicted error of a point the fitted head replaced (module doc): 1.2 x WARN_MM, confidence 0.018, below
#: every views' point predicted under 12 mm. A design floor, not fitted: synthetic train scans flatter the
#: fitted head (their labels are FaceKit's own landmarks), real scans do not (docs/landmarks.md rounds 5 and 8)
REPLACED_MM = 12.0


def predicted_error_mm(spread_mm: np.ndarray, snap_mm: np.ndarray, coefficients: dict | None = None,
                       replaced: np.ndarray | None = None) -> np.ndarray:
    """(68,) rms error in mm predicted from the two signs (68,) each (module doc; inf where a sign is) with
    `coefficients` per point type (default COEFFICIENTS); REPLACED_MM where `replaced` (68,) bool."""
    table = np.zeros((68, 3))
    for name, coefs in (coefficients or COEFFICIENTS).items():
        table[list(GROUPS[name])] = coefs
    base, a, b = table.T
    s, g = np.asarray(spread_mm, np.float64), np.asarray(snap_mm, np.float64)
    with np.errstate(invalid="ignore"):
        e = np.sqrt(base + a * s ** 2 + b * g ** 2)
    return e if replaced is None else np.where(replaced, REPLACED_MM, e)


def confidence(spread_mm: np.ndarray, snap_mm: np.ndarray, n_views: np.ndarray, coefficients: dict | None = None,
               replaced: np.ndarray | None = None) -> np.ndarray:
    """(68,) in [0, 1]: 2^-(E / HALF_MM)^2 of the predicted error E, times n / MIN_VIEWS for a point fewer than
    MIN_VIEWS views place (n_views: inf for points that do not come from the views); 0 where E is undefined.
    `replaced` (68,) bool: the points the fitted head replaced (landmarks_views step 7), E = REPLACED_MM."""
    e = predicted_error_mm(spread_mm, snap_mm, coefficients, replaced)
    conf = 0.5 ** ((e / HALF_MM) ** 2) * np.minimum(1.0, np.asarray(n_views, np.float64) / MIN_VIEWS)
    return np.where(np.isfinite(e), conf, 0.0)
