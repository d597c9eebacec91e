"""Real-photo detection and part-mask measurements on the London set (`../shared/real/photos/london`, CC BY 4.0).

    nice -n 10 .venv/bin/python tests/bench/real_photo_detect.py [--every K] [--sheet out/detect_sheet.png]

`detect_misses(root)`: every neutral portrait and transformed copies of it (greyscale, an archive-print look,
the face filling the frame or cut by it, half size, rotated by 90°/180°/270° and by 30°/135°, a face a tenth of the frame
in a textured canvas, that small face as a tilted archive print, and a two-person composite where the person
must win over a smaller second face). A photo counts as a miss when the face the pipeline picks (`detect`,
largest first) does not have both eye centres within 0.3 inter-ocular distances of the annotated pupils.
`part_iou(root)`: IoU per part of the photo pipeline's part masks against the London part masks.
Both return (keys for real.json, a markdown section); bench_real.py's photo part calls them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import photo_transforms as T  # noqa: E402
from real_data import real_root  # noqa: E402

from face_addon.core.photo import PhotoError  # noqa: E402
from face_addon.core.photo.image_io import load_photo  # noqa: E402

LONDON = Path("photos/london")
PUPILS = (0, 1)  # FRL: image-left pupil (the subject's right eye), image-right pupil
FACE_POINTS = slice(125, 145)  # FRL jaw (125-133) and hairline (134-144): the face's extent without the ears
HIT_IOD = 0.3
SMALL_FRACTION = 0.1  # a face a tenth of the canvas's long side


def london_items(root: Path, every: int = 1) -> list[tuple[str, Path, np.ndarray]]:
    """(id, neutral photo, FRL-189 points (189, 2) in pixel-centre coordinates) of the London set."""
    base = root / LONDON
    marks = json.loads((base / "landmarks_neutral.json").read_text())
    items = []
    for name in sorted(marks)[::every]:
        items.append((name[:3], base / "neutral" / name, np.asarray(marks[name]["frl189_xy"], np.float64)))
    return items


def transforms(frl: np.ndarray) -> dict[str, T.Transform]:
    """The hard cases made from one portrait with FRL points `frl` (the crop and scale depend on the face)."""
    face = frl[FACE_POINTS]
    side = float(np.ptp(face, 0).max())
    small = T.small_face(side, SMALL_FRACTION)
    return {
        "original": lambda img, p: (img, p),
        "grey": T.grey,
        "archive print": T.old_photo,
        "face fills frame": T.square_crop(face, 1.0),
        "face cut by frame": T.square_crop(face, 0.75),
        "half size": lambda img, p: T.resize(img, p, 0.5),
        "rotated 90°": T.rot90(1),
        "rotated 180°": T.rot90(2),
        "rotated 270°": T.rot90(3),
        "tilted 30°": T.rotate(30),
        "rotated 135°": T.rotate(135),
        "face 1/10 of frame": small,
        "small tilted archive": T.compose(T.old_photo, small, T.rotate(-20)),
    }


def eye_centres(points: np.ndarray) -> np.ndarray:
    """(2, 2) centres of the subject's right and left eye loops of a 468-point mesh."""
    from face_addon.core.photo.mediapipe_assets import load_connections

    conn = load_connections()
    return np.stack([points[np.unique(conn[k])][:, :2].mean(0) for k in ("right_eye", "left_eye")])


def eye_error(points: np.ndarray, pupils: np.ndarray) -> float:
    """Largest eye-centre distance to the pupils, in inter-ocular distances."""
    return float(np.linalg.norm(eye_centres(points) - pupils, axis=1).max() / np.linalg.norm(pupils[1] - pupils[0]))


def check_photo(img: np.ndarray, pupils: np.ndarray) -> dict:
    from face_addon.core.photo.face_mesh import detect_drawn_by
    from face_addon.core.pipelines.reconstruct_photo import MESH_MODEL

    t = time.perf_counter()
    try:
        faces = detect_drawn_by(img, MESH_MODEL, which="all")
    except PhotoError:
        faces = []
    dt = time.perf_counter() - t
    err = eye_error(faces[0].points, pupils) if faces else float("inf")
    return {"hit": err <= HIT_IOD, "err": err, "n": len(faces), "time": dt, "faces": faces}


