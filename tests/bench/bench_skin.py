"""Segment Skin on the held-out synthetic test set: mIoU per model, the effect of the network's mesh size,
time and memory per stage on a ~250k-vertex scan, renders.

    nice -n 15 .venv/bin/python tests/bench/bench_skin.py [--max-test 200] [--shard K/N | --study | --merge N]
    nice -n 15 .venv/bin/python tests/bench/bench_skin.py --timing     # fresh process: time + peak memory only
    nice -n 15 .venv/bin/python tests/bench/bench_skin.py --render     # docs/img/skin_test.png (bpy)

Test set: every complete sample in /work/data/synth/test (seeds 1,000,000+; training reads train-split seeds
only). Ground truth: labels.npz:skin (scan vertex within 1.5 mm of the true head surface).

mIoU: per scan, the IoU of the skin class and of the non-skin class over the scan's own vertices (prediction =
probability ≥ 0.5 after transfer back from the network's reduced mesh), their mean; then the mean over scans.
The pooled variant (intersections and unions summed over all scans first) is reported beside it.

Rows: 3d_baseline (DiffusionNet on σ30 + HKS + colour: models/skin_3d.pt), geometry_only (σ30 + HKS:
models/skin_geom.pt), mlp (per-vertex MLP on σ30 + HKS + colour, the Tab. 2 ablation: out/skin_mlp), and
null rows for what is not built (image features, the 2D baseline). All models run on the same reduced mesh
per scan (the pipeline's default size); the mesh-size study re-runs 3d_baseline on a subset at several sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "bench"))

from common import write_results  # noqa: E402

from face_addon.core.color import srgb_to_linear  # noqa: E402
from face_addon.core.dataset import complete_seeds, load_sample, split_of  # noqa: E402
from face_addon.core.pipelines import segment_skin as ss  # noqa: E402

TEST_ROOT = Path("/work/data/synth/test")
TIMING_ROOT = Path("/work/data/synth/timing_skin")  # seeds 1999100-1 (test split, not in the test set)
TIMING_VERTICES = 250_000
PARTS = REPO / "out" / "bench_skin"
COMMAND = "nice -n 15 .venv/bin/python tests/bench/bench_skin.py"


#: table rows → weights; image rows need out/skin_views/<seed>.npz (render: face_addon.synth.skin_views)
ROWS = {
    "ours": ss.IMAGE_MODEL_WEIGHTS,                                      # μ̄, σ̄² (visibility) + σ30 + HKS + colour
    "mu_visibility": REPO / "out/skin_p2p_mu/skin_p2p_mu.pt",            # ablation: μ̄ only
    "mu_var_all_views": REPO / "out/skin_p2p_novis/skin_p2p_novis.pt",   # ablation: μ, σ² not visibility-aware
    "ours_sigma30_only": REPO / "out/skin_p2p_sigma/skin_p2p_sigma.pt",  # ablation: σ30 without HKS
    "ours_hks_only": REPO / "out/skin_p2p_hks/skin_p2p_hks.pt",          # ablation: HKS without σ30
    "3d_baseline": ss.COLOR_WEIGHTS,
    "geometry_only": ss.GEOMETRY_WEIGHTS,
    "mlp": REPO / "out/skin_mlp/skin_mlp.pt",
}
VIEWS = REPO / "out" / "skin_views"


def default_weights() -> dict[str, Path]:
    return {k: p for k, p in ROWS.items() if Path(p).is_file()}


def class_ious(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(intersections, unions) of the classes (skin, non-skin); IoU = I / U (1 when both are empty)."""
    inter = np.array([(pred & truth).sum(), (~pred & ~truth).sum()], np.float64)
    union = np.array([(pred | truth).sum(), (~pred | ~truth).sum()], np.float64)
    return inter, union


def miou(inter: np.ndarray, union: np.ndarray) -> tuple[float, float, float, float]:
    """(mIoU per scan then mean, skin IoU mean, non-skin IoU mean, pooled mIoU) of (scans, 2) arrays."""
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    pooled = inter.sum(0) / np.maximum(union.sum(0), 1)
    return float(iou.mean()), float(iou[:, 0].mean()), float(iou[:, 1].mean()), float(pooled.mean())


