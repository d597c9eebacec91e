"""Segment Skin on synthetic validation scans and their real-like variants (issue 19): the data skin_p2p
fine-tunes are chosen on (never the real scans).

    OMP_NUM_THREADS=1 nice .venv/bin/python tests/bench/skin_reallike.py \
        --weights shipped=face_addon/models/skin_p2p.pt tuned=out/skin_p2p_rl/skin_p2p.pt

Sets: `val` = the synthetic validation scans (seeds 900000-900011, never trained on; views from the plain rig),
`reallike_val` = their variants from synth/skin_reallike.py (face crops and whole heads, retessellated, with or
without colour, random pose through `face_upright`; views as Segment Skin renders them). Every scan goes through
`segment_skin` as inference runs it (an uncoloured variant: no colours, so the neutral skin tone) with each
--weights file; per scan: mIoU (skin and non-skin IoU averaged), skin IoU, the skin fraction the pipeline finds,
the 2D branch's (the encoder's skin maps lifted alone) and the truth's. `guard_X`: the mIoU if a scan whose
pipeline skin fraction is below X times the 2D branch's took the 2D decision instead (the scan-level fallback
measured for issue 19). Results: tests/bench/results/skin_reallike.{json,md}.

`--real LABEL=FILE`: after the choice, the chosen file on the real scans and the synthetic test subset exactly as
`bench_real.py --part skin` runs them (real_skin.scans, real_skin.synthetic_subset) but without replacing the
shipped model or writing real.json: results/skin_reallike_real.{json,md}, pictures
out/real_pictures/skin_real_<LABEL>.png. Skips with a message without shared/real.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import write_results  # noqa: E402
import real_skin  # noqa: E402
from real_data import real_root  # noqa: E402
from real_skin import scan_miou  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SYNTH = Path("/work/data/synth")
SETS = {"val": (SYNTH / "val_skin", SYNTH / "skin_views_val"),
        "reallike_val": (SYNTH / "reallike_val", SYNTH / "reallike_views_val")}
GUARDS = (0.1, 0.2, 0.3, 0.4, 0.5)


def skin_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    return float((pred & truth).sum() / max((pred | truth).sum(), 1))


def scan_rows(root: Path, views_dir: Path, weights: dict[str, Path], cache: Path, max_scans: int | None = None
              ) -> list[dict]:
    from face_addon.core.color import srgb_to_linear
    from face_addon.core.dataset import complete_seeds, load_sample
    from face_addon.core.pipelines import skin_image as si
    from face_addon.core.pipelines.segment_skin import segment_skin
    from face_addon.core.view_cache import load_views

    enc = si.load_image_encoder(si.IMAGE_WEIGHTS)
    rows = []
    for seed in complete_seeds(root)[:max_scans]:
        if not (views_dir / f"{seed:07d}.npz").is_file():
            continue
        s = load_sample(root, seed, head=False, cameras=False)
        kind = s.meta.get("kind", "original")
        images, _, cams = load_views(views_dir / f"{seed:07d}.npz")
        views = si.SkinViews(images, cams)
        v, f, truth = s.scan_vertices.astype(np.float64), s.scan_faces, s.skin.astype(bool)
        colors = None if kind.endswith("plain") else srgb_to_linear(s.scan_colors[:, :3] / 255.0)
        _, skin2d = si.encode_views(enc, views)
        two_d = si.project_skin_masks(v, f, skin2d, cams) >= 0.5
        row = {"seed": seed, "kind": kind, "vertices": len(v), "truth_fraction": round(float(truth.mean()), 4),
               "fraction_2d": round(float(two_d.mean()), 4), "miou_2d": round(scan_miou(two_d, truth), 4)}
        for label, path in weights.items():
            r = segment_skin(v, f, colors, weights=path, views=views, cache_dir=cache)
            entry = {"miou": round(scan_miou(r.skin, truth), 4), "skin_iou": round(skin_iou(r.skin, truth), 4),
                     "fraction": round(r.skin_fraction, 4)}
            for x in GUARDS:
                guarded = two_d if r.skin_fraction < x * two_d.mean() else r.skin
                entry[f"guard_{x:g}"] = round(scan_miou(guarded, truth), 4)
            row[label] = entry
        rows.append(row)
        print(row, flush=True)
    return rows


def summary(rows: list[dict], labels: list[str]) -> dict:
    """Means per kind of scan and over all, for every weights file."""
    out = {}
    for kind in sorted({r["kind"] for r in rows}) + ["all"]:
        rs = [r for r in rows if kind in ("all", r["kind"])]
        mean = lambda values: round(float(np.mean(values)), 4)  # noqa: E731
        entry = {"n": len(rs), "truth_fraction": mean([r["truth_fraction"] for r in rs]),
                 "fraction_2d": mean([r["fraction_2d"] for r in rs]), "miou_2d": mean([r["miou_2d"] for r in rs])}
        for label in labels:
            entry[label] = {k: mean([r[label][k] for r in rs]) for k in rs[0][label]}
        out[kind] = entry
    return out


def table(results: dict, labels: list[str]) -> str:
    lines = ["| set | kind | n | truth skin | 2D: fraction / mIoU | " + " | ".join(
        f"{lb}: fraction / skin IoU / mIoU / guard 0.3" for lb in labels) + " |",
             "|---|---|---|---|---|" + "---|" * len(labels)]
    for name, per_kind in results.items():
        for kind, e in per_kind.items():
            lines.append(f"| {name} | {kind} | {e['n']} | {e['truth_fraction']:.3f} | {e['fraction_2d']:.3f} / "
                         f"{e['miou_2d']:.3f} | " + " | ".join(
                             f"{e[lb]['fraction']:.3f} / {e[lb]['skin_iou']:.3f} / **{e[lb]['miou']:.4f}** / "
                             f"{e[lb]['guard_0.3']:.4f}" for lb in labels) + " |")
    return "\n".join(lines)


def real(label: str, weights: Path) -> int:
    """The candidate on the real scans and the synthetic subset (module doc)."""
    import tempfile

    root = real_root()
    if root is None:
        print("skipped: no real data (../shared/real)")
        return 0
    real_skin.WEIGHTS = weights
    with tempfile.TemporaryDirectory() as tmp:
        sc, tiles = real_skin.scans(root, Path(tmp))
    real_skin.save_picture(tiles, [], f"skin_real_{label}.png")
    synth = real_skin.synthetic_subset()
    artec = [a["skin_fraction"] for a in sc["artec"]]
    lines = [f"| {name} | {e['skin_fraction']:.3f} | {e.get('head_face_skin_fraction', '—')} | "
             f"{e.get('skin_fraction_2d', '—')} |" for name, e in sc.items() if isinstance(e, dict) and "skin_fraction" in e]
    md = "\n".join([f"`{weights}` on the real scans (not the shipped model unless it is that file)", "",
                    "| scan | skin fraction | head-and-face | 2D baseline |", "|---|---|---|---|", *lines, "",
                    f"Artec mean {np.mean(artec):.3f} (min {np.min(artec):.3f}); rotation delta {sc['rotation_delta']:.3f}; "
                    f"synthetic subset mIoU {synth.get('miou')} (n = {synth['n']})."])
    write_results("skin_reallike_real", {"weights": str(weights), "scans": sc, "synthetic_subset": synth}, md,
                  "OMP_NUM_THREADS=1 nice .venv/bin/python tests/bench/skin_reallike.py " + " ".join(sys.argv[1:]))
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", nargs="+", metavar="LABEL=FILE", help="the files compared on the validation sets")
    ap.add_argument("--real", metavar="LABEL=FILE", help="instead: this file on the real scans (module doc)")
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--max-scans", type=int, help="the first N scans of each set (lowest seeds: whole source groups "
                    "of the real-like set when N is a multiple of 3)")
    ap.add_argument("--cache", default=str(REPO / "out" / "skin_reallike_ops"), help="operator cache")
    ap.add_argument("--name", default="skin_reallike", help="results file stem")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if a.real:
        label, path = a.real.split("=", 1)
        return real(label, Path(path))
    if not a.weights:
        ap.error("--weights or --real is needed")
    weights = {w.split("=", 1)[0]: Path(w.split("=", 1)[1]) for w in a.weights}
    missing = [name for name in a.sets if not SETS[name][0].is_dir()]
    if missing:
        print(f"skipped: no data for {missing} (synth/skin_reallike.py's module doc says how to make it)")
        return 0
    per_scan = {name: scan_rows(*SETS[name], weights, Path(a.cache), a.max_scans) for name in a.sets}
    results = {name: summary(rows, list(weights)) for name, rows in per_scan.items()}
    write_results(a.name, {"weights": {k: str(v) for k, v in weights.items()}, "results": results,
                           "per_scan": per_scan}, table(results, list(weights)),
                  "OMP_NUM_THREADS=1 nice .venv/bin/python tests/bench/skin_reallike.py " + " ".join(sys.argv[1:]))
    print(table(results, list(weights)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
