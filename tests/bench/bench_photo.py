"""Photo reconstruction on held-out synthetic renders: Part IoU, REALY-region vertex errors, timings, overlays.

    nice -n 10 .venv/bin/python tests/bench/bench_photo.py [--cache /work/data/photo/cache/test] [--limit 220]
        [--workers 2] [--timing 20] [--data SYNTH_DIR]

`--data` caches the views of a `face synth --profile photo` folder into `--cache` first (records already there
are kept). Validation views for choosing settings (docs/photo.md, round 3):
    face synth --out /work/data/synth/photo_val512 --count 32 --seed 900000 --profile photo --views 1 --res 512
    bench_photo.py --data /work/data/synth/photo_val512 --cache /work/data/photo/cache/photo_val512 --out-name photo_val

Test set: the cached views (train/photo_data.py) of `synth --profile photo` samples with seeds 1,000,000+
(one random portrait view each); the regressor and the landmark embedding only ever saw seeds < 1,000,000.
Views where the detector finds no face are counted, not scored.

Conditions (3DDFA-V3 Table 1 protocol, renderer-free): the reconstruction's parts are rasterised in the crop
(`FitMesh.label_image`) and compared with the render's true part labels; pixels where the truth shows hair,
facial hair or an accessory count for neither side. Vertex error: per REALY region (nose, mouth, forehead,
cheek) the mean distance in mm after a per-region similarity alignment, against the true FaceKit head.
  regressor       the network alone
  fit_no_prdl     fitting from the mean face: landmarks + photometric + regularisation
  fit_prdl        the same + PRDL on the parser's part masks
  regressor_prdl  fitting with PRDL, initialised by the regressor, identity and expression free (the joint fit
                  of 3DDFA-V3; the default until round 3)
  default         the product: the regressor's identity and expression kept, pose fitted with PRDL on the
                  combined masks (`joint_config`, `parts2d.combine_masks`), then the expression read from the
                  detected mesh and the landmark correction, scaled by the pose trust
                  (`follow_detections`)
Expression: mean absolute error of key ARKit units against the truth, and the mean mouthSmile on views whose
true mouthSmile is 0.
Also the part masks themselves: the parser head and the MediaPipe-contour polygons vs. the true labels.
Times: the scoring pass runs `--workers` processes at once, so the reported times come from a separate pass
over the first `--timing` views in one process on an otherwise idle machine (median per stage).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "bench"))

CONDITIONS = ("regressor", "fit_no_prdl", "fit_prdl", "regressor_prdl", "default")
MASKS = ("parser_masks", "landmark_masks", "combined_masks")
KEY_UNITS = ("mouthSmileLeft", "mouthSmileRight", "jawOpen", "eyeBlinkLeft", "eyeBlinkRight")


def _setup():
    import os

    import torch

    torch.set_num_threads(1)
    from face_addon.core.pipelines.reconstruct_photo import REGRESSOR_FILE, fitter, load_regressor

    return fitter("mesh"), load_regressor(os.environ.get("PHOTO_WEIGHTS", REGRESSOR_FILE))  # photo_data's plain points


_STATE: dict = {"conditions": CONDITIONS}  # `--conditions` (set before the worker processes fork)


def evaluate(path: str) -> dict:
    from face_addon.core.photo.camera import CROP, Crop
    from face_addon.core.photo.facekit_photo import PARTS
    from face_addon.core.photo.fit import FitConfig, FitTarget
    from face_addon.core.photo.fit_mesh import photo_truth_labels
    from face_addon.core.photo.mediapipe_assets import load_connections
    from face_addon.core.photo.metrics import part_iou, region_errors_mm
    from face_addon.core.photo.parts2d import combine_masks, part_masks
    from face_addon.core.pipelines.reconstruct_photo import follow_detections, joint_config, regress
    from face_addon.core.dataset import CLASS_IDS

    if "f" not in _STATE:
        _STATE["f"], _STATE["net"] = _setup()
    f, net = _STATE["f"], _STATE["net"]
    with np.load(path) as r:
        rec = {k: r[k] for k in r.files}
    crop = rec["crop"].astype(np.float32) / 255.0
    truth_lab = photo_truth_labels(rec["labels"])
    truth_v = f.model.fk.evaluate(rec["alpha_id"], rec["alpha_exp"]).astype(np.float64)
    out = {"name": Path(path).stem, "iou": {}, "mm": {}, "time": {}}
    t = time.perf_counter()
    init, parser = regress(net, crop)
    out["time"]["regressor"] = time.perf_counter() - t
    poly = part_masks(rec["landmarks"], load_connections(), CROP, CROP)

    def as_labels(masks):
        lab = np.zeros((CROP, CROP), np.uint8)
        for p in PARTS:
            lab[masks[p]] = CLASS_IDS[p]
        return lab

    out["iou"]["parser_masks"] = part_iou(as_labels(parser), truth_lab)
    out["iou"]["landmark_masks"] = part_iou(as_labels(poly), truth_lab)
    combined = combine_masks(parser, poly)[0]
    out["iou"]["combined_masks"] = part_iou(as_labels(combined), truth_lab)
    target = FitTarget(landmarks=rec["landmarks"], masks=parser, image=crop)
    runs = {k: v for k, v in {"regressor": (init, FitConfig(use_prdl=False, use_photo=False, coarse_iters=0, mid_iters=0, fine_iters=0)),
            "fit_no_prdl": (None, FitConfig(use_prdl=False)),
            "fit_prdl": (None, FitConfig(use_prdl=True)),
            "regressor_prdl": (init, FitConfig(use_prdl=True)),
            "default": (init, joint_config())}.items() if k in _STATE["conditions"]}
    units = [f.model.fk.exp_names.index(n) for n in KEY_UNITS]
    out["exp_truth"] = rec["alpha_exp"][units].tolist()
    out["exp"] = {}
    for name, (start, cfg) in runs.items():
        t = time.perf_counter()
        if name == "default":  # the product: the combined masks, then the stages that follow the detections
            target = FitTarget(landmarks=rec["landmarks"], masks=combined, image=crop)
        res = f.fit(target, init=start, cfg=cfg)
        vertices = res.vertices
        if name == "default":
            res, detail, out["trust"] = follow_detections(f, target, res, Crop((0.0, 0.0), 1.0).image_intrinsics(),
                                                          rec["landmarks"], "mesh")  # photo_data's plain-mesh points
            vertices = res.vertices + detail
        if name != "regressor":
            out["time"][name] = time.perf_counter() - t
        out["iou"][name] = part_iou(f.label_image(res.params), truth_lab)
        out["mm"][name] = region_errors_mm(f.model, vertices, truth_v)
        out["exp"][name] = np.asarray(res.alpha_exp)[units].tolist()
    return out


def mean_face_mm(files: list[str]) -> dict:
    """Reference: the FaceKit prior-mean face (no photo at all) scored like the reconstructions."""
    from face_addon.core.photo.facekit_photo import load_photo_facekit
    from face_addon.core.photo.metrics import region_errors_mm

    m = load_photo_facekit()
    mean = m.fk.evaluate(m.id_mean, m.exp_mean).astype(np.float64)
    errs = []
    for f in files:
        with np.load(f) as r:
            errs.append(region_errors_mm(m, mean, m.fk.evaluate(r["alpha_id"], r["alpha_exp"]).astype(np.float64)))
    return {k: float(np.mean([e[k] for e in errs])) for k in errs[0]}


def summarise(rows: list[dict], n_missed: int, n_views: int, timing_rows: list[dict]) -> tuple[dict, str]:
    from face_addon.core.photo.facekit_photo import PARTS, REGIONS

    def part_table(key):
        per = {p: float(np.nanmean([r["iou"][key][p] for r in rows])) for p in PARTS}
        return per, float(np.mean(list(per.values())))

    conds = _STATE["conditions"]
    iou_per, iou_avg = {}, {}
    for key in conds + MASKS:
        iou_per[key], iou_avg[key] = part_table(key)
    mm = {c: {g: float(np.mean([r["mm"][c][g] for r in rows])) for g in REGIONS + ("all",)} for c in conds}
    times = {c: float(np.median([r["time"][c] for r in timing_rows or rows])) for c in conds}
    data = {"test_n": len(rows), "views_without_detection": n_missed, "views_total": n_views,
            "part_iou": {c: iou_avg[c] for c in conds}, "part_iou_per_part": {c: iou_per[c] for c in conds},
            "vertex_mm": {c: mm[c]["all"] for c in conds}, "vertex_mm_per_region": mm,
            "mask_iou": {k: iou_avg[k] for k in MASKS}, "mask_iou_per_part": {k: iou_per[k] for k in MASKS},
            "time_regressor_s": times["regressor"], "time_fit_s": times["default"], "time_s": times}
    lines = ["| condition | Part IoU (avg) | " + " | ".join(PARTS) + " | vertex mm | " + " | ".join(REGIONS)
             + " | time s |", "|---" * (len(PARTS) + len(REGIONS) + 4) + "|"]
    for c in conds:
        lines.append(f"| {c} | {iou_avg[c]:.3f} | " + " | ".join(f"{iou_per[c][p]:.3f}" for p in PARTS)
                     + f" | {mm[c]['all']:.2f} | " + " | ".join(f"{mm[c][g]:.2f}" for g in REGIONS)
                     + f" | {times[c]:.2f} |")
    lines += ["", "Part masks vs. the true labels (IoU):", "",
              "| masks | avg | " + " | ".join(PARTS) + " |", "|---" * (len(PARTS) + 2) + "|"]
    for k in MASKS:
        lines.append(f"| {k} | {iou_avg[k]:.3f} | " + " | ".join(f"{iou_per[k][p]:.3f}" for p in PARTS) + " |")
    lines += ["", f"{len(rows)} test views scored; {n_missed} of {n_views} views had no detected face."]
    exp_data, exp_lines = expression_summary(rows)
    data.update(exp_data)
    return data, "\n".join(lines + exp_lines)


def expression_summary(rows: list[dict]) -> tuple[dict, list[str]]:
    """Key ARKit units against the truth: mean absolute error per unit and the mean mouthSmile (L+R)/2 on the
    views whose true mouthSmile is 0, for the joint fit and the product default; the default's pose trust."""
    truth = np.array([r["exp_truth"] for r in rows])
    no_smile = truth[:, :2].sum(1) == 0
    data = {"key_units": list(KEY_UNITS), "key_unit_mae": {}, "neutral_mouth_smile": {},
            "trust_mean": float(np.mean([r["trust"] for r in rows])),
            "trust_full_share": float(np.mean([r["trust"] == 1.0 for r in rows]))}
    lines = ["", f"Expression (key units vs the truth; mouthSmile on the {int(no_smile.sum())} views with a true "
             "mouthSmile of 0):", "", "| condition | " + " | ".join(f"{u} MAE" for u in KEY_UNITS)
             + " | mouthSmile, no-smile views |", "|---" * (len(KEY_UNITS) + 2) + "|"]
    for c in [c for c in ("regressor", "regressor_prdl", "default") if c in _STATE["conditions"]]:
        pred = np.array([r["exp"][c] for r in rows])
        data["key_unit_mae"][c] = dict(zip(KEY_UNITS, np.abs(pred - truth).mean(0).round(4).tolist()))
        data["neutral_mouth_smile"][c] = float(pred[no_smile, :2].mean()) if no_smile.any() else float("nan")
        lines.append(f"| {c} | " + " | ".join(f"{v:.3f}" for v in data["key_unit_mae"][c].values())
                     + f" | {data['neutral_mouth_smile'][c]:.3f} |")
    lines += ["", f"Pose trust of the default (`core/photo/trust.py`): mean {data['trust_mean']:.2f}, full on "
              f"{100 * data['trust_full_share']:.0f} % of the views."]
    return data, lines


