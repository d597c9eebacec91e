"""Data-parallel landmark training on a Ray cluster: K actors (one CPU each, or a GPU where the cluster has them)
form a torch.distributed gloo group and run the trainer's own loop with `Dist(rank, K)` (train/distributed.py).
The run folder is on shared storage: rank 0 writes checkpoint.pt atomically, every rank resumes from it. When a
worker (or its node) dies the driver ends the group and starts a new one from the last checkpoint, at most
`retries` times; a killed driver is resumed by running the same command again with resume.

Ray Train's TorchTrainer would do the same, but needs Ray's train extras (pandas, pyarrow: ~200 MB more on every
node) for what is here a group set-up and a restart loop.
"""
from __future__ import annotations

import socket
from dataclasses import asdict
from pathlib import Path

from ..core.ray_cluster import connect, import_ray
from .distributed import Dist
from .landmarks import Settings, train


class TrainWorker:
    """One rank (a Ray actor: `ray.remote(TrainWorker)`)."""

    def rendezvous(self) -> str:
        """host:port for the gloo group, on this actor's node (called on rank 0)."""
        import ray

        ip = ray.util.get_node_ip_address()
        with socket.socket() as s:
            s.bind((ip, 0))
            return f"{ip}:{s.getsockname()[1]}"

    def run(self, rank: int, world: int, master: str, out: str, settings: dict, resume: bool,
            max_steps: int | None, files: list[str] | None) -> str:
        from datetime import timedelta

        import torch.distributed as td

        td.init_process_group("gloo", init_method=f"tcp://{master}", rank=rank, world_size=world,
                              timeout=timedelta(minutes=5))
        try:
            source = None if files is None else (lambda: [Path(f) for f in files])
            s = Settings(**{**settings, "data": tuple(settings["data"])})
            return str(train(Path(out), s, resume=resume, max_steps=max_steps, log=print, sample_source=source,
                             dist=Dist(rank, world)))
        finally:
            td.destroy_process_group()


def train_on_ray(address: str, workers: int, out: Path, s: Settings, resume: bool = True,
                 max_steps: int | None = None, files: list[Path] | None = None, retries: int = 2,
                 log=print) -> Path:
    """Train with `workers` ranks on the cluster at `address`; returns the exported weights."""
    ray = import_ray()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    connect(ray, address)
    try:
        actor = ray.remote(num_cpus=1)(TrainWorker)
        attempt = 0
        while True:
            group = [actor.remote() for _ in range(workers)]
            master = ray.get(group[0].rendezvous.remote())
            refs = [w.run.remote(r, workers, master, str(out), asdict(s), resume or attempt > 0, max_steps,
                                 None if files is None else [str(f) for f in files]) for r, w in enumerate(group)]
            try:
                pending = refs
                while pending:
                    ready, pending = ray.wait(pending, num_returns=1)
                    ray.get(ready)  # raises as soon as one rank fails: the others wait in a collective
                return out / "landmarks.pt"
            except ray.exceptions.RayError as exc:
                if attempt == retries:
                    raise
                attempt += 1
                log(f"train: a worker failed ({type(exc).__name__}); restarting {workers} workers from "
                    f"{out / 'checkpoint.pt'} (retry {attempt}/{retries})")
            finally:
                for w in group:
                    ray.kill(w)
    finally:
        ray.shutdown()
