"""Real-photo part of the real-data benchmark (bench_real.py): Reconstruct from Photo on the London set.

Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0, doi:10.6084/m9.figshare.5047666.v5).
- `photo_london_nme`: NME (mean error over the 44 iBUG points the set's approximate map covers, divided by the
  annotation's outer eye-corner distance) of the reconstruction's reprojected 68 landmarks (`fit`, `regressor`)
  and of the detector's 468 points (the pipeline's face mesh, `reconstruct_photo.MESH_MODEL`) mapped by that
  model's map in `core/photo/ibug_map.py` (`mediapipe`), over the 102 neutral
  photos, per gender and ethnicity (london_info.csv), and on the two halves of the people (settings of the
  fit and the map were chosen on the first half / people 001-008 only).
- `photo_smile_pairs_ok`: share of people whose smiling photo (NNN_08) has mouthSmileLeft+Right more than 0.1
  above their neutral one's (NNN_03); `photo_neutral_mouth_smile`: mean mouthSmile (L+R)/2 on neutral photos.
- `photo_smile_pairs_ok_split`: the same on the first 24 people (looked at while developing the expression
  reading) and on the other 78; `photo_{neutral,smiling}_{jaw_open,eye_blink}`: mean units.
- `photo_london_nme_rotated`, `photo_smile_pairs_ok_rotated`, `photo_neutral_mouth_smile_rotated`: the first
  12 people's portraits turned in the image plane (0-270°), see real_photo_rotated.py.
- `photo_fit_seconds`: median fit wall time on one thread; `photo_reconstruct_cpu_seconds`: CPU time of the
  whole reconstruction on one thread (the machine is shared, so wall time depends on the load).
Each measurement is one function taking the shared `London` context, so other photo measurements (part IoU,
detection misses) add a function and a line in `run`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from real_data import picture_note, picture_path

from face_addon.core.photo.ibug_map import mediapipe_to_ibug68
from face_addon.train.london import LondonLandmarks, load_info, load_landmarks, mediapipe_points, photo_path

SMILE_MARGIN = 0.1


@dataclass
class London:
    """The set and the reconstructions computed once for all measurements (`reconstruct` caches)."""

    root: Path
    lm: LondonLandmarks
    info: dict[str, dict[str, str]]
    cache: dict = field(default_factory=dict)

    def reconstruct(self, person: str, which: str = "neutral", method: str = "fit"):
        from face_addon.core.pipelines.reconstruct_photo import reconstruct_photo

        key = (person, which, method)
        if key not in self.cache:
            self.cache[key] = reconstruct_photo(photo_path(self.root, person, which), method=method)
        return self.cache[key]


def reprojected_landmarks(rec) -> np.ndarray:
    """(68, 2) the reconstruction's FaceKit landmarks projected into the photo."""
    from face_addon.core.facekit import load_facekit

    cam = load_facekit().landmarks(rec.vertices) @ rec.rotation.T + rec.translation
    q = cam @ rec.K.T
    return q[:, :2] / q[:, 2:]


def mapped_detections(ctx: London) -> np.ndarray:
    """(people, 68, 2) the pipeline's face-mesh points of the neutral photos mapped by that model's iBUG map."""
    from face_addon.core.pipelines.reconstruct_photo import MESH_MODEL

    points = mediapipe_points(ctx.root, ctx.lm.ids, model=MESH_MODEL)[..., :2]
    return mediapipe_to_ibug68(points, mesh_model=MESH_MODEL)


def _nme(pred: np.ndarray, lm: LondonLandmarks, rows: np.ndarray) -> np.ndarray:
    return np.linalg.norm(pred[:, lm.ibug] - lm.points[rows], axis=-1).mean(1) / lm.inter_ocular()[rows]


