"""Coarse-to-fine Pixel2Mesh-face renders (docs/img/pixel2mesh_stages.png): per test image a row of
[crop | stage 1..4 (141, 547, 2157, 8569 vertices) | final over the crop | truth], each mesh shaded by its
face normals and seen through the crop camera, plus the same from the side (rotated 70° about the vertical
axis through the face centre) so depth errors show. Real photos can be added with `--real` to look at.

    .venv/bin/python tools/render_pixel2mesh_stages.py [--test /work/data/photo/test] [--seeds 1000003 ...]
        [--real A.jpg ...] [--out docs/img/pixel2mesh_stages.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SIZE = 224


def shade(points: np.ndarray, faces: np.ndarray, yaw_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(grey image (SIZE, SIZE), mask) of crop-space points, optionally rotated about the face centre."""
    from face_addon.core.geometry.raster import rasterize

    p = points.copy()
    if yaw_deg:
        c = p.mean(0)
        a = np.radians(yaw_deg)
        rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        p = (p - c) @ rot.T + c
    uv = p[:, :2] * SIZE / 2 + SIZE / 2 - 0.5
    z = p[:, 2] + 10.0  # crop space depth, shifted positive (orthographic look for shading)
    r = rasterize(uv, z, faces, SIZE, SIZE)
    t = p[faces]
    n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    light = np.array([0.3, -0.4, -1.0]) / np.linalg.norm([0.3, -0.4, -1.0])
    lum = 0.2 + 0.8 * np.abs(n @ light)
    img = np.full((SIZE, SIZE), 0.15)
    m = r.mask
    img[m] = lum[r.tri[m]]
    return img, m


def row(crop: np.ndarray, stages: list[np.ndarray], faces: list[np.ndarray], truth: np.ndarray | None,
        truth_faces: np.ndarray) -> np.ndarray:
    tiles = [crop]
    for s, f in zip(stages, faces):
        g, _ = shade(s, f)
        tiles.append(np.repeat(g[..., None], 3, 2))
    g, m = shade(stages[-1], faces[-1])
    over = crop.copy()
    over[m] = 0.5 * crop[m] + 0.5 * np.array([0.4, 0.7, 1.0]) * g[m, None]
    tiles.append(over)
    for yaw in (70.0,):
        g, _ = shade(stages[-1], faces[-1], yaw)
        tiles.append(np.repeat(g[..., None], 3, 2))
    if truth is not None:
        for yaw in (0.0, 70.0):
            g, _ = shade(truth, truth_faces, yaw)
            tiles.append(np.repeat(g[..., None], 3, 2) * np.array([1.0, 0.9, 0.75]))
    else:
        tiles += [np.zeros_like(crop)] * 2
    return np.concatenate(tiles, 1)


def main() -> None:
    from PIL import Image

    from face_addon.core.dataset import read_png
    from face_addon.core.facekit import load_facekit
    from face_addon.core.photo.crop_space import CropCamera
    from face_addon.core.photo.face_surface import front_face_triangles
    from face_addon.core.photo.image_io import load_photo
    from face_addon.core.pipelines.pixel2mesh_photo import face_crop, load_model, predict_crop_space
    from face_addon.train.photo_data import true_camera_vertices

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test", default="/work/data/photo/test")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1000000, 1000001, 1000002, 1000003])
    ap.add_argument("--real", nargs="*", default=[])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default=str(REPO / "docs/img/pixel2mesh_stages.png"))
    args = ap.parse_args()
    net, meta = load_model(args.weights) if args.weights else load_model()
    faces = [lv.faces for lv in net.levels]
    fk = load_facekit()
    rows = []
    for seed in args.seeds:
        sample = Path(args.test) / f"{seed:07d}"
        img = read_png(sample / "views" / "00.png")[..., :3].astype(np.float32) / 255.0
        crop, *_ = face_crop(img, 0, meta["average_crop"])
        v, _, k = true_camera_vertices(sample, 0)
        truth = CropCamera(k, crop, float(v[fk.spa, 2].mean())).to_crop_space(v)
        rows.append(row(crop.sample(img), predict_crop_space(net, crop.sample(img)), faces, truth,
                        front_face_triangles()))
    for path in args.real:
        img = load_photo(path)
        crop, *_ = face_crop(img, 0, meta["average_crop"])
        rows.append(row(crop.sample(img), predict_crop_space(net, crop.sample(img)), faces, None, faces[-1]))
    out = np.concatenate(rows, 0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8)).save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
