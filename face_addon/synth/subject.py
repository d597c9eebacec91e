"""The sampled person: FaceKit identity + expression, head geometry, skin look, and head regions (scalp,
beard, moustache, brows) that hair.py and the skin material use. No bpy.

All randomness of a sample comes from its seed: `stream(seed, name)` gives an independent generator per
component, so adding a draw to one component never changes another component's choices.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from ..core.facekit import FaceKit
from ..core.geometry.normals import vertex_normals
from .shapes import cap_boundary

GENERATOR_VERSION = "1.1"  # 1.1: full profile RGB views at 4 spp + OpenImageDenoise (1.0: 16 spp raw); scans, photo unchanged


def stream(seed: int, name: str) -> np.random.Generator:
    """Independent, reproducible random stream for one component of one sample."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


@dataclass
class Subject:
    """One synthetic person, in metres, Blender axes (head origin between the ears)."""

    seed: int
    alpha_id: np.ndarray
    alpha_exp: np.ndarray
    head_v: np.ndarray           # subdivided FaceKit head (scene/scan geometry)
    head_f: np.ndarray
    head_template_v: np.ndarray  # template topology (head.ply)
    extras: dict[str, tuple[np.ndarray, np.ndarray]]
    landmarks: np.ndarray        # (68, 3) on the true head
    normals: np.ndarray
    regions: dict[str, np.ndarray]  # per head_v vertex masks / weights
    skin: dict = field(default_factory=dict)

    def closed_head(self) -> tuple[np.ndarray, np.ndarray]:
        """The head with its neck hole capped (watertight, for the voxel remesher)."""
        return cap_boundary(self.head_v, self.head_f)


SKIN_TONES = np.array([  # linear RGB, light -> dark (checked by rendering)
    (0.78, 0.55, 0.44), (0.70, 0.47, 0.36), (0.58, 0.37, 0.26), (0.45, 0.27, 0.18), (0.30, 0.17, 0.10),
    (0.18, 0.10, 0.06)])


def _azimuth(v: np.ndarray) -> np.ndarray:
    """Degrees around +Z, 0 = facing the viewer (-Y), +-180 = back of the head."""
    return np.degrees(np.arctan2(v[:, 0], -v[:, 1]))


def head_regions(v: np.ndarray, lm: np.ndarray, rng: np.random.Generator, receding: float) -> dict[str, np.ndarray]:
    """Scalp (hair-bearing), ears, beard, moustache masks on head vertices, from landmarks and azimuth."""
    brow_z = lm[17:27, 2].mean()
    eye_z = lm[36:48, 2].mean()
    chin_z = lm[8, 2]
    nose_z = lm[33, 2]
    lip_top = lm[50:53, 2].max()
    az = np.abs(_azimuth(v))
    hair_front = brow_z + 0.03 + receding
    knots_az = [0, 40, 75, 100, 125, 180]
    knots_z = [hair_front, hair_front - 0.004, brow_z + 0.005, eye_z + 0.012, eye_z - 0.035, chin_z + 0.02]
    line = np.interp(az, knots_az, knots_z) + rng.normal(0, 0.002)
    xmax = np.abs(v[:, 0]).max()
    ears = (np.abs(v[:, 0]) > 0.86 * xmax) & (v[:, 2] < brow_z + 0.012) & (v[:, 2] > nose_z - 0.03) & \
        (az > 60) & (az < 130)
    scalp = (v[:, 2] > line) & ~ears
    lower_face = (v[:, 2] < nose_z - 0.004) & (az < 105) & (v[:, 2] > chin_z - 0.05)
    mouth_c = lm[48:68].mean(0)
    mouth_r = np.linalg.norm(lm[54] - lm[48]) / 2
    lips = (np.linalg.norm((v - mouth_c) * [1, 0.5, 1.6], axis=1) < mouth_r * 1.05) & (v[:, 1] < mouth_c[1] + 0.01)
    # beard stays below the cheekbones: a line from below the ear down to the nose wing
    cheek = v[:, 2] < np.interp(az, [0, 40, 80, 105], [nose_z, nose_z - 0.004, eye_z - 0.02, eye_z - 0.005])
    beard = lower_face & cheek & ~lips
    moustache = (v[:, 2] < nose_z - 0.002) & (v[:, 2] > lip_top - 0.001) & (np.abs(v[:, 0]) < mouth_r * 1.25) & \
        (az < 60) & ~lips
    return {"scalp": scalp, "ears": ears, "beard": beard, "moustache": moustache, "lips": lips}