def measure_nme(ctx: London) -> tuple[dict, str]:
    lm, rows = ctx.lm, np.arange(len(ctx.lm.ids))
    per = {"mediapipe": _nme(mapped_detections(ctx), lm, rows)}
    for method in ("fit", "regressor"):
        per[method] = _nme(np.stack([reprojected_landmarks(ctx.reconstruct(p, method=method)) for p in lm.ids]),
                           lm, rows)
    groups = {"all": rows, "half_1 (001-)": rows[: len(rows) // 2], "half_2": rows[len(rows) // 2:]}
    for key in ("gender", "ethnicity"):
        for val in sorted({ctx.info[p][key] for p in lm.ids}):
            groups[f"{key}={val}"] = np.array([i for i, p in enumerate(lm.ids) if ctx.info[p][key] == val])
    out = {m: {g: round(100 * float(v[idx].mean()), 3) for g, idx in groups.items()} for m, v in per.items()}
    lines = ["| group | n | fit | regressor | mediapipe (mapped) |", "|---|---|---|---|---|"]
    lines += [f"| {g} | {len(idx)} | {out['fit'][g]:.2f} | {out['regressor'][g]:.2f} | {out['mediapipe'][g]:.2f} |"
              for g, idx in groups.items()]
    md = "NME % over the 44 mapped iBUG points (outer inter-ocular), London neutral photos:\n\n" + "\n".join(lines)
    return {"photo_london_nme": out}, md


DEV_PEOPLE = 24  # the first 24 people were looked at while developing the expression reading and the detail


def _units(rec, *names: str) -> float:
    from face_addon.core.facekit import load_facekit

    exp_names = load_facekit().exp_names
    return float(sum(rec.alpha_exp[exp_names.index(n)] for n in names))


def _smile(rec) -> float:
    return _units(rec, "mouthSmileLeft", "mouthSmileRight")


def measure_expressions(ctx: London) -> tuple[dict, str]:
    neutral = np.array([_smile(ctx.reconstruct(p)) for p in ctx.lm.ids])
    smiling = np.array([_smile(ctx.reconstruct(p, "smiling")) for p in ctx.lm.ids])
    ok = smiling - neutral > SMILE_MARGIN
    other = {f"photo_{which}_{key}": round(float(np.mean([_units(ctx.reconstruct(p, which), *names) / len(names)
                                                           for p in ctx.lm.ids])), 3)
             for which in ("neutral", "smiling")
             for key, names in (("jaw_open", ("jawOpen",)), ("eye_blink", ("eyeBlinkLeft", "eyeBlinkRight")))}
    keys = {"photo_smile_pairs_ok": round(float(ok.mean()), 3),
            "photo_smile_pairs_ok_split": {"dev_first_24": round(float(ok[:DEV_PEOPLE].mean()), 3),
                                           "held_out_rest": round(float(ok[DEV_PEOPLE:].mean()), 3)},
            "photo_neutral_mouth_smile": round(float(neutral.mean() / 2), 3),
            "photo_smiling_mouth_smile": round(float(smiling.mean() / 2), 3), **other}
    md = (f"Smile recovered (NNN_08 mouthSmileL+R > NNN_03 + {SMILE_MARGIN}): {100 * ok.mean():.0f} % of "
          f"{len(ok)} pairs ({100 * ok[:DEV_PEOPLE].mean():.0f} % of the first {DEV_PEOPLE} people, looked at "
          f"while developing; {100 * ok[DEV_PEOPLE:].mean():.0f} % of the other {len(ok) - DEV_PEOPLE}); mean "
          f"mouthSmile neutral {keys['photo_neutral_mouth_smile']:.3f}, smiling "
          f"{keys['photo_smiling_mouth_smile']:.3f}; jawOpen {other['photo_neutral_jaw_open']:.3f} / "
          f"{other['photo_smiling_jaw_open']:.3f}, eyeBlink {other['photo_neutral_eye_blink']:.3f} / "
          f"{other['photo_smiling_eye_blink']:.3f} (neutral / smiling).")
    return keys, md


def measure_time(ctx: London, n: int = 5) -> tuple[dict, str]:
    """Fit wall time and the whole reconstruction's CPU time (detection, regressor, fit, expression, detail) on
    one thread: on the shared machine the wall time mostly measures the other processes, the CPU time what one
    quiet core would need."""
    import os
    import time

    from face_addon.core.pipelines.reconstruct_photo import reconstruct_photo

    wall, cpu = [], []
    for p in ctx.lm.ids[:n]:
        c = time.process_time()
        wall.append(reconstruct_photo(photo_path(ctx.root, p)).timings["fit"])
        cpu.append(time.process_time() - c)
    keys = {"photo_fit_seconds": round(float(np.median(wall)), 2),
            "photo_reconstruct_cpu_seconds": round(float(np.median(cpu)), 2)}
    load = os.getloadavg()[0]
    return keys, (f"Time on one thread (median of {n}): fit {keys['photo_fit_seconds']:.2f} s wall; the whole "
                  f"reconstruction {keys['photo_reconstruct_cpu_seconds']:.2f} s CPU (load average {load:.1f} "
                  f"on {os.cpu_count()} cores).")


def measure_detection(ctx: London) -> tuple[dict, str]:
    """`photo_detect_misses`: the London portraits and their transformed copies (real_photo_detect.py)."""
    from real_photo_detect import detect_misses

    return detect_misses(ctx.root)


def measure_parts(ctx: London) -> tuple[dict, str]:
    """`photo_london_part_iou`: parser and landmark part masks against the London part masks."""
    from real_photo_detect import part_iou

    return part_iou(ctx.root)


def measure_turned(ctx: London) -> tuple[dict, str]:
    """`photo_london_nme_rotated`, `photo_smile_pairs_ok_rotated`: portraits turned in the image plane
    (real_photo_rotated.py)."""
    from real_photo_rotated import measure_rotated

    return measure_rotated(ctx)


MEASUREMENTS = (measure_nme, measure_expressions, measure_time, measure_detection, measure_parts, measure_turned)


def run(root: Path) -> tuple[dict, str]:
    import torch

    torch.set_num_threads(1)
    ctx = London(root, load_landmarks(root), load_info(root))
    keys, sections = {}, []
    for measure in MEASUREMENTS:
        k, md = measure(ctx)
        keys.update(k)
        sections.append(md)
    people = overlay_people(ctx)
    picture = render_overlays(ctx, people, picture_path("photo_london.png"))
    sections.append(picture_note(picture.name, "London reconstructions") + f"\n\n*People {', '.join(people)} "
                    "(the first of each ethnicity group in london_info.csv), neutral (top: annotation green, the "
                    "detector's mapped points blue, the reconstruction's reprojected landmarks red) and smiling "
                    "(bottom), with the reconstruction's facial-skin wireframe (yellow). Face Research Lab London "
                    "Set, DeBruine & Jones 2017, CC BY 4.0.*")
    return keys, "## Photo (London set, CC BY 4.0, DeBruine & Jones 2017)\n\n" + "\n\n".join(sections)


def overlay_people(ctx: London) -> tuple[str, ...]:
    """The first person of each single ethnicity group (london_info.csv), in the groups' alphabetical order."""
    first: dict[str, str] = {}
    for p in ctx.lm.ids:
        first.setdefault(ctx.info[p]["ethnicity"], p)
    return tuple(first[g] for g in sorted(first) if "/" not in g)


def draw_reconstruction(draw, rec, points: list[tuple[np.ndarray, tuple[int, int, int]]], ibug: np.ndarray) -> None:
    """On a PIL ImageDraw of the reconstruction's photo: its facial-skin wireframe (yellow), the point sets
    `points` [(pts (n, 2), colour)] and its reprojected landmarks at the iBUG indices `ibug` (red)."""
    from face_addon.core.photo.face_surface import front_face_triangles

    edges = np.unique(np.sort(front_face_triangles()[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), 1), axis=0)
    q = (rec.vertices @ rec.rotation.T + rec.translation) @ rec.K.T
    uv = q[:, :2] / q[:, 2:]
    for a, b in edges:
        draw.line([tuple(uv[a]), tuple(uv[b])], fill=(255, 230, 0, 110), width=1)
    for pts, colour in [*points, (reprojected_landmarks(rec)[ibug], (255, 40, 40))]:
        for x, y in pts:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], outline=colour, width=2)


