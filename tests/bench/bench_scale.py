"""Scale-out on this machine, as ratios in one run: synthetic samples per hour (plain local command, Ray with 1 and
2 workers) and landmark-training steps per second (local, Ray 1 and 2 workers, same global batch), with the
loss curves side by side; plus the generator and I/O numbers from their own benchmarks.

    .venv/bin/python tests/bench/bench_scale.py [--count 2] [--steps 8]
    (writes tests/bench/results/scale.json and scale.md; needs ray: requirements-cluster.txt)

Each Ray cluster is a local one on 127.0.0.1 started here with 1 or 2 CPUs and stopped afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, markdown_table, write_results  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


class LocalCluster:
    """`ray start --head --block` with `cpus` CPUs in its own session, ended by that session's id."""

    def __init__(self, cpus: int) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{s.getsockname()[1]}"
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
             f"--port={self.address.split(':')[1]}", f"--num-cpus={cpus}", "--include-dashboard=false",
             "--disable-usage-stats", f"--temp-dir={tempfile.mkdtemp(prefix='ray', dir='/tmp')}"],
            env=ENV, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = f"import ray; ray.init(address='{self.address}'); ray.shutdown()"
        while subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True).returncode != 0:
            time.sleep(2)

    def __enter__(self) -> str:
        return self.address

    def __exit__(self, *exc) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=ENV, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - t


def synth_rate(count: int, ray: str | None) -> tuple[float, list[float]]:
    """Samples per hour of `face synth` (scan profile), command start to end (imports and cluster joins
    included: what a user waits for), and each sample's own generation seconds (meta.json)."""
    out = Path(tempfile.mkdtemp(prefix="scale_synth"))
    cmd = [sys.executable, "-m", "face_addon", "synth", "--out", str(out), "--count", str(count), "--seed",
           "1900300", "--profile", "scan"] + (["--ray", ray] if ray else [])
    rate = count / _timed(cmd) * 3600
    return rate, [json.loads(m.read_text())["timings_s"]["total"] for m in sorted(out.glob("*/meta.json"))]


def train_rate(steps: int, ray: str | None, workers: int) -> tuple[float, list[float]]:
    """Steps per second of the landmark trainer's smoke preset (global batch 4), and its loss per step."""
    out = Path(tempfile.mkdtemp(prefix="scale_train"))
    base = [sys.executable, "-m", "face_addon.train.landmarks", "--out", str(out), "--smoke"]
    extra = ["--ray", ray, "--workers", str(workers)] if ray else []
    # 1 step first (imports, cluster join, group set-up), then the timed steps resumed from its checkpoint
    _timed(base + extra + ["--max-steps", "1"])
    seconds = _timed(base + extra + ["--max-steps", str(1 + steps), "--resume"])
    import torch

    state = torch.load(out / "checkpoint.pt", weights_only=True)["state"]
    return steps / seconds, state["losses"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args()
    load = open("/proc/loadavg").read().split()[:3]
    synth, scan_s = {}, {}
    synth["local"], scan_s["local"] = synth_rate(args.count, None)
    train, losses = {}, {}
    train["local"], losses["local"] = train_rate(args.steps, None, 1)
    for k in (1, 2):
        with LocalCluster(k) as address:
            synth[f"ray_{k}"], scan_s[f"ray_{k}"] = synth_rate(args.count, address)
            train[f"ray_{k}"], losses[f"ray_{k}"] = train_rate(args.steps, address, k)
    io = json.loads((RESULTS / "io.json").read_text())
    gen = json.loads((RESULTS / "synth.json").read_text())
    # the generator's per-stage numbers (bench_synth_stages.py --scale) are kept, its full-profile time preferred
    prev = json.loads((RESULTS / "scale.json").read_text()) if (RESULTS / "scale.json").exists() else {}
    if "full" in prev.get("generator_stages_s", {}):
        gen = {"s_per_sample_full": prev["s_per_sample_full"]}
        full_source = prev["s_per_sample_full_source"]
    else:
        full_source = "tests/bench/results/synth.json (bench_synth.py: 13 views, 512 px, 4 spp + OpenImageDenoise)"
    data = {
        "synth_samples_per_hour": {k: round(v, 1) for k, v in synth.items()},
        "train_steps_per_s": {k: round(v, 3) for k, v in train.items()},
        "train_losses": losses,
        "s_per_sample_scan": round(sum(scan_s["local"]) / len(scan_s["local"]), 2),
        "scan_sample_seconds": scan_s,
        "s_per_sample_full": gen["s_per_sample_full"],
        "s_per_sample_full_source": full_source,
        **({"generator_stages_s": prev["generator_stages_s"]} if "generator_stages_s" in prev else {}),
        "io_1M_ratio": round(io["io_1M_ratio"], 2),
        "settings": {"synth": f"{args.count} scan-profile samples per mode, seeds 1900300+",
                     "train": f"landmark smoke preset, {args.steps} timed steps, global batch 4"},
        "load_average_at_start": load,
    }
    rows = [(k, f"{synth[k]:.0f} ({synth[k] / synth['local']:.2f}x)", f"{train[k]:.2f} ({train[k] / train['local']:.2f}x)",
             ", ".join(f"{x:.3f}" for x in losses[k])) for k in synth]
    table = (markdown_table(("mode", "synth samples/h (x local)", "train steps/s (x local)", "losses per step"), rows)
             + f"\n\nScan {data['s_per_sample_scan']} s/sample (local run's meta.json), full "
             f"{data['s_per_sample_full']} s/sample (bench_synth.py), I/O 1M ratio {data['io_1M_ratio']} (bench_io.py). Load average "
             f"{' '.join(load)} on 2 cores at the start (other engineers' work).")
    write_results("scale", data, table, "tests/bench/bench_scale.py")
    print(table)


if __name__ == "__main__":
    main()
