"""Docs picture of the face detector's hard cases on scikit-image's astronaut.png (NASA, public domain):
docs/img/photo_detect_cases.png. The same transforms and contact-sheet drawing as the real-photo benchmark
(tests/bench/real_photo_detect.py), which runs them on the London portraits; those stay out of the repository.

    .venv/bin/python tools/render_detect_cases.py [--out docs/img/photo_detect_cases.png]
"""
from __future__ import annotations

import argparse
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "bench"))

import photo_transforms as T  # noqa: E402
from real_photo_detect import check_photo, contact_sheet, eye_centres, sheet_entry  # noqa: E402

from face_addon.core.photo.face_mesh import detect  # noqa: E402
from face_addon.core.photo.image_io import load_photo  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "photo_detect_cases.png")
    args = ap.parse_args(argv)
    img = load_photo(Path(find_spec("skimage").submodule_search_locations[0]) / "data" / "astronaut.png")
    face = detect(img)[0].points
    eyes = eye_centres(face)
    side = float(np.ptp(face[:, :2], 0).max())
    cases = {"rotated 180°": T.rot90(2), "rotated 135°": T.rotate(135),
             "face cut by frame": T.square_crop(face[:, :2], 0.75),
             "small tilted archive": T.compose(T.old_photo, T.small_face(side, 0.1), T.rotate(-20))}
    entries = []
    for name, f in cases.items():
        timg, tp = f(img, eyes)
        entries.append(sheet_entry(name, "astronaut", check_photo(timg, tp), timg, tp))
    contact_sheet(entries, args.out)
    from PIL import Image

    sheet = Image.open(args.out).convert("RGB")  # 128 colours: a quarter of the bytes, same look
    sheet.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
