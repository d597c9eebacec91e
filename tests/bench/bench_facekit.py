"""FaceKit evaluation speed: faces (head meshes) evaluated per second, numpy and torch, batched.

    .venv/bin/python tests/bench/bench_facekit.py [--batch 64] [--seconds 3]

Writes tests/bench/results/facekit.json and facekit.md. Inputs are prior samples (seed 0); this measures
speed only, so there is no held-out set.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from face_addon.core.facekit import ensure_facekit, load_facekit  # noqa: E402

COMMAND = ".venv/bin/python tests/bench/bench_facekit.py --batch 64 --seconds 3"


def rate(fn, batch: int, seconds: float) -> float:
    """Faces per second of `fn()` evaluating `batch` faces, timed over at least `seconds`."""
    fn()  # warm-up (torch basis conversion, allocator)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    import torch

    fk = load_facekit(ensure_facekit())
    a_id, a_exp = fk.sample_prior(np.random.default_rng(0), args.batch)
    t_id, t_exp = torch.from_numpy(a_id), torch.from_numpy(a_exp)
    with torch.no_grad():
        torch_rate = rate(lambda: fk.evaluate_torch(t_id, t_exp), args.batch, args.seconds)
    result = {
        "faces_per_s_numpy": round(rate(lambda: fk.evaluate(a_id, a_exp), args.batch, args.seconds), 1),
        "faces_per_s_torch": round(torch_rate, 1),
        "batch": args.batch,
        "torch_dtype": "float32",
        "torch_threads": torch.get_num_threads(),
        "n_vertices": fk.n_vertices,
        "n_identity": fk.n_identity,
        "n_expression": fk.n_expression,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                 cwd=REPO).stdout.strip() or "uncommitted",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, "
                   f"{__import__('os').cpu_count()} cores, CPU only",
        "test_set": "speed only: prior samples, seed 0",
        "command": COMMAND,
    }
    out = REPO / "tests" / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "facekit.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "facekit.md").write_text(
        "# FaceKit evaluation speed\n\n"
        f"| backend | batch | faces/s |\n|---|---|---|\n"
        f"| numpy (float32 matmul) | {args.batch} | {result['faces_per_s_numpy']:.0f} |\n"
        f"| torch CPU (float32 matmul, {result['torch_threads']} threads) | {args.batch} | "
        f"{result['faces_per_s_torch']:.0f} |\n\n"
        f"{fk.n_vertices} vertices, {fk.n_identity} identity + {fk.n_expression} expression coefficients. "
        f"Machine: {result['machine']}; commit {result['commit']}, {result['date']}.\n\n"
        f"Reproduce: `{COMMAND}`\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