def test_seeds(max_test: int) -> list[int]:
    return [s for s in complete_seeds(TEST_ROOT) if split_of(s) == "test"][:max_test]


def registration_error(s, prob: np.ndarray, landmarks: np.ndarray, fk) -> float:
    """d_surface (mm) of FaceKit registered to the scan's predicted skin, against the true head's spa region."""
    from face_addon.core.pipelines.register_head import register_head
    from face_addon.core.registration.metric import d_surface_mm

    reg = register_head(s.scan_vertices, s.scan_faces, prob, landmarks=landmarks)
    return d_surface_mm(reg.vertices, s.head_vertices, s.head_faces, fk.spa)


def evaluate(seeds: list[int], weights: dict[str, Path], max_vertices: int, d_surface: bool = True,
             log=print) -> dict:
    """Per row (scans, 2) intersections and unions and (scans,) d_surface; per scan the reduced mesh, the view
    features and their lifting are computed once and shared by all rows."""
    from face_addon.core.facekit import load_facekit
    from face_addon.core.geometry.multiview import lift_features
    from face_addon.core.pipelines import skin_image as si
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks
    from face_addon.core.view_cache import load_views

    models = {k: ss.load_skin_model(p) for k, p in weights.items()}
    image_rows = [k for k, (_, meta) in models.items() if set(meta["features"]) & set(ss.IMAGE_FEATURES)]
    encoder = si.load_image_encoder(si.IMAGE_WEIGHTS) if image_rows else None
    rows = list(models) + (["2d_baseline"] if encoder else []) + (["true_skin"] if d_surface else [])
    inter = {k: [] for k in rows}
    union = {k: [] for k in rows}
    dsurf = {k: [] for k in rows}
    fk = load_facekit() if d_surface else None
    t0 = time.time()
    for n, seed in enumerate(seeds):
        s = load_sample(TEST_ROOT, seed, head=d_surface, cameras=False)
        shape = ss.prepare_shape(s.scan_vertices, s.scan_faces, ss.normalize_colors(s.scan_colors, len(s.skin)),
                                 max_vertices)
        probs = {}
        if encoder is not None:
            images, _, cams = load_views(VIEWS / f"{seed:07d}.npz")
            feats, skin2d = si.encode_views(encoder, si.SkinViews(images, cams))
            dec = shape.decimation
            lifted = {m: lift_features(dec.vertices, dec.faces, list(feats), cams, visibility_aware=m == "visibility")
                      for m in ("visibility", "all")}
            probs["2d_baseline"] = si.project_skin_masks(s.scan_vertices, s.scan_faces, skin2d, cams)
        for name, (net, meta) in models.items():
            if name in image_rows:
                lift = lifted[meta.get("lifting", "visibility")]
                shape.img_mu, shape.img_var = lift.mean, lift.var
            probs[name] = shape.decimation.to_original(ss.predict(net, meta, shape))
        if d_surface:
            probs["true_skin"] = s.skin.astype(np.float64)
            landmarks = detect_landmarks(s.scan_vertices, s.scan_faces).landmarks
        for name in rows:
            i, u = class_ious(probs[name] >= 0.5, s.skin)
            inter[name].append(i)
            union[name].append(u)
            if d_surface:
                try:
                    dsurf[name].append(registration_error(s, probs[name], landmarks, fk))
                except Exception as exc:  # noqa: BLE001 - a failed registration is recorded, not fatal
                    log(f"  registration failed for {name}: {exc}")
                    dsurf[name].append(np.nan)
        log(f"{n + 1}/{len(seeds)} seed {seed} ({len(s.skin)} v): " + ", ".join(
            f"{k} {miou(np.array(inter[k][-1:]), np.array(union[k][-1:]))[0]:.3f}"
            + (f"/{dsurf[k][-1]:.2f}mm" if d_surface else "") for k in rows) + f" ({time.time() - t0:.0f} s)")
    out = {"seeds": seeds, **{f"{k}.inter": np.array(v) for k, v in inter.items()},
           **{f"{k}.union": np.array(v) for k, v in union.items()}}
    if d_surface:
        out.update({f"{k}.dsurf": np.array(v, np.float64) for k, v in dsurf.items()})
    return out


