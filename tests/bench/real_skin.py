"""Segment Skin on real data (part `skin` of bench_real.py): the image encoder on the London photos, the
default pipeline on the real scans and rotated copies, time and memory for a 250k-vertex textured scan.

    nice -n 10 .venv/bin/python tests/bench/bench_real.py --part skin

London (CC BY 4.0, DeBruine & Jones 2017): the encoder's per-pixel skin decision (sum of the head-surface
classes ≥ 0.5) against the part masks. Skin = our definition (the head surface, docs/skin.md): face skin,
brows, nose, mouth, ears and neck (labels 1, 2, 3, 6, 7, 8, 9, 10); the eye labels (4, 5: the eye opening,
mostly eyeball, which is not head surface for us) are left out of the count, and so is everything below the
lowest row of the neck label (the masks call the lower neck "background", we call it skin). The shipped encoder's
per-pixel classes (its decider) are fine-tuned on the even-numbered people by `face train skin_image_real` (its
lifted features are the renders-only encoder's: docs/skin.md, rounds 7 and 10); the backdrop tolerance of
`neutralise_backdrop` was chosen on the even-numbered people; `skin_london_iou` is the mean over the odd-numbered
ones (held out).

Scans (shared/real/scans): lee_perry_smith (textured OBJ, bald, eyes closed), fran (textured, hair in the
texture, face towards +X), the Artec faces and humface (no colour, mm: rendered in the neutral skin tone).
Each as the file stores it, turned upright with the rotation its README states, the texture baked into vertex
colours (a PLY written and read back), and two random rotations of the upright copy; every copy then goes
through the pipeline's own `face_upright` (the face frame found in renders), as `face segment` does. The
pictures show the README-upright copy coloured by each run's probabilities.
`skin_rotation_delta` = the largest skin-fraction difference to the upright textured copy among the baked and
rotated copies. LPS's head-and-face region: the vertices above the bottom of the chin (its lowest face point,
about 0.55 head heights under the crown, measured on the picture).

Synthetic check (`skin_synth_miou`): the same default pipeline on a small regenerated set of held-out synthetic
scans (SYNTH_ROOT; bench_skin.py's 100-scan test set is not kept on this machine), so a change made for real
scans is measured against the synthetic result on the same scans before and after.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from real_data import picture_note, picture_path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

REPO = Path(__file__).resolve().parents[2]
SKIN_LABELS = (1, 2, 3, 6, 7, 8, 9, 10)
IGNORED_LABELS = (4, 5)
#: file axes → Blender's (+Z up, face towards −Y), as the scans' README states them
Y_UP_FACE_Z = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
Y_UP_FACE_X = np.array([[0.0, 0, -1], [-1, 0, 0], [0, 1, 0]])
LPS_CHIN_BELOW_CROWN = 0.55   # head-and-face region of LPS, in units of its bounding-box width
TIMING_VERTICES = 250_000
#: the synthetic subset (test seeds, never trained on), regenerated here: bench_skin.py's test set is not kept
SYNTH_ROOT = Path(os.environ.get("FACE_SKIN_SYNTH", "/work/data/synth/test"))
SYNTH_COMMAND = "face synth --out /work/data/synth/test --seed 1000000 --count 16 --profile scan"
SYNTH_VIEWS = REPO / "out" / "real_skin_synth_views_rigs"  # the views of scan_views (its four rigs)
#: a candidate skin model instead of the shipped one (set by `tests/bench/skin_reallike.py --real`: a fine-tune
#: compared on the real scans without replacing the shipped file); the benchmark runs the shipped one
WEIGHTS: Path | None = None


# ------------------------------------------------------------------------------------------------ London

def london(root: Path, sheet_ids=(2, 17, 41, 95)) -> tuple[dict, list[np.ndarray]]:
    """Encoder skin IoU per photo with and without the backdrop cue; a few rows for the picture."""
    from PIL import Image

    from face_addon.core.geometry.multiview import scan_rig
    from face_addon.core.pipelines import skin_image as si

    enc = si.load_image_encoder(si.IMAGE_WEIGHTS)
    base = root / "photos" / "london"
    info = {}
    for line in (base / "london_info.csv").read_text().splitlines()[1:]:
        cells = line.split(",")
        info[int(cells[0])] = cells
    header = (base / "london_info.csv").read_text().splitlines()[0].split(",")
    eth_col = next((i for i, h in enumerate(header) if "eth" in h.lower()), None)
    rows: list[dict] = []
    tiles = []
    for mask_path in sorted((base / "partmasks").glob("*_parts.png")):
        pid = int(mask_path.name[:3])
        photo = np.asarray(Image.open(base / "neutral" / f"{pid:03d}_03.jpg").convert("RGB"))
        cam = scan_rig(np.eye(3), resolution=photo.shape[0])[:1]
        row = {"id": pid, "held_out": pid % 2 == 1,
               "group": info.get(pid, [""] * 10)[eth_col] if eth_col is not None else ""}
        for key, photos in (("plain", False), ("backdrop", True)):
            views = si.SkinViews(photo[None], cam, photos=photos)
            _, skin = si.encode_views(enc, views)
            h, w = skin.shape[1:]
            labels = np.asarray(Image.open(mask_path).resize((w, h), Image.NEAREST))
            valid = np.zeros((h, w), bool)
            valid[:np.nonzero((labels == 10).any(1))[0].max() + 1] = True
            valid &= ~np.isin(labels, IGNORED_LABELS)
            truth = np.isin(labels, SKIN_LABELS)
            pred = skin[0] >= 0.5
            row[key] = float((pred & truth & valid).sum() / max(((pred | truth) & valid).sum(), 1))
            if key == "backdrop" and pid in sheet_ids:
                grey = lambda m: np.repeat((np.clip(m, 0, 1)[..., None] * 255).astype(np.uint8), 3, 2)  # noqa: E731
                tiles.append(np.concatenate([(views.images[0] * 255).astype(np.uint8), grey(skin[0]),
                                             grey(truth * valid + 0.4 * ~valid)], 1))
        rows.append(row)
    held = [r for r in rows if r["held_out"]]
    tuned = [r for r in rows if not r["held_out"]]
    mean = lambda rs, k: round(float(np.mean([r[k] for r in rs])), 4)  # noqa: E731
    groups = {}
    for g in sorted({r["group"] for r in held}):
        groups[g or "?"] = {"n": sum(r["group"] == g for r in held), "iou": mean([r for r in held if r["group"] == g],
                                                                                    "backdrop")}
    out = {"n_held_out": len(held), "n_tuned": len(tuned),
           "held_out_backdrop": mean(held, "backdrop"), "held_out_plain": mean(held, "plain"),
           "tuned_backdrop": mean(tuned, "backdrop"), "tuned_plain": mean(tuned, "plain"),
           "held_out_p10_backdrop": round(float(np.percentile([r["backdrop"] for r in held], 10)), 4),
           "held_out_by_group": groups}
    return out, tiles


# ------------------------------------------------------------------------------------------------ scans

def rotation(seed: int) -> np.ndarray:
    """A random proper rotation (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def segment(mesh, views: bool = True):
    """The default pipeline as `face segment` runs it: colours from the texture, the scan turned into its face's
    frame (`face_upright`), the rendered rigs (`scan_views`: 4 × 13 views; an untextured scan in the neutral skin
    tone). Returns (result, seconds, the 2D baseline's skin fraction: the encoder's skin maps projected alone,
    None without views, and (n,) bool: the vertices some view sees, None without views)."""
    from face_addon.blender.scan_views import scan_views
    from face_addon.core.pipelines import skin_image as si
    from face_addon.core.pipelines.segment_skin import segment_skin
    from face_addon.core.pipelines.upright_scan import face_upright
    from face_addon.core.texture import with_surface_colors

    mesh = with_surface_colors(mesh)
    t0 = time.perf_counter()
    sv = None
    note = None
    if views and mesh.n_faces:
        mesh, note = face_upright(mesh)
        sv = scan_views(mesh)
    r = segment_skin(mesh.vertices, mesh.faces, mesh.colors, views=sv, weights=WEIGHTS)
    seconds = time.perf_counter() - t0
    r.warnings[:0] = [note] if note else []
    two_d = seen = None
    if sv is not None:
        feats, skin2d = si.encode_views(si.load_image_encoder(si.IMAGE_WEIGHTS), sv)
        _, _, lifted, rigs = si.lift_rigs(mesh.vertices, mesh.faces, feats, skin2d, sv)
        two_d, seen = round(float((lifted >= 0.5).mean()), 4), rigs > 0
    return r, seconds, two_d, seen


def sigma_ablation(mesh) -> dict:
    """Diagnostic: the shipped image model's skin fraction on a scan as is and with each 3D feature group set to
    its training mean (standardised input 0), the views rendered as usual. Says which input the scan is out of
    distribution in."""
    import torch

    from face_addon.blender.scan_views import scan_views
    from face_addon.core.nets.diffusion_net import DiffusionOperators
    from face_addon.core.pipelines import segment_skin as ss
    from face_addon.core.texture import with_surface_colors

    mesh = with_surface_colors(mesh)
    net, meta = ss.load_skin_model(ss.IMAGE_MODEL_WEIGHTS)
    unit = ss.guess_unit_scale(mesh)
    views = scan_views(mesh)
    shape = ss.prepare_shape(mesh.vertices * unit, mesh.faces, ss.normalize_colors(mesh.colors, mesh.n_vertices),
                             k_eig=int(meta.get("k_eig", ss.K_EIG)))
    ss.lift_views(shape, meta, views, unit, {})
    names = tuple(meta["features"])
    z = (shape.features(names) - np.asarray(meta["feature_mean"])) / np.asarray(meta["feature_std"])
    widths = {"sigma30": 1, "hks": ss.N_HKS, "color": 3, "img_mu": (z.shape[1] - 20) // 2, "img_var": (z.shape[1] - 20) // 2}
    start = np.cumsum([0] + [widths[n] for n in names])
    out = {"mean_z": {n: round(float(z[:, a:b].mean()), 2) for n, a, b in zip(names, start[:-1], start[1:])}}
    ops = DiffusionOperators.from_operators(shape.ops)
    for label, cols in [("as_is", None)] + [(n, slice(a, b)) for n, a, b in zip(names, start[:-1], start[1:])]:
        x = z.copy()
        if cols is not None:
            x[:, cols] = 0.0
        with torch.inference_mode():
            p = torch.softmax(net(torch.from_numpy(x.astype(np.float32)), ops), 1)[:, 1].numpy()
        out["skin_fraction_" + label] = round(float((shape.decimation.to_original(p) >= 0.5).mean()), 4)
    return out


def turned(mesh, rot: np.ndarray):
    return replace(mesh, vertices=mesh.vertices @ np.asarray(rot).T)


def baked(mesh, folder: Path):
    """The textured scan with its texture baked into vertex colours, written as a PLY and read back."""
    from face_addon.core.mesh import Mesh
    from face_addon.core.mesh_files import load_mesh, save_mesh
    from face_addon.core.texture import with_surface_colors

    path = folder / f"{mesh.name}_baked.ply"
    save_mesh(Mesh(mesh.vertices, mesh.faces, colors=with_surface_colors(mesh).colors), path)
    return load_mesh(path)


def picture_tile(upright, probability: np.ndarray, size: int = 200, azimuths=(0, 60)) -> np.ndarray:
    """Front and side renders (core rasteriser, Lambert-shaded) of the upright mesh coloured by probability."""
    from face_addon.core.geometry.camera import RIG_FOCAL, intrinsics, look_at_world_to_camera
    from face_addon.core.geometry.multiview import ViewCamera
    from face_addon.core.geometry.raster import rasterize
    from face_addon.core.skin_export import probability_colors

    v, f = upright.vertices, upright.faces
    colors = probability_colors(probability).astype(np.float64)
    lo, hi = v.min(0), v.max(0)
    centre, radius = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.05
    dist = radius / np.sin(np.arctan(0.5 / RIG_FOCAL))
    k = intrinsics(RIG_FOCAL * size, size, size)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-12)
    out = []
    for az in azimuths:
        a = np.deg2rad(az)
        eye = centre + dist * np.array([np.sin(a), -np.cos(a), 0.1])
        cam = ViewCamera(k, look_at_world_to_camera(eye, centre), size, size)
        uv, z = cam.project(v)
        r = rasterize(uv, z, f, size, size)
        img = np.full((size, size, 3), 40.0)
        hit = r.tri >= 0
        tri = r.tri[hit]
        to_eye = eye - v[f[tri]].mean(1)
        shade = np.abs((fn[tri] * to_eye).sum(1) / np.linalg.norm(to_eye, axis=1))
        c = (colors[f[tri]] * r.bary[hit][:, :, None]).sum(1)
        img[hit] = c * (0.35 + 0.65 * shade[:, None])
        out.append(img.astype(np.uint8))
    return np.concatenate(out, 1)


def scans(root: Path, folder: Path) -> tuple[dict, list[tuple[str, np.ndarray]]]:
    from face_addon.core.mesh_files import load_mesh
    from face_addon.core.pipelines.upright_scan import face_upright
    from face_addon.core.texture import with_surface_colors

    base = root / "scans"
    res: dict = {}
    tiles = []

    def record(name, mesh, upright_mesh, region=None, views=True):
        r, seconds, two_d, seen = segment(mesh, views)
        entry = {"vertices": mesh.n_vertices, "model": r.variant, "skin_fraction": round(r.skin_fraction, 4),
                 "skin_fraction_2d": two_d, "seconds": round(seconds, 2), "warnings": r.warnings}
        if region is not None:
            entry["head_face_skin_fraction"] = round(float(r.skin[region].mean()), 4)
            if seen is not None:  # the region's hidden folds (no view sees them) are filled from their rim
                entry["head_face_unseen"] = round(float(1 - seen[region].mean()), 4)
                entry["head_face_seen_skin_fraction"] = round(float(r.skin[region & seen].mean()), 4)
        res[name] = entry
        print(name, entry, flush=True)
        tiles.append((name, picture_tile(upright_mesh, r.probability)))
        return r

    lps_file = load_mesh(base / "lee_perry_smith" / "LeePerrySmith_decoded.obj")
    lps = turned(lps_file, Y_UP_FACE_Z)
    z = lps.vertices[:, 2]
    width = float(np.ptp(lps.vertices, 0)[:2].max())
    head = z >= z.max() - LPS_CHIN_BELOW_CROWN * width
    record("lps_as_stored_y_up", lps_file, lps, head)
    record("lps_upright_textured", lps, lps, head)
    record("lps_upright_baked_colours", baked(lps, folder), lps, head)
    for seed in (1, 2):
        record(f"lps_rotated_{seed}", turned(lps, rotation(seed)), lps, head)
    res["lps_feature_ablation"] = sigma_ablation(face_upright(with_surface_colors(lps))[0])
    print(res["lps_feature_ablation"], flush=True)
    fran_file = load_mesh(base / "fran" / "fran_cut_converted.obj")
    fran = turned(fran_file, Y_UP_FACE_X)
    record("fran_as_stored", fran_file, fran)
    record("fran_upright_textured", fran, fran)
    record("fran_rotated_1", turned(fran, rotation(1)), fran)
    artec = []
    for path in sorted((base / "artec_faces").glob("*.obj")):
        mesh = load_mesh(path)
        r, seconds, two_d, _ = segment(mesh)
        artec.append({"scan": path.stem, "vertices": mesh.n_vertices, "model": r.variant,
                      "skin_fraction": round(r.skin_fraction, 4), "skin_fraction_2d": two_d,
                      "seconds": round(seconds, 2)})
        print(artec[-1], flush=True)
        if path.stem == "p02_neutral":
            tiles.append(("artec_p02_neutral", picture_tile(turned(mesh, Y_UP_FACE_Z), r.probability)))
    res["artec"] = artec
    hum = load_mesh(base / "humface" / "humface.ply")
    record("humface", hum, turned(hum, Y_UP_FACE_Z))
    ref = res["lps_upright_textured"]["skin_fraction"]
    res["rotation_delta"] = round(max(abs(res[k]["skin_fraction"] - ref) for k in
                                      ("lps_upright_baked_colours", "lps_rotated_1", "lps_rotated_2")), 4)
    res["rotation_delta_fran"] = round(abs(res["fran_rotated_1"]["skin_fraction"]
                                           - res["fran_upright_textured"]["skin_fraction"]), 4)
    return res, tiles


# ------------------------------------------------------------------------------------------------ synthetic

def synthetic_subset(cache: Path = SYNTH_VIEWS) -> dict:
    """The default pipeline (13 Cycles views of the scan + skin_p2p.pt) on the regenerated synthetic test scans
    in SYNTH_ROOT: mIoU (per scan, skin and non-skin IoU averaged, then over scans) and the 2D baseline (the lifted
    encoder skin maps alone). The scans are generated upright, so the rig is placed as bench_skin.py places it
    (no face-frame search), with the rigs of `scan_views`. Views are rendered once per scan and cached (they do not
    depend on the skin networks)."""
    from face_addon.blender.scan_views import scan_views
    from face_addon.core.color import srgb_to_linear
    from face_addon.core.dataset import complete_seeds, load_sample, split_of
    from face_addon.core.geometry.multiview import ViewCamera
    from face_addon.core.mesh import Mesh
    from face_addon.core.pipelines import skin_image as si
    from face_addon.core.pipelines.segment_skin import segment_skin

    seeds = [s for s in complete_seeds(SYNTH_ROOT) if split_of(s) == "test"] if SYNTH_ROOT.is_dir() else []
    if not seeds:
        return {"n": 0, "note": f"no synthetic test scans in {SYNTH_ROOT} ({SYNTH_COMMAND})"}
    enc = si.load_image_encoder(si.IMAGE_WEIGHTS)
    cache.mkdir(parents=True, exist_ok=True)
    per_scan = []
    for seed in seeds:
        s = load_sample(SYNTH_ROOT, seed, head=False, cameras=False)
        colors = srgb_to_linear(s.scan_colors[:, :3] / 255.0)
        path = cache / f"{seed:07d}.npz"
        views = None
        if path.is_file():
            with np.load(path) as z:
                if np.array_equal(z["turns"], si.RIG_TURNS):  # views of other rigs are rendered again
                    views = si.SkinViews(z["images"], [ViewCamera.from_json(json.loads(c)) for c in z["cameras"]],
                                         rigs=len(si.RIG_TURNS))
        if views is None:
            views = scan_views(Mesh(s.scan_vertices, s.scan_faces, colors=colors))
            np.savez_compressed(path, images=views.images, turns=np.array(si.RIG_TURNS),
                                cameras=np.array([json.dumps(c.to_json()) for c in views.cameras]))
        r = segment_skin(s.scan_vertices, s.scan_faces, colors, views=views, weights=WEIGHTS)
        feats, skin2d = si.encode_views(enc, views)
        two_d = si.lift_rigs(s.scan_vertices, s.scan_faces, feats, skin2d, views)[2] >= 0.5
        per_scan.append({"seed": seed, "vertices": len(s.skin), "miou": round(scan_miou(r.skin, s.skin), 4),
                         "miou_2d": round(scan_miou(two_d, s.skin), 4), "model": r.variant})
        print(per_scan[-1], flush=True)
    return {"n": len(per_scan), "seeds": [seeds[0], seeds[-1]], "miou": round(float(np.mean([p["miou"] for p in per_scan])), 4),
            "miou_2d": round(float(np.mean([p["miou_2d"] for p in per_scan])), 4), "per_scan": per_scan}


def scan_miou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean of the skin and non-skin IoU over one scan's vertices (bench_skin.py's per-scan mIoU)."""
    ious = [((p & t).sum() / max((p | t).sum(), 1)) if (p | t).any() else 1.0
            for p, t in ((pred, truth), (~pred, ~truth))]
    return float(np.mean(ious))


# ------------------------------------------------------------------------------------------------ timing

def timing_child(root: Path) -> None:
    """In a fresh process with one thread: LPS subdivided to ~250k vertices (UVs carried), the default pipeline."""
    import torch
    import trimesh

    from face_addon.core.mesh import Mesh
    from face_addon.core.mesh_files import load_mesh

    torch.set_num_threads(1)
    lps = load_mesh(root / "scans" / "lee_perry_smith" / "LeePerrySmith_decoded.obj")
    uv_v = np.zeros((lps.n_vertices, 2), np.float32)
    uv_v[lps.faces.reshape(-1)] = lps.uv.reshape(-1, 2)  # the file has one UV per vertex
    tm = trimesh.Trimesh(lps.vertices @ Y_UP_FACE_Z.T, lps.faces, process=False)
    attrs = uv_v
    for _ in range(2):
        new_v, new_f, extra = trimesh.remesh.subdivide(tm.vertices, tm.faces, vertex_attributes={"uv": attrs})
        tm, attrs = trimesh.Trimesh(new_v, new_f, process=False), extra["uv"]
    # the rest by splitting random triangles at their centroid (one new vertex each, no T-junctions)
    v, f, uv = np.asarray(tm.vertices), np.asarray(tm.faces), np.asarray(attrs)
    idx = np.random.default_rng(0).choice(len(f), max(TIMING_VERTICES - len(v), 0), replace=False)
    c = len(v) + np.arange(len(idx))
    a, b, d = f[idx].T
    v = np.concatenate([v, v[f[idx]].mean(1)])
    uv = np.concatenate([uv, uv[f[idx]].mean(1)])
    keep = np.ones(len(f), bool)
    keep[idx] = False
    f = np.concatenate([f[keep], np.stack([a, b, c], 1), np.stack([b, d, c], 1), np.stack([d, a, c], 1)])
    big = Mesh(v, f, uv=uv.astype(np.float32)[f], texture=lps.texture, name="lps_250k")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    r, seconds, _, _ = segment(big)
    print(json.dumps({"vertices": big.n_vertices, "model": r.variant, "seconds": round(seconds, 2),
                      "stages_s": {k: round(v, 2) for k, v in r.timings.items()},
                      "skin_fraction": round(r.skin_fraction, 4), "rss_before_gib": round(before, 3),
                      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 3)}))


def timing(root: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, __file__, "--timing", str(root)], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------ report

def save_picture(scan_tiles: list[tuple[str, np.ndarray]], london_tiles: list[np.ndarray],
                 file_name: str = "skin_real.png") -> None:
    from PIL import Image, ImageDraw

    rows = []
    for i in range(0, len(scan_tiles), 3):
        group = scan_tiles[i:i + 3]
        cells = []
        for name, tile in group:
            im = Image.fromarray(tile)
            ImageDraw.Draw(im).text((4, 4), name, fill=(255, 255, 255))
            cells.append(np.asarray(im))
        while len(cells) < 3:
            cells.append(np.zeros_like(scan_tiles[0][1]))
        rows.append(np.concatenate(cells, 1))
    sheet = np.concatenate(rows, 0)
    if london_tiles:
        strip = np.concatenate(london_tiles, 1)
        scale = sheet.shape[1] / strip.shape[1]
        strip = np.asarray(Image.fromarray(strip).resize((sheet.shape[1], round(strip.shape[0] * scale))))
        sheet = np.concatenate([sheet, strip], 0)
    Image.fromarray(sheet).save(picture_path(file_name))


def run(root: Path) -> tuple[dict, str]:
    import tempfile

    import torch

    torch.set_num_threads(1)
    lon, lon_tiles = london(root)
    with tempfile.TemporaryDirectory() as tmp:
        sc, tiles = scans(root, Path(tmp))
    tm = timing(root)
    save_picture(tiles, lon_tiles)
    synth = synthetic_subset()
    keys = {"skin_london_iou": lon["held_out_backdrop"],
            "skin_lps_fraction": sc["lps_upright_textured"]["head_face_skin_fraction"],
            "skin_rotation_delta": sc["rotation_delta"],
            "skin_synth_miou": synth.get("miou"),
            "skin_synth_miou_note": (f"a regenerated subset, not bench_skin.py's 100-scan test set: {synth['n']} "
                                     f"test seeds {synth['seeds'][0]}-{synth['seeds'][1]} ({SYNTH_COMMAND}), the "
                                     "default pipeline with its rendered views (4 rigs × 13)"
                                     if synth["n"] else synth["note"]),
            "skin_real": {"london": lon, "scans": sc, "timing_250k": tm, "synthetic_subset": synth}}
    md = markdown(keys, lon, sc, tm, synth)
    return keys, md


def markdown(keys: dict, lon: dict, sc: dict, tm: dict, synth: dict) -> str:
    lines = ["## Segment Skin on real data", "",
             f"London encoder skin IoU (held-out odd ids, n={lon['n_held_out']}): **{lon['held_out_backdrop']:.3f}** "
             f"with the backdrop cue, {lon['held_out_plain']:.3f} without (tuned half: {lon['tuned_backdrop']:.3f} / "
             f"{lon['tuned_plain']:.3f}); 10th percentile {lon['held_out_p10_backdrop']:.3f}. By group: "
             + ", ".join(f"{g} {v['iou']:.3f} (n={v['n']})" for g, v in lon["held_out_by_group"].items()) + ".", "",
             "| scan | vertices | model | skin fraction | head-and-face skin | 2D baseline | time |",
             "|---|---|---|---|---|---|---|"]
    for name, e in sc.items():
        if isinstance(e, dict) and "skin_fraction" in e:
            lines.append(f"| {name} | {e['vertices']:,} | {e['model']} | {e['skin_fraction']:.3f} | "
                         f"{e.get('head_face_skin_fraction', '—')} | {e.get('skin_fraction_2d', '—')} | "
                         f"{e['seconds']:.1f} s |")
    fr = [a["skin_fraction"] for a in sc["artec"]]
    lps = sc["lps_upright_textured"]
    fr2 = [a["skin_fraction_2d"] for a in sc["artec"] if a["skin_fraction_2d"] is not None]
    lines += ["", f"Artec faces ({len(fr)} scans, no colour: {', '.join(sorted({a['model'] for a in sc['artec']}))}, "
                  f"views in the neutral skin tone): skin fraction mean {np.mean(fr):.3f}, min {np.min(fr):.3f}, "
                  f"max {np.max(fr):.3f}; the 2D baseline alone: mean {np.mean(fr2):.3f}, min {np.min(fr2):.3f}.",
              f"LPS head and face (upright textured): {lps['head_face_unseen']:.3f} of its vertices are seen by no "
              f"view (inside the closed lids, lip and ear folds; filled from the seen surface around them, "
              f"`segment_skin.UNSEEN_CONFIDENCE`); skin among the seen ones: "
              f"{lps['head_face_seen_skin_fraction']:.4f}.",
              f"Rotation delta (LPS, baked colours and two random rotations vs upright textured): "
              f"**{sc['rotation_delta']:.3f}**; fran rotated: {sc['rotation_delta_fran']:.3f}.",
              f"250k-vertex textured scan (LPS subdivided, {tm['vertices']:,} vertices, one thread, fresh process): "
              f"**{tm['seconds']:.1f} s**, peak RSS **{tm['peak_rss_gib']:.2f} GiB** ({tm['model']}).",
              f"Synthetic mIoU: **{keys['skin_synth_miou']}** ({keys['skin_synth_miou_note']}); the 2D baseline "
              f"(lifted encoder skin maps alone) on the same scans: {synth.get('miou_2d')}.",
              "", picture_note("skin_real.png", "real scans, skin in orange")]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--timing":
        timing_child(Path(sys.argv[2]))
