"""MediaPipe's attention face mesh against the plain 468-point one on real data, in one run (issues 17/18).

    nice -n 10 .venv/bin/python tests/bench/real_attention_mesh.py      # writes results/attention_mesh.{json,md}

- London (102 neutral photos, CC BY 4.0): NME over the 44 mapped iBUG points (outer inter-ocular distance), all
  and per region, for `detect(model=...)` with three 468 -> 68 maps: the index table (no fitting), the shipped
  calibrated map (fitted on the plain mesh's points of all 102 people: for "mesh" that is its training data,
  not a test result) and the calibrated map refitted on each model's own points by 5-fold over people (the
  shipped settings K=12, ridge 1e-4; a held-out result for both).
- Artec (15 face scans, hand-clicked points, internal evaluation only: nothing is fitted to them): the 10
  comparable points per region from `landmarks_views.landmarks_from_views` with each mesh model, the same face
  frame for both, and the CPU seconds per scan.
- Reconstruct from Photo with each model as the face mesh's default (`face_mesh.DEFAULT_MODEL`): the fit's
  reprojected-landmark NME on the 102 neutral photos (as real_photo.py), the smile pairs, the expression
  means and the CPU seconds per reconstruction.
- Time of one mesh inference (a 192×192 crop, one thread), both models interleaved in the same run.
- Picture: out/real_pictures/attention_mesh.png (not in git), both meshes' eye and lip points on London 001.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from real_data import picture_note, picture_path, real_root
from real_landmarks import ARTEC_PAIRS, artec_scans, errors_mm, summary

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("mesh", "attention")
REGIONS = {"eyes": range(36, 48), "mouth": range(48, 68), "brows": range(17, 27), "nose": range(27, 36),
           "chin": (8,)}
#: the shipped calibrated map's settings (models/ibug_map.json), used to refit it per model
MAP_K, MAP_LAM = 12, 1e-4
TIMING_REPEATS = 20


def london(root: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """NME % per model and map, all and per region; also the points per model for the picture."""
    from face_addon.core.photo import PhotoError, image_io
    from face_addon.core.photo.face_mesh import detect
    from face_addon.core.photo.ibug_map import load_weights, table_weights
    from face_addon.train.ibug_map import cross_validate, mediapipe_mirror, normalise, point_errors
    from face_addon.train.london import load_landmarks, photo_path

    lm = load_landmarks(root)
    points, seconds = {}, {}
    for model in MODELS:
        pts, t0 = [], time.process_time()
        for person in lm.ids:
            try:
                pts.append(detect(image_io.load_photo(photo_path(root, person)), model=model)[0].points)
            except PhotoError:
                pts.append(np.full((468, 3), np.nan))
        points[model], seconds[model] = np.stack(pts), (time.process_time() - t0) / len(lm.ids)
    keep = np.flatnonzero(np.all([np.isfinite(p[:, 0, 0]) for p in points.values()], 0))
    out = {"people": len(keep), "detect_cpu_s_per_photo": {m: round(s, 3) for m, s in seconds.items()}}
    for model, mp in points.items():
        mirror = mediapipe_mirror(normalise(mp[keep, :, :2])[0].mean(0))
        errs = {"index table": point_errors(table_weights(), mp, lm, keep),
                "shipped map (fitted on 'mesh')": point_errors(load_weights(), mp, lm, keep),
                "map refitted, 5-fold": cross_validate(mp, lm, keep, MAP_K, MAP_LAM, mirror)}
        out[model] = {name: _regions(e, lm.ibug) for name, e in errs.items()}
    return out, points


def _regions(err: np.ndarray, ibug: np.ndarray) -> dict:
    """{'all': NME %, region: NME %} of (people, 44) errors."""
    out = {"all": round(100 * float(err.mean()), 3)}
    for name, idx in REGIONS.items():
        cols = np.isin(ibug, list(idx))
        if cols.any():
            out[name] = round(100 * float(err[:, cols].mean()), 3)
    return out


def photo_pipeline(root: Path) -> dict:
    """Per model: the fit's NME % (all and per region), the expression keys of real_photo.measure_expressions
    and the median CPU seconds of one reconstruction, with that model as the face mesh's default."""
    from real_photo import London, measure_expressions, reprojected_landmarks

    from face_addon.core.photo import face_mesh
    from face_addon.train.london import load_info, load_landmarks

    lm = load_landmarks(root)
    out = {}
    for model in MODELS:
        face_mesh.DEFAULT_MODEL = model
        ctx = London(root, lm, load_info(root))
        pred, cpu = [], []
        for person in lm.ids:
            t0 = time.process_time()
            pred.append(reprojected_landmarks(ctx.reconstruct(person)))
            cpu.append(time.process_time() - t0)
        err = np.linalg.norm(np.stack(pred)[:, lm.ibug] - lm.points, axis=-1) / lm.inter_ocular()[:, None]
        expressions, _ = measure_expressions(ctx)
        out[model] = {"fit_nme": _regions(err, lm.ibug), "expressions": expressions,
                      "reconstruct_cpu_s_median": round(float(np.median(cpu)), 2)}
        print(model, out[model], flush=True)
    face_mesh.DEFAULT_MODEL = "mesh"
    return out