def run_detection(root: Path, every: int = 1, keep: int = 0) -> tuple[dict, list]:
    """Per-transform results over the London portraits; `keep` > 0 keeps that many examples per transform
    (worst first) for a contact sheet."""
    items = london_items(root, every)
    stats: dict[str, dict] = {}
    examples: list = []
    for idx, (pid, path, frl) in enumerate(items):
        img = load_photo(path)
        pupils = frl[list(PUPILS)]
        for name, f in transforms(frl).items():
            timg, tp = f(img, pupils)
            r = check_photo(timg, tp)
            s = stats.setdefault(name, {"photos": 0, "misses": 0, "missed": [], "time": []})
            s["photos"] += 1
            s["time"].append(r["time"])
            if not r["hit"]:
                s["misses"] += 1
                s["missed"].append(pid)
            if keep:
                examples.append(sheet_entry(name, pid, r, timg, tp))
        # several faces: this person beside the next one at 0.6 × the size; the larger must be picked
        other_path, other_frl = items[(idx + 1) % len(items)][1:]
        other, _ = T.resize(load_photo(other_path), other_frl[list(PUPILS)], 0.6)
        canvas = T.background(1350, 1350 + other.shape[1])
        canvas, _ = T.paste(canvas, other, other_frl[:2], (0, 1350 - other.shape[0]))
        timg, tp = T.paste(canvas, img, pupils, (other.shape[1], 0))
        r = check_photo(timg, tp)
        s = stats.setdefault("two people", {"photos": 0, "misses": 0, "missed": [], "time": [], "both": 0})
        s["photos"] += 1
        s["time"].append(r["time"])
        s["both"] += r["n"] >= 2
        if not r["hit"]:
            s["misses"] += 1
            s["missed"].append(pid)
        if keep:
            examples.append(sheet_entry("two people", pid, r, timg, tp))
    if keep:
        worst: dict[str, list] = {}
        for ex in sorted(examples, key=lambda e: -e["err"]):
            worst.setdefault(ex["case"], [])
            if len(worst[ex["case"]]) < keep:
                worst[ex["case"]].append(ex)
        examples = [ex for v in worst.values() for ex in v]
    return stats, examples


TILE = 220


def sheet_entry(case: str, pid: str, r: dict, img: np.ndarray, pupils: np.ndarray) -> dict:
    """A contact-sheet entry: the whole photo and a zoom on the true face (TILE² each) with the picked face's
    landmarks (green), its mesh crop (yellow) and the annotated pupils (red)."""
    from PIL import Image, ImageDraw

    iod = float(np.linalg.norm(pupils[1] - pupils[0]))
    mid = pupils.mean(0)
    tiles = []
    for x0, y0, side in ((0.0, 0.0, float(max(img.shape[:2]))), (*(mid - 2.5 * iod), 5 * iod)):
        s = TILE / side
        pil = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
        pil = pil.transform((TILE, TILE), Image.AFFINE, (1 / s, 0, x0, 0, 1 / s, y0), Image.BILINEAR,
                            fillcolor=(40, 40, 40))
        d = ImageDraw.Draw(pil)
        def px(p):
            return ((p[0] + 0.5 - x0) * s, (p[1] + 0.5 - y0) * s)
        if r["faces"]:
            face = r["faces"][0]
            for p in face.points[::3]:
                x, y = px(p)
                d.point((x, y), fill=(0, 255, 0))
            c, h, a = face.roi.center, face.roi.size / 2, face.roi.angle
            corners = [(c[0] + h * (u * np.cos(a) - v * np.sin(a)), c[1] + h * (u * np.sin(a) + v * np.cos(a)))
                       for u, v in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))]
            d.line([px(q) for q in corners], fill=(255, 220, 0), width=1)
        for p in pupils:
            x, y = px(p)
            d.line((x - 4, y, x + 4, y), fill=(255, 0, 0))
            d.line((x, y - 4, x, y + 4), fill=(255, 0, 0))
        tiles.append(pil)
    return {"case": case, "pid": pid, "err": r["err"], "n": r["n"], "tiles": tiles}


