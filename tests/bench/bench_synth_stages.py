"""The generator's seconds per stage before and after a change, interleaved on the same seeds, and the outputs
of the two compared (labels, scan, images), so a speed-up is only taken with its cost in the data stated.

    .venv/bin/python tests/bench/bench_synth_stages.py --before REF [--after REF] [--profile scan|full]
        [--seeds 1900001 ...] [--save NAME] [--scale]
    --save NAME: write tests/bench/results/NAME.json/.md; --scale: also set s_per_sample_<profile> and the stage
    times in results/scale.json (the generator numbers of issue 22; its other keys are kept)

REF (a commit; --after defaults to the working tree) is exported with `git archive` into a temp folder (this checkout's built assets linked in). For
each seed one process runs REF and one the working tree, alternating, so both see the same machine load (the
load average is recorded before every run). Each process loads FaceKit first (not timed), then times
`generate_sample` and its stages by wrapping module functions by name (a stage a version lacks is left out).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

# stage name -> (module, attribute) wrapped with a timer; nested stages are included in their parents
STAGES = {
    "build_parts": ("face_addon.synth.generate", "build_parts"),
    "scan": ("face_addon.synth.generate", "simulate_scan"),
    "remesh": ("face_addon.synth.scan", "voxel_remesh"),
    "visibility": ("face_addon.synth.scan", "visible_counts"),
    "source_query": ("face_addon.synth.scan", "source_attributes"),
    "normals": ("face_addon.synth.scan", "vertex_normals"),
    "scene": ("face_addon.synth.scene", "build_scene"),
    "render": ("face_addon.synth.render", "render_views"),
    "bake_colors": ("face_addon.synth.render", "bake_colors"),
    "skin_distance": ("face_addon.synth.generate", "skin_labels"),
    "landmark_snap": ("face_addon.synth.generate", "snap_landmarks"),
}


def _wrap(times: dict[str, float], name: str, module: str, attr: str) -> None:
    mod = importlib.import_module(module)
    if not hasattr(mod, attr):
        return
    fn = getattr(mod, attr)

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - t

    setattr(mod, attr, timed)


def worker(out: Path, profile: str, seed: int) -> None:
    """One sample with stage timers (runs in a subprocess whose PYTHONPATH picks the version)."""
    import bpy  # noqa: F401

    from face_addon.synth import generate

    generate._models()
    times: dict[str, float] = {}
    for name, (module, attr) in STAGES.items():  # generate imports render/scene inside: wrapping the modules works
        _wrap(times, name, module, attr)
    t = time.perf_counter()
    generate.generate_sample(seed, out, generate.SynthConfig(profile=profile))
    times["total"] = time.perf_counter() - t
    (out / f"times_{seed}.json").write_text(json.dumps(times))


def export(ref: str) -> Path:
    """`git archive REF face_addon` into a temp folder, with this checkout's built (untracked) assets linked in."""
    root = Path(tempfile.mkdtemp(prefix="synth_before_"))
    tar = subprocess.run(["git", "archive", ref, "face_addon"], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as t:
        t.extractall(root)
    assets = REPO / "face_addon" / "assets"
    for p in assets.iterdir():
        dst = root / "face_addon" / "assets" / p.name
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(p)
    return root


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def compare(a: Path, b: Path) -> dict:
    """What changed between two sample folders of the same seed (a: before, b: after)."""
    from scipy.spatial import cKDTree

    from face_addon.core.dataset import read_ply, read_png

    la, lb = np.load(a / "labels.npz"), np.load(b / "labels.npz")
    va, fa, ca = read_ply(a / "scan.ply")
    vb, fb, cb = read_ply(b / "scan.ply")
    out = {"vertices": [len(va), len(vb)], "landmarks_max_mm": float(np.abs(la["landmarks"] - lb["landmarks"]).max() * 1e3)}
    if len(va) == len(vb) and np.array_equal(fa, fb):
        out["scan_vertex_max_mm"] = float(np.abs(va - vb).max() * 1e3)
        out["class_agree"] = float((la["class_id"] == lb["class_id"]).mean())
        out["skin_agree"] = float((la["skin"] == lb["skin"]).mean())
        out["distance_max_mm"] = float(np.abs(la["distance"] - lb["distance"]).max() * 1e3)
        out["color_max"] = int(np.abs(ca.astype(int) - cb.astype(int)).max()) if ca is not None else 0
    else:  # different meshes: compare labels of nearest vertices
        d, j = cKDTree(va).query(vb)
        out["scan_nn_mean_mm"] = float(d.mean() * 1e3)
        out["class_agree"] = float((la["class_id"][j] == lb["class_id"]).mean())
        out["skin_agree"] = float((la["skin"][j] == lb["skin"]).mean())
        out["skin_fraction"] = [float(la["skin"].mean()), float(lb["skin"].mean())]
    views = sorted(p.name for p in (a / "views").glob("*.png")) if (a / "views").exists() else []
    rgb = [psnr(read_png(a / "views" / n), read_png(b / "views" / n)) for n in views if "_parts" not in n]
    parts = [float((read_png(a / "views" / n) == read_png(b / "views" / n)).mean()) for n in views if "_parts" in n]
    if rgb:
        out["rgb_psnr_min_db"] = min(rgb)
        out["rgb_psnr_mean_db"] = float(np.mean([x for x in rgb if np.isfinite(x)] or [np.inf]))
        out["parts_pixel_agree_min"] = min(parts)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="commit to compare against")
    ap.add_argument("--after", help="commit to measure (default: the working tree)")
    ap.add_argument("--scale", action="store_true", help="merge the result into results/scale.json")
    ap.add_argument("--profile", default="scan", choices=("scan", "full"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1900001, 1900002, 1900003])
    ap.add_argument("--save", help="results name (tests/bench/results/NAME.json/.md)")
    ap.add_argument("--worker", nargs=2, metavar=("OUT", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), args.profile, int(args.worker[1]))
        return
    if not args.before:
        ap.error("--before REF is required")
    sys.path.insert(0, str(REPO))  # the parent compares outputs with this checkout's readers (workers: PYTHONPATH)
    versions = {"before": export(args.before), "after": export(args.after) if args.after else REPO}
    work = Path(tempfile.mkdtemp(prefix="synth_stages_"))
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    checks, loads = {}, []
    for seed in args.seeds:
        for name, src in versions.items():
            loads.append(float(open("/proc/loadavg").read().split()[0]))
            env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
            subprocess.run([sys.executable, __file__, "--profile", args.profile, "--worker", str(work / name),
                            str(seed)], env=env, check=True, cwd=src)
            runs[name].append(json.loads((work / name / f"times_{seed}.json").read_text()))
            print(name, seed, {k: round(v, 2) for k, v in runs[name][-1].items()}, flush=True)
        checks[seed] = compare(work / "before" / f"{seed:07d}", work / "after" / f"{seed:07d}")
        print("check", seed, checks[seed], flush=True)
    stages = [s for s in [*STAGES, "total"] if any(s in r for rs in runs.values() for r in rs)]
    mean = {n: {s: float(np.mean([r.get(s, 0.0) for r in rs])) for s in stages} for n, rs in runs.items()}
    rows = "\n".join(f"| {s} | {mean['before'][s]:.2f} | {mean['after'][s]:.2f} | "
                     f"{mean['after'][s] / mean['before'][s] if mean['before'][s] else float('nan'):.2f} |"
                     for s in stages)
    table = (f"Profile {args.profile}, seeds {args.seeds}, before = {args.before}, load average "
             f"{min(loads):.1f}-{max(loads):.1f} (2 cores)\n\n| stage | before s | after s | after/before |\n"
             f"|---|---|---|---|\n{rows}\n\nOutput check per seed (after vs before): "
             + "; ".join(f"{s}: {json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items()})}"
                         for s, c in checks.items()))
    print(table)
    print(f"samples kept for looking at in {work} (before/, after/)")
    for name, src in versions.items():
        if src != REPO:
            shutil.rmtree(src)
    if args.save:
        from common import write_results

        write_results(args.save, {"profile": args.profile, "seeds": args.seeds, "before": args.before,
                                  "stage_s": mean, "runs": runs, "checks": {str(k): v for k, v in checks.items()},
                                  "load_average": loads}, table,
                      f"tests/bench/bench_synth_stages.py --before {args.before}"
                      + (f" --after {args.after}" if args.after else "")
                      + f" --profile {args.profile} --seeds {' '.join(map(str, args.seeds))} --save {args.save}"
                      + (" --scale" if args.scale else ""))
    if args.scale:
        merge_scale(args.profile, mean, loads, args)


