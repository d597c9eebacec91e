"""Measure the range of the skin network's inputs on training scans and store it beside the model.

    python tests/bench/skin_input_range.py --weights face_addon/models/skin_p2p.pt \
        --data /work/data/synth/train_skin --views /work/data/synth/skin_views_train --cache out/skin_range_cache \
        --scans 16 --check-data /work/data/synth/val_skin --check-views /work/data/synth/skin_views_val

Each train-split scan is cached and its views encoded with the model's shipped image encoder exactly as in
training (face_addon/train/skin_data.py), the raw inputs (segment_skin.feature_matrix) of all their reduced vertices pooled,
and core/pipelines/input_range.py's range measured on them. --check-data: held-out scans on which the share of
vertices handed to the image branch is reported (it should be near 1 - TRUSTED_PERCENTILE). Writes
`<weights stem>_range.json` (the range and its record: data, encoder hash, settings, check result).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from face_addon.core.dataset import complete_seeds  # noqa: E402
from face_addon.core.models import resolve  # noqa: E402
from face_addon.core.pipelines import segment_skin as ss  # noqa: E402
from face_addon.core.pipelines.input_range import column_names, measure_range, range_path  # noqa: E402
from face_addon.core.pipelines.skin_image import load_image_encoder  # noqa: E402
from face_addon.train.skin_data import cache_sample, lift_sample, raw_features, with_lifted  # noqa: E402


def scan_inputs(data: Path, views: Path, cache: Path, n: int, meta: dict, encoder, encoder_path: Path,
                log=print) -> tuple[np.ndarray, list[int], list[int]]:
    """(raw inputs of the reduced vertices of the first n scans of `data` that have views, their seeds, the
    column count of each feature)."""
    names = tuple(meta["features"])
    lift_dir = cache / f"lift_{hashlib.sha1(encoder_path.read_bytes()).hexdigest()[:10]}"
    (cache / "ops").mkdir(parents=True, exist_ok=True)
    lift_dir.mkdir(parents=True, exist_ok=True)
    rows, seeds, widths = [], [], []
    for seed in complete_seeds(data):
        if len(seeds) >= n:
            break
        if not (views / f"{seed:07d}.npz").exists():
            continue
        cached = cache_sample(data, seed, cache, int(meta.get("train_max_vertices", ss.MAX_VERTICES)),
                              int(meta.get("k_eig", ss.K_EIG)))
        lifted = cached and lift_sample(cached, views, encoder, lift_dir)
        if not lifted:
            continue
        with np.load(cached, allow_pickle=False) as z:
            d = {k: z[k] for k in ("sigma", "hks", "color")}
        d = with_lifted(d, lifted, meta.get("lifting", "visibility"))
        widths = [raw_features(d, (name,)).shape[1] for name in names]
        rows.append(raw_features(d, names))
        seeds.append(seed)
        log(f"scan {seed}: {len(rows[-1])} vertices")
    return np.concatenate(rows), seeds, widths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", required=True, help="the skin model (.pt); the range goes beside it")
    parser.add_argument("--data", required=True, help="train-split synthetic scans")
    parser.add_argument("--views", required=True, help="their rendered views (one npz per seed)")
    parser.add_argument("--cache", required=True, help="cached reduced scans and lifted features")
    parser.add_argument("--scans", type=int, default=16)
    parser.add_argument("--check-data", help="held-out scans to report the handed-over share on")
    parser.add_argument("--check-views")
    parser.add_argument("--check-scans", type=int, default=4)
    args = parser.parse_args(argv)

    weights = Path(args.weights)
    _, meta = ss.load_skin_model(weights)
    names = tuple(meta["features"])
    encoder_path = resolve(meta["image_encoder"], weights.parent)
    encoder = load_image_encoder(encoder_path)
    x, seeds, widths = scan_inputs(Path(args.data), Path(args.views), Path(args.cache), args.scans, meta, encoder,
                           encoder_path)
    rng = measure_range(x, names, column_names(names, widths))
    record = {**rng.to_json(),
              "record": {"model": weights.name, "image_encoder": encoder_path.name,
                         "image_encoder_sha1": hashlib.sha1(encoder_path.read_bytes()).hexdigest(),
                         "data": f"{len(seeds)} synthetic train-split scans {seeds[0]}-{seeds[-1]} ({args.data}), "
                                 f"{len(x)} reduced vertices; no real data",
                         "licence": "our synthetic scans (FaceKit), no third-party data",
                         "reproduce": "python tests/bench/skin_input_range.py " + " ".join(sys.argv[1:] if argv is None else argv)}}
    if args.check_data:
        xc, check_seeds, _ = scan_inputs(Path(args.check_data), Path(args.check_views), Path(args.cache),
                                      args.check_scans, meta, encoder, encoder_path)
        w, _ = rng.handover(xc)
        record["record"]["check"] = {"seeds": check_seeds, "handed_over_fraction": float((w > 0.5).mean()),
                                     "mean_weight": float(w.mean())}
        print(f"held-out scans {check_seeds}: {100 * (w > 0.5).mean():.2f} % of vertices handed over")
    out = range_path(weights)
    out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: trusted excess {rng.trusted_excess:.3f} std over {len(seeds)} scans")


if __name__ == "__main__":
    main()
