"""London portraits turned in the image plane: does Pixel2Mesh-face give the upright photo's mesh?

Pixel2Mesh's mesh has no landmarks (a deformed hemisphere), so the measure is its agreement with itself: each of
the first PEOPLE neutral portraits is turned counter-clockwise by each of ANGLES (`photo_transforms.rotate`,
canvas grown, grey fill); the turned photo's mesh, projected through its own camera and turned back, is compared
vertex by vertex with the upright photo's projection (mean distance, % of the annotated outer inter-ocular
distance), and its 3D vertices (model space) with the upright ones (mean distance, mm). Nothing is chosen on
these numbers. A picture (one person at 0/90/180/270°, every 8th vertex drawn in red on the photo, the annotated
points in green) goes to out/real_pictures/.

    nice -n 10 .venv/bin/python tests/bench/real_pixel2mesh_rotated.py [--people N]
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
from face_addon.train.london import load_landmarks, photo_path  # noqa: E402

PEOPLE = 4
ANGLES = (90, 180, 270)


def projected(rec) -> np.ndarray:
    """(n, 2) the mesh's vertices in the photo's pixels through the result's camera."""
    q = (rec.vertices @ rec.rotation.T + rec.translation) @ rec.K.T
    return q[:, :2] / q[:, 2:]


def turned_back(xy: np.ndarray, degrees: float, src_shape: tuple, dst_shape: tuple) -> np.ndarray:
    """Pixels of the photo turned by `rotate(degrees)` -> the upright photo's pixels."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    src_c = (np.array(src_shape[1::-1]) - 1) / 2
    dst_c = (np.array(dst_shape[1::-1]) - 1) / 2
    return (xy - dst_c) @ np.array([[c, s], [-s, c]]) + src_c


def measure(root: Path, n_people: int = PEOPLE) -> tuple[dict, str]:
    from PIL import Image

    from face_addon.core.pipelines.pixel2mesh_photo import reconstruct_pixel2mesh

    lm = load_landmarks(root)
    people, norm = lm.ids[:n_people], lm.inter_ocular()[:n_people]
    px = {d: [] for d in ANGLES}
    mm = {d: [] for d in ANGLES}
    tiles = []
    for i, person in enumerate(people):
        img = load_photo(photo_path(root, person))
        up = reconstruct_pixel2mesh(img)
        up_xy = projected(up)
        if i == 0:
            tiles.append(_tile(img, up_xy, lm.points[0], norm[0]))
        for deg in ANGLES:
            turned, pts = rotate(deg)(img, lm.points[i])
            rec = reconstruct_pixel2mesh(turned)
            back = turned_back(projected(rec), deg, img.shape, turned.shape)
            px[deg].append(float(np.linalg.norm(back - up_xy, axis=1).mean() / norm[i]))
            mm[deg].append(float(1000 * np.linalg.norm(rec.vertices - up.vertices, axis=1).mean()))
            if i == 0:
                tiles.append(_tile(turned, projected(rec), pts, norm[0]))
    sheet = Image.new("RGB", (400 * len(tiles), 400))
    for k, t in enumerate(tiles):
        sheet.paste(t, (400 * k, 0))
    out = picture_path("pixel2mesh_london_rotated.png")
    sheet.save(out, optimize=True)
    keys = {"p2m_london_rotated_projection_pct": {str(d): round(100 * float(np.mean(px[d])), 2) for d in ANGLES},
            "p2m_london_rotated_vertex_mm": {str(d): round(float(np.mean(mm[d])), 2) for d in ANGLES},
            "p2m_london_rotated_people": len(people)}
    md = (f"### Pixel2Mesh on portraits turned in the image plane\n\nThe first {len(people)} London people; the "
          "turned photo's mesh against the upright photo's: projection (turned back) % of the inter-ocular "
          "distance, model-space vertices mm.\n\n| turn | " + " | ".join(f"{d}°" for d in ANGLES)
          + " |\n|---|" + "---|" * len(ANGLES) + "\n| projection % | "
          + " | ".join(f"{keys['p2m_london_rotated_projection_pct'][str(d)]:.2f}" for d in ANGLES)
          + " |\n| vertices mm | " + " | ".join(f"{keys['p2m_london_rotated_vertex_mm'][str(d)]:.2f}" for d in ANGLES)
          + " |\n\n" + picture_note(out.name, f"London {people[0]} at 0, 90, 180, 270°: mesh vertices red, "
                                              "annotation green"))
    return keys, md


def _tile(img: np.ndarray, mesh_xy: np.ndarray, pts: np.ndarray, eye_dist: float):
    """A 400² crop about the annotated face with every 8th mesh vertex (red) and the annotation (green)."""
    from PIL import Image, ImageDraw

    pil = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for x, y in mesh_xy[::8]:
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=(230, 0, 0))
    for x, y in pts:
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=(0, 220, 0))
    c, half = pts.mean(0), 1.6 * eye_dist
    return pil.crop((int(c[0] - half), int(c[1] - half), int(c[0] + half), int(c[1] + half))).resize((400, 400))


def main(argv: list[str] | None = None) -> int:
    return people_script(__doc__, measure, PEOPLE, argv)


if __name__ == "__main__":
    raise SystemExit(main())
