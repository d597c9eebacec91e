"""Overlays of fitted FaceKit parts on photos (docs/img/photo_overlays.png): 6 held-out synthetic renders and
real photographs (default: scikit-image's astronaut.png, a NASA public-domain portrait; `--real` adds local
files, for looking at, not for committing). Each tile: the face crop with the reconstruction's parts and
outlines and the 468 detected landmarks (green); synthetic tiles also show the true parts beside it.

    .venv/bin/python tools/render_photo_overlays.py [--test /work/data/photo/test] [--real A.jpg B.png ...]
        [--out docs/img/photo_overlays.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def outline(labels: np.ndarray) -> np.ndarray:
    """Boolean edge pixels between different labels (background edges included)."""
    e = np.zeros(labels.shape, bool)
    e[:-1] |= labels[:-1] != labels[1:]
    e[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    return e & (labels > 0) | np.roll(e, 1, 0) & (np.roll(labels, 1, 0) > 0)


def tile(crop: np.ndarray, labels: np.ndarray, landmarks: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
    from face_addon.core.dataset import CLASS_COLORS

    img = (np.clip(crop, 0, 1) * 255).astype(np.uint8).copy()
    fill = labels > 0
    img[fill] = (0.55 * img[fill] + 0.45 * CLASS_COLORS[labels[fill]]).astype(np.uint8)
    img[outline(labels)] = (255, 255, 255)
    q = np.clip(np.round(landmarks).astype(int), 0, img.shape[0] - 1)
    img[q[:, 1], q[:, 0]] = (0, 255, 0)
    if truth is None:
        return img
    t = (np.clip(crop, 0, 1) * 255).astype(np.uint8).copy()
    tf = truth > 0
    t[tf] = (0.55 * t[tf] + 0.45 * CLASS_COLORS[truth[tf]]).astype(np.uint8)
    return np.concatenate([img, t], 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--test", default="/work/data/photo/test")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1000001, 1000004, 1000007, 1000010, 1000013, 1000016])
    ap.add_argument("--real", nargs="*", default=[])
    ap.add_argument("--out", default=str(REPO / "docs/img/photo_overlays.png"))
    args = ap.parse_args()
    import skimage

    from face_addon.core.dataset import read_png, write_png
    from face_addon.core.photo.fit_mesh import photo_truth_labels
    from face_addon.core.pipelines.reconstruct_photo import reconstruct_photo
    from face_addon.train.photo_data import resample_labels

    rows = []
    for seed in args.seeds:
        view = Path(args.test) / f"{seed:07d}" / "views"
        rec = reconstruct_photo(view / "00.png")
        img = read_png(view / "00.png")[..., :3].astype(np.float32) / 255
        truth = resample_labels(photo_truth_labels(read_png(view / "00_parts.png")), rec.crop)
        rows.append(tile(rec.crop.sample(img), rec.part_labels, rec.crop.to_crop(rec.landmarks), truth))
        print(seed, rec.timings, flush=True)
    from face_addon.core.photo.image_io import load_photo

    real = []
    for path in [Path(skimage.__file__).parent / "data" / "astronaut.png"] + [Path(p) for p in args.real]:
        rec = reconstruct_photo(path)
        real.append(tile(rec.crop.sample(load_photo(path)), rec.part_labels, rec.crop.to_crop(rec.landmarks), None))
        print(path.name, rec.timings, rec.warnings, flush=True)
    real += [np.zeros_like(real[0])] * (-len(real) % 4)
    grid = [np.concatenate(rows[i:i + 2], 1) for i in range(0, len(rows), 2)]
    grid += [np.concatenate(real[i:i + 4], 1) for i in range(0, len(real), 4)]
    write_png(args.out, np.concatenate(grid, 0))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
