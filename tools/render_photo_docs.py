"""docs/img/photo_astronaut.png: `face.reconstruct_photo` on scikit-image's astronaut photo, the reconstructed
head rendered with Cycles through the fitted camera and laid over the photo.

    .venv/bin/python tools/render_photo_docs.py [--out docs/img/photo_astronaut.png] [--size 384] [--samples 16]

Also prints how far the Blender camera's projection of the 68 landmark vertices is from K·(R·x + t).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs/img/photo_astronaut.png"))
    ap.add_argument("--size", type=int, default=384, help="width of the picture (the photo is scaled)")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--method", default="FIT", choices=("FIT", "REGRESSOR"))
    args = ap.parse_args()

    import bpy
    import skimage.data
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    import face_addon
    from face_addon.cli.demo import photo_comparison
    from face_addon.blender.facekit_store import facekit

    photo = Path(skimage.data.__file__).parent / "astronaut.png"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    face_addon.register()
    assert bpy.ops.face.reconstruct_photo(filepath=str(photo), method=args.method) == {"FINISHED"}
    head = bpy.context.view_layer.objects.active
    cam = bpy.data.objects[f"{head.name} Camera"]
    info = head["face_addon_photo"]
    w, h = info["width"], info["height"]
    K = np.reshape(info["K"], (3, 3))
    R = np.reshape(info["rotation"], (3, 3))
    t = np.asarray(info["translation"])

    me = head.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    pts = co.reshape(-1, 3)[facekit().landmark_indices].astype(np.float64)
    cv = pts @ R.T + t
    expected = (cv @ K.T)[:, :2] / cv[:, 2:3]
    ndc = np.array([world_to_camera_view(bpy.context.scene, cam, Vector(p))[:2] for p in pts])
    got = np.stack([ndc[:, 0] * w - 0.5, (1 - ndc[:, 1]) * h - 0.5], 1)
    print(f"Blender camera vs K(Rx+t), 68 landmark vertices: max {np.abs(got - expected).max():.4f} px")
    print(f"timings {dict(info['timings_s'])}, warnings: {info['warnings'] or 'none'}")

    size_h = round(args.size * h / w)
    _, overlay = photo_comparison(photo, head, cam, args.samples, args.size, size_h,
                                  Path(args.out).with_suffix(".tmp.png"))
    from PIL import Image

    img = Image.fromarray((np.clip(overlay, 0, 1) * 255).round().astype(np.uint8))
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
