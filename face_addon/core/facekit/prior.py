"""The FaceKit sampling prior: coefficient distributions that give plausible, varied people.

A Gaussian on all ~160 identity coefficients gives caricatures (MakeHuman modifiers are meant to be used a few
at a time and macros are bounded sliders), so each kind of coefficient gets its own distribution; the numbers
are documented in docs/facekit.md and were checked by rendering (docs/img/facekit_identities.png).
"""
from __future__ import annotations

import numpy as np

AGE_RANGES = {"adult": (18.0, 70.0), "teen": (13.0, 19.0), "elder": (60.0, 90.0), "all": (12.0, 90.0)}
YOUNG_YEARS, CHILD_YEARS, OLD_YEARS = 25.0, 11.0, 90.0  # MakeHuman age anchors young / child / old
MODIFIER_SIGMA, MODIFIER_CLIP, ASYMMETRY_SIGMA = 0.2, 0.5, 0.05
SHAPE_PROB, SHAPE_MAX = 0.3, 0.5
EXPRESSION_PROB = 0.12


def sample_prior(id_names: list[str], exp_names: list[str], rng: np.random.Generator, n: int = 1,
                 ages: str = "adult") -> tuple[np.ndarray, np.ndarray]:
    """Draw n (alpha_id, alpha_exp) pairs, shapes (n, len(id_names)) and (n, len(exp_names)), float32.

    ages: 'adult' (18-70 y), 'teen' (13-19), 'elder' (60-90) or 'all' (12-90), uniform in years.
    """
    if ages not in AGE_RANGES:
        raise ValueError(f"ages must be one of {sorted(AGE_RANGES)}, got {ages!r}")
    ident = np.zeros((n, len(id_names)))
    col = {name: i for i, name in enumerate(id_names)}

    # Macros: sex is bimodal (MakeHuman's androgynous middle is rare in people), age uniform in years.
    sex = rng.choice([-1.0, 1.0], n) * rng.uniform(0.6, 1.0, n)
    years = rng.uniform(*AGE_RANGES[ages], n)
    older = np.clip((years - YOUNG_YEARS) / (OLD_YEARS - YOUNG_YEARS), 0, 1)
    younger = np.clip((YOUNG_YEARS - years) / (YOUNG_YEARS - CHILD_YEARS), 0, 1)
    ethnic = rng.dirichlet([0.5, 0.5, 0.5], n) - 1 / 3
    macro = {"macro-gender": sex, "macro-age-older": older, "macro-age-younger": younger,
             "macro-muscle": np.clip(rng.normal(0, 0.3, n), -0.8, 0.8),
             "macro-weight": np.clip(rng.normal(0, 0.3, n), -0.8, 0.8),
             "macro-african": ethnic[:, 0], "macro-asian": ethnic[:, 1], "macro-caucasian": ethnic[:, 2]}
    for name, values in macro.items():
        ident[:, col[name]] = values

    # Local modifiers: small signed values; the right side copies the left plus a little asymmetry.
    for name, i in col.items():
        if name.startswith("macro-") or name.startswith("r-"):
            continue
        if name.endswith(tuple(_SIGNED_SUFFIXES)):
            ident[:, i] = np.clip(rng.normal(0, MODIFIER_SIGMA, n), -MODIFIER_CLIP, MODIFIER_CLIP)
        else:  # one-sided shape targets (head-oval, chin-triangle ...): occasionally, partially on
            ident[:, i] = (rng.random(n) < SHAPE_PROB) * rng.uniform(0, SHAPE_MAX, n)
    for name, i in col.items():
        if name.startswith("r-") and f"l-{name[2:]}" in col:
            left = ident[:, col[f"l-{name[2:]}"]]
            noise = rng.normal(0, ASYMMETRY_SIGMA, n)
            ident[:, i] = np.clip(left + noise, *((-MODIFIER_CLIP, MODIFIER_CLIP) if name.endswith(
                tuple(_SIGNED_SUFFIXES)) else (0, SHAPE_MAX)))

    # Expressions: sparse activations in [0, 1].
    active = rng.random((n, len(exp_names))) < EXPRESSION_PROB
    expr = active * rng.uniform(0.2, 1.0, (n, len(exp_names)))
    return ident.astype(np.float32), expr.astype(np.float32)


# Signed coefficients are named after their incr/decr category, e.g. `nose-scale-vert-decr-incr`.
_SIGNED_SUFFIXES = ("-decr-incr", "-down-up", "-in-out", "-backward-forward", "-concave-convex",
                    "-square-round", "-pointed-triangle", "-compress-uncompress")
