"""Seconds per synthetic sample for the `scan` and `full` profiles, and the sizes of the generated sets.

    .venv/bin/python tests/bench/bench_synth.py [--scan 5] [--full 2] [--data /work/data/synth]

Samples are made in a temp folder from test-split seeds 1900000+ (never used by the shipped sets).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "bench"))

from common import markdown_table, write_results  # noqa: E402


def _time(profile: str, n: int, **kw) -> tuple[float, list[float]]:
    import bpy  # noqa: F401

    from face_addon.synth.generate import SynthConfig, generate_sample

    cfg = SynthConfig(profile=profile, **kw)
    times = []
    with tempfile.TemporaryDirectory() as d:
        for i in range(n):
            t = time.perf_counter()
            generate_sample(1_900_000 + i, Path(d), cfg)
            times.append(time.perf_counter() - t)
    return sum(times) / len(times), times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scan", type=int, default=5)
    ap.add_argument("--full", type=int, default=2)
    ap.add_argument("--data", default="/work/data/synth")
    args = ap.parse_args()
    from face_addon.core.dataset import complete_seeds

    _time("scan", 1)  # warm-up: imports, FaceKit load and subdivision
    s_scan, t_scan = _time("scan", args.scan)
    s_full, t_full = _time("full", args.full)
    data = Path(args.data)
    sizes = {name: len(complete_seeds(data / name)) for name in ("train", "test", "test_full")}
    result = {"s_per_sample_scan": round(s_scan, 2), "s_per_sample_full": round(s_full, 2),
              "scan_times_s": [round(t, 2) for t in t_scan], "full_times_s": [round(t, 2) for t in t_full],
              "full_settings": "13 views, 512x512, 4 spp Cycles CPU + OpenImageDenoise, strands x6 children",
              "scan_settings": "target 150k vertices, no renders",
              "train_n": sizes["train"], "test_n": sizes["test"], "test_full_n": sizes["test_full"],
              "train_seeds": "0-999999 (generated from 0 upwards)", "test_seeds": "1000000-1000249",
              "test_full_seeds": "1000000-1000029", "data_dir": str(data)}
    table = (markdown_table(("profile", "s / sample", "samples timed"), [
                 ("scan (150k-vertex scan + labels)", f"{s_scan:.1f}", len(t_scan)),
                 ("full (13 views 512 px 4 spp + OIDN + scan + baked colours)", f"{s_full:.1f}", len(t_full))])
             + f"\n\nGenerated sets ({data}, not in git): train {sizes['train']} (scan profile, seeds 0+), test "
             f"{sizes['test']} (scan, seeds 1000000+), test_full {sizes['test_full']} (full, seeds 1000000+).")
    write_results("synth", result, table, "tests/bench/bench_synth.py")
    print(result)


if __name__ == "__main__":
    main()
