"""The photo expression read-out alone on synthetic portraits: which face mesh drew the points and which embedding
placed them on FaceKit (`facekit_photo.EMBEDDING_FILES`).

    face synth --out /work/data/photo/test --count 60 --seed 1000000 --profile photo --views 1 --res 256 --samples 16
    nice -n 10 .venv/bin/python tests/bench/bench_photo_readout.py --data /work/data/photo/test \\
        --cache /work/data/photo/cache/readout_test

Each test view is cached once per face mesh (`photo_data.cache_view`, the product's detector; the plain mesh
decides what is a face, so both models see the same views). No fit: the detected points are lifted at the depth
of the true head under the true camera (`expressions.lift_points`) and read (`ExpressionMap.predict`), so the
numbers isolate the read-out from the regressor and the fit. The renders carry FaceKit's random expressions
(small, sparse: no smile or open jaw among them), so the read-out's false expression on near-neutral faces is
what they test, the London smile pairs (bench_real.py --part photo) the true ones. Test seeds (>= 1,000,000);
both embeddings were measured on train seeds.
"""
from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import markdown_table, write_results  # noqa: E402

KEY_UNITS = ("mouthSmileLeft", "mouthSmileRight", "jawOpen", "eyeBlinkLeft", "eyeBlinkRight")
#: (the face mesh that drew the points, the mesh whose embedding places them): before E9, E9's front end, now
ROWS = (("mesh", "mesh"), ("attention", "mesh"), ("attention", "attention"))
OFF = 0.1  # a unit below this in the truth counts as off


def true_view(fk, record: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(model-space true head, rotation, translation, K in crop pixels) of a cached view (`photo_data.cache_view`):
    the render's head is FaceKit's surface moved rigidly, so its camera follows from the camera-space vertices
    (Kabsch); crop pixel = (image pixel - origin) * scale."""
    v = fk.evaluate(record["alpha_id"], record["alpha_exp"]).astype(np.float64)
    cam = np.asarray(record["cam_vertices"], np.float64)
    mv, mc = v.mean(0), cam.mean(0)
    u, _, vt = np.linalg.svd((cam - mc).T @ (v - mv))
    rot = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    scale = float(record["scale"])
    K = np.array(record["K"], np.float64)
    K[:2] *= scale
    K[:2, 2] -= np.asarray(record["origin"], np.float64) * scale
    return v, rot, mc - rot @ mv, K


def read_units(caches: dict[str, Path], names: list[str]) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """{(points, embedding): (read (views, U), truth (views, U))} over the views both meshes found."""
    from face_addon.core.photo.expressions import expression_map, lift_points
    from face_addon.core.photo.facekit_photo import load_photo_facekit

    out = {}
    for points, emb in ROWS:
        model = load_photo_facekit(mesh_model=emb)
        em = expression_map(model)
        read, truth = [], []
        for name in names:
            with np.load(caches[points] / f"{name}.npz") as r:
                rec = {k: r[k] for k in r.files}
            v, rot, t, K = true_view(model.fk, rec)
            read.append(em.predict(lift_points(model, v, rot, t, K, rec["landmarks"])))
            truth.append(rec["alpha_exp"][em.units])
        out[(points, emb)] = np.array(read), np.array(truth)
    return out


def summarise(read: np.ndarray, truth: np.ndarray, units: tuple[str, ...]) -> dict:
    """Mean absolute error over the key units and all read units; the mean reading where the truth is off."""
    from face_addon.core.photo.expressions import UNITS

    idx = {u: UNITS.index(u) for u in units}
    err = np.abs(read - truth)
    smile_off = (truth[:, idx["mouthSmileLeft"]] < OFF) & (truth[:, idx["mouthSmileRight"]] < OFF)
    jaw_off = truth[:, idx["jawOpen"]] < OFF
    blink_off = (truth[:, idx["eyeBlinkLeft"]] < OFF) & (truth[:, idx["eyeBlinkRight"]] < OFF)
    return {"key_unit_mae": round(float(err[:, list(idx.values())].mean()), 3),
            "key_unit_mae_each": {u: round(float(err[:, i].mean()), 3) for u, i in idx.items()},
            "all_units_mae": round(float(err.mean()), 3),
            "smile_where_off": round(float(read[smile_off][:, [idx["mouthSmileLeft"], idx["mouthSmileRight"]]].mean()), 3),
            "jaw_open_where_off": round(float(read[jaw_off, idx["jawOpen"]].mean()), 3),
            "blink_where_off": round(float(read[blink_off][:, [idx["eyeBlinkLeft"], idx["eyeBlinkRight"]]].mean()), 3),
            "views_smile_off": int(smile_off.sum()), "views_jaw_off": int(jaw_off.sum()),
            "views_blink_off": int(blink_off.sum())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="photo-profile test dataset (face synth --profile photo)")
    ap.add_argument("--cache", required=True, help="folder for the cached views (one subfolder per face mesh)")
    args = ap.parse_args(argv)
    import torch

    from face_addon.train.photo_data import cache_split, cache_view

    torch.set_num_threads(1)
    if not Path(args.data).is_dir():
        ap.error(f"--data {args.data}: no such folder")
    caches = {m: Path(args.cache) / m for m in ("mesh", "attention")}
    found = [{r.stem for r in cache_split(Path(args.data), c, view_fn=partial(cache_view, mesh_model=m))}
             for m, c in caches.items()]
    names = sorted(set.intersection(*found))
    if not names:
        ap.error(f"--data {args.data}: no view with a face")
    results = {f"{p}_points_{e}_embedding": summarise(*ru, KEY_UNITS) for (p, e), ru in read_units(caches, names).items()}
    rows = [[f"{p} points, {e} embedding", r["key_unit_mae"], " / ".join(f"{v:.3f}" for v in r["key_unit_mae_each"].values()),
             r["all_units_mae"], r["smile_where_off"], r["jaw_open_where_off"], r["blink_where_off"]]
            for (p, e), r in zip(ROWS, results.values())]
    first = next(iter(results.values()))
    table = (f"The expression read-out on {len(names)} synthetic test portraits (seeds >= 1,000,000), true head and "
             "camera, no fit. Reading where the truth is off (< 0.1): mouthSmile L/R over "
             f"{first['views_smile_off']} views, jawOpen over {first['views_jaw_off']}, eyeBlink L/R over "
             f"{first['views_blink_off']}.\n\n" + markdown_table(
                 ["points, embedding", "key-unit MAE", "smile L / R / jaw / blink L / R", "16-unit MAE",
                  "mouthSmile where off", "jawOpen where off", "eyeBlink where off"], rows))
    write_results("photo_readout", {"views": len(names), "rows": results}, table,
                  f"nice -n 10 .venv/bin/python tests/bench/bench_photo_readout.py --data {args.data} --cache {args.cache}")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