def mesh_size_study(seeds: list[int], weights: Path, sizes: list[int], log=print) -> dict:
    """3d_baseline at several network mesh sizes (0 = the full scan, no reduction) on the same scans."""
    model = ss.load_skin_model(weights)
    out = {}
    for size in sizes:
        inter, union, secs = [], [], []
        for seed in seeds:
            s = load_sample(TEST_ROOT, seed, head=False, cameras=False)
            t0 = time.perf_counter()
            r = ss.segment_skin(s.scan_vertices, s.scan_faces, s.scan_colors, model=model,
                                max_vertices=size or len(s.skin) + 1)
            secs.append(time.perf_counter() - t0)
            i, u = class_ious(r.skin, s.skin)
            inter.append(i)
            union.append(u)
        m = miou(np.array(inter), np.array(union))
        out[str(size or "full")] = {"miou": round(m[0], 4), "pooled_miou": round(m[3], 4),
                                    "mean_s": round(float(np.mean(secs)), 2)}
        log(f"mesh size {size or 'full'}: {out[str(size or 'full')]}")
    return out


def timing(weights: Path, max_vertices: int) -> dict:
    """Stage times and peak memory of one segment_skin call on the timing scan nearest 250k vertices (run this in
    a fresh process: ru_maxrss is the process's peak resident memory, so it includes Python, numpy and torch)."""
    import torch

    scans = [load_sample(TIMING_ROOT, seed, head=False, cameras=False) for seed in complete_seeds(TIMING_ROOT)]
    if not scans:
        raise SystemExit(f"no timing scan in {TIMING_ROOT}: face synth --out {TIMING_ROOT} --count 1 --seed 1999101 "
                         "--profile scan --target-verts 190000")
    s = min(scans, key=lambda x: abs(len(x.skin) - TIMING_VERTICES))
    del scans
    model = ss.load_skin_model(weights)
    torch.zeros(1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    t0 = time.perf_counter()
    views = None
    if set(model[1]["features"]) & set(ss.IMAGE_FEATURES):  # the default views: Cycles renders of the scan
        from face_addon.blender.scan_views import render_views
        from face_addon.core.geometry.multiview import scan_rig
        from face_addon.core.mesh import Mesh
        from face_addon.core.pipelines.skin_image import SkinViews

        cams = scan_rig(s.scan_vertices)
        views = SkinViews(render_views(Mesh(s.scan_vertices, s.scan_faces, colors=s.scan_colors), cams), cams)
    t_render = time.perf_counter() - t0
    r = ss.segment_skin(s.scan_vertices, s.scan_faces, s.scan_colors, model=model, max_vertices=max_vertices,
                        views=views)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    seconds = {"render_views_s": t_render, **r.timings}
    seconds["total_s"] = t_render + r.timings["total_s"]
    return {"n_vertices": int(len(s.skin)), "n_faces": int(len(s.scan_faces)), "network_vertices": r.n_network_vertices,
            "model": r.variant, "max_vertices": max_vertices, "seconds": {k: round(v, 2) for k, v in seconds.items()},
            "peak_rss_gib": round(peak, 3), "rss_before_gib": round(base, 3), "threads": torch.get_num_threads()}


def _submesh(v: np.ndarray, f: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vertices `keep` (bool) with the faces among them; returns (vertices, faces, index of each kept vertex)."""
    remap = np.full(len(v), -1)
    remap[keep] = np.arange(keep.sum())
    faces = remap[f]
    return v[keep], faces[(faces >= 0).all(1)], np.flatnonzero(keep)


def bad_input(weights: Path, seed: int) -> dict:
    """The default pipeline (rendered views) on one test scan modified the ways real scans go wrong: no colours,
    millimetres, front half only (open/partial), subdivided to ~2.9M vertices, back of the head only (no face)."""
    import trimesh
    from scipy.spatial import cKDTree

    from face_addon.blender.scan_views import render_views
    from face_addon.core.geometry.multiview import scan_rig
    from face_addon.core.mesh import Mesh
    from face_addon.core.pipelines.skin_image import SkinViews

    s = load_sample(TEST_ROOT, seed, head=False, cameras=False)
    model = ss.load_skin_model(weights)
    v, f, c = s.scan_vertices.astype(np.float64), s.scan_faces, s.scan_colors
    centre_y = (v[:, 1].min() + v[:, 1].max()) / 2

    def run(name, verts, faces, colors, truth, views=True):
        t0 = time.perf_counter()
        cams = scan_rig(verts)
        sv = SkinViews(render_views(Mesh(verts, faces, colors=colors), cams), cams) if views and colors is not None \
            else None
        r = ss.segment_skin(verts, faces, colors, model=None if colors is None else model, views=sv)
        i, u = class_ious(r.skin, truth)
        out = {"n_vertices": int(len(verts)), "model": r.variant, "miou": round(miou(i[None], u[None])[0], 4),
               "skin_fraction": round(r.skin_fraction, 4), "seconds": round(time.perf_counter() - t0, 2),
               "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2),
               "warnings": r.warnings}
        print(name, out)
        return out

    res = {"seed": seed, "original": run("original", v, f, c, s.skin),
           "no_colors": run("no_colors", v, f, None, s.skin),
           "millimetres": run("millimetres", v * 1000.0, f, c, s.skin)}
    fv, ff, idx = _submesh(v, f, v[:, 1] < centre_y)
    res["front_half_open"] = run("front_half_open", fv, ff, c[idx], s.skin[idx])
    bv, bf, idx = _submesh(v, f, v[:, 1] > centre_y + 0.02)
    res["back_only_no_face"] = run("back_only_no_face", bv, bf, c[idx], s.skin[idx])
    big = trimesh.Trimesh(v, f, process=False)
    for _ in range(2):
        big = big.subdivide()
    bv = np.asarray(big.vertices)
    nearest = cKDTree(v).query(bv)[1]  # colours and truth of the new vertices from the nearest original one
    res["subdivided"] = run("subdivided", bv, np.asarray(big.faces), c[nearest], s.skin[nearest])
    return res


def render(weights: Path, seeds: list[int], out_png: Path, resolution: int = 256, samples: int = 8) -> Path:
    """Per test scan (head close-up): prediction, ground truth (front views; orange = skin, blue = non-skin), then
    the errors from the front and three-quarter: red = predicted skin that is not, yellow = missed skin."""
    import bpy

    from face_addon.blender.materials import principled_material
    from face_addon.blender.mesh_io import new_mesh_object
    from face_addon.blender.render import render_sheet
    from face_addon.core.dataset import read_png, write_png
    from face_addon.core.mesh import Mesh
    from face_addon.core.skin_export import probability_colors

    from face_addon.core.pipelines.skin_image import SkinViews
    from face_addon.core.view_cache import load_views

    model = ss.load_skin_model(weights)
    uses_views = bool(set(model[1]["features"]) & set(ss.IMAGE_FEATURES))
    rows = []
    for seed in seeds:
        bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
        s = load_sample(TEST_ROOT, seed, head=False, cameras=False)
        views = SkinViews(*load_views(VIEWS / f"{seed:07d}.npz")[::2]) if uses_views else None
        r = ss.segment_skin(s.scan_vertices, s.scan_faces, s.scan_colors, model=model, views=views)
        i, u = class_ious(r.skin, s.skin)
        keep = np.linalg.norm(s.scan_vertices - s.landmarks.mean(0), axis=1) < 0.15  # the head, for a close-up
        remap = np.full(len(keep), -1)
        remap[keep] = np.arange(keep.sum())
        faces = remap[s.scan_faces]
        faces = faces[(faces >= 0).all(1)]
        errors = probability_colors(r.skin.astype(float))
        errors[r.skin & ~s.skin] = (230, 30, 30)
        errors[~r.skin & s.skin] = (250, 230, 40)
        tiles = []
        for label, srgb, views in (("pred", probability_colors(r.skin.astype(float)), ("front",)),
                                   ("truth", probability_colors(s.skin.astype(float)), ("front",)),
                                   ("errors", errors, ("front", "three_quarter"))):
            linear = srgb_to_linear(srgb[keep])
            obj = new_mesh_object(f"{label} {seed}", Mesh(s.scan_vertices[keep], faces, colors=linear))
            mat, tree, bsdf = principled_material(f"skin {label} {seed}")
            node = tree.nodes.new("ShaderNodeVertexColor")
            node.layer_name = "Col"
            tree.links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
            obj.data.materials.append(mat)
            path = out_png.with_name(f".tile_{seed}_{label}.png")
            render_sheet(obj, path, views=views, resolution=resolution, samples=samples)
            tiles.append(read_png(path)[..., :3])
            path.unlink()
            bpy.data.objects.remove(obj)
        rows.append(np.concatenate(tiles, axis=1))
        print(f"render seed {seed}: mIoU {miou(i[None], u[None])[0]:.3f}, skin {r.skin_fraction:.3f} "
              f"(truth {s.skin.mean():.3f})")
    write_png(out_png, np.concatenate(rows, axis=0))
    return out_png


def render_views_sheet(seeds: list[int], out_png: Path, views: tuple[int, ...] = (6, 4, 0)) -> Path:
    """Per test scan and view: the render the encoder sees, its 2D skin probability (white = skin) and the true
    head-surface pixels."""
    from face_addon.core.dataset import HEAD_CLASSES, write_png
    from face_addon.core.pipelines import skin_image as si
    from face_addon.core.view_cache import load_views

    encoder = si.load_image_encoder(si.IMAGE_WEIGHTS)
    rows = []
    for seed in seeds:
        images, labels, cams = load_views(VIEWS / f"{seed:07d}.npz")
        _, skin2d = si.encode_views(encoder, si.SkinViews(images[list(views)], [cams[i] for i in views]))
        tiles = []
        for k, i in enumerate(views):
            gray = lambda m: np.repeat((np.clip(m, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)  # noqa: E731
            tiles += [images[i], gray(skin2d[k]), gray(np.isin(labels[i], HEAD_CLASSES).astype(float))]
        rows.append(np.concatenate(tiles, axis=1))
    write_png(out_png, np.concatenate(rows, axis=0))
    return out_png


def _load_parts(n: int) -> dict:
    loaded = [dict(np.load(PARTS / f"{k}.npz")) for k in range(n)]
    seeds = np.concatenate([d["seeds"] for d in loaded])
    order = np.argsort(seeds)
    keys = [k for k in loaded[0] if k != "seeds"]
    return {"seeds": [int(x) for x in seeds[order]], **{k: np.concatenate([d[k] for d in loaded])[order] for k in keys}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-test", type=int, default=100)
    ap.add_argument("--max-vertices", type=int, default=ss.MAX_VERTICES, help="network mesh size of the mIoU rows")
    ap.add_argument("--shard", help="K/N: evaluate every N-th scan into out/bench_skin/K.npz")
    ap.add_argument("--merge", type=int, help="combine N shards and write the results")
    ap.add_argument("--sizes", default="10000,20000,60000,0", help="mesh-size study sizes (0 = the full scan)")
    ap.add_argument("--size-scans", type=int, default=0,
                    help="scans in the mesh-size study (0: carry the previous results file's study over)")
    ap.add_argument("--study", action="store_true", help="only the mesh-size study, into out/bench_skin (for --merge)")
    ap.add_argument("--timing", action="store_true", help="only time one ~250k scan in this process, print JSON")
    ap.add_argument("--render", action="store_true", help="only render docs/img/skin_test.png (bpy)")
    ap.add_argument("--bad-input", action="store_true", help="only the bad-input runs, into out/bench_skin (bpy)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    weights = default_weights()
    if a.timing:
        print(json.dumps(timing(weights.get("ours", weights["3d_baseline"]), a.max_vertices)))
        return 0
    if a.bad_input:
        PARTS.mkdir(parents=True, exist_ok=True)
        res = bad_input(weights.get("ours", weights["3d_baseline"]), test_seeds(a.max_test)[0])
        (PARTS / "bad_input.json").write_text(json.dumps(res, indent=1))
        return 0
    if a.render:
        print(render(weights.get("ours", weights["3d_baseline"]), test_seeds(a.max_test)[:4],
                     REPO / "docs/img/skin_test.png"))
        print(render_views_sheet(test_seeds(a.max_test)[:2], REPO / "docs/img/skin_views.png"))
        return 0
    if a.study:
        scans = test_seeds(a.max_test)[:a.size_scans]
        study = mesh_size_study(scans, weights["3d_baseline"], [int(x) for x in a.sizes.split(",")])
        PARTS.mkdir(parents=True, exist_ok=True)
        (PARTS / "size_study.json").write_text(json.dumps({"scans": scans, "results": study}, indent=1))
        return 0
    if a.shard:
        k, n = (int(x) for x in a.shard.split("/"))
        res = evaluate(test_seeds(a.max_test)[k::n], weights, a.max_vertices)
        PARTS.mkdir(parents=True, exist_ok=True)
        np.savez(PARTS / f"{k}.npz", **res)
        return 0
    previous = json.loads((REPO / "tests/bench/results/skin.json").read_text()) \
        if (REPO / "tests/bench/results/skin.json").is_file() else {}
    res = _load_parts(a.merge) if a.merge else evaluate(test_seeds(a.max_test), weights, a.max_vertices)
    seeds = res["seeds"]
    rows, per_scan = {}, {}
    for name in [k[:-6] for k in res if k.endswith(".inter")]:
        m, skin, non, pooled = miou(res[f"{name}.inter"], res[f"{name}.union"])
        rows[name] = {"miou": round(m, 4), "iou_skin": round(skin, 4), "iou_non_skin": round(non, 4),
                      "pooled_miou": round(pooled, 4)}
        if f"{name}.dsurf" in res:
            d = res[f"{name}.dsurf"]
            rows[name].update(d_surface_mm=round(float(np.nanmean(d)), 3), d_surface_std_mm=round(float(np.nanstd(d)), 3),
                              registrations_failed=int(np.isnan(d).sum()))
        iou = np.where(res[f"{name}.union"] > 0, res[f"{name}.inter"] / np.maximum(res[f"{name}.union"], 1), 1.0)
        per_scan[name] = [round(float(x), 4) for x in iou.mean(1)]
    study_file = PARTS / "size_study.json"
    if a.merge and study_file.is_file():  # written by a --study run beside the shards
        study_scans, study = (lambda d: (d["scans"], d["results"]))(json.loads(study_file.read_text()))
        study_note = "measured with this run"
    elif a.size_scans:
        study_scans = seeds[:a.size_scans]
        study = mesh_size_study(study_scans, weights["3d_baseline"], [int(x) for x in a.sizes.split(",")])
        study_note = "measured with this run"
    else:  # carried over from the previous results file, with its provenance
        old = previous.get("mesh_size_study") or {}
        study_scans, study = old.get("scans", []), old.get("results", {})
        study_note = old.get("note") or f"from the run of commit {str(previous.get('commit'))[:10]} ({previous.get('date')})"
    timings = {}
    for size in sorted({a.max_vertices}):  # in a fresh process: its own peak memory
        threads = {v: str(a.threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        run = subprocess.run([sys.executable, __file__, "--timing", "--max-vertices", str(size), "--threads",
                              str(a.threads)], capture_output=True, text=True, env={**os.environ, **threads})
        if run.returncode == 0:
            timings[size] = json.loads(run.stdout.strip().splitlines()[-1])
        else:
            print(run.stderr[-2000:])
    t = timings.get(a.max_vertices)
    training = {k: ss.load_skin_model(p)[1].get("training") for k, p in weights.items()}
    miou_rows = {k: v["miou"] for k, v in rows.items() if k != "true_skin"}
    dsurf_rows = {k: v.get("d_surface_mm") for k, v in rows.items()}
    data = {
        "test_n": len(seeds),
        "test_set": f"{TEST_ROOT} seeds {seeds[0]}-{seeds[-1]} (synth --profile scan, 110k-190k vertices, test split)",
        "miou_definition": "per scan: mean of the skin IoU and the non-skin IoU over the scan's vertices "
                           "(prediction = probability >= 0.5); then the mean over scans. pooled_miou: intersections "
                           "and unions summed over all scans before dividing",
        "network_max_vertices": a.max_vertices,
        "views": "13 Cycles renders (160 px) of the vertex-coloured scan from the rig of core.geometry.multiview."
                 "scan_rig (face_addon.synth.skin_views, no jitter for test scans)",
        "miou": miou_rows,
        "d_surface_mm": dsurf_rows,
        "d_surface_definition": "FaceKit registered (core.pipelines.register_head: landmark init from the landmark "
                                "model, then identity/expression/similarity point-to-plane ICP) to the scan vertices "
                                "with skin probability >= 0.5 of each row; mean distance (mm) from the registered "
                                "head's spa-region vertices to the true head surface's spa region. true_skin: the "
                                "same registration with the ground-truth skin mask (the reference)",
        "rows": rows,
        "per_scan_miou": per_scan,
        "per_scan_d_surface_mm": {k[:-6]: [round(float(x), 3) for x in v] for k, v in res.items() if k.endswith(".dsurf")},
        "mesh_size_study": {"scans": study_scans, "model": "3d_baseline", "results": study, "note": study_note},
        "bad_input": json.loads((PARTS / "bad_input.json").read_text()) if (PARTS / "bad_input.json").is_file()
        else None,
        "timing": t,
        "time_250k_s": t["seconds"]["total_s"] if t else None,
        "peak_mem_gib": t["peak_rss_gib"] if t else None,
        "training": training,
        "weights": {k: str(p) for k, p in weights.items()},
    }
    table = (f"Held-out synthetic scans: {data['test_n']} ({data['test_set']}); network mesh ≤ {a.max_vertices} "
             "vertices. mIoU = mean over scans of the mean of skin and non-skin IoU. d_surface = registration "
             "error on the spa region (mm, mean ± std over scans).\n\n"
             "| row | mIoU | skin IoU | non-skin IoU | pooled mIoU | d_surface (mm) |\n|---|---|---|---|---|---|\n"
             + "\n".join(f"| {k} | {v['miou']:.3f} | {v['iou_skin']:.3f} | {v['iou_non_skin']:.3f} | "
                         f"{v['pooled_miou']:.3f} | "
                         + (f"{v['d_surface_mm']:.2f} ± {v['d_surface_std_mm']:.2f}" if 'd_surface_mm' in v else "–")
                         + " |" for k, v in rows.items()) + "\n")
    if study:
        table += (f"\nNetwork mesh size, 3d_baseline, {len(study_scans)} scans (full = no reduction; {study_note}):\n\n"
                  "| max vertices | mIoU | pooled mIoU | mean s/scan |\n|---|---|---|---|\n"
                  + "\n".join(f"| {k} | {v['miou']:.3f} | {v['pooled_miou']:.3f} | {v['mean_s']:.1f} |"
                              for k, v in study.items()) + "\n")
    for tt in timings.values():
        table += (f"\nOne {tt['n_vertices']}-vertex scan, model {tt['model']}, network mesh {tt['network_vertices']} "
                  f"vertices, {tt['threads']} thread(s), seconds: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in tt["seconds"].items())
                  + f"; peak RSS {tt['peak_rss_gib']:.2f} GiB (process, {tt['rss_before_gib']:.2f} GiB before).\n")
    views = f".venv/bin/python -m face_addon.synth.skin_views --data {TEST_ROOT} --out {VIEWS.relative_to(REPO)} " \
            f"--max {a.max_test}"
    recipe = f"{views}; {COMMAND} --max-test {a.max_test} --bad-input; " + (COMMAND if not a.merge else "; ".join(
        [f"{COMMAND} --max-test {a.max_test} --shard {k}/{a.merge}" for k in range(a.merge)]
        + [f"{COMMAND} --max-test {a.max_test} --study --size-scans {len(study_scans)} --sizes {a.sizes}",
           f"{COMMAND} --max-test {a.max_test} --merge {a.merge}"]))
    write_results("skin", data, table, recipe)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
