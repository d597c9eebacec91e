"""Fit the view landmarks' confidence calibration (core/pipelines/landmarks_confidence.COEFFICIENTS) on synthetic
train scans and print the table to paste there.

    python tests/bench/fit_landmark_confidence.py --data /work/data/synth/lm_train --cache signs.npz

Each train scan (seeds 500,000-999,999 only: never a test scan) is turned and scaled as bench_landmarks.py turns
the test scans (`perturbation`), read by the view method with its colours and again without (as untextured real
scans are read), and the two error signs of every point (`ViewLandmarks.error_signs`) are stored with its error
against the scan's labels and whether the fitted head replaced it (`ViewLandmarks.replaced`). Per point type,
the squared error (clipped at CLIP_MM) of the points the views placed is regressed on [1, s^2, g^2] by
non-negative least squares; 5-fold cross-validation over scans reports the least-confident 10 % against the
rest and the rank correlation. The replaced points are not fitted (their confidence is REPLACED_MM's, a floor:
docs/landmarks.md round 8); their error here is printed beside the rest's, with the level NNLS would give them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def collect(root: Path, cache: Path) -> dict[str, np.ndarray]:
    """Per reading: signs (N, 68, 2) mm, error (N, 68) mm, replaced (N, 68), seed (N,); cached in `cache`."""
    if cache.is_file():
        return dict(np.load(cache))
    import torch
    from bench_landmarks import perturbation

    from face_addon.core.dataset import complete_seeds, load_sample, split_of
    from face_addon.core.geometry.scan_render import ScanSurface
    from face_addon.core.pipelines.face_orientation import find_face_frame
    from face_addon.core.pipelines.landmarks_views import landmarks_from_views

    torch.set_num_threads(1)
    out: dict[str, list] = {"signs": [], "error": [], "replaced": [], "seed": []}
    for seed in complete_seeds(root):
        if split_of(seed) != "train":
            raise SystemExit(f"seed {seed} is not a train seed: the calibration is fitted on train scans only")
        s = load_sample(root, seed)
        rot, unit = perturbation(seed)
        verts = s.scan_vertices.astype(np.float64) @ rot.T * unit
        truth = s.landmarks.astype(np.float64) @ rot.T * unit
        for colors in (s.scan_colors, None):
            surface = ScanSurface.of(verts, s.scan_faces, colors)
            frame = find_face_frame(verts, s.scan_faces, surface=surface)
            found = landmarks_from_views(surface, frame) if frame is not None else None
            if found is None:
                continue
            out["signs"].append(found.error_signs)
            out["error"].append(np.linalg.norm(found.points - truth, axis=1) * 1000.0 / unit)
            out["replaced"].append(found.replaced)
            out["seed"].append(seed)
            print(seed, "colours" if colors is not None else "plain", f"{out['error'][-1].mean():.2f} mm", flush=True)
    arrays = {k: np.array(v) for k, v in out.items()}
    np.savez(cache, **arrays)
    return arrays


def fit(signs: np.ndarray, error: np.ndarray, replaced: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Per point type (landmarks_confidence.GROUPS): NNLS of clipped squared error on [1, s^2, g^2] over the
    points the views placed (not `replaced` (N, 68) bool)."""
    from scipy.optimize import nnls

    from face_addon.core.pipelines.landmarks_confidence import CLIP_MM, GROUPS

    s = np.nan_to_num(signs, nan=0.0, posinf=0.0)
    out = {}
    for name, rows in GROUPS.items():
        a = np.stack([np.ones(s[:, rows].shape[:2]), s[:, rows, 0] ** 2, s[:, rows, 1] ** 2], -1).reshape(-1, 3)
        y = np.minimum(error[:, rows], CLIP_MM).ravel() ** 2
        ok = (np.isfinite(signs[:, rows]).all(-1) & ~replaced[:, rows]).ravel()
        out[name] = tuple(float(round(c, 4)) for c in nnls(a[ok], y[ok])[0])
    return out


def confidence_with(table: dict, signs: np.ndarray, replaced: np.ndarray) -> np.ndarray:
    """(N, 68) confidences from `table` (as landmarks_confidence.COEFFICIENTS) for the stored signs and
    replaced points."""
    from face_addon.core.pipelines import landmarks_confidence as lc

    return np.array([lc.confidence(x[:, 0], x[:, 1], np.full(68, np.inf), table, r)
                     for x, r in zip(signs, replaced)])


def replaced_summary(error: np.ndarray, replaced: np.ndarray) -> str:
    """The replaced points' error against the rest's, and the rms level (clipped) NNLS on [1] would give them."""
    from face_addon.core.pipelines.landmarks_confidence import CLIP_MM

    e, r = error[replaced], error[~replaced]
    return (f"replaced {len(e)} of {error.size} points: {e.mean():.2f} mm (median {np.median(e):.2f}) vs the "
            f"rest {r.mean():.2f} (median {np.median(r):.2f}); fitted level "
            f"{np.sqrt((np.minimum(e, CLIP_MM) ** 2).mean()):.2f} mm")


def check(conf: np.ndarray, error: np.ndarray) -> str:
    """'least-confident 10 % X mm vs the rest Y mm, Spearman r' over all points pooled."""
    from scipy.stats import spearmanr

    c, e = conf.ravel(), error.ravel()
    low = c <= np.quantile(c, 0.1)
    return (f"least-confident 10 % {e[low].mean():.2f} mm vs the rest {e[~low].mean():.2f} mm, "
            f"Spearman {spearmanr(c, e).correlation:+.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="synthetic train scans (face synth --profile scan)")
    ap.add_argument("--cache", type=Path, required=True, help="npz of the readings (written once, then reused)")
    args = ap.parse_args()
    d = collect(args.data, args.cache)
    seeds = np.unique(d["seed"])
    fold = np.searchsorted(seeds, d["seed"]) % 5
    cv = np.zeros_like(d["error"])
    for k in range(5):
        table = fit(d["signs"][fold != k], d["error"][fold != k], d["replaced"][fold != k])
        cv[fold == k] = confidence_with(table, d["signs"][fold == k], d["replaced"][fold == k])
    print(f"{len(d['seed'])} readings of {len(seeds)} train scans")
    print("calibrated, 5-fold CV over scans:", check(cv, d["error"]))
    print(replaced_summary(d["error"], d["replaced"]))
    for name, coefs in fit(d["signs"], d["error"], d["replaced"]).items():
        print(f'    "{name}": {coefs},')


if __name__ == "__main__":
    main()