def contact_sheet(examples: list[dict], path: Path, columns: int = 2) -> None:
    """The examples as a grid of (whole photo, zoom) pairs with a caption each."""
    from PIL import Image, ImageDraw

    cell = (2 * TILE + 10, TILE + 18)
    rows = -(-len(examples) // columns)
    sheet = Image.new("RGB", (columns * cell[0], rows * cell[1]), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for i, ex in enumerate(examples):
        x, y = (i % columns) * cell[0], (i // columns) * cell[1]
        sheet.paste(ex["tiles"][0], (x, y + 16))
        sheet.paste(ex["tiles"][1], (x + TILE + 2, y + 16))
        err = "no face" if not np.isfinite(ex["err"]) else f"eye err {ex['err']:.2f} IOD"
        d.text((x + 2, y + 2), f"{ex['case']} #{ex['pid']}: {err}, {ex['n']} face(s)", fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def detect_misses(root: Path, every: int = 1) -> tuple[dict, str]:
    """`photo_detect_misses` (total, and per transform) and its markdown section."""
    return summarise(run_detection(root, every)[0])


def summarise(stats: dict) -> tuple[dict, str]:
    """The keys and markdown section of `run_detection`'s statistics."""
    total = sum(s["misses"] for s in stats.values())
    n = sum(s["photos"] for s in stats.values())
    keys = {"photo_detect_misses": total,
            "photo_detect_misses_by_case": {k: s["misses"] for k, s in stats.items()},
            "photo_detect_photos": n}
    rows = [f"| {k} | {s['photos']} | {s['misses']} | {', '.join(s['missed'][:8])} | "
            f"{1000 * float(np.median(s['time'])):.0f} |" for k, s in stats.items()]
    two = stats["two people"]
    md = ("### Face detection on the London portraits and transformed copies\n\n"
          f"{n} photos, **{total} misses** (the face picked has an eye centre more than {HIT_IOD} inter-ocular "
          "distances from the annotated pupil, or no face is found). Face Research Lab London Set, "
          "DeBruine & Jones 2017, CC BY 4.0.\n\n"
          "| case | photos | misses | missed ids | median time (ms) |\n|---|---|---|---|---|\n" + "\n".join(rows)
          + f"\n\nTwo people: both faces returned in {two['both']} of {two['photos']}.\n")
    return keys, md


#: London part-mask labels (LABELS.txt; FRL "left" = image-left = the subject's right) of each measured part
LONDON_LABELS = {"skin": 1, "right_eyebrow": 2, "left_eyebrow": 3, "right_eye": 4, "left_eye": 5, "nose": 6,
                 "mouth": 7}


def london_crop_labels(labels: np.ndarray, crop) -> np.ndarray:
    """The London label map (H, W) sampled (nearest pixel) into the pipeline's 224² face crop."""
    from face_addon.core.photo.camera import CROP

    g = np.arange(CROP, dtype=np.float64)
    xy = crop.to_image(np.stack(np.meshgrid(g, g), -1))
    x = np.clip(np.rint(xy[..., 0]).astype(int), 0, labels.shape[1] - 1)
    y = np.clip(np.rint(xy[..., 1]).astype(int), 0, labels.shape[0] - 1)
    return labels[y, x]


def as_london_parts(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The pipeline's part masks in the London convention: the two lips and the mouth opening between them
    are one 'mouth' (lips + teeth)."""
    from scipy import ndimage

    out = {k: masks[k] for k in LONDON_LABELS if k in masks}
    out["mouth"] = ndimage.binary_fill_holes(masks["up_lip"] | masks["down_lip"])
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else float("nan")


def part_ious(root: Path, every: int = 1) -> dict[str, dict[str, list[float]]]:
    """{mask source: {part: [IoU per portrait]}} in the pipeline's face crop, for the parser head of
    models/photo_regressor.pt ('parser'), the landmark polygons of parts2d ('landmarks') and the pipeline's
    default, one of the two per photo ('combined', `parts2d.combine_masks`)."""
    from PIL import Image

    from face_addon.core.photo.camera import CROP
    from face_addon.core.photo.face_mesh import detect_drawn_by
    from face_addon.core.photo.mediapipe_assets import load_connections
    from face_addon.core.photo.parts2d import combine_masks, part_masks
    from face_addon.core.pipelines.reconstruct_photo import (MESH_MODEL, REGRESSOR_FILE, crop_face, load_regressor,
                                                             regress)

    net = load_regressor(REGRESSOR_FILE)
    out: dict[str, dict[str, list[float]]] = {"combined": {}, "parser": {}, "landmarks": {}}
    out["ids"] = []  # type: ignore[assignment]
    for pid, path, _ in london_items(root, every):
        img = load_photo(path)
        face = detect_drawn_by(img, MESH_MODEL)[0]
        crop, crop_img, lm = crop_face(img, face.points)  # the pipeline's crop, upright with the face
        truth = london_crop_labels(np.asarray(Image.open(root / LONDON / "partmasks" / f"{pid}_03_parts.png")),
                                   crop)
        sources = {"parser": regress(net, crop_img)[1], "landmarks": part_masks(lm, load_connections(), CROP, CROP)}
        sources["combined"] = combine_masks(sources["parser"], sources["landmarks"])[0]
        for name, masks in sources.items():
            for part, mask in as_london_parts(masks).items():
                out[name].setdefault(part, []).append(iou(mask, truth == LONDON_LABELS[part]))
        out["ids"].append(pid)  # type: ignore[union-attr]
    return out


#: the people the mask rules (parts2d.PolygonRules, PARSER_BROW_RATIO) were chosen on: even-numbered ids
def selection_person(pid: str) -> bool:
    return int(pid) % 2 == 0


def part_iou(root: Path, every: int = 1) -> tuple[dict, str]:
    """`photo_london_part_iou`: mean IoU per part of the masks the photo pipeline fits to ('combined') on the
    odd-numbered people (held out: the rules were chosen on the even-numbered ones); `_parser` / `_landmarks`:
    each source alone on the same people; `photo_london_part_iou_halves`: the mean over parts per source on the
    selection half, the held-out half and all. Markdown section with both."""
    res = part_ious(root, every)
    ids = res["ids"]
    halves = {"selection (even ids)": [selection_person(p) for p in ids],
              "held out (odd ids)": [not selection_person(p) for p in ids], "all": [True] * len(ids)}
    srcs = ("combined", "parser", "landmarks")
    mean = {h: {src: {p: round(float(np.nanmean(np.asarray(v)[np.asarray(rows)])), 3) for p, v in res[src].items()}
                for src in srcs} for h, rows in halves.items()}
    for h in mean.values():
        for m in h.values():
            m["mean"] = round(float(np.mean(list(m.values()))), 3)
    held = mean["held out (odd ids)"]
    keys = {"photo_london_part_iou": held["combined"], "photo_london_part_iou_parser": held["parser"],
            "photo_london_part_iou_landmarks": held["landmarks"],
            "photo_london_part_iou_halves": {src: {h: mean[h][src]["mean"] for h in halves} for src in srcs}}
    parts = list(held["parser"])
    rows = [f"| {src} | " + " | ".join(f"{held[src][p]:.3f}" for p in parts) + " | "
            + " | ".join(f"{mean[h][src]['mean']:.3f}" for h in halves if h != "held out (odd ids)") + " |"
            for src in srcs]
    md = ("### Part masks on the London portraits\n\n"
          f"IoU per part in the pipeline's 224² face crop against the London part masks, on the "
          f"{sum(halves['held out (odd ids)'])} odd-numbered people (held out: the polygon rules and the parser "
          "trust test were chosen on the even-numbered people and synthetic validation views); polygon-filled "
          "from the human FRL-189 template, so boundaries are coarse; 'mouth' = both lips and the opening, "
          "'skin' = inside the face outline up to the hairline minus the other parts. 'parser': the parser "
          "head of models/photo_regressor.pt (trained on FaceKit renders only); 'landmarks': the polygons of the "
          "468 MediaPipe points with the per-part rules (core/photo/parts2d.py); 'combined': the pipeline's "
          "default, the parser's masks where its brows pass the domain test, else the polygons "
          "(`parts2d.combine_masks`; no training on these photos). The last columns are the mean on the "
          "selection half and on all people.\n\n"
          "| masks | " + " | ".join(parts) + " | selection mean | all mean |\n|---|" + "---|" * (len(parts) + 2)
          + "\n" + "\n".join(rows) + "\n")
    return keys, md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=1, help="use every K-th portrait (quick looks)")
    ap.add_argument("--sheet", type=Path, help="also write a contact sheet of the worst cases (PNG)")
    args = ap.parse_args(argv)
    root = real_root()
    if root is None:
        return 0
    stats, examples = run_detection(root, args.every, keep=2 if args.sheet else 0)
    if args.sheet:
        contact_sheet(examples, args.sheet)
    print(json.dumps(summarise(stats)[0]))
    print(summarise(stats)[1])
    keys, md = part_iou(root, args.every)
    print(json.dumps(keys))
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
