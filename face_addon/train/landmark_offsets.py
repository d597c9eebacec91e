"""Learn the view landmarks' per-point offsets (`core/pipelines/landmarks_offsets.py`) on synthetic train scans.

Data: `face synth --profile scan` samples of the train split (seeds < 1,000,000; the test scans 1,000,000+ are
never read), labels = FaceKit's 68 landmarks in the human convention. Each scan is read by the view method
without offsets (`landmarks_from_views(..., offsets=False)`) in the face frame it finds, rendered without its
colours ("shaded": what an untextured scan gets) and, with --coloured, once more with them; the residual
label - reading is taken in the face frame (canonical metres) and averaged per point. A scan whose face frame is
not found is skipped (counted in the card).

    face train landmark_offsets --data /work/data/synth/train_skin /work/data/synth/lm_train --out face_addon/models
    (`python -m face_addon.train.landmark_offsets` takes the same options without Blender)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .model_card import write_card
from .options import add_common, data_folders, out_folder, standalone


def read_residuals(folders: list[Path], coloured: bool, log=print) -> tuple[np.ndarray, list[int], list[int]]:
    """(scans, 68, 3) label - reading residuals (canonical metres), the seeds read, the seeds without a frame."""
    from ..core.dataset import complete_seeds, load_sample, split_of
    from ..core.geometry.scan_render import ScanSurface
    from ..core.pipelines.face_orientation import find_face_frame
    from ..core.pipelines.landmarks_offsets import residuals
    from ..core.pipelines.landmarks_views import landmarks_from_views

    res, used, missed = [], [], []
    for folder in folders:
        for seed in complete_seeds(folder):
            if split_of(seed) != "train":
                continue  # test scans are for the benchmark only
            s = load_sample(folder, seed)
            v = s.scan_vertices.astype(np.float64)
            surface = ScanSurface.of(v, s.scan_faces, s.scan_colors if coloured else None)
            frame = find_face_frame(v, s.scan_faces, surface=surface)
            found = landmarks_from_views(surface, frame, offsets=False) if frame is not None else None
            if found is None:
                missed.append(seed)
                continue
            res.append(residuals(found.points, s.landmarks, found.frame))
            used.append(seed)
            log(f"{seed}: {np.linalg.norm(res[-1], axis=1).mean() * 1e3:.2f} mm")
    return np.array(res), used, missed


def add_arguments(parser) -> None:
    """`face train landmark_offsets` options (a mean over scans: no budget, no torch threads to set)."""
    add_common(parser, data="synthetic scan-profile folder(s) of the train split", default_minutes=None,
               threads=None, many_data=True, ship=False)
    parser.add_argument("--coloured", action="store_true",
                        help="also learn offsets for coloured renders (the scans' vertex colours)")


def run(args) -> int:
    """Read the train scans and write OUT/landmark_offsets.npz with its card."""
    import torch

    from ..core.pipelines.landmarks_offsets import APPLIED, FILE, MIN_GAIN_MM, VERSION, cross_validated_gain, learn

    torch.set_num_threads(1)
    folders, out = data_folders(args, "synthetic scan-profile folder(s) of the train split"), out_folder(args)
    arrays, card = {"version": np.int64(VERSION)}, {
        "what": "per-point offsets (68, 3) of the view landmarks in the face frame (canonical metres), label - "
                "reading averaged over synthetic train scans, and the rows moved",
        "data": [str(f) for f in folders], "labels": "FaceKit's 68 landmarks in the human convention (dcbe796)",
        "rows_allowed": list(APPLIED), "min_gain_mm": MIN_GAIN_MM,
        "command": "face train landmark_offsets --data " + " ".join(map(str, folders)) + f" --out {out}"
                   + (" --coloured" if args.coloured else ""), "appearance": {}}
    for key in ("shaded", "coloured") if args.coloured else ("shaded",):
        res, used, missed = read_residuals(folders, key == "coloured")
        if len(res) < 10:
            from ..core.errors import UsageError
            raise UsageError(f"only {len(res)} train scans with a face frame in --data: need at least 10")
        learned = learn(res)
        gain = cross_validated_gain(res)
        arrays[f"{key}_offsets"], arrays[f"{key}_rows"] = learned.offsets, learned.rows
        card["appearance"][key] = {
            "scans": len(used), "seeds": [min(used), max(used)], "no_frame": missed,
            "rows": np.flatnonzero(learned.rows).tolist(),
            "cv_gain_mm": {int(i): round(float(gain[i]), 2) for i in np.flatnonzero(learned.rows)},
            "offset_mm": {int(i): [round(float(x) * 1e3, 2) for x in learned.offsets[i]]
                          for i in np.flatnonzero(learned.rows)},
            "train_error_mm": round(float(np.linalg.norm(res, axis=-1).mean() * 1e3), 2)}
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / FILE, **arrays)
    write_card(out, FILE, card)
    print(json.dumps(card["appearance"], indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