def render_overlays(ctx: London, people: tuple[str, ...], out: Path) -> Path:
    """Two rows of London photos (cropped to the face): neutral (top) with the human annotation (green), the
    detector's mapped points (blue) and the fit's reprojected landmarks (red); smiling (bottom). On both, the
    reconstruction's facial-skin wireframe (yellow) and its mouthSmile L/R, jawOpen, eyeBlink L/R."""
    from PIL import Image, ImageDraw

    from face_addon.core.facekit import load_facekit

    fk = load_facekit()
    units = [fk.exp_names.index(n) for n in ("mouthSmileLeft", "mouthSmileRight", "jawOpen", "eyeBlinkLeft",
                                              "eyeBlinkRight")]
    tiles = {"neutral": [], "smiling": []}
    for p in people:
        row = ctx.lm.ids.index(p)
        c = ctx.lm.points[row].mean(0)
        half = 1.1 * ctx.lm.inter_ocular()[row]
        for which in tiles:
            rec = ctx.reconstruct(p, which)
            img = Image.open(photo_path(ctx.root, p, which)).convert("RGB")
            points = []
            if which == "neutral":
                mp = mapped_detections(ctx)[row]
                points = [(ctx.lm.points[row], (0, 220, 0)), (mp[ctx.lm.ibug], (40, 120, 255))]
            draw_reconstruction(ImageDraw.Draw(img, "RGBA"), rec, points, ctx.lm.ibug)
            tile = img.crop((int(c[0] - half), int(c[1] - half), int(c[0] + half), int(c[1] + half))).resize((400, 400))
            ImageDraw.Draw(tile).text((6, 6), f"{p} {which} smile {rec.alpha_exp[units[0]]:.2f}/"
                                      f"{rec.alpha_exp[units[1]]:.2f} jaw {rec.alpha_exp[units[2]]:.2f} blink "
                                      f"{rec.alpha_exp[units[3]]:.2f}/{rec.alpha_exp[units[4]]:.2f}", fill=(255, 255, 255))
            tiles[which].append(tile)
    sheet = Image.new("RGB", (400 * len(people), 800))
    for r, which in enumerate(tiles):
        for k, t in enumerate(tiles[which]):
            sheet.paste(t, (400 * k, 400 * r))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)  # a quarter of the bytes
    return out
