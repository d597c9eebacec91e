"""`face synth --ray ADDRESS`: the samples of a run as Ray tasks on a cluster whose workers import bpy.

Each task makes one sample with `generate_sample` into the output folder, which every node must see (a shared
file system): a sample is a folder of ~1-30 MB written once and renamed into place (atomic on POSIX and NFS),
so writing it where it is made costs one transfer, while streaming it back through the driver would make the
driver's link and disk the bottleneck of the whole cluster (docs/scale.md). Everything else is the local run's:
sample i uses seed S+i only (identical bytes on any node), complete samples are skipped (resume), a sample that
raises is logged to failures.jsonl by the driver (the only writer of that file and of index.json) and is not
retried (the same seed fails the same way), while a task whose worker or node dies is re-run by Ray up to
`retries` times. The driver prints progress with rate and ETA.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

from ..core.dataset import write_index
from ..core.ray_cluster import connect, import_ray
from .generate import SynthConfig, generate_sample, missing_seeds
from .writer import log_failure

INDEX_EVERY_S = 10.0  # index.json lists the whole folder: rewritten at most this often (docs/scale.md)


def _make_sample(seed: int, root: str, cfg: dict) -> tuple[int, float]:
    """Ray task body: one sample on a worker (imports bpy there); returns (seed, seconds)."""
    import bpy  # noqa: F401  (the worker's Blender; the generator's scene steps need it)

    t = time.perf_counter()
    generate_sample(seed, Path(root), SynthConfig(**cfg))
    return seed, time.perf_counter() - t


def _progress(done: int, failed: int, total: int, started: float) -> str:
    elapsed = time.perf_counter() - started
    finished = done + failed
    rate = finished / elapsed * 3600 if elapsed > 0 else 0.0
    eta = (total - finished) * elapsed / finished if finished else float("nan")
    eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if finished else "--:--:--"
    return f"synth: {finished}/{total} ({failed} failed)  {rate:.0f} samples/h  ETA {eta_text}"


def run_ray(root: Path, seed: int, count: int, cfg: SynthConfig, address: str, retries: int = 2,
            shard: tuple[int, int] = (0, 1), log=print) -> dict:
    """Generate the run's missing samples as Ray tasks on the cluster at `address`; same result as run_shard."""
    ray = import_ray()
    root = Path(root).resolve()
    todo = missing_seeds(root, seed, count, shard)
    connect(ray, address)
    pending: dict = {}
    try:
        task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(_make_sample)
        cfg_dict = asdict(cfg)
        log(f"synth: {len(todo)} samples to make in {root} on Ray {address} "
            f"({int(ray.cluster_resources().get('CPU', 0))} CPUs, profile {cfg.profile})")
        queue = iter(todo)
        window = 4 * max(1, int(ray.cluster_resources().get("CPU", 1)))  # tasks in flight: O(window) per wait

        def top_up() -> None:
            for s in queue:
                pending[task.remote(s, str(root), cfg_dict)] = s
                if len(pending) >= window:
                    return

        top_up()
        done, failed, times, started = 0, [], [], time.perf_counter()
        indexed = started
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            s = pending.pop(ready[0])
            top_up()
            try:
                _, seconds = ray.get(ready[0])
                done += 1
                times.append(seconds)
            except ray.exceptions.RayError as exc:  # the sample raised, or its worker died `retries` + 1 times
                log_failure(root, s, getattr(exc, "cause", None) or exc)
                failed.append(s)
                print(f"synth: sample {s} failed, see {root / 'failures.jsonl'}", file=sys.stderr)
            if time.perf_counter() - indexed > INDEX_EVERY_S:
                write_index(root)
                indexed = time.perf_counter()
            log(_progress(done, len(failed), len(todo), started))
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        ray.shutdown()
    write_index(root)
    return {"done": done, "failed": failed, "s_per_sample": sum(times) / len(times) if times else None}