def main() -> int:
    from common import write_results

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/work/data/photo/cache/test")
    ap.add_argument("--limit", type=int, default=220)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--weights", help="regressor weights (default: the shipped face_addon/models file)")
    ap.add_argument("--timing", type=int, default=20, help="views timed in a separate single-process pass")
    ap.add_argument("--data", help="a `face synth --profile photo` folder whose views are cached into --cache first")
    ap.add_argument("--conditions", default=",".join(CONDITIONS),
                    help="comma-separated subset of the conditions (regressor and default are always run)")
    ap.add_argument("--out-name", default="photo", help="results name (tests/bench/results/NAME.json/.md)")
    args = ap.parse_args()
    if args.weights:
        import os

        os.environ["PHOTO_WEIGHTS"] = args.weights
    _STATE["conditions"] = tuple(c for c in CONDITIONS if c in args.conditions.split(",") + ["regressor", "default"])
    cache = Path(args.cache)
    if args.data:
        from face_addon.train.photo_data import cache_split

        cache_split(Path(args.data), cache)
    files = sorted(str(p) for p in cache.glob("*.npz"))[: args.limit]
    missed = json.loads((cache / "no_face.json").read_text()) if (cache / "no_face.json").exists() else []
    t = time.perf_counter()
    rows = []
    with ProcessPoolExecutor(args.workers) as ex:
        for i, row in enumerate(ex.map(evaluate, files, chunksize=4)):
            rows.append(row)
            if i % 20 == 0:
                print(f"{i + 1}/{len(files)} {time.perf_counter() - t:.0f} s", flush=True)
    timing_rows = [evaluate(f) for f in files[: args.timing]]
    data, table = summarise(rows, len(missed), len(files) + len(missed), timing_rows)
    data["timing_views"] = len(timing_rows)
    data["mean_face_mm"] = mean_face_mm(files)
    table += (f"\nReference: the prior-mean FaceKit face, no photo: {data['mean_face_mm']['all']:.2f} mm "
              f"(nose {data['mean_face_mm']['nose']:.2f}, mouth {data['mean_face_mm']['mouth']:.2f}, "
              f"forehead {data['mean_face_mm']['forehead']:.2f}, cheek {data['mean_face_mm']['cheek']:.2f}).\n")
    seeds = [int(Path(f).stem.split("_")[0]) for f in files]
    data["test_set"] = (f"{cache}: synth --profile photo seeds {min(seeds)}-{max(seeds)}, one portrait view each "
                        "(random yaw ±40°, pitch −15..20°, roll ±10°, 35-85 mm lens)")
    (REPO / "out").mkdir(exist_ok=True)
    (REPO / f"out/{args.out_name}_rows.json").write_text(json.dumps(rows))  # per-view numbers, for digging (not committed)
    write_results(args.out_name, data, table, "nice -n 10 .venv/bin/python tests/bench/bench_photo.py"
                  + "".join(f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                             if v is not None and k in ("cache", "data", "out_name", "limit")))
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