def artec(root: Path) -> dict:
    """Per model: the 10-point summary (mm) and mean CPU seconds per scan of the view-based landmarks."""
    from face_addon.core.geometry.scan_render import ScanSurface
    from face_addon.core.pipelines import landmarks_views as lv
    from face_addon.core.pipelines.face_orientation import find_face_frame

    errs = {m: [] for m in MODELS}
    secs = {m: [] for m in MODELS}
    rows = []
    for name, mesh, truth in artec_scans(root):
        surface = ScanSurface.of(mesh.vertices, mesh.faces, cavity=True)
        frame = find_face_frame(mesh.vertices, mesh.faces, surface=surface)
        line = [name]
        for model in MODELS:
            t0 = time.process_time()
            found = lv.landmarks_from_views(surface, frame, mesh_model=model) if frame is not None else None
            secs[model].append(time.process_time() - t0)
            e = errors_mm(found.points, truth, ARTEC_PAIRS) if found is not None else np.full(len(ARTEC_PAIRS), np.nan)
            errs[model].append(e)
            line.append(f"{np.nanmean(e):.2f}")
        rows.append(line)
        print(" ".join(line), flush=True)
    return {"per_model": {m: {**summary(np.array(errs[m]), ARTEC_PAIRS),
                              "cpu_s_per_scan": round(float(np.mean(secs[m])), 2)} for m in MODELS},
            "per_scan": rows}


def inference_time() -> dict:
    """Median CPU seconds of one mesh inference per model (same crop, interleaved) and the ratio."""
    import torch

    from face_addon.core.photo.face_mesh import _mesh

    crop = torch.rand(1, 192, 192, 3, generator=torch.Generator().manual_seed(0))
    runs = {m: [] for m in MODELS}
    for m in MODELS:
        _mesh(m)[0](crop)  # build and warm up
    for _ in range(TIMING_REPEATS):
        for m in MODELS:
            t0 = time.process_time()
            _mesh(m)[0](crop)
            runs[m].append(time.process_time() - t0)
    med = {m: float(np.median(v)) for m, v in runs.items()}
    return {"median_ms": {m: round(1e3 * v, 2) for m, v in med.items()},
            "ratio_attention_to_mesh": round(med["attention"] / med["mesh"], 2)}


def picture(root: Path, points: dict[str, np.ndarray], person: int = 0) -> str:
    """Both models' lip and eye points on one London photo: the whole face and 3× crops of an eye and the mouth."""
    from PIL import Image, ImageDraw

    from face_addon.core.photo.image_io import load_photo
    from face_addon.core.photo.mediapipe_assets import load_model
    from face_addon.train.london import load_landmarks, photo_path

    lm = load_landmarks(root)
    img = (load_photo(photo_path(root, lm.ids[person])) * 255).astype(np.uint8)
    refinement = load_model("attention")[0]["refinement"]
    contours = [r["subset"][:40] if len(r["subset"]) == 80 else r["subset"][:16] for r in refinement[:3]]
    refined = sorted({i for c in contours for i in c})  # lip outer + inner lines, the two eyelid contours
    colours = {"mesh": (255, 60, 60), "attention": (60, 255, 60)}
    panels = []
    mp = {m: p[person, :, :2] for m, p in points.items()}
    centres = {"face": mp["mesh"].mean(0), "right eye": mp["mesh"][[33, 133]].mean(0),
               "mouth": mp["mesh"][[61, 291]].mean(0)}
    eye_dist = np.linalg.norm(mp["mesh"][33] - mp["mesh"][263])
    for name, c in centres.items():
        half = 1.3 * eye_dist if name == "face" else 0.3 * eye_dist
        box = (int(c[0] - half), int(c[1] - half), int(c[0] + half), int(c[1] + half))
        scale = 480 / (2 * half)
        panel = Image.fromarray(img).crop(box).resize((480, 480), Image.BILINEAR)
        draw = ImageDraw.Draw(panel)
        for model, col in colours.items():
            for x, y in (mp[model][refined] - box[:2]) * scale:
                draw.ellipse((x - 3, y - 3, x + 3, y + 3), outline=col, width=2)
        for x, y in lm.points[person] - np.array(box[:2]):
            x, y = x * scale, y * scale
            draw.line((x - 4, y, x + 4, y), fill=(255, 255, 0))
            draw.line((x, y - 4, x, y + 4), fill=(255, 255, 0))
        draw.text((6, 6), f"{name}: red mesh, green attention, yellow + human", fill=(255, 255, 255))
        panels.append(panel)
    sheet = Image.new("RGB", (480 * len(panels), 480))
    for k, p in enumerate(panels):
        sheet.paste(p, (480 * k, 0))
    sheet.save(picture_path("attention_mesh.png"))
    return picture_note("attention_mesh.png", "London 001, the lip lines and eyelid contours of both meshes")


