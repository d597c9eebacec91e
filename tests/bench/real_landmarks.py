"""Real-data part of the landmark benchmark (bench_real.py --part landmarks): Detect Landmarks on real scans.

- artec_faces (15 Artec face scans, mm, +Y up as stored, hand-clicked lm22 points): the 10 points comparable with
  iBUG-68 (eye corners 36/39/42/45, nose tip 30, subnasale 33, mouth corners 48/54, upper lip 51, chin 8; the
  correspondences of ../shared/real/README.md), per method (views, sgcn, fusion), mean and per region, files as
  stored and under a random rotation each; a per-scan table; the shadings of the view method, and the scan map
  (landmarks_views.scan_weights) against the photo-calibrated 468 -> 68 map and the index table, side by side;
  the confidence check (do the least-confident 10 % of points have larger errors than the rest?).
- humface: its 7 points (eye corners, nose tip, mouth corners).
- seconds per 100k-vertex scan on one thread (an Artec scan refined to ~100k vertices by midpoint subdivision
  of part of its triangles).
- pictures: out/real_pictures/landmarks_real.png, not in git (lee_perry_smith, fran, three Artec scans with the hand-clicked points).

Settings of the view method were chosen on p02/p05/p06 (shading, rig, fill) and are checked on all 15 scans.
The ICP baseline of bench_landmarks.py is not run here: it starts from an upright pose and snaps the FaceKit
landmarks, i.e. it measures the face frame plus FaceKit's own landmark convention (see docs/landmarks.md).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from real_data import picture_note, picture_path

REPO = Path(__file__).resolve().parents[2]
#: iBUG index <- lm22 index (../shared/real/README.md)
ARTEC_PAIRS = {36: 6, 39: 8, 42: 10, 45: 12, 30: 15, 33: 17, 48: 18, 54: 20, 51: 19, 8: 21}
#: iBUG index <- humface_lm.txt row (img-left is the subject's right)
HUMFACE_PAIRS = {36: 0, 39: 1, 42: 2, 45: 3, 30: 4, 48: 5, 54: 6}
#: iBUG brow index <- lm22 index: reported apart from the 10 points (the README: brow definitions looser than iBUG's)
BROW_PAIRS = {17: 0, 19: 1, 21: 2, 22: 3, 24: 4, 26: 5}
REGIONS = {"eyes": (36, 39, 42, 45), "nose": (30, 33), "mouth": (48, 54, 51), "chin": (8,)}
METHODS = ("views", "sgcn", "fusion")
SHADINGS = ("lambert", "normal_z", "mixed", "cavity")
SELECTION = ("p02", "p05", "p06")  # scans the settings were picked on


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def artec_scans(root: Path) -> list[tuple[str, object, np.ndarray]]:
    """(name, Mesh, (22, 3) lm22 points in mm) per Artec scan."""
    from face_addon.core.mesh_files import load_mesh

    out = []
    for obj in sorted((root / "scans" / "artec_faces").glob("*.obj")):
        lm = np.loadtxt(obj.with_name(obj.stem + "_lm22.csv"), delimiter=",", skiprows=1, usecols=(3, 4, 5))
        out.append((obj.stem, load_mesh(obj), lm))
    return out


def errors_mm(pred68: np.ndarray, truth: np.ndarray, pairs: dict[int, int]) -> np.ndarray:
    return np.linalg.norm(pred68[list(pairs)] - truth[list(pairs.values())], axis=1)


def summary(err: np.ndarray, pairs: dict[int, int]) -> dict:
    """{'mean': .., 'eyes': .., ...} of an (n_scans, n_points) error array in mm."""
    cols = list(pairs)
    out = {"mean": round(float(err.mean()), 2)}
    for region, idx in REGIONS.items():
        sel = [cols.index(i) for i in idx if i in cols]
        if sel:
            out[region] = round(float(err[:, sel].mean()), 2)
    return out


def subdivided_to(mesh, target: int):
    """The mesh with midpoint subdivision of its first triangles until it has about `target` vertices."""
    import trimesh

    from face_addon.core.mesh import Mesh

    v, f = mesh.vertices, mesh.faces
    extra_per_face = 1.5  # each subdivided triangle adds ~1.5 new vertices (shared edge midpoints)
    n = int(min(len(f), max(0, (target - len(v)) / extra_per_face)))
    nv, nf = trimesh.remesh.subdivide(v, f, face_index=np.arange(n))
    return Mesh(nv, nf, name=mesh.name)


def run(root: Path) -> tuple[dict, str]:
    import torch

    from face_addon.core.geometry.scan_render import ScanSurface
    from face_addon.core.photo.ibug_map import load_weights, table_weights
    from face_addon.core.pipelines import landmarks_views as lv
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks
    from face_addon.core.pipelines.face_orientation import find_face_frame

    torch.set_num_threads(1)
    rng = np.random.default_rng(17)
    scans = artec_scans(root)
    errs = {m: [] for m in METHODS}
    brow_errs = {m: [] for m in METHODS}
    rot_errs, rot_diff, conf_pairs, shading_errs = [], [], [], {s: [] for s in SHADINGS}
    rows, times, upright_results = [], [], []
    for name, mesh, lm in scans:
        per = {}
        for method in METHODS:
            t0 = time.process_time()
            r = detect_landmarks(mesh.vertices, mesh.faces, method=method, fallback=True)
            dt = time.process_time() - t0
            e = errors_mm(r.landmarks, lm, ARTEC_PAIRS)
            errs[method].append(e)
            brow_errs[method].append(errors_mm(r.landmarks, lm, BROW_PAIRS))
            per[method] = (e.mean(), r.method, dt)
            if method == "views":
                upright = r
                upright_results.append((name, r))
                conf_pairs.append(np.stack([r.confidence[list(ARTEC_PAIRS)], e], 1))
                times.append((mesh.n_vertices, dt))
        rot = random_rotation(rng)
        rr = detect_landmarks(mesh.vertices @ rot.T, mesh.faces, method="views", fallback=True)
        back = rr.landmarks @ rot
        rot_errs.append(errors_mm(back, lm, ARTEC_PAIRS))
        rot_diff.append(np.linalg.norm(back - upright.landmarks, axis=1))
        surface = ScanSurface.of(mesh.vertices, mesh.faces, cavity=True)
        frame = find_face_frame(mesh.vertices, mesh.faces, surface=surface)
        variants = {s: {"shading": s} for s in SHADINGS}  # with the scan map (landmarks_views.scan_weights)
        variants["cavity, photo-calibrated map"] = {"shading": "cavity", "ibug_weights": load_weights()}
        variants["cavity, index table"] = {"shading": "cavity", "ibug_weights": table_weights()}
        for key, kwargs in variants.items():
            found = lv.landmarks_from_views(surface, frame, **kwargs) if frame is not None else None
            shading_errs.setdefault(key, []).append(errors_mm(found.points, lm, ARTEC_PAIRS) if found is not None
                                                    else np.full(len(ARTEC_PAIRS), np.nan))
        orient = upright.orientation or {}
        rows.append(f"| {name} | {mesh.n_vertices} | " + " | ".join(f"{per[m][0]:.2f}" for m in METHODS)
                    + f" | {rot_errs[-1].mean():.2f} | {rot_diff[-1][list(ARTEC_PAIRS)].mean():.2f} | "
                    f"{orient.get('units', '-')} | {orient.get('confidence', '-')} | {per['views'][2]:.1f} |")
        print(rows[-1], flush=True)

    keys: dict = {}
    keys["landmarks_artec_mm"] = {m: summary(np.array(errs[m]), ARTEC_PAIRS) for m in METHODS}
    keys["landmarks_artec_brows_mm"] = {
        m: {"mean": round(float(np.mean(e)), 2),
            "per_point": {str(i): round(float(x), 2) for i, x in zip(BROW_PAIRS, np.mean(e, axis=0))}}
        for m, e in brow_errs.items()}
    rot_e, rot_d = np.array(rot_errs), np.array(rot_diff)
    keys["landmarks_artec_rotated_mm"] = {
        "views": summary(rot_e, ARTEC_PAIRS),
        "difference_to_upright_mm": {"mean_10_points": round(float(rot_d[:, list(ARTEC_PAIRS)].mean()), 2),
                                     "mean_68": round(float(rot_d.mean()), 2),
                                     "max_10_points": round(float(rot_d[:, list(ARTEC_PAIRS)].max()), 2)}}
    keys["landmarks_artec_shading_mm"] = {
        s: {"all": summary(np.array(e), ARTEC_PAIRS),
            "selection_scans": summary(np.array([x for (n, _, _), x in zip(scans, e) if n[:3] in SELECTION]),
                                       ARTEC_PAIRS)}
        for s, e in shading_errs.items()}
    cp = np.concatenate(conf_pairs)
    cut = np.quantile(cp[:, 0], 0.1)
    low, rest = cp[cp[:, 0] <= cut, 1], cp[cp[:, 0] > cut, 1]
    keys["landmarks_artec_confidence"] = {"least_confident_10pct_mm": round(float(low.mean()), 2),
                                          "rest_mm": round(float(rest.mean()), 2),
                                          "holds": bool(low.mean() > rest.mean())}
    keys["landmarks_humface_mm"] = humface(root)
    keys["landmarks_artec_point_clouds_mm"] = clouds(root, scans)
    keys["landmarks_real_falloff"] = falloff(root, upright_results)
    keys["landmarks_time_100k_s"] = time_100k(scans[0][1])
    keys["landmarks_time_artec_s"] = {"mean_s": round(float(np.mean([t for _, t in times])), 2),
                                      "mean_vertices": int(np.mean([n for n, _ in times]))}
    keys["landmarks_artec_frame_search"] = frame_search(scans)
    keys["landmarks_synth_mm"] = synthetic()
    picture = pictures(root, scans)
    return keys, markdown(keys, rows, picture)


def layout_deviation_mm(result) -> np.ndarray:
    """(68,) mm from FaceKit's mean-face landmarks similarity-fitted to the points the views agree on (confidence
    >= 0.5; refitted once without points > 10 mm off): a plausibility check for all 68 points where no human
    annotation has them. It is not an error (real faces differ from the mean face: expression, the Artec crops'
    jaw contour), but a point 20 mm off the layout is a misread."""
    from face_addon.core.facekit import load_facekit
    from face_addon.core.geometry.similarity import umeyama

    fk = load_facekit()
    mean = fk.landmarks(fk.template)
    p, conf = result.landmarks, result.confidence
    sel = conf >= min(0.5, float(np.quantile(conf, 0.5)))
    for _ in range(2):
        s, rot, t = umeyama(mean[sel], p[sel])
        dev = np.linalg.norm(s * mean @ rot.T + t - p, axis=1) / result.frame.scale * 1e3
        sel &= dev < 10.0
    return dev


def falloff(root: Path, artec_results: list) -> dict:
    """How often and how far the 51 inner points fall off on real scans (all 68 iBUG points are what the held-out
    annotated scans measure; the clicks here cover 10 or 7): per scan set, the count of inner points more than 15
    and 20 mm from the mean-face layout (`layout_deviation_mm`), the largest, and the confidence of those over
    20 mm; the jaw contour's mean confidence per set (a crop's border guesses vs a whole head)."""
    from face_addon.core.mesh_files import load_mesh
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks

    sets = {"artec": artec_results}
    for key, path in (("humface", "humface/humface.ply"),
                      ("lee_perry_smith", "lee_perry_smith/LeePerrySmith_decoded.obj"),
                      ("fran", "fran/fran_cut_converted.obj")):
        mesh = load_mesh(root / "scans" / path)
        sets[key] = [(key, detect_landmarks(mesh.vertices, mesh.faces, colors=mesh.colors, uv=mesh.uv,
                                            texture=mesh.texture))]
    inner, contour = np.arange(17, 68), np.setdiff1d(np.arange(17), [8])
    out = {}
    for key, results in sets.items():
        dev = np.array([layout_deviation_mm(r)[inner] for _, r in results])
        conf = np.array([r.confidence[inner] for _, r in results])
        far = np.argwhere(dev > 20.0)
        out[key] = {"scans": len(results), "inner_points": int(dev.size), "over_15mm": int((dev > 15).sum()),
                    "over_20mm": int((dev > 20).sum()), "max_mm": round(float(dev.max()), 1),
                    "over_20mm_points": [f"{results[i][0]}:{17 + j} {dev[i, j]:.0f} mm conf {conf[i, j]:.2f}"
                                         for i, j in far],
                    "contour_confidence": round(float(np.mean([r.confidence[contour].mean() for _, r in results])), 2)}
    return out


def frame_search(scans, seeds: tuple[int, ...] = (1, 2, 3)) -> dict:
    """Face-frame search under random rotations: every scan turned by len(seeds) random rotations; a failure is
    no frame or a frame more than 5° from the upright scan's frame (turned back)."""
    from face_addon.core.pipelines.face_orientation import find_face_frame

    failures, angles = [], []
    for i, (name, mesh, _) in enumerate(scans):
        ref = find_face_frame(mesh.vertices, mesh.faces)
        for seed in seeds:
            rot = random_rotation(np.random.default_rng([seed, i]))
            f = find_face_frame(mesh.vertices @ rot.T, mesh.faces)
            if ref is None or f is None:
                failures.append(f"{name}/{seed}: no frame")
                continue
            cos = (np.trace((rot.T @ f.rotation).T @ ref.rotation) - 1) / 2
            angles.append(float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
            if angles[-1] > 5.0:
                failures.append(f"{name}/{seed}: {angles[-1]:.0f} deg off")
    return {"rotations": len(scans) * len(seeds), "failures": len(failures), "failed": failures,
            "median_angle_deg": round(float(np.median(angles)), 2) if angles else None,
            "max_angle_deg_found": round(float(np.max([a for a in angles if a <= 5.0], initial=0.0)), 2)}


def synthetic(count: int = 16) -> dict | str:
    """views vs sgcn on the synthetic scan-profile test scans (seeds 1,000,000+, never trained on) that are on
    this machine, under bench_landmarks.py's per-seed pose change; all 68 points, mm. The labels are FaceKit's
    landmarks, which follow the human (photo) convention since commit dcbe796. "views, contour from the views":
    the view method with its own face-oval contour instead of the FaceKit fit (landmarks_views.CONTOUR), on the
    scans where a face frame is found (elsewhere both fall back to sgcn); the contour fit's confidence check
    (least-confident 10 % of the fitted contour points against the rest)."""
    from bench_landmarks import TEST_ROOT, perturbation

    from face_addon.core.dataset import complete_seeds, load_sample, split_of
    from face_addon.core.geometry.scan_render import ScanSurface
    from face_addon.core.pipelines import landmarks_views as lv
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks

    seeds = [s for s in complete_seeds(TEST_ROOT) if split_of(s) == "test"][:count] if TEST_ROOT.is_dir() else []
    if not seeds:
        return f"not measured: no synthetic test scans in {TEST_ROOT} (face synth --profile scan --seed 1000000)"
    errs: dict[str, list] = {"views": [], "views, contour from the views": [], "sgcn": []}
    fitted = np.setdiff1d(np.arange(17), lv.KEEP_VIEW_CONTOUR)
    conf_pairs = []
    for seed in seeds:
        s = load_sample(TEST_ROOT, seed)
        rot, unit = perturbation(seed)
        verts = s.scan_vertices.astype(np.float64) @ rot.T * unit
        truth = s.landmarks.astype(np.float64) @ rot.T * unit
        for method in ("views", "sgcn"):
            r = detect_landmarks(verts, s.scan_faces, method=method, colors=s.scan_colors, fallback=True)
            errs[method].append(np.linalg.norm(r.landmarks - truth, axis=1) * 1000.0 / unit)
            if method == "views":
                old = r.landmarks
                if r.method == "views":
                    conf_pairs.append(np.stack([r.confidence[fitted], errs["views"][-1][fitted]], 1))
                    surface = ScanSurface.of(verts, s.scan_faces, s.scan_colors)
                    old = lv.landmarks_from_views(surface, r.frame, contour="views").points
                errs["views, contour from the views"].append(np.linalg.norm(old - truth, axis=1) * 1000.0 / unit)
    out: dict = {"seeds": [int(seeds[0]), int(seeds[-1])], "scans": len(seeds),
                 "scans_with_a_face_frame": len(conf_pairs)}
    for method, e in errs.items():
        out[method] = region_summary(np.array(e))
        arr = np.array(e)
        out[method].update({"points_over_10mm": int((arr > 10).sum()), "points_over_20mm": int((arr > 20).sum()),
                            "max_mm": round(float(arr.max()), 1)})
    cp = np.concatenate(conf_pairs) if conf_pairs else np.zeros((0, 2))
    if len(cp):
        cut = np.quantile(cp[:, 0], 0.1)
        out["contour_confidence"] = {"least_confident_10pct_mm": round(float(cp[cp[:, 0] <= cut, 1].mean()), 2),
                                     "rest_mm": round(float(cp[cp[:, 0] > cut, 1].mean()), 2)}
    return out


def region_summary(e: np.ndarray) -> dict:
    """Mean, median scan, per iBUG region and the chin (8) of (scans, 68) errors in mm."""
    from face_addon.core import ibug68

    return {"mean": round(float(e.mean()), 2), "median_scan": round(float(np.median(e.mean(1))), 2),
            **{g: round(float(e[:, idx].mean()), 2) for g, idx in ibug68.REGIONS.items()},
            "chin": round(float(e[:, 8].mean()), 2)}


def frame_search_line(f: dict) -> str:
    return (f"Face frame under random turns: {f['failures']} failures in {f['rotations']} (15 scans x 3 rotations; "
            f"median {f['median_angle_deg']} deg, max {f['max_angle_deg_found']} deg from the upright scan's frame)"
            + (": " + ", ".join(f["failed"]) if f["failed"] else "."))


def synthetic_line(r: dict | str) -> str:
    if isinstance(r, str):
        return f"Synthetic test scans: {r}"
    regions = ("contour", "chin", "brows", "nose", "eyes", "mouth")
    methods = [m for m in ("views", "views, contour from the views", "sgcn") if m in r]
    line = (f"Synthetic test scans {r['seeds'][0]}-{r['seeds'][1]} ({r['scans']}, {r.get('scans_with_a_face_frame', '?')} "
            "with a face frame; all 68 points, mm, labels are FaceKit's own landmarks in the human convention since "
            "dcbe796, so the FaceKit contour fit has a home advantage): " + "; ".join(
                f"{m} {r[m]['mean']} (" + ", ".join(f"{g} {r[m].get(g, '-')}" for g in regions)
                + f"; points > 10 / > 20 mm: {r[m].get('points_over_10mm', '-')} / {r[m].get('points_over_20mm', '-')} "
                f"of {68 * r['scans']}, max {r[m].get('max_mm', '-')})" for m in methods))
    c = r.get("contour_confidence")
    return line + (f". Fitted contour points: least-confident 10 % {c['least_confident_10pct_mm']} mm, the rest "
                   f"{c['rest_mm']} mm." if c else "")


def falloff_lines(f: dict) -> list[str]:
    lines = ["Inner points (17-67) off the mean-face layout fitted to the confident ones (a plausibility check, not an "
             "error; real faces differ from the mean face by up to ~15 mm):", "",
             "| scans | inner points | > 15 mm | > 20 mm | max mm | contour confidence | points > 20 mm |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {k} ({v['scans']}) | {v['inner_points']} | {v['over_15mm']} | {v['over_20mm']} | {v['max_mm']} | "
              f"{v['contour_confidence']} | {', '.join(v['over_20mm_points']) or '-'} |" for k, v in f.items()]
    return lines


def clouds(root: Path, scans) -> dict:
    """The Artec scans' vertices as point clouds (session 13: drawn as splats, read by the views): as stored, turned
    at random, every fifth point, 0.3 mm noise; against 2S-SGCN without a face frame (what point clouds got
    before: guessed frames, `sgcn_frame.guessed_frames`). humface as a cloud too."""
    from face_addon.core.mesh import Mesh, MeshError
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks, detect_landmarks_sgcn

    rng = np.random.default_rng(13)
    rows: dict[str, list] = {k: [] for k in ("views", "views_turned", "views_fifth", "views_noise_0.3mm", "sgcn_guessed")}
    turn_diff, seconds = [], []

    def read(points):
        try:
            return detect_landmarks(points, None).landmarks
        except MeshError:  # no face found: counted as missing
            return np.full((68, 3), np.nan)

    for name, mesh, lm in scans:
        p = mesh.vertices
        t0 = time.process_time()
        plain = read(p)
        seconds.append(time.process_time() - t0)
        rot = random_rotation(rng)
        turned = read(p @ rot.T) @ rot
        turn_diff.append(np.linalg.norm(turned - plain, axis=1).mean())
        readings = {"views": plain, "views_turned": turned,
                    "views_fifth": read(p[rng.choice(len(p), len(p) // 5, replace=False)]),
                    "views_noise_0.3mm": read(p + rng.normal(0, 0.3, p.shape)),
                    "sgcn_guessed": detect_landmarks_sgcn(Mesh(p, np.zeros((0, 3), np.int64))).landmarks}
        for k, pred in readings.items():
            rows[k].append(errors_mm(pred, lm, ARTEC_PAIRS))
        print(f"cloud {name}: " + ", ".join(f"{k} {np.mean(v[-1]):.2f}" for k, v in rows.items()), flush=True)
    out: dict = {}
    for k, v in rows.items():
        err = np.array(v)
        found = np.isfinite(err).all(1)
        out[k] = {**summary(err[found], ARTEC_PAIRS), "found": int(found.sum())}  # mean over the scans read
    out["turned_vs_stored_mm"] = round(float(np.nanmean(turn_diff)), 2)
    out["cpu_s_per_scan"] = round(float(np.mean(seconds)), 2)
    hm, truth = humface_scan(root)
    out["humface_views_mm"] = round(float(errors_mm(read(hm.vertices), truth, HUMFACE_PAIRS).mean()), 2)
    return out


def humface_scan(root: Path):
    """(humface mesh, its 7 annotated points)."""
    from face_addon.core.mesh_files import load_mesh

    return (load_mesh(root / "scans" / "humface" / "humface.ply"),
            np.loadtxt(root / "scans" / "humface" / "humface_lm.txt", comments="#", usecols=(2, 3, 4)))


def humface(root: Path) -> dict:
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks

    mesh, truth = humface_scan(root)
    out = {}
    for method in METHODS:
        r = detect_landmarks(mesh.vertices, mesh.faces, method=method, fallback=True)
        e = errors_mm(r.landmarks, truth, HUMFACE_PAIRS)[None]
        out[method] = summary(e, HUMFACE_PAIRS)
    return out


def time_100k(mesh) -> dict:
    """CPU seconds of the default method on one thread for a ~100k-vertex scan (best of 2: first-call costs
    out). CPU time, not wall time: the benchmark machine is shared, and one thread's CPU time is what a quiet
    machine's wall time would be."""
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks

    big = subdivided_to(mesh, 100_000)
    best = np.inf
    for _ in range(2):
        t0 = time.process_time()
        r = detect_landmarks(big.vertices, big.faces)
        best = min(best, time.process_time() - t0)
    return {"seconds": round(float(best), 2), "vertices": int(big.n_vertices),
            "timings": {k: round(v, 2) for k, v in r.timings.items()}}


def pictures(root: Path, scans) -> str:
    """out/real_pictures/landmarks_real.png: predicted landmarks (red, views) and hand-clicked points (green) on
    lee_perry_smith, fran and three Artec scans, rendered frontally in the found face frame."""
    from PIL import Image, ImageDraw

    from face_addon.core.geometry.scan_render import ScanSurface, render
    from face_addon.core.mesh_files import load_mesh
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks
    from face_addon.core.pipelines.face_orientation import frontal_camera

    items = [(load_mesh(root / "scans" / "lee_perry_smith" / "LeePerrySmith_decoded.obj"), None),
             (load_mesh(root / "scans" / "fran" / "fran_cut_converted.obj"), None)]
    items += [(mesh, lm) for name, mesh, lm in scans if name in ("p05_smile", "p10_neutral", "p17_wacky")]
    tiles = []
    for mesh, lm in items:
        r = detect_landmarks(mesh.vertices, mesh.faces, colors=mesh.colors, uv=mesh.uv, texture=mesh.texture)
        if r.frame is None:
            continue
        cam = frontal_camera(r.frame, 360, 0.0, 0.0, fill=0.62)
        surface = ScanSurface.of(mesh.vertices, mesh.faces, mesh.colors, mesh.uv, mesh.texture)
        im = Image.fromarray((render(surface, cam).image * 255).astype(np.uint8))
        draw = ImageDraw.Draw(im)
        if lm is not None:
            for x, y in cam.project(lm[list(ARTEC_PAIRS.values())])[0]:
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(40, 220, 40))
        for (x, y), c in zip(cam.project(r.landmarks)[0], r.confidence):
            red = (255, int(200 * (1 - c)), 0)  # red: confident, yellow: not
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=red)
        draw.text((6, 4), f"{mesh.name}: {r.frame.describe()}"[:70], fill=(255, 255, 255))
        tiles.append(np.asarray(im))
    Image.fromarray(np.concatenate(tiles, 1)).save(picture_path("landmarks_real.png"))
    return "landmarks_real.png"


def cloud_line(c: dict) -> str:
    names = {"views": "as stored", "views_turned": "turned at random", "views_fifth": "every fifth point",
             "views_noise_0.3mm": "0.3 mm noise", "sgcn_guessed": "2S-SGCN in guessed frames (before session 13)"}
    return ("Point clouds (the Artec scans' vertices without their faces; views on splats, mean / eyes mm over the "
            "10 points, scans with a face found): " + "; ".join(
                f"{names[k]} {c[k]['mean']} / {c[k]['eyes']} ({c[k]['found']}/15)" for k in names)
            + f". Turned vs stored: {c['turned_vs_stored_mm']} mm over all 68; {c['cpu_s_per_scan']} CPU-s per "
            f"scan; humface as a cloud {c['humface_views_mm']} mm.")


def markdown(keys: dict, rows: list[str], picture: str) -> str:
    a = keys["landmarks_artec_mm"]
    lines = ["## Landmarks on real scans", "",
             "artec_faces, 15 scans, 10 points comparable with iBUG-68 (mm; settings picked on p02/p05/p06):", "",
             "| method | mean | eyes | nose | mouth | chin |", "|---|---|---|---|---|---|"]
    lines += [f"| {m} | {a[m]['mean']} | {a[m]['eyes']} | {a[m]['nose']} | {a[m]['mouth']} | {a[m]['chin']} |"
              for m in a]
    b = keys["landmarks_artec_brows_mm"]
    lines += ["", "Brows, apart from the 10 points (6 clicked brow points as iBUG 17, 19, 21, 22, 24, 26; the clicks "
              "follow a looser definition than iBUG's, ../shared/real/README.md), mean mm: "
              + "; ".join(f"{m} {v['mean']} (" + ", ".join(f"{i}: {x}" for i, x in v["per_point"].items()) + ")"
                          for m, v in b.items()) + "."]
    r = keys["landmarks_artec_rotated_mm"]
    lines += ["", f"Random rotation per scan (views): mean {r['views']['mean']} mm; difference to the upright result "
              f"{r['difference_to_upright_mm']['mean_10_points']} mm on the 10 points (max "
              f"{r['difference_to_upright_mm']['max_10_points']}), {r['difference_to_upright_mm']['mean_68']} mm "
              "over all 68.", "", "View method variants: shading, 468 -> 68 map (mean / eyes, all 15 scans; selection scans):", "",
              "| variant | mean | eyes | selection mean |", "|---|---|---|---|"]
    lines += [f"| {s} | {v['all']['mean']} | {v['all']['eyes']} | {v['selection_scans']['mean']} |"
              for s, v in keys["landmarks_artec_shading_mm"].items()]
    c = keys["landmarks_artec_confidence"]
    h = keys["landmarks_humface_mm"]
    t = keys["landmarks_time_100k_s"]
    lines += ["", f"Confidence: least-confident 10 % of points {c['least_confident_10pct_mm']} mm vs the rest "
              f"{c['rest_mm']} mm.", "",
              "humface (7 points, mm): " + ", ".join(f"{m} {v['mean']}" for m, v in h.items()), "",
              cloud_line(keys["landmarks_artec_point_clouds_mm"]), "",
              frame_search_line(keys["landmarks_artec_frame_search"]), "", synthetic_line(keys["landmarks_synth_mm"]), "",
              *falloff_lines(keys["landmarks_real_falloff"]), "",
              f"Time (views, CPU seconds on one thread): {t['seconds']} s for {t['vertices']} vertices; Artec scans "
              f"{keys['landmarks_time_artec_s']['mean_s']} s at {keys['landmarks_time_artec_s']['mean_vertices']} "
              "vertices.", "", "Per scan (mean mm over the 10 points):", "",
              "| scan | vertices | views | sgcn | fusion | views rotated | rotated vs upright | units | "
              "frame confidence | views CPU s |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += rows
    lines += ["", picture_note(picture, "predicted landmarks on real scans")]
    return "\n".join(lines)
