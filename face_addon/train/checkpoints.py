"""Resumable training state shared by the trainers: one checkpoint file (model, optimiser, schedule, progress)
written atomically, so a killed run resumes where it last saved (train/budget.py decides when)."""
from __future__ import annotations

from pathlib import Path


def save_checkpoint(path: Path, net, opt, sched, state: dict, model_state: dict | None = None) -> None:
    """Write model, optimiser, schedule (None: the trainer has none) and progress `state` to `path` atomically;
    `model_state` replaces net.state_dict() (e.g. without a frozen backbone the user already has)."""
    import torch

    blob = {"model": net.state_dict() if model_state is None else model_state, "opt": opt.state_dict(),
            "state": state}
    if sched is not None:
        blob["sched"] = sched.state_dict()
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, net, opt, sched, strict: bool = True) -> dict:
    """Restore net/opt/sched in place from `path` (weights_only); returns the saved progress state."""
    import torch

    blob = torch.load(path, weights_only=True)
    net.load_state_dict(blob["model"], strict=strict)
    opt.load_state_dict(blob["opt"])
    if sched is not None:
        sched.load_state_dict(blob["sched"])
    return blob["state"]


def resume_or_start(out: Path, fresh: dict, net, opt, sched, resume: bool, log=print,
                    strict: bool = True) -> tuple[Path, dict]:
    """The run's checkpoint file (out/checkpoint.pt) and its progress state: restored (net, opt, sched in place)
    when resuming a run that has a checkpoint, else `fresh`."""
    ckpt = out / "checkpoint.pt"
    if not (resume and ckpt.exists()):
        return ckpt, fresh
    state = load_checkpoint(ckpt, net, opt, sched, strict)
    log(f"resumed at step {state['step']}")
    return ckpt, state


def seed_ranges(seeds: list[int]) -> list[list[int]]:
    """Sorted seeds compressed to [first, last] runs: the training data a checkpoint or weights file records."""
    runs: list[list[int]] = []
    for x in seeds:
        if runs and x == runs[-1][1] + 1:
            runs[-1][1] = x
        else:
            runs.append([x, x])
    return runs


def photometric_jitter(x, rng):
    """Per-image gain, tint and gamma on (B, 3, H, W) images in [0, 1]; geometry targets stay exact."""
    import torch

    b = x.shape[0]
    gain = torch.as_tensor(rng.uniform(0.7, 1.3, (b, 1, 1, 1)), dtype=torch.float32)
    tint = torch.as_tensor(rng.uniform(0.9, 1.1, (b, 3, 1, 1)), dtype=torch.float32)
    gamma = torch.as_tensor(rng.uniform(0.8, 1.25, (b, 1, 1, 1)), dtype=torch.float32)
    return (x.clamp(1e-4, 1) ** gamma * gain * tint).clamp(0, 1)


def copy_for_shipping(run_dir: Path, models_dir: Path, name: str, kind: str, bench_json: Path
                      ) -> tuple[dict, dict, float]:
    """Copy run_dir/name into models_dir; returns (the weights' meta, the benchmark results if any, size MB)
    for the model card the caller writes beside it."""
    import json
    import shutil

    from ..core.weights import load_weights

    shutil.copyfile(run_dir / name, models_dir / name)
    _, meta = load_weights(models_dir / name, kind, (1,))
    bench = json.loads(bench_json.read_text()) if bench_json.is_file() else {}
    return meta, bench, round((models_dir / name).stat().st_size / 1e6, 2)


def run_ship(args, ship, results: str) -> bool:
    """A trainer CLI's `--ship RUN_DIR`: `ship(run_dir, models_dir, bench_json)` copies the run's weights into the
    package's models with their card (metrics from tests/bench/results/<results>.json). True when it shipped."""
    if not getattr(args, "ship", None):
        return False
    from ..core.capabilities import MODELS_DIR

    print(ship(Path(args.ship), MODELS_DIR, Path(__file__).resolve().parents[2] / "tests/bench/results" /
               f"{results}.json"))
    return True