def markdown(keys: dict, note: str) -> str:
    lon, art, tim = keys["london"], keys["artec"], keys["inference"]
    lines = ["# Attention face mesh vs the plain mesh (same run)", "",
             "Command: `nice -n 10 .venv/bin/python tests/bench/real_attention_mesh.py` (one thread).", "",
             f"## London, {lon['people']} neutral photos: NME % over the 44 mapped iBUG points", "",
             "| model | map | all | eyes | mouth | brows | nose | chin |", "|---|---|---|---|---|---|---|---|"]
    for m in MODELS:
        for name, r in lon[m].items():
            lines.append(f"| {m} | {name} | " + " | ".join(f"{r[k]:.2f}" for k in
                                                        ("all", "eyes", "mouth", "brows", "nose", "chin")) + " |")
    lines += ["", "The shipped map was fitted on the plain mesh's points of these photos: its 'mesh' row is training "
              "data, not a test result; the index table and the 5-fold refit are held-out for both models.", "",
              f"detect() CPU s per photo: {lon['detect_cpu_s_per_photo']}", "",
              "## Artec, 15 scans: view-based landmarks, 10 points (mm)", "",
              "| model | mean | eyes | nose | mouth | chin | CPU s per scan |", "|---|---|---|---|---|---|---|"]
    for m, r in art["per_model"].items():
        lines.append(f"| {m} | {r['mean']:.2f} | {r['eyes']:.2f} | {r['nose']:.2f} | {r['mouth']:.2f} | "
                     f"{r['chin']:.2f} | {r['cpu_s_per_scan']:.2f} |")
    lines += ["", "| scan | " + " | ".join(MODELS) + " |", "|---|" + "---|" * len(MODELS)]
    lines += [f"| {' | '.join(r)} |" for r in art["per_scan"]]
    lines += ["", "## Reconstruct from Photo with each model as the default (London, 102 people)", "",
              "| model | fit NME all | eyes | mouth | smile pairs ok | neutral mouthSmile | eyeBlink neutral / "
              "smiling | CPU s per photo |", "|---|---|---|---|---|---|---|---|"]
    for m, r in keys["photo_pipeline"].items():
        e = r["expressions"]
        lines.append(f"| {m} | {r['fit_nme']['all']:.2f} | {r['fit_nme']['eyes']:.2f} | {r['fit_nme']['mouth']:.2f} "
                     f"| {100 * e['photo_smile_pairs_ok']:.0f} % | {e['photo_neutral_mouth_smile']:.3f} | "
                     f"{e['photo_neutral_eye_blink']:.3f} / {e['photo_smiling_eye_blink']:.3f} | "
                     f"{r['reconstruct_cpu_s_median']:.2f} |")
    lines += ["", "The fit maps the mesh with the shipped map, fitted on the plain mesh's points of these photos: "
              "training data for the 'mesh' row, a mismatched map for 'attention'.", "",
              f"## One mesh inference (192×192, one thread, median of {TIMING_REPEATS})", "",
              f"{tim['median_ms']} ms; attention / mesh = {tim['ratio_attention_to_mesh']}", "", note, ""]
    return "\n".join(lines)


def main() -> int:
    import torch

    root = real_root()
    if root is None:
        return 0
    torch.set_num_threads(1)
    keys = {"inference": inference_time()}
    keys["london"], points = london(root)
    note = picture(root, points)
    keys["artec"] = artec(root)
    keys["photo_pipeline"] = photo_pipeline(root)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "attention_mesh.json").write_text(json.dumps(keys, indent=1) + "\n")
    (RESULTS / "attention_mesh.md").write_text(markdown(keys, note))
    print(markdown(keys, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
