"""Calibrate the MediaPipe 468 -> iBUG 68 map (`core/photo/ibug_map.py`) on human annotation.

Data: the Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0), 102 neutral studio photos with a
hand-placed 189-point template, of which 44 points have an iBUG index (brows, eyes, nostril ends, subnasale,
lips, chin). The face mesh `--mesh-model` (the plain 468-point "mesh", read by the scan pipelines, or
"attention", read by Reconstruct from Photo) is run on each photo (`train/london.py`, cached) and the map of its
points is written to `ibug_map.WEIGHTS_FILES[model]`.

Model: each covered iBUG point is a non-negative combination (weights sum to 1) of the K MediaPipe points
nearest to where people put it on the mean face, ridge-pulled (strength `lam`) towards the index table's
one-hot row. Residuals are measured after normalising each photo by a similarity from its own MediaPipe
points (eye line horizontal, outer eye-corner distance 1), so the fit minimises NME-like errors. Every photo
also enters mirrored (x -> -x, iBUG and MediaPipe points swapped with their mirror images), so the map is
left/right symmetric. Points the set does not cover (jaw 0-7 and 9-16, nose ridge 27-30, nostril points 32
and 34, inner mouth corners 60 and 64) keep their index-table row.

Leave-out evaluation: 5 folds over people; settings (K, lam) are chosen by 5-fold error on the first half of
the people (sorted ids) and reported by 5-fold on all and by training on the first half / testing on the
second.

    face train ibug_map --data REAL --out face_addon/models [--mesh-model attention]   # REAL holds photos/london
    (`python -m face_addon.train.ibug_map` takes the same options without Blender)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from ..core.ibug68 import MIRROR
from ..core.photo.ibug_map import N_IBUG, TABLE, WEIGHTS_FILES, mediapipe_to_ibug68, table_weights
from .london import LondonLandmarks, load_landmarks, mediapipe_points
from .model_card import write_card
from .options import add_common, data_folders, out_folder, standalone

GRID_K = (1, 6, 12, 20, 32)
GRID_LAM = (1e-4, 1e-3, 0.01, 0.1)
FOLDS = 5
EYE_R, EYE_L = 33, 263  # MediaPipe outer eye corners (subject's right, left)


def normalise(mp: np.ndarray, ann: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Per photo similarity from its MediaPipe points: centroid at 0, eye line along +x, eye distance 1."""
    c = mp.mean(-2, keepdims=True)
    d = mp[..., EYE_L, :] - mp[..., EYE_R, :]
    s = np.linalg.norm(d, axis=-1)[..., None, None]
    ang = np.arctan2(d[..., 1], d[..., 0])
    cs, sn = np.cos(ang)[..., None], np.sin(ang)[..., None]

    def apply(p):
        q = p - c
        return np.stack([cs * q[..., 0] + sn * q[..., 1], -sn * q[..., 0] + cs * q[..., 1]], -1) / s

    return apply(mp), (None if ann is None else apply(ann))


def mediapipe_mirror(mean_shape: np.ndarray) -> np.ndarray:
    """MediaPipe index of each point's mirror image, from a (468, 2) normalised mean face (x -> -x, nearest)."""
    from scipy.optimize import linear_sum_assignment

    flipped = mean_shape * np.array([-1.0, 1.0])
    cost = np.linalg.norm(mean_shape[:, None] - flipped[None], axis=-1)
    _, perm = linear_sum_assignment(cost)
    return perm


def fit_map(mp: np.ndarray, ann: np.ndarray, ibug: np.ndarray, k: int, lam: float,
            mirror_mp: np.ndarray) -> np.ndarray:
    """(68, 468) weights from normalised MediaPipe points (n, 468, 2) and annotation (n, len(ibug), 2)."""
    full = np.full((len(mp), N_IBUG, 2), np.nan)
    full[:, ibug] = ann
    flip = np.array([-1.0, 1.0])
    mp2 = np.concatenate([mp, mp[:, mirror_mp] * flip])
    ann2 = np.concatenate([full, full[:, MIRROR] * flip])
    mean = mp2.mean(0)
    w = table_weights()
    for i in ibug:
        y = ann2[:, i]
        ok = np.isfinite(y[:, 0])
        cand = np.argsort(np.linalg.norm(mean - y[ok].mean(0), axis=1))[:k]
        cand = np.union1d(cand, [TABLE[i]])
        a = mp2[ok][:, cand].transpose(0, 2, 1).reshape(-1, len(cand))  # rows: person x coordinate
        b = y[ok].reshape(-1)
        w0 = (cand == TABLE[i]).astype(np.float64)
        big = 1e3
        r = np.sqrt(lam * ok.sum())
        aa = np.vstack([a, r * np.eye(len(cand)), big * np.ones((1, len(cand)))])
        bb = np.concatenate([b, r * w0, [big]])
        x, _ = nnls(aa, bb, maxiter=2000)
        w[i] = 0.0
        w[i, cand] = x / x.sum()
    return w


def point_errors(weights: np.ndarray, mp: np.ndarray, lm: LondonLandmarks, rows: np.ndarray) -> np.ndarray:
    """(len(rows), 44) error per photo and point over the outer inter-ocular distance of the annotation."""
    pred = mediapipe_to_ibug68(mp[rows, :, :2], weights)[:, lm.ibug]
    return np.linalg.norm(pred - lm.points[rows], axis=-1) / lm.inter_ocular()[rows, None]


