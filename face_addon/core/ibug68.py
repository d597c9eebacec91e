"""The 68-point iBUG / 300-W landmark scheme: names, regions and the left/right mirror permutation.

Indices are 0-based. "Right"/"left" are the subject's, as in iBUG (points 0-16 run from the subject's right
ear along the jaw to the left ear). Names appear on empties (`LM_30_nose_tip`) and in exports.
"""
from __future__ import annotations

import numpy as np

_PARTS: tuple[tuple[str, int], ...] = (
    ("jaw", 17), ("right_brow", 5), ("left_brow", 5), ("nose_bridge", 4), ("nose_base", 5),
    ("right_eye", 6), ("left_eye", 6), ("outer_lip", 12), ("inner_lip", 8),
)
_SPECIAL = {8: "chin", 30: "nose_tip", 33: "subnasale", 36: "right_eye_outer", 39: "right_eye_inner",
            42: "left_eye_inner", 45: "left_eye_outer", 48: "mouth_right", 54: "mouth_left",
            51: "upper_lip_top", 57: "lower_lip_bottom", 27: "nasion"}

#: region of each landmark, for per-region error reports (contour 17, brows 10, eyes 12, nose 9, mouth 20)
REGIONS: dict[str, tuple[int, ...]] = {
    "contour": tuple(range(0, 17)),
    "brows": tuple(range(17, 27)),
    "nose": tuple(range(27, 36)),
    "eyes": tuple(range(36, 48)),
    "mouth": tuple(range(48, 68)),
}


def _names() -> tuple[str, ...]:
    out = []
    for part, count in _PARTS:
        for k in range(count):
            i = len(out)
            out.append(_SPECIAL.get(i, f"{part}_{k}"))
    return tuple(out)


NAMES: tuple[str, ...] = _names()


def _mirror() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(17)]                         # jaw
    pairs += [(17 + k, 26 - k) for k in range(5)]                    # brows
    pairs += [(i, i) for i in range(27, 31)]                         # bridge on the midline
    pairs += [(31 + k, 35 - k) for k in range(5)]                    # nose base
    pairs += list(zip((36, 37, 38, 39, 40, 41), (45, 44, 43, 42, 47, 46)))  # eyes
    pairs += [(48 + k, 54 - k) for k in range(7)]                    # upper outer lip
    pairs += [(55 + k, 59 - k) for k in range(5)]                    # lower outer lip
    pairs += [(60 + k, 64 - k) for k in range(5)]                    # upper inner lip
    pairs += [(65, 67), (66, 66)]                                    # lower inner lip
    perm = np.arange(68)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


#: MIRROR[i] is the landmark that i becomes when the face is mirrored left<->right (an involution)
MIRROR: np.ndarray = _mirror()


def empty_names() -> list[str]:
    """Object names for the 68 landmark empties, e.g. 'LM_30_nose_tip'."""
    return [f"LM_{i:02d}_{name}" for i, name in enumerate(NAMES)]
