"""ARKit units read from the face mesh's geometry, with identity marginalised by FaceKit's own prior.

The joint fit (`fit.py`) solves identity and expression together under independent per-coefficient priors; on
real photos identity absorbs most of an expression (London smiles came out at mouthSmile 0.07): an asymmetric
or wide-mouthed identity costs the regulariser about as much as a smile. FaceKit's prior knows better (its
right-side modifiers copy the left ones, its macros are bounded), so this module learns, from FaceKit itself,
which point movements are expression and which are identity:

1. calibration (once per process, no photo involved): random identities from FaceKit's documented prior
   (`FaceKit.sample_prior`), with the units not read here randomly on as nuisance → the 468 MediaPipe points
   embedded on the surface (`mediapipe_facekit.npz`) with detector-like noise → the mean and covariance of the
   `MEASURES`; each read unit's effect on the mean face → their Jacobian;
2. per photo: the detected points lifted into model space at the fitted surface's depth (`lift_points`) →
   the same measures → the `UNITS` by bounded generalised least squares (`ExpressionMap.predict`).

Measures: differences of point coordinates (model x lateral, z up) after a similarity alignment (Umeyama) on
the points expressions barely move (nose bridge, inner eye corners, upper forehead), in eye distances. Depth
is left out: on a photo it is the model's, not measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .facekit_photo import PhotoFaceKit, per_model

#: MediaPipe points expressions barely move: nose bridge and ridge, inner eye corners, upper forehead
ALIGN_POINTS = np.array([168, 6, 197, 195, 5, 4, 133, 362, 151, 9, 10, 108, 337])
CALIBRATION_SAMPLES = 6000
NOISE_M = 0.5e-3  # detector-like jitter added to the calibration points (metres, per coordinate)
RIDGE = 1.0  # cost of a unit at 1 in whitened feature units (one standard deviation of identity)
SEED = 0
#: the units the points measure: lids, brows, jaw and mouth shape. Gaze and eyeWide move FaceKit's lids as much
#: as identity does, and cheek, dimple, sneer and lip-roll units move few points; they are left to the fit, as
#: they would otherwise soak up real faces' differences from FaceKit (they stay in the calibration as nuisance)
UNITS = ("mouthSmileLeft", "mouthSmileRight", "jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "browInnerUp",
         "browDownLeft", "browDownRight", "browOuterUpLeft", "browOuterUpRight", "mouthFunnel", "mouthPucker",
         "mouthLeft", "mouthRight", "mouthFrownLeft", "mouthFrownRight")
IOD_M = 0.063  # features in units of a typical outer eye-corner distance (the aligned frame is the mean face's)


@dataclass(frozen=True)
class ExpressionMap:
    """Features ≈ mean + J·e + identity/noise, with the identity part Gaussian (covariance from FaceKit's prior):
    e is the bounded generalised-least-squares solution (0 ≤ e ≤ 1, a small ridge towards 0)."""

    reference: np.ndarray  # (468, 3) mean face points (model space)
    mean: np.ndarray  # (F,) features of expressionless faces, averaged over identities
    whiten: np.ndarray  # (F, F) inverse Cholesky factor of their covariance (identity + detector noise)
    jacobian: np.ndarray  # (F, U) feature change of each of `UNITS` from 0 to 1 on the mean face
    units: np.ndarray  # (U,) their indices among the 52

    def predict(self, points: np.ndarray) -> np.ndarray:
        """(468, 3) model-space points -> (U,) the `UNITS`, each in 0..1."""
        from scipy.optimize import lsq_linear

        k = self.jacobian.shape[1]
        a = np.vstack([self.whiten @ self.jacobian, np.sqrt(RIDGE) * np.eye(k)])
        b = np.concatenate([self.whiten @ (features(points, self.reference) - self.mean), np.zeros(k)])
        return lsq_linear(a, b, bounds=(0.0, 1.0)).x


def similarity_align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(..., 468, 3) points moved by the similarity that best maps their ALIGN_POINTS onto the reference's."""
    src, dst = points[..., ALIGN_POINTS, :], reference[ALIGN_POINTS]
    mu_s, mu_d = src.mean(-2, keepdims=True), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, s, vt = np.linalg.svd(np.swapaxes(a, -1, -2) @ b)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones(s.shape)
    fix[..., -1] = d
    rot = (u * fix[..., None, :]) @ vt  # row-vector convention: x @ rot
    scale = (s * fix).sum(-1) / (a ** 2).sum((-1, -2))
    return scale[..., None, None] * ((points - mu_s) @ rot) + mu_d


#: (point, point, axis) differences in the aligned frame (x lateral, z up): what the ARKit units move
MEASURES = (
    (61, 13, 2), (61, 14, 2), (291, 13, 2), (291, 14, 2),  # mouth-corner elevation vs the lip centre
    (61, 13, 0), (291, 13, 0), (61, 291, 0), (0, 17, 0), (13, 168, 0), (14, 168, 0),  # mouth width, shift
    (13, 14, 2), (0, 13, 2), (14, 17, 2), (1, 152, 2), (0, 1, 2), (17, 152, 2),  # lip gap, lip heights, jaw
    (40, 88, 2), (270, 318, 2), (39, 181, 2), (269, 405, 2),  # lips away from the centre
    (159, 145, 2), (158, 153, 2), (160, 144, 2), (386, 374, 2), (385, 380, 2), (387, 373, 2),  # eyelid gaps
    (159, 133, 2), (145, 133, 2), (386, 362, 2), (374, 362, 2),  # lids vs eye corners
    (107, 133, 2), (105, 33, 2), (70, 33, 2), (336, 362, 2), (334, 263, 2), (300, 263, 2),  # brow heights
    (107, 336, 0), (66, 296, 0),  # brow squeeze
    (48, 278, 0), (98, 327, 0), (48, 1, 2), (278, 1, 2),  # nostril width and height (sneer)
    (205, 425, 0), (50, 280, 0), (50, 1, 2), (280, 1, 2),  # cheeks (puff, squint)
    (61, 1, 0), (291, 1, 0), (61, 1, 2), (291, 1, 2),  # corners vs the nose
)


def features(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(..., 468, 3) points -> (..., F): `MEASURES` of the aligned points, in eye distances."""
    p = similarity_align(np.asarray(points, np.float64), reference)
    a, b, axis = (np.array(c) for c in zip(*MEASURES))
    return (p[..., a, axis] - p[..., b, axis]) / IOD_M


def embedded_bases(model: PhotoFaceKit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(468, 3) mean-template points, (468, 3, K_id) and (468, 3, K_exp) bases of the embedded points (the
    embedding is linear in the vertices, so the points are linear in the coefficients)."""
    fk = model.fk
    return (model.embedded_points(fk.template), model.embedded_points(np.moveaxis(fk.id_basis, -1, 0)).transpose(1, 2, 0),
            model.embedded_points(np.moveaxis(fk.exp_basis, -1, 0)).transpose(1, 2, 0))


@per_model
def expression_map(model: PhotoFaceKit) -> ExpressionMap:
    """Calibrate on FaceKit (0.7 s CPU): identities from its prior, with the units not read here as nuisance,
    give the measures' mean and covariance (plus detector-like noise); one read unit at a time on the mean face
    gives their Jacobian."""
    rng = np.random.default_rng(SEED)
    t0, b_id, b_exp = embedded_bases(model)
    a_id, a_exp = model.fk.sample_prior(rng, CALIBRATION_SAMPLES)
    units = unit_indices(model)
    a_exp[:, units] = 0.0  # the other units stay in as nuisance, like identity
    pts = t0 + (a_id @ b_id.reshape(-1, b_id.shape[-1]).T + a_exp @ b_exp.reshape(-1, b_exp.shape[-1]).T
                ).reshape(-1, *t0.shape)
    pts += rng.normal(0.0, NOISE_M, pts.shape)
    x = features(pts, t0)
    cov = np.cov(x.T)
    whiten = np.linalg.inv(np.linalg.cholesky(cov + 1e-9 * np.trace(cov) / len(cov) * np.eye(len(cov))))
    base = features(t0, t0)
    jac = np.stack([features(t0 + b_exp[:, :, k], t0) - base for k in units], 1)
    return ExpressionMap(t0, x.mean(0), whiten, jac, units)


def unit_indices(model: PhotoFaceKit) -> np.ndarray:
    return np.array([model.fk.exp_names.index(n) for n in UNITS])


def lift_points(model: PhotoFaceKit, vertices: np.ndarray, rotation: np.ndarray, translation: np.ndarray,
                K: np.ndarray, points_2d: np.ndarray) -> np.ndarray:
    """(468, 3) model-space points that project exactly onto the detections `points_2d`, each at the depth of
    its embedded point on the fitted surface (`vertices`, camera = rotation @ v + translation, pixels = K @)."""
    cam = model.embedded_points(np.asarray(vertices, np.float64)) @ rotation.T + translation
    z = cam[:, 2:]
    xy = (np.asarray(points_2d, np.float64)[:, :2] - K[:2, 2]) / K[[0, 1], [0, 1]] * z
    return (np.concatenate([xy, z], 1) - translation) @ rotation


def photo_expression(model: PhotoFaceKit, fitted: np.ndarray, vertices: np.ndarray, rotation: np.ndarray,
                     translation: np.ndarray, K: np.ndarray, points_2d: np.ndarray, weight: float = 1.0
                     ) -> np.ndarray:
    """(52,) ARKit units of the photo's face: `UNITS` read from the points (see the module doc) blended with
    `fitted` (the fit's) as weight·read + (1 − weight)·fitted; the other units as `fitted`."""
    em = expression_map(model)
    out = np.array(fitted, np.float64)
    read = em.predict(lift_points(model, vertices, rotation, translation, K, points_2d))
    out[em.units] = weight * read + (1.0 - weight) * out[em.units]
    return out
