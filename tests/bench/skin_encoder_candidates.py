"""Candidate image encoders for Segment Skin compared before one ships (issue 19): London held-out skin IoU and
the shipping gate's scans, each candidate with the shipped skin_p2p.pt (not retrained).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python tests/bench/skin_encoder_candidates.py \
        --encoders shipped=face_addon/models/skin_image.pt r1=out/skin_image_real/skin_image.pt [--plain shipped]

Per candidate: `real_skin.london` (held-out odd ids, groups, 10th percentile; the even ids were trained on),
Segment Skin on Lee Perry-Smith upright textured (head-and-face fraction), fran upright, three Artec faces, and
the 16 synthetic test scans (`real_skin.synthetic_subset`: mIoU), exactly as `bench_real.py --part skin` runs
them, but with the candidate placed beside a copy of skin_p2p.pt in a scratch folder (skin_p2p finds its
encoder by relative name), so the shipped files and real.json are untouched. Results:
results/skin_encoder_candidates.{json,md}; per candidate a London picture and one of Lee Perry-Smith and fran
(front and 60°, orange = skin) under out/real_pictures/. `--plain LABEL...`: those candidates without the mirror
average of the per-pixel classes (`skin_image.MIRROR_AVERAGE`; the others with it), so an encoder can be compared
with what shipped before the average.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import write_results  # noqa: E402
import real_skin  # noqa: E402
from real_data import picture_path, real_root  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARTEC = ("p02_neutral", "p05_smile", "p10_neutral")


def scan_rows(root: Path) -> tuple[dict, list[np.ndarray]]:
    """The gate's scans through real_skin.segment (the candidate set in real_skin.WEIGHTS' folder); picture tiles
    of Lee Perry-Smith and fran coloured by the probabilities."""
    from face_addon.core.mesh_files import load_mesh

    base = root / "scans"
    lps = real_skin.turned(load_mesh(base / "lee_perry_smith" / "LeePerrySmith_decoded.obj"), real_skin.Y_UP_FACE_Z)
    z = lps.vertices[:, 2]
    width = float(np.ptp(lps.vertices, 0)[:2].max())
    head = z >= z.max() - real_skin.LPS_CHIN_BELOW_CROWN * width
    r, _, two_d, _ = real_skin.segment(lps)
    tiles = [real_skin.picture_tile(lps, r.probability)]
    out = {"lps_head_face": round(float(r.skin[head].mean()), 4), "lps_fraction": round(r.skin_fraction, 4),
           "lps_2d": two_d}
    fran = real_skin.turned(load_mesh(base / "fran" / "fran_cut_converted.obj"), real_skin.Y_UP_FACE_X)
    r, _, two_d, _ = real_skin.segment(fran)
    tiles.append(real_skin.picture_tile(fran, r.probability))
    out.update(fran_fraction=round(r.skin_fraction, 4), fran_2d=two_d)
    for name in ARTEC:
        r, _, two_d, _ = real_skin.segment(load_mesh(base / "artec_faces" / f"{name}.obj"))
        out[f"artec_{name}"] = round(r.skin_fraction, 4)
    print(out, flush=True)
    return out, tiles


def evaluate(label: str, encoder: Path, root: Path, scratch: Path, mirror: bool = True) -> dict:
    from PIL import Image

    from face_addon.core.capabilities import MODELS_DIR
    from face_addon.core.pipelines import skin_image as si

    si.MIRROR_AVERAGE = mirror

    folder = scratch / label
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS_DIR / "skin_p2p.pt", folder / "skin_p2p.pt")
    shutil.copy(encoder, folder / "skin_image.pt")
    si.IMAGE_WEIGHTS = folder / "skin_image.pt"   # the London rows and the 2D baselines
    real_skin.WEIGHTS = folder / "skin_p2p.pt"    # segment_skin: skin_p2p with this encoder beside it
    lon, tiles = real_skin.london(root)
    print(label, lon, flush=True)
    Image.fromarray(np.concatenate(tiles, 0)).save(picture_path(f"skin_encoder_{label}.png"))
    scans, scan_tiles = scan_rows(root)
    Image.fromarray(np.concatenate(scan_tiles, 0)).save(picture_path(f"skin_encoder_{label}_scans.png"))
    row = {"encoder": str(encoder), "mirror_average": mirror, "london": lon, "scans": scans}
    synth = real_skin.synthetic_subset()
    row["synth"] = {k: synth.get(k) for k in ("n", "miou", "miou_2d")}
    print(label, row["synth"], flush=True)
    return row


def markdown(rows: dict) -> str:
    lines = ["| encoder (mirror average) | London held-out (trained even) | p10 | black / east Asian / white | "
             "LPS head-face (2D) | fran | Artec p02 / p05 / p10 | synthetic mIoU (2D) |", "|---" * 8 + "|"]
    for label, r in rows.items():
        lo, sc, sy = r["london"], r["scans"], r["synth"]
        g = lo["held_out_by_group"]
        grp = " / ".join(str(g.get(k, {}).get("iou")) for k in ("black", "east_asian", "white"))
        mirror = "yes" if r.get("mirror_average", True) else "no"
        lines.append(f"| {label} ({mirror}) | {lo['held_out_backdrop']} ({lo['tuned_backdrop']}) | "
                     f"{lo['held_out_p10_backdrop']} | {grp} | {sc['lps_head_face']} ({sc['lps_2d']}) | "
                     f"{sc['fran_fraction']} | {' / '.join(str(sc[f'artec_{a}']) for a in ARTEC)} | "
                     f"{sy['miou']} ({sy['miou_2d']}) |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoders", nargs="+", required=True, metavar="LABEL=FILE")
    ap.add_argument("--plain", nargs="*", default=[], metavar="LABEL", help="measured without the mirror average")
    args = ap.parse_args()
    root = real_root()
    if root is None:
        print("skipped: no shared/real")
        return 0
    import torch

    torch.set_num_threads(1)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.encoders:
            label, path = spec.split("=", 1)
            rows[label] = evaluate(label, Path(path), root, Path(tmp), mirror=label not in args.plain)
    md = markdown(rows)
    print(md)
    write_results("skin_encoder_candidates", rows, md, " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
