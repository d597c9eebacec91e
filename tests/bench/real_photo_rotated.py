"""London portraits turned in the image plane: does Reconstruct from Photo give the upright photo's head?

Part of the photo section of the real-data benchmark (real_photo.py). The first PEOPLE neutral portraits turned
counter-clockwise by each of ANGLES (`photo_transforms.rotate`, canvas grown, grey fill) are reconstructed with
the default fit; `photo_london_nme_rotated` is the NME (%, the 44 mapped iBUG points, outer inter-ocular) of the
reprojected landmarks in the turned photo against the turned annotation, per angle (0 = the photos as they
are). `photo_smile_pairs_ok_rotated`: the share of the same people whose smiling photo's mouthSmileLeft+Right
exceeds the neutral one's by more than real_photo.SMILE_MARGIN when both are turned by the same angle
(SMILE_ANGLES); `photo_neutral_mouth_smile_rotated`: the neutral photos' mean mouthSmile (L+R)/2 there;
`photo_rotated_people`: how many people. Nothing
was chosen on these numbers (the crop's turn follows the detected eye line; its only setting, ROLL_KEPT = 10°, is
the training renders' camera roll).

    flock /tmp/real_bench.lock nice -n 10 .venv/bin/python tests/bench/bench_real.py --part photo
    nice -n 10 .venv/bin/python tests/bench/real_photo_rotated.py [--people N]    # this measurement alone
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from photo_transforms import rotate  # noqa: E402
from real_data import people_script, picture_note, picture_path  # noqa: E402

from face_addon.core.photo.image_io import load_photo  # noqa: E402
from face_addon.train.london import load_info, load_landmarks, photo_path  # noqa: E402

PEOPLE = 12  # 8 reconstructions each (~40 s CPU): the whole photo part stays affordable on a shared machine
ANGLES = (0, 30, 90, 180, 270)
SMILE_ANGLES = (90, 180)
PICTURE_ANGLES = (30, 90, 180, 270)


def turned_reconstruction(ctx, person: str, which: str, degrees: int) -> tuple:
    """(reconstruction, (44, 2) the person's neutral annotation turned alike) of London `person`'s `which` photo
    turned by `degrees`; cached in the context beside its upright reconstructions (0° is `ctx.reconstruct`)."""
    from face_addon.core.pipelines.reconstruct_photo import reconstruct_photo

    row = ctx.lm.ids.index(person)
    if degrees == 0:
        return ctx.reconstruct(person, which), ctx.lm.points[row]
    key = (person, which, "fit", degrees)
    if key not in ctx.cache:
        img, pts = rotate(degrees)(load_photo(photo_path(ctx.root, person, which)), ctx.lm.points[row])
        ctx.cache[key] = reconstruct_photo(img), pts
    return ctx.cache[key]


def measure_rotated(ctx, n_people: int = PEOPLE) -> tuple[dict, str]:
    from real_photo import SMILE_MARGIN, _smile, reprojected_landmarks

    people = ctx.lm.ids[:n_people]
    norm = ctx.lm.inter_ocular()[:n_people]
    nme = {}
    for deg in ANGLES:
        err = []
        for i, p in enumerate(people):
            rec, pts = turned_reconstruction(ctx, p, "neutral", deg)
            err.append(np.linalg.norm(reprojected_landmarks(rec)[ctx.lm.ibug] - pts, axis=1).mean() / norm[i])
        nme[str(deg)] = round(100 * float(np.mean(err)), 3)
    ok, neutral_smile = {}, {}
    for deg in (0, *SMILE_ANGLES):
        n = np.array([_smile(turned_reconstruction(ctx, p, "neutral", deg)[0]) for p in people])
        s = np.array([_smile(turned_reconstruction(ctx, p, "smiling", deg)[0]) for p in people])
        ok[str(deg)] = round(float(np.mean(s - n > SMILE_MARGIN)), 3)
        neutral_smile[str(deg)] = round(float(n.mean() / 2), 3)
    keys = {"photo_london_nme_rotated": nme, "photo_smile_pairs_ok_rotated": ok,
            "photo_neutral_mouth_smile_rotated": neutral_smile, "photo_rotated_people": len(people)}
    picture = render_turned(ctx, people[0], picture_path("photo_london_rotated.png"))
    md = (f"### Portraits turned in the image plane\n\nThe first {n_people} London people, photos turned "
          "counter-clockwise (canvas grown), default fit; NME % in the turned photo against the turned "
          "annotation; smile pairs and neutral mouthSmile with both photos of a pair turned alike.\n\n"
          "| turn | " + " | ".join(f"{d}°" for d in ANGLES) + " |\n|---|" + "---|" * len(ANGLES) + "\n"
          "| NME % | " + " | ".join(f"{nme[str(d)]:.2f}" for d in ANGLES) + " |\n"
          "| smile pairs ok | " + " | ".join(f"{100 * ok[str(d)]:.0f} %" if str(d) in ok else "" for d in ANGLES)
          + " |\n| neutral mouthSmile | " + " | ".join(f"{neutral_smile[str(d)]:.3f}" if str(d) in ok else ""
                                                      for d in ANGLES) + " |\n\n"
          + picture_note(picture.name, f"London {people[0]} turned by {', '.join(map(str, PICTURE_ANGLES))}°: "
                         "annotation green, reprojected landmarks red, the facial-skin wireframe yellow"))
    return keys, md


def render_turned(ctx, person: str, out: Path) -> Path:
    """One row: `person`'s neutral photo at each of PICTURE_ANGLES with its reconstruction drawn on it."""
    from PIL import Image, ImageDraw
    from real_photo import draw_reconstruction

    half = 1.1 * ctx.lm.inter_ocular()[ctx.lm.ids.index(person)]
    tiles = []
    for deg in PICTURE_ANGLES:
        rec, pts = turned_reconstruction(ctx, person, "neutral", deg)
        img, _ = rotate(deg)(load_photo(photo_path(ctx.root, person)), pts[:0])
        pil = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
        draw_reconstruction(ImageDraw.Draw(pil, "RGBA"), rec, [(pts, (0, 220, 0))], ctx.lm.ibug)
        c = pts.mean(0)
        tiles.append(pil.crop((int(c[0] - half), int(c[1] - half), int(c[0] + half), int(c[1] + half)))
                     .resize((400, 400)))
    sheet = Image.new("RGB", (400 * len(tiles), 400))
    for k, t in enumerate(tiles):
        sheet.paste(t, (400 * k, 0))
    sheet.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    from real_photo import London

    return people_script(__doc__, lambda root, n: measure_rotated(London(root, load_landmarks(root), load_info(root)),
                                                                  n), PEOPLE, argv)


if __name__ == "__main__":
    raise SystemExit(main())