def make_subject(fk: FaceKit, fk_sub: FaceKit, seed: int, closed_eyes: float = 0.0) -> Subject:
    """Sample identity, expression and skin look for `seed`; with probability `closed_eyes` (own stream, so the
    other choices do not change) both eyes are shut (eyeBlink 0.85-1): scanner subjects often close them."""
    rng = stream(seed, "identity")
    a_id, a_exp = fk.sample_prior(rng, 1, ages="adult")
    a_id, a_exp = a_id[0], a_exp[0]
    exp_rng = stream(seed, "expression")
    if exp_rng.random() < 0.35:  # many scans are neutral: keep a third of the subjects without expression
        a_exp = np.zeros_like(a_exp)
    else:
        a_exp = a_exp * exp_rng.uniform(0.4, 1.0)
    eyes_rng = stream(seed, "closed_eyes")
    if closed_eyes > 0 and eyes_rng.random() < closed_eyes:
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            a_exp[fk.exp_names.index(name)] = eyes_rng.uniform(0.85, 1.0)
    head_v = fk_sub.evaluate(a_id, a_exp)
    head_t = fk.evaluate(a_id, a_exp)
    lm = fk.landmarks(head_t)
    extras = {name: (m.evaluate(a_id, a_exp), m.faces) for name, m in fk.extras.items()}
    srng = stream(seed, "skin")
    male = float(a_id[fk.id_names.index("macro-gender")]) > 0 if "macro-gender" in fk.id_names else srng.random() < .5
    older = float(a_id[fk.id_names.index("macro-age-older")]) if "macro-age-older" in fk.id_names else 0.0
    receding = (0.02 * srng.random() * older * 2 if male else 0.0)
    regions = head_regions(head_v, lm, srng, receding)
    for name in ("left_eyebrow", "right_eyebrow", "left_eye", "right_eye"):
        mask = np.zeros(len(head_v), bool)
        mask[fk_sub.parts.get(name, np.zeros(0, np.int64))] = True
        regions[name] = mask
    t = srng.uniform(0, len(SKIN_TONES) - 1)
    lo = int(np.floor(t))
    tone = SKIN_TONES[lo] + (SKIN_TONES[min(lo + 1, len(SKIN_TONES) - 1)] - SKIN_TONES[lo]) * (t - lo)
    tone = np.clip(tone * srng.uniform(0.92, 1.08, 3) * np.array([1.0, 1.0, 1.0]), 0.02, 0.95)
    skin = {"tone": tone.tolist(), "roughness": float(srng.uniform(0.3, 0.6)),
            "subsurface": float(srng.uniform(0.05, 0.25)), "pores": float(srng.uniform(0.02, 0.15)),
            "freckles": float(srng.random() < 0.25) * float(srng.uniform(0.2, 0.8)) * float(t < 2.5),
            "blemishes": float(srng.uniform(0.0, 0.5)), "blotch_scale": float(srng.uniform(30, 90)),
            "male": bool(male)}
    return Subject(seed=seed, alpha_id=a_id, alpha_exp=a_exp, head_v=head_v, head_f=fk_sub.faces,
                   head_template_v=head_t, extras=extras, landmarks=lm, normals=vertex_normals(head_v, fk_sub.faces),
                   regions=regions, skin=skin)