def merge_scale(profile: str, mean: dict, loads: list[float], args) -> None:
    """Set s_per_sample_<profile> (after) and the per-stage seconds before/after in results/scale.json."""
    from common import RESULTS

    path = RESULTS / "scale.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[f"s_per_sample_{profile}"] = round(mean["after"]["total"], 2)
    data[f"s_per_sample_{profile}_source"] = (
        f"tests/bench/bench_synth_stages.py --profile {profile} --seeds {' '.join(map(str, args.seeds))} (mean "
        f"generate_sample seconds, FaceKit loaded; load average {min(loads):.1f}-{max(loads):.1f} on 2 cores)")
    data.setdefault("generator_stages_s", {})[profile] = {
        "before_commit": args.before, "seeds": args.seeds, "load_average": [min(loads), max(loads)],
        **{k: {s: round(v, 2) for s, v in st.items()} for k, st in mean.items()}}
    path.write_text(json.dumps(data, indent=2) + "\n")
    scale_md_line(data)


def scale_md_line(data: dict) -> None:
    """Point scale.md's generator sentence (written by bench_scale.py) at the numbers now in scale.json."""
    import re

    from common import RESULTS

    md = RESULTS / "scale.md"
    if md.exists() and "s_per_sample_scan" in data and "s_per_sample_full" in data:
        line = (f"Scan {data['s_per_sample_scan']} s/sample (bench_synth_stages.py --scale), full "
                f"{data['s_per_sample_full']} s/sample (per stage before/after: synth_stages_scan.md, synth_stages_full.md)")
        md.write_text(re.sub(r"Scan [\d.]+ s/sample \(.*?\), full [\d.]+ s/sample \(.*?\)", line, md.read_text(),
                             count=1))


if __name__ == "__main__":
    main()