def cross_validate(mp: np.ndarray, lm: LondonLandmarks, people: np.ndarray, k: int, lam: float,
                   mirror_mp: np.ndarray) -> np.ndarray:
    """Held-out `point_errors` over `people` by FOLDS folds (contiguous blocks of the sorted ids)."""
    nmp, nann = normalise(mp[..., :2], lm.points)
    out = np.zeros((len(people), len(lm.ibug)))
    for test in np.array_split(np.arange(len(people)), FOLDS):
        train = np.setdiff1d(np.arange(len(people)), test)
        w = fit_map(nmp[people[train]], nann[people[train]], lm.ibug, k, lam, mirror_mp)
        out[test] = point_errors(w, mp, lm, people[test])
    return out


def calibrate(real_root: Path, log=print, mesh_model: str = "mesh") -> tuple[np.ndarray, dict]:
    """The shipped weights of `mesh_model`'s points (all 102 people, settings picked on the first half) and their
    card."""
    lm = load_landmarks(real_root)
    mp = mediapipe_points(real_root, lm.ids, model=mesh_model)
    keep = np.flatnonzero(np.isfinite(mp[:, 0, 0]))
    nmp, nann = normalise(mp[..., :2], lm.points)
    mirror_mp = mediapipe_mirror(nmp[keep].mean(0))
    half_a, half_b = keep[: len(keep) // 2], keep[len(keep) // 2:]
    table = table_weights()
    scores = {}
    for k in GRID_K:
        for lam in GRID_LAM:
            scores[(k, lam)] = float(cross_validate(mp, lm, half_a, k, lam, mirror_mp).mean())
            log(f"K={k:2d} lam={lam:<6} 5-fold NME on half A {100 * scores[(k, lam)]:.3f} %")
    k, lam = min(scores, key=scores.get)
    cv_all = cross_validate(mp, lm, keep, k, lam, mirror_mp)
    w_a = fit_map(nmp[half_a], nann[half_a], lm.ibug, k, lam, mirror_mp)
    weights = fit_map(nmp[keep], nann[keep], lm.ibug, k, lam, mirror_mp)
    metrics = {
        "nme_table_all_pct": 100 * float(point_errors(table, mp, lm, keep).mean()),
        "nme_calibrated_5fold_all_pct": 100 * float(cv_all.mean()),
        "nme_table_half_b_pct": 100 * float(point_errors(table, mp, lm, half_b).mean()),
        "nme_calibrated_trained_a_tested_b_pct": 100 * float(point_errors(w_a, mp, lm, half_b).mean()),
        "nme_calibrated_on_training_data_all_pct (not a test result)": 100 * float(point_errors(weights, mp, lm, keep).mean()),
    }
    per_point = {int(i): [round(100 * float(a), 3), round(100 * float(b), 3)] for i, a, b in zip(
        lm.ibug, point_errors(table, mp, lm, keep).mean(0), cv_all.mean(0))}
    card = {
        "what": "MediaPipe 468 -> iBUG 68 landmark map: (68, 468) weights, rows sum to 1, non-negative",
        "face_mesh_model": mesh_model,
        "data": "Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0, "
                "doi:10.6084/m9.figshare.5047666.v5): 102 neutral photos, 44 iBUG points via "
                "ibug68_from_FRL189_approx.json; calibration only, no network trained",
        "people": len(keep), "calibrated_points": lm.ibug.tolist(),
        "uncovered_rule": "jaw (0-7, 9-16), nose ridge and tip (27-30), nostrils 32/34, inner mouth corners 60/64 "
                          "keep the common index table's MediaPipe point",
        "settings": {"K_nearest": k, "ridge_to_table": lam, "mirrored_copies": True, "grid_K": list(GRID_K),
                     "grid_lam": list(GRID_LAM), "selected_on": "5-fold over the first half (sorted ids)"},
        "grid_half_a_nme_pct": {f"K{kk}_lam{ll}": round(100 * v, 3) for (kk, ll), v in scores.items()},
        "metrics": {k2: round(v, 3) for k2, v in metrics.items()},
        "per_point_nme_pct_table_vs_5fold": per_point,
        "nonzero_per_row_mean": float((weights[lm.ibug] > 1e-4).sum(1).mean()),
        "command": "python -m face_addon train ibug_map --data ../shared/real --out face_addon/models "
                   f"--mesh-model {mesh_model}",
    }
    return weights, card


def add_arguments(parser) -> None:
    """`face train ibug_map` options (train/options.py adds the shared ones; a closed-form fit: no budget)."""
    add_common(parser, data="the real-data folder holding photos/london (the London set and its landmarks)",
               default_minutes=None, threads=None, ship=False)
    parser.add_argument("--mesh-model", choices=tuple(WEIGHTS_FILES), default="mesh",
                        help="the face mesh whose points are mapped (default mesh: the scan pipelines' map; "
                             "attention: Reconstruct from Photo's)")


def run(args) -> int:
    """Calibrate and write OUT/<WEIGHTS_FILES[--mesh-model]> (ibug_map.npz for the plain mesh) with its card."""
    from ..core.errors import UsageError

    real = data_folders(args, "the real-data folder holding photos/london")[0]
    out = out_folder(args)
    if not (real / "photos" / "london" / "landmarks_neutral.json").is_file():
        raise UsageError(f"--data {real}: no photos/london/landmarks_neutral.json there (the London set)")
    weights, card = calibrate(real, mesh_model=args.mesh_model)
    out.mkdir(parents=True, exist_ok=True)
    name = WEIGHTS_FILES[args.mesh_model]
    np.savez_compressed(out / name, weights=weights.astype(np.float64))
    write_card(out, name, card)
    print(json.dumps(card["metrics"], indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
